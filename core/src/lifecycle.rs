//! Deployment lifecycle: states, event types and the transition function.
//!
//! ```text
//! REQUESTED --validated--> VALIDATED --dispatched/started--> IN_PROGRESS --succeeded--> SUCCESS
//!     |  \--rejected--> REJECTED        |    \--failed (dispatch)--> FAILED <--failed--/
//!     |  (approval_required / approval_recorded stay in REQUESTED)
//!     \--cancelled--> CANCELLED <--cancelled--/
//! ```
//!
//! `dispatched` (the control plane triggered the pipeline) and `started` (the pipeline says it
//! runs) may arrive in either order; both lead to, and are accepted in, IN_PROGRESS. `failed` from
//! VALIDATED records a dispatch that exhausted its retries.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a deployment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    /// Submitted; waiting for a decision or an approval.
    Requested,
    /// Allowed by policy; waiting for the pipeline.
    Validated,
    /// Denied by policy (terminal).
    Rejected,
    /// The pipeline is running.
    InProgress,
    /// Deployed and past the release gates (terminal).
    Success,
    /// The pipeline or a release gate failed (terminal).
    Failed,
    /// Withdrawn before it ran (terminal).
    Cancelled,
}

impl State {
    /// The contract's spelling, e.g. `IN_PROGRESS`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "REQUESTED",
            Self::Validated => "VALIDATED",
            Self::Rejected => "REJECTED",
            Self::InProgress => "IN_PROGRESS",
            Self::Success => "SUCCESS",
            Self::Failed => "FAILED",
            Self::Cancelled => "CANCELLED",
        }
    }

    /// Terminal states accept no events.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Rejected | Self::Success | Self::Failed | Self::Cancelled
        )
    }

    /// Every state, in the order the front ends list them: the way to SUCCESS, then the other
    /// ends. The Python package (`gatehouse._native.STATES`) and the browser UI (the generated
    /// `/ui/lifecycle.js`) take their lists from here.
    pub const ALL: [Self; 7] = [
        Self::Requested,
        Self::Validated,
        Self::InProgress,
        Self::Success,
        Self::Failed,
        Self::Rejected,
        Self::Cancelled,
    ];
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    /// An intent was submitted (first event of every deployment).
    Requested,
    /// The decision allowed it.
    Validated,
    /// The decision denied it.
    Rejected,
    /// The decision needs an approval.
    ApprovalRequired,
    /// An approver approved; the intent is re-evaluated.
    ApprovalRecorded,
    /// The control plane triggered the pipeline (GitHub dispatch, webhook, GitOps commit).
    Dispatched,
    /// The pipeline started.
    Started,
    /// The pipeline succeeded and the release gates passed.
    Succeeded,
    /// The pipeline or a release gate failed.
    Failed,
    /// Withdrawn.
    Cancelled,
}

impl EventType {
    /// The contract's spelling, e.g. `approval_recorded`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Validated => "validated",
            Self::Rejected => "rejected",
            Self::ApprovalRequired => "approval_required",
            Self::ApprovalRecorded => "approval_recorded",
            Self::Dispatched => "dispatched",
            Self::Started => "started",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Every event type.
    pub const ALL: [Self; 10] = [
        Self::Requested,
        Self::Validated,
        Self::Rejected,
        Self::ApprovalRequired,
        Self::ApprovalRecorded,
        Self::Dispatched,
        Self::Started,
        Self::Succeeded,
        Self::Failed,
        Self::Cancelled,
    ];
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event that the current state does not accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransitionError {
    /// The first event of a deployment must be `requested`.
    #[error("a deployment starts with a `requested` event, not `{event}`")]
    NotStarted {
        /// The event.
        event: EventType,
    },
    /// The event is not allowed from this state.
    #[error("event `{event}` is not allowed in state {from}{}", if from.is_terminal() { " (terminal)" } else { "" })]
    Illegal {
        /// Current state.
        from: State,
        /// The event.
        event: EventType,
    },
    /// The last event has the largest sequence number there is: no event can follow it.
    #[error("event seq {seq} is the last sequence number there is; no event can follow it")]
    SequenceExhausted {
        /// The last event's seq.
        seq: u64,
    },
}

impl TransitionError {
    /// The stable code: `illegal_transition`, or `event_sequence_exhausted`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotStarted { .. } | Self::Illegal { .. } => "illegal_transition",
            Self::SequenceExhausted { .. } => "event_sequence_exhausted",
        }
    }
}

/// The next state after `event`, from `current` (`None` before the first event).
pub fn next_state(current: Option<State>, event: EventType) -> Result<State, TransitionError> {
    use EventType as E;
    use State as S;
    let Some(from) = current else {
        return match event {
            E::Requested => Ok(S::Requested),
            _ => Err(TransitionError::NotStarted { event }),
        };
    };
    match (from, event) {
        (S::Requested, E::Validated) => Ok(S::Validated),
        (S::Requested, E::Rejected) => Ok(S::Rejected),
        (S::Requested, E::ApprovalRequired | E::ApprovalRecorded) => Ok(S::Requested),
        (S::Requested | S::Validated, E::Cancelled) => Ok(S::Cancelled),
        (S::Validated | S::InProgress, E::Dispatched | E::Started) => Ok(S::InProgress),
        (S::InProgress, E::Succeeded) => Ok(S::Success),
        (S::Validated | S::InProgress, E::Failed) => Ok(S::Failed),
        _ => Err(TransitionError::Illegal { from, event }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn happy_path() {
        let mut s = None;
        for e in [
            EventType::Requested,
            EventType::Validated,
            EventType::Started,
            EventType::Succeeded,
        ] {
            s = Some(next_state(s, e).unwrap());
        }
        assert_eq!(s, Some(State::Success));
    }

    #[test]
    fn terminal_states_accept_nothing() {
        for from in [
            State::Rejected,
            State::Success,
            State::Failed,
            State::Cancelled,
        ] {
            for e in EventType::ALL {
                assert!(next_state(Some(from), e).is_err(), "{from} accepted {e}");
            }
        }
    }

    #[test]
    fn all_lists_every_state_once() {
        let mut listed = State::ALL.to_vec();
        listed.sort();
        listed.dedup();
        assert_eq!(listed.len(), 7);
        for state in listed {
            // A state added to the enum but not to `ALL` fails to compile here.
            match state {
                State::Requested
                | State::Validated
                | State::Rejected
                | State::InProgress
                | State::Success
                | State::Failed
                | State::Cancelled => {}
            }
        }
    }

    #[test]
    fn cannot_skip_validation() {
        let err = next_state(Some(State::Requested), EventType::Started).unwrap_err();
        assert_eq!(
            err.to_string(),
            "event `started` is not allowed in state REQUESTED"
        );
    }
}
