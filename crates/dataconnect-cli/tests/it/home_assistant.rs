//! `publish home-assistant` against a stand-in for Home Assistant's
//! WebSocket API, written here from its published protocol
//! (<https://developers.home-assistant.io/docs/api/websocket>) and the
//! recorder's command schemas: we cannot run Home Assistant on this
//! machine, so this is the one place a stand-in is right.
//!
//! The stand-in does what Home Assistant does at this boundary: the path
//! `/api/websocket`; `auth_required`, then `auth` with the token, answered
//! `auth_ok` or `auth_invalid` (and the connection closed); ids that must
//! increase; `recorder/import_statistics` checked like its voluptuous
//! schema (required and unknown keys: `invalid_format`) and like
//! `async_add_external_statistics` (statistic id form, source equal to the
//! id's domain, timezone-aware starts at the top of an hour:
//! `home_assistant_error`), stored keyed by (statistic, start) so that a
//! re-import overwrites; `recorder/statistics_during_period` answering
//! starts in milliseconds; anything else `unknown_command`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::spawned::{DEMO_CONSUMPTION, DEMO_PRODUCTION, Demo, dataconnect, demo, run, run_ok};

const TOKEN: &str = "ha-long-lived-token-0123456789";

/// What the stand-in holds: statistic id → start (epoch s) → (state, sum),
/// and the number of rows each import message carried.
#[derive(Default)]
struct Recorder {
    metadata: BTreeMap<String, Value>,
    rows: BTreeMap<String, BTreeMap<i64, (f64, f64)>>,
    imports: Vec<usize>,
    /// Behave as Home Assistant before 2025.4, whose schema knew neither
    /// `mean_type` nor `unit_class`.
    before_2025: bool,
}

struct FakeHa {
    url: String,
    recorder: Arc<Mutex<Recorder>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for FakeHa {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn start() -> FakeHa {
    let recorder: Arc<Mutex<Recorder>> = Arc::default();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let shared = Arc::clone(&recorder);
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            let accept = async {
                loop {
                    let (stream, _) = listener.accept().await.unwrap();
                    tokio::spawn(connection(stream, Arc::clone(&shared)));
                }
            };
            tokio::select! { _ = accept => {}, _ = stopped => {} }
        });
    });
    let addr = addr_rx.recv().unwrap();
    FakeHa { url: format!("http://{addr}"), recorder, stop: Some(stop), thread: Some(thread) }
}

// The handshake callback's error type is tungstenite's, large by its design.
#[allow(clippy::result_large_err)]
async fn connection(stream: tokio::net::TcpStream, recorder: Arc<Mutex<Recorder>>) {
    use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
    let check_path = |req: &Request, resp: Response| {
        if req.uri().path() == "/api/websocket" {
            Ok(resp)
        } else {
            let mut e = ErrorResponse::new(Some("404: Not Found".into()));
            *e.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::NOT_FOUND;
            Err(e)
        }
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, check_path).await else {
        return;
    };
    let send = |v: Value| Message::text(v.to_string());
    if ws.send(send(json!({"type": "auth_required", "ha_version": "2026.11.2"}))).await.is_err() {
        return;
    }
    let Some(Ok(Message::Text(auth))) = ws.next().await else {
        return;
    };
    let auth: Value = serde_json::from_str(auth.as_str()).unwrap_or_default();
    if auth["type"] != "auth" || auth["access_token"] != TOKEN {
        let _ = ws.send(send(json!({"type": "auth_invalid", "message": "Invalid access token or password"}))).await;
        let _ = ws.close(None).await;
        return;
    }
    let _ = ws.send(send(json!({"type": "auth_ok", "ha_version": "2026.11.2"}))).await;
    let mut last_id = 0;
    while let Some(Ok(message)) = ws.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let msg: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
        let id = msg["id"].as_i64().unwrap_or(0);
        let result = if id <= last_id {
            Err(("id_reuse", "Identifier values have to increase.".to_owned()))
        } else {
            last_id = id;
            let mut r = recorder.lock().unwrap();
            match msg["type"].as_str() {
                Some("recorder/import_statistics") => import(&mut r, &msg).map(|()| Value::Null),
                Some("recorder/statistics_during_period") => during(&r, &msg),
                _ => Err(("unknown_command", "Unknown command.".to_owned())),
            }
        };
        let answer = match result {
            Ok(v) => json!({"id": id, "type": "result", "success": true, "result": v}),
            Err((code, message)) => {
                json!({"id": id, "type": "result", "success": false, "error": {"code": code, "message": message}})
            }
        };
        if ws.send(send(answer)).await.is_err() {
            return;
        }
    }
}

type Answer<T> = Result<T, (&'static str, String)>;

fn invalid(m: impl Into<String>) -> (&'static str, String) {
    ("invalid_format", m.into())
}

fn ha_error(m: &str) -> (&'static str, String) {
    ("home_assistant_error", m.to_owned())
}

/// The statistic id form of external statistics: `domain:object_id`, each
/// of lowercase letters, digits and single underscores, not at either end.
fn valid_statistic_id(id: &str) -> bool {
    let part = |p: &str| {
        !p.is_empty()
            && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !p.starts_with('_')
            && !p.ends_with('_')
            && !p.contains("__")
    };
    id.split_once(':').is_some_and(|(d, o)| part(d) && part(o))
}

fn import(r: &mut Recorder, msg: &Value) -> Answer<()> {
    let allowed = ["type", "id", "metadata", "stats"];
    if let Some(k) = msg.as_object().unwrap().keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(invalid(format!("extra keys not allowed @ data['{k}']")));
    }
    let meta = msg["metadata"].as_object().ok_or_else(|| invalid("required key not provided @ data['metadata']"))?;
    let known: &[&str] = if r.before_2025 {
        &["has_mean", "has_sum", "name", "source", "statistic_id", "unit_of_measurement"]
    } else {
        &["has_mean", "mean_type", "has_sum", "name", "source", "statistic_id", "unit_class", "unit_of_measurement"]
    };
    if let Some(k) = meta.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(invalid(format!("extra keys not allowed @ data['metadata']['{k}']")));
    }
    for k in ["has_sum", "name", "source", "statistic_id", "unit_of_measurement"] {
        if !meta.contains_key(k) {
            return Err(invalid(format!("required key not provided @ data['metadata']['{k}']")));
        }
    }
    // Home Assistant 2026.11 made these two required (they were warned about since 2025).
    for k in ["mean_type", "unit_class"] {
        if !meta.contains_key(k) {
            return Err(invalid(format!("required key not provided @ data['metadata']['{k}']")));
        }
    }
    if !meta["has_sum"].is_boolean() || meta.get("has_mean").is_some_and(|v| !v.is_boolean()) {
        return Err(invalid("expected bool @ data['metadata']['has_sum']"));
    }
    if !matches!(meta["mean_type"].as_i64(), Some(0..=2)) {
        return Err(invalid("value must be one of [0, 1, 2] @ data['metadata']['mean_type']"));
    }
    let id = meta["statistic_id"].as_str().ok_or_else(|| invalid("expected str @ data['metadata']['statistic_id']"))?;
    if !valid_statistic_id(id) {
        return Err(ha_error("Invalid statistic_id"));
    }
    if meta["source"].as_str() != id.split_once(':').map(|(d, _)| d) {
        return Err(ha_error("Invalid source"));
    }
    let stats = msg["stats"].as_array().ok_or_else(|| invalid("expected a list @ data['stats']"))?;
    let mut rows = Vec::new();
    for (i, s) in stats.iter().enumerate() {
        let start = s["start"]
            .as_str()
            .ok_or_else(|| invalid(format!("required key not provided @ data['stats'][{i}]['start']")))?;
        let t: jiff::Timestamp = match start.parse() {
            Ok(t) => t,
            // A datetime without an offset parses, and is then refused as naive.
            Err(_) if start.parse::<jiff::civil::DateTime>().is_ok() => {
                return Err(ha_error("Naive timestamp"));
            }
            Err(_) => {
                return Err(invalid(format!("Invalid datetime specified: {start} @ data['stats'][{i}]['start']")));
            }
        };
        if t.as_second() % 3600 != 0 || t.subsec_nanosecond() != 0 {
            return Err(ha_error("Invalid timestamp"));
        }
        let (Some(state), Some(sum)) = (s["state"].as_f64(), s["sum"].as_f64()) else {
            return Err(invalid(format!("expected float @ data['stats'][{i}]")));
        };
        rows.push((t.as_second(), (state, sum)));
    }
    r.metadata.insert(id.to_owned(), msg["metadata"].clone());
    r.imports.push(rows.len());
    r.rows.entry(id.to_owned()).or_default().extend(rows);
    Ok(())
}

fn during(r: &Recorder, msg: &Value) -> Answer<Value> {
    let start = msg["start_time"]
        .as_str()
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .ok_or_else(|| invalid("Invalid start_time"))?;
    if !["5minute", "hour", "day", "week", "month"].contains(&msg["period"].as_str().unwrap_or("")) {
        return Err(invalid("value must be one of ['5minute', 'day', 'hour', 'month', 'week'] @ data['period']"));
    }
    let end = msg["end_time"].as_str().and_then(|s| s.parse::<jiff::Timestamp>().ok()).map(|t| t.as_second());
    let types: Vec<&str> =
        msg["types"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let mut out = serde_json::Map::new();
    for id in msg["statistic_ids"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        let Some(rows) = r.rows.get(id) else { continue };
        let list: Vec<Value> = rows
            .range(start.as_second()..end.unwrap_or(i64::MAX))
            .map(|(t, (state, sum))| {
                let mut row = json!({"start": (*t as f64) * 1000.0, "end": ((*t + 3600) as f64) * 1000.0});
                if types.contains(&"state") {
                    row["state"] = json!(state);
                }
                if types.contains(&"sum") {
                    row["sum"] = json!(sum);
                }
                row
            })
            .collect();
        if !list.is_empty() {
            out.insert(id.to_owned(), Value::Array(list));
        }
    }
    Ok(Value::Object(out))
}

/// Runs `publish home-assistant` with the most verbose logging asked for;
/// the token appears nowhere in what it prints.
fn publish(demo: &Demo, db: &std::path::Path, ha: &FakeHa, token: &std::path::Path) -> String {
    let r = run(dataconnect(&demo.home)
        .args(["publish", "home-assistant", "--url", &ha.url, "--token-file"])
        .arg(token)
        .arg("--db")
        .arg(db)
        .env("RUST_LOG", "trace"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains(TOKEN) && !r.stderr.contains(TOKEN));
    r.stdout
}

/// kWh per hour of a meter's curve, from `export` (the hour each point starts in).
fn curve_hours(demo: &Demo, prm: &str, series: &str) -> BTreeMap<i64, f64> {
    let out = run_ok(
        dataconnect(&demo.home)
            .args(["export", "--format", "jsonl", "--prm", prm, "--series", series, "--db"])
            .arg(&demo.db),
    );
    let mut hours = BTreeMap::new();
    for line in out.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if let Some(wh) = v["energy_wh"].as_f64() {
            let t = v["start"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap().as_second();
            *hours.entry(t - t.rem_euclid(3600)).or_insert(0.0) += wh / 1000.0;
        }
    }
    hours
}

fn token_file(dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("ha-token");
    std::fs::write(&p, format!("{TOKEN}\n")).unwrap();
    p
}

fn paris_day_rows(rows: &BTreeMap<i64, (f64, f64)>, day: &str) -> usize {
    let start = jiff::civil::Date::strptime("%Y-%m-%d", day).unwrap();
    let from =
        start.to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Paris").unwrap()).unwrap().timestamp().as_second();
    let to = start
        .tomorrow()
        .unwrap()
        .to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Paris").unwrap())
        .unwrap()
        .timestamp()
        .as_second();
    rows.range(from..to).count()
}

#[test]
fn hourly_statistics_from_the_curve_then_only_what_changed() {
    let demo = demo();
    let dir = tempfile::tempdir().unwrap();
    let token = token_file(dir.path());
    let ha = start();
    let consumption = format!("dataconnect:{DEMO_CONSUMPTION}_consumption");

    let out = publish(demo, &demo.db, &ha, &token);
    assert!(out.contains(&format!("{consumption}: ")) && out.contains("hourly row(s)"), "{out}");
    let want = curve_hours(demo, DEMO_CONSUMPTION, "consumption-curve");
    {
        let r = ha.recorder.lock().unwrap();
        let meta = &r.metadata[&consumption];
        assert_eq!(meta["source"], "dataconnect");
        assert_eq!(meta["has_sum"], true);
        assert_eq!(meta["has_mean"], false);
        assert_eq!(meta["unit_of_measurement"], "kWh");
        let rows = &r.rows[&consumption];
        assert_eq!(rows.len(), want.len());
        let mut sum = 0.0;
        for (t, kwh) in &want {
            let (state, s) = rows[t];
            sum += kwh;
            assert!((state - kwh).abs() < 1e-6, "hour {t}: {state} vs {kwh}");
            assert!((s - sum).abs() < 1e-3, "hour {t}: sum {s} vs {sum}");
        }
        // A Paris day has 23 hours in March and 25 in October.
        assert_eq!(paris_day_rows(rows, "2020-03-29"), 23);
        assert_eq!(paris_day_rows(rows, "2020-10-25"), 25);
        assert_eq!(paris_day_rows(rows, "2020-06-15"), 24);
        // The production meter gets its own statistic.
        assert!(r.rows.contains_key(&format!("dataconnect:{DEMO_PRODUCTION}_production")));
        assert!(!r.rows.contains_key(&format!("dataconnect:{DEMO_PRODUCTION}_consumption")));
    }

    // A second run finds everything there and sends nothing.
    let imports = ha.recorder.lock().unwrap().imports.len();
    let out = publish(demo, &demo.db, &ha, &token);
    assert!(out.contains(&format!("{consumption}: 0 hourly row(s)")), "{out}");
    assert_eq!(ha.recorder.lock().unwrap().imports[imports..].iter().sum::<usize>(), 0);

    // Home Assistant lost the last 30 hours, and holds a wrong sum before
    // them: the run sends those hours, continuing the sum it holds.
    let (cut, base) = {
        let mut r = ha.recorder.lock().unwrap();
        let rows = r.rows.get_mut(&consumption).unwrap();
        let keys: Vec<i64> = rows.keys().rev().take(30).copied().collect();
        for k in &keys {
            rows.remove(k);
        }
        let (last, (state, _)) = rows.iter().next_back().map(|(k, v)| (*k, *v)).unwrap();
        rows.insert(last, (state, 1000.0));
        (keys.len(), 1000.0)
    };
    let out = publish(demo, &demo.db, &ha, &token);
    assert!(out.contains(&format!("{consumption}: {cut} hourly row(s)")), "{out}");
    let r = ha.recorder.lock().unwrap();
    let rows = &r.rows[&consumption];
    let tail: f64 = want.values().rev().take(cut).sum();
    let (_, (_, last_sum)) = rows.iter().next_back().unwrap();
    assert!((last_sum - (base + tail)).abs() < 1e-3, "{last_sum} vs {}", base + tail);
}

#[test]
fn daily_rows_when_the_meter_has_no_curve() {
    let demo = demo();
    let dir = tempfile::tempdir().unwrap();
    let token = token_file(dir.path());
    let db = dir.path().join("no-curve.db");
    super::publish_mqtt::copy_store(&demo.db, &db);
    rusqlite::Connection::open(&db).unwrap().execute("DELETE FROM reading WHERE series LIKE '%-curve'", []).unwrap();
    let ha = start();
    let out = publish(demo, &db, &ha, &token);
    let consumption = format!("dataconnect:{DEMO_CONSUMPTION}_consumption");
    assert!(out.contains("daily row(s)"), "{out}");
    let r = ha.recorder.lock().unwrap();
    let rows = &r.rows[&consumption];
    let daily = run_ok(
        dataconnect(&demo.home)
            .args(["export", "--format", "jsonl", "--prm", DEMO_CONSUMPTION, "--series", "consumption-daily", "--db"])
            .arg(&db),
    );
    let days: Vec<Value> =
        daily.lines().map(|l| serde_json::from_str(l).unwrap()).filter(|v: &Value| v["value"].is_number()).collect();
    assert_eq!(rows.len(), days.len());
    for d in &days {
        let t = d["start"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap().as_second();
        let (state, _) = rows.get(&t).unwrap_or_else(|| panic!("no row at the Paris midnight {}", d["start"]));
        assert!((state - d["value"].as_f64().unwrap() / 1000.0).abs() < 1e-6);
    }
}

#[test]
fn a_wrong_token_is_refused_without_being_printed() {
    let demo = demo();
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad-token");
    std::fs::write(&bad, "not-the-token-s3cret\n").unwrap();
    let ha = start();
    let r = run(dataconnect(&demo.home)
        .args(["publish", "home-assistant", "--url", &ha.url, "--token-file"])
        .arg(&bad)
        .arg("--db")
        .arg(&demo.db));
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("refused the token") && !r.stderr.contains("s3cret"), "{}", r.stderr);
    assert!(ha.recorder.lock().unwrap().rows.is_empty());

    // The token may come from the environment instead of a file.
    let r = run(dataconnect(&demo.home)
        .args(["publish", "home-assistant", "--url", &ha.url, "--prm", DEMO_PRODUCTION, "--db"])
        .arg(&demo.db)
        .env("DATACONNECT_HA_TOKEN", TOKEN));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("_production: "), "{}", r.stdout);
    // Neither a file nor the variable: the message says where to get one.
    let r = run(dataconnect(&demo.home).args(["publish", "home-assistant", "--url", &ha.url, "--db"]).arg(&demo.db));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("long-lived access token"), "{}", r.stderr);

    // Not Home Assistant at all: no WebSocket there.
    let r = run(dataconnect(&demo.home)
        .args(["publish", "home-assistant", "--url", &format!("{}/elsewhere", ha.url), "--token-file"])
        .arg(&bad)
        .arg("--db")
        .arg(&demo.db));
    assert_eq!(r.code, 7, "{}", r.stderr);
}

#[test]
fn a_validation_error_of_home_assistant_is_one_clear_line() {
    let demo = demo();
    let dir = tempfile::tempdir().unwrap();
    let token = token_file(dir.path());
    let ha = start();
    ha.recorder.lock().unwrap().before_2025 = true;
    let r = run(dataconnect(&demo.home)
        .args(["publish", "home-assistant", "--url", &ha.url, "--token-file"])
        .arg(&token)
        .arg("--db")
        .arg(&demo.db));
    assert_eq!(r.code, 9, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("refused recorder/import_statistics: invalid_format: extra keys not allowed"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("update it"), "{}", r.stderr);
    assert!(ha.recorder.lock().unwrap().rows.is_empty());
}
