//! `publish home-assistant`: hourly energy statistics imported into Home
//! Assistant's recorder, which its Energy dashboard reads.
//!
//! An MQTT state is recorded at the moment it is published, but Enedis data
//! arrives a day late and goes back years: only imported statistics put
//! each kWh in the hour it was used. This talks to Home Assistant's
//! WebSocket API (<https://developers.home-assistant.io/docs/api/websocket>):
//! `auth` with a long-lived access token, then `recorder/import_statistics`
//! (the external statistic `dataconnect:<prm>_consumption`, and
//! `_production`) with rows `{start, state, sum}`: `start` the hour with
//! its Paris offset, `state` the kWh of that hour, `sum` the running total.
//! Rows come from the load curve (each point's energy added to the hour it
//! starts in; so a Paris day has 23, 24 or 25 rows), or from the daily
//! energy, one row per day at local midnight, for a meter without a curve.
//!
//! A later run reads what Home Assistant holds (`recorder/statistics_during_period`),
//! finds the first hour whose value differs or is missing there, and sends
//! from that hour on, continuing the running sum Home Assistant has for the
//! hour before: a run with nothing new sends nothing, and a revised day is
//! sent again with every later sum corrected.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use dataconnect::{Series, UsagePointId};
use dataconnect_store::{ReadingFilter, Store};
use futures::{SinkExt, StreamExt};
use jiff::Timestamp;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::error::{Class, CliError};
use crate::settings::Secret;

/// Rows per `recorder/import_statistics` message: a year of hours is about
/// 9,000 rows, and smaller messages keep each of Home Assistant's database
/// transactions short.
const ROWS_PER_MESSAGE: usize = 2000;

/// How long Home Assistant may take to answer one message.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

/// One statistics row: the hour's (or day's) start, its kWh.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Row {
    pub start: Timestamp,
    pub kwh: f64,
}

/// The rows of one direction of one meter, and whether they are hourly.
pub struct Rows {
    pub rows: Vec<Row>,
    pub hourly: bool,
}

/// Hourly rows from the load curve of `curve`, or daily rows from `daily`
/// when the meter has no curve; `None` when it has neither.
pub fn rows(store: &dyn Store, prm: &UsagePointId, curve: Series, daily: Series) -> Result<Option<Rows>, CliError> {
    let mut hours: BTreeMap<i64, f64> = BTreeMap::new();
    read(store, prm, curve, &mut |start, r| {
        if let Some(wh) = r.energy_wh().filter(|e| e.is_finite()) {
            *hours.entry(start.div_euclid(3600) * 3600).or_default() += wh;
        }
    })?;
    if !hours.is_empty() {
        return Ok(Some(Rows { rows: to_rows(hours), hourly: true }));
    }
    let mut days: BTreeMap<i64, f64> = BTreeMap::new();
    read(store, prm, daily, &mut |start, r| {
        if let Some(wh) = r.value.filter(|v| v.is_finite()) {
            days.insert(start, wh);
        }
    })?;
    Ok((!days.is_empty()).then(|| Rows { rows: to_rows(days), hourly: false }))
}

fn read(
    store: &dyn Store,
    prm: &UsagePointId,
    series: Series,
    each: &mut dyn FnMut(i64, &dataconnect::Reading),
) -> Result<(), CliError> {
    let filter = ReadingFilter { usage_points: vec![prm.clone()], series: vec![series], from: None, to: None };
    store.for_each_reading(&filter, &mut |r| {
        each(r.reading.start.as_second(), &r.reading);
        Ok(())
    })?;
    Ok(())
}

fn to_rows(wh: BTreeMap<i64, f64>) -> Vec<Row> {
    wh.into_iter()
        .filter_map(|(t, wh)| Some(Row { start: Timestamp::from_second(t).ok()?, kwh: round6(wh / 1000.0) }))
        .collect()
}

/// kWh to the mWh: finer than any meter, and free of the binary noise that
/// would make an unchanged value look changed.
fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// The statistic's metadata, as `recorder/import_statistics` takes it.
/// `mean_type` (0: no mean) and `unit_class` joined `has_mean` in Home
/// Assistant's schema during 2025, with a warning that they would be
/// required from 2026.11 on, so both are sent; a Home Assistant from before
/// them refuses the extra keys, and the error says to update it.
pub fn metadata(prm: &UsagePointId, direction: &str) -> Value {
    json!({
        "has_mean": false,
        "mean_type": 0,
        "has_sum": true,
        "name": format!("Linky {} {direction}", prm.as_str()),
        "source": "dataconnect",
        "statistic_id": statistic_id(prm, direction),
        "unit_class": "energy",
        "unit_of_measurement": "kWh",
    })
}

/// `dataconnect:<prm>_<direction>`: an external statistic (its source
/// before the colon), in the lowercase-and-digits form Home Assistant checks.
pub fn statistic_id(prm: &UsagePointId, direction: &str) -> String {
    format!("dataconnect:{}_{direction}", prm.as_str())
}

/// A row as Home Assistant stores it (what `statistics_during_period` says).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Known {
    pub start: i64,
    pub state: Option<f64>,
    pub sum: Option<f64>,
}

/// The rows to send after comparing with what Home Assistant holds: from
/// the first row that is missing or differs, with sums continuing from the
/// sum Home Assistant holds for the row before it (0 when there is none).
/// Empty when Home Assistant already holds every row.
pub fn to_send(rows: &[Row], known: &[Known]) -> Vec<Value> {
    let by_start: BTreeMap<i64, &Known> = known.iter().map(|k| (k.start, k)).collect();
    let first_change = rows.iter().position(|r| {
        by_start.get(&r.start.as_second()).is_none_or(|k| k.state.is_none_or(|s| (s - r.kwh).abs() > 1e-6))
    });
    let Some(first) = first_change else {
        return Vec::new();
    };
    let before = rows[first].start.as_second();
    let mut sum = by_start.range(..before).next_back().and_then(|(_, k)| k.sum).unwrap_or(0.0);
    let paris = dataconnect::domain::paris();
    rows[first..]
        .iter()
        .map(|r| {
            sum = round6(sum + r.kwh);
            let start = r.start.to_zoned_datetime(paris.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string();
            json!({ "start": start, "state": r.kwh, "sum": sum })
        })
        .collect()
}

/// An open, authenticated WebSocket to Home Assistant.
pub struct Session {
    ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    next_id: u64,
    shown: String,
}

impl Session {
    /// Connects to `url`'s `/api/websocket` (ws:// for http://, wss:// for
    /// https://, with the system's roots) and authenticates with `token`.
    pub async fn open(url: &str, token: &Secret) -> Result<Session, CliError> {
        let (ws_url, shown) = websocket_url(url)?;
        let connector = if ws_url.scheme() == "wss" {
            super::install_tls_provider();
            Some(tokio_tungstenite::Connector::Rustls(super::mqtt::tls_config()?))
        } else {
            None
        };
        let connect = tokio_tungstenite::connect_async_tls_with_config(ws_url.as_str(), None, true, connector);
        let (ws, _) = tokio::time::timeout(ANSWER_TIMEOUT, connect)
            .await
            .map_err(|_| {
                CliError::new(
                    Class::Network,
                    format!("Home Assistant at {shown} did not answer the WebSocket connection"),
                )
            })?
            .map_err(|e| {
                CliError::new(
                    Class::Network,
                    format!("cannot open Home Assistant's WebSocket at {shown}: {e}: check --url"),
                )
            })?;
        let mut session = Session { ws, next_id: 1, shown };
        let hello = session.receive().await?;
        if hello["type"] != "auth_required" {
            return Err(session.unexpected(&hello, "auth_required"));
        }
        let auth = json!({ "type": "auth", "access_token": token.expose() });
        session.send(&auth).await?;
        let answer = session.receive().await?;
        match answer["type"].as_str() {
            Some("auth_ok") => Ok(session),
            Some("auth_invalid") => Err(CliError::new(
                Class::Auth,
                format!(
                    "Home Assistant at {} refused the token ({}): create a long-lived access token on your profile page and put it in --token-file",
                    session.shown,
                    answer["message"].as_str().unwrap_or("auth_invalid")
                ),
            )),
            _ => Err(session.unexpected(&answer, "auth_ok")),
        }
    }

    /// The URL shown in messages.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Sends one command (its `id` added) and returns its `result`, or
    /// Home Assistant's error as a CLI error.
    pub async fn command(&mut self, mut command: Value) -> Result<Value, CliError> {
        let id = self.next_id;
        self.next_id += 1;
        command["id"] = json!(id);
        let kind = command["type"].as_str().unwrap_or_default().to_owned();
        self.send(&command).await?;
        loop {
            let answer = self.receive().await?;
            if answer["id"] != json!(id) || answer["type"] != "result" {
                continue; // Events of other subscriptions, if any.
            }
            if answer["success"] == json!(true) {
                return Ok(answer["result"].clone());
            }
            let code = answer["error"]["code"].as_str().unwrap_or("unknown");
            let message = answer["error"]["message"].as_str().unwrap_or("");
            let fix = if message.contains("extra keys not allowed") {
                // The metadata's mean_type and unit_class, unknown before 2025.
                "this Home Assistant is older than the statistics schema we send: update it"
            } else {
                "see Home Assistant's log"
            };
            return Err(CliError::new(
                Class::Api,
                format!("Home Assistant at {} refused {kind}: {code}: {message}: {fix}", self.shown),
            ));
        }
    }

    /// What Home Assistant holds of `statistic_id`, hourly, from `start` on.
    pub async fn known(&mut self, statistic_id: &str, start: Timestamp) -> Result<Vec<Known>, CliError> {
        let result = self
            .command(json!({
                "type": "recorder/statistics_during_period",
                "start_time": start.to_string(),
                "statistic_ids": [statistic_id],
                "period": "hour",
                "types": ["state", "sum"],
            }))
            .await?;
        let rows = result[statistic_id].as_array().cloned().unwrap_or_default();
        Ok(rows.iter().filter_map(known_row).collect())
    }

    /// Imports `rows` (already in Home Assistant's shape) in messages of
    /// [`ROWS_PER_MESSAGE`].
    pub async fn import(&mut self, metadata: &Value, rows: &[Value]) -> Result<(), CliError> {
        for chunk in rows.chunks(ROWS_PER_MESSAGE) {
            self.command(json!({ "type": "recorder/import_statistics", "metadata": metadata, "stats": chunk })).await?;
        }
        Ok(())
    }

    /// Closes the WebSocket politely.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }

    async fn send(&mut self, v: &Value) -> Result<(), CliError> {
        let shown = &self.shown;
        self.ws
            .send(WsMessage::text(v.to_string()))
            .await
            .map_err(|e| CliError::new(Class::Network, format!("Home Assistant at {shown} closed the WebSocket: {e}")))
    }

    async fn receive(&mut self) -> Result<Value, CliError> {
        loop {
            let next = tokio::time::timeout(ANSWER_TIMEOUT, self.ws.next()).await.map_err(|_| {
                CliError::new(
                    Class::Network,
                    format!("Home Assistant at {} did not answer within {} s", self.shown, ANSWER_TIMEOUT.as_secs()),
                )
            })?;
            let message = match next {
                Some(Ok(m)) => m,
                Some(Err(e)) => {
                    return Err(CliError::new(
                        Class::Network,
                        format!("Home Assistant at {}: WebSocket error: {e}", self.shown),
                    ));
                }
                None => {
                    return Err(CliError::new(
                        Class::Network,
                        format!("Home Assistant at {} closed the WebSocket", self.shown),
                    ));
                }
            };
            match message {
                WsMessage::Text(text) => {
                    return serde_json::from_str(text.as_str()).map_err(|e| {
                        CliError::new(
                            Class::Api,
                            format!("Home Assistant at {} sent a message that is not JSON: {e}", self.shown),
                        )
                    });
                }
                WsMessage::Close(_) => {
                    return Err(CliError::new(
                        Class::Network,
                        format!("Home Assistant at {} closed the WebSocket", self.shown),
                    ));
                }
                _ => {} // Pings are answered by the library; binary frames are not part of the API.
            }
        }
    }

    fn unexpected(&self, got: &Value, wanted: &str) -> CliError {
        let kind = got["type"].as_str().unwrap_or("?");
        CliError::new(
            Class::Api,
            format!(
                "Home Assistant at {} sent {kind:?} where {wanted} was expected: is --url Home Assistant?",
                self.shown
            ),
        )
    }
}

/// `statistics_during_period` gives `start` in milliseconds since the epoch
/// (Home Assistant 2022.10 and later; ISO 8601 strings before).
fn known_row(v: &Value) -> Option<Known> {
    let start = match &v["start"] {
        Value::Number(n) => (n.as_f64()? / 1000.0).round() as i64,
        Value::String(s) => s.parse::<Timestamp>().ok()?.as_second(),
        _ => return None,
    };
    Some(Known { start, state: v["state"].as_f64(), sum: v["sum"].as_f64() })
}

/// `http(s)://HOST:PORT[/]` to `ws(s)://HOST:PORT/api/websocket`, and the
/// URL as shown (no credentials, no query).
fn websocket_url(url: &str) -> Result<(url::Url, String), CliError> {
    let bad = || CliError::usage("--url must be Home Assistant's address, like http://homeassistant.local:8123");
    let mut u = url::Url::parse(url).map_err(|_| bad())?;
    let scheme = match u.scheme() {
        "http" | "ws" => "ws",
        "https" | "wss" => "wss",
        _ => return Err(bad()),
    };
    if u.host_str().is_none() {
        return Err(bad());
    }
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    let shown = u.to_string().trim_end_matches('/').to_owned();
    let path = u.path().trim_end_matches('/').to_owned();
    if !path.ends_with("/api/websocket") {
        u.set_path(&format!("{path}/api/websocket"));
    }
    u.set_scheme(scheme).map_err(|()| bad())?;
    Ok((u, shown))
}

/// What one run sent, per statistic.
pub struct Sent {
    pub statistic_id: String,
    pub rows: usize,
    pub hourly: bool,
}

/// Imports the consumption and production statistics of `prm` (those it
/// has), sending only what Home Assistant lacks or holds differently.
pub async fn publish_meter(
    session: &mut Session,
    store: &Arc<crate::store::AnyStore>,
    prm: &UsagePointId,
) -> Result<Vec<Sent>, CliError> {
    let mut sent = Vec::new();
    for (direction, curve, daily) in [
        ("consumption", Series::ConsumptionCurve, Series::ConsumptionDaily),
        ("production", Series::ProductionCurve, Series::ProductionDaily),
    ] {
        let Some(rows) = tokio::task::block_in_place(|| rows(&***store, prm, curve, daily))? else {
            continue;
        };
        let Some(first) = rows.rows.first() else {
            continue;
        };
        let id = statistic_id(prm, direction);
        // From an hour before the first row, to read the sum that precedes it.
        let from = first.start.checked_sub(jiff::SignedDuration::from_hours(1)).unwrap_or(first.start);
        let known = session.known(&id, from).await?;
        let payload = to_send(&rows.rows, &known);
        session.import(&metadata(prm, direction), &payload).await?;
        sent.push(Sent { statistic_id: id, rows: payload.len(), hourly: rows.hourly });
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(t: &str, kwh: f64) -> Row {
        Row { start: t.parse().unwrap(), kwh }
    }

    #[test]
    fn the_sum_continues_from_home_assistants_last_row() {
        let rows =
            [row("2024-01-01T00:00:00Z", 1.0), row("2024-01-01T01:00:00Z", 2.0), row("2024-01-01T02:00:00Z", 0.5)];
        let all = to_send(&rows, &[]);
        assert_eq!(all.len(), 3);
        assert_eq!(all[0], json!({"start": "2024-01-01T01:00:00+01:00", "state": 1.0, "sum": 1.0}));
        assert_eq!(all[2]["sum"], 3.5);
        let t = |s: &str| s.parse::<Timestamp>().unwrap().as_second();
        let known = [
            Known { start: t("2024-01-01T00:00:00Z"), state: Some(1.0), sum: Some(101.0) },
            Known { start: t("2024-01-01T01:00:00Z"), state: Some(2.0), sum: Some(103.0) },
        ];
        let rest = to_send(&rows, &known);
        assert_eq!(rest, vec![json!({"start": "2024-01-01T03:00:00+01:00", "state": 0.5, "sum": 103.5})]);
        // A revised hour is sent again, with every later sum.
        let known = [
            Known { start: t("2024-01-01T00:00:00Z"), state: Some(1.0), sum: Some(101.0) },
            Known { start: t("2024-01-01T01:00:00Z"), state: Some(1.5), sum: Some(102.5) },
        ];
        let rest = to_send(&rows, &known);
        assert_eq!(rest.len(), 2);
        assert_eq!(rest[1]["sum"], 103.5);
        let everything = [
            known[0],
            Known { start: t("2024-01-01T01:00:00Z"), state: Some(2.0), sum: Some(103.0) },
            Known { start: t("2024-01-01T02:00:00Z"), state: Some(0.5), sum: Some(103.5) },
        ];
        assert!(to_send(&rows, &everything).is_empty());
    }

    #[test]
    fn urls_become_the_websocket_endpoint() {
        let (u, shown) = websocket_url("http://ha.local:8123").unwrap();
        assert_eq!((u.as_str(), shown.as_str()), ("ws://ha.local:8123/api/websocket", "http://ha.local:8123"));
        let (u, _) = websocket_url("https://user:pw@ha.example/").unwrap();
        assert_eq!(u.as_str(), "wss://ha.example/api/websocket");
        assert!(websocket_url("ha.local:8123").is_err());
    }
}
