// Type-checked (never run) by types.test.mjs with `tsc --noEmit`, under the settings most projects
// use (tsconfig.common.json: lib es2022 + dom, no esnext.disposable, skipLibCheck off, strict): the
// error class, the bundle's identity, the catalogue, the intent schema and YAML intents.
import {
  Engine,
  GatehouseError,
  intentSchema,
  parseIntent,
  validateIntent,
  type Decision,
  type EngineOptions,
  type ErrorDetail,
  type IntentInput,
  type PackedBundle,
  type PolicyMeta,
  type Severity,
} from "../pkg/gatehouse_wasm.js";

export function api(engine: Engine, yaml: string): string[] {
  const name: string = engine.bundleName;
  const revision: string = engine.bundleRevision;
  const catalog: Record<string, PolicyMeta> = engine.catalog();
  const severities: Severity[] = Object.values(catalog).map((p) => p.severity);
  const schema: Record<string, unknown> = intentSchema();
  const intent: IntentInput = parseIntent(yaml);
  const decision: Decision = engine.evaluate(intent, { now: "2026-11-23T12:00:00Z" });
  console.log(schema, validateIntent(intent), decision.outcome);
  return [name, revision, ...severities];
}

export function verified(bundle: PackedBundle, trustedKeys: string[]): string {
  const options: EngineOptions = { trustedKeys };
  const engine = new Engine(bundle, options);
  const signedBy: string | undefined = engine.signedBy;
  const unverified = new Engine(bundle);
  const envelope = bundle.signature;
  const keyIds: string[] = envelope ? envelope.signatures.map((s) => s.keyid) : [];
  console.log(unverified.signedBy ?? "unverified", keyIds, envelope?.payloadType);
  return signedBy ?? "";
}

export function explain(error: unknown): string {
  if (error instanceof GatehouseError) {
    const records: ErrorDetail[] = error.errors;
    return `${error.code}: ${error.message} (${records.length})`;
  }
  return String(error);
}

export function rebuild(errors: ErrorDetail[], limitMs: number): GatehouseError[] {
  const stopped: GatehouseError = GatehouseError.timeLimitExceeded(limitMs);
  const copy: GatehouseError = GatehouseError.fromErrors(errors);
  const asError: Error = copy;
  console.log(asError.stack);
  return [stopped, copy];
}

export function misuses(engine: Engine, error: GatehouseError): void {
  // @ts-expect-error errors come from the package, not from `new`
  new GatehouseError();
  // @ts-expect-error parseIntent takes text
  parseIntent({ kind: "DeploymentIntent" });
  // @ts-expect-error the catalogue is read-only metadata, not a function argument
  engine.catalog("prod.four-eyes");
  // @ts-expect-error trusted keys are a list of PEM texts
  new Engine({ files: {} }, { trustedKeys: "-----BEGIN PUBLIC KEY-----" });
  // @ts-expect-error the option is spelled trustedKeys
  new Engine({ files: {} }, { trusted_keys: [] });
  // @ts-expect-error who signed the bundle is read-only
  engine.signedBy = "someone";
  // @ts-expect-error the code is a string
  const n: number = error.code;
  console.log(n);
}
