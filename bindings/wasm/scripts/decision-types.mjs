// The decision's TypeScript types (src/decision.d.ts), generated from the JSON Schema the core
// emits (docs/decision.schema.json, `gatehouse schema --decision`) by json-schema-to-typescript
// (pinned in package.json). lib.rs puts the file into the packages' .d.ts next to the
// hand-written src/types.d.ts (intent, context, bundle, errors thrown).
//
//   node bindings/wasm/scripts/decision-types.mjs          rewrites src/decision.d.ts
//   node bindings/wasm/scripts/decision-types.mjs --check  exits 1 when it is stale
//
// tests/types.test.mjs runs the check, so a change of the Rust types that is not regenerated
// here fails the WASM tests.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { compile } from "json-schema-to-typescript";

const WASM_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");
export const SCHEMA = join(WASM_DIR, "..", "..", "docs", "decision.schema.json");
export const OUTPUT = join(WASM_DIR, "src", "decision.d.ts");
const REFRESH = "node bindings/wasm/scripts/decision-types.mjs";

const BANNER = `/* The decision contract's types, generated from docs/decision.schema.json (the core's
   decision_schema) by json-schema-to-typescript. Do not edit: change the Rust types, refresh the
   schema (gatehouse schema --decision > docs/decision.schema.json), then run
   \`${REFRESH}\`. */`;

/** Keywords that give a schema a shape; a schema with none of them holds any JSON value. */
const SHAPED = ["type", "$ref", "enum", "const", "anyOf", "oneOf", "allOf", "properties", "items"];

/** Prepares the schema for the generator: every definition named by its key (the generator
    names types by `title`, so the enums become named types such as `Outcome`), and a schema
    without a shape typed `unknown` (the generator reads a described, shapeless schema as an
    object). */
function prepare(node) {
  if (Array.isArray(node)) {
    node.forEach(prepare);
  } else if (node && typeof node === "object") {
    for (const [name, definition] of Object.entries(node.$defs ?? {})) {
      definition.title = name;
    }
    for (const [key, value] of Object.entries(node.properties ?? {})) {
      if (!SHAPED.some((k) => k in value)) {
        node.properties[key] = { ...value, tsType: "unknown" };
      }
    }
    Object.values(node).forEach(prepare);
  }
  return node;
}

/** The generated text of src/decision.d.ts. */
export async function decisionTypes() {
  const schema = prepare(JSON.parse(readFileSync(SCHEMA, "utf8")));
  return compile(schema, "Decision", {
    bannerComment: BANNER,
    additionalProperties: false,
    unknownAny: true,
    format: true,
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = await decisionTypes();
  if (process.argv.includes("--check")) {
    if (readFileSync(OUTPUT, "utf8") !== text) {
      console.error(`${OUTPUT} is stale: run \`${REFRESH}\``);
      process.exit(1);
    }
  } else {
    writeFileSync(OUTPUT, text);
  }
}
