// The live preview: the WASM engine (served at /ui/pkg/ from the package the server found) loaded
// with the exact bundle the server runs (`GET /v1/bundle`), evaluating in the context the server
// would use (`GET /v1/context?service=`). When the engine cannot be loaded, the preview asks the
// server instead (`POST /v1/evaluate`, which stores nothing) and says so. `?preview=server` in the
// page URL forces that fallback.

import { call, get } from "./api.js";

const CONTEXT_TTL_MS = 5000;

export class Previewer {
  constructor() {
    /** `wasm` or `server`. */
    this.mode = "server";
    /** Why the WASM engine is not used, when it is not. */
    this.reason = "";
    this.bundle = null;
    this.document = null;
    this.engine = null;
    this.contexts = new Map();
  }

  /** Loads the bundle and, unless told not to, the WASM engine. Never throws for the engine. */
  async load() {
    const bundle = await get("/v1/bundle");
    /** The whole bundle document (its `files` hold the org and reference data). */
    this.document = bundle;
    this.bundle = { name: bundle.name, revision: bundle.revision, digest: bundle.digest };
    if (new URLSearchParams(location.search).get("preview") === "server") {
      this.reason = "the page was opened with ?preview=server";
      return this;
    }
    try {
      const probe = await fetch("/ui/pkg/gatehouse_wasm_bg.wasm", { method: "HEAD", cache: "no-store" });
      if (!probe.ok) throw new Error("the WASM engine is not installed on this server (the note at the foot of the page says how to install it)");
      const module = await import("/ui/pkg/gatehouse_wasm.js");
      await module.default({ module_or_path: "/ui/pkg/gatehouse_wasm_bg.wasm" });
      const engine = new module.Engine(bundle);
      if (engine.bundleDigest !== bundle.digest) {
        throw new Error(`the engine computed bundle digest ${engine.bundleDigest}, the server reports ${bundle.digest}`);
      }
      this.engine = engine;
      this.mode = "wasm";
    } catch (error) {
      this.reason = error?.message ?? String(error);
    }
    return this;
  }

  async context(service) {
    const hit = this.contexts.get(service);
    if (hit && performance.now() - hit.at < CONTEXT_TTL_MS) return hit.value;
    const value = await get(`/v1/context?service=${encodeURIComponent(service)}`);
    this.contexts.set(service, { at: performance.now(), value });
    return value;
  }

  /** The decision for an intent, from the engine in this page or from the server. */
  async evaluate(intent) {
    if (this.mode === "wasm") {
      const service = typeof intent?.spec?.service === "string" ? intent.spec.service : "";
      const context = await this.context(service);
      return this.engine.evaluate(intent, context);
    }
    return (await call("/v1/evaluate", { method: "POST", json: { intent } })).body;
  }
}

/** `policy|path|status` of each violation, sorted: what must agree between preview and server. */
export function violationKeys(decision) {
  return (decision?.violations ?? []).map((v) => `${v.policy}|${v.path}|${v.status}`).sort();
}

/** The differences between a preview and the server's decision (empty when they agree). */
export function compareDecisions(preview, server) {
  const differences = [];
  if (preview.outcome !== server.outcome) {
    differences.push(`outcome: preview ${preview.outcome}, server ${server.outcome}`);
  }
  const a = new Set(violationKeys(preview));
  const b = new Set(violationKeys(server));
  for (const k of a) if (!b.has(k)) differences.push(`only in the preview: ${k.replaceAll("|", " · ")}`);
  for (const k of b) if (!a.has(k)) differences.push(`only on the server: ${k.replaceAll("|", " · ")}`);
  if (preview.bundle?.digest && server.bundle?.digest && preview.bundle.digest !== server.bundle.digest) {
    differences.push(`bundle: preview ${preview.bundle.digest}, server ${server.bundle.digest}`);
  }
  return differences;
}
