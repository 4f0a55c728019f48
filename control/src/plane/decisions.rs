//! Decisions on request: a preview of an intent (`evaluate`, nothing but its log record
//! stored), and reading the decision log back.

use std::sync::Arc;

use gatehouse_core::{Decision, EvaluateRequest};
use gatehouse_store::decision_log::{Cursor, DecisionQuery, DecisionRecord, DecisionSource};

use super::ControlPlane;
use crate::access::{Permission, Principal};
use crate::decision_log::DecisionPage;
use crate::error::ControlError;

/// A decision and its id.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The decision (its JSON is the contract's exact bytes).
    pub decision: Decision,
    /// Its id in the decision log.
    pub decision_id: String,
}

impl ControlPlane {
    /// A decision on the request's intent for `principal`, nothing stored but its log record
    /// (committed before this returns, with the decision log on). Without a context in the
    /// request the server's is used: now, and the service's history.
    pub async fn evaluate(
        &self,
        principal: &Principal,
        request: EvaluateRequest,
    ) -> Result<Evaluation, ControlError> {
        let (intent, context, stage) = request
            .into_parts()
            .map_err(|source| ControlError::InvalidContext { source })?;
        let context = match context {
            Some(context) => context,
            None => self.context(&intent, Vec::new()).await?,
        };
        let intent = Arc::new(intent);
        let judged = self.judge(stage, Arc::clone(&intent), context).await?;
        let record = self.log_record(
            &judged,
            DecisionSource::Evaluate,
            principal.actor(),
            None,
            &intent,
        );
        self.log_alone(record).await?;
        Ok(Evaluation {
            decision: judged.decision,
            decision_id: judged.id,
        })
    }

    /// One logged decision, for an auditor or admin.
    pub async fn decision(
        &self,
        principal: &Principal,
        decision_id: &str,
    ) -> Result<DecisionRecord, ControlError> {
        principal.require(Permission::Audit)?;
        match self.store.decision(decision_id).await? {
            Some(record) => Ok(record),
            None if !self.config.settings.decision_log.enabled => {
                Err(ControlError::DecisionLogDisabled {
                    decision_id: decision_id.to_owned(),
                })
            }
            None => Err(ControlError::DecisionNotFound {
                decision_id: decision_id.to_owned(),
            }),
        }
    }

    /// A page of the decision log between `since` and `until` (oldest first), after `cursor`
    /// (the previous page's `next_cursor`), for an auditor or admin.
    pub async fn decisions(
        &self,
        principal: &Principal,
        since: Option<gatehouse_core::Timestamp>,
        until: Option<gatehouse_core::Timestamp>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<DecisionPage, ControlError> {
        principal.require(Permission::Audit)?;
        let after = cursor
            .map(|text| {
                Cursor::decode(text).ok_or_else(|| ControlError::InvalidCursor {
                    cursor: text.to_owned(),
                })
            })
            .transpose()?;
        let mut items = self
            .store
            .decisions(&DecisionQuery {
                since,
                until,
                after,
                limit: limit.saturating_add(1),
            })
            .await?;
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next_cursor = more
            .then(|| items.last().map(|last| Cursor::of(last).encode()))
            .flatten();
        Ok(DecisionPage { items, next_cursor })
    }
}
