//! PostgreSQL and sqlx errors turned into [`StoreError`]s whose kind says
//! what the user must do (start the server, fix the URL, free disk space,
//! upgrade the program…), naming the server but never the password.

use crate::{StoreError, StoreErrorKind};

/// A query parameter sqlx could not encode.
pub(crate) fn encode_error(target: &str, e: sqlx::error::BoxDynError) -> StoreError {
    StoreError::new(StoreErrorKind::Other, format!("PostgreSQL store {target}: cannot encode a query parameter: {e}"))
}

/// Classifies an error met while connecting.
pub(super) fn open_error(target: &str, e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Configuration(_) => {
            StoreError::new(
                StoreErrorKind::CannotOpen,
                format!("cannot connect to PostgreSQL at {target}: {e}: check that the server runs and that --db names the right host and port"),
            )
            .with_source(e)
        }
        _ => pg_error(target, e),
    }
}

/// Classifies a PostgreSQL error by what the user must do about it.
pub(crate) fn pg_error(target: &str, e: sqlx::Error) -> StoreError {
    let (kind, message) = match &e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            // The server's message names the object, never a row's values
            // (those go to the detail, which is not shown).
            let msg = db.message();
            match code.as_str() {
                "25006" => (
                    StoreErrorKind::ReadOnly,
                    format!("PostgreSQL store {target} is read-only ({msg}): point --db at the primary server"),
                ),
                "42501" => (
                    StoreErrorKind::ReadOnly,
                    format!(
                        "PostgreSQL store {target}: permission denied ({msg}): grant the user rights on the schema"
                    ),
                ),
                "3D000" => (
                    StoreErrorKind::CannotOpen,
                    format!("PostgreSQL store {target}: {msg}: create it first (createdb) or fix --db"),
                ),
                "28P01" | "28000" => (
                    StoreErrorKind::CannotOpen,
                    format!("PostgreSQL store {target}: {msg}: check the user and password in --db"),
                ),
                "40001" | "40P01" | "55P03" | "57014" => {
                    (StoreErrorKind::Busy, format!("PostgreSQL store {target} is busy ({msg}): try again"))
                }
                "53100" => {
                    (StoreErrorKind::Other, format!("PostgreSQL store {target}: the server's disk is full ({msg})"))
                }
                _ => (StoreErrorKind::Other, format!("PostgreSQL store {target}: {msg} (SQLSTATE {code})")),
            }
        }
        sqlx::Error::PoolTimedOut => (
            StoreErrorKind::Busy,
            format!(
                "PostgreSQL store {target}: no connection became free in time: try again, or raise the server's max_connections"
            ),
        ),
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
            (StoreErrorKind::CannotOpen, format!("lost the connection to PostgreSQL at {target}: {e}"))
        }
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            (StoreErrorKind::BadData, format!("PostgreSQL store {target} holds a value this version cannot read: {e}"))
        }
        _ => (StoreErrorKind::Other, format!("PostgreSQL store {target}: {e}")),
    };
    StoreError::new(kind, message).with_source(e)
}
