// Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core; never a downloaded
// browser) loads the preview page (www/) from a local server, which loads the browser package
// (pkg/, --target web) and the bundle document printed by `gatehouse bundle`. The violations the
// page renders must be those `gatehouse check` reports for the same intent and time. The page
// then times `engine.evaluate` over 200 runs; the median is reported, not asserted. A second
// page runs docs/wasm.md's browser snippets: a runaway policy evaluated in a Web Worker ends at
// its deadline with a GatehouseError `limit_exceeded`. A third page fetches a signed bundle
// document and verifies it with a trusted key before previewing against it; each attack on it
// (helpers.mjs `signingAttacks`) is refused with its code.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { chromium } from "playwright-core";

import {
  OUT,
  POLICIES,
  ROOT,
  WASM_DIR,
  conformanceCases,
  docSnippets,
  keyIdOf,
  keyText,
  packedBundlePath,
  signedBundle,
  signingAttacks,
} from "./helpers.mjs";

const CHROMIUM = "/usr/bin/chromium";
const NOW = "2026-11-23T12:00:00Z";
const RUNS = 200;

let server;
let browser;
let userDataDir;
let baseUrl;

before(async () => {
  const bundle = packedBundlePath();
  server = spawn(process.execPath, [join(WASM_DIR, "tests", "serve.mjs"), bundle], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
    server.stdout.setEncoding("utf8");
    server.stdout.once("data", (line) => resolve(Number(/listening (\d+)/.exec(line)?.[1])));
  });
  baseUrl = `http://127.0.0.1:${port}`;
  userDataDir = mkdtempSync(join(tmpdir(), "gatehouse-chromium-"));
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
  if (server?.pid) process.kill(server.pid, "SIGTERM");
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

/** `gatehouse check --format json` for the page's intent at the same time. */
function cliDecision() {
  const run = spawnSync(
    "cargo",
    ["run", "--quiet", "--locked", "-p", "gatehouse-cli", "--", "check", "--format", "json",
      "--policies", POLICIES, "--now", NOW, join(WASM_DIR, "www", "intent.json")],
    { cwd: ROOT, encoding: "utf8" },
  );
  assert.ok(run.status === 0 || run.status === 1, `gatehouse check failed:\n${run.stderr}`);
  return JSON.parse(run.stdout).results[0].decision;
}

test("the page renders the violations the CLI reports, and times evaluate", async () => {
  const page = await browser.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(`${baseUrl}/?now=${NOW}`);
  await page.evaluate(() => window.gatehouseReady);
  assert.deepEqual(problems, []);

  const outcome = await page.locator("#outcome").getAttribute("data-outcome");
  const rendered = await page.locator("#violations li").evaluateAll((items) =>
    items.map((li) => [li.dataset.policy, li.dataset.path, li.dataset.status]),
  );
  const want = cliDecision();
  assert.equal(outcome, want.outcome);
  assert.ok(rendered.length >= 3, `only ${rendered.length} violations rendered`);
  assert.deepEqual(rendered, want.violations.map((v) => [v.policy, v.path, v.status]));

  // Editing the intent re-evaluates it.
  const fixed = await page.evaluate(() => {
    const area = document.getElementById("intent");
    const intent = JSON.parse(area.value);
    intent.spec.tags = "not a map";
    area.value = JSON.stringify(intent, null, 2);
    area.dispatchEvent(new Event("input"));
    return [...document.querySelectorAll("#violations li")].map((li) => li.dataset.policy);
  });
  assert.deepEqual([...new Set(fixed)], ["schema.valid"]);
  // Back to the page's intent for the timing and the screenshot.
  await page.reload();
  await page.evaluate(() => window.gatehouseReady);

  const timing = await page.evaluate((runs) => window.benchmark(runs), RUNS);
  console.log(
    `chromium: median ${timing.median_ms.toFixed(3)} ms, mean ${timing.mean_ms.toFixed(3)} ms per evaluate over ${timing.runs} runs (crossOriginIsolated: ${timing.crossOriginIsolated})`,
  );
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, "browser-timing.json"), `${JSON.stringify(timing)}\n`);
  await page.screenshot({ path: join(OUT, "browser.png"), fullPage: true });
  assert.ok(timing.median_ms > 0);
});

test("a runaway policy in a Web Worker ends at its deadline with limit_exceeded (docs' snippets)", async () => {
  // docs/wasm.md's browser blocks, served from /snippets/ next to a page that maps the package's
  // name to the browser build (pkg/) and loads them.
  const dir = join(OUT, "snippets");
  mkdirSync(dir, { recursive: true });
  const browserFiles = docSnippets().filter((s) => s.browser && s.file);
  assert.deepEqual(browserFiles.map((s) => s.file).sort(), ["evaluate-within.js", "evaluate-worker.js"]);
  for (const s of browserFiles) writeFileSync(join(dir, s.file), s.code);
  writeFileSync(
    join(dir, "deadline.html"),
    `<!doctype html>
<script type="importmap">{"imports": {"gatehouse-wasm/web": "/pkg/gatehouse_wasm.js"}}</script>
<script type="module">
  import { GatehouseError } from "gatehouse-wasm/web";
  import { evaluateWithin } from "./evaluate-within.js";
  window.within = async (limitMs, bundle, intent, context) => {
    try {
      return { decision: await evaluateWithin(limitMs, bundle, intent, context) };
    } catch (error) {
      return { gatehouse: error instanceof GatehouseError, code: error.code, help: error.errors?.[0]?.help, message: String(error) };
    }
  };
</script>
`,
  );
  const cases = conformanceCases();
  const runaway = cases.find((c) => c.name === "fail-closed-instruction-limit").case;
  const allowed = cases.find((c) => c.name === "allow-prod-reference");
  const packed = JSON.parse(readFileSync(packedBundlePath(), "utf8"));
  const page = await browser.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(`${baseUrl}/snippets/deadline.html`);
  await page.waitForFunction(() => typeof window.within === "function");

  const files = { ...packed.files, ...runaway.bundle_overlay };
  const stopped = await page.evaluate(
    ({ files, intent, context }) => window.within(1000, { files }, intent, context),
    { files, intent: runaway.intent, context: runaway.context },
  );
  assert.deepEqual(
    { gatehouse: stopped.gatehouse, code: stopped.code },
    { gatehouse: true, code: "limit_exceeded" },
    stopped.message,
  );
  assert.match(stopped.help, /1000 ms/);

  const done = await page.evaluate(
    ({ bundle, intent, context }) => window.within(120000, bundle, intent, context),
    { bundle: packed, intent: allowed.case.intent, context: allowed.case.context },
  );
  assert.deepEqual(done.decision, JSON.parse(readFileSync(allowed.golden, "utf8")), done.message);
  assert.deepEqual(problems, []);
});

test("a signed bundle fetched by the page verifies before the preview; each attack is refused", async () => {
  // The documents the page fetches, served from /snippets/signing/ as a page fetches the
  // control plane's GET /v1/bundle.
  const dir = join(OUT, "snippets", "signing");
  mkdirSync(dir, { recursive: true });
  const attacks = signingAttacks();
  writeFileSync(join(dir, "signed.json"), JSON.stringify(signedBundle()));
  attacks.forEach((attack, i) => writeFileSync(join(dir, `attack-${i}.json`), JSON.stringify(attack.bundle)));
  writeFileSync(
    join(dir, "index.html"),
    `<!doctype html>
<script type="module">
  import init, { Engine, GatehouseError } from "/pkg/gatehouse_wasm.js";
  await init();
  window.preview = async (url, trustedKeys, intent, context) => {
    const bundle = await (await fetch(url)).json();
    try {
      const engine = new Engine(bundle, { trustedKeys });
      return { signedBy: engine.signedBy ?? null, outcome: engine.evaluate(intent, context).outcome };
    } catch (error) {
      return { gatehouse: error instanceof GatehouseError, code: error.code, message: String(error) };
    }
  };
</script>
`,
  );
  const { intent, context } = conformanceCases().find((c) => c.name === "allow-prod-reference").case;
  const trusted = keyText("trusted.pub.pem");
  const page = await browser.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(`${baseUrl}/snippets/signing/index.html`);
  await page.waitForFunction(() => typeof window.preview === "function");
  const preview = (url, keys) =>
    page.evaluate(([url, keys, intent, context]) => window.preview(url, keys, intent, context), [url, keys, intent, context]);

  assert.deepEqual(await preview("signed.json", [trusted]), { signedBy: keyIdOf(trusted), outcome: "allow" });
  assert.deepEqual(await preview("signed.json", []), { signedBy: null, outcome: "allow" });
  for (const [i, attack] of attacks.entries()) {
    const refused = await preview(`attack-${i}.json`, attack.keys.map(keyText));
    assert.deepEqual({ gatehouse: refused.gatehouse, code: refused.code }, { gatehouse: true, code: attack.code }, `${attack.name}: ${refused.message ?? "loaded"}`);
  }
  assert.deepEqual(problems, []);
});
