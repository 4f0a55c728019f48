/* Gatehouse types: the intent, the context, the bundle forms and the error thrown. Written once
   here (bindings/wasm/src/types.d.ts) and emitted into the package's .d.ts by wasm-bindgen, next
   to the decision contract's types (Decision, Violation, ErrorDetail, ...), which are generated
   from the core's schema into src/decision.d.ts (scripts/decision-types.mjs); tests/usage.ts
   type-checks both with `tsc --noEmit`. */

/** What every function of this package throws: a real `Error` (with the engine's stack) that is
    an instance of this class, with a code and the contract's records. Test with
    `error instanceof GatehouseError`; instances come from the package, never from `new`. */
export class GatehouseError extends Error {
  private constructor();
  name: "GatehouseError";
  /** The first record's code. */
  readonly code: string;
  /** Every record, in order. */
  readonly errors: ErrorDetail[];
  /** Rebuilds an error from its records (`error.errors`), e.g. after they crossed a worker
      boundary (`postMessage` keeps neither the class nor `code` and `errors`). Throws
      `error_records_invalid` for anything but a non-empty list of records. */
  static fromErrors(errors: ErrorDetail[]): GatehouseError;
  /** The error for an evaluation stopped after `limitMs` milliseconds (a worker terminated at
      its deadline): code `limit_exceeded`, the core's message for a policy stopped at its limit. */
  static timeLimitExceeded(limitMs: number): GatehouseError;
}

/** A policy's catalogue entry (`engine.catalog()`). */
export interface PolicyMeta {
  title: string;
  severity: Severity;
  enforcement: Enforcement;
  /** Enforcement per environment, overriding the default. */
  enforcement_by_environment?: Record<string, Enforcement>;
  remediation: string;
  /** Role whose approval overrides a soft-mandatory violation. */
  override_role?: string;
  description?: string;
  /** `admission` when absent. */
  stage?: "admission" | "gates";
}

/* wasm-bindgen declares `[Symbol.dispose]()` on every class. `Symbol.dispose` is in TypeScript's
   `esnext.disposable` lib, not in `es2022`: declared here too (as @types/node does), so the types
   compile under `lib: ["es2022", "dom"]` with skipLibCheck off. */
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
  }
}

/** One way an intent fails the intent schema. */
export interface SchemaError {
  /** Field path; empty for the whole intent. */
  path: string;
  message: string;
  /** The schema keyword that failed (`required`, `enum`, `pattern`, ...). */
  keyword: string;
  /** What the field should hold, where the schema says. */
  expected?: string;
}

/** An approval passed in the context. Approvals written inside an intent are refused by the
    schema; the requester's own approval never lifts anything. A decision lists the approvals it
    took into account as `ApprovalRecord`s (`source` always present). */
export interface Approval {
  by: string;
  role: string;
  /** RFC 3339. */
  at?: string;
  comment?: string;
  /** `caller` when absent, and only `caller`: the control plane and the pull request review
      reader record the other sources themselves, so a context claiming them is refused. */
  source?: "caller";
  /** Where to see it: a review URL, a ledger event. */
  reference?: string;
}

export interface Resource {
  type: string;
  name: string;
  size?: string;
  count?: number;
  encrypted?: boolean;
  public?: boolean;
  config?: Record<string, unknown>;
}

export type Target =
  | { cloud: "aws"; account: string; region: string }
  | { cloud: "azure"; subscription: string; location: string };

/** A DeploymentIntent (`core/schema/intent.schema.json`). */
export interface DeploymentIntent {
  apiVersion: "gatehouse.dev/v1";
  kind: "DeploymentIntent";
  metadata: {
    name: string;
    requested_by: string;
    change_ticket?: string;
    description?: string;
    labels?: Record<string, string>;
  };
  spec: {
    service: string;
    version: string;
    artifact: string;
    environment: "dev" | "staging" | "prod";
    target: Target;
    resources: Resource[];
    tags: Record<string, string>;
    estimated_monthly_cost: number;
    strategy: "rolling" | "blue-green" | "canary";
  };
}

/** What `evaluate` and `validateIntent` accept: an intent, or a draft of one (a form being
    filled in). Anything that is not a plain object throws `intent_not_object`. */
export type IntentInput = DeploymentIntent | Record<string, unknown>;

export interface HistoryEntry {
  deployment_id: string;
  service: string;
  environment: string;
  artifact: string;
  state: string;
  finished_at?: string;
}

/** The evaluation context. `now` is required: the engine reads no clock (pass
    `new Date().toISOString()` for a preview). */
export interface EvaluationContext {
  /** RFC 3339 decision time. */
  now: string;
  history?: HistoryEntry[];
  evidence?: unknown;
  approvals?: Approval[];
}

/** A bundle as files: path (`bundle.json`, `rules/x.rego`, `data/catalog.json`) to text. */
export interface BundleSource {
  files: Record<string, string>;
}

/** The document `gatehouse bundle` prints. Its digest is checked against its files. */
export interface PackedBundle {
  format: "gatehouse.bundle/v1";
  name: string;
  revision: string;
  digest: string;
  files: Record<string, string>;
  /** The bundle's signature (`bundle.sig.json`, written by `gatehouse bundle sign`), when it is
      signed. Checked only when the engine is given `trustedKeys`. */
  signature?: BundleEnvelope;
}

/** A DSSE envelope over the signed statement of a bundle (its name, revision, digest and every
    file's SHA-256), signed with ed25519. */
export interface BundleEnvelope {
  /** `application/vnd.gatehouse.bundle+json`. */
  payloadType: string;
  /** The statement's JSON, base64. */
  payload: string;
  signatures: { keyid: string; sig: string }[];
}

export type BundleInput = BundleSource | PackedBundle;

/** Options of `new Engine(bundle, options)`. */
export interface EngineOptions {
  /** Trusted ed25519 public keys, as SubjectPublicKeyInfo PEM text (what `openssl pkey -pubout`
      writes; the keys the CLI's `--trusted-key` and Python's `trusted_keys` take). With any key,
      the bundle must be a packed document signed by one of them: an unsigned bundle, an unknown
      key, a bad signature or a file changed, added or removed after signing throws a
      `GatehouseError` with its code (`bundle_unsigned`, `bundle_signature_unknown_key`,
      `bundle_signature_invalid`, `bundle_file_changed`, ...) and gives no engine. Without keys
      (absent or empty) nothing is verified: previews are then against an unverified bundle. */
  trustedKeys?: string[];
}
