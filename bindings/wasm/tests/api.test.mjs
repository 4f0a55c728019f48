// The package's API next to Python's: the GatehouseError class every failure is an instance of
// (also after `free()` and after crossing a worker boundary), the bundle's name and revision,
// the policy catalogue, the intent schema and YAML intents.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { POLICIES, ROOT, bundleFiles, conformanceCases, loadNodePackage, thrown } from "./helpers.mjs";

const { Engine, GatehouseError, intentSchema, parseIntent, validateIntent } = loadNodePackage();

const files = bundleFiles();
const engine = new Engine({ files });
const allowed = conformanceCases().find((c) => c.name === "allow-prod-reference").case;
const { intent, context } = allowed;

/** `fn` throws a GatehouseError (the class, and an Error) with `code`; returns it. */
function gatehouseError(fn, code) {
  const error = thrown(fn);
  assert.ok(error instanceof GatehouseError, `an instance of GatehouseError, got ${error?.constructor?.name}: ${error}`);
  assert.ok(error instanceof Error, "an instance of Error");
  assert.equal(error.name, "GatehouseError");
  assert.equal(error.code, code, error.message);
  assert.equal(error.errors[0].code, code);
  assert.match(error.stack, /GatehouseError/);
  return error;
}

test("every failure is an instance of the exported GatehouseError class", () => {
  assert.equal(typeof GatehouseError, "function");
  gatehouseError(() => new Engine(null), "bundle_format");
  gatehouseError(() => new Engine({ files: { ...files, "rules/zz.rego": "package gatehouse.policies.zz\ndeny contains" } }), "rego_parse");
  gatehouseError(() => engine.evaluate("{}", context), "intent_not_object");
  gatehouseError(() => engine.evaluate(intent, {}), "context_invalid");
  gatehouseError(() => engine.evaluateJson(42, "{}"), "argument_not_string");
  gatehouseError(() => engine.evaluateRequest("{"), "request_syntax");
  gatehouseError(() => validateIntent(null), "intent_not_object");
  assert.equal(new Error("x") instanceof GatehouseError, false);
});

test("an engine used after free() throws engine_freed; free() twice does nothing", () => {
  const freed = new Engine({ files });
  assert.equal(freed.evaluate(intent, context).outcome, "allow");
  freed.free();
  freed.free();
  const error = gatehouseError(() => freed.evaluate(intent, context), "engine_freed");
  assert.match(error.errors[0].help, /new `Engine`/);
  gatehouseError(() => freed.evaluateJson(JSON.stringify(intent), JSON.stringify(context)), "engine_freed");
  gatehouseError(() => freed.evaluateGates(intent, context), "engine_freed");
  gatehouseError(() => freed.evaluateRequest(JSON.stringify({ intent, context })), "engine_freed");
  gatehouseError(() => freed.bundleDigest, "engine_freed");
  gatehouseError(() => freed.catalog(), "engine_freed");
  // Other engines are untouched.
  assert.equal(engine.evaluate(intent, context).outcome, "allow");
});

test("GatehouseError.fromErrors rebuilds an error whose records crossed a worker boundary", () => {
  const original = gatehouseError(() => engine.evaluateJson('{"apiVersion": ', JSON.stringify(context)), "intent_syntax");
  // structuredClone is what postMessage does: an Error loses its class and its own properties.
  assert.equal(structuredClone(original).code, undefined);
  const rebuilt = GatehouseError.fromErrors(structuredClone(original.errors));
  assert.ok(rebuilt instanceof GatehouseError && rebuilt instanceof Error);
  assert.equal(rebuilt.code, "intent_syntax");
  assert.equal(rebuilt.message, original.message);
  assert.deepEqual(rebuilt.errors, original.errors);
  for (const bad of [undefined, "intent_syntax", [], [{ code: 1 }], { errors: original.errors }]) {
    gatehouseError(() => GatehouseError.fromErrors(bad), "error_records_invalid");
  }
});

test("GatehouseError.timeLimitExceeded is the core's limit_exceeded record", () => {
  const error = GatehouseError.timeLimitExceeded(250);
  assert.ok(error instanceof GatehouseError && error instanceof Error);
  assert.equal(error.code, "limit_exceeded");
  assert.equal(error.message, "policy evaluation exceeded the time limit");
  assert.match(error.errors[0].help, /250 ms/);
});

test("the bundle's name, revision and catalogue, as Python gives them", () => {
  const manifest = JSON.parse(readFileSync(join(POLICIES, "bundle.json"), "utf8"));
  assert.equal(engine.bundleName, manifest.name);
  assert.equal(engine.bundleRevision, manifest.revision);
  const catalog = engine.catalog();
  const declared = JSON.parse(readFileSync(join(POLICIES, "data", "catalog.json"), "utf8")).governance.catalog;
  assert.deepEqual(Object.keys(catalog).sort(), Object.keys(declared).sort());
  assert.equal(catalog["schema.valid"].severity, "critical");
  assert.equal(catalog["prod.four-eyes"].override_role, "release-approver");
  // Every policy a decision names is in the catalogue.
  const denied = engine.evaluate({ ...intent, spec: { ...intent.spec, tags: {} } }, context);
  for (const v of denied.violations) assert.ok(catalog[v.policy], v.policy);
});

test("intentSchema() is the schema the core validates with", () => {
  const schema = JSON.parse(readFileSync(join(ROOT, "core", "schema", "intent.schema.json"), "utf8"));
  assert.deepEqual(intentSchema(), schema);
});

test("parseIntent reads YAML and JSON intents as the CLI does", () => {
  const yamlPath = join(POLICIES, "examples", "payments-api-near-budget-allowed.yaml");
  const parsed = parseIntent(readFileSync(yamlPath, "utf8"));
  assert.equal(parsed.kind, "DeploymentIntent");
  // YAML numbers stay numbers, quoted versions stay strings.
  assert.equal(typeof parsed.spec.estimated_monthly_cost, "number");
  assert.equal(parsed.spec.version, "1.4.2");
  assert.deepEqual(validateIntent(parsed), []);
  assert.deepEqual(parseIntent(JSON.stringify(intent)), intent);
  // The example is the intent of the conformance case `cost-budget-warning`, written in YAML.
  const twin = conformanceCases().find((c) => c.name === "cost-budget-warning");
  assert.deepEqual(parsed, twin.case.intent);
  assert.equal(
    `${engine.evaluateJson(JSON.stringify(parsed), JSON.stringify(twin.case.context))}\n`,
    readFileSync(twin.golden, "utf8"),
  );
  const syntax = gatehouseError(() => parseIntent("spec:\n  tags: [\n"), "intent_syntax");
  assert.ok(syntax.errors[0].span.line >= 2, syntax.message);
  gatehouseError(() => parseIntent("a: &x 1\nb: *x\n"), "intent_yaml_alias");
  gatehouseError(() => parseIntent("- just\n- a list\n"), "intent_not_object");
  gatehouseError(() => parseIntent(intent), "argument_not_string");
});
