// docs/wasm.md's JavaScript, run as a user runs it: in the project that installed the npm package
// from its tarball (test.sh makes it: tests/.out/app). Blocks with `file=NAME` are written as that
// file; the others run in order with Node, with `bundle` (the `gatehouse bundle` document),
// `signedBundle` (the same, signed with the test-only key whose public half is `trusted.pub.pem`)
// and `intent` defined, and `fetch` of file: URLs answered from disk as a web server answers for the
// package's files. Blocks marked `browser` run in Chromium (browser.test.mjs). Then the app the
// esbuild and webpack snippets built run in Node, and the Node worker with a deadline stops a
// runaway policy.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { before, test } from "node:test";

import { APP, conformanceCases, docSnippets, keyText, packedBundlePath, signedBundlePath } from "./helpers.mjs";

const snippets = docSnippets();
const allowed = conformanceCases().find((c) => c.name === "allow-prod-reference");
const runaway = conformanceCases().find((c) => c.name === "fail-closed-instruction-limit");
const packed = JSON.parse(readFileSync(packedBundlePath(), "utf8"));

const GLOBALS = `
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

globalThis.bundle = JSON.parse(readFileSync(${JSON.stringify(packedBundlePath())}, "utf8"));
globalThis.signedBundle = JSON.parse(readFileSync(${JSON.stringify(signedBundlePath())}, "utf8"));
globalThis.intent = ${JSON.stringify(allowed.case.intent)};
const networkFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (url.protocol !== "file:") return networkFetch(input, init);
  const type = url.pathname.endsWith(".wasm") ? "application/wasm" : "application/octet-stream";
  return new Response(readFileSync(fileURLToPath(url)), { headers: { "content-type": type } });
};
`;

before(() => {
  assert.ok(existsSync(join(APP, "node_modules", "gatehouse-wasm")), `${APP} has no gatehouse-wasm; test.sh installs it`);
  writeFileSync(join(APP, "globals.mjs"), GLOBALS);
  writeFileSync(join(APP, "bundle.json"), JSON.stringify(packed));
  writeFileSync(join(APP, "trusted.pub.pem"), keyText("trusted.pub.pem"));
  for (const s of snippets.filter((s) => s.file && !s.browser)) {
    writeFileSync(join(APP, s.file), s.code);
  }
});

test("docs/wasm.md has the snippets this test expects", () => {
  const files = snippets.filter((s) => s.file).map((s) => s.file);
  for (const name of ["evaluate-worker.mjs", "evaluate-within.mjs", "app.mjs", "webpack-app.mjs", "evaluate-worker.js", "evaluate-within.js"]) {
    assert.ok(files.includes(name), `no block with file=${name}`);
  }
  assert.ok(snippets.filter((s) => !s.file && !s.browser).length >= 7, "the runnable snippets");
});

for (const s of snippets.filter((s) => !s.file && !s.browser)) {
  test(`docs/wasm.md:${s.line} runs in Node`, () => {
    const name = `snippet-${s.line}.mjs`;
    writeFileSync(join(APP, name), s.code);
    const run = spawnSync(process.execPath, ["--import", "./globals.mjs", name], { cwd: APP, encoding: "utf8" });
    assert.equal(run.status, 0, `docs/wasm.md:${s.line} failed:\n${run.stdout}${run.stderr}`);
    process.stdout.write(run.stdout.replace(/^/gm, `  docs/wasm.md:${s.line} | `));
  });
}

test("the app esbuild bundled (docs' esbuild setup) runs in Node", () => {
  const out = join(APP, "dist", "app.mjs");
  assert.ok(existsSync(out), `${out} is missing: the esbuild snippet did not build it`);
  const text = readFileSync(out, "utf8");
  assert.doesNotMatch(text, /from\s+["']gatehouse-wasm/, "the package is bundled, not imported");
  const run = spawnSync(process.execPath, [out], { cwd: join(APP, "dist"), encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, `${packed.name} ${packed.digest}\n`);
});

test("the app webpack bundled from the bundler entry (docs' webpack setup) runs in Node", () => {
  const out = join(APP, "dist-webpack", "app.cjs");
  assert.ok(existsSync(out), `${out} is missing: the webpack snippet did not build it`);
  assert.doesNotMatch(readFileSync(out, "utf8"), /require\(["']gatehouse-wasm/, "the package is bundled, not required");
  const run = spawnSync(process.execPath, [out], { cwd: join(APP, "dist-webpack"), encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, `${packed.name} ${packed.digest}\n`);
});

test("a runaway policy in a Node worker ends at its deadline with limit_exceeded", async () => {
  const { evaluateWithin } = await import(pathToFileURL(join(APP, "evaluate-within.mjs")).href);
  const { GatehouseError } = createRequire(join(APP, "package.json"))("gatehouse-wasm");
  const files = { ...packed.files, ...runaway.case.bundle_overlay };
  const { intent, context } = runaway.case;
  await assert.rejects(evaluateWithin(1000, { files }, intent, context), (error) => {
    assert.ok(error instanceof GatehouseError, `a GatehouseError, got ${error}`);
    assert.equal(error.code, "limit_exceeded");
    assert.match(error.errors[0].help, /1000 ms/);
    return true;
  });
  // Within its deadline the same helper gives the golden decision, and an error as a GatehouseError.
  const decision = await evaluateWithin(120_000, packed, allowed.case.intent, allowed.case.context);
  assert.deepEqual(decision, JSON.parse(readFileSync(allowed.golden, "utf8")));
  await assert.rejects(evaluateWithin(120_000, { files: {} }, intent, context), (error) => {
    assert.ok(error instanceof GatehouseError);
    assert.equal(error.code, "bundle_manifest_missing");
    return true;
  });
});
