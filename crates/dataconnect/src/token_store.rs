//! Where generation 1 refresh tokens live between runs.
//!
//! A generation 1 refresh token is per customer and lives as long as the
//! consent (up to three years), so it is as sensitive as a password. The
//! client does not decide where it goes: the caller passes a
//! [`TokenStore`]. [`FileTokenStore`] keeps them in one JSON file written
//! atomically with mode 0600, and refuses to read a file that group or
//! others can read, as ssh does with private keys.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::domain::UsagePointId;
use crate::error::{Error, ErrorKind};
use crate::secret::RefreshToken;

/// A stored generation 1 refresh token.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredToken {
    /// The refresh token.
    pub refresh_token: RefreshToken,
    /// When Enedis issued it (`refresh_token_issued_at`), when known.
    pub issued_at: Option<Timestamp>,
}

/// Keeps generation 1 refresh tokens, one per usage point.
///
/// Implementations must be cheap to call from async code (the file store
/// does small synchronous writes) and must never log the token.
pub trait TokenStore: Send + Sync {
    /// The token for `usage_point`, if any.
    fn load(&self, usage_point: &UsagePointId) -> Result<Option<StoredToken>, Error>;
    /// Stores (or replaces) the token for `usage_point`.
    fn save(&self, usage_point: &UsagePointId, token: &StoredToken) -> Result<(), Error>;
    /// Forgets the token for `usage_point` (after a refused refresh).
    fn remove(&self, usage_point: &UsagePointId) -> Result<(), Error>;
}

/// A [`TokenStore`] in memory, for tests and short-lived programs.
#[derive(Default)]
pub struct MemoryTokenStore {
    map: Mutex<BTreeMap<UsagePointId, StoredToken>>,
}

impl fmt::Debug for MemoryTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MemoryTokenStore([redacted])")
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self, usage_point: &UsagePointId) -> Result<Option<StoredToken>, Error> {
        Ok(self.map.lock().map_err(|_| poisoned())?.get(usage_point).cloned())
    }
    fn save(&self, usage_point: &UsagePointId, token: &StoredToken) -> Result<(), Error> {
        self.map.lock().map_err(|_| poisoned())?.insert(usage_point.clone(), token.clone());
        Ok(())
    }
    fn remove(&self, usage_point: &UsagePointId) -> Result<(), Error> {
        self.map.lock().map_err(|_| poisoned())?.remove(usage_point);
        Ok(())
    }
}

fn poisoned() -> Error {
    Error::new(ErrorKind::TokenStore, "the token store's lock was poisoned by a panic")
}

/// A [`TokenStore`] in one JSON file, mode 0600, written atomically (a
/// temporary file in the same directory, synced, then renamed over the
/// old one). Reading a file that group or others can read fails.
pub struct FileTokenStore {
    path: PathBuf,
    lock: Mutex<()>,
}

impl fmt::Debug for FileTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileTokenStore").field("path", &self.path).finish()
    }
}

#[derive(Serialize, Deserialize, Default)]
struct FileBody {
    tokens: BTreeMap<String, FileEntry>,
}

#[derive(Serialize, Deserialize)]
struct FileEntry {
    refresh_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    issued_at: Option<Timestamp>,
}

impl FileTokenStore {
    /// A store in the file `path` (created on the first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileTokenStore { path: path.into(), lock: Mutex::new(()) }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, what: &str, e: std::io::Error) -> Error {
        Error::new(ErrorKind::TokenStore, format!("cannot {what} the token file {}", self.path.display()))
            .with_source(e)
    }

    fn read(&self) -> Result<FileBody, Error> {
        let file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileBody::default()),
            Err(e) => return Err(self.io("open", e)),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = file.metadata().map_err(|e| self.io("inspect", e))?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(Error::new(
                    ErrorKind::TokenStore,
                    format!(
                        "refusing to read the token file {}: its mode is {:o}, so group or others can read it; run `chmod 600` on it (and consider the tokens leaked)",
                        self.path.display(),
                        mode & 0o777
                    ),
                ));
            }
        }
        let body: FileBody = serde_json::from_reader(std::io::BufReader::new(file)).map_err(|e| {
            Error::new(ErrorKind::TokenStore, format!("the token file {} is not valid JSON", self.path.display()))
                .with_source(e)
        })?;
        Ok(body)
    }

    fn write(&self, body: &FileBody) -> Result<(), Error> {
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut rnd = [0u8; 8];
        getrandom::fill(&mut rnd)
            .map_err(|e| Error::new(ErrorKind::TokenStore, format!("no randomness for a temporary file name: {e}")))?;
        let name = self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "tokens".into());
        let tmp = dir.join(format!(".{name}.{:016x}.tmp", u64::from_le_bytes(rnd)));
        let json = serde_json::to_vec_pretty(body)
            .map_err(|e| Error::new(ErrorKind::TokenStore, "cannot encode the token file").with_source(e))?;
        let result = (|| -> std::io::Result<()> {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(&tmp)?;
            f.write_all(&json)?;
            f.sync_all()?;
            drop(f);
            std::fs::rename(&tmp, &self.path)?;
            // Sync the directory so that the rename itself survives a crash.
            #[cfg(unix)]
            if let Ok(d) = std::fs::File::open(&dir) {
                let _ = d.sync_all();
            }
            Ok(())
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(self.io("write", e));
        }
        Ok(())
    }
}

impl TokenStore for FileTokenStore {
    fn load(&self, usage_point: &UsagePointId) -> Result<Option<StoredToken>, Error> {
        let _g = self.lock.lock().map_err(|_| poisoned())?;
        let body = self.read()?;
        Ok(body
            .tokens
            .get(usage_point.as_str())
            .map(|e| StoredToken { refresh_token: RefreshToken::new(e.refresh_token.clone()), issued_at: e.issued_at }))
    }

    fn save(&self, usage_point: &UsagePointId, token: &StoredToken) -> Result<(), Error> {
        let _g = self.lock.lock().map_err(|_| poisoned())?;
        let mut body = self.read()?;
        body.tokens.insert(
            usage_point.as_str().to_owned(),
            FileEntry { refresh_token: token.refresh_token.secret().to_owned(), issued_at: token.issued_at },
        );
        self.write(&body)
    }

    fn remove(&self, usage_point: &UsagePointId) -> Result<(), Error> {
        let _g = self.lock.lock().map_err(|_| poisoned())?;
        let mut body = self.read()?;
        if body.tokens.remove(usage_point.as_str()).is_some() {
            self.write(&body)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prm() -> UsagePointId {
        UsagePointId::new("22516914714270").unwrap()
    }

    #[test]
    fn round_trip_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileTokenStore::new(dir.path().join("tokens.json"));
        assert_eq!(store.load(&prm()).unwrap(), None);
        let t = StoredToken { refresh_token: RefreshToken::new("r1"), issued_at: Some(Timestamp::UNIX_EPOCH) };
        store.save(&prm(), &t).unwrap();
        assert_eq!(store.load(&prm()).unwrap(), Some(t));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        store.remove(&prm()).unwrap();
        assert_eq!(store.load(&prm()).unwrap(), None);
        assert!(!format!("{store:?}").contains("r1"));
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_readable_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        std::fs::write(&path, r#"{"tokens":{}}"#).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = FileTokenStore::new(&path).load(&prm()).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::TokenStore);
        assert!(e.to_string().contains("chmod 600"), "{e}");
    }
}
