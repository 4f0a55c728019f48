// Signed bundles (issue 22) in the Node package: `new Engine(bundle, { trustedKeys })` takes
// ed25519 public keys in PEM (the keys the CLI's --trusted-key and Python's trusted_keys take)
// and loads only a packed bundle signed by one of them. The signed bundle is a copy of
// policies/ signed by `gatehouse bundle sign` with a test-only key and packed by `gatehouse
// bundle`; each attack (helpers.mjs `signingAttacks`, also run in Chromium) is refused with its
// code and no engine. Without keys nothing changes.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  ATTACKED_RULE,
  conformanceCases,
  keyIdOf,
  keyText,
  loadNodePackage,
  packedBundle,
  signedBundle,
  signingAttacks,
  thrown,
} from "./helpers.mjs";

const { Engine, GatehouseError } = loadNodePackage();

const signed = signedBundle();
const trusted = keyText("trusted.pub.pem");
const untrusted = keyText("untrusted.pub.pem");
const allowed = conformanceCases().find((c) => c.name === "allow-prod-reference");

/** `fn` throws a GatehouseError with `code`; returns it. */
function gatehouseError(fn, code) {
  const error = thrown(fn);
  assert.ok(error instanceof GatehouseError, `a GatehouseError, got ${error?.constructor?.name}: ${error}`);
  assert.equal(error.code, code, error.message);
  assert.equal(error.errors[0].code, code);
  return error;
}

test("the signed document carries the envelope `gatehouse bundle sign` wrote", () => {
  assert.equal(signed.signature.payloadType, "application/vnd.gatehouse.bundle+json");
  assert.equal(signed.signature.signatures.length, 1);
  assert.equal(signed.signature.signatures[0].keyid, keyIdOf(trusted));
  // The same bundle as the unsigned document: same files, same digest.
  const { signature: _signature, ...rest } = signed;
  assert.deepEqual(rest, packedBundle());
});

test("a signed bundle verifies with its key and decides as the unsigned one", () => {
  const engine = new Engine(signed, { trustedKeys: [trusted] });
  assert.equal(engine.signedBy, keyIdOf(trusted));
  assert.equal(engine.bundleDigest, signed.digest);
  const { intent, context } = allowed.case;
  assert.equal(`${engine.evaluateJson(JSON.stringify(intent), JSON.stringify(context))}\n`, readFileSync(allowed.golden, "utf8"));
  // Key rotation: any trusted key that verifies the signature will do, in any order.
  assert.equal(new Engine(signed, { trustedKeys: [untrusted, trusted] }).signedBy, keyIdOf(trusted));
  engine.free();
  gatehouseError(() => engine.signedBy, "engine_freed");
});

test("without keys nothing is verified and nothing changes", () => {
  for (const options of [undefined, null, {}, { trustedKeys: [] }]) {
    const engine = new Engine(signed, options);
    assert.equal(engine.signedBy, undefined, JSON.stringify(options));
    assert.equal(engine.bundleDigest, signed.digest);
  }
  assert.equal(new Engine(packedBundle()).signedBy, undefined);
  // An altered bundle still loads without keys (its digest recomputed): unverified.
  const changed = signingAttacks().find((a) => a.code === "bundle_file_changed");
  assert.equal(new Engine(changed.bundle).bundleDigest, changed.bundle.digest);
});

for (const attack of signingAttacks()) {
  test(`with trusted keys, ${attack.name} is refused: ${attack.code}`, () => {
    const keys = attack.keys.map(keyText);
    const error = gatehouseError(() => new Engine(attack.bundle, { trustedKeys: keys }), attack.code);
    assert.ok(error.errors[0].help, "a help text");
    if (attack.code.startsWith("bundle_file_")) {
      const named = attack.code === "bundle_file_added" ? "rules/zz_added.rego" : ATTACKED_RULE;
      assert.match(error.message, new RegExp(named.replaceAll(".", "\\.")));
    }
  });
}

test("a key that is not an ed25519 public key in PEM is refused: signing_key_invalid", () => {
  for (const bad of ["not a key", keyText("trusted.pem"), trusted.replace("MCow", "MCox")]) {
    const error = gatehouseError(() => new Engine(signed, { trustedKeys: [trusted, bad] }), "signing_key_invalid");
    assert.equal(error.errors[0].path, "trustedKeys[1]");
    assert.match(error.message, /trustedKeys\[1\]/);
  }
});

test("options that are not { trustedKeys: string[] } are refused, never ignored: options_invalid", () => {
  for (const options of [
    "trusted",
    [trusted],
    { trustedKeys: trusted },
    { trustedKeys: [42] },
    { trusted_keys: [trusted] },
    { trustedkeys: [trusted] },
  ]) {
    gatehouseError(() => new Engine(signed, options), "options_invalid");
  }
});
