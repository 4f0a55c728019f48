/* The decision contract's types, generated from docs/decision.schema.json (the core's
   decision_schema) by json-schema-to-typescript. Do not edit: change the Rust types, refresh the
   schema (gatehouse schema --decision > docs/decision.schema.json), then run
   `node bindings/wasm/scripts/decision-types.mjs`. */

/**
 * Who recorded it (`caller` when not given).
 */
export type ApprovalSource = "caller" | "control_plane" | "github_review";
/**
 * The verdict.
 */
export type Outcome = "allow" | "needs_approval" | "deny";
/**
 * Enforcement level in the intent's environment.
 */
export type Enforcement = "advisory" | "soft-mandatory" | "hard-mandatory";
/**
 * Severity.
 */
export type Severity = "low" | "medium" | "high" | "critical";
/**
 * What this violation does to the decision.
 */
export type ViolationStatus = "blocking" | "pending_approval" | "advisory" | "exempted" | "overridden";

/**
 * A governed decision.
 */
export interface Decision {
  /**
   * The approvals the decision took into account, each with who recorded it (`source`).
   */
  approvals?: ApprovalRecord[];
  bundle: BundleInfo;
  /**
   * Evaluation errors (any error denies).
   */
  errors: ErrorDetail[];
  /**
   * The injected decision time.
   */
  evaluated_at: string;
  /**
   * `sha256:<hex>` of the intent's canonical JSON.
   */
  intent_digest: string;
  outcome: Outcome;
  truncated?: Truncated;
  /**
   * Every violation, sorted by policy, path and message.
   */
  violations: Violation[];
}
/**
 * An approval as a decision lists it: who approved, in which role, and who recorded it.
 */
export interface ApprovalRecord {
  /**
   * When, if known.
   */
  at?: string;
  /**
   * Who approved: an email, or `github:<login>` for an unmapped reviewer (no format characters).
   */
  by: string;
  /**
   * Free text (line breaks and tabs allowed, no other control characters).
   */
  comment?: string;
  /**
   * Where to see it: a review URL, a ledger event.
   */
  reference?: string;
  /**
   * The role they approved in, e.g. `release-approver`, `finops-approver`.
   */
  role: string;
  source: ApprovalSource;
}
/**
 * The bundle that decided.
 */
export interface BundleInfo {
  /**
   * `sha256:<hex>` over the bundle's files (see [`BundleSource::digest`]).
   */
  digest: string;
  /**
   * From the manifest.
   */
  name: string;
  /**
   * From the manifest.
   */
  revision: string;
}
/**
 * The error record of the decision contract: the same JSON from the core, CLI, HTTP, Python and
 * WASM. `code` is stable and machine-readable; `message` is for people.
 */
export interface ErrorDetail {
  /**
   * Stable code, e.g. `rego_parse`, `limit_exceeded`, `intent_syntax`.
   */
  code: string;
  /**
   * How to fix it, where known.
   */
  help?: string;
  /**
   * What went wrong.
   */
  message: string;
  /**
   * The field path involved, where there is one.
   */
  path?: string;
  /**
   * The policy id involved, where there is one.
   */
  policy?: string;
  span?: Span;
}
/**
 * The source position involved, where known.
 */
export interface Span {
  /**
   * Column, from 1.
   */
  column: number;
  /**
   * File path as given in the bundle or by the caller.
   */
  file: string;
  /**
   * Line, from 1.
   */
  line: number;
}
/**
 * How many violations and errors were left out of the lists above (a decision lists at
 * most [`MAX_LISTED`] of each; the outcome counts them all).
 */
export interface Truncated {
  /**
   * Errors not listed.
   */
  errors: number;
  /**
   * Violations not listed.
   */
  violations: number;
}
/**
 * One policy violation, with the catalogue's metadata and what lifted it, if anything.
 */
export interface Violation {
  enforcement: Enforcement;
  /**
   * The facts behind the violation (input value, the bound, the data entry that applied).
   */
  evidence?: unknown;
  /**
   * The exemption that lifts it.
   */
  exempted_by?: string;
  /**
   * An exemption that matches but has expired (so it does not lift the violation).
   */
  expired_exemption?: string;
  /**
   * The org unit a guardrail was inherited from.
   */
  inherited_from?: string;
  /**
   * What is wrong, with the value and the bound it broke.
   */
  message: string;
  /**
   * Who approved the override (one of the decision's `approvals`, which says who recorded
   * it).
   */
  overridden_by?: string;
  /**
   * The role whose approval overrides it (soft-mandatory policies).
   */
  override_role?: string;
  /**
   * Field path in the intent (`spec.resources[1].encrypted`); empty for the whole intent.
   */
  path: string;
  /**
   * Policy id, e.g. `tags.required`.
   */
  policy: string;
  /**
   * How to fix it.
   */
  remediation: string;
  severity: Severity;
  status: ViolationStatus;
  /**
   * Policy title.
   */
  title: string;
}
