//! `--request-log FILE`: one JSON line per request (time, method, path,
//! query, status), so that tests and users can count the calls a client
//! makes.
//!
//! Each line is written with one `write` call on a file opened for
//! appending, and nothing is buffered, so a reader sees every finished
//! request while the server runs. Query values that are secrets (client
//! secret, codes, tokens) are replaced by `[redacted]`: the log is a file
//! users share in bug reports.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use jiff::Timestamp;

use super::{parse_form, percent_encode};

/// Query parameters whose values never reach the log.
const SECRET_PARAMS: &[&str] = &["client_secret", "code", "refresh_token", "token", "access_token"];

/// The open request log.
pub(crate) struct RequestLog {
    file: Mutex<File>,
}

/// One request, as logged.
#[derive(Clone, Copy, serde::Serialize)]
pub(crate) struct Entry<'a> {
    /// When the response was sent (the sandbox's clock, RFC 3339 UTC).
    pub(crate) time: Timestamp,
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    /// The raw query string (secrets redacted), `null` when there is none.
    pub(crate) query: Option<&'a str>,
    pub(crate) status: u16,
    /// The injected fault, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fault: Option<&'static str>,
}

impl RequestLog {
    /// Opens (creating or appending to) the log file.
    pub(crate) fn open(path: &Path) -> std::io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(RequestLog { file: Mutex::new(file) })
    }

    /// Appends one line. A failed write (disk full) is reported once per
    /// request on stderr through tracing, never turned into a failed
    /// request: the log observes the sandbox, it is not part of it.
    pub(crate) fn write(&self, entry: &Entry<'_>) {
        let redacted = entry.query.map(redact);
        let entry = Entry { query: redacted.as_deref(), ..*entry };
        let Ok(mut line) = serde_json::to_vec(&entry) else { return };
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = file.write_all(&line) {
            tracing::warn!("request log: {e}");
        }
    }
}

/// The query with the values of secret parameters replaced.
fn redact(query: &str) -> String {
    let pairs = parse_form(query.as_bytes());
    if !pairs.iter().any(|(n, _)| SECRET_PARAMS.contains(&n.as_str())) {
        return query.to_owned();
    }
    pairs
        .iter()
        .map(|(n, v)| {
            let value = if SECRET_PARAMS.contains(&n.as_str()) { "[redacted]".to_owned() } else { percent_encode(v) };
            format!("{}={value}", percent_encode(n))
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(redact("start=2024-01-01&usage_point_id=1"), "start=2024-01-01&usage_point_id=1");
        assert_eq!(
            redact("grant_type=client_credentials&client_id=a&client_secret=s3cr3t"),
            "grant_type=client_credentials&client_id=a&client_secret=[redacted]"
        );
    }
}
