//! RFC 3339 timestamps. The core never reads a clock: every time is passed in by the caller.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A point in time, parsed from RFC 3339 and always rendered in UTC (`2026-11-23T15:04:05Z`).
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
    pub fn parse(value: &str) -> Result<Self, TimestampError> {
        OffsetDateTime::parse(value, &Rfc3339)
            .map(|t| Self(t.to_offset(time::UtcOffset::UTC)))
            .map_err(|_| TimestampError {
                value: value.to_owned(),
            })
    }

    /// Builds a timestamp from Unix seconds (UTC).
    pub fn from_unix_seconds(seconds: i64) -> Result<Self, TimestampError> {
        OffsetDateTime::from_unix_timestamp(seconds)
            .map(Self)
            .map_err(|_| TimestampError {
                value: seconds.to_string(),
            })
    }

    /// Builds a timestamp from nanoseconds since the Unix epoch (UTC).
    pub fn from_unix_nanos(nanos: i128) -> Result<Self, TimestampError> {
        OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .map(Self)
            .map_err(|_| TimestampError {
                value: nanos.to_string(),
            })
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
        serializer.collect_str(self)
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
    fn rejects_dates_without_time() {
        let err = Timestamp::parse("2026-11-23").unwrap_err();
        assert!(err.to_string().contains("`2026-11-23`"));
    }
}
