//! `dataconnect doctor --prm PRM`: checks, for one meter, the failures
//! users of Data Connect hit most, as their issue threads report them (for
//! example bokub/linky#45 and bokub/conso-api#77 for a load curve that is
//! not collected, bokub/ha-linky#29 for data published at J+1, bokub/linky#56
//! for ADAM-ERR0069), and prints one line per check:
//! ok, warn or fail, what it means in plain words, and the fix.
//!
//! It asks the configured API a few cheap questions (the contract, one week
//! of daily energy per direction, one day of load curve, one day at the
//! oldest date the API serves: seven calls at most, all through the client's
//! quota gate) and reads what the store knows (consent, stopped series,
//! calls in the last hour). The diagnosis is made from the answers, not from
//! the error text alone: for example, a load curve answering "no data" for a
//! day whose daily energy exists is the sign that the customer has not
//! enabled the hourly collection, whatever code the API chose to send.
//!
//! The exit code is non-zero when a check fails; warnings alone exit 0.

use std::fmt;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use dataconnect::domain::paris;
use dataconnect::{
    Client, ClientConfig, ClientSecret, Contract, DateRange, Direction, ErrorKind, FileTokenStore, QuotaConfig,
    Reading, Series, UsagePointId, history_deadline,
};
use dataconnect_store::Store;
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp, ToSpan};

use crate::error::{Class, CliError};
use crate::settings::{GlobalArgs, Settings};

#[derive(Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    global: GlobalArgs,
    /// The meter to check (14 digits).
    #[arg(long, value_name = "PRM")]
    prm: String,
}

/// How a check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    Ok,
    Warn,
    Fail,
    /// Not run, because an earlier check failed (no connection, refused credentials).
    Skip,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
            Level::Skip => "skip",
        })
    }
}

/// One line of the report.
struct Check {
    name: &'static str,
    level: Level,
    /// What was found, in plain words.
    what: String,
    /// What to do about it, for warnings and failures.
    fix: Option<String>,
    /// The exit class when this check fails.
    class: Class,
}

impl Check {
    fn ok(name: &'static str, what: impl Into<String>) -> Check {
        Check { name, level: Level::Ok, what: what.into(), fix: None, class: Class::Api }
    }
    fn warn(name: &'static str, what: impl Into<String>, fix: impl Into<String>) -> Check {
        Check { name, level: Level::Warn, what: what.into(), fix: Some(fix.into()), class: Class::Api }
    }
    fn fail(name: &'static str, class: Class, what: impl Into<String>, fix: impl Into<String>) -> Check {
        Check { name, level: Level::Fail, what: what.into(), fix: Some(fix.into()), class }
    }
    fn skip(name: &'static str, why: &str) -> Check {
        Check { name, level: Level::Skip, what: format!("not checked: {why}"), fix: None, class: Class::Api }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<4}  {:<14}  {}", self.level, self.name, self.what)?;
        if let Some(fix) = &self.fix {
            write!(f, ". Fix: {fix}")?;
        }
        Ok(())
    }
}

/// The report so far; lines are printed as they are added.
struct Report {
    checks: Vec<Check>,
}

impl Report {
    fn add(&mut self, check: Check) {
        // A reader that stopped reading (`| head`) does not stop the
        // checks; the exit code still tells the outcome.
        let _ = writeln!(std::io::stdout().lock(), "{check}");
        self.checks.push(check);
    }
}

const CURVE_FIX: &str = "the customer must enable \"Collecte de la consommation horaire\" (and \"Enregistrement de la consommation horaire\") in their Enedis account (mon-compte-particulier.enedis.fr); the curve is available from the next day on, never for the days before. Daily energy works meanwhile";
const CONSENT_FIX: &str =
    "ask the customer to consent again: `dataconnect consent`, then `dataconnect consent complete --url …`";

impl Cmd {
    pub async fn run(self) -> Result<(), CliError> {
        let prm = UsagePointId::new(&self.prm).map_err(|e| CliError::usage(format!("{e} (--prm)")))?;
        let settings = Settings::resolve(&self.global)?;
        let mut report = Report { checks: Vec::new() };
        let today = settings.today();
        let now = Timestamp::now();
        let paris_now = now.to_zoned_datetime(paris());
        // A replayed day (--today) is taken as after 08:00, as the sandbox's
        // frozen clock is.
        let published_today = settings.today.is_some() || paris_now.hour() >= 8;

        let store = open_store(&settings, &prm, today, &mut report);

        match client(&settings) {
            Ok(client) => {
                let probe = Probe { client: &client, prm: &prm, today, published_today };
                probe.run(&mut report, store.as_deref(), paris_now).await;
            }
            Err(check) => {
                report.add(*check);
                skip_after(&mut report, None, "no usable client settings");
            }
        }
        quota(&mut report, store.as_deref(), &settings, now);

        let failed: Vec<&Check> = report.checks.iter().filter(|c| c.level == Level::Fail).collect();
        let warned = report.checks.iter().filter(|c| c.level == Level::Warn).count();
        match failed.first() {
            None => {
                let _ = writeln!(
                    std::io::stdout().lock(),
                    "{} checks: no failure, {warned} warning(s)",
                    report.checks.len()
                );
                Ok(())
            }
            Some(first) => Err(CliError::new(
                first.class,
                format!(
                    "{} of {} checks failed for {prm} (first: {}): see the lines above for the fix",
                    failed.len(),
                    report.checks.len(),
                    first.name
                ),
            )),
        }
    }
}

/// Opens the store if there is one and adds the store's checks: the
/// recorded consent and the series a sync stopped.
fn open_store(settings: &Settings, prm: &UsagePointId, today: Date, report: &mut Report) -> Option<Box<dyn Store>> {
    if !crate::store::exists(&settings.db) {
        report.add(Check::warn(
            "store",
            format!("no database at {}, so no recorded consent or sync history to check", crate::store::shown(&settings.db)),
            "pass --db PATH if the database is elsewhere; otherwise record a consent with `dataconnect consent` and run `dataconnect sync`",
        ));
        return None;
    }
    let store = match crate::store::open_ro(&settings.db) {
        Ok(s) => s,
        Err(e) => {
            report.add(Check::fail(
                "store",
                Class::Store,
                format!("cannot read the database {}: {}", crate::store::shown(&settings.db), e.line()),
                "check the file's permissions, or pass --db PATH to another database",
            ));
            return None;
        }
    };
    let consent = store.consents().map(|all| all.into_iter().find(|c| &c.usage_point_id == prm));
    let check = match consent {
        Err(e) => Check::fail(
            "stored consent",
            Class::Store,
            format!("cannot read the consents: {e}"),
            "check the database file",
        ),
        Ok(None) => Check::warn(
            "stored consent",
            format!(
                "no consent for {prm} is recorded in {}, so `sync` does not fetch it",
                crate::store::shown(&settings.db)
            ),
            "ask the customer with `dataconnect consent` (each meter, including a production meter, needs its own consent)",
        ),
        Ok(Some(c)) if c.needs_consent => Check::fail(
            "stored consent",
            Class::Consent,
            format!(
                "the last sync was refused for {prm}: {} (ADAM-DC-0008: consent missing, revoked or expired; ADAM-DC-0007: the customer moved)",
                c.reason.as_deref().unwrap_or("the consent is no longer valid")
            ),
            CONSENT_FIX,
        ),
        Ok(Some(c)) if c.expiry <= today => Check::fail(
            "stored consent",
            Class::Consent,
            format!("the consent for {prm} expired on {}", c.expiry),
            CONSENT_FIX,
        ),
        Ok(Some(c)) => {
            let left = (c.expiry - today).get_days();
            if left <= 30 {
                Check::warn(
                    "stored consent",
                    format!("the consent for {prm} expires on {} ({left} days left)", c.expiry),
                    "ask the customer to renew it before then: `dataconnect consent`",
                )
            } else {
                Check::ok(
                    "stored consent",
                    format!("given on {}, valid until {} ({left} days left)", c.start, c.expiry),
                )
            }
        }
    };
    report.add(check);
    if let Ok(states) = store.series_states() {
        // A stop for ADAM-ERR0069 is the normal state of the direction a
        // meter does not measure; the other stops need the customer.
        let (direction, other): (Vec<_>, Vec<_>) = states
            .iter()
            .filter(|s| &s.usage_point_id == prm)
            .filter_map(|s| {
                let reason = s.stopped_reason.as_deref()?;
                let prefix = format!("{prm} {}: ", s.series);
                let reason = reason.strip_prefix(prefix.as_str()).unwrap_or(reason).trim_end_matches('.');
                Some((s.series, reason.to_owned()))
            })
            .partition(|(_, r)| r.to_ascii_uppercase().contains("ERR0069"));
        if !direction.is_empty() {
            let names: Vec<&str> = direction.iter().map(|(s, _)| s.as_str()).collect();
            report.add(Check::ok(
                "stopped",
                format!("sync skips {}: the meter does not measure that direction (ADAM-ERR0069)", names.join(", ")),
            ));
        }
        if !other.is_empty() {
            let list: Vec<String> = other.iter().map(|(s, r)| format!("{s} ({r})")).collect();
            report.add(Check::warn(
                "stopped",
                format!("sync stopped asking for {}", list.join("; ")),
                "see the checks below; once the cause is fixed, `dataconnect sync --retry-stopped` asks again",
            ));
        }
    }
    Some(Box::new(store))
}

/// Builds a client for diagnosis: one retry at most and a short timeout, so
/// a dead base URL is reported in seconds, not after minutes of backoff.
fn client(settings: &Settings) -> Result<Client, Box<Check>> {
    let cs = settings.client().map_err(|e| {
        Box::new(Check::fail("settings", Class::Config, e.line(), "see `dataconnect config init` for every setting"))
    })?;
    let mut config = ClientConfig::new(
        cs.base_url.clone(),
        cs.generation,
        cs.client_id.clone(),
        ClientSecret::new(cs.client_secret.expose()),
    );
    config.redirect_uri = cs.redirect_uri.clone();
    config.today = cs.today;
    config.quota = QuotaConfig { per_second: cs.quota_per_second, per_hour: cs.quota_per_hour };
    config.timeout = Duration::from_secs(10);
    config.max_attempts = 2;
    config.token_store = Some(Arc::new(FileTokenStore::new(crate::source::token_path(&settings.db))));
    config.conso_token = cs.conso_token.as_ref().map(|t| dataconnect::AccessToken::new(t.expose()));
    Client::new(config).map_err(|e| {
        Box::new(Check::fail(
            "settings",
            Class::Config,
            format!("{e}"),
            "fix the setting it names (`dataconnect config init` lists them)",
        ))
    })
}

/// The API questions of one diagnosis.
struct Probe<'a> {
    client: &'a Client,
    prm: &'a UsagePointId,
    today: Date,
    published_today: bool,
}

/// What one daily call said.
type Answer = Result<Vec<Reading>, dataconnect::Error>;

fn code_of(e: &dataconnect::Error) -> String {
    match (e.code(), e.status()) {
        (Some(code), Some(status)) => format!("{status} {code}"),
        (Some(code), None) => code.to_owned(),
        (None, Some(status)) => format!("HTTP {status}"),
        (None, None) => format!("{:?}", e.kind()),
    }
}

/// True for answers that come from something other than Data Connect's
/// APIs: a body in none of its error shapes, or the gateway's 404 for a
/// path it does not route (a numeric fault code, "No matching resource
/// found for given API Request"), which is what a wrong base URL gives.
fn not_data_connect(e: &dataconnect::Error) -> bool {
    let numeric_404 =
        e.status() == Some(404) && e.code().is_none_or(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()));
    *e.kind() == ErrorKind::Decode || (*e.kind() == ErrorKind::Api && e.code().is_none()) || numeric_404
}

/// True for the daily answers the diagnosis reads as facts about the meter
/// (data, no data, wrong direction, before activation or the history,
/// consent); anything else means the check itself could not be made.
fn is_expected(a: &Answer) -> bool {
    match a {
        Ok(_) => true,
        Err(e) => {
            e.is_no_data()
                || e.is_clamp()
                || e.needs_consent()
                || matches!(e.kind(), ErrorKind::WrongDirection | ErrorKind::RateLimited)
        }
    }
}

fn is_moved(e: &dataconnect::Error) -> bool {
    e.code().is_some_and(|c| c.to_ascii_uppercase().replace('_', "-") == "ADAM-DC-0007")
}

/// The API checks, in the order they run; when one fails in a way that
/// leaves nothing to check after it, [`skip_after`] reports the rest as
/// skipped.
const API_CHECKS: [&str; 7] =
    ["connection", "credentials", "consent", "direction", "load curve", "activation", "publication"];

/// Adds a "skip" line, saying `why`, for every API check after `last`
/// (every one of them when `last` is `None`).
fn skip_after(report: &mut Report, last: Option<&str>, why: &str) {
    let from = last.and_then(|l| API_CHECKS.iter().position(|c| *c == l)).map_or(0, |i| i + 1);
    for &name in &API_CHECKS[from..] {
        report.add(Check::skip(name, why));
    }
}

/// The daily energy of one week per direction, as the API answered it.
struct Week {
    range: DateRange,
    cons: Answer,
    prod: Answer,
}

impl Week {
    /// The daily answer of the direction the meter measures first.
    fn daily_of(&self, measured: &[Direction]) -> &Answer {
        match measured.first() {
            Some(Direction::Production) => &self.prod,
            _ => &self.cons,
        }
    }
}

impl Probe<'_> {
    /// Runs the checks one after the other. Each returns `None` when it
    /// ended the diagnosis (and reported the checks left as skipped).
    async fn run(&self, report: &mut Report, store: Option<&dyn Store>, paris_now: jiff::ZonedDateTime) {
        let _ = self.checks(report, store, paris_now).await;
    }

    async fn checks(
        &self,
        report: &mut Report,
        store: Option<&dyn Store>,
        paris_now: jiff::ZonedDateTime,
    ) -> Option<()> {
        let contract = self.check_contract(report).await?;
        let week = self.daily_week(report).await?;
        self.check_consent(report, &week)?;
        self.check_daily(report, &week)?;
        let measured = self.check_direction(report, &week);
        self.check_curves(report, &week, &measured).await?;
        // 5b. Generation 3 says it outright: the consent's CCDC service.
        if measured.contains(&Direction::Consumption)
            && let Some(check) = collection_check(self.client, store, self.prm).await
        {
            report.add(check);
        }
        self.check_activation(report, store, contract.as_ref(), &measured).await?;
        self.check_publication(report, &week, &measured, paris_now);
        Some(())
    }

    /// Check 1, the contract: the cheapest call, and it needs a token, so it
    /// tells whether the base URL answers and the credentials are accepted.
    /// `Some(None)` when the checks go on without a contract.
    async fn check_contract(&self, report: &mut Report) -> Option<Option<Contract>> {
        let base = self.client.config().base_url.as_str().to_owned();
        // The Conso API gateway serves readings only: its connection and
        // token are checked by the first data calls (`gateway_checks`).
        if self.client.config().conso_token.is_some() {
            return Some(None);
        }
        match self.client.contract(self.prm).send().await {
            Err(e) if matches!(e.kind(), ErrorKind::Transport | ErrorKind::Timeout) => {
                report.add(Check::fail(
                    "connection",
                    Class::Network,
                    format!("{base} cannot be reached ({e})"),
                    "check --base-url / DATACONNECT_BASE_URL, the network and any proxy; for the offline sandbox, start `dataconnect sandbox` first",
                ));
                skip_after(report, Some("connection"), "the API cannot be reached");
                None
            }
            Err(e) if matches!(e.kind(), ErrorKind::Authentication | ErrorKind::Unauthorized) => {
                report.add(Check::ok("connection", format!("{base} answers")));
                report.add(Check::fail(
                    "credentials",
                    Class::Auth,
                    format!("the API refused the application's credentials ({})", code_of(&e)),
                    "check the client id and secret (DATACONNECT_CLIENT_ID, DATACONNECT_CLIENT_SECRET or --client-secret-file) against Enedis DataHub, and that they belong to this base URL (sandbox and production credentials differ)",
                ));
                skip_after(report, Some("credentials"), "the credentials were refused");
                None
            }
            Err(e) if *e.kind() == ErrorKind::Config => {
                report.add(Check::fail("settings", Class::Config, e.to_string(), "fix the setting it names"));
                None
            }
            Ok(c) => {
                report.add(Check::ok("connection", format!("{base} answers")));
                report.add(Check::ok("credentials", "the application's token was granted"));
                Some(Some(c))
            }
            // Something answers, but not in any of Data Connect's three
            // error shapes: most likely a wrong base URL (a web page, a
            // proxy, another API).
            Err(e) if not_data_connect(&e) => {
                report.add(Check::fail(
                    "connection",
                    Class::Network,
                    format!("{base} answers, but not like Data Connect ({e})"),
                    "check --base-url / DATACONNECT_BASE_URL: it is the API gateway (for Enedis, https://gw.ext.prod.api.enedis.fr), not a web page",
                ));
                skip_after(report, Some("connection"), "the base URL does not answer like Data Connect");
                None
            }
            Err(e) if *e.kind() == ErrorKind::NoToken => {
                report.add(Check::ok("connection", format!("{base} answers")));
                // Generation 1 tokens belong to a customer's consent: without
                // one for this meter, the credentials cannot be tried.
                report.add(Check::skip(
                    "credentials",
                    "generation 1 tokens are per customer, and none is stored for this meter",
                ));
                Some(None)
            }
            Err(e) => {
                report.add(Check::ok("connection", format!("{base} answers")));
                // Customer data does not exist for production-only points,
                // and the API then answers with codes that look like consent
                // errors (conso-api #155), so this is not a verdict.
                report.add(Check::ok(
                    "credentials",
                    format!("the application's token was granted (the contract itself was refused: {})", code_of(&e)),
                ));
                Some(None)
            }
        }
    }

    /// Check 2: one week of daily energy per direction, ending at the last
    /// published day: one call each.
    async fn daily_week(&self, report: &mut Report) -> Option<Week> {
        let end = if self.published_today { self.today } else { self.today.yesterday().unwrap_or(self.today) };
        let week = end.checked_sub(7.days()).ok().and_then(|s| DateRange::new(s, end).ok());
        let Some(range) = week else {
            report.add(Check::skip("consent", "no valid date range before today"));
            return None;
        };
        let cons = self.client.window(self.prm, Series::ConsumptionDaily, range).send().await;
        let prod = self.client.window(self.prm, Series::ProductionDaily, range).send().await;
        if self.rate_limited(report, &[&cons, &prod]).is_some() {
            return None;
        }
        if self.client.config().conso_token.is_some() {
            let base = self.client.config().base_url.as_str().to_owned();
            if !gateway_checks(report, &base, self.prm, &[&cons, &prod]) {
                return None;
            }
        }
        Some(Week { range, cons, prod })
    }

    /// Check 3, consent: from the data calls.
    fn check_consent(&self, report: &mut Report, week: &Week) -> Option<()> {
        let refusal = [&week.cons, &week.prod].into_iter().find_map(|a| a.as_ref().err().filter(|e| e.needs_consent()));
        match refusal {
            Some(e) if is_moved(e) => {
                report.add(Check::fail(
                    "consent",
                    Class::Consent,
                    format!("ADAM-DC-0007: the customer is no longer the holder of {} (they moved out, or the contract changed hands)", self.prm),
                    "the consent died with the contract: ask the new holder (or the customer at their new meter) to consent; stop syncing this meter meanwhile",
                ));
                skip_after(report, Some("consent"), "no valid consent");
                None
            }
            Some(e) => {
                report.add(Check::fail(
                    "consent",
                    Class::Consent,
                    format!(
                        "{}: no valid consent for {} (never given, revoked by the customer, or expired)",
                        code_of(e),
                        self.prm
                    ),
                    CONSENT_FIX,
                ));
                skip_after(report, Some("consent"), "no valid consent");
                None
            }
            None => {
                report.add(Check::ok("consent", format!("the API serves {}'s data", self.prm)));
                Some(())
            }
        }
    }

    /// Any other refusal of the daily calls (a server failure, a
    /// subscription missing in DataHub, a malformed answer) leaves nothing
    /// to diagnose from.
    fn check_daily(&self, report: &mut Report, week: &Week) -> Option<()> {
        let Some(e) = [&week.cons, &week.prod].into_iter().find(|a| !is_expected(a)).and_then(|a| a.as_ref().err())
        else {
            return Some(());
        };
        let class = crate::error::from_client(e).class();
        report.add(Check::fail(
            "daily data",
            class,
            format!("asking for a week of daily energy failed: {e}"),
            e.advice().to_owned(),
        ));
        skip_after(report, Some("consent"), "the daily energy could not be read");
        None
    }

    /// Check 4, direction: which of the two directions the meter measures.
    fn check_direction(&self, report: &mut Report, week: &Week) -> Vec<Direction> {
        let wrong = |a: &Answer| a.as_ref().err().is_some_and(|e| *e.kind() == ErrorKind::WrongDirection);
        match (wrong(&week.cons), wrong(&week.prod)) {
            (false, true) => {
                report.add(Check::ok(
                    "direction",
                    "a consumption meter: production series answer ADAM-ERR0069 (the meter does not measure that direction), which is expected",
                ));
                vec![Direction::Consumption]
            }
            (true, false) => {
                report.add(Check::warn(
                    "direction",
                    "a production-only meter: every consumption series answers ADAM-ERR0069 (\"le sens de la mesure ne correspond pas\"), because the meter does not measure consumption",
                    "ask only for production-curve and production-daily for this meter (`sync` stops the consumption series by itself); if the customer also consumes, their consumption meter has another PRM and needs its own consent",
                ));
                vec![Direction::Production]
            }
            (false, false) => {
                report.add(Check::ok("direction", "the meter answers for both consumption and production"));
                vec![Direction::Consumption, Direction::Production]
            }
            (true, true) => {
                report.add(Check::fail(
                    "direction",
                    Class::Api,
                    "both consumption and production answer ADAM-ERR0069: the API does not serve this meter's measures",
                    "check the PRM (the 14 digits on the customer's bill or the Linky display) and the scopes the consent covers",
                ));
                vec![]
            }
        }
    }

    /// Check 5: the load curve of each measured direction, on the latest day
    /// of the week whose daily energy exists.
    async fn check_curves(&self, report: &mut Report, week: &Week, measured: &[Direction]) -> Option<()> {
        for direction in measured {
            let (daily, curve) = match direction {
                Direction::Consumption => (&week.cons, Series::ConsumptionCurve),
                Direction::Production => (&week.prod, Series::ProductionCurve),
            };
            let day_with_data = daily.as_ref().ok().and_then(|r| last_day_with_value(r));
            let day = day_with_data.unwrap_or_else(|| week.range.end().yesterday().unwrap_or(week.range.end()));
            let answer = self.client.window(self.prm, curve, DateRange::day(day)).send().await;
            if self.rate_limited(report, &[&answer]).is_some() {
                return None;
            }
            report.add(curve_check(curve, day, day_with_data.is_some(), &answer));
        }
        Some(())
    }

    /// Check 6, activation: one day at the oldest date the API keeps.
    async fn check_activation(
        &self,
        report: &mut Report,
        store: Option<&dyn Store>,
        contract: Option<&Contract>,
        measured: &[Direction],
    ) -> Option<()> {
        let activation = contract.and_then(|c| match measured.first() {
            Some(Direction::Production) => c.production_activation_date.or(c.activation_date),
            _ => c.activation_date,
        });
        let Some(direction) = measured.first() else {
            report.add(Check::skip("activation", "no direction answers"));
            return Some(());
        };
        let series = match direction {
            Direction::Consumption => Series::ConsumptionDaily,
            Direction::Production => Series::ProductionDaily,
        };
        let oldest = history_deadline(series, self.today).tomorrow().unwrap_or(self.today);
        let answer = self.client.window(self.prm, series, DateRange::day(oldest)).send().await;
        if self.rate_limited(report, &[&answer]).is_some() {
            return None;
        }
        let stored = store.and_then(|s| s.meter_info(self.prm).ok().flatten()).and_then(|m| m.activation);
        report.add(activation_check(oldest, activation.or(stored), &answer));
        Some(())
    }

    /// Check 7, publication: day D appears on D+1 from 08:00 Paris.
    fn check_publication(
        &self,
        report: &mut Report,
        week: &Week,
        measured: &[Direction],
        paris_now: jiff::ZonedDateTime,
    ) {
        let yesterday = self.today.yesterday().unwrap_or(self.today);
        let has_yesterday = week
            .daily_of(measured)
            .as_ref()
            .ok()
            .is_some_and(|r| r.iter().any(|x| x.value.is_some() && day_of(x.start) == yesterday));
        let check = if !self.published_today {
            Check::warn(
                "publication",
                format!(
                    "it is {} in Paris: data for {yesterday} is published from 08:00 today (J+1), so asking for it now gives 404 no_data_found",
                    paris_now.strftime("%H:%M")
                ),
                "sync after 08:00 Paris (better: later in the day, at a time of your own, since the quota is shared by all of the application's users)",
            )
        } else if has_yesterday {
            Check::ok(
                "publication",
                format!("data up to {yesterday} is published (day D appears on D+1 from 08:00 Paris)"),
            )
        } else if measured.is_empty() {
            Check::skip("publication", "no direction answers")
        } else {
            Check::warn(
                "publication",
                format!(
                    "no daily value for {yesterday} yet: day D is published on D+1 from 08:00 Paris, and some meters report a day later (D+2)"
                ),
                "nothing to do: `sync` fetches it on a later run (the last 7 days are asked again every time)",
            )
        };
        report.add(check);
    }

    /// Adds a quota failure and returns `Some` to stop when an answer was a 429.
    fn rate_limited(&self, report: &mut Report, answers: &[&Answer]) -> Option<()> {
        let e = answers.iter().find_map(|a| a.as_ref().err().filter(|e| *e.kind() == ErrorKind::RateLimited))?;
        let wait = e.retry_after().map(|d| format!(" (the API says to wait {}s)", d.as_secs())).unwrap_or_default();
        report.add(Check::fail(
            "quota",
            Class::Api,
            format!("the API answered 429: the application's quota is used up{wait} ({})", code_of(e)),
            "wait for the quota to refill; the quota (5 calls per second, an hourly cap) is shared by every user of the application, so spread syncs over the day and keep `sync` incremental",
        ));
        Some(())
    }
}

/// The Conso API gateway's connection and token, from the first data
/// calls; false when the diagnosis cannot go on.
fn gateway_checks(report: &mut Report, base: &str, prm: &UsagePointId, answers: &[&Answer]) -> bool {
    let errors: Vec<&dataconnect::Error> = answers.iter().filter_map(|a| a.as_ref().err()).collect();
    let rest = ["consent", "direction", "load curve", "activation", "publication"];
    if let Some(e) = errors.iter().find(|e| matches!(e.kind(), ErrorKind::Transport | ErrorKind::Timeout)) {
        report.add(Check::fail(
            "connection",
            Class::Network,
            format!("{base} cannot be reached ({e})"),
            format!(
                "check --base-url / DATACONNECT_BASE_URL (the public gateway is {}) and the network",
                dataconnect::CONSO_API_BASE_URL
            ),
        ));
        for name in std::iter::once("token").chain(rest) {
            report.add(Check::skip(name, "the gateway cannot be reached"));
        }
        return false;
    }
    report.add(Check::ok("connection", format!("{base} answers (the Conso API gateway)")));
    // The gateway's own 401, without an Enedis code inside.
    if errors.iter().any(|e| e.status() == Some(401) && e.code().is_none()) {
        report.add(Check::fail(
            "token",
            Class::Consent,
            format!("the Conso API token does not cover {prm} (401)"),
            "check DATACONNECT_CONSO_TOKEN or --conso-token-file: a token covers only the meters its owner shared on the gateway's site; share this meter there and use the new token",
        ));
        for name in rest {
            report.add(Check::skip(name, "the token does not cover this meter"));
        }
        return false;
    }
    report.add(Check::ok("token", format!("the Conso API token covers {prm}")));
    true
}

fn day_of(t: Timestamp) -> Date {
    t.to_zoned_datetime(paris()).date()
}

fn last_day_with_value(readings: &[Reading]) -> Option<Date> {
    readings.iter().filter(|r| r.value.is_some()).map(|r| day_of(r.start)).max()
}

/// The load-curve collection state from the consent's `CCDC` service
/// (generation 3, with the consent's `autorisation_id` on record); `None`
/// when it cannot be asked.
async fn collection_check(client: &Client, store: Option<&dyn Store>, prm: &UsagePointId) -> Option<Check> {
    if client.generation() != dataconnect::Generation::Dc2026 {
        return None;
    }
    let consents = store?.consents().ok()?;
    let id = consents.into_iter().find(|c| c.usage_point_id == *prm)?.autorisation_id?;
    let name = "curve collection";
    Some(match client.curve_collection(&id, prm).await {
        Ok(dataconnect::CurveCollection::Collected) => {
            Check::ok(name, "the consent's CCDC service is active: Enedis collects the load curve")
        }
        Ok(state) => Check::fail(
            name,
            Class::Api,
            format!("the consent has no active CCDC service: the load curve is {}", state.as_str().replace('-', " ")),
            state.advice(),
        ),
        Err(e) => Check::warn(name, format!("the CCDC service could not be read: {e}"), e.advice().to_owned()),
    })
}

fn curve_check(curve: Series, day: Date, daily_has_data: bool, answer: &Answer) -> Check {
    let name = "load curve";
    match answer {
        Ok(points) if points.iter().any(|p| p.value.is_some()) => {
            Check::ok(name, format!("{curve} is collected ({} points on {day})", points.len()))
        }
        Err(e) if *e.kind() == ErrorKind::CurveNotCollected => Check::fail(
            name,
            Class::Api,
            format!(
                "{curve}: the customer objected to the load curve, or its collection is not enabled ({})",
                code_of(e)
            ),
            CURVE_FIX,
        ),
        // ADAM-ERR0069 on a curve whose daily series answers means the
        // curve, not the direction, is missing (the client's advice says
        // the same).
        Err(e) if *e.kind() == ErrorKind::WrongDirection && daily_has_data => Check::fail(
            name,
            Class::Api,
            format!(
                "{curve} answers {} although the daily energy of {day} exists: the load curve is not collected",
                code_of(e)
            ),
            CURVE_FIX,
        ),
        Err(e) if !e.is_no_data() => {
            Check::warn(name, format!("{curve} could not be checked: {e}"), e.advice().to_owned())
        }
        // No data (or an empty answer) for the curve on a day the daily
        // energy exists: the usual sign of a curve that is not collected
        // (conso-api #77, bokub/linky #45).
        _ if daily_has_data => Check::fail(
            name,
            Class::Api,
            format!(
                "{curve} has no data for {day} although the daily energy of that day exists: the load curve collection is not enabled"
            ),
            CURVE_FIX,
        ),
        _ => Check::warn(
            name,
            format!(
                "{curve} has no data for {day}, and neither has the daily energy: a gap in the meter's data, or data not published yet"
            ),
            "try again tomorrow after 08:00 Paris; if it lasts, the meter may not be communicating (the customer can check their Enedis account)",
        ),
    }
}

fn activation_check(oldest: Date, activation: Option<Date>, answer: &Answer) -> Check {
    let name = "activation";
    let known = activation.map(|d| format!(" on {d}")).unwrap_or_default();
    match answer {
        Err(e) if *e.kind() == ErrorKind::BeforeActivation => Check::warn(
            name,
            format!(
                "the meter's data starts at its last activation{known} (ADAM-ERR0123 for {oldest}: \"the requested period cannot be anterior to the meter's last activation date\"); nothing before it can be fetched, e.g. from a previous occupant"
            ),
            match activation {
                Some(d) => format!("ask from {d} on; `sync` clamps to it by itself"),
                None => {
                    "ask from the activation date on (the contract gives it); `sync` finds and clamps to it by itself"
                        .to_owned()
                }
            },
        ),
        Err(e) if e.is_clamp() => Check::ok(
            name,
            format!(
                "the oldest day the API keeps moves daily; {oldest} was just refused ({}), `sync` clamps to it",
                code_of(e)
            ),
        ),
        _ => Check::ok(
            name,
            match activation {
                Some(_) => format!(
                    "activated{known}, before the oldest day the API keeps ({oldest}): the full history is available"
                ),
                None => format!("the full history is available (from {oldest})"),
            },
        ),
    }
}

/// Adds the quota check: calls recorded by syncs in the last hour against
/// the configured hourly cap.
fn quota(report: &mut Report, store: Option<&dyn Store>, settings: &Settings, now: Timestamp) {
    if report.checks.iter().any(|c| c.name == "quota") {
        return;
    }
    let Some(store) = store else {
        report.add(Check::ok("quota", "no 429 answer during these checks (no store to count past calls)"));
        return;
    };
    let used = store.calls_since(now - SignedDuration::from_hours(1)).unwrap_or(0);
    let cap = u64::from(settings.quota_per_hour);
    if used >= cap {
        report.add(Check::warn(
            "quota",
            format!("syncs made {used} calls in the last hour, the configured cap is {cap} per hour: the next calls may get 429"),
            "wait for the next hour; the quota is shared by every user of the application, so spread syncs over the day",
        ));
    } else {
        report.add(Check::ok(
            "quota",
            format!("{used} calls in the last hour (cap {cap} per hour), no 429 during these checks"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_holds_the_level_the_check_and_the_fix() {
        let c = Check::fail("load curve", Class::Api, "no curve", "enable it");
        assert_eq!(c.to_string(), "FAIL  load curve      no curve. Fix: enable it");
        let c = Check::ok("consent", "fine");
        assert_eq!(c.to_string(), "ok    consent         fine");
    }
}
