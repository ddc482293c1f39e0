//! `dataconnect demo`: the whole journey against the embedded sandbox, on a
//! fresh machine, without credentials.
//!
//! It starts the sandbox in-process on a free port, asks consent for
//! sandbox client 3 (one consumption and one production meter; one consent
//! per meter where the generation grants one meter per consent), plays the
//! customer's browser, gets a token, reads each meter's contract and
//! address, backfills everything the API keeps (24 months of load curves,
//! 36 months of daily energy and maximum power) paced by the real quota of
//! 5 requests per second, and prints a summary table and the charts' paths.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use comfy_table::{Table, presets};
use dataconnect::{Client, Series, UsagePointId};
use dataconnect_sandbox::{DEFAULT_REDIRECT_URI, SandboxConfig};
use dataconnect_store::{MeterInfo, PendingConsent, ReadingFilter, Store};
use dataconnect_sync::{PlanConfig, SeriesTarget, SyncConfig};
use jiff::Timestamp;
use url::Url;

use crate::embedded_sandbox::{sandbox_client_settings, start_sandbox};
use crate::error::{Class, CliError, from_client};
use crate::progress::Reporter;
use crate::settings::parse_date;
use crate::source::ClientSource;

/// The sandbox test client whose meters the demo uses.
const DEMO_CLIENT: u8 = 3;
/// The meters sandbox client 3 shares: one consumption and one production
/// meter (the sandbox's meter table).
const DEMO_METERS: [&str; 2] = ["12345678901234", "10284856584123"];

#[derive(Args, Debug)]
pub struct Cmd {
    /// The SQLite database to fill.
    #[arg(long, env = "DATACONNECT_DB", default_value = "dataconnect-demo.db", value_name = "PATH")]
    db: PathBuf,
    /// Where to write the charts.
    #[arg(long, default_value = "dataconnect-demo", value_name = "DIR")]
    out: PathBuf,
    /// The API generation to walk through: legacy, v5 or 2026.
    #[arg(long, default_value = "2026", value_name = "GEN")]
    generation: String,
    /// Calls per second (the real quota is 5); tests raise it.
    #[arg(long, default_value_t = 5, hide = true)]
    quota_per_second: u32,
    /// Freeze the sandbox's and the client's calendar at this day.
    #[arg(long, hide = true, value_name = "DATE")]
    today: Option<String>,
    /// Append the sandbox's request log to this file (one JSON line per request).
    #[arg(long, hide = true, value_name = "FILE")]
    request_log: Option<PathBuf>,
}

impl Cmd {
    pub async fn run(self) -> Result<(), CliError> {
        let began = Instant::now();
        let generation = self
            .generation
            .parse::<dataconnect::Generation>()
            .map_err(|e| CliError::usage(format!("{e} (--generation)")))?;
        let today = self.today.as_deref().map(|t| parse_date("--today", t)).transpose()?;
        let per_second = self.quota_per_second.max(1);
        let reporter = Reporter::new();
        let sandbox = start_sandbox(SandboxConfig {
            today,
            quota_per_second: per_second,
            request_log: self.request_log.clone(),
            ..SandboxConfig::default()
        })
        .await?;
        reporter.line(&format!("sandbox: listening on {} (generation {generation})", sandbox.base_url));
        let settings = sandbox_client_settings(sandbox.base_url.clone(), generation, today, per_second)?;
        let store = crate::store::open_rw(&self.db)?;
        let client = crate::source::client(&settings, &self.db)?;

        let meters = consent_all(&store, &client, &reporter).await?;
        let mut source = ClientSource::new(client.clone());
        for prm in &meters {
            // The contract is informational (and gives the activation day);
            // a meter whose contract the API refuses is still synced.
            let info = match describe_meter(&client, prm, &reporter).await {
                Ok(info) => info,
                Err(e) => {
                    reporter.line(&format!("warning: meter {prm}: no contract: {}", e.line()));
                    continue;
                }
            };
            if let Some(day) = info.activation {
                source.set_activation(prm, dataconnect::Direction::Consumption, day);
                source.set_activation(prm, dataconnect::Direction::Production, day);
            }
            store.put_meter_info(&info)?;
        }

        let today = client.today();
        let plan = PlanConfig { today, revision_days: 7, since: None, until: None };
        let mut targets = Vec::new();
        for prm in &meters {
            let activation = store.meter_info(prm)?.and_then(|i| i.activation);
            for series in Series::ALL {
                targets.push(SeriesTarget { prm: prm.clone(), series, activation });
            }
        }
        reporter.line(&format!("backfill: {} meters, all series, paced at {per_second} requests/s", meters.len()));
        let config = SyncConfig { plan, concurrency: 4 };
        let report = crate::sync_engine::run_sync(&store, &source, &targets, &config, &reporter).await?;
        let minimum: usize = targets
            .iter()
            .filter(|t| !report.stopped.iter().any(|(p, s, _)| *p == t.prm && *s == t.series))
            .filter_map(|t| {
                dataconnect_sync::plan::wanted(t.series, &plan, t.activation)
                    .map(|w| dataconnect_sync::minimum_calls(t.series, w))
            })
            .sum();
        println!();
        println!("{}", summary_table(&store, &meters)?);
        println!(
            "{} data calls for {} windows (the API's limits allow no fewer than {minimum} for what these meters serve; {} probe(s) found series a meter does not have)",
            report.calls,
            report.stored,
            report.stopped.len()
        );
        std::fs::create_dir_all(&self.out)
            .map_err(|e| CliError::usage(format!("cannot create {}: {e}: check --out", self.out.display())))?;
        let charts = crate::chart_data::write_demo_charts(&crate::chart_data::DemoCharts {
            store: &store,
            out_dir: &self.out,
            today,
        })?;
        if charts.is_empty() {
            println!("charts: none written (no stored readings of the last 7 days or the last year to draw)");
        }
        for path in &charts {
            println!("chart: {}", path.display());
        }
        println!("database: {}", crate::store::shown(&self.db));
        println!("done in {:.0} s", began.elapsed().as_secs_f64());
        drop(sandbox);
        crate::sync_engine::status(&report, &source)
    }
}

/// Asks consent for sandbox client 3's meters, playing the customer's
/// browser, and records each consent. Generation 3 grants one meter per
/// consent, so the customer picks each meter in turn on the consent page;
/// the others grant both meters with one consent.
async fn consent_all(store: &dyn Store, client: &Client, reporter: &Reporter) -> Result<Vec<UsagePointId>, CliError> {
    let mut meters: Vec<UsagePointId> = Vec::new();
    let per_meter = client.generation() == dataconnect::Generation::Dc2026;
    let choices: Vec<Option<&str>> =
        if per_meter { DEMO_METERS.iter().map(|p| Some(*p)).collect() } else { vec![None] };
    for choice in choices {
        let duration = dataconnect::ConsentDuration::MAX;
        let request = client.consent_request(duration, Some(DEMO_CLIENT)).map_err(|e| from_client(&e))?;
        store.add_pending_consent(&PendingConsent {
            state: request.state().to_owned(),
            generation: client.generation(),
            duration,
            sandbox_client: Some(DEMO_CLIENT),
            created_at: Timestamp::now(),
        })?;
        reporter.line(&format!("consent: the customer opens {}", request.url()));
        let redirect = play_browser(&request.url(), choice).await?;
        let consent = crate::consent_redirect::complete_quiet(store, client, &redirect).await?.consent;
        reporter.line(&format!(
            "consent: granted for {} until {}",
            consent.usage_points.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", "),
            consent.expiry()
        ));
        for prm in consent.usage_points {
            if !meters.contains(&prm) {
                meters.push(prm);
            }
        }
    }
    if meters.is_empty() {
        return Err(CliError::new(
            Class::Consent,
            "the sandbox granted no meter: this is a bug in the sandbox or the client",
        ));
    }
    Ok(meters)
}

/// Plays the customer's browser from the authorize URL to the redirect to
/// the application, and returns that redirect URL (which is not fetched).
/// With `meter`, the customer accepts on the consent page for that meter
/// only (the form posts the request's parameters back with the choice);
/// without, the authorize URL is simply followed.
pub async fn play_browser(authorize: &Url, meter: Option<&str>) -> Result<Url, CliError> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| CliError::internal(format!("cannot build the browser's HTTP client: {e}")))?;
    let mut url = authorize.clone();
    for step in 0..5 {
        let request = match (step, meter) {
            (0, Some(prm)) => {
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                form.extend_pairs(authorize.query_pairs());
                form.append_pair("client", &DEMO_CLIENT.to_string());
                form.append_pair("prm", prm);
                form.append_pair("decision", "accept");
                let mut target = authorize.clone();
                target.set_query(None);
                http.post(target)
                    .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(form.finish())
            }
            _ => http.get(url.clone()),
        };
        let response = request
            .send()
            .await
            .map_err(|e| CliError::new(Class::Network, format!("the consent page did not answer: {e}")))?;
        let status = response.status();
        let header = response.headers().get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok()).map(str::to_owned);
        let location = match header {
            Some(l) => l,
            // Generation 1 redirects with a page whose script sets
            // `window.location` (consometers/data-connect's journey), as a browser would follow.
            None => {
                let body = response.text().await.unwrap_or_default();
                script_redirect(&body).ok_or_else(|| {
                    CliError::new(Class::Consent, format!("the consent page answered {status} without redirecting"))
                })?
            }
        };
        let next = url
            .join(&location)
            .map_err(|e| CliError::new(Class::Consent, format!("bad redirect {location:?}: {e}")))?;
        // The redirect to the application's URI ends the journey.
        if next.as_str().starts_with(DEFAULT_REDIRECT_URI) {
            return Ok(next);
        }
        url = next;
    }
    Err(CliError::new(Class::Consent, "the consent page redirected too many times"))
}

/// The target of a redirect page: `var url = "…"` in its script.
fn script_redirect(body: &str) -> Option<String> {
    let start = body.find("var url = \"")? + "var url = \"".len();
    let end = body[start..].find('"')? + start;
    Some(body[start..end].replace("\\/", "/"))
}

/// Reads a meter's contract and address, prints a line about it, and
/// returns what the store keeps.
async fn describe_meter(client: &Client, prm: &UsagePointId, reporter: &Reporter) -> Result<MeterInfo, CliError> {
    let contract = client.contract(prm).send().await.map_err(|e| from_client(&e))?;
    let address = client.address(prm).send().await.map_err(|e| from_client(&e))?;
    let activation = contract.activation_date.or(contract.production_activation_date);
    reporter.line(&format!(
        "meter {prm}: segment {}, {} kVA, tariff {}, activated {}, in {} {}",
        contract.segment.as_deref().unwrap_or("?"),
        contract.subscribed_power_kva.map(|p| p.to_string()).unwrap_or_else(|| "?".into()),
        contract.tariff.as_deref().unwrap_or("?"),
        activation.map(|d| d.to_string()).unwrap_or_else(|| "?".into()),
        address.postal_code.as_deref().unwrap_or(""),
        address.city.as_deref().unwrap_or("?"),
    ));
    let (contract_json, _) = crate::sync_engine::contract_record(&contract);
    let address_json = serde_json::json!({
        "street": address.street,
        "postal_code": address.postal_code,
        "city": address.city,
        "country": address.country,
    });
    Ok(MeterInfo {
        usage_point_id: prm.clone(),
        contract_json: Some(contract_json),
        address_json: Some(address_json.to_string()),
        activation,
        updated_at: Timestamp::now(),
    })
}

/// Per meter and series: points, first and last day, total kWh, peak.
pub fn summary_table(store: &dyn Store, meters: &[UsagePointId]) -> Result<Table, CliError> {
    let rows = store.summary(&ReadingFilter { usage_points: meters.to_vec(), ..ReadingFilter::default() })?;
    let paris = dataconnect::domain::paris();
    let day = |t: Timestamp| t.to_zoned_datetime(paris.clone()).date().to_string();
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    table.set_header(["meter", "series", "points", "first day", "last day", "total kWh", "peak"]);
    for r in rows {
        let last_day = day(r.last_end - jiff::SignedDuration::from_secs(1));
        let total = match r.series {
            Series::ConsumptionMaxPower => "-".to_owned(),
            _ => format!("{:.1}", r.energy_wh / 1000.0),
        };
        let peak = match (r.series, r.max_value) {
            (_, None) => "-".to_owned(),
            (Series::ConsumptionMaxPower, Some(v)) => format!("{:.2} kVA", v / 1000.0),
            (s, Some(v)) if s.is_curve() => format!("{:.2} kW", v / 1000.0),
            (_, Some(v)) => format!("{:.1} kWh/day", v / 1000.0),
        };
        table.add_row([
            r.usage_point_id.to_string(),
            r.series.to_string(),
            r.points.to_string(),
            day(r.first_start),
            last_day,
            total,
            peak,
        ]);
    }
    Ok(table)
}
