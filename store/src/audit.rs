//! Verification of the whole ledger and the deployment projection, shared by every store: each
//! store streams its events in position order and its deployment rows, from one snapshot, into
//! an [`Audit`], which stops at the first broken link.

use gatehouse_core::{LedgerEntry, LedgerHead, LedgerSummary, LedgerVerifier};
use serde::Serialize;

/// Result of verifying the whole ledger and the projection.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditReport {
    /// True when every link holds and every deployment row matches its events.
    pub ok: bool,
    /// Events checked.
    pub events: u64,
    /// Deployments found in the ledger.
    pub deployments: u64,
    /// Head position recorded.
    pub head_position: u64,
    /// Head link recorded.
    pub head_link: String,
    /// The first broken link, if any.
    pub first_broken: Option<BrokenLink>,
}

/// Where the ledger breaks.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BrokenLink {
    /// Ledger position (0 for a projection mismatch).
    pub position: u64,
    /// The deployment concerned.
    pub deployment_id: Option<String>,
    /// Stable code, e.g. `ledger_link`, `chain_hash`, `projection_mismatch`.
    pub code: String,
    /// What is wrong.
    pub message: String,
}

/// A verification in progress. Feed it the events in position order ([`Audit::entry`] or
/// [`Audit::unreadable`]), then [`Audit::end_of_ledger`], then every deployment row
/// ([`Audit::row`]), then [`Audit::finish`]. Each step returns false once a break is found;
/// the caller stops feeding.
pub struct Audit {
    report: AuditReport,
    recorded: LedgerHead,
    verifier: Option<LedgerVerifier>,
    summary: Option<LedgerSummary>,
    rows: usize,
}

impl Audit {
    /// Starts verifying against the recorded head.
    pub fn new(recorded: LedgerHead) -> Self {
        Self {
            report: AuditReport {
                ok: false,
                events: 0,
                deployments: 0,
                head_position: recorded.position,
                head_link: recorded.link.clone(),
                first_broken: None,
            },
            recorded,
            verifier: Some(LedgerVerifier::new()),
            summary: None,
            rows: 0,
        }
    }

    fn broken(
        &mut self,
        position: u64,
        deployment_id: Option<String>,
        code: &str,
        message: String,
    ) -> bool {
        self.report.first_broken = Some(BrokenLink {
            position,
            deployment_id,
            code: code.to_owned(),
            message,
        });
        false
    }

    /// The next event.
    pub fn entry(&mut self, entry: &LedgerEntry) -> bool {
        let Some(verifier) = self.verifier.as_mut() else {
            return false;
        };
        match verifier.push(entry) {
            Ok(()) => {
                self.report.events += 1;
                true
            }
            Err(e) => {
                let code = e.code();
                self.broken(e.position, e.deployment_id.clone(), code, e.to_string())
            }
        }
    }

    /// An event row that cannot be read back.
    pub fn unreadable(
        &mut self,
        position: u64,
        deployment_id: Option<String>,
        message: String,
    ) -> bool {
        self.broken(position, deployment_id, "unreadable_event", message)
    }

    /// No more events: the last one must be the recorded head.
    pub fn end_of_ledger(&mut self) -> bool {
        let Some(verifier) = self.verifier.take() else {
            return false;
        };
        match verifier.finish(Some(&self.recorded)) {
            Ok(summary) => {
                self.report.deployments = summary.deployments.len() as u64;
                self.summary = Some(summary);
                true
            }
            Err(e) => {
                let code = e.code();
                self.broken(e.position, None, code, e.to_string())
            }
        }
    }

    /// The next deployment row: it must agree with its events (same state, same last hash).
    pub fn row(&mut self, id: &str, state: &str, last_hash: &str) -> bool {
        let Some(summary) = &self.summary else {
            return false;
        };
        self.rows += 1;
        let mismatch = match summary.deployments.get(id) {
            None => Some("has a row but no events in the ledger".to_owned()),
            Some(s) if s.state.as_str() != state => {
                Some(format!("row says {state}, its events say {}", s.state))
            }
            Some(s) if s.last_hash != last_hash => {
                Some("row's last hash is not its last event's".to_owned())
            }
            Some(_) => None,
        };
        match mismatch {
            Some(message) => self.broken(
                0,
                Some(id.to_owned()),
                "projection_mismatch",
                format!("deployment `{id}`: {message}"),
            ),
            None => true,
        }
    }

    /// The report: ok when no break was found and every deployment of the ledger has a row.
    pub fn finish(mut self) -> AuditReport {
        if self.report.first_broken.is_some() {
            return self.report;
        }
        let Some(summary) = &self.summary else {
            return self.report;
        };
        let in_ledger = summary.deployments.len();
        if self.rows != in_ledger {
            let rows = self.rows;
            self.broken(
                0,
                None,
                "projection_mismatch",
                format!(
                    "the ledger holds {in_ledger} deployments but the table has {rows} rows (a row was deleted)"
                ),
            );
            return self.report;
        }
        self.report.ok = true;
        self.report
    }
}
