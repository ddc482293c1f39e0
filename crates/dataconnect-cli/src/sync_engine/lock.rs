//! The sync lock of an SQLite database: one sync at a time per file, across
//! processes (`sync`, `sync --daemon`, `serve`'s consent worker).

use crate::error::{Class, CliError};

/// Takes the database's sync lock, an exclusive lock on `<db>.sync.lock`
/// held until the process ends (the OS releases it on a crash or SIGKILL
/// too). Without it, two syncs on one database both plan the same missing
/// windows and fetch each of them twice, spending the quota twice. A
/// PostgreSQL store is left to its own locking (the work queue's leases).
pub fn sync_lock(db: &std::path::Path) -> Result<Option<std::fs::File>, CliError> {
    match try_sync_lock(db)? {
        SyncLock::Held(file) => Ok(file),
        SyncLock::Busy => Err(CliError::new(
            Class::Store,
            format!(
                "another sync is running on {}: nothing was fetched; run this one again when it has finished",
                crate::store::shown(db)
            ),
        )),
    }
}

/// The answer of [`try_sync_lock`].
pub enum SyncLock {
    /// The lock is ours while the file lives (`None` for PostgreSQL, which
    /// needs none).
    Held(Option<std::fs::File>),
    /// Another sync (another process, or another task of this one) holds it.
    Busy,
}

/// Tries to take the database's sync lock without waiting; `dataconnect
/// serve` waits and tries again, `sync` stops with one line.
pub fn try_sync_lock(db: &std::path::Path) -> Result<SyncLock, CliError> {
    if crate::store::postgres_url(db).is_some() {
        return Ok(SyncLock::Held(None));
    }
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".sync.lock");
    let path = db.with_file_name(name);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        let _ = std::fs::create_dir_all(dir);
    }
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(|e| {
        CliError::new(
            Class::Store,
            format!("cannot open the sync lock {}: {e}: check the database directory", path.display()),
        )
    })?;
    match file.try_lock() {
        Ok(()) => Ok(SyncLock::Held(Some(file))),
        Err(std::fs::TryLockError::WouldBlock) => Ok(SyncLock::Busy),
        Err(std::fs::TryLockError::Error(e)) => Err(CliError::new(
            Class::Store,
            format!("cannot lock {}: {e}: check the database directory", path.display()),
        )),
    }
}
