#![doc = include_str!("../README.md")]

pub mod approvers;
pub mod attestation;
pub mod bundle;
#[cfg(feature = "fs")]
pub mod bundle_dir;
pub mod bundle_signing;
pub mod cache;
mod canonical;
pub mod catalog;
pub mod conformance;
pub mod context;
pub mod decision;
pub mod dsse;
mod engine;
pub mod error;
pub mod events;
pub mod exemption;
pub mod explain;
pub mod fanout;
pub mod identity;
pub mod impact;
pub mod intent;
pub mod ledger;
pub mod lifecycle;
pub mod path;
mod rego;
mod rego_scan;
pub mod request;
pub mod schema;
pub mod signing;
pub mod stage;
pub mod timestamp;

pub use approvers::{
    Approvers, ApproversError, GithubTeam, NotCounted, PullRequestEvidence, PullRequestReview,
    ReviewApprovals, ReviewState, ReviewerOutcome, ReviewerVerdict,
};
pub use bundle::{
    BundleError, BundleInfo, BundleSource, Manifest, PACKED_FORMAT, PackedBundle,
    PackedBundleError, compare_revisions,
};
#[cfg(feature = "fs")]
pub use bundle_dir::{DirBundle, DirLoadError, DirOptions, load_dir};
pub use bundle_signing::{sign_bundle, verify_bundle};
pub use cache::{CacheKey, CacheStats, DecisionCache, context_digest};
pub use canonical::to_canonical_json;
pub use catalog::{Catalog, Enforcement, PolicyMeta, Severity};
pub use context::{
    Approval, ApprovalSource, EvaluationContext, HistoryEntry, ReservedSourceError,
    check_caller_approvals,
};
#[cfg(feature = "openapi")]
pub use decision::{DECISION_SCHEMA_ID, decision_schema};
pub use decision::{
    Decision, HeldPolicy, MAX_LISTED, Outcome, Truncated, Violation, ViolationStatus,
};
pub use engine::{Engine, EngineOptions, run_bundle_tests};
pub use error::{ContextError, Diagnostic, ErrorDetail, IntentError, PROBLEM_TYPE_BASE, Span};
pub use events::{ChainError, DeploymentStatus, Event, NewEvent, replay, verify_chain};
#[cfg(feature = "rayon")]
pub use fanout::Rayon;
pub use fanout::{Fanout, ScopedThreads, Sequential};
pub use identity::{identity_key, same_identity};
pub use intent::{intent_digest, parse_intent};
pub use ledger::{
    LedgerEntry, LedgerError, LedgerFault, LedgerHead, LedgerSummary, LedgerVerifier, verify_ledger,
};
pub use lifecycle::{EventType, State, TransitionError, next_state};
pub use rego::{FileCoverage, Limits, TestReport, TestResult};
pub use request::{EvaluateRequest, RequestError, evaluate_json};
pub use schema::{INTENT_SCHEMA, IntentSchema, SchemaError, SchemaReport};
pub use signing::{
    BundleStatement, Envelope, KeyError, SIGNATURE_FILE, SignatureError, SigningKey, TrustedKey,
};
pub use stage::Stage;
pub use timestamp::{Timestamp, TimestampError};

#[cfg(test)]
mod send_sync {
    #[test]
    fn engine_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<crate::Engine>();
        assert_send_sync::<crate::Decision>();
    }
}
