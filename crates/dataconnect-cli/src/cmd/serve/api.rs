//! The JSON API of `dataconnect serve` under `/api/v1`, for the
//! organisation's own systems: meters, readings, consents and sync status.
//!
//! Every route but the OpenAPI description needs an API key
//! (`Authorization: Bearer KEY`); without one the answer is 401 with a
//! JSON error. Readings use the CLI's one reading schema, written by
//! `output.rs` exactly as `fetch --format json` and `export` write it.
//!
//! The OpenAPI description is built from one table, [`OPERATIONS`]; a unit
//! test checks that it names exactly the paths of the `.route(…)` calls in
//! this file, and the integration test calls every documented operation.

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use dataconnect::domain::paris_day_start;
use dataconnect::{DateRange, Series, UsagePointId};
use dataconnect_store::{ConsentRecord, ReadingFilter};
use jiff::civil::Date;
use serde_json::{Value, json};

use super::AppState;
use super::pages::EXPIRING_DAYS;
use crate::error::CliError;
use crate::output::{Format, ReadingWriter, Tz};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/meters", get(meters))
        .route("/api/v1/meters/{prm}", get(meter))
        .route("/api/v1/meters/{prm}/readings", get(readings))
        .route("/api/v1/consents", get(consents))
        .route("/api/v1/sync", get(sync_status))
}

/// One documented operation: path, summary, query parameters (name,
/// required, description), and whether it needs a key.
pub struct Operation {
    pub path: &'static str,
    pub summary: &'static str,
    pub query: &'static [(&'static str, bool, &'static str)],
    pub secured: bool,
}

/// Every operation of the API (all are GET).
pub const OPERATIONS: &[Operation] = &[
    Operation { path: "/api/v1/openapi.json", summary: "This description (OpenAPI 3).", query: &[], secured: false },
    Operation {
        path: "/api/v1/meters",
        summary: "Every meter with a consent: its consent, what is stored per series, and its first sync.",
        query: &[],
        secured: true,
    },
    Operation { path: "/api/v1/meters/{prm}", summary: "One meter, as in the list.", query: &[], secured: true },
    Operation {
        path: "/api/v1/meters/{prm}/readings",
        summary: "Stored readings of one series over a period of Paris days, in the reading schema of `dataconnect export`.",
        query: &[
            (
                "series",
                true,
                "consumption-curve, consumption-daily, consumption-max-power, production-curve or production-daily",
            ),
            ("from", true, "first Paris day, YYYY-MM-DD (inclusive)"),
            (
                "to",
                true,
                "last Paris day, YYYY-MM-DD (exclusive); at most 366 days after `from` for a load curve, 3660 for a daily series (400 `range_too_long` otherwise)",
            ),
            ("tz", false, "Europe/Paris (default) or UTC: the offset of start, end and peak_at"),
        ],
        secured: true,
    },
    Operation {
        path: "/api/v1/consents",
        summary: "Every recorded consent with its expiry; `expires_soon` when fewer than 30 days are left.",
        query: &[],
        secured: true,
    },
    Operation {
        path: "/api/v1/sync",
        summary: "Recent sync runs, the lag and state of every meter's series, and the first-sync queue.",
        query: &[],
        secured: true,
    },
];

/// A JSON answer.
fn json_response(status: StatusCode, value: &Value) -> Response {
    let mut response = (status, value.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A JSON error: `{"error": code, "message": text}`.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(status, &json!({ "error": code, "message": message }))
}

/// A refusal before any store access: status, error code and message.
/// Small, unlike a `Response`, so functions can return it cheaply.
struct ApiError(StatusCode, &'static str, String);

impl ApiError {
    fn response(&self) -> Response {
        error(self.0, self.1, &self.2)
    }
}

fn unauthorized() -> Response {
    let mut r = error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "this API needs a key: send `Authorization: Bearer <key>` with a key from --api-key-file or DATACONNECT_API_KEYS",
    );
    r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"dataconnect\""));
    r
}

/// Our own failure: the detail goes to standard error only.
fn internal(e: &CliError) -> Response {
    eprintln!("error: {}", e.line());
    error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the store cannot answer now: try again later")
}

fn consent_json(c: &ConsentRecord, today: Date) -> Value {
    let left = (c.expiry - today).get_days();
    json!({
        "usage_point_id": c.usage_point_id.as_str(),
        "generation": c.generation.as_str(),
        "start": c.start.to_string(),
        "duration": c.duration.to_string(),
        "expiry": c.expiry.to_string(),
        "days_left": left.max(0),
        "expires_soon": left < EXPIRING_DAYS,
        "needs_consent": c.needs_consent,
        "reason": c.reason,
    })
}

/// A meter as the API shows it.
fn meter_json(
    state: &AppState,
    store: &dyn dataconnect_store::Store,
    c: &ConsentRecord,
    today: Date,
) -> Result<Value, CliError> {
    let prm = &c.usage_point_id;
    let summaries = store.summary(&ReadingFilter { usage_points: vec![prm.clone()], ..ReadingFilter::default() })?;
    let states = store.series_states()?;
    let mut series = Vec::new();
    for s in &state.journey.series {
        let coverage = store.coverage(prm, *s)?;
        let summary = summaries.iter().find(|x| x.series == *s);
        let st = states.iter().find(|x| x.usage_point_id == *prm && x.series == *s);
        series.push(json!({
            "series": s.as_str(),
            "points": summary.map_or(0, |x| x.points),
            "covered_from": coverage.first().map(|r| r.start().to_string()),
            "covered_to": coverage.last().map(|r| r.end().to_string()),
            "lag_days": coverage.last().map(|r| (today - r.end()).get_days().max(0)),
            "last_synced_at": st.and_then(|x| x.last_synced_at).map(|t| t.to_string()),
            "stopped_reason": st.and_then(|x| x.stopped_reason.clone()),
        }));
    }
    let first_sync = state.queue.state(prm).map(|j| j.name());
    Ok(json!({
        "usage_point_id": prm.as_str(),
        "consent": consent_json(c, today),
        "series": series,
        "first_sync": first_sync,
    }))
}

/// Checks the key, then runs `f` on the store and answers its JSON.
async fn guarded<F>(state: &AppState, headers: &HeaderMap, f: F) -> Response
where
    F: FnOnce(&AppState, &dyn dataconnect_store::Store, Date) -> Result<Result<Value, Response>, CliError>
        + Send
        + 'static,
{
    if !state.keys.allow(headers) {
        return unauthorized();
    }
    let today = state.client.today();
    let inner = AppState::clone(state);
    match state.with_store(move |store| f(&inner, store, today)).await {
        Ok(Ok(value)) => json_response(StatusCode::OK, &value),
        Ok(Err(response)) => response,
        Err(e) => internal(&e),
    }
}

async fn openapi() -> Response {
    json_response(StatusCode::OK, &document())
}

async fn meters(State(state): State<AppState>, headers: HeaderMap) -> Response {
    guarded(&state, &headers, |state, store, today| {
        let mut out = Vec::new();
        let mut seen = Vec::new();
        for c in store.consents()? {
            if !seen.contains(&c.usage_point_id) {
                seen.push(c.usage_point_id.clone());
                out.push(meter_json(state, store, &c, today)?);
            }
        }
        Ok(Ok(Value::Array(out)))
    })
    .await
}

/// The meter of the path; a path that is not even UTF-8 is just another
/// malformed PRM.
fn parse_prm(prm: Result<Path<String>, PathRejection>) -> Result<UsagePointId, ApiError> {
    prm.ok()
        .and_then(|Path(p)| UsagePointId::new(&p).ok())
        .ok_or_else(|| ApiError(StatusCode::BAD_REQUEST, "invalid_prm", "a meter's PRM is 14 digits".into()))
}

fn not_found(prm: &UsagePointId) -> Response {
    error(StatusCode::NOT_FOUND, "unknown_meter", &format!("no consent is recorded for meter {prm}"))
}

async fn meter(
    State(state): State<AppState>,
    prm: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let prm = parse_prm(prm);
    guarded(&state, &headers, move |state, store, today| {
        let prm = match prm {
            Ok(p) => p,
            Err(e) => return Ok(Err(e.response())),
        };
        match store.consents()?.into_iter().find(|c| c.usage_point_id == prm) {
            Some(c) => Ok(Ok(meter_json(state, store, &c, today)?)),
            None => Ok(Err(not_found(&prm))),
        }
    })
    .await
}

/// The query of the readings route, checked: one line per problem.
fn readings_query(query: &str) -> Result<(Series, DateRange, Tz), ApiError> {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let bad = |code: &'static str, m: String| ApiError(StatusCode::BAD_REQUEST, code, m);
    let series = get("series")
        .ok_or_else(|| bad("missing_series", "the `series` parameter is required".into()))?
        .parse::<Series>()
        .map_err(|e| bad("invalid_series", e.to_string()))?;
    let day = |name: &str| -> Result<Date, ApiError> {
        let text =
            get(name).ok_or_else(|| bad("missing_date", format!("the `{name}` parameter is required (YYYY-MM-DD)")))?;
        crate::settings::parse_date(name, text).map_err(|e| bad("invalid_date", e.line()))
    };
    let range = DateRange::new(day("from")?, day("to")?).map_err(|e| bad("invalid_range", e.to_string()))?;
    let (most, what) =
        if series.is_curve() { (MAX_CURVE_DAYS, "a load curve") } else { (MAX_DAILY_DAYS, "a daily series") };
    let days = (range.end() - range.start()).get_days();
    if days > most {
        return Err(bad(
            "range_too_long",
            format!(
                "`from` to `to` spans {days} days; one request reads at most {most} days of {what}: split the period into several requests"
            ),
        ));
    }
    let tz = match get("tz") {
        None | Some("Europe/Paris") => Tz::Paris,
        Some("UTC") => Tz::Utc,
        Some(_) => return Err(bad("invalid_tz", "`tz` is Europe/Paris or UTC".into())),
    };
    Ok((series, range, tz))
}

/// The longest period one readings request may cover, per kind of series:
/// a year of curve (17,568 half-hours, 52,704 ten-minute points), ten years
/// of days. Longer periods are read in several requests.
pub const MAX_CURVE_DAYS: i32 = 366;
pub const MAX_DAILY_DAYS: i32 = 3660;

/// The days read from the store at a time while a readings answer is
/// streamed: the store is held for one such slice, never for the whole
/// answer.
fn slice_days(series: Series) -> i32 {
    if series.is_curve() { 7 } else { 366 }
}

async fn readings(
    State(state): State<AppState>,
    prm: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if !state.keys.allow(&headers) {
        return unauthorized();
    }
    let prm = match parse_prm(prm) {
        Ok(p) => p,
        Err(e) => return e.response(),
    };
    let (series, range, tz) = match readings_query(query.as_deref().unwrap_or("")) {
        Ok(q) => q,
        Err(e) => return e.response(),
    };
    let known = {
        let prm = prm.clone();
        state.with_store(move |store| Ok(store.consents()?.iter().any(|c| c.usage_point_id == prm))).await
    };
    match known {
        Ok(true) => {}
        Ok(false) => return error(StatusCode::NOT_FOUND, "unknown_meter", "no consent is recorded for this meter"),
        Err(e) => return internal(&e),
    }
    // The answer is written on a blocking thread, slice by slice, into a
    // small channel: a slow client holds that thread (and at most a few
    // slices in memory), never the store.
    // At most a few answers are written at once (one per core): the others
    // wait for their turn without a thread, so the CPU stays free for the
    // other requests and for `/healthz`.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    let store = std::sync::Arc::clone(&state.store);
    let writers = std::sync::Arc::clone(&state.readers);
    tokio::spawn(async move {
        let Ok(permit) = writers.acquire_owned().await else { return };
        let written = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            if let Err(e) = stream_readings(&**store, &prm, series, range, tz, &tx) {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    eprintln!("error: the readings answer of {prm} stopped: {e}");
                }
                let _ = tx.blocking_send(Err(e));
            }
        });
        let _ = written.await;
    });
    let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let mut r = (StatusCode::OK, axum::body::Body::from_stream(stream)).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A `Write` that hands what it collected to the channel at each flush.
struct ChannelSink<'a> {
    buf: Vec<u8>,
    tx: &'a tokio::sync::mpsc::Sender<std::io::Result<Vec<u8>>>,
}

impl std::io::Write for ChannelSink<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    /// Hands the chunk over, waiting at most [`STALL_LIMIT`] for the client
    /// to take the earlier ones: a client that stops reading gives its
    /// writer back instead of holding it.
    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let mut chunk = Ok(std::mem::take(&mut self.buf));
        let started = std::time::Instant::now();
        loop {
            match self.tx.try_send(chunk) {
                Ok(()) => return Ok(()),
                Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => {
                    return Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away"));
                }
                Err(tokio::sync::mpsc::error::TrySendError::Full(back)) => {
                    if started.elapsed() >= STALL_LIMIT {
                        return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "the client stopped reading"));
                    }
                    chunk = back;
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            }
        }
    }
}

/// How long a readings answer waits for a client that does not read.
const STALL_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Writes the readings of `range` as a JSON array, one slice of days at a
/// time, each slice read in its own short store call and sent at once.
fn stream_readings(
    store: &dyn dataconnect_store::Store,
    prm: &UsagePointId,
    series: Series,
    range: DateRange,
    tz: Tz,
    tx: &tokio::sync::mpsc::Sender<std::io::Result<Vec<u8>>>,
) -> std::io::Result<()> {
    let mut writer = ReadingWriter::new(ChannelSink { buf: Vec::with_capacity(64 * 1024), tx }, Format::Json, tz)?;
    let mut day = range.start();
    while day < range.end() {
        let next = day.checked_add(jiff::Span::new().days(slice_days(series))).unwrap_or(range.end()).min(range.end());
        let filter = ReadingFilter {
            usage_points: vec![prm.clone()],
            series: vec![series],
            from: Some(paris_day_start(day)),
            to: Some(paris_day_start(next)),
        };
        let mut write_error = None;
        store
            .for_each_reading(&filter, &mut |r| {
                if let Err(e) = writer.write(&r.usage_point_id, r.series, &r.reading) {
                    write_error.get_or_insert(e);
                }
                Ok(())
            })
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        if let Some(e) = write_error {
            return Err(e);
        }
        writer.flush()?;
        day = next;
    }
    writer.finish()?;
    Ok(())
}

async fn consents(State(state): State<AppState>, headers: HeaderMap) -> Response {
    guarded(&state, &headers, |_, store, today| {
        Ok(Ok(Value::Array(store.consents()?.iter().map(|c| consent_json(c, today)).collect())))
    })
    .await
}

async fn sync_status(State(state): State<AppState>, headers: HeaderMap) -> Response {
    guarded(&state, &headers, |state, store, today| {
        let runs: Vec<Value> = store
            .sync_runs(20)?
            .iter()
            .map(|r| {
                json!({
                    "started_at": r.started_at.to_string(),
                    "finished_at": r.outcome.as_ref().map(|o| o.finished_at.to_string()),
                    "status": r.outcome.as_ref().map(|o| o.status.clone()),
                    "calls": r.outcome.as_ref().map(|o| o.calls),
                    "points": r.outcome.as_ref().map(|o| o.points),
                    "message": r.outcome.as_ref().and_then(|o| o.message.clone()),
                })
            })
            .collect();
        let lags = super::ops::lags(state, store, today)?;
        let series: Vec<Value> = lags
            .iter()
            .map(|l| {
                json!({
                    "usage_point_id": l.prm.as_str(),
                    "series": l.series.as_str(),
                    "lag_days": l.lag_days,
                    "stopped_reason": l.stopped,
                })
            })
            .collect();
        let queue: serde_json::Map<String, Value> =
            state.queue.counts().into_iter().map(|(k, n)| (k.to_owned(), Value::from(n))).collect();
        let hour_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(3600);
        Ok(Ok(json!({
            "runs": runs,
            "series": series,
            "first_sync_queue": queue,
            "calls_last_hour": store.calls_since(hour_ago)?,
            "quota_per_hour": state.quota_per_hour,
        })))
    })
    .await
}

/// The schema of a query parameter: the series names and time zones as
/// enumerations, the days as dates.
fn query_schema(name: &str) -> Value {
    match name {
        "series" => json!({ "type": "string", "enum": Series::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>() }),
        "from" | "to" => json!({ "type": "string", "format": "date" }),
        "tz" => json!({ "type": "string", "enum": ["Europe/Paris", "UTC"], "default": "Europe/Paris" }),
        _ => json!({ "type": "string" }),
    }
}

/// The OpenAPI 3 description, from [`OPERATIONS`].
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for op in OPERATIONS {
        let mut parameters = Vec::new();
        if op.path.contains("{prm}") {
            parameters.push(json!({
                "name": "prm", "in": "path", "required": true,
                "description": "the meter's PRM (14 digits)",
                "schema": { "type": "string", "pattern": "^[0-9]{14}$" }
            }));
        }
        for (name, required, description) in op.query {
            parameters.push(json!({
                "name": name, "in": "query", "required": required, "description": description,
                "schema": query_schema(name)
            }));
        }
        let ok = match op.path {
            "/api/v1/meters/{prm}/readings" => {
                json!({ "type": "array", "items": { "$ref": "#/components/schemas/Reading" } })
            }
            _ => json!({ "type": if op.path.ends_with('s') { "array" } else { "object" } }),
        };
        let mut responses = serde_json::Map::new();
        responses
            .insert("200".into(), json!({ "description": "OK", "content": { "application/json": { "schema": ok } } }));
        if op.secured {
            responses.insert("401".into(), json!({ "description": "missing or wrong API key", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }));
            responses.insert("429".into(), json!({ "description": "too many wrong API keys from this address: wait for `Retry-After` seconds", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }));
        }
        if !op.query.is_empty() || op.path.contains("{prm}") {
            responses.insert("400".into(), json!({ "description": "invalid parameter", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }));
        }
        if op.path.contains("{prm}") {
            responses.insert("404".into(), json!({ "description": "no consent recorded for this meter", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }));
        }
        let mut get = json!({
            "summary": op.summary,
            "operationId": op.path.trim_start_matches("/api/v1/").replace(['/', '.'], "_").replace(['{', '}'], ""),
            "parameters": parameters,
            "responses": responses,
        });
        if !op.secured {
            get["security"] = json!([]);
        }
        paths.insert(op.path.to_owned(), json!({ "get": get }));
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "dataconnect serve",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Meters, readings, consents and sync status of the organisation's Data Connect store."
        },
        "servers": [{ "url": "/" }],
        "security": [{ "apiKey": [] }, { "basicPassword": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "apiKey": { "type": "http", "scheme": "bearer", "description": "an API key of --api-key-file or DATACONNECT_API_KEYS" },
                "basicPassword": { "type": "http", "scheme": "basic", "description": "any user name, an API key as the password (what a browser sends after its login prompt on the pages)" }
            },
            "schemas": {
                "Error": {
                    "type": "object", "required": ["error", "message"],
                    "properties": { "error": { "type": "string" }, "message": { "type": "string" } }
                },
                "Reading": {
                    "type": "object",
                    "required": ["usage_point_id", "series", "start", "end", "value", "unit", "step", "energy_wh", "peak_at"],
                    "properties": {
                        "usage_point_id": { "type": "string" },
                        "series": { "type": "string" },
                        "start": { "type": "string", "format": "date-time" },
                        "end": { "type": "string", "format": "date-time" },
                        "value": { "type": "number", "nullable": true },
                        "unit": { "type": "string", "enum": ["W", "Wh", "VA"] },
                        "step": { "type": "string", "description": "ISO 8601 duration" },
                        "energy_wh": { "type": "number", "nullable": true },
                        "peak_at": { "type": "string", "format": "date-time", "nullable": true }
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The paths of this file's `.route(…)` calls.
    fn routed_paths() -> Vec<String> {
        let source = include_str!("api.rs");
        source.split(".route(\"").skip(1).filter_map(|rest| rest.split('"').next().map(str::to_owned)).collect()
    }

    #[test]
    fn openapi_names_exactly_the_routes() {
        let mut routed = routed_paths();
        routed.sort();
        let mut documented: Vec<String> = OPERATIONS.iter().map(|o| o.path.to_owned()).collect();
        documented.sort();
        assert_eq!(routed, documented);
        let doc = document();
        let mut in_doc: Vec<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
        in_doc.sort();
        assert_eq!(in_doc, documented);
    }

    #[test]
    fn readings_query_names_each_problem() {
        assert!(readings_query("series=consumption-daily&from=2025-01-01&to=2025-01-08").is_ok());
        for bad in [
            "",
            "series=nope&from=2025-01-01&to=2025-01-08",
            "series=consumption-daily&from=2025-1-1&to=2025-01-08",
            "series=consumption-daily&from=2025-01-08&to=2025-01-01",
            "series=consumption-daily&from=2025-01-01&to=2025-01-08&tz=Mars",
            "series=%FF%FE&from=%00",
        ] {
            assert_eq!(readings_query(bad).err().map(|e| e.0), Some(StatusCode::BAD_REQUEST), "{bad}");
        }
    }
}
