//! Why an operation of the control plane refused or failed. Each variant carries the values it
//! names and a stable machine code ([`ControlError::code`]); each message says what happened, to
//! what, and how to go on, in the control plane's terms (ETags, idempotency keys, the decision
//! log), never a transport's. A transport maps codes to its own answers in one place, and words
//! the remedies that are steps of its protocol (`gatehouse-http`: `From<ControlError> for
//! Problem`, with the `If-Match` header, `Retry-After` and endpoint paths).

use gatehouse_core::{ErrorDetail, State};
use gatehouse_store::StoreError;
use gatehouse_store::replicas::ActiveBundle;

use crate::access::{Permission, PermissionDenied, Role};
use crate::error_code::ControlErrorCode;
use crate::evaluation::Overloaded;
use crate::signature::SignatureError;

/// A refused or failed operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// No deployment has this id.
    #[error("no deployment `{deployment_id}`")]
    DeploymentNotFound {
        /// The id asked for.
        deployment_id: String,
    },
    /// No logged decision has this id.
    #[error(
        "no decision `{decision_id}` in the decision log: it was not logged (the log was off, or the id is wrong) or it is older than `decision_log.retention_hours`"
    )]
    DecisionNotFound {
        /// The id asked for.
        decision_id: String,
    },
    /// The decision log is off and holds nothing to read.
    #[error(
        "the decision log is off on this server (`[decision_log] enabled = false`) and holds no record of `{decision_id}`; enable it to record decisions"
    )]
    DecisionLogDisabled {
        /// The id asked for.
        decision_id: String,
    },
    /// A paging cursor that this server did not hand out.
    #[error(
        "`cursor` {cursor:?} is not a cursor of the decision log; pass the `next_cursor` of the previous page"
    )]
    InvalidCursor {
        /// The cursor given.
        cursor: String,
    },
    /// The ETag a change names is not the deployment's current one.
    #[error(
        "the ETag given does not match deployment `{deployment_id}`: its current ETag is \"{current}\"; read it again, check its state, and retry"
    )]
    StaleEtag {
        /// The deployment.
        deployment_id: String,
        /// Its current ETag.
        current: String,
    },
    /// The deployment changed between the caller's check and the write (a concurrent change).
    #[error(
        "deployment `{deployment_id}` changed since you read it; its current ETag is \"{current}\": read it again and retry with that ETag"
    )]
    ChangedMeanwhile {
        /// The deployment.
        deployment_id: String,
        /// Its current ETag.
        current: String,
    },
    /// The change named `*` or a weak ETag instead of the deployment's ETag.
    #[error(
        "a change of deployment `{deployment_id}` must name its strong ETag (its current one is \"{current}\"); `*` and weak ETags (`W/...`) are not accepted"
    )]
    StrongEtagRequired {
        /// The deployment.
        deployment_id: String,
        /// Its current ETag.
        current: String,
    },
    /// An approval of a deployment that is not REQUESTED.
    #[error("deployment `{deployment_id}` is {state}; only REQUESTED deployments take approvals")]
    NotAwaitingApproval {
        /// The deployment.
        deployment_id: String,
        /// Its state.
        state: State,
    },
    /// The caller's role does not grant the operation.
    #[error("{}", PermissionDenied { role: *role, permission: *permission })]
    PermissionDenied {
        /// The caller's role (`None`: anonymous).
        role: Option<Role>,
        /// What it tried.
        permission: Permission,
    },
    /// An approval in a role the approver does not hold.
    #[error("`{principal}` may not approve as `{role}`; their approval roles are: {}", if held.is_empty() { "none".to_owned() } else { held.join(", ") })]
    RoleNotHeld {
        /// The approver.
        principal: String,
        /// The role asked for.
        role: String,
        /// The roles the approver holds.
        held: Vec<String>,
    },
    /// A requester's cancel of someone else's deployment.
    #[error(
        "`{principal}` may cancel only their own deployments; `{deployment_id}` was submitted by `{submitted_by}` for `{requested_by}`: ask them, an approver or an admin"
    )]
    NotOwner {
        /// The requester.
        principal: String,
        /// The deployment.
        deployment_id: String,
        /// Who submitted it.
        submitted_by: String,
        /// Who it was requested for.
        requested_by: String,
    },
    /// The requester or submitter of a deployment tried to approve it.
    #[error(
        "four-eyes: `{principal}` requested or submitted deployment `{deployment_id}` and cannot approve it"
    )]
    SelfApproval {
        /// The approver.
        principal: String,
        /// The deployment.
        deployment_id: String,
    },
    /// The approver already approved in this role.
    #[error("`{principal}` already approved `{deployment_id}` as `{role}`")]
    AlreadyApproved {
        /// The approver.
        principal: String,
        /// The deployment.
        deployment_id: String,
        /// The role.
        role: String,
    },
    /// A cancel while the deployment's pipeline trigger is being delivered: once delivered the
    /// pipeline runs, so the cancel waits for the delivery's outcome.
    #[error(
        "deployment `{deployment_id}` cannot be cancelled now: its pipeline trigger is being delivered (the dispatcher holds it until {lease_until}); once delivered the deployment is IN_PROGRESS and its pipeline reports the outcome, and if the delivery fails it can be cancelled: read it again in a moment and retry"
    )]
    DispatchInFlight {
        /// The deployment.
        deployment_id: String,
        /// When the dispatcher's hold on the delivery ends at the latest.
        lease_until: gatehouse_core::Timestamp,
    },
    /// The deployment's state does not allow the operation.
    #[error("deployment `{deployment_id}` is {state} and cannot take {attempted}; {help}")]
    IllegalTransition {
        /// The deployment.
        deployment_id: String,
        /// Its state.
        state: State,
        /// What was tried, e.g. `a cancel`.
        attempted: String,
        /// What the state allows instead.
        help: &'static str,
    },
    /// The intent does not match the DeploymentIntent schema; nothing was stored.
    #[error(
        "the intent does not match the DeploymentIntent schema ({} error{}); nothing was stored. Evaluating it without submitting shows the same errors as a decision",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    )]
    InvalidIntent {
        /// Each schema error, with its path.
        errors: Vec<ErrorDetail>,
        /// The id of the decision that found them.
        decision_id: String,
    },
    /// The evaluation context is malformed.
    #[error("`context`: {source}")]
    InvalidContext {
        /// What is wrong.
        #[source]
        source: gatehouse_core::ContextError,
    },
    /// Free text that would be stored and shown has a control or format character.
    #[error(
        "{fields} may not contain control or invisible formatting characters (line breaks, escape sequences, bidirectional or zero-width marks); write it on one line as plain text"
    )]
    ControlCharacter {
        /// The fields, e.g. "`reason`".
        fields: &'static str,
    },
    /// A pipeline's `run_url` that is not an absolute http(s) URL.
    #[error(
        "`run_url` `{run_url}` is not an absolute http:// or https:// URL with a host; report the link to the pipeline run (other schemes, such as `javascript:`, are refused)"
    )]
    InvalidRunUrl {
        /// The URL given (control characters escaped, cut at 200 characters).
        run_url: String,
    },
    /// A pipeline report sets an evidence field only the control plane writes.
    #[error(
        "`evidence.{field}` is written by the control plane only (its verdict on the attestation the pipeline presents in `evidence.observed.attestation`); leave it out of the report"
    )]
    ReservedEvidence {
        /// The field.
        field: &'static str,
    },
    /// No attestation is issued: `[attestations] signing_key` is not configured, and none was
    /// stored before.
    #[error(
        "{subject} has no attestation: this server issues none (`[attestations] signing_key` is not configured)"
    )]
    AttestationNotConfigured {
        /// The deployment or decision asked about.
        subject: String,
    },
    /// No attestation is stored for this decision or deployment.
    #[error("{subject} has no attestation: {reason}")]
    AttestationUnavailable {
        /// The deployment or decision asked about.
        subject: String,
        /// Why (e.g. the artifact is not pinned by digest).
        reason: String,
    },
    /// An idempotency key was used before with another body.
    #[error(
        "idempotency key `{key}` was already used with a different body; use a new key for a new intent"
    )]
    IdempotencyKeyReused {
        /// The key.
        key: String,
    },
    /// A callback delivery id was used before on this deployment with another body.
    #[error(
        "delivery `{delivery_id}` was already received for `{deployment_id}` with another body; use a new delivery id for a new report"
    )]
    DeliveryReused {
        /// The deployment.
        deployment_id: String,
        /// The delivery id.
        delivery_id: String,
    },
    /// A callback's signature, delivery id or timestamp is refused.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The server has no pipeline secret, so no callback can be verified.
    #[error(
        "callbacks are disabled: the server has no pipeline secret (`pipeline.secret` or GATEHOUSE_PIPELINE_SECRET)"
    )]
    CallbacksDisabled,
    /// Every evaluation slot stayed busy.
    #[error(transparent)]
    Overloaded(#[from] Overloaded),
    /// The operation ran past its deadline and was rolled back.
    #[error(
        "the operation ran past the server's limit (`limits.request_timeout_ms`) and was rolled back: nothing was stored. Retry it; a submission retried with the same idempotency key is stored at most once"
    )]
    DeadlineExceeded,
    /// A report lost every compare-and-swap against concurrent changes of its deployment.
    #[error(
        "deployment `{deployment_id}` kept changing while this report was recorded; nothing was stored: send it again with the same delivery id"
    )]
    Busy {
        /// The deployment.
        deployment_id: String,
    },
    /// The bundle on disk does not load; the running one is kept.
    #[error("{source}; the running bundle is kept")]
    InvalidBundle {
        /// Why it does not load.
        #[source]
        source: gatehouse_core::DirLoadError,
    },
    /// This server judges with another bundle than the active one (a rollout in progress, or a
    /// server left on older rules): it judges nothing and takes no writes.
    #[error(
        "this server ({replica_id}) judges with bundle {digest} (revision `{revision}`) but the active bundle is {} (revision `{}`, loaded by {} at {}), so it judges nothing and takes no writes: load the active bundle here (reload it after updating its directory) or send the request to a server that runs it; the active bundle changes only to a higher revision, so to roll back publish the older rules under a higher revision",
        active.digest, active.revision, active.activated_by, active.activated_at
    )]
    BundleMismatch {
        /// This server.
        replica_id: String,
        /// The digest of its bundle.
        digest: String,
        /// Its bundle's revision.
        revision: String,
        /// The active bundle.
        active: Box<ActiveBundle>,
    },
    /// The database cannot be reached or is busy; nothing was changed.
    #[error(
        "the database is unavailable, so nothing was changed; retry in a moment (the server log has the cause)"
    )]
    StoreUnavailable {
        /// The store's error (logged, not shown to callers).
        #[source]
        source: StoreError,
    },
    /// The store failed.
    #[error("the store failed: {source}")]
    Store {
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// A bug: a value the control plane built itself was refused.
    #[error("internal error while trying to {what}: {detail}")]
    Internal {
        /// What was being done.
        what: &'static str,
        /// What went wrong.
        detail: String,
    },
}

impl From<StoreError> for ControlError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { deployment_id } => Self::DeploymentNotFound { deployment_id },
            StoreError::Conflict {
                deployment_id,
                current,
            } => Self::ChangedMeanwhile {
                deployment_id,
                current,
            },
            StoreError::DeadlineExceeded => Self::DeadlineExceeded,
            StoreError::DispatchInFlight {
                deployment_id,
                lease_until,
            } => Self::DispatchInFlight {
                deployment_id,
                lease_until,
            },
            e if e.is_unavailable() => Self::StoreUnavailable { source: e },
            source => Self::Store { source },
        }
    }
}

impl From<PermissionDenied> for ControlError {
    fn from(PermissionDenied { role, permission }: PermissionDenied) -> Self {
        Self::PermissionDenied { role, permission }
    }
}

impl ControlError {
    /// The stable machine code of this refusal or failure, the same for every transport.
    pub fn code(&self) -> ControlErrorCode {
        use ControlErrorCode as Code;
        match self {
            Self::DeploymentNotFound { .. } => Code::NotFound,
            Self::DecisionNotFound { .. } => Code::DecisionNotFound,
            Self::DecisionLogDisabled { .. } => Code::DecisionLogDisabled,
            Self::InvalidCursor { .. } => Code::InvalidQuery,
            Self::StaleEtag { .. } | Self::ChangedMeanwhile { .. } => Code::StaleEtag,
            Self::StrongEtagRequired { .. } => Code::StrongEtagRequired,
            Self::NotAwaitingApproval { .. } => Code::NotAwaitingApproval,
            Self::PermissionDenied { .. }
            | Self::RoleNotHeld { .. }
            | Self::NotOwner { .. }
            | Self::SelfApproval { .. } => Code::Forbidden,
            Self::AlreadyApproved { .. } => Code::AlreadyApproved,
            Self::DispatchInFlight { .. } => Code::DispatchInFlight,
            Self::IllegalTransition { .. } => Code::IllegalTransition,
            Self::InvalidIntent { .. } => Code::InvalidIntent,
            Self::InvalidContext { .. } => Code::InvalidContext,
            Self::ControlCharacter { .. } => Code::ControlCharacter,
            Self::InvalidRunUrl { .. } => Code::InvalidRunUrl,
            Self::ReservedEvidence { .. } => Code::ReservedEvidence,
            Self::AttestationNotConfigured { .. } => Code::AttestationNotConfigured,
            Self::AttestationUnavailable { .. } => Code::AttestationUnavailable,
            Self::IdempotencyKeyReused { .. } => Code::IdempotencyKeyReused,
            Self::DeliveryReused { .. } => Code::DeliveryReused,
            Self::Signature(e) => e.code(),
            Self::CallbacksDisabled => Code::Unauthorized,
            Self::Overloaded(_) => Code::Overloaded,
            Self::DeadlineExceeded => Code::Timeout,
            Self::Busy { .. } => Code::Busy,
            Self::InvalidBundle { .. } => Code::InvalidBundle,
            Self::BundleMismatch { .. } => Code::BundleMismatch,
            Self::StoreUnavailable { .. } => Code::DatabaseUnavailable,
            Self::Store { .. } | Self::Internal { .. } => Code::Internal,
        }
    }

    pub(crate) fn internal(what: &'static str, detail: impl std::fmt::Display) -> Self {
        Self::Internal {
            what,
            detail: detail.to_string(),
        }
    }
}
