/* Gatehouse types: the decision contract, the intent, the context and the bundle forms. Written
   once here (bindings/wasm/src/types.d.ts) and emitted into the package's .d.ts by wasm-bindgen;
   tests/usage.ts type-checks them with `tsc --noEmit`. */

/** A position in a bundle file (1-based). */
export interface Span {
  file: string;
  line: number;
  column: number;
}

/** The one error record of the decision contract (also `GatehouseError.errors`). */
export interface ErrorDetail {
  /** Stable, machine-readable code, e.g. `rego_parse`, `context_invalid`. */
  code: string;
  /** What went wrong, for people. */
  message: string;
  /** How to fix it, where known. */
  help?: string;
  /** The policy involved, where there is one. */
  policy?: string;
  /** The field path involved, where there is one. */
  path?: string;
  /** The source position involved, where known. */
  span?: Span;
}

/** What every function of this package throws: a JS `Error` with a code and the records. */
export interface GatehouseError extends Error {
  name: "GatehouseError";
  /** The first record's code. */
  code: string;
  /** Every record, in order. */
  errors: ErrorDetail[];
}

export type Outcome = "allow" | "needs_approval" | "deny";
export type Severity = "low" | "medium" | "high" | "critical";
export type Enforcement = "advisory" | "soft-mandatory" | "hard-mandatory";
export type ViolationStatus =
  | "blocking"
  | "pending_approval"
  | "advisory"
  | "exempted"
  | "overridden";

/** One policy violation. */
export interface Violation {
  policy: string;
  title: string;
  severity: Severity;
  enforcement: Enforcement;
  status: ViolationStatus;
  message: string;
  /** Field path such as `spec.resources[1].encrypted`; empty for the whole intent. */
  path: string;
  remediation: string;
  override_role?: string;
  exempted_by?: string;
  expired_exemption?: string;
  overridden_by?: string;
  inherited_from?: string;
  evidence?: unknown;
}

/** Name, revision and digest of the bundle that decided. */
export interface BundleInfo {
  name: string;
  revision: string;
  /** `sha256:<hex>`. */
  digest: string;
}

/** What a decision left out of its lists (it lists at most 100 violations and 100 errors; the
    outcome counts them all). */
export interface Truncated {
  violations: number;
  errors: number;
}

/** A governed decision: the same JSON the CLI and the server return. */
export interface Decision {
  outcome: Outcome;
  violations: Violation[];
  errors: ErrorDetail[];
  /** Present only when the lists above left something out. */
  truncated?: Truncated;
  /** The approvals the decision took into account, with who recorded them; absent when none. */
  approvals?: ApprovalRecord[];
  bundle: BundleInfo;
  intent_digest: string;
  /** The `now` of the context, as given. */
  evaluated_at: string;
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

/** Who recorded an approval: the evaluating caller (the default), the control plane's approvals
    endpoint, or a pull request review read from the GitHub API. */
export type ApprovalSource = "caller" | "control_plane" | "github_review";

/** An approval passed in the context. Approvals written inside an intent are refused by the
    schema; the requester's own approval never lifts anything. */
export interface Approval {
  by: string;
  role: string;
  /** RFC 3339. */
  at?: string;
  comment?: string;
  /** `caller` when absent. */
  source?: ApprovalSource;
  /** Where to see it: a review URL, a ledger event. */
  reference?: string;
}

/** An approval as a decision records it: `source` always present. */
export interface ApprovalRecord extends Approval {
  source: ApprovalSource;
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
}

export type BundleInput = BundleSource | PackedBundle;
