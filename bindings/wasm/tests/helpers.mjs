// Shared by the Node tests: the packages, the reference bundle read the way the core's
// `BundleSource::from_dir` reads `policies/`, and the bundle document `gatehouse bundle` prints.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const WASM_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");
export const ROOT = join(WASM_DIR, "..", "..");
// GATEHOUSE_POLICIES points the tests at another bundle directory (with its conformance corpus).
export const POLICIES = process.env.GATEHOUSE_POLICIES ?? join(ROOT, "policies");
export const OUT = join(WASM_DIR, "tests", ".out");

/** The Node package (`pkg-node/`, CommonJS, loads synchronously). */
export function loadNodePackage() {
  const pkg = join(WASM_DIR, "pkg-node", "gatehouse_wasm.js");
  if (!existsSync(pkg)) {
    throw new Error(`${pkg} is missing; run bash bindings/wasm/build.sh first`);
  }
  return createRequire(import.meta.url)(pkg);
}

/** Folders at the top of a bundle directory that are not bundle files (core `SKIPPED_DIRS`). */
const SKIPPED_DIRS = new Set(["examples", "conformance", "target"]);

/** The core's `file_role`: which paths belong in a bundle. */
function isBundlePath(path) {
  return (
    path === "bundle.json" ||
    path.endsWith(".rego") ||
    (path.startsWith("data/") && path.endsWith(".json"))
  );
}

/** `{path: text}` of a bundle directory, as `BundleSource::from_dir` collects it. */
export function bundleFiles(dir = POLICIES) {
  const files = {};
  const walk = (at) => {
    const entries = readdirSync(at, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue;
      const full = join(at, entry.name);
      if (entry.isDirectory()) {
        if (at === dir && SKIPPED_DIRS.has(entry.name)) continue;
        walk(full);
      } else {
        const path = relative(dir, full).split(sep).join("/");
        if (isBundlePath(path)) files[path] = readFileSync(full, "utf8");
      }
    }
  };
  walk(dir);
  return files;
}

/** The conformance cases, sorted by name: `[{name, file, case}]`. */
export function conformanceCases() {
  const dir = join(POLICIES, "conformance");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => ({
      name: f.slice(0, -".json".length),
      golden: join(dir, "golden", f),
      case: JSON.parse(readFileSync(join(dir, f), "utf8")),
    }));
}

/** The document `gatehouse bundle --policies policies` prints, made once per run (tests/.out/). */
export function packedBundlePath() {
  const path = join(OUT, "bundle.json");
  if (!existsSync(path)) {
    const text = execFileSync(
      "cargo",
      ["run", "--quiet", "--locked", "-p", "gatehouse-cli", "--", "bundle", "--policies", POLICIES],
      { cwd: ROOT, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
    );
    mkdirSync(OUT, { recursive: true });
    writeFileSync(path, text);
  }
  return path;
}

export function packedBundle() {
  return JSON.parse(readFileSync(packedBundlePath(), "utf8"));
}

/** Asserts that `fn` throws a Gatehouse error with `code`, and returns it. */
export function thrown(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected an error, nothing was thrown");
}

/** The scratch project that installed the packed npm package (made by test.sh). */
export const APP = join(OUT, "app");

/** The fenced JavaScript blocks of docs/wasm.md, in order: `{file?, browser, code, line}`.
    The info string after `js` may say `browser` (run in Chromium) and `file=NAME` (written as
    that file instead of run on its own). */
export function docSnippets() {
  const text = readFileSync(join(ROOT, "docs", "wasm.md"), "utf8");
  const snippets = [];
  const fence = /^```js([^\n]*)\n([\s\S]*?)^```$/gm;
  for (let m = fence.exec(text); m; m = fence.exec(text)) {
    const info = m[1].trim().split(/\s+/).filter(Boolean);
    const file = info.find((w) => w.startsWith("file="))?.slice("file=".length);
    const line = text.slice(0, m.index).split("\n").length;
    snippets.push({ file, browser: info.includes("browser"), code: m[2], line });
  }
  return snippets;
}
