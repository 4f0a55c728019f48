// Shared by the UI tests: a real `gatehouse serve` (the debug binary) on a free 127.0.0.1 port
// with its own temporary database, policy copy and tokens; a test pipeline that signs callbacks
// with the pipeline secret; headless Chromium (Debian's /usr/bin/chromium via playwright-core,
// reused from bindings/wasm/node_modules: no second npm install).
import { spawn } from "node:child_process";
import { createHash, createHmac, randomUUID } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "../../../../bindings/wasm/node_modules/playwright-core/index.mjs";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");
export const BINARY = join(ROOT, "target", "debug", "gatehouse");
export const SHOTS = join(ROOT, "target", "ui-screenshots");
export const WASM_PKG = join(ROOT, "bindings", "wasm", "pkg");
export const PIPELINE_SECRET = "ui-test-pipeline-secret-0123456789";
export const TOKENS = {
  requester: "ui-test-requester-token",
  approver: "ui-test-approver-token",
  admin: "ui-test-admin-token",
};

const sha256 = (text) => createHash("sha256").update(text).digest("hex");

/** The example intent of policies/examples/web-frontend-dev-allowed.yaml, as JSON. */
export function devIntent() {
  return {
    apiVersion: "gatehouse.dev/v1",
    kind: "DeploymentIntent",
    metadata: { name: "web-frontend-dev-42", requested_by: "erin@example.com" },
    spec: {
      service: "web-frontend",
      version: "2.0.0-rc.1",
      artifact: "ghcr.io/acme/web-frontend@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
      environment: "dev",
      target: { cloud: "aws", account: "555555555555", region: "us-west-2" },
      resources: [{ type: "compute.instance", name: "web", size: "t3.small", count: 1 }],
      tags: { owner: "team-web", "cost-center": "CC-2001", "data-classification": "internal" },
      estimated_monthly_cost: 120,
      strategy: "rolling",
    },
  };
}

/**
 * Starts `gatehouse serve --config` on 127.0.0.1:0 over a copy of policies/ (so a test may change
 * it and reload). `wasmDir` is the `[ui] wasm_dir` (default: the built bindings/wasm/pkg).
 */
export async function startServer({ wasmDir = WASM_PKG } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-ui-"));
  const policies = join(dir, "policies");
  for (const part of ["bundle.json", "data", "rules"]) {
    cpSync(join(ROOT, "policies", part), join(policies, part), { recursive: true });
  }
  const token = (name, role, value, roles = []) =>
    `[[tokens]]\nname = "${name}"\nrole = "${role}"\nsha256 = "${sha256(value)}"\napproval_roles = ${JSON.stringify(roles)}\n\n`;
  const config = [
    `listen = "127.0.0.1:0"\ndatabase = ${JSON.stringify(join(dir, "gatehouse.db"))}\npolicies = ${JSON.stringify(policies)}\n\n`,
    `[pipeline]\nsecret = "${PIPELINE_SECRET}"\n\n`,
    `[ui]\nwasm_dir = ${JSON.stringify(wasmDir)}\n\n`,
    token("dev@example.com", "requester", TOKENS.requester),
    token("approver@example.com", "approver", TOKENS.approver, ["finops-approver", "release-approver"]),
    token("admin@example.com", "admin", TOKENS.admin),
  ].join("");
  writeFileSync(join(dir, "gatehouse.toml"), config);
  const child = spawn(BINARY, ["serve", "--config", join(dir, "gatehouse.toml")], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, RUST_LOG: "info", NO_COLOR: "1" },
  });
  let log = "";
  const base = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`server did not start:\n${log}`)), 30000);
    child.once("exit", (code) => fail(new Error(`server exited with ${code}:\n${log}`)));
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      log += chunk;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
  });
  return {
    base,
    dir,
    policies,
    log: () => log,
    async api(method, path, { token = TOKENS.requester, json, headers = {} } = {}) {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(json === undefined ? {} : { "content-type": "application/json" }),
          ...headers,
        },
        body: json === undefined ? undefined : JSON.stringify(json),
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
    },
    /** The test pipeline: a signed callback with a fresh delivery id. The signature covers
     * `gatehouse-callback-v1\n<timestamp>\n<deployment id>\n<delivery id>\n<raw body>`. */
    async callback(id, report) {
      const raw = JSON.stringify(report);
      const delivery = randomUUID();
      const timestamp = String(Math.floor(Date.now() / 1000));
      const signature = createHmac("sha256", PIPELINE_SECRET)
        .update(`gatehouse-callback-v1\n${timestamp}\n${id}\n${delivery}\n${raw}`)
        .digest("hex");
      const response = await fetch(`${base}/v1/deployments/${id}/callbacks`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-gatehouse-signature-256": `sha256=${signature}`,
          "x-gatehouse-delivery": delivery,
          "x-gatehouse-timestamp": timestamp,
        },
        body: raw,
      });
      const body = await response.json();
      if (!response.ok) throw new Error(`callback ${report.status}: ${response.status} ${JSON.stringify(body)}`);
      return body;
    },
    /** Changes a JSON data file of the policy copy (`edit` mutates the parsed document). */
    editData(file, edit) {
      const path = join(policies, "data", file);
      const doc = JSON.parse(readFileSync(path, "utf8"));
      edit(doc);
      writeFileSync(path, JSON.stringify(doc, null, 2));
      // A changed bundle is published under a higher revision: the server activates no other.
      const manifest = join(policies, "bundle.json");
      const bundle = JSON.parse(readFileSync(manifest, "utf8"));
      bundle.revision = `${bundle.revision}.1`;
      writeFileSync(manifest, JSON.stringify(bundle, null, 2));
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((ok) => child.once("exit", ok));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Headless Chromium with a fresh profile; `close()` removes the profile. */
export async function startBrowser() {
  const profile = mkdtempSync(join(tmpdir(), "gatehouse-ui-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1360, height: 900 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  return {
    context,
    /** A new tab signed in with `token` (set in sessionStorage before the page's scripts run). */
    async page(token) {
      const page = await context.newPage();
      const problems = [];
      page.on("pageerror", (e) => problems.push(e.message));
      page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
      if (token) await page.addInitScript((t) => sessionStorage.setItem("gatehouse.token", t), token);
      page.problems = problems;
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot to target/ui-screenshots/NAME.png. */
export async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}
