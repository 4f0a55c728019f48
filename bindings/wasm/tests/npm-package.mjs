// The published npm package as a user gets it: run from a scratch project that installed the
// `npm pack` tarball of pkg-npm/ (see test.sh). Each entry point loads and evaluates a
// conformance case to its golden bytes; the bundler entry is loaded the way bundlers load it
// (an ES module importing the .wasm), which Node does behind --experimental-wasm-modules.
// Usage: node npm-package.mjs BUNDLE_JSON CASE_JSON GOLDEN_JSON [bundler]
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { createRequire } from "node:module";

const [bundlePath, casePath, goldenPath, mode] = process.argv.slice(2);
const bundle = JSON.parse(readFileSync(bundlePath, "utf8"));
const testCase = JSON.parse(readFileSync(casePath, "utf8"));
const golden = readFileSync(goldenPath, "utf8").trimEnd();
const intent = JSON.stringify(testCase.intent);
const context = JSON.stringify(testCase.context);
const require = createRequire(import.meta.url);

function check(name, Engine) {
  const engine = new Engine(bundle);
  assert.equal(engine.evaluateJson(intent, context), golden, `${name}: decision bytes`);
  console.log(`gatehouse-wasm ${name}: the golden decision, ${engine.bundleDigest}`);
}

if (mode === "bundler") {
  const bundler = await import("gatehouse-wasm/bundler");
  check("bundler entry (gatehouse-wasm/bundler)", bundler.Engine);
} else {
  const main = await import("gatehouse-wasm");
  check("default entry under Node (import)", main.Engine);
  check("default entry under Node (require)", require("gatehouse-wasm").Engine);
  const web = await import("gatehouse-wasm/web");
  await web.default({
    module_or_path: readFileSync(require.resolve("gatehouse-wasm/web/gatehouse_wasm_bg.wasm")),
  });
  check("web entry (gatehouse-wasm/web)", web.Engine);
  const pkg = require("gatehouse-wasm/package.json");
  assert.equal(pkg.name, "gatehouse-wasm");
  // One WebAssembly module, shared by the entry points (it is most of the package's size).
  const root = dirname(require.resolve("gatehouse-wasm/package.json"));
  const modules = readdirSync(root, { recursive: true }).filter((f) => String(f).endsWith(".wasm"));
  assert.deepEqual(modules, ["bundler/gatehouse_wasm_bg.wasm"]);
  assert.equal(require.resolve("gatehouse-wasm/gatehouse_wasm_bg.wasm"), `${root}/bundler/gatehouse_wasm_bg.wasm`);
  assert.deepEqual(Object.keys(pkg.exports).slice(0, 4), [".", "./web", "./bundler", "./node"]);
}
