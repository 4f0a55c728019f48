//! The store's configuration: which database (an SQLite file or a PostgreSQL URL, one
//! `database` key) and the PostgreSQL connection pool (`[postgres]`). A transport reads them from
//! its configuration file with the control plane's other settings.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer};

/// A database URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{location}` is not a PostgreSQL URL: {reason}; write postgres://user:password@host:port/dbname"
)]
pub struct InvalidDatabase {
    /// The URL, without its password.
    pub location: String,
    /// Why it does not parse.
    pub reason: String,
}

/// Where the control plane keeps its state: an SQLite file (the embedded default, one node) or a
/// PostgreSQL database (several replicas). Written as a path or a `postgres://` URL.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database: `postgres://user:password@host:port/dbname?sslmode=...`.
    Postgres(String),
}

impl Database {
    /// The database `text` names: a `postgres://` or `postgresql://` URL, or else a file path.
    pub fn parse(text: &str) -> Self {
        let lower = text.trim_start().to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Self::Postgres(text.trim().to_owned())
        } else {
            Self::Sqlite(PathBuf::from(text))
        }
    }

    /// Checks that a PostgreSQL URL parses (host, port, user, database, options).
    pub fn validate(&self) -> Result<(), InvalidDatabase> {
        match self {
            Self::Sqlite(_) => Ok(()),
            Self::Postgres(url) => url
                .parse::<tokio_postgres::Config>()
                .map(|_| ())
                .map_err(|e| InvalidDatabase {
                    location: redact(url),
                    reason: e.to_string(),
                }),
        }
    }
}

impl From<PathBuf> for Database {
    fn from(path: PathBuf) -> Self {
        Self::Sqlite(path)
    }
}

/// Shown without the password of a URL.
impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "{}", path.display()),
            Self::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Database({self})")
    }
}

impl<'de> Deserialize<'de> for Database {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|text| Self::parse(&text))
    }
}

/// The connection pool of the PostgreSQL store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// Connections per server process (each concurrent transaction holds one).
    #[serde(default = "default_pool_size")]
    pub pool_size: usize,
    /// How long connecting may take (also when the URL sets no `connect_timeout`).
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// How long an operation waits for a free connection before it is answered as
    /// unavailable.
    #[serde(default = "default_acquire_timeout_ms")]
    pub acquire_timeout_ms: u64,
}

impl Default for PostgresConfig {
    fn default() -> Self {
        Self {
            pool_size: default_pool_size(),
            connect_timeout_ms: default_connect_timeout_ms(),
            acquire_timeout_ms: default_acquire_timeout_ms(),
        }
    }
}

fn default_pool_size() -> usize {
    16
}
fn default_connect_timeout_ms() -> u64 {
    5_000
}
fn default_acquire_timeout_ms() -> u64 {
    5_000
}

/// `url` with its password (in the user info or a `password=` option) replaced by `***`, for
/// messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let options: Vec<String> = query
                .split('&')
                .map(|option| match option.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                        format!("{key}=***")
                    }
                    _ => option.to_owned(),
                })
                .collect();
            format!("{path}?{}", options.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_is_a_path_or_a_postgres_url_shown_without_its_password() {
        assert_eq!(
            Database::parse("/var/lib/gatehouse.db"),
            Database::Sqlite("/var/lib/gatehouse.db".into())
        );
        let url = Database::parse("postgresql://gh:s3cret@db.example.com:5433/gatehouse");
        assert!(matches!(url, Database::Postgres(_)));
        assert!(url.validate().is_ok());
        let shown = url.to_string();
        assert!(
            !shown.contains("s3cret") && shown.contains("db.example.com:5433"),
            "{shown}"
        );
        let bad = Database::parse("postgres://gh:pw@host:notaport/db");
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.starts_with("`postgres://gh:***@"), "{err}");
        assert!(!err.contains(":pw@"), "{err}");
    }
}
