//! What operators watch: `/healthz` (is the store reachable?) and
//! `/metrics` in the Prometheus text format.
//!
//! The call counters are this process's client's (`Client::stats`): calls,
//! 429s, retries, quota waits. Calls of every process that records them in
//! the store (this one and separate `dataconnect sync` runs) are counted
//! over the last hour against the hourly quota. Readings, lag per meter and
//! series (today minus the newest covered day) and consents close to expiry
//! come from the store. `/metrics` names meters, so it needs an API key
//! (Prometheus sends it with `authorization: { credentials: … }`).
//!
//! The store's heavier part is read at most once per
//! `--metrics-cache-seconds` (300 by default) and reused in between: the
//! readings count scans the whole readings table (`dataconnect bench
//! --pg`, 300 meters x 1 year, 6.6 M readings: 2.0 s), far too much for
//! every 15-second scrape, and lags change once a day; the lag of every
//! meter and series is one query (`Store::coverage_ends`). The calls of the
//! last hour are read at every scrape. Scrapes that arrive while
//! the store is being read wait for that one read rather than start their
//! own. `dataconnect_metrics_store_age_seconds` says how old the reused
//! part is.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use dataconnect::{Series, UsagePointId};
use dataconnect_store::{ReadingFilter, Store};
use jiff::civil::Date;

use super::AppState;
use super::pages::EXPIRING_DAYS;
use crate::error::CliError;

pub fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/metrics", get(metrics))
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// 200 `{"status":"ok"}` when the store answers a query, else 503.
async fn healthz(State(state): State<AppState>) -> Response {
    let probe = state.with_store(|store| Ok(store.calls_since(jiff::Timestamp::now())?)).await;
    match probe {
        Ok(_) => text(StatusCode::OK, "application/json", "{\"status\":\"ok\"}".into()),
        Err(e) => {
            eprintln!("error: /healthz: {}", e.line());
            text(StatusCode::SERVICE_UNAVAILABLE, "application/json", "{\"status\":\"store unreachable\"}".into())
        }
    }
}

/// A meter's series and how late it is.
pub struct Lag {
    pub prm: UsagePointId,
    pub series: Series,
    /// Days between today and the end of the newest covered range; `None`
    /// when nothing is covered yet.
    pub lag_days: Option<i32>,
    pub stopped: Option<String>,
}

/// The lag of every consented meter's configured series.
pub fn lags(state: &AppState, store: &dyn Store, today: Date) -> Result<Vec<Lag>, CliError> {
    let states = store.series_states()?;
    let mut meters: Vec<UsagePointId> = store.consents()?.into_iter().map(|c| c.usage_point_id).collect();
    meters.sort();
    meters.dedup();
    // One query for every meter's newest coverage, not one per meter and
    // series.
    let ends: std::collections::HashMap<(UsagePointId, Series), Date> =
        store.coverage_ends()?.into_iter().map(|(p, s, end)| ((p, s), end)).collect();
    let mut out = Vec::new();
    for prm in meters {
        for s in &state.journey.series {
            let lag_days = ends.get(&(prm.clone(), *s)).map(|end| (today - *end).get_days().max(0));
            let stopped = states
                .iter()
                .find(|x| x.usage_point_id == prm && x.series == *s)
                .and_then(|x| x.stopped_reason.clone());
            out.push(Lag { prm: prm.clone(), series: *s, lag_days, stopped });
        }
    }
    Ok(out)
}

/// One metric family: its help, its type, then its samples.
fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

fn one(value: impl Into<f64>) -> Vec<(String, f64)> {
    vec![(String::new(), value.into())]
}

/// What `/metrics` reads from the store.
struct Snapshot {
    summary: Vec<dataconnect_store::SeriesSummary>,
    consents: Vec<dataconnect_store::ConsentRecord>,
    lags: Vec<Lag>,
}

/// The last [`Snapshot`] and when it was read, reused for `ttl`. The async
/// mutex is held while the store is read, so concurrent scrapes share one
/// read.
pub struct MetricsCache {
    ttl: std::time::Duration,
    last: tokio::sync::Mutex<Option<(std::time::Instant, Arc<Snapshot>)>>,
}

impl MetricsCache {
    pub fn new(ttl: std::time::Duration) -> Self {
        MetricsCache { ttl, last: tokio::sync::Mutex::new(None) }
    }
}

/// The store's part of the metrics: the cached snapshot while it is fresh,
/// else a new read. Returns it with its age.
async fn snapshot(state: &AppState, today: Date) -> Result<(Arc<Snapshot>, std::time::Duration), CliError> {
    let mut last = state.metrics.last.lock().await;
    if let Some((at, snap)) = last.as_ref()
        && at.elapsed() < state.metrics.ttl
    {
        return Ok((Arc::clone(snap), at.elapsed()));
    }
    let inner = AppState::clone(state);
    let snap = state
        .with_store(move |store| {
            Ok(Snapshot {
                summary: store.summary(&ReadingFilter::default())?,
                consents: store.consents()?,
                lags: lags(&inner, store, today)?,
            })
        })
        .await?;
    let snap = Arc::new(snap);
    *last = Some((std::time::Instant::now(), Arc::clone(&snap)));
    Ok((snap, std::time::Duration::ZERO))
}

async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.keys.allow(&headers) {
        let mut r = text(
            StatusCode::UNAUTHORIZED,
            "text/plain; charset=utf-8",
            "metrics need an API key: send `Authorization: Bearer <key>`\n".into(),
        );
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"dataconnect\""));
        return r;
    }
    let today = state.client.today();
    // The calls of the last hour are one cheap query: always current.
    let gathered = async {
        let calls_hour = state
            .with_store(|store| Ok(store.calls_since(jiff::Timestamp::now() - jiff::SignedDuration::from_secs(3600))?))
            .await?;
        let (snap, age) = snapshot(&state, today).await?;
        Ok::<_, CliError>((calls_hour, snap, age))
    };
    let (calls_hour, snap, age) = match gathered.await {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: /metrics: {}", e.line());
            return text(StatusCode::SERVICE_UNAVAILABLE, "text/plain; charset=utf-8", "store unreachable\n".into());
        }
    };
    let Snapshot { summary, consents, lags } = &*snap;
    let stats = state.client.stats();
    let mut out = String::with_capacity(4096);
    let n = |v: u64| v as f64;
    family(
        &mut out,
        "dataconnect_api_calls_total",
        "counter",
        "HTTP requests this server's client sent to Data Connect (token requests included).",
        &one(n(stats.calls)),
    );
    family(
        &mut out,
        "dataconnect_api_token_requests_total",
        "counter",
        "Token requests this server's client sent.",
        &one(n(stats.token_requests)),
    );
    family(
        &mut out,
        "dataconnect_api_throttled_total",
        "counter",
        "429 answers this server's client received.",
        &one(n(stats.throttled_429)),
    );
    family(
        &mut out,
        "dataconnect_api_retries_total",
        "counter",
        "Requests sent again after a retryable failure or a 429.",
        &one(n(stats.retries)),
    );
    family(
        &mut out,
        "dataconnect_quota_waits_total",
        "counter",
        "Requests that waited at the quota gate.",
        &one(n(stats.waits)),
    );
    family(
        &mut out,
        "dataconnect_quota_wait_seconds_total",
        "counter",
        "Time spent waiting at the quota gate.",
        &one(n(stats.waited_ms) / 1000.0),
    );
    family(
        &mut out,
        "dataconnect_quota_calls_last_hour",
        "gauge",
        "Data calls recorded in the store over the last hour, by every sync process.",
        &one(n(calls_hour)),
    );
    family(
        &mut out,
        "dataconnect_quota_per_hour",
        "gauge",
        "The application's hourly quota as configured.",
        &one(state.quota_per_hour),
    );
    let mut by_series: Vec<(String, f64)> = Vec::new();
    for s in Series::ALL {
        let points: u64 = summary.iter().filter(|x| x.series == s).map(|x| x.points).sum();
        by_series.push((format!("{{series=\"{}\"}}", s.as_str()), n(points)));
    }
    family(&mut out, "dataconnect_readings_stored", "gauge", "Readings in the store, per series.", &by_series);
    let lag_samples: Vec<(String, f64)> = lags
        .iter()
        .filter_map(|l| {
            l.lag_days.map(|d| {
                (format!("{{usage_point_id=\"{}\",series=\"{}\"}}", l.prm.as_str(), l.series.as_str()), f64::from(d))
            })
        })
        .collect();
    family(
        &mut out,
        "dataconnect_lag_days",
        "gauge",
        "Days between today (Paris) and the end of the newest covered day range, per meter and series.",
        &lag_samples,
    );
    let stopped = lags.iter().filter(|l| l.stopped.is_some()).count();
    family(
        &mut out,
        "dataconnect_series_stopped",
        "gauge",
        "Series the API refused for good (wrong direction, curve not collected).",
        &one(stopped as f64),
    );
    let active = consents.iter().filter(|c| !c.needs_consent && c.expiry > today);
    let soon = active.clone().filter(|c| (c.expiry - today).get_days() < EXPIRING_DAYS).count();
    family(
        &mut out,
        "dataconnect_consents_active",
        "gauge",
        "Consents neither expired nor withdrawn.",
        &one(active.count() as f64),
    );
    family(
        &mut out,
        "dataconnect_consents_expiring_soon",
        "gauge",
        "Active consents that expire within 30 days.",
        &one(soon as f64),
    );
    let needs = consents.iter().filter(|c| c.needs_consent).count();
    family(
        &mut out,
        "dataconnect_consents_needed",
        "gauge",
        "Meters whose consent the API no longer honours.",
        &one(needs as f64),
    );
    family(
        &mut out,
        "dataconnect_metrics_store_age_seconds",
        "gauge",
        "How old the part of these metrics read from the store is (see serve --metrics-cache-seconds).",
        &one(age.as_secs_f64()),
    );
    let queue: Vec<(String, f64)> =
        state.queue.counts().into_iter().map(|(k, v)| (format!("{{state=\"{k}\"}}"), v as f64)).collect();
    family(
        &mut out,
        "dataconnect_first_sync_jobs",
        "gauge",
        "First syncs of newly consented meters seen by this server, per state.",
        &queue,
    );
    text(StatusCode::OK, "text/plain; version=0.0.4; charset=utf-8", out)
}
