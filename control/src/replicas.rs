//! Several servers on one database: each reports the bundle it judges with, and one bundle is
//! the active one. A bundle a server loads (at start, or on reload) becomes active only when its
//! revision is higher than the active one's ([`compare_revisions`]), so the active bundle only
//! moves forward: a server started or reloaded on an older bundle, or on another bundle under the
//! same revision, never takes it back. A server whose bundle is not the active one is not ready
//! (`/readyz`) and refuses every decision and write (`bundle_mismatch`) until it loads the active
//! bundle, so a half-rolled-out bundle shows and no write is judged on rules no longer in force.

use std::cmp::Ordering;

use gatehouse_core::Timestamp;
use serde::Serialize;

/// What a running server reports about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplicaReport {
    /// The server's id, new at every start.
    pub replica_id: String,
    /// Where it is reached (its public URL).
    pub address: String,
    /// The digest of the bundle it judges with.
    pub bundle_digest: String,
    /// That bundle's revision.
    pub bundle_revision: String,
    /// When it started.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub started_at: Timestamp,
    /// When it last reported.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub seen_at: Timestamp,
}

/// The bundle every server should judge with: the highest revision loaded by any of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActiveBundle {
    /// Its digest.
    pub digest: String,
    /// Its revision.
    pub revision: String,
    /// The server that loaded it.
    pub activated_by: String,
    /// When.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub activated_at: Timestamp,
}

/// The servers on this database and the active bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Replicas {
    /// The active bundle (none before any server started).
    pub active_bundle: Option<ActiveBundle>,
    /// Each server that reported within the retention, oldest first; `in_step` tells whether it
    /// judges with the active bundle.
    pub replicas: Vec<ReplicaStatus>,
}

/// A server and whether it judges with the active bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplicaStatus {
    /// What it reported.
    #[serde(flatten)]
    pub report: ReplicaReport,
    /// Whether its bundle is the active one.
    pub in_step: bool,
}

/// How two bundle revisions (`bundle.json`'s `revision`) order: compared piece by piece, where
/// a piece is a run of digits (compared as a number) or a run of other characters (compared as
/// text), and a revision that is a prefix of another comes first. So `2026.12.04-2` follows
/// `2026.12.04-1`, `1.10` follows `1.9`, and `next` follows `2026.12.04-1` (letters follow
/// digits).
pub fn compare_revisions(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (pieces(a), pieces(b));
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let order = match (number(x), number(y)) {
                    (Some(x), Some(y)) => x.len().cmp(&y.len()).then_with(|| x.cmp(y)),
                    _ => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

/// The runs of digits and of other characters in `text`, in order.
fn pieces(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let digits = first.is_ascii_digit();
        let end = rest
            .find(|c: char| c.is_ascii_digit() != digits)
            .unwrap_or(rest.len());
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

/// A run of digits without its leading zeros; `None` for other text.
fn number(piece: &str) -> Option<&str> {
    piece
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| piece.trim_start_matches('0'))
}

/// A server that is ready: it reaches the database and judges with the active bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readiness {
    /// This server.
    pub replica_id: String,
    /// The digest of the bundle it judges with (the active one).
    pub bundle_digest: String,
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering::{Equal, Greater, Less};

    use super::compare_revisions;

    #[test]
    fn revisions_order_piece_by_piece_with_numbers_as_numbers() {
        for (a, b, order) in [
            ("2026.12.04-1", "2026.12.04-2", Less),
            ("2026.12.04-10", "2026.12.04-9", Greater),
            ("2026.12.05-1", "2026.12.04-9", Greater),
            ("1.9", "1.10", Less),
            ("1.010", "1.10", Equal),
            ("1", "1.1", Less),
            ("2026.12.04-1", "next", Less),
            ("v2", "v10", Less),
            ("", "1", Less),
            ("same", "same", Equal),
            ("99999999999999999999999", "100000000000000000000000", Less),
        ] {
            assert_eq!(compare_revisions(a, b), order, "{a} vs {b}");
            assert_eq!(compare_revisions(b, a), order.reverse(), "{b} vs {a}");
        }
    }
}
