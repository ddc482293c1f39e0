//! The gateway's quotas: calls per second (Enedis Q3, 5/s) and per hour
//! (Q4), per application, and per API for generation 3.
//!
//! The per-second limit is a sliding window over the last second (the
//! WSO2 "spike arrest" of the sandbox JWT's Bronze tier): a client that
//! waits at least `1/N` s between calls is never refused. The hourly cap
//! counts calls in the current clock hour of the sandbox's clock, because
//! the real 900804 body names the next full hour as `nextAccessTime`
//! ("You can access API after 2026-Jul-17 05:00:00+0000 UTC"). Refused calls
//! do not count. A limit of 0 disables that limit.
//!
//! The 429 bodies are the real ones, as users captured them (GitHub issues
//! bokub/conso-api#141 and bokub/ha-linky#192):
//! `{"fault":{"code":900807,…}}` per second, and the flat
//! `{"code":"900804",…,"nextAccessTime":…}` for the hourly cap. No
//! `Retry-After` header is sent: no capture of Enedis's 429 shows one, and
//! the sandbox takes the faithful reading (clients must rely on
//! `nextAccessTime` or their own backoff).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;

use super::{Family, json};

/// The quota budgets of every (application, API) pair.
pub(crate) struct Quota {
    per_second: u32,
    per_hour: u32,
    buckets: Mutex<HashMap<(String, &'static str), Bucket>>,
}

#[derive(Default)]
struct Bucket {
    /// When the calls of the last second were accepted.
    recent: VecDeque<Instant>,
    /// The clock hour `hour_count` counts (seconds since the epoch / 3600).
    hour: i64,
    hour_count: u32,
}

impl Quota {
    pub(crate) fn new(per_second: u32, per_hour: u32) -> Self {
        Quota { per_second, per_hour, buckets: Mutex::new(HashMap::new()) }
    }

    /// Counts a call of `client_id` to `api`, or answers the 429.
    /// `_family` is accepted for symmetry with the other gateway answers:
    /// the captured throttle bodies are the same for every generation.
    pub(crate) fn check(&self, client_id: &str, api: &'static str, _family: Family, now: Timestamp) -> Result<(), Response> {
        if self.per_second == 0 && self.per_hour == 0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry((client_id.to_owned(), api)).or_default();
        let hour = now.as_second().div_euclid(3600);
        if bucket.hour != hour {
            bucket.hour = hour;
            bucket.hour_count = 0;
        }
        if self.per_hour > 0 && bucket.hour_count >= self.per_hour {
            return Err(hourly_refusal(hour));
        }
        let instant = Instant::now();
        while bucket.recent.front().is_some_and(|t| instant.duration_since(*t) >= Duration::from_secs(1)) {
            bucket.recent.pop_front();
        }
        if self.per_second > 0 && bucket.recent.len() >= usize::try_from(self.per_second).unwrap_or(usize::MAX) {
            return Err(per_second_refusal());
        }
        bucket.recent.push_back(instant);
        bucket.hour_count += 1;
        Ok(())
    }
}

/// The per-second 429 (conso-api #141, 2026).
fn per_second_refusal() -> Response {
    json(
        StatusCode::TOO_MANY_REQUESTS,
        &serde_json::json!({"fault": {
            "code": 900807,
            "message": "Message throttled out",
            "description": "You have exceeded your quota",
        }}),
    )
}

/// The hourly 429, flat, with the next hour as `nextAccessTime`
/// (ha-linky #192), including its odd " .You" spacing.
fn hourly_refusal(hour: i64) -> Response {
    let next = Timestamp::from_second((hour + 1).saturating_mul(3600)).unwrap_or(Timestamp::MAX);
    let when = format!("{} UTC", next.strftime("%Y-%b-%d %H:%M:%S+0000"));
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Body {
        code: &'static str,
        message: &'static str,
        description: String,
        next_access_time: String,
    }
    json(
        StatusCode::TOO_MANY_REQUESTS,
        &Body {
            code: "900804",
            message: "Message throttled out",
            description: format!("You have exceeded your quota .You can access API after {when}"),
            next_access_time: when,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_is_cut_at_the_limit() {
        let q = Quota::new(5, 0);
        let now = Timestamp::now();
        let ok = (0..8).filter(|_| q.check("app", "application", Family::Classic, now).is_ok()).count();
        assert_eq!(ok, 5);
        // Another API (generation 3) has its own budget.
        assert!(q.check("app", "mesure_synchrone_auto", Family::Y2026, now).is_ok());
    }

    #[test]
    fn hourly_cap_names_the_next_hour() {
        let q = Quota::new(0, 2);
        let now: Timestamp = "2026-07-17T04:12:00Z".parse().unwrap_or(Timestamp::UNIX_EPOCH);
        assert!(q.check("app", "application", Family::Classic, now).is_ok());
        assert!(q.check("app", "application", Family::Classic, now).is_ok());
        let refused = q.check("app", "application", Family::Classic, now);
        assert!(refused.is_err());
        assert_eq!(refused.err().map(|r| r.status()), Some(StatusCode::TOO_MANY_REQUESTS));
        // The next hour opens a new budget.
        let later: Timestamp = "2026-07-17T05:00:00Z".parse().unwrap_or(Timestamp::UNIX_EPOCH);
        assert!(q.check("app", "application", Family::Classic, later).is_ok());
    }

    #[test]
    fn next_access_time_format() {
        let next = Timestamp::from_second(1_784_260_800).unwrap_or(Timestamp::UNIX_EPOCH);
        assert_eq!(format!("{}", next.strftime("%Y-%b-%d %H:%M:%S+0000")), "2026-Jul-17 04:00:00+0000");
    }
}
