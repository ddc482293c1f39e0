//! The one error type of the store, with kinds a caller can act on.
//!
//! A CLI turns each kind into one line that names the problem and the fix
//! (a read-only file, a file that is not a database, a database written by a
//! newer version), so the kinds follow what the user must do, not which
//! SQLite call failed.

use std::fmt;
use std::path::Path;

/// What went wrong in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The database file or its directory cannot be written (file mode,
    /// read-only mount), and the operation needed to write.
    ReadOnly,
    /// The file exists but is not an SQLite database, or is damaged.
    Corrupt,
    /// The database was migrated by a newer version of this toolkit
    /// (its `user_version` is above the newest migration known here).
    NewerSchema,
    /// The file could not be opened or created (missing directory,
    /// permissions on the directory, a path that is a directory).
    CannotOpen,
    /// Another process held the database locked for longer than the busy timeout.
    Busy,
    /// The callback given to a streaming read failed (for example, the
    /// output pipe was closed).
    Output,
    /// A stored value could not be read back as a domain value (a bad PRM,
    /// series name or day written by something else).
    BadData,
    /// Any other database failure.
    Other,
}

/// An error from the store: a kind, a message naming the problem and the
/// fix, and the underlying cause.
#[derive(Debug)]
pub struct StoreError {
    kind: StoreErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    /// What went wrong.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// An error of `kind` with its one-line message (for callers that wrap
    /// store calls, such as a sync engine running them on another thread).
    pub fn new(kind: StoreErrorKind, message: impl Into<String>) -> Self {
        StoreError { kind, message: message.into(), source: None }
    }

    pub(crate) fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Classifies an SQLite error met while using the database at `path`.
    pub(crate) fn sqlite(path: &Path, e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        let shown = path.display();
        let (kind, message) = match e.sqlite_error_code() {
            Some(C::ReadOnly) => (
                StoreErrorKind::ReadOnly,
                format!(
                    "database {shown} is read-only: make the file and its directory writable (chmod u+w) or point --db at a writable path"
                ),
            ),
            Some(C::NotADatabase) | Some(C::DatabaseCorrupt) => (
                StoreErrorKind::Corrupt,
                format!(
                    "{shown} is not a dataconnect database or is damaged: move it aside and sync again into a fresh file (--db NEW.db)"
                ),
            ),
            Some(C::CannotOpen) | Some(C::PermissionDenied) => (
                StoreErrorKind::CannotOpen,
                format!(
                    "cannot open database {shown}: check that its directory exists and is writable, or pass --db PATH"
                ),
            ),
            Some(C::DatabaseBusy) | Some(C::DatabaseLocked) => (
                StoreErrorKind::Busy,
                format!("database {shown} is locked by another process: wait for it to finish and try again"),
            ),
            Some(C::DiskFull) => {
                (StoreErrorKind::Other, format!("the disk holding {shown} is full: free some space and try again"))
            }
            _ => (StoreErrorKind::Other, format!("database {shown}: {e}")),
        };
        StoreError { kind, message, source: Some(Box::new(e)) }
    }

    pub(crate) fn bad_data(path: &Path, what: impl fmt::Display) -> Self {
        StoreError::new(
            StoreErrorKind::BadData,
            format!(
                "database {} holds a value this version cannot read ({what}): was it written by another tool?",
                path.display()
            ),
        )
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}
