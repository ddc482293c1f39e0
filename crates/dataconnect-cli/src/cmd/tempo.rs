//! `dataconnect tempo update|import`: RTE's Tempo calendar into the store.
//!
//! The calendar since 2014-09-01 ships with dataconnect (up to its data's
//! end; see `crates/dataconnect-costs/data/SOURCES.md`), so Tempo costs work
//! without RTE credentials. `update` asks RTE's public API
//! (`tempo_like_supply_contract/v1/tempo_like_calendars`) for the days still
//! missing, at most 366 days per call and no later than today + 2, with
//! OAuth2 client credentials from `DATACONNECT_RTE_CLIENT_ID` and
//! `DATACONNECT_RTE_CLIENT_SECRET` (or the file named by
//! `DATACONNECT_RTE_CLIENT_SECRET_FILE`): never a flag, never printed.
//! `import` stores a saved answer of that API.
//! 2022-12-28 has no colour in RTE's data; costs price it as a blue day.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use dataconnect_costs::TempoColour;
use dataconnect_costs::calendar::{FIRST_DAY, UNCOLOURED_DAY, parse_rte};
use dataconnect_store::{Store, TempoDay};
use jiff::civil::Date;
use serde::Deserialize;

use crate::error::{Class, CliError};
use crate::pricing::cost_error;
use crate::settings::{GlobalArgs, Settings};

/// RTE's API host, when `DATACONNECT_RTE_BASE_URL` does not say another.
pub const RTE_BASE_URL: &str = "https://digital.iservices.rte-france.com";

/// At most this many days per call (RTE's limit).
const MAX_DAYS: i64 = 366;

#[derive(Args, Debug)]
pub struct Cmd {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand, Debug)]
enum Action {
    /// Fetch the missing days from RTE's API (credentials: DATACONNECT_RTE_CLIENT_ID and DATACONNECT_RTE_CLIENT_SECRET or DATACONNECT_RTE_CLIENT_SECRET_FILE; host: DATACONNECT_RTE_BASE_URL).
    Update {
        #[command(flatten)]
        global: GlobalArgs,
    },
    /// Store a saved answer of RTE's tempo_like_calendars (JSON).
    Import {
        #[command(flatten)]
        global: GlobalArgs,
        /// The JSON file(s).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

impl Cmd {
    pub async fn run(self) -> Result<(), CliError> {
        match self.action {
            Action::Update { global } => update(&global).await,
            Action::Import { global, files } => import(&global, &files),
        }
    }
}

fn import(global: &GlobalArgs, files: &[PathBuf]) -> Result<(), CliError> {
    // Every file is read and checked before anything is written.
    let mut days = Vec::new();
    for f in files {
        let text =
            std::fs::read_to_string(f).map_err(|e| CliError::usage(format!("cannot read {}: {e}", f.display())))?;
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        for (day, c) in parse_rte(&f.display().to_string(), &text).map_err(cost_error)? {
            days.push(TempoDay { day, color: c.name().to_owned(), source: name.clone() });
        }
    }
    let settings = Settings::resolve(global)?;
    let store = crate::store::open_rw(&settings.db)?;
    let n = store.put_tempo_days(&days)?;
    println!("{}", summary(n, &days));
    Ok(())
}

fn summary(n: u64, days: &[TempoDay]) -> String {
    match (days.iter().map(|d| d.day).min(), days.iter().map(|d| d.day).max()) {
        (Some(a), Some(b)) => format!("stored {n} Tempo day(s) from {a} to {b}"),
        _ => "stored no Tempo day (the answer had none)".to_owned(),
    }
}

/// RTE's credentials, from the environment only.
struct Credentials {
    id: String,
    secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("id", &self.id).field("secret", &"[redacted]").finish()
    }
}

fn credentials() -> Result<Credentials, CliError> {
    let var = |k: &str| std::env::var(k).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let missing = "RTE credentials are missing: set DATACONNECT_RTE_CLIENT_ID and DATACONNECT_RTE_CLIENT_SECRET (or DATACONNECT_RTE_CLIENT_SECRET_FILE, a file holding the secret) from your application on RTE's data portal; without them, Tempo costs use the shipped calendar and `dataconnect tempo import FILE`";
    let id = var("DATACONNECT_RTE_CLIENT_ID").ok_or_else(|| CliError::config(missing))?;
    let secret = match (var("DATACONNECT_RTE_CLIENT_SECRET"), var("DATACONNECT_RTE_CLIENT_SECRET_FILE")) {
        (Some(s), _) => s,
        (None, Some(path)) => std::fs::read_to_string(&path)
            .map(|s| s.trim().to_owned())
            .map_err(|e| CliError::config(format!("cannot read DATACONNECT_RTE_CLIENT_SECRET_FILE {path}: {e}")))?,
        (None, None) => return Err(CliError::config(missing)),
    };
    Ok(Credentials { id, secret })
}

#[derive(Deserialize)]
struct Token {
    access_token: String,
}

async fn update(global: &GlobalArgs) -> Result<(), CliError> {
    let creds = credentials()?;
    let settings = Settings::resolve(global)?;
    let store = crate::store::open_rw(&settings.db)?;
    let today = settings.today();
    let end = today.checked_add(jiff::Span::new().days(2)).map_err(|e| CliError::internal(e.to_string()))?;
    let cal = crate::pricing::calendar(&*store)?;
    let runs = missing_runs(&cal.missing(FIRST_DAY, end));
    if runs.is_empty() {
        println!("the Tempo calendar is complete up to {}", end.yesterday().unwrap_or(end));
        return Ok(());
    }
    let base = std::env::var("DATACONNECT_RTE_BASE_URL").unwrap_or_else(|_| RTE_BASE_URL.to_owned());
    let base = base.trim_end_matches('/').to_owned();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| CliError::internal(format!("cannot build the HTTP client: {e}")))?;
    let token = token(&http, &base, &creds).await?;
    let mut stored = Vec::new();
    for (a, b) in runs {
        for (s, e) in chunks(a, b) {
            let days = fetch(&http, &base, &token, s, e).await?;
            // Each answer is stored at once: a later failure keeps it.
            store.put_tempo_days(&days)?;
            stored.extend(days);
        }
    }
    println!("{}", summary(stored.len() as u64, &stored));
    Ok(())
}

async fn token(http: &reqwest::Client, base: &str, c: &Credentials) -> Result<String, CliError> {
    let r = http
        .post(format!("{base}/token/oauth/"))
        .basic_auth(&c.id, Some(&c.secret))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .map_err(|e| CliError::new(Class::Network, format!("cannot reach RTE's token endpoint at {base}: {e}")))?;
    let status = r.status();
    let body = r.text().await.unwrap_or_default();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::BAD_REQUEST {
        return Err(CliError::new(
            Class::Auth,
            format!("RTE refused the credentials ({status}): check DATACONNECT_RTE_CLIENT_ID and the secret"),
        ));
    }
    if !status.is_success() {
        return Err(CliError::new(Class::Network, format!("RTE's token endpoint answered {status}: try again later")));
    }
    serde_json::from_str::<Token>(&body)
        .map(|t| t.access_token)
        .map_err(|e| CliError::new(Class::Api, format!("RTE's token answer has no access_token ({e})")))
}

async fn fetch(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    start: Date,
    end: Date,
) -> Result<Vec<TempoDay>, CliError> {
    let stamp = |d: Date| {
        d.to_datetime(jiff::civil::Time::midnight())
            .to_zoned_datetime(dataconnect::domain::paris())
            .map(|z| z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
            .map_err(|e| CliError::internal(e.to_string()))
    };
    let mut url = url::Url::parse(&format!("{base}/open_api/tempo_like_supply_contract/v1/tempo_like_calendars"))
        .map_err(|e| CliError::config(format!("DATACONNECT_RTE_BASE_URL {base:?} is not a URL ({e})")))?;
    url.query_pairs_mut().append_pair("start_date", &stamp(start)?).append_pair("end_date", &stamp(end)?);
    let r = http
        .get(url)
        .bearer_auth(token)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| CliError::new(Class::Network, format!("cannot reach RTE's Tempo API at {base}: {e}")))?;
    let status = r.status();
    let body = r.text().await.unwrap_or_default();
    if !status.is_success() {
        let shown: String = body.chars().take(300).collect();
        return Err(CliError::new(
            Class::Api,
            format!("RTE's Tempo API answered {status} for {start} to {end}: {shown}"),
        ));
    }
    let days = parse_rte("RTE's answer", &body).map_err(cost_error)?;
    Ok(days
        .into_iter()
        .filter(|(d, _)| *d >= start && *d < end)
        .map(|(day, c): (Date, TempoColour)| TempoDay { day, color: c.name().to_owned(), source: "rte".to_owned() })
        .collect())
}

/// Sorted missing days as runs `[first, last + 1)`, 2022-12-28 excepted.
fn missing_runs(days: &[Date]) -> Vec<(Date, Date)> {
    let mut runs: Vec<(Date, Date)> = Vec::new();
    for &d in days.iter().filter(|d| **d != UNCOLOURED_DAY) {
        let next = d.tomorrow().unwrap_or(d);
        match runs.last_mut() {
            Some((_, end)) if *end == d => *end = next,
            _ => runs.push((d, next)),
        }
    }
    runs
}

/// `[a, b)` in pieces of at most [`MAX_DAYS`] days.
fn chunks(a: Date, b: Date) -> Vec<(Date, Date)> {
    let mut out = Vec::new();
    let mut s = a;
    while s < b {
        let e = s.checked_add(jiff::Span::new().days(MAX_DAYS)).map_or(b, |e| e.min(b));
        out.push((s, e));
        s = e;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn runs_skip_the_uncoloured_day_and_chunks_stay_within_366_days() {
        let days = [date(2022, 12, 27), date(2022, 12, 28), date(2022, 12, 29), date(2023, 1, 5)];
        assert_eq!(
            missing_runs(&days),
            vec![
                (date(2022, 12, 27), date(2022, 12, 28)),
                (date(2022, 12, 29), date(2022, 12, 30)),
                (date(2023, 1, 5), date(2023, 1, 6))
            ]
        );
        let c = chunks(date(2024, 1, 9), date(2026, 12, 4));
        assert_eq!(c.first(), Some(&(date(2024, 1, 9), date(2025, 1, 9))));
        assert!(c.iter().all(|(a, b)| (*b - *a).get_days() <= 366));
        assert_eq!(c.last().map(|x| x.1), Some(date(2026, 12, 4)));
    }
}
