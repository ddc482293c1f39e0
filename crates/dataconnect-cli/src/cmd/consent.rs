//! `dataconnect consent`: asks a customer for consent and records it.
//!
//! Without a subcommand it prints the authorize URL for the configured
//! generation on a line of its own and remembers the pending request (its
//! random `state`) in the store. With `--listen`, when the redirect URI
//! points at this machine, it also receives the redirect itself (one
//! request, then it stops), checks the state and records the consent.
//! `consent complete --url '<redirect URL>'` does the same from a URL the
//! customer's browser ended on. `consent import FILE` records consents
//! obtained elsewhere (an earlier gateway, a CRM export, the sandbox's
//! `--fleet`), one PRM a line, after checking every line: a bad line
//! stops the import before anything is written.

use std::collections::HashMap;
use std::io::Read as _;
use std::time::Duration;

use clap::{Args, Subcommand};
use dataconnect::{Client, ConsentDuration, Generation, UsagePointId};
use dataconnect_store::{PendingConsent, Store};
use jiff::Timestamp;
use jiff::civil::Date;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

use crate::error::{Class, CliError, from_client};
use crate::settings::{GlobalArgs, Settings};

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cmd {
    #[command(subcommand)]
    action: Option<Action>,
    #[command(flatten)]
    global: GlobalArgs,
    /// How long the consent lasts, as an ISO 8601 duration (at most P3Y).
    #[arg(long, default_value = "P3Y", value_name = "DURATION")]
    duration: String,
    /// Make the state's last digit N, which is how the sandbox (ours and Enedis's) picks its test client 0 to 9.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=9))]
    sandbox_client: Option<u8>,
    /// Receive the redirect on the redirect URI's port (it must point at this machine), then record the consent.
    #[arg(long)]
    listen: bool,
    /// With --listen: give up after this many seconds.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    timeout: u64,
}

#[derive(Subcommand, Debug)]
enum Action {
    /// Record a consent from the URL the customer's browser was redirected to.
    Complete(Complete),
    /// Record consents obtained elsewhere (an earlier gateway, a CRM export, the sandbox's --fleet) from a file.
    Import(Import),
}

#[derive(Args, Debug)]
#[command(after_long_help = IMPORT_HELP)]
struct Import {
    #[command(flatten)]
    global: GlobalArgs,
    /// The file of consents, one `prm[,expiry]` line per meter; `-` reads standard input.
    #[arg(value_name = "FILE")]
    file: String,
}

const IMPORT_HELP: &str = "\
FILE is CSV or plain text, one meter per line: `prm` or `prm,expiry` (`;` also separates).
  prm     the meter's 14-digit PRM (usage point id)
  expiry  the day the consent ends, YYYY-MM-DD, after today and at most 3 years later
          [default: today + 3 years]
A first line without digits in its first field (a header such as `prm,expiry`) is skipped,
as are blank lines and lines starting with #. Every line is checked before anything is
written: a malformed PRM or date, an expiry out of range or a PRM given twice stops the
import with the line number, and nothing is recorded. The consents start today (--today)
and belong to the configured generation (v5 or 2026: generation 1 consents carry a
customer's own token, which only `dataconnect consent` can obtain).

Example, the 20 first meters of `dataconnect sandbox --fleet 20`:
  seq -f '2500000000%04g' 1 20 | dataconnect consent import -";

#[derive(Args, Debug)]
struct Complete {
    #[command(flatten)]
    global: GlobalArgs,
    /// The full redirect URL, with its query string (quote it in the shell).
    #[arg(long, value_name = "URL")]
    url: String,
}

impl Cmd {
    pub async fn run(self) -> Result<(), CliError> {
        match self.action {
            Some(Action::Complete(c)) => return c.run().await,
            Some(Action::Import(c)) => return c.run(),
            None => {}
        }
        let duration =
            ConsentDuration::parse(&self.duration).map_err(|e| CliError::usage(format!("{e} (--duration)")))?;
        let settings = Settings::resolve(&self.global)?;
        let client_settings = settings.client()?;
        let listen_on =
            if self.listen { Some(local_listen_addr(client_settings.redirect_uri.as_ref())?) } else { None };
        let store = crate::store::open_rw(&settings.db)?;
        let client = crate::source::client(&client_settings, &settings.db)?;
        let request = client.consent_request(duration, self.sandbox_client).map_err(|e| from_client(&e))?;
        let state = request.state().to_owned();
        let pending = PendingConsent {
            state: state.clone(),
            generation: settings.generation,
            duration,
            sandbox_client: self.sandbox_client,
            created_at: Timestamp::now(),
        };
        // Bind before printing the URL, so that a browser that is fast to
        // follow it always finds the listener.
        let listener = match &listen_on {
            Some(addr) => Some(tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                CliError::config(format!(
                    "cannot listen on {addr} for the redirect: {e}: free the port or change the redirect URI"
                ))
            })?),
            None => None,
        };
        store.add_pending_consent(&pending)?;
        println!("{}", request.url());
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        let Some(listener) = listener else {
            eprintln!(
                "Open the URL above in the customer's browser; then run `dataconnect consent complete --url '<the URL it was redirected to>'`."
            );
            return Ok(());
        };
        eprintln!("waiting for the redirect on http://{}/ …", listen_on.as_deref().unwrap_or_default());
        let base =
            client_settings.redirect_uri.clone().ok_or_else(|| CliError::config("--listen needs a redirect URI"))?;
        let url = tokio::time::timeout(Duration::from_secs(self.timeout), receive_redirect(listener, &base))
            .await
            .map_err(|_| {
            CliError::new(
                Class::Consent,
                format!("no redirect arrived within {} s: run `dataconnect consent --listen` again", self.timeout),
            )
        })??;
        complete(&store, &client, &url).await
    }
}

impl Complete {
    async fn run(self) -> Result<(), CliError> {
        let settings = Settings::resolve(&self.global)?;
        let url = Url::parse(self.url.trim()).map_err(|e| {
            CliError::usage(format!(
                "--url is not a URL ({e}): paste the whole address the browser ended on, in quotes"
            ))
        })?;
        let client_settings = settings.client()?;
        let store = crate::store::open_rw(&settings.db)?;
        let client = crate::source::client(&client_settings, &settings.db)?;
        complete(&store, &client, &url).await
    }
}

impl Import {
    fn run(self) -> Result<(), CliError> {
        let settings = Settings::resolve(&self.global)?;
        if settings.generation == Generation::Legacy {
            return Err(CliError::config(
                "consent import records generation v5 or 2026 consents (read with the application's token); a generation 1 consent needs the customer's own token, which only `dataconnect consent` obtains: use --generation v5 or 2026",
            ));
        }
        let (text, source) = read_input(&self.file)?;
        let start = settings.today();
        let lines = parse_import(&text, start)?;
        // Everything is checked: now write, one consent (one transaction)
        // per expiry day, so the usual file (every line with the default
        // expiry) is recorded all at once.
        let store = crate::store::open_rw(&settings.db)?;
        let mut by_expiry: Vec<(Date, Vec<UsagePointId>)> = Vec::new();
        for line in lines {
            match by_expiry.iter_mut().find(|(e, _)| *e == line.expiry) {
                Some((_, prms)) => prms.push(line.prm),
                None => by_expiry.push((line.expiry, vec![line.prm])),
            }
        }
        let now = Timestamp::now();
        let mut count = 0;
        for (expiry, usage_points) in &by_expiry {
            let consent = dataconnect::Consent {
                usage_points: usage_points.clone(),
                generation: settings.generation,
                start,
                duration: duration_until(start, *expiry)?,
                state: format!("import:{source}"),
                autorisation_id: None,
            };
            store.record_consent(&consent, now)?;
            count += usage_points.len();
        }
        let expiries: Vec<Date> = by_expiry.iter().map(|(e, _)| *e).collect();
        let (first, last) = (expiries.iter().min(), expiries.iter().max());
        let until = match (first, last) {
            (Some(a), Some(b)) if a == b => format!("until {a}"),
            (Some(a), Some(b)) => format!("until {a} to {b}"),
            _ => String::new(),
        };
        let plural = if count == 1 { "" } else { "s" };
        println!("recorded {count} consent{plural} (generation {}), from {start} {until}", settings.generation);
        Ok(())
    }
}

/// One checked line of an import file.
#[derive(Debug, PartialEq)]
struct ImportLine {
    prm: UsagePointId,
    expiry: Date,
}

/// Reads FILE (or standard input for `-`) as UTF-8; returns the text and
/// the name to record as the consents' origin.
fn read_input(file: &str) -> Result<(String, String), CliError> {
    let mut bytes = Vec::new();
    let (read, source) = if file == "-" {
        (std::io::stdin().lock().read_to_end(&mut bytes).map(|_| ()), "stdin".to_owned())
    } else {
        (std::fs::File::open(file).and_then(|mut f| f.read_to_end(&mut bytes)).map(|_| ()), file.to_owned())
    };
    read.map_err(|e| {
        CliError::usage(format!("cannot read {source}: {e}: give an existing file, or - for standard input"))
    })?;
    let text = String::from_utf8(bytes)
        .map_err(|_| CliError::usage(format!("{source} is not UTF-8 text: save it as UTF-8 CSV or plain text")))?;
    Ok((text, source))
}

/// The consent duration from `start` to `expiry` (exclusive end): P3Y when
/// that is what it is, else a number of days.
fn duration_until(start: Date, expiry: Date) -> Result<ConsentDuration, CliError> {
    if ConsentDuration::MAX.expiry(start) == expiry {
        return Ok(ConsentDuration::MAX);
    }
    let days = (expiry - start).get_days();
    ConsentDuration::parse(&format!("P{days}D")).map_err(|e| CliError::internal(format!("import duration: {e}")))
}

/// Checks every line of an import file, consents starting on `start`.
/// Returns the lines, or one error naming the first bad line and its fix.
fn parse_import(text: &str, start: Date) -> Result<Vec<ImportLine>, CliError> {
    let latest = ConsentDuration::MAX.expiry(start);
    let mut out = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut first_bad: Option<String> = None;
    let mut bad = 0usize;
    let mut first_content = true;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim_start_matches('\u{feff}').trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split([',', ';', '\t']).map(|f| f.trim().trim_matches('"').trim()).collect();
        let is_first = std::mem::take(&mut first_content);
        if is_first && !fields[0].bytes().any(|b| b.is_ascii_digit()) {
            // A header line (`prm,expiry`, `usage_point_id;date_fin`…).
            continue;
        }
        let checked =
            check_line(&fields, start, latest).and_then(|l| match seen.insert(l.prm.as_str().to_owned(), number) {
                Some(earlier) => {
                    Err(format!("PRM {} is already on line {earlier}: keep one line per meter", l.prm.as_str()))
                }
                None => Ok(l),
            });
        match checked {
            Ok(l) => out.push(l),
            Err(problem) => {
                bad += 1;
                first_bad.get_or_insert_with(|| format!("line {number}: {problem}"));
            }
        }
    }
    if let Some(first) = first_bad {
        let more = match bad {
            1 => String::new(),
            2 => " (and 1 more bad line after it)".to_owned(),
            n => format!(" (and {} more bad lines after it)", n - 1),
        };
        return Err(CliError::usage(format!("{first}{more}; nothing was imported")));
    }
    if out.is_empty() {
        return Err(CliError::usage(
            "the file holds no PRM: give one `prm` or `prm,expiry` line per meter (see dataconnect consent import --help)",
        ));
    }
    Ok(out)
}

/// Checks one line's fields: a PRM, then an optional expiry day.
fn check_line(fields: &[&str], start: Date, latest: Date) -> Result<ImportLine, String> {
    if fields.len() > 2 {
        return Err(format!(
            "{} fields where `prm` or `prm,expiry` was expected: remove the extra columns",
            fields.len()
        ));
    }
    let prm = UsagePointId::new(fields[0]).map_err(|e| e.to_string())?;
    let expiry = match fields.get(1).filter(|f| !f.is_empty()) {
        None => latest,
        Some(text) => {
            let shown: String = text.chars().take(20).collect();
            let day = strict_day(text).ok_or_else(|| {
                format!("`{shown}` is not a date: write the expiry as YYYY-MM-DD, or leave it out for {latest}")
            })?;
            if day <= start {
                return Err(format!(
                    "expiry {day} is not after the start {start} (--today): a consent that has ended cannot be imported; remove the line or fix the date"
                ));
            }
            if day > latest {
                return Err(format!(
                    "expiry {day} is more than 3 years after the start {start}: Enedis grants at most 3 years; use {latest} or earlier"
                ));
            }
            day
        }
    };
    Ok(ImportLine { prm, expiry })
}

/// A strict `YYYY-MM-DD` day.
fn strict_day(text: &str) -> Option<Date> {
    let b = text.as_bytes();
    let shape = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() });
    if !shape {
        return None;
    }
    text.parse::<Date>().ok()
}

/// Checks the redirect's state against the pending requests, completes the
/// consent with the API and records it.
pub async fn complete(store: &dyn Store, client: &Client, url: &Url) -> Result<(), CliError> {
    let done = crate::consent_redirect::complete_quiet(store, client, url).await?;
    let consent = done.consent;
    let meters: Vec<String> = consent.usage_points.iter().map(|p| p.to_string()).collect();
    if done.written.is_empty() {
        println!(
            "consent confirmed: meters {} (generation {}); the consent on record already lasts as long or longer, so it was kept",
            meters.join(", "),
            consent.generation
        );
        return Ok(());
    }
    println!(
        "consent recorded: meters {} (generation {}), from {} for {}, until {}",
        meters.join(", "),
        consent.generation,
        consent.start,
        consent.duration,
        consent.expiry()
    );
    Ok(())
}

/// The address to listen on for the redirect: the redirect URI's host and
/// port, which must be this machine over plain HTTP.
fn local_listen_addr(redirect: Option<&Url>) -> Result<String, CliError> {
    let url = redirect.ok_or_else(|| {
        CliError::config("--listen needs a redirect URI: pass --redirect-uri http://127.0.0.1:PORT/callback or set DATACONNECT_REDIRECT_URI")
    })?;
    let host = url.host_str().unwrap_or_default();
    let local = matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1");
    if url.scheme() != "http" || !local {
        return Err(CliError::config(format!(
            "--listen needs a redirect URI on this machine over http (like http://127.0.0.1:8081/callback), not {url}: use `dataconnect consent complete --url` instead"
        )));
    }
    let port = url.port_or_known_default().unwrap_or(80);
    let host = if host == "localhost" { "127.0.0.1" } else { host };
    Ok(format!("{host}:{port}"))
}

/// How long one connection to the redirect listener may take to send its
/// request head (a browser sends it at once).
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves requests until one arrives on the redirect path with a query; answers
/// it with a short page and returns the full redirect URL.
async fn receive_redirect(listener: tokio::net::TcpListener, base: &Url) -> Result<Url, CliError> {
    let path = base.path();
    loop {
        let (mut stream, _) = listener
            .accept()
            .await
            .map_err(|e| CliError::new(Class::Network, format!("the redirect listener failed: {e}")))?;
        let mut buf = vec![0u8; 16 * 1024];
        let mut len = 0;
        // Read the request head only; a redirect is a GET without a body.
        // A client that connects and then sends nothing (or drips) would
        // hold this one-at-a-time listener until the global timeout and
        // lock the customer's browser out: each connection gets a few
        // seconds to send its head.
        let head = async {
            while len < buf.len() {
                let n = match stream.read(&mut buf[len..]).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                len += n;
                if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
        };
        if tokio::time::timeout(HEAD_TIMEOUT, head).await.is_err() {
            let _ = stream
                .write_all(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .await;
            continue;
        }
        let head = String::from_utf8_lossy(&buf[..len]);
        let target = head.lines().next().and_then(|l| l.split_whitespace().nth(1)).unwrap_or("");
        let Ok(url) = base.join(target) else {
            let _ =
                stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
            continue;
        };
        if url.path() != path || url.query().is_none() {
            // Browsers also ask for /favicon.ico and the like.
            let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
            continue;
        }
        let body = "<!doctype html><meta charset=utf-8><title>dataconnect</title><p>Thank you. The consent was received; you can close this tab.</p>";
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
        return Ok(url);
    }
}
