//! The clock the control plane reads (injected, so tests control time).

use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::Timestamp;

/// The clock: returns now.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The system clock, at millisecond precision (event times stay readable).
pub fn system_clock() -> Clock {
    Arc::new(system_now)
}

#[expect(
    clippy::expect_used,
    reason = "the system time is an OffsetDateTime, always inside the range a Timestamp holds"
)]
fn system_now() -> Timestamp {
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    Timestamp::from_unix_nanos(nanos - nanos % 1_000_000).expect("the system time is in range")
}

/// `at` moved by `by` (forward when `forward`); `at` itself if that leaves the range of
/// timestamps (years -9999 to 9999), which no configured duration reaches.
pub fn shift(at: Timestamp, by: Duration, forward: bool) -> Timestamp {
    let nanos = i128::try_from(by.as_nanos()).unwrap_or(i128::MAX);
    let moved = if forward {
        at.unix_nanos().checked_add(nanos)
    } else {
        at.unix_nanos().checked_sub(nanos)
    };
    moved
        .and_then(|n| Timestamp::from_unix_nanos(n).ok())
        .unwrap_or(at)
}

/// Unix seconds of `at` (signature timestamps).
pub fn unix_seconds(at: Timestamp) -> i64 {
    i64::try_from(at.unix_nanos().div_euclid(1_000_000_000)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifting_stays_in_range() {
        let t: Timestamp = "2026-11-23T12:00:00Z".parse().unwrap();
        let later = shift(t, Duration::from_secs(3600), true);
        assert_eq!(later.to_string(), "2026-11-23T13:00:00Z");
        assert_eq!(
            shift(t, Duration::from_secs(60), false).to_string(),
            "2026-11-23T11:59:00Z"
        );
        assert_eq!(shift(t, Duration::MAX, true), t);
        assert_eq!(unix_seconds(t), 1_795_435_200);
    }
}
