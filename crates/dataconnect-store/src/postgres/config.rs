//! Where and how a PostgreSQL store is opened: the URL, the schema, the
//! pool's size and timeout, and whether TimescaleDB is used. The URL may
//! hold a password, so [`PgConfig`]'s `Debug` shows it redacted.

use std::fmt;
use std::time::Duration;

use crate::{Result, StoreError, StoreErrorKind, redact_url};

/// Whether to use TimescaleDB when it is installed on the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TimescaleMode {
    /// Create the extension if the server has it (and the user may), then make
    /// the reading table a hypertable with a daily continuous aggregate;
    /// keep plain tables otherwise.
    #[default]
    Auto,
    /// Plain tables, even where TimescaleDB is available.
    Off,
}

/// Where and how to open a PostgreSQL store.
#[derive(Clone)]
pub struct PgConfig {
    /// A `postgres://` or `postgresql://` URL (libpq's URL syntax, as sqlx reads it).
    pub url: String,
    /// The schema holding the tables, created if needed; `None` uses the
    /// server's `search_path` (normally `public`). Tests give each run its
    /// own schema so that they can run concurrently and again.
    pub schema: Option<String>,
    /// Connections in the pool (several callers can query at once).
    pub max_connections: u32,
    /// How long to wait for a connection before failing with [`StoreErrorKind::Busy`]
    /// (or [`StoreErrorKind::CannotOpen`] when the server does not answer at opening).
    pub acquire_timeout: Duration,
    /// Whether to use TimescaleDB when available.
    pub timescale: TimescaleMode,
}

impl PgConfig {
    /// A store at `url`, in the default schema, with 4 connections, a 10 s
    /// timeout and TimescaleDB when available.
    pub fn new(url: impl Into<String>) -> Self {
        PgConfig {
            url: url.into(),
            schema: None,
            max_connections: 4,
            acquire_timeout: Duration::from_secs(10),
            timescale: TimescaleMode::Auto,
        }
    }
}

impl fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may hold a password.
        f.debug_struct("PgConfig")
            .field("url", &redact_url(&self.url))
            .field("schema", &self.schema)
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("timescale", &self.timescale)
            .finish()
    }
}

/// Builds a schema-qualified-free identifier check: schema names are
/// interpolated into `CREATE SCHEMA` and `search_path`, so only plain
/// lower-case identifiers are accepted.
pub(super) fn check_schema(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    if ok {
        Ok(())
    } else {
        Err(StoreError::new(
            StoreErrorKind::CannotOpen,
            format!("schema name {name:?} is not a plain identifier: use lower-case letters, digits and _"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::is_postgres_url;

    #[test]
    fn urls_are_recognised_and_passwords_redacted() {
        assert!(is_postgres_url("postgres://u@h/db"));
        assert!(is_postgres_url("PostgreSQL://u@h/db"));
        assert!(!is_postgres_url("store.db"));
        assert!(!is_postgres_url("postgres"));
        assert_eq!(redact_url("postgres://u:s3cret@h:5432/db"), "postgres://u:[redacted]@h:5432/db");
        assert_eq!(redact_url("postgres://u@h/db?x=1"), "postgres://u@h/db?x=1");
        assert_eq!(redact_url("postgres://u:p@ss@h/db"), "postgres://u:[redacted]@h/db");
        assert_eq!(redact_url("postgres://u@h/db?password=s3cret&x=1"), "postgres://u@h/db?password=[redacted]&x=1");
        assert_eq!(redact_url("not a url s3cret"), "[redacted]");
        let config = PgConfig::new("postgres://u:s3cret@h/db");
        assert!(!format!("{config:?}").contains("s3cret"));
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(check_schema("dc_test_1").is_ok());
        assert!(check_schema("1abc").is_err());
        assert!(check_schema("a; drop table x").is_err());
        assert!(check_schema("").is_err());
    }
}
