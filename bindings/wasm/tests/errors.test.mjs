// Bad input never crashes and never throws a bare string: every failure is a JS Error named
// GatehouseError with a stable `code` and the structured `errors` list (the contract's records).
import assert from "node:assert/strict";
import { test } from "node:test";

import { bundleFiles, conformanceCases, digestOf, loadNodePackage, packedBundle, thrown } from "./helpers.mjs";

const { Engine, validateIntent } = loadNodePackage();

const files = bundleFiles();
const engine = new Engine({ files });
const allowed = conformanceCases().find((c) => c.name === "allow-prod-reference").case;
const intent = allowed.intent;
const context = allowed.context;

/** Runs `fn`, checks the error's shape and code, and returns it. */
function gatehouseError(fn, code) {
  const error = thrown(fn);
  assert.ok(error instanceof Error, `a JS Error, got ${typeof error}: ${error}`);
  assert.equal(error.name, "GatehouseError");
  assert.equal(error.code, code, error.message);
  assert.ok(Array.isArray(error.errors) && error.errors.length > 0, "errors is a non-empty list");
  assert.equal(error.errors[0].code, code);
  assert.equal(typeof error.errors[0].message, "string");
  return error;
}

test("a valid intent evaluates, as an object and as JSON text", () => {
  const decision = engine.evaluate(intent, context);
  assert.equal(decision.outcome, "allow");
  // The reference prod intent's one finding: four-eyes, lifted by the context's release approval.
  assert.deepEqual(
    decision.violations.map((v) => [v.policy, v.status, v.overridden_by]),
    [["prod.four-eyes", "overridden", "bob@example.com"]],
  );
  assert.deepEqual(decision.approvals.map((a) => [a.by, a.source]), [["bob@example.com", "caller"]]);
  assert.equal(decision.evaluated_at, context.now);
  assert.equal(decision.bundle.digest, engine.bundleDigest);
  assert.deepEqual(JSON.parse(engine.evaluateJson(JSON.stringify(intent), JSON.stringify(context))), decision);
});

test("the bundle digest is the one README.md defines", () => {
  assert.equal(engine.bundleDigest, digestOf(files));
});

test("a non-object intent is intent_not_object", () => {
  for (const bad of ["{}", 42, null, undefined, [intent], true, () => intent]) {
    const error = gatehouseError(() => engine.evaluate(bad, context), "intent_not_object");
    assert.match(error.errors[0].help, /plain object/);
    gatehouseError(() => validateIntent(bad), "intent_not_object");
  }
});

test("approvals inside an intent are refused; the requester's own approval lifts nothing", () => {
  const claimed = { ...intent, spec: { ...intent.spec, approvals: [{ by: "anyone@example.com", role: "release-approver" }] } };
  const refused = engine.evaluate(claimed, { now: context.now });
  assert.equal(refused.outcome, "deny");
  assert.deepEqual(
    refused.violations.filter((v) => v.path === "spec.approvals").map((v) => v.policy),
    ["schema.valid"],
  );
  const own = { ...context, approvals: [{ by: intent.metadata.requested_by.toUpperCase(), role: "release-approver" }] };
  const decision = engine.evaluate(intent, own);
  assert.equal(decision.outcome, "needs_approval");
  assert.equal(decision.approvals[0].source, "caller");
  // A caller cannot claim the control plane's or a review's provenance.
  for (const source of ["control_plane", "github_review"]) {
    const forged = gatehouseError(
      () => engine.evaluate(intent, { ...context, approvals: [{ by: "bob@example.com", role: "release-approver", source, reference: "https://github.com/acme/deploy/pull/1#pullrequestreview-1" }] }),
      "context_invalid",
    );
    assert.match(forged.message, new RegExp(`approval source \`${source}\` is recorded by`));
    assert.match(forged.message, /leave `source` out of approvals you pass/);
  }
  const control = gatehouseError(
    () => engine.evaluate(intent, { now: context.now, approvals: [{ by: "bob\u0007@example.com", role: "release-approver" }] }),
    "context_invalid",
  );
  assert.match(control.message, /U\+0007/);
});

test("values without a JSON form are value_not_json", () => {
  gatehouseError(() => engine.evaluate({ ...intent, big: 1n }, context), "value_not_json");
  const cyclic = { ...intent };
  cyclic.self = cyclic;
  gatehouseError(() => engine.evaluate(cyclic, context), "value_not_json");
});

test("a bad context is context_invalid", () => {
  for (const bad of [{}, { now: 5 }, { now: "yesterday" }, { ...context, extra: 1 }, "x", null]) {
    gatehouseError(() => engine.evaluate(intent, bad), "context_invalid");
  }
  const error = gatehouseError(() => engine.evaluate(intent, {}), "context_invalid");
  assert.match(error.message, /now/);
  gatehouseError(() => engine.evaluateJson(JSON.stringify(intent), "{now"), "context_invalid");
});

test("evaluateJson takes strings only, and reports JSON syntax with a position", () => {
  for (const bad of [42, undefined, null, {}, intent]) {
    gatehouseError(() => engine.evaluateJson(bad, JSON.stringify(context)), "argument_not_string");
    gatehouseError(() => engine.evaluateJson(JSON.stringify(intent), bad), "argument_not_string");
  }
  const error = gatehouseError(
    () => engine.evaluateJson('{"apiVersion": ', JSON.stringify(context)),
    "intent_syntax",
  );
  assert.equal(error.errors[0].span.line, 1);
  gatehouseError(() => engine.evaluateJson("apiVersion: v1", JSON.stringify(context)), "intent_syntax");
  // The engine still works after all of that.
  assert.equal(engine.evaluate(intent, context).outcome, "allow");
});

test("a wrong-typed intent field is a schema violation, not an exception", () => {
  const wrong = structuredClone(intent);
  wrong.spec.estimated_monthly_cost = "a lot";
  const decision = engine.evaluate(wrong, context);
  assert.equal(decision.outcome, "deny");
  assert.deepEqual(
    decision.violations.map((v) => [v.policy, v.path]),
    [["schema.valid", "spec.estimated_monthly_cost"]],
  );
  const errors = validateIntent(wrong);
  assert.deepEqual(errors.map((e) => [e.path, e.keyword]), [["spec.estimated_monthly_cost", "type"]]);
  assert.deepEqual(validateIntent(intent), []);
});

test("a Rego syntax error is rego_parse with the file and line", () => {
  const broken = { ...files, "rules/zz_broken.rego": "package gatehouse.policies.zz\n\ndeny contains x if {\n" };
  const error = gatehouseError(() => new Engine({ files: broken }), "rego_parse");
  assert.equal(error.errors[0].span.file, "rules/zz_broken.rego");
  assert.match(error.message, /rules\/zz_broken\.rego/);
});

test("a bundle of the wrong shape is bundle_format", () => {
  for (const bad of [
    undefined,
    null,
    "bundle.json",
    [],
    {},
    { files: { "bundle.json": { name: "x" } } },
    { files, data: {} },
    { ...packedBundle(), format: "gatehouse.bundle/v0" },
  ]) {
    gatehouseError(() => new Engine(bad), "bundle_format");
  }
  gatehouseError(() => new Engine({ files: { "notes.txt": "" } }), "bundle_unexpected_file");
  gatehouseError(() => new Engine({ files: {} }), "bundle_manifest_missing");
});

test("the `gatehouse bundle` document loads with its digest, and a tampered one does not", () => {
  const packed = packedBundle();
  assert.equal(packed.format, "gatehouse.bundle/v1");
  const fromPacked = new Engine(packed);
  assert.equal(fromPacked.bundleDigest, packed.digest);
  assert.equal(fromPacked.bundleDigest, engine.bundleDigest);

  const tampered = structuredClone(packed);
  tampered.files["data/catalog.json"] = tampered.files["data/catalog.json"].replace("high", "low");
  const error = gatehouseError(() => new Engine(tampered), "bundle_digest_mismatch");
  assert.match(error.message, new RegExp(packed.digest));

  gatehouseError(() => new Engine({ ...packed, revision: "forged" }), "bundle_manifest_mismatch");
});

test("evaluateRequest takes a request's JSON text and reports what is wrong with it", () => {
  const request = { intent, context };
  assert.equal(engine.evaluateRequest(JSON.stringify(request)), engine.evaluateJson(JSON.stringify(intent), JSON.stringify(context)));
  gatehouseError(() => engine.evaluateRequest(request), "argument_not_string");
  gatehouseError(() => engine.evaluateRequest("{"), "request_syntax");
  gatehouseError(() => engine.evaluateRequest(JSON.stringify({ ...request, extra: 1 })), "request_invalid");
  gatehouseError(() => engine.evaluateRequest(JSON.stringify({ intent })), "context_missing");
  gatehouseError(() => engine.evaluateRequest(JSON.stringify({ intent, context: {} })), "context_invalid");
});
