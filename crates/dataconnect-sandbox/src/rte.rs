//! RTE's Tempo calendar API, emulated: the OAuth2 token endpoint
//! (`POST /token/oauth/`, client credentials in a Basic header) and
//! `GET /open_api/tempo_like_supply_contract/v1/tempo_like_calendars`.
//!
//! The calendar is synthetic but deterministic and obeys the real rules: a
//! season runs from 1 September to 31 August; it has 22 red days, only on
//! weekdays between 1 November and 31 March; 43 white days, never on a
//! Sunday; the rest is blue. As in RTE's data, 2022-12-28 has no colour.
//! The API's rules are RTE's: both dates or neither, at most 366 days, the
//! end no later than today + 2, nothing before 2014-09-01, values newest
//! first, tomorrow's colour only once published (10:40 Paris).
//! The sandbox's registered client id and secret are accepted as RTE
//! credentials.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine;
use jiff::civil::{Date, Weekday, date};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::json;

use crate::Sandbox;
use crate::clock::paris;
use crate::platform::json;

/// The path of RTE's Tempo calendar.
pub const TEMPO_PATH: &str = "/open_api/tempo_like_supply_contract/v1/tempo_like_calendars";
/// The path of RTE's token endpoint.
pub const TOKEN_PATH: &str = "/token/oauth/";

/// RTE's tokens live two hours.
const TOKEN_TTL_SECS: i64 = 7200;

/// Issued RTE tokens and their expiry.
#[derive(Default)]
pub(crate) struct Rte {
    tokens: Mutex<HashMap<String, Timestamp>>,
}

pub(crate) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/token/oauth/", post(token))
        .route("/open_api/tempo_like_supply_contract/v1/tempo_like_calendars", get(calendar))
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    json(status, &json!({"error": code, "error_description": description}))
}

async fn token(State(sandbox): State<Sandbox>, headers: HeaderMap) -> Response {
    let config = sandbox.config();
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let expected = format!("{}:{}", config.client_id, config.client_secret);
    if given.as_deref() != Some(expected.as_str()) {
        return error(StatusCode::UNAUTHORIZED, "invalid_client", "Bad credentials");
    }
    let mut bytes = [0u8; 24];
    if getrandom::fill(&mut bytes).is_err() {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "no randomness");
    }
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let now = sandbox.clock().now();
    if let Ok(mut tokens) = sandbox.rte().tokens.lock() {
        tokens.retain(|_, exp| *exp > now);
        tokens.insert(token.clone(), now + SignedDuration::from_secs(TOKEN_TTL_SECS));
    }
    json(StatusCode::OK, &json!({"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_TTL_SECS}))
}

#[derive(Deserialize)]
struct Params {
    start_date: Option<String>,
    end_date: Option<String>,
}

async fn calendar(State(sandbox): State<Sandbox>, headers: HeaderMap, Query(q): Query<Params>) -> Response {
    let now = sandbox.clock().now();
    let bearer =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let valid = bearer.is_some_and(|t| {
        sandbox.rte().tokens.lock().map(|tokens| tokens.get(t.trim()).is_some_and(|exp| *exp > now)).unwrap_or(false)
    });
    if !valid {
        return error(StatusCode::UNAUTHORIZED, "invalid_token", "The access token is missing, invalid or expired");
    }
    let local = now.to_zoned_datetime(paris());
    let today = local.date();
    // Tomorrow's colour is published at 10:40 Paris.
    let published_until =
        if local.time() >= jiff::civil::time(10, 40, 0, 0) { today.tomorrow().ok() } else { Some(today) };
    let (start, end) = match (q.start_date.as_deref(), q.end_date.as_deref()) {
        (None, None) => (today, today.tomorrow().and_then(|t| t.tomorrow()).unwrap_or(today)),
        (Some(s), Some(e)) => match (parse_date(s), parse_date(e)) {
            (Some(s), Some(e)) => (s, e),
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "TMPLIKSUPCON_TMPLIKCAL_F04",
                    "The dates must be like 2024-01-01T00:00:00+01:00",
                );
            }
        },
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "TMPLIKSUPCON_TMPLIKCAL_F01",
                "Both start_date and end_date are required, or neither",
            );
        }
    };
    if end <= start {
        return error(StatusCode::BAD_REQUEST, "TMPLIKSUPCON_TMPLIKCAL_F02", "end_date must be after start_date");
    }
    if (end - start).get_days() > 366 {
        return error(StatusCode::BAD_REQUEST, "TMPLIKSUPCON_TMPLIKCAL_F03", "The period must not exceed 366 days");
    }
    let limit = today.checked_add(jiff::Span::new().days(2)).unwrap_or(today);
    if end > limit {
        return error(
            StatusCode::BAD_REQUEST,
            "TMPLIKSUPCON_TMPLIKCAL_F05",
            "end_date must be no later than today + 2 days",
        );
    }
    if start < FIRST_DAY {
        return error(
            StatusCode::BAD_REQUEST,
            "TMPLIKSUPCON_TMPLIKCAL_F06",
            "start_date must be on or after 2014-09-01",
        );
    }
    let mut values = Vec::new();
    let mut d = start;
    while d < end && published_until.is_some_and(|p| d <= p) {
        if let Some(colour) = colour(d) {
            values.push(json!({
                "start_date": stamp(d),
                "end_date": d.tomorrow().map(stamp).unwrap_or_default(),
                "value": colour,
                "updated_date": d.yesterday().map(|y| stamp_at(y, 10, 40)).unwrap_or_default(),
            }));
        }
        let Ok(next) = d.tomorrow() else { break };
        d = next;
    }
    values.reverse();
    json(
        StatusCode::OK,
        &json!({"tempo_like_calendars": {"start_date": stamp(start), "end_date": stamp(end), "values": values}}),
    )
}

/// The first day of RTE's data.
const FIRST_DAY: Date = date(2014, 9, 1);

/// The Paris day of an RFC 3339 instant such as `2024-01-01T00:00:00+01:00`.
fn parse_date(s: &str) -> Option<Date> {
    let ts: Timestamp = s.parse().ok()?;
    Some(ts.to_zoned_datetime(paris()).date())
}

fn stamp(d: Date) -> String {
    stamp_at(d, 0, 0)
}

fn stamp_at(d: Date, h: i8, m: i8) -> String {
    d.at(h, m, 0, 0)
        .to_zoned_datetime(paris())
        .map(|z| z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
        .unwrap_or_default()
}

/// The colour of `d` in the sandbox's calendar (`None` for 2022-12-28, as RTE).
pub fn colour(d: Date) -> Option<&'static str> {
    if d == date(2022, 12, 28) {
        return None;
    }
    let season = if d.month() >= 9 { d.year() } else { d.year() - 1 };
    let (red, white) = season_days(season);
    Some(if red.contains(&d) {
        "RED"
    } else if white.contains(&d) {
        "WHITE"
    } else {
        "BLUE"
    })
}

/// The red and white days of the season starting on 1 September of `year`:
/// the eligible days ranked by a hash of the day, the first ones taken.
fn season_days(year: i16) -> (Vec<Date>, Vec<Date>) {
    let mut days = Vec::new();
    let mut d = date(year, 9, 1);
    let end = date(year + 1, 9, 1);
    while d < end {
        // RTE never coloured 2022-12-28: it counts for neither red nor white.
        if d != date(2022, 12, 28) {
            days.push(d);
        }
        let Ok(next) = d.tomorrow() else { break };
        d = next;
    }
    let winter = |d: &Date| d.month() >= 11 || d.month() <= 3;
    let weekday = |d: &Date| !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday);
    let mut red: Vec<Date> = days.iter().copied().filter(|d| winter(d) && weekday(d)).collect();
    red.sort_by_key(|d| mix(d, 1));
    red.truncate(22);
    let mut white: Vec<Date> = days
        .iter()
        .copied()
        .filter(|d| d.weekday() != Weekday::Sunday && !red.contains(d) && (d.month() >= 10 || d.month() <= 5))
        .collect();
    white.sort_by_key(|d| mix(d, 2));
    white.truncate(43);
    (red, white)
}

/// A stable hash of a day (splitmix64).
fn mix(d: &Date, salt: u64) -> u64 {
    let mut z = (d.year() as u64 * 10_000 + d.month() as u64 * 100 + d.day() as u64)
        .wrapping_add(salt.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_season_keeps_the_rules() {
        for year in 2014..2030 {
            let mut d = date(year, 9, 1);
            let (mut red, mut white) = (0, 0);
            while d < date(year + 1, 9, 1) {
                match colour(d) {
                    Some("RED") => {
                        red += 1;
                        assert!(!matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday), "{d}");
                        assert!(d.month() >= 11 || d.month() <= 3, "{d}");
                    }
                    Some("WHITE") => {
                        white += 1;
                        assert_ne!(d.weekday(), Weekday::Sunday, "{d}");
                    }
                    Some(_) => {}
                    None => assert_eq!(d, date(2022, 12, 28)),
                }
                d = d.tomorrow().unwrap();
            }
            assert_eq!((red, white), (22, 43), "season {year}");
        }
    }
}
