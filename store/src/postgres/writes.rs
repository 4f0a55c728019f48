//! The writes of the PostgreSQL store, each one transaction: a submission, an append, an outbox
//! claim. The ledger head is locked last, so it is held only for the events' insert and the
//! commit.

use gatehouse_core::{Event, LedgerHead};

use super::{Fault, PostgresStore, nanos, past, signed, stored_response};
use crate::attestations::AttestationRecord;
use crate::decision_log::DecisionRecord;
use crate::deployment::DeploymentRecord;
use crate::error::StoreError;
use crate::outbox::{Claim, Dispatch, NewDispatch};
use crate::write::{Append, Submission, SubmitResult, apply_append};
use crate::{decode, rows};

/// Appends events to the ledger under the head lock, inside the caller's transaction: the
/// head row is locked, the entries chained after it, inserted and the head moved in one
/// statement. The lock is held until the caller commits.
async fn insert_events(
    tx: &deadpool_postgres::Transaction<'_>,
    events: &[Event],
) -> Result<(), Fault> {
    if events.is_empty() {
        return Ok(());
    }
    let lock = tx
        .prepare_cached("SELECT position, link FROM ledger_head WHERE id = 1 FOR UPDATE")
        .await?;
    let row = tx.query_one(&lock, &[]).await?;
    let mut current = LedgerHead {
        position: decode::unsigned("ledger head", row.try_get(0)?)?,
        link: row.try_get(1)?,
    };
    let mut position = Vec::with_capacity(events.len());
    let mut deployment = Vec::with_capacity(events.len());
    let mut seq = Vec::with_capacity(events.len());
    let mut kind = Vec::with_capacity(events.len());
    let mut at = Vec::with_capacity(events.len());
    let mut actor = Vec::with_capacity(events.len());
    let mut data = Vec::with_capacity(events.len());
    let mut prev = Vec::with_capacity(events.len());
    let mut hash = Vec::with_capacity(events.len());
    let mut link = Vec::with_capacity(events.len());
    for event in events {
        let (entry, next) = current.append(event.clone());
        let e = entry.event;
        position.push(signed(entry.position));
        deployment.push(e.deployment_id);
        seq.push(signed(e.seq));
        kind.push(e.kind.as_str().to_owned());
        at.push(e.at.to_string());
        actor.push(e.actor);
        data.push(e.data.to_string());
        prev.push(e.prev_hash);
        hash.push(e.hash);
        link.push(entry.link);
        current = next;
    }
    let insert = tx
        .prepare_cached(
            "WITH appended AS (\
                 INSERT INTO events (position, deployment_id, seq, type, at, actor, data, prev_hash, hash, link) \
                 SELECT * FROM unnest($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::TEXT[], $5::TEXT[], \
                                      $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::TEXT[])) \
             UPDATE ledger_head SET position = $11, link = $12 WHERE id = 1",
        )
        .await?;
    tx.execute(
        &insert,
        &[
            &position,
            &deployment,
            &seq,
            &kind,
            &at,
            &actor,
            &data,
            &prev,
            &hash,
            &link,
            &signed(current.position),
            &current.link,
        ],
    )
    .await?;
    Ok(())
}

async fn insert_dispatch(
    tx: &deadpool_postgres::Transaction<'_>,
    id: &str,
    d: &NewDispatch,
) -> Result<(), Fault> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO outbox (deployment_id, executor, payload, status, next_attempt_at, next_attempt_ns) \
             VALUES ($1, $2, $3, 'pending', $4, $5)",
        )
        .await?;
    tx.execute(
        &stmt,
        &[
            &id,
            &d.executor,
            &d.payload.to_string(),
            &d.due.to_string(),
            &nanos(d.due),
        ],
    )
    .await?;
    Ok(())
}

/// The policies that held or blocked a deployment's decision, written with the decision (its
/// outcome goes into the deployment's row): signals count them without reading decisions.
async fn write_policies(
    tx: &deadpool_postgres::Transaction<'_>,
    id: &str,
    decision: &gatehouse_core::Decision,
    fresh: bool,
) -> Result<(), Fault> {
    if !fresh {
        let stmt = tx
            .prepare_cached("DELETE FROM deployment_policies WHERE deployment_id = $1")
            .await?;
        tx.execute(&stmt, &[&id]).await?;
    }
    let (policies, blocking): (Vec<&str>, Vec<bool>) = decision
        .held_policies()
        .into_iter()
        .map(|held| (held.policy, held.blocking))
        .unzip();
    if !policies.is_empty() {
        let stmt = tx
            .prepare_cached(
                "INSERT INTO deployment_policies (deployment_id, policy, blocking) \
                 SELECT $1, p, b FROM unnest($2::TEXT[], $3::BOOLEAN[]) AS t (p, b)",
            )
            .await?;
        tx.execute(&stmt, &[&id, &policies, &blocking]).await?;
    }
    Ok(())
}

/// Records a decision in the log, inside the caller's transaction or on its own.
pub(super) async fn insert_decision(
    client: &impl deadpool_postgres::GenericClient,
    d: &DecisionRecord,
) -> Result<(), Fault> {
    let masked = StoreError::json_text("masked paths", &d.masked)?;
    let decision = StoreError::json_text("logged decision", &d.decision)?;
    let stmt = client
        .prepare_cached(
            "INSERT INTO decisions (decision_id, at, at_ns, stage, source, caller, deployment_id, replica_id, \
             bundle_digest, bundle_revision, outcome, intent, masked, decision, evaluated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .await?;
    client
        .execute(
            &stmt,
            &[
                &d.decision_id,
                &d.at.to_string(),
                &nanos(d.at),
                &d.stage.as_str(),
                &d.source.as_str(),
                &d.caller,
                &d.deployment_id,
                &d.replica_id,
                &d.bundle_digest,
                &d.bundle_revision,
                &d.outcome,
                &d.intent.to_string(),
                &masked,
                &decision,
                &d.evaluated_at.to_string(),
            ],
        )
        .await?;
    Ok(())
}

/// Stores a decision's attestation, inside the caller's transaction.
async fn insert_attestation(
    tx: &deadpool_postgres::Transaction<'_>,
    a: &AttestationRecord,
) -> Result<(), Fault> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO attestations (decision_id, deployment_id, at, at_ns, envelope, unavailable) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .await?;
    tx.execute(
        &stmt,
        &[
            &a.decision_id,
            &a.deployment_id,
            &a.at.to_string(),
            &nanos(a.at),
            &a.envelope,
            &a.unavailable,
        ],
    )
    .await?;
    Ok(())
}

impl PostgresStore {
    pub(super) async fn try_submit(&self, s: &Submission) -> Result<SubmitResult, Fault> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let r = &s.record;
        if let Some((principal, key, response)) = &s.idempotency {
            let claim = tx
                .prepare_cached(
                    "INSERT INTO idempotency (principal, key, body_sha256, body, created_ns) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (principal, key) DO NOTHING",
                )
                .await?;
            let inserted = tx
                .execute(
                    &claim,
                    &[
                        principal,
                        key,
                        &response.body_sha256,
                        &response.body,
                        &nanos(r.head.created_at),
                    ],
                )
                .await?;
            if inserted == 0 {
                // Another transaction holds the key (committed, or it committed while this one
                // waited on it): answer as it did.
                let seen = stored_response(
                    &tx,
                    "SELECT body_sha256, body FROM idempotency WHERE principal = $1 AND key = $2",
                    &[principal, key],
                )
                .await?;
                return Ok(match seen {
                    Some(seen) if seen.body_sha256 == response.body_sha256 => {
                        SubmitResult::Replayed(seen)
                    }
                    _ => SubmitResult::KeyReused,
                });
            }
        }
        let decision = StoreError::json_text("decision", &r.decision)?;
        let insert = tx
            .prepare_cached(
                "INSERT INTO deployments (id, state, service, version, artifact, environment, cloud, account, \
                 region, requested_by, submitted_by, created_at, created_ns, updated_at, intent, decision, \
                 bundle_digest, last_seq, last_hash, decision_id, outcome) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
            )
            .await?;
        tx.execute(
            &insert,
            &[
                &r.head.id,
                &r.head.state.as_str(),
                &r.head.service,
                &r.head.version,
                &r.head.artifact,
                &r.head.environment,
                &r.head.cloud,
                &r.head.account,
                &r.head.region,
                &r.head.requested_by,
                &r.head.submitted_by,
                &r.head.created_at.to_string(),
                &nanos(r.head.created_at),
                &r.head.updated_at.to_string(),
                &r.intent.to_string(),
                &decision,
                &r.bundle_digest,
                &signed(r.last_seq),
                &r.last_hash,
                &r.decision_id,
                &r.decision.outcome.as_str(),
            ],
        )
        .await?;
        write_policies(&tx, &r.head.id, &r.decision, true).await?;
        if let Some(d) = &s.decision_log {
            insert_decision(&tx, d).await?;
        }
        if let Some(a) = &s.attestation {
            insert_attestation(&tx, a).await?;
        }
        if let Some(d) = &s.dispatch {
            insert_dispatch(&tx, &r.head.id, d).await?;
        }
        insert_events(&tx, &s.events).await?;
        past(s.deadline)?;
        tx.commit().await?;
        Ok(SubmitResult::Created(Box::new(s.record.clone())))
    }

    pub(super) async fn try_append(&self, a: &Append) -> Result<DeploymentRecord, Fault> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // A delivery already recorded answers before the hash check: a concurrent redelivery
        // that lost the race replays the winner's answer.
        if let Some((delivery_id, _)) = &a.delivery
            && let Some(stored) = stored_response(
                &tx,
                "SELECT body_sha256, body FROM deliveries WHERE deployment_id = $1 AND delivery_id = $2",
                &[&a.deployment_id, delivery_id],
            )
            .await?
        {
            return Err(StoreError::DeliveryExists {
                deployment_id: a.deployment_id.clone(),
                delivery_id: delivery_id.clone(),
                stored,
            }
            .into());
        }
        let lock = tx
            .prepare_cached(&format!(
                "SELECT {} FROM deployments WHERE id = $1 FOR UPDATE",
                rows::RECORD_COLUMNS
            ))
            .await?;
        let row = tx
            .query_opt(&lock, &[&a.deployment_id])
            .await?
            .ok_or_else(|| StoreError::NotFound {
                deployment_id: a.deployment_id.clone(),
            })?;
        let mut record = rows::record(&row)?;
        apply_append(&mut record, a)?;
        if let Some(now) = a.close_dispatches {
            // A cancel while a dispatcher holds the entry: its delivery may be in flight.
            let leased = tx
                .prepare_cached(
                    "SELECT MAX(lease_until_ns) FROM outbox WHERE deployment_id = $1 \
                     AND status = 'pending' AND lease_until_ns > $2",
                )
                .await?;
            let until: Option<i64> = tx
                .query_one(&leased, &[&record.head.id, &nanos(now)])
                .await?
                .try_get(0)?;
            if let Some(ns) = until {
                return Err(StoreError::DispatchInFlight {
                    deployment_id: record.head.id.clone(),
                    lease_until: gatehouse_core::Timestamp::from_unix_nanos(i128::from(ns))
                        .map_err(|e| StoreError::corrupt("lease time", e))?,
                }
                .into());
            }
        }
        let decision = StoreError::json_text("decision", &record.decision)?;
        let update = tx
            .prepare_cached(
                "UPDATE deployments SET state = $2, updated_at = $3, decision = $4, bundle_digest = $5, \
                 last_seq = $6, last_hash = $7, decision_id = $8, outcome = $9 WHERE id = $1",
            )
            .await?;
        tx.execute(
            &update,
            &[
                &record.head.id,
                &record.head.state.as_str(),
                &record.head.updated_at.to_string(),
                &decision,
                &record.bundle_digest,
                &signed(record.last_seq),
                &record.last_hash,
                &record.decision_id,
                &record.decision.outcome.as_str(),
            ],
        )
        .await?;
        if a.decision.is_some() {
            write_policies(&tx, &record.head.id, &record.decision, false).await?;
        }
        if let Some(d) = &a.decision_log {
            insert_decision(&tx, d).await?;
        }
        if let Some(attestation) = &a.attestation {
            insert_attestation(&tx, attestation).await?;
        }
        if a.close_dispatches.is_some() {
            let close = tx
                .prepare_cached(
                    "UPDATE outbox SET status = 'cancelled', lease_owner = NULL, lease_until_ns = NULL \
                     WHERE deployment_id = $1 AND status = 'pending'",
                )
                .await?;
            tx.execute(&close, &[&record.head.id]).await?;
        }
        if let Some(d) = &a.dispatch {
            insert_dispatch(&tx, &record.head.id, d).await?;
        }
        if let Some(o) = &a.dispatch_outcome {
            let close = tx
                .prepare_cached(
                    "UPDATE outbox SET status = $2, attempts = $3, last_error = $4, receipt = $5, \
                     lease_owner = NULL, lease_until_ns = NULL WHERE id = $1",
                )
                .await?;
            tx.execute(
                &close,
                &[
                    &o.dispatch_id,
                    &o.status.as_str(),
                    &i32::try_from(o.attempts).unwrap_or(i32::MAX),
                    &o.error,
                    &o.receipt.as_ref().map(serde_json::Value::to_string),
                ],
            )
            .await?;
        }
        if let Some((delivery_id, response)) = &a.delivery {
            let record_delivery = tx
                .prepare_cached(
                    "INSERT INTO deliveries (deployment_id, delivery_id, body_sha256, body, created_ns) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .await?;
            tx.execute(
                &record_delivery,
                &[
                    &record.head.id,
                    delivery_id,
                    &response.body_sha256,
                    &response.body,
                    &nanos(record.head.updated_at),
                ],
            )
            .await?;
        }
        insert_events(&tx, &a.events).await?;
        past(a.deadline)?;
        tx.commit().await?;
        Ok(record)
    }

    pub(super) async fn try_claim(&self, claim: &Claim) -> Result<Vec<Dispatch>, Fault> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let close = tx
            .prepare_cached(
                "UPDATE outbox o SET status = 'cancelled', lease_owner = NULL, lease_until_ns = NULL \
                 FROM deployments d WHERE o.status = 'pending' AND d.id = o.deployment_id \
                 AND d.state IN ('CANCELLED', 'REJECTED')",
            )
            .await?;
        tx.execute(&close, &[]).await?;
        let take = tx
            .prepare_cached(&format!(
                "WITH due AS (\
                     SELECT o.id FROM outbox o JOIN deployments d ON d.id = o.deployment_id \
                     WHERE o.status = 'pending' AND o.next_attempt_ns <= $1 \
                     AND (o.lease_until_ns IS NULL OR o.lease_until_ns <= $1) AND d.state = 'VALIDATED' \
                     ORDER BY o.next_attempt_ns, o.id LIMIT $2 \
                     FOR UPDATE OF o SKIP LOCKED) \
                 UPDATE outbox o SET lease_owner = $3, lease_until_ns = $4 FROM due WHERE o.id = due.id \
                 RETURNING {}",
                rows::DISPATCH_COLUMNS
            ))
            .await?;
        let now = nanos(claim.now);
        let limit = i64::try_from(claim.limit).unwrap_or(i64::MAX);
        let found = tx
            .query(
                &take,
                &[&now, &limit, &claim.owner, &nanos(claim.lease_until)],
            )
            .await?;
        let mut claimed = found
            .iter()
            .map(rows::dispatch)
            .collect::<Result<Vec<_>, _>>()?;
        tx.commit().await?;
        claimed.sort_by_key(|d| (d.next_attempt_at, d.id));
        Ok(claimed)
    }
}
