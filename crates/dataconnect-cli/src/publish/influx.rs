//! `publish influx`: stored readings in line protocol, sent in batches to
//! InfluxDB 1.x (`/write`), InfluxDB 2 (`/api/v2/write`) or VictoriaMetrics
//! (`/write`, its InfluxDB-compatible endpoint).
//!
//! The store is read on a blocking thread while the batches already encoded
//! are sent, so reading and sending overlap; a bounded channel between the
//! two keeps memory at a few batches whatever the store holds. Points are
//! keyed by series and timestamp (see `line`), so a run repeated, or
//! interrupted and run again, overwrites what it wrote before.

use std::sync::Arc;
use std::time::Duration;

use dataconnect_store::{ReadingFilter, Store};
use url::Url;

use super::line;
use crate::error::{Class, CliError};
use crate::settings::Secret;
use crate::store::AnyStore;

/// Lines per request: InfluxDB's documentation advises batches of about
/// 5,000 points, and a batch of this size is a few hundred kilobytes.
pub const BATCH_LINES: usize = 5000;

/// Which write API the URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `/write?db=…&precision=s`: InfluxDB 1.x and VictoriaMetrics.
    V1,
    /// `/api/v2/write?org=…&bucket=…&precision=s`: InfluxDB 2 (and 3's v2 API).
    V2,
}

/// Where to write, as the flags say.
pub struct TargetArgs<'a> {
    /// `--url`: a base URL, or one ending in `/write` or `/api/v2/write`.
    pub url: &'a str,
    /// `--database` (InfluxDB 1.x; optional for VictoriaMetrics).
    pub database: Option<&'a str>,
    /// `--org` and `--bucket` (InfluxDB 2).
    pub org: Option<&'a str>,
    pub bucket: Option<&'a str>,
    /// The token read from `--token-file`.
    pub token: Option<Secret>,
}

/// A write endpoint, checked once; its `Debug` hides the token.
#[derive(Clone)]
pub struct InfluxTarget {
    write_url: Url,
    flavor: Flavor,
    token: Option<Secret>,
}

impl std::fmt::Debug for InfluxTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InfluxTarget").field("url", &self.shown()).field("flavor", &self.flavor).finish_non_exhaustive()
    }
}

impl InfluxTarget {
    /// Checks the flags and builds the write URL: the path says which API
    /// (`…/api/v2/write` or `…/write`); a base URL picks InfluxDB 2's when
    /// `--org`/`--bucket` are given, else `/write`.
    pub fn new(args: TargetArgs<'_>) -> Result<InfluxTarget, CliError> {
        let mut url = Url::parse(args.url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                CliError::usage(format!(
                    "--url {:?} is not an http(s) URL: write it like http://127.0.0.1:8428 (VictoriaMetrics) or http://127.0.0.1:8086 (InfluxDB)",
                    shown_text(args.url)
                ))
            })?;
        let path = url.path().trim_end_matches('/').to_owned();
        let v2_asked = args.org.is_some() || args.bucket.is_some();
        let flavor = if path.ends_with("/api/v2/write") {
            Flavor::V2
        } else if path.ends_with("/write") {
            Flavor::V1
        } else {
            url.set_path(&format!("{path}/{}", if v2_asked { "api/v2/write" } else { "write" }));
            if v2_asked { Flavor::V2 } else { Flavor::V1 }
        };
        let mut query: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "precision")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let has = |q: &[(String, String)], k: &str| q.iter().any(|(key, _)| key == k);
        match flavor {
            Flavor::V2 => {
                if args.database.is_some() {
                    return Err(CliError::usage(
                        "--database is for InfluxDB 1.x and VictoriaMetrics (/write); InfluxDB 2 (/api/v2/write) takes --org and --bucket",
                    ));
                }
                for (flag, key, value) in [("--org", "org", args.org), ("--bucket", "bucket", args.bucket)] {
                    match value {
                        Some(v) => query.push((key.into(), v.into())),
                        None if has(&query, key) => {}
                        None => {
                            return Err(CliError::usage(format!(
                                "InfluxDB 2 needs {flag}: pass --org ORG --bucket BUCKET"
                            )));
                        }
                    }
                }
            }
            Flavor::V1 => {
                if v2_asked {
                    return Err(CliError::usage(format!(
                        "--org/--bucket are for InfluxDB 2, but --url {} names the 1.x /write API: drop /write from the URL or pass --database",
                        shown_url(&url)
                    )));
                }
                if let Some(db) = args.database {
                    query.push(("db".into(), db.into()));
                }
            }
        }
        query.push(("precision".into(), "s".into()));
        url.query_pairs_mut().clear().extend_pairs(query);
        Ok(InfluxTarget { write_url: url, flavor, token: args.token })
    }

    /// The write URL without credentials, for messages.
    pub fn shown(&self) -> String {
        shown_url(&self.write_url)
    }
}

fn shown_url(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.to_string()
}

/// A URL that did not parse is shown without anything after `@` or `?`,
/// where credentials could be.
fn shown_text(text: &str) -> String {
    let text = text.split('?').next().unwrap_or_default();
    match text.rsplit_once('@') {
        Some((scheme_user, host)) => format!("{}…@{host}", scheme_user.split("//").next().unwrap_or_default()),
        None => text.to_owned(),
    }
}

/// Sends batches of line protocol to one target.
pub struct Writer {
    http: reqwest::Client,
    target: InfluxTarget,
}

impl Writer {
    pub fn new(target: InfluxTarget) -> Result<Writer, CliError> {
        crate::publish::install_tls_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| CliError::internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(Writer { http, target })
    }

    /// The target written to.
    pub fn target(&self) -> &InfluxTarget {
        &self.target
    }

    /// Sends one batch, retrying a connection failure or a 5xx/429 answer
    /// twice (after 1 s, then 4 s): a batch is idempotent, so sending it
    /// again is safe.
    pub async fn send(&self, body: Vec<u8>) -> Result<(), CliError> {
        let body = bytes_of(body);
        let mut attempt = 0;
        loop {
            match self.send_once(body.clone()).await {
                Ok(()) => return Ok(()),
                Err(Failure::Retry(e)) if attempt < 2 => {
                    tracing::debug!("influx write failed, retrying: {}", e.line());
                    attempt += 1;
                    tokio::time::sleep(Duration::from_secs(if attempt == 1 { 1 } else { 4 })).await;
                }
                Err(Failure::Retry(e) | Failure::Final(e)) => return Err(e),
            }
        }
    }

    async fn send_once(&self, body: bytes::Bytes) -> Result<(), Failure> {
        let mut request = self
            .http
            .post(self.target.write_url.clone())
            .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(body);
        if let Some(token) = &self.target.token {
            request = match (self.target.flavor, token.expose().split_once(':')) {
                // InfluxDB 1.x authenticates a user and a password.
                (Flavor::V1, Some((user, password))) => request.basic_auth(user, Some(password)),
                _ => request.header(reqwest::header::AUTHORIZATION, format!("Token {}", token.expose())),
            };
        }
        let shown = self.target.shown();
        let response = request.send().await.map_err(|e| {
            Failure::Retry(CliError::new(
                Class::Network,
                format!("cannot write to {shown}: {}: check --url and that the server runs", without_url(&e)),
            ))
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = response.text().await.unwrap_or_default();
        let said: String = text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(300).collect();
        let fix = match status.as_u16() {
            401 | 403 => "check --token-file (a token, or user:password for InfluxDB 1.x)",
            404 if said.contains("database") || said.contains("bucket") => {
                "create it first, or check --database/--bucket"
            }
            404 => "check --url: it must name the server's base URL, /write or /api/v2/write",
            400 if said.contains("database is required") => "pass --database NAME",
            _ => "check the server's log",
        };
        let class = match status.as_u16() {
            401 | 403 => Class::Auth,
            429 | 500.. => Class::Network,
            _ => Class::Config,
        };
        let e = CliError::new(class, format!("{shown} refused the write with {status}: {said}: {fix}"));
        Err(if class == Class::Network { Failure::Retry(e) } else { Failure::Final(e) })
    }
}

enum Failure {
    Retry(CliError),
    Final(CliError),
}

/// The batch as shared bytes: a retry sends the same buffer again without copying it.
fn bytes_of(body: Vec<u8>) -> bytes::Bytes {
    bytes::Bytes::from(body)
}

/// A reqwest error's text without the URL it carries (the URL may hold a
/// user and password).
fn without_url(e: &reqwest::Error) -> String {
    let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut last = None;
    while let Some(c) = cause {
        last = Some(c.to_string());
        cause = c.source();
    }
    last.unwrap_or_else(|| if e.is_timeout() { "timed out".into() } else { "the connection failed".into() })
}

/// What a publication wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Points written.
    pub points: u64,
    /// Readings left out because they have no value.
    pub nulls: u64,
    /// Requests sent.
    pub batches: u64,
}

/// Encodes every reading `filter` matches and sends it in batches of
/// `batch_lines`. Stops at the first batch the server refuses for good;
/// what was sent before stays written (and is written again, unchanged, by
/// the next run).
pub async fn publish(
    store: Arc<AnyStore>,
    filter: ReadingFilter,
    writer: &Writer,
    batch_lines: usize,
) -> Result<Report, CliError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(Vec<u8>, u64)>(4);
    let reader = tokio::task::spawn_blocking(move || encode_all(&**store, &filter, batch_lines, &tx));
    let mut report = Report::default();
    let mut failed = None;
    while let Some((body, points)) = rx.recv().await {
        if let Err(e) = writer.send(body).await {
            failed = Some(e);
            break;
        }
        report.points += points;
        report.batches += 1;
    }
    // Dropping the receiver makes the reader's next send fail, so it stops.
    drop(rx);
    let read = reader.await.map_err(|e| CliError::internal(format!("the store reader stopped: {e}")))?;
    if let Some(e) = failed {
        return Err(e);
    }
    report.nulls = read?;
    Ok(report)
}

/// Reads the store and hands batches to `tx`; returns the nulls left out.
fn encode_all(
    store: &dyn Store,
    filter: &ReadingFilter,
    batch_lines: usize,
    tx: &tokio::sync::mpsc::Sender<(Vec<u8>, u64)>,
) -> Result<u64, CliError> {
    let mut buf = Vec::with_capacity(batch_lines * 100);
    let mut lines = 0u64;
    let mut nulls = 0u64;
    let stopped = || std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the writer stopped");
    let result = store.for_each_reading(filter, &mut |r| {
        if line::write_point(&mut buf, &r.usage_point_id, r.series, &r.reading)? {
            lines += 1;
        } else {
            nulls += 1;
        }
        if lines as usize >= batch_lines {
            let full = std::mem::replace(&mut buf, Vec::with_capacity(batch_lines * 100));
            tx.blocking_send((full, lines)).map_err(|_| stopped())?;
            lines = 0;
        }
        Ok(())
    });
    match result {
        Ok(_) => {}
        // The sending side failed and said why; nothing to add here.
        Err(e) if e.kind() == dataconnect_store::StoreErrorKind::Output => return Ok(nulls),
        Err(e) => return Err(e.into()),
    }
    if lines > 0 {
        let _ = tx.blocking_send((buf, lines));
    }
    Ok(nulls)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(
        url: &str,
        database: Option<&str>,
        org: Option<&str>,
        bucket: Option<&str>,
    ) -> Result<InfluxTarget, CliError> {
        InfluxTarget::new(TargetArgs { url, database, org, bucket, token: None })
    }

    #[test]
    fn the_url_and_flags_pick_the_api() {
        let t = target("http://127.0.0.1:8428", None, None, None).unwrap();
        assert_eq!((t.flavor, t.write_url.as_str()), (Flavor::V1, "http://127.0.0.1:8428/write?precision=s"));
        let t = target("http://h:8086/", Some("linky"), None, None).unwrap();
        assert_eq!(t.write_url.as_str(), "http://h:8086/write?db=linky&precision=s");
        let t = target("http://h:8086/influx/write?precision=ns", None, None, None).unwrap();
        assert_eq!(t.write_url.as_str(), "http://h:8086/influx/write?precision=s");
        let t = target("https://h:8086", None, Some("home"), Some("linky")).unwrap();
        assert_eq!(
            (t.flavor, t.write_url.as_str()),
            (Flavor::V2, "https://h:8086/api/v2/write?org=home&bucket=linky&precision=s")
        );
        let t = target("http://h:8086/api/v2/write?org=a&bucket=b", None, None, None).unwrap();
        assert_eq!(t.flavor, Flavor::V2);
    }

    #[test]
    fn wrong_combinations_name_the_fix() {
        let e = target("http://h:8086/api/v2/write", None, Some("o"), None).unwrap_err();
        assert!(e.line().contains("--bucket"), "{}", e.line());
        let e = target("http://h:8086/write", None, Some("o"), Some("b")).unwrap_err();
        assert!(e.line().contains("drop /write"), "{}", e.line());
        let e = target("ftp://user:pw@h/x?token=1", None, None, None).unwrap_err();
        assert!(!e.line().contains("pw") && !e.line().contains("token=1"), "{}", e.line());
    }

    #[test]
    fn the_shown_url_holds_no_credentials() {
        let t = target("http://admin:hunter2@h:8086", Some("d"), None, None).unwrap();
        assert_eq!(t.shown(), "http://h:8086/write");
        assert!(!format!("{t:?}").contains("hunter2"));
    }
}
