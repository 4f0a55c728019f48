// The whole conformance corpus (policies/conformance/*.json) through the Node package: every
// decision must equal the golden bytes (policies/conformance/golden/<case>.json) that the core,
// the CLI and the other front ends return.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { bundleFiles, conformanceCases, loadNodePackage, thrown } from "./helpers.mjs";

const { Engine } = loadNodePackage();

// The only case this front end cannot run, and why.
const SKIPPED = {
  "fail-closed-instruction-limit":
    "needs the engine's own time limit; wasm32-unknown-unknown has no clock regorus can read, " +
    "so a runaway policy is stopped from outside instead: a worker terminated at its deadline " +
    "(docs/wasm.md; docs.test.mjs and browser.test.mjs run it on this case's policy)",
};

const cases = conformanceCases();
const reference = bundleFiles();
let referenceEngine;

test("the corpus is complete and only the wall-clock case is skipped", () => {
  assert.ok(cases.length >= 59, `only ${cases.length} cases`);
  const names = new Set(cases.map((c) => c.name));
  for (const name of Object.keys(SKIPPED)) {
    assert.ok(names.has(name), `skipped case ${name} is not in the corpus`);
  }
  assert.deepEqual(Object.keys(SKIPPED), ["fail-closed-instruction-limit"]);
  for (const [name, reason] of Object.entries(SKIPPED)) {
    console.log(`skipping ${name}: ${reason}`);
  }
});

for (const { name, golden, case: c } of cases) {
  test(name, { skip: SKIPPED[name] ?? false }, () => {
    const overlay = c.bundle_overlay ?? {};
    const files = { ...reference, ...overlay };
    if (c.want.bundle_error) {
      const error = thrown(() => new Engine({ files }));
      assert.ok(error instanceof Error, "a JS Error");
      assert.equal(error.name, "GatehouseError");
      assert.equal(error.code, c.want.bundle_error, error.message);
      assert.equal(error.errors[0].code, c.want.bundle_error);
      return;
    }
    const engine =
      Object.keys(overlay).length === 0
        ? (referenceEngine ??= new Engine({ files }))
        : new Engine({ files });
    const intentJson = JSON.stringify(c.intent);
    const contextJson = JSON.stringify(c.context);
    // Admission cases go through evaluate/evaluateJson, release-gate cases through the gates.
    const gates = (c.stage ?? "admission") === "gates";
    const evaluateJson = (i, x) => (gates ? engine.evaluateGatesJson(i, x) : engine.evaluateJson(i, x));
    const evaluate = (i, x) => (gates ? engine.evaluateGates(i, x) : engine.evaluate(i, x));
    const result = evaluateJson(intentJson, contextJson);
    const want = readFileSync(golden);
    assert.ok(
      Buffer.from(`${result}\n`, "utf8").equals(want),
      `decision differs from ${golden}\n  golden: ${want.toString("utf8").trimEnd()}\n  wasm:   ${result}`,
    );
    assert.equal(evaluateJson(intentJson, contextJson), result, "deterministic");
    // The core's one JSON call: `{intent, context, stage?}` in, the same bytes out.
    const request = JSON.stringify({ intent: c.intent, context: c.context, ...(c.stage ? { stage: c.stage } : {}) });
    assert.equal(engine.evaluateRequest(request), result, "evaluateRequest");
    // `evaluate` takes and returns objects: the same decision, parsed.
    if (typeof c.intent === "object" && c.intent !== null && !Array.isArray(c.intent)) {
      assert.deepEqual(evaluate(c.intent, c.context), JSON.parse(result));
    } else {
      assert.equal(thrown(() => evaluate(c.intent, c.context)).code, "intent_not_object");
    }
  });
}
