//! Generation 1 specifics: the token answer of `POST /v1/oauth2/token`
//! (also the shape of the v5/2026 `POST /oauth2/v3/token` answer), and the
//! v3 metering bodies (a `usage_point` array of `meter_reading`s whose
//! points carry a `rank` instead of a date), read by [`super::v5`].
//!
//! ```json
//! {"access_token":"7tT7…","token_type":"Bearer","expires_in":12600,"refresh_token":"2r9U…",
//!  "scope":"/v3/metering_data/daily_consumption.GET …","refresh_token_issued_at":"1579681026182",
//!  "issued_at":"1579681026182","usage_points_id":"16401220101758,16401220101710"}
//! ```

use std::time::Duration;

use jiff::Timestamp;
use serde::Deserialize;

use super::Text;
use crate::domain::{DateRange, Reading, Series};
use crate::error::Error;
use crate::secret::{AccessToken, RefreshToken};

#[derive(Deserialize)]
struct Raw<'a> {
    access_token: String,
    #[serde(borrow, default)]
    expires_in: Option<Text<'a>>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(borrow, default)]
    refresh_token_issued_at: Option<Text<'a>>,
    #[serde(borrow, default)]
    issued_at: Option<Text<'a>>,
    #[serde(borrow, default)]
    usage_points_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    scope: Option<Text<'a>>,
}

/// A token answer, from any generation.
pub(crate) struct TokenAnswer {
    pub access_token: AccessToken,
    /// `expires_in`, a number or a string (`12600` or `"12600"`).
    pub expires_in: Option<Duration>,
    pub refresh_token: Option<RefreshToken>,
    /// `refresh_token_issued_at`, epoch milliseconds as a string.
    pub refresh_token_issued_at: Option<Timestamp>,
    /// `usage_points_id`, comma-separated in generation 1.
    pub usage_points: Vec<String>,
    #[allow(dead_code)]
    pub scope: Option<String>,
}

/// Reads a token answer. `expires_in` may be a number or a string, and the
/// `*issued_at` fields are epoch milliseconds as strings; anything
/// unreadable there is dropped rather than failing the exchange, because
/// the access token itself is what matters.
pub(crate) fn decode_token(body: &[u8]) -> Result<TokenAnswer, Error> {
    let raw: Raw = super::from_slice(body, "token")?;
    let expires_in = raw
        .expires_in
        .as_ref()
        .and_then(|t| t.as_str().trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| Duration::from_secs_f64(s.min(1e9)));
    let ms = |t: &Option<Text>| {
        t.as_ref()
            .and_then(|t| t.as_str().trim().parse::<i64>().ok())
            .and_then(|ms| Timestamp::from_millisecond(ms).ok())
    };
    let usage_points = raw
        .usage_points_id
        .as_ref()
        .map(|t| t.as_str().split([',', ';']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    let _ = ms(&raw.issued_at);
    Ok(TokenAnswer {
        access_token: AccessToken::new(raw.access_token),
        expires_in,
        refresh_token: raw.refresh_token.filter(|t| !t.is_empty()).map(RefreshToken::new),
        refresh_token_issued_at: ms(&raw.refresh_token_issued_at),
        usage_points,
        scope: raw.scope.and_then(|s| s.non_empty()),
    })
}

/// Decodes a v3 metering body (ranks, `usage_point` wrapper); v4 bodies
/// have the v5 shape and go through the same decoder.
pub(crate) fn decode_readings(body: &[u8], series: Series, window: DateRange) -> Result<Vec<Reading>, Error> {
    super::v5::decode_readings(body, series, window)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn seed_token_answer() {
        let body = br#"{"access_token":"7tT7xon48xnhxSWnBX5FzuoiEUWm2hApyf1lmqeDlHyU2oqcCv84xf","token_type":"Bearer","expires_in":12600,
"refresh_token":"2r9UcExfnH9WAnl6sM4T2rxYrYOW2sKjPcx8uWnrcgXvU3",
"scope":"/v3/metering_data/daily_consumption.GET /v3/metering_data/consumption_load_curve.GET",
"refresh_token_issued_at":"1579681026182","issued_at":"1579681026182","usage_points_id":"16401220101758,16401220101710"}"#;
        let t = decode_token(body).unwrap();
        assert_eq!(t.expires_in, Some(Duration::from_secs(12600)));
        assert_eq!(t.refresh_token.unwrap().secret(), "2r9UcExfnH9WAnl6sM4T2rxYrYOW2sKjPcx8uWnrcgXvU3");
        assert_eq!(t.refresh_token_issued_at.unwrap().as_millisecond(), 1579681026182);
        assert_eq!(t.usage_points, vec!["16401220101758", "16401220101710"]);
        let t = decode_token(br#"{"access_token":"x","token_type":"Bearer","expires_in":"12600","scope":""}"#).unwrap();
        assert_eq!(t.expires_in, Some(Duration::from_secs(12600)));
        assert!(t.refresh_token.is_none());
    }

    #[test]
    fn v3_ranks() {
        // The example of consometers/data-connect: 2019-12-01 to 2019-12-05, ranks 49..192 (the
        // first day missing), interval_length in seconds in reading_type.
        let body = br#"{"usage_point":[{"meter_reading":{"usage_point_id":"22516914714270","start":"2019-12-01","end":"2019-12-05",
  "reading_type":{"measurement_kind":"power","interval_length":"1800","unit":"W","aggregate":"average"},
  "interval_reading":[{"rank":"1","value":"200"},{"rank":"2","value":"228"},{"rank":"192","value":"3664"}]}}]}"#;
        let w = DateRange::new(date(2019, 12, 1), date(2019, 12, 5)).unwrap();
        let r = decode_readings(body, Series::ConsumptionCurve, w).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].start.to_string(), "2019-11-30T23:00:00Z");
        assert_eq!(r[0].end.to_string(), "2019-11-30T23:30:00Z");
        assert_eq!(r[2].end.to_string(), "2019-12-04T23:00:00Z");
        assert_eq!(r[1].value, Some(228.0));
    }
}
