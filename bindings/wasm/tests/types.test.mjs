// The TypeScript types (src/types.d.ts and the generated src/decision.d.ts, emitted into
// pkg/gatehouse_wasm.d.ts) type-check a real usage and reject misuses: `tsc --noEmit -p
// tests/tsconfig.json` (typescript from package-lock); the generated file is checked for staleness.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { decisionTypes, OUTPUT } from "../scripts/decision-types.mjs";
import { WASM_DIR } from "./helpers.mjs";

// The type names the package exports (users import them; none may disappear).
const EXPORTED = [
  "Approval", "ApprovalRecord", "ApprovalSource", "BundleEnvelope", "BundleInfo", "BundleInput",
  "BundleSource", "Decision", "DeploymentIntent", "EngineOptions", "Enforcement", "ErrorDetail",
  "EvaluationContext",
  "GatehouseError", "HistoryEntry", "IntentInput", "Outcome", "PackedBundle", "PolicyMeta", "Resource",
  "SchemaError", "Severity", "Span", "Target", "Truncated", "Violation", "ViolationStatus",
];

test("src/decision.d.ts is what docs/decision.schema.json generates", async () => {
  const committed = readFileSync(OUTPUT, "utf8");
  assert.ok(
    committed === (await decisionTypes()),
    `${OUTPUT} is stale: run \`node bindings/wasm/scripts/decision-types.mjs\``,
  );
});

test("the package's .d.ts exports every type name it always has", () => {
  const dts = readFileSync(join(WASM_DIR, "pkg", "gatehouse_wasm.d.ts"), "utf8");
  for (const name of EXPORTED) {
    assert.match(dts, new RegExp(`export (interface|type|class) ${name}\\b`), name);
  }
});

/** `tsc --noEmit -p tests/<config>` against pkg/gatehouse_wasm.d.ts. */
function tsc(config) {
  const dts = join(WASM_DIR, "pkg", "gatehouse_wasm.d.ts");
  assert.ok(existsSync(dts), `${dts} is missing; run build.sh`);
  assert.match(readFileSync(dts, "utf8"), /export interface Decision\b/);
  const bin = join(WASM_DIR, "node_modules", ".bin", "tsc");
  const run = spawnSync(bin, ["--noEmit", "-p", join(WASM_DIR, "tests", config)], { encoding: "utf8" });
  assert.equal(run.status, 0, `tsc -p ${config} failed:\n${run.stdout}${run.stderr}`);
}

test("tsc --noEmit accepts tests/usage.ts against pkg/gatehouse_wasm.d.ts", () => {
  tsc("tsconfig.json");
});

// The settings most projects have: lib es2022 + dom (no esnext.disposable, where
// `Symbol.dispose` is declared), skipLibCheck off, strict.
test("tsc --noEmit accepts the usage under lib es2022 + dom with skipLibCheck off", () => {
  const config = JSON.parse(readFileSync(join(WASM_DIR, "tests", "tsconfig.common.json"), "utf8"));
  assert.deepEqual(config.compilerOptions.lib, ["es2022", "dom"]);
  assert.equal(config.compilerOptions.skipLibCheck, false);
  tsc("tsconfig.common.json");
});
