//! RFC 3339 timestamps. The core never reads a clock: every time is passed in by the caller.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A point in time, parsed from RFC 3339 and always rendered in UTC (`2026-11-23T15:04:05Z`).
/// Its year (in UTC) is between 0000 and 9999, the years RFC 3339 can write, so every timestamp
/// renders: the constructors refuse the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

/// A string that is not an RFC 3339 timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not an RFC 3339 timestamp (expected e.g. `2026-11-23T15:04:05Z`)")]
pub struct TimestampError {
    /// The rejected text.
    pub value: String,
}

impl Timestamp {
    /// Parses an RFC 3339 timestamp such as `2026-11-23T15:04:05Z` or `2026-11-23T16:04:05+01:00`.
    /// `0000-01-01T00:00:00+01:00` is year -1 in UTC, and is refused.
    pub fn parse(value: &str) -> Result<Self, TimestampError> {
        Self::writable(
            OffsetDateTime::parse(value, &Rfc3339).ok(),
            value.to_owned(),
        )
    }

    /// Builds a timestamp from Unix seconds (UTC).
    pub fn from_unix_seconds(seconds: i64) -> Result<Self, TimestampError> {
        Self::writable(
            OffsetDateTime::from_unix_timestamp(seconds).ok(),
            seconds.to_string(),
        )
    }

    /// Builds a timestamp from nanoseconds since the Unix epoch (UTC).
    pub fn from_unix_nanos(nanos: i128) -> Result<Self, TimestampError> {
        Self::writable(
            OffsetDateTime::from_unix_timestamp_nanos(nanos).ok(),
            nanos.to_string(),
        )
    }

    /// `time` in UTC when its year is one RFC 3339 can write; `value` names it otherwise.
    fn writable(time: Option<OffsetDateTime>, value: String) -> Result<Self, TimestampError> {
        match time.map(|t| t.to_offset(time::UtcOffset::UTC)) {
            Some(t) if (0..=9999).contains(&t.year()) => Ok(Self(t)),
            _ => Err(TimestampError { value }),
        }
    }

    /// Nanoseconds since the Unix epoch.
    pub fn unix_nanos(&self) -> i128 {
        self.0.unix_timestamp_nanos()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.format(&Rfc3339) {
            Ok(text) => f.write_str(&text),
            Err(_) => Err(fmt::Error),
        }
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Not `collect_str`: serde_json panics when a `Display` fails inside it.
        let text = self.0.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_to_utc() {
        let t = Timestamp::parse("2026-11-23T16:04:05+01:00").unwrap();
        assert_eq!(t.to_string(), "2026-11-23T15:04:05Z");
    }

    #[test]
    fn keeps_fractions() {
        let t = Timestamp::parse("2026-11-23T15:04:05.250Z").unwrap();
        assert_eq!(t.to_string(), "2026-11-23T15:04:05.25Z");
    }

    #[test]
    fn refuses_times_rfc_3339_cannot_write() {
        // Year -1 in UTC, and year -1199: both once built timestamps whose rendering failed
        // (and serde_json panics on a failing `Display` inside `collect_str`).
        assert!(Timestamp::parse("0000-01-01T00:00:00+01:00").is_err());
        assert!(Timestamp::from_unix_seconds(-100_000_000_000).is_err());
        assert!(Timestamp::from_unix_nanos(-100_000_000_000_000_000_000).is_err());
        let first = Timestamp::parse("0000-01-01T00:00:00Z").unwrap();
        assert_eq!(
            serde_json::to_string(&first).unwrap(),
            "\"0000-01-01T00:00:00Z\""
        );
        let last = Timestamp::parse("9999-12-31T23:59:59.999999999Z").unwrap();
        assert_eq!(last.to_string(), "9999-12-31T23:59:59.999999999Z");
        assert_eq!(
            Timestamp::from_unix_seconds(253_402_300_799)
                .unwrap()
                .to_string(),
            "9999-12-31T23:59:59Z"
        );
    }

    #[test]
    fn rejects_dates_without_time() {
        let err = Timestamp::parse("2026-11-23").unwrap_err();
        assert!(err.to_string().contains("`2026-11-23`"));
    }
}
