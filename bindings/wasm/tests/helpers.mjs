// Shared by the Node tests: the packages, the reference bundle read the way the core's
// `BundleSource::from_dir` reads `policies/`, and the bundle document `gatehouse bundle` prints.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

/** The test-only ed25519 key pairs (core/tests/fixtures/test-only-keys): never trust them. */
export const KEYS = join(ROOT, "core", "tests", "fixtures", "test-only-keys");

/** A test-only key's PEM text: `trusted.pub.pem`, `untrusted.pub.pem`, `trusted.pem`, ... */
export function keyText(name) {
  return readFileSync(join(KEYS, name), "utf8");
}

/** A public key's default id, computed independently of the core: the lowercase hex SHA-256 of
    its SubjectPublicKeyInfo DER (the PEM body). */
export function keyIdOf(pem) {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
  return createHash("sha256").update(der).digest("hex");
}

/** `gatehouse ARGS...` through cargo, as the other helpers run the CLI; returns stdout. */
function gatehouse(...args) {
  return execFileSync("cargo", ["run", "--quiet", "--locked", "-p", "gatehouse-cli", "--", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** A copy of the reference bundle signed with the trusted test-only key (`gatehouse bundle sign`,
    as an operator signs it), packed by `gatehouse bundle`: made once per run (tests/.out/;
    test.sh remakes it every run). */
export function signedBundlePath() {
  const path = join(OUT, "signed-bundle.json");
  if (!existsSync(path)) {
    const dir = join(OUT, "signed-policies");
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(OUT, { recursive: true });
    cpSync(POLICIES, dir, { recursive: true });
    gatehouse("bundle", "sign", "--policies", dir, "--key", join(KEYS, "trusted.pem"));
    writeFileSync(`${path}.tmp`, gatehouse("bundle", "--policies", dir));
    execFileSync("mv", [`${path}.tmp`, path]);
  }
  return path;
}

export function signedBundle() {
  return JSON.parse(readFileSync(signedBundlePath(), "utf8"));
}

/** The bundle digest as the core defines it (`BundleSource::digest`, README.md), computed
    independently of the engine: what an attacker recomputes so that only the signature can
    catch a change. */
export function digestOf(files) {
  const hash = createHash("sha256");
  for (const path of Object.keys(files).sort()) {
    const isBundleFile =
      path === "bundle.json" ||
      (path.endsWith(".rego") && !path.endsWith("_test.rego")) ||
      (path.startsWith("data/") && path.endsWith(".json"));
    if (!isBundleFile) continue;
    const content = Buffer.from(files[path], "utf8");
    hash.update(path).update("\0").update(String(content.length)).update("\0").update(content);
  }
  return `sha256:${hash.digest("hex")}`;
}

/** A rule of the reference bundle that the attacks change. */
export const ATTACKED_RULE = "rules/compute/size_allowed.rego";

/** A packed document with `files` replaced and its digest recomputed to match them. */
function withFiles(doc, files) {
  return { ...doc, files, digest: digestOf(files) };
}

/** The signed document with its signed statement rewritten by `edit` and re-encoded, the
    signature kept: what an attacker who cannot sign does to make the statement match a change. */
function withStatement(doc, edit) {
  const statement = JSON.parse(Buffer.from(doc.signature.payload, "base64").toString("utf8"));
  edit(statement);
  const payload = Buffer.from(JSON.stringify(statement), "utf8").toString("base64");
  return { ...doc, signature: { ...doc.signature, payload } };
}

/** The attacks on a signed bundle a browser engine with trusted keys must refuse, shared by the
    Node and the Chromium tests: `{name, bundle, keys, code}`, `keys` the names of the test-only
    public keys trusted, `code` the refusal's. Every changed document has its digest recomputed,
    so the packed document's own check passes and only the signature can catch it. */
export function signingAttacks() {
  const signed = signedBundle();
  const { signature: _dropped, ...unsigned } = signed;
  const changed = { ...signed.files, [ATTACKED_RULE]: `${signed.files[ATTACKED_RULE]}\n# changed after signing\n` };
  const added = { ...signed.files, "rules/zz_added.rego": "package gatehouse.policies.zz_added\n\ndeny contains msg if {\n\tfalse\n\tmsg := {}\n}\n" };
  const { [ATTACKED_RULE]: _removed, ...removed } = signed.files;
  const forged = withStatement(withFiles(signed, changed), (statement) => {
    const sha = createHash("sha256").update(changed[ATTACKED_RULE], "utf8").digest("hex");
    for (const file of statement.files) if (file.path === ATTACKED_RULE) file.sha256 = sha;
    statement.digest = digestOf(changed);
  });
  return [
    { name: "an unsigned bundle", bundle: unsigned, keys: ["trusted.pub.pem"], code: "bundle_unsigned" },
    { name: "files without a signature", bundle: { files: signed.files }, keys: ["trusted.pub.pem"], code: "bundle_unsigned" },
    { name: "a bundle signed by an untrusted key", bundle: signed, keys: ["untrusted.pub.pem"], code: "bundle_signature_unknown_key" },
    { name: "a file changed after signing", bundle: withFiles(signed, changed), keys: ["trusted.pub.pem"], code: "bundle_file_changed" },
    { name: "a file added after signing", bundle: withFiles(signed, added), keys: ["trusted.pub.pem"], code: "bundle_file_added" },
    { name: "a file removed after signing", bundle: withFiles(signed, removed), keys: ["trusted.pub.pem"], code: "bundle_file_removed" },
    { name: "the signed statement edited to match a changed file", bundle: forged, keys: ["trusted.pub.pem"], code: "bundle_signature_invalid" },
  ];
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
