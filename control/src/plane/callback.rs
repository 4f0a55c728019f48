//! Pipeline reports: verified against the pipeline secret for one deployment and one delivery
//! id, recorded once per delivery id (a redelivery replays the first answer), `succeeded` judged
//! by the release gates first. What a report carries to be stored and shown is checked first: a
//! `run_url` is an absolute http(s) URL (never `javascript:` or `data:`, which a UI would turn
//! into a live link) and a `reason` is one line (no terminal escapes, no forged log lines).

use std::time::Instant;

use gatehouse_core::{Decision, EventType, NewEvent, Stage, State};
use gatehouse_store::decision_log::DecisionSource;
use gatehouse_store::deployment::DeploymentRecord;
use gatehouse_store::{Append, StoreError, StoredResponse};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{CAS_RETRIES, ControlPlane, event_value};
use crate::attestations::{PROBLEM_FIELD, RESERVED_FIELDS, VERIFIED_FIELD};
use crate::clock::unix_seconds;
use crate::error::ControlError;
use crate::executor::escape_remote;
use crate::requests::{Callback, CallbackStatus};
use crate::rules::{check_report, has_control, report_refused};
use crate::signature::{SignedHeaders, verify};

/// A report whose signature holds for its deployment, delivery id, timestamp and body; only
/// [`ControlPlane::verify_callback`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDelivery {
    deployment_id: String,
    delivery_id: String,
    body_sha256: String,
}

impl VerifiedDelivery {
    /// The deployment it reports on.
    pub fn deployment_id(&self) -> &str {
        &self.deployment_id
    }

    /// Its delivery id.
    pub fn delivery_id(&self) -> &str {
        &self.delivery_id
    }
}

/// The answer to a report: a [`CallbackReply`] written once as JSON when the report is recorded,
/// and those bytes again for every redelivery.
#[derive(Debug)]
pub struct CallbackAnswer {
    /// The JSON answer, as stored.
    pub body: Box<RawValue>,
    /// True when this is the stored answer of an earlier delivery.
    pub replayed: bool,
}

/// What a recorded report answers: the deployment's new state, the event recorded, and for
/// `succeeded` the gate decision and its id (`null` otherwise).
#[derive(Debug, Serialize)]
pub struct CallbackReply<'a> {
    /// The deployment.
    pub deployment_id: &'a str,
    /// Its state after the report.
    pub state: State,
    /// The event the report recorded.
    pub event: RecordedEvent<'a>,
    /// The release gates' decision (`succeeded` only).
    pub gates: Option<&'a Decision>,
    /// That decision's id.
    pub decision_id: Option<&'a str>,
}

/// The event a report recorded.
#[derive(Debug, Serialize)]
pub struct RecordedEvent<'a> {
    /// Its sequence number.
    pub seq: u64,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// Its hash: the deployment's new ETag.
    pub hash: &'a str,
}

/// The answer stored for an earlier delivery, replayed as it was; stored text that is not JSON is
/// an internal error.
fn replayed_answer(stored: String) -> Result<CallbackAnswer, ControlError> {
    let body = RawValue::from_string(stored)
        .map_err(|e| ControlError::internal("read the stored answer of a callback delivery", e))?;
    Ok(CallbackAnswer {
        body,
        replayed: true,
    })
}

impl ControlPlane {
    /// Checks a report's signature for `deployment_id` at the server's time: the delivery id's
    /// form, the timestamp window, the HMAC over the raw `body`.
    pub fn verify_callback(
        &self,
        deployment_id: &str,
        headers: SignedHeaders<'_>,
        body: &[u8],
    ) -> Result<VerifiedDelivery, ControlError> {
        let pipeline = &self.config.settings.pipeline;
        let secret = pipeline
            .secret
            .as_deref()
            .ok_or(ControlError::CallbacksDisabled)?;
        let delivery = verify(
            secret.as_bytes(),
            headers,
            deployment_id,
            body,
            unix_seconds(self.now()),
            pipeline.timestamp_tolerance_s,
        )?;
        Ok(VerifiedDelivery {
            deployment_id: deployment_id.to_owned(),
            delivery_id: delivery.to_owned(),
            body_sha256: hex::encode(Sha256::digest(body)),
        })
    }

    /// Records a verified report; `succeeded` passes the release gates first. A report that
    /// loses a race with another one for the same deployment is judged again on the new state
    /// (pipelines send no `If-Match`); a redelivery racing its first delivery gets the answer
    /// the first one stored.
    pub async fn callback(
        &self,
        delivery: &VerifiedDelivery,
        report: Callback,
        deadline: Option<Instant>,
    ) -> Result<CallbackAnswer, ControlError> {
        let id = delivery.deployment_id.as_str();
        check_report_text(&report)?;
        self.in_step().await?;
        let replay = |seen: StoredResponse| {
            if seen.body_sha256 == delivery.body_sha256 {
                replayed_answer(seen.body)
            } else {
                Err(ControlError::DeliveryReused {
                    deployment_id: id.to_owned(),
                    delivery_id: delivery.delivery_id.clone(),
                })
            }
        };
        for _ in 0..CAS_RETRIES {
            if let Some(seen) = self.store.delivery(id, &delivery.delivery_id).await? {
                return replay(seen);
            }
            let record = self.current(id).await?;
            let (append, body) = self.callback_append(&record, delivery, &report).await?;
            match self.store.append(Append { deadline, ..append }).await {
                Ok(_) => {
                    self.observer.callback(report.status);
                    return Ok(CallbackAnswer {
                        body,
                        replayed: false,
                    });
                }
                Err(StoreError::DeliveryExists { stored, .. }) => return replay(stored),
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ControlError::Busy {
            deployment_id: id.to_owned(),
        })
    }

    /// The append a report makes on `record`, and the answer it stores.
    async fn callback_append(
        &self,
        record: &DeploymentRecord,
        delivery: &VerifiedDelivery,
        report: &Callback,
    ) -> Result<(Append, Box<RawValue>), ControlError> {
        check_report(record, report.status)?;
        let id = record.head.id.as_str();
        let now = self.now();
        let mut data = serde_json::Map::new();
        data.insert(
            "run_url".into(),
            report.run_url.clone().map_or(Value::Null, Value::String),
        );
        data.insert(
            "evidence".into(),
            report.evidence.clone().unwrap_or(Value::Null),
        );
        data.insert(
            "delivery_id".into(),
            Value::String(delivery.delivery_id.clone()),
        );
        let mut attestation = None;
        let (kind, gates, decision_log) = match report.status {
            CallbackStatus::Started => (EventType::Started, None, None),
            CallbackStatus::Failed => {
                let reason = report
                    .reason
                    .clone()
                    .unwrap_or_else(|| "the pipeline reported failure".into());
                data.insert("reason".into(), Value::String(reason));
                (EventType::Failed, None, None)
            }
            CallbackStatus::Succeeded => {
                let mut context = self
                    .context(&record.intent, self.approvals(id).await?)
                    .await?;
                context.evidence = self.gate_evidence(record, report.evidence.as_ref());
                let judged = self
                    .judge(
                        Stage::Gates,
                        std::sync::Arc::new(record.intent.clone()),
                        context,
                    )
                    .await?;
                let log = self.log_record(
                    &judged,
                    DecisionSource::Callback,
                    "pipeline",
                    Some(id),
                    &record.intent,
                );
                attestation = self.attest(&judged, record);
                if judged.decision.allowed() {
                    (EventType::Succeeded, Some(judged), log)
                } else {
                    data.insert(
                        "reason".into(),
                        Value::String(gate_failure(&judged.decision)),
                    );
                    (EventType::Failed, Some(judged), log)
                }
            }
        };
        if let Some(gates) = &gates {
            data.insert(
                "gates".into(),
                event_value("write the gate decision", &gates.decision)?,
            );
            data.insert("decision_id".into(), Value::String(gates.id.clone()));
        }
        data.insert("reported".into(), Value::from(report.status.as_str()));
        let (status, event) = record
            .status()
            .append(NewEvent {
                kind,
                at: now,
                actor: "pipeline".into(),
                data: Value::Object(data),
            })
            .map_err(|_| report_refused(record, report.status))?;
        let reply = CallbackReply {
            deployment_id: id,
            state: status.state,
            event: RecordedEvent {
                seq: event.seq,
                kind: event.kind,
                hash: &event.hash,
            },
            gates: gates.as_ref().map(|g| &g.decision),
            decision_id: gates.as_ref().map(|g| g.id.as_str()),
        };
        let body = serde_json::value::to_raw_value(&reply)
            .map_err(|e| ControlError::internal("write the answer to a callback", e))?;
        let append = Append {
            delivery: Some((
                delivery.delivery_id.clone(),
                StoredResponse {
                    body_sha256: delivery.body_sha256.clone(),
                    body: body.get().to_owned(),
                },
            )),
            decision_log,
            attestation,
            ..Append::events(id, record.last_hash.clone(), vec![event])
        };
        Ok((append, body))
    }
}

impl ControlPlane {
    /// The evidence the release gates judge a reported success on: the pipeline's, and with
    /// `[attestations] require_for_truth` the control plane's verdict on the attestation the
    /// pipeline presented for the artifact it deployed (`evidence.observed.attestation`):
    /// `attestation_verified` (and `attestation_problem` when it failed). Those fields are the
    /// control plane's alone: a report that sets them was refused before this.
    fn gate_evidence(&self, record: &DeploymentRecord, evidence: Option<&Value>) -> Option<Value> {
        let config = self
            .config
            .attestations
            .as_ref()
            .filter(|c| c.require_for_truth);
        let Some(config) = config else {
            return evidence.cloned();
        };
        let observed = evidence.and_then(|e| e.get("observed"));
        let verdict = config.verify_presented(
            observed.and_then(|o| o.get("attestation")),
            observed
                .and_then(|o| o.get("artifact"))
                .and_then(Value::as_str),
            &record.head.environment,
        );
        let mut evidence = match evidence {
            Some(Value::Object(map)) => map.clone(),
            _ => serde_json::Map::new(),
        };
        evidence.insert(VERIFIED_FIELD.into(), json!(verdict.is_ok()));
        if let Err(problem) = verdict {
            evidence.insert(PROBLEM_FIELD.into(), json!(problem));
        }
        Some(Value::Object(evidence))
    }
}

/// The longest `run_url` kept.
const MAX_RUN_URL: usize = 2048;

/// Refuses a report whose text would be stored and shown unsafely: a `run_url` that is not an
/// absolute `http` or `https` URL with a host, a `reason` with control characters.
fn check_report_text(report: &Callback) -> Result<(), ControlError> {
    if let Some(field) = report
        .evidence
        .as_ref()
        .and_then(Value::as_object)
        .and_then(|evidence| {
            RESERVED_FIELDS
                .into_iter()
                .find(|f| evidence.contains_key(*f))
        })
    {
        return Err(ControlError::ReservedEvidence { field });
    }
    if report.reason.as_deref().is_some_and(has_control) {
        return Err(ControlError::ControlCharacter { fields: "`reason`" });
    }
    if let Some(run_url) = &report.run_url
        && !web_url(run_url)
    {
        return Err(ControlError::InvalidRunUrl {
            run_url: escape_remote(run_url, 200),
        });
    }
    Ok(())
}

/// Whether `text` is an absolute `http` or `https` URL with a host, on one line, at most
/// [`MAX_RUN_URL`] bytes.
fn web_url(text: &str) -> bool {
    text.len() <= MAX_RUN_URL
        && !has_control(text)
        && !text.contains(char::is_whitespace)
        && url::Url::parse(text).is_ok_and(|url| {
            matches!(url.scheme(), "http" | "https")
                && url.host_str().is_some_and(|host| !host.is_empty())
        })
}

/// The reason recorded when the release gates block a reported success.
fn gate_failure(gates: &Decision) -> String {
    format!(
        "release gates blocked: {}",
        gates
            .violations
            .iter()
            .filter(|v| v.blocks())
            .map(|v| v.policy.as_str())
            .chain(gates.errors.iter().map(|e| e.code.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::web_url;

    #[test]
    fn only_absolute_web_urls_are_run_urls() {
        for ok in [
            "https://ci.example.com/run/1",
            "http://ci.example.com:8080/run/1?attempt=2#log",
            "HTTPS://CI.EXAMPLE.COM/run/1",
        ] {
            assert!(web_url(ok), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "JavaScript://%0aalert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox",
            "/relative/run/1",
            "//ci.example.com/run/1",
            "ftp://ci.example.com/run/1",
            "https://ci.example.com/run/1\u{1b}[31m",
            "https://ci.example.com/run/1\nforged",
            " https://ci.example.com/run/1",
            "",
        ] {
            assert!(!web_url(bad), "{bad:?}");
        }
        assert!(!web_url(&format!(
            "https://ci.example.com/{}",
            "a".repeat(2048)
        )));
    }
}
