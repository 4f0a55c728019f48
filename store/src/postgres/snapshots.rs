//! The consistent reads of the PostgreSQL store: the signals' aggregates and the ledger's
//! verification, each over one repeatable-read snapshot.

use futures_util::TryStreamExt;
use gatehouse_core::LedgerHead;
use tokio_postgres::types::ToSql;

use super::Fault;
use crate::audit::{Audit, AuditReport};
use crate::signals::SignalData;
use crate::{decode, rows};

/// `(value, count)` of one column over the window.
async fn counts(
    tx: &deadpool_postgres::Transaction<'_>,
    column: &str,
    since: i64,
) -> Result<Vec<(String, u64)>, Fault> {
    let stmt = tx
        .prepare_cached(&format!(
            "SELECT {column}, COUNT(*) FROM deployments WHERE created_ns >= $1 GROUP BY {column}"
        ))
        .await?;
    let mut out = Vec::new();
    for row in tx.query(&stmt, &[&since]).await? {
        out.push((row.try_get(0)?, decode::count(row.try_get(1)?)));
    }
    Ok(out)
}

pub(super) async fn signal_snapshot(
    tx: &deadpool_postgres::Transaction<'_>,
    since: i64,
    top: usize,
) -> Result<SignalData, Fault> {
    let total: i64 = tx
        .query_one(
            "SELECT COUNT(*) FROM deployments WHERE created_ns >= $1",
            &[&since],
        )
        .await?
        .try_get(0)?;
    let mut data = SignalData {
        total: decode::count(total),
        by_state: counts(tx, "state", since).await?,
        by_environment: counts(tx, "environment", since).await?,
        by_cloud: counts(tx, "cloud", since).await?,
        by_service: counts(tx, "service", since).await?,
        ..SignalData::default()
    };
    let finished = tx
        .query(
            "SELECT environment, COUNT(*) FILTER (WHERE state = 'SUCCESS'), \
             COUNT(*) FILTER (WHERE state = 'FAILED') FROM deployments \
             WHERE created_ns >= $1 GROUP BY environment",
            &[&since],
        )
        .await?;
    for row in finished {
        data.finished.push((
            row.try_get(0)?,
            decode::count(row.try_get(1)?),
            decode::count(row.try_get(2)?),
        ));
    }
    let successes = tx
        .query(
            "SELECT environment, created_at, updated_at FROM deployments \
             WHERE created_ns >= $1 AND state = 'SUCCESS'",
            &[&since],
        )
        .await?;
    for row in successes {
        let created = decode::time("creation time", row.try_get(1)?)?;
        let updated = decode::time("update time", row.try_get(2)?)?;
        let seconds = (updated.unix_nanos() - created.unix_nanos()) as f64 / 1e9;
        data.lead_times.push((row.try_get(0)?, seconds));
    }
    let top = i64::try_from(top).unwrap_or(i64::MAX);
    let policies = tx
        .query(
            "SELECT p.policy, COUNT(*), COUNT(*) FILTER (WHERE p.blocking) FROM deployment_policies p \
             JOIN deployments d ON d.id = p.deployment_id WHERE d.created_ns >= $1 \
             GROUP BY p.policy ORDER BY COUNT(*) DESC, p.policy LIMIT $2",
            &[&since, &top],
        )
        .await?;
    for row in policies {
        data.policies.push((
            row.try_get(0)?,
            decode::count(row.try_get(1)?),
            decode::count(row.try_get(2)?),
        ));
    }
    Ok(data)
}

fn no_params() -> std::iter::Empty<&'static (dyn ToSql + Sync)> {
    std::iter::empty()
}

pub(super) async fn verify_snapshot(
    tx: &deadpool_postgres::Transaction<'_>,
) -> Result<AuditReport, Fault> {
    let head = tx
        .query_one("SELECT position, link FROM ledger_head WHERE id = 1", &[])
        .await?;
    let recorded = LedgerHead {
        position: decode::unsigned("ledger head", head.try_get(0)?)?,
        link: head.try_get(1)?,
    };
    let mut audit = Audit::new(recorded);
    let events = tx
        .query_raw(
            &format!(
                "SELECT {} FROM events ORDER BY position",
                rows::EVENT_COLUMNS
            ),
            no_params(),
        )
        .await?;
    let mut events = std::pin::pin!(events);
    let mut going = true;
    while going && let Some(row) = events.try_next().await? {
        going = match rows::entry(&row) {
            Ok(entry) => audit.entry(&entry),
            Err(Fault::Store(e)) => {
                let position: i64 = row.try_get(0).unwrap_or(0);
                audit.unreadable(
                    u64::try_from(position).unwrap_or(0),
                    row.try_get(1).ok(),
                    e.to_string(),
                )
            }
            Err(e) => return Err(e),
        };
    }
    if going && audit.end_of_ledger() {
        let deployments = tx
            .query_raw(
                "SELECT id, state, last_hash FROM deployments ORDER BY seq",
                no_params(),
            )
            .await?;
        let mut deployments = std::pin::pin!(deployments);
        while let Some(row) = deployments.try_next().await? {
            let (id, state, last_hash): (String, String, String) =
                (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
            if !audit.row(&id, &state, &last_hash) {
                break;
            }
        }
    }
    Ok(audit.finish())
}
