//! The gateway's quotas: calls per second (Enedis Q3, 5/s) and per hour
//! (Q4), per application, and per API for generation 3.
//!
//! The per-second limit is a sliding window over the last second (the
//! WSO2 "spike arrest" of the sandbox JWT's Bronze tier), measured when
//! each call arrives: a call is refused when `N` calls were accepted in the
//! `1 s - tolerance` before it. How the real gateway counts at the edge of
//! the second is not documented; a client that paces itself at `N` calls
//! per sliding second measured when each call *starts* sees its calls
//! arrive a little earlier or later than it sent them (a client written by
//! others got 2-7% of 429s from a strict window, one call arriving
//! 0.99983 s after the call five before it). The default tolerance
//! ([`DEFAULT_TOLERANCE`], 20 ms) forgives that jitter and no more: it lets
//! through at most `N` calls per 0.98 s. A tolerance of zero is the strict
//! window, which our own client's gate is tested against.
//!
//! The hourly cap counts calls in the current clock hour of the sandbox's
//! clock, because the real 900804 body names the next full hour as
//! `nextAccessTime` ("You can access API after 2026-Jul-17 05:00:00+0000
//! UTC"). Generations 1 and 2 count one budget per application;
//! generation 3 one budget per API, 1,000 calls per hour by default (the
//! published description of every 2026 API: "5 appels par secondes et/ou
//! 1000 appels par heure"). Refused calls do not count. A limit of 0
//! disables that limit.
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

/// The default tolerance of the per-second window (see the module docs).
pub const DEFAULT_TOLERANCE: Duration = Duration::from_millis(20);

/// The quota budgets of every (application, API) pair.
pub(crate) struct Quota {
    per_second: u32,
    /// The hourly cap of the generation 1 and 2 budget (per application).
    per_hour: u32,
    /// The hourly cap of each generation 3 API.
    per_hour_api: u32,
    /// The window of the per-second limit: one second minus the tolerance.
    window: Duration,
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
    pub(crate) fn new(per_second: u32, per_hour: u32, per_hour_api: u32, tolerance: Duration) -> Self {
        // A tolerance of a second or more would disable the limit; keep at
        // least a millisecond of window.
        let window = Duration::from_secs(1).saturating_sub(tolerance).max(Duration::from_millis(1));
        Quota { per_second, per_hour, per_hour_api, window, buckets: Mutex::new(HashMap::new()) }
    }

    /// Counts a call of `client_id` to `api`, or answers the 429.
    /// `family` picks the hourly cap (per application for generations 1
    /// and 2, per API for generation 3); the captured throttle bodies are
    /// the same for every generation.
    pub(crate) fn check(
        &self,
        client_id: &str,
        api: &'static str,
        family: Family,
        now: Timestamp,
    ) -> Result<(), Response> {
        self.check_at(client_id, api, family, now, Instant::now())
    }

    /// [`check`](Self::check) for a call that arrived at `instant`.
    fn check_at(
        &self,
        client_id: &str,
        api: &'static str,
        family: Family,
        now: Timestamp,
        instant: Instant,
    ) -> Result<(), Response> {
        let per_hour = match family {
            Family::Classic => self.per_hour,
            Family::Y2026 => self.per_hour_api,
        };
        if self.per_second == 0 && per_hour == 0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry((client_id.to_owned(), api)).or_default();
        let hour = now.as_second().div_euclid(3600);
        if bucket.hour != hour {
            bucket.hour = hour;
            bucket.hour_count = 0;
        }
        if per_hour > 0 && bucket.hour_count >= per_hour {
            return Err(hourly_refusal(hour));
        }
        while bucket.recent.front().is_some_and(|t| instant.duration_since(*t) >= self.window) {
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
        let q = Quota::new(5, 0, 0, Duration::ZERO);
        let now = Timestamp::now();
        let ok = (0..8).filter(|_| q.check("app", "application", Family::Classic, now).is_ok()).count();
        assert_eq!(ok, 5);
        // Another API (generation 3) has its own budget.
        assert!(q.check("app", "mesure_synchrone_auto", Family::Y2026, now).is_ok());
    }

    #[test]
    fn hourly_cap_names_the_next_hour() {
        let q = Quota::new(0, 2, 0, Duration::ZERO);
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
    fn generation_3_counts_its_own_hourly_cap_per_api() {
        let q = Quota::new(0, 1, 2, DEFAULT_TOLERANCE);
        let now: Timestamp = "2026-11-17T04:12:00Z".parse().unwrap_or(Timestamp::UNIX_EPOCH);
        let y = Family::Y2026;
        assert!(q.check("app", "mesure_synchrone_auto", y, now).is_ok());
        assert!(q.check("app", "mesure_synchrone_auto", y, now).is_ok());
        assert!(q.check("app", "mesure_synchrone_auto", y, now).is_err());
        // Another API has its own 2 calls; the classic budget its own 1.
        assert!(q.check("app", "comptage_auto", y, now).is_ok());
        assert!(q.check("app", "application", Family::Classic, now).is_ok());
        assert!(q.check("app", "application", Family::Classic, now).is_err());
    }

    #[test]
    fn the_tolerance_admits_a_call_arriving_just_under_a_second_later() {
        let strict = Quota::new(1, 0, 0, Duration::ZERO);
        let tolerant = Quota::new(1, 0, 0, Duration::from_millis(500));
        let now = Timestamp::now();
        let first = Instant::now();
        let c = Family::Classic;
        assert!(strict.check_at("app", "application", c, now, first).is_ok());
        assert!(tolerant.check_at("app", "application", c, now, first).is_ok());
        // 600 ms later: past `1 s - tolerance` (500 ms), yet under a
        // second, so only the tolerant window lets it through.
        let later = first + Duration::from_millis(600);
        assert!(strict.check_at("app", "application", c, now, later).is_err());
        assert!(tolerant.check_at("app", "application", c, now, later).is_ok());
        // The tolerant window still refuses a burst.
        assert!(tolerant.check_at("app", "application", c, now, later).is_err());
        // A full second after the first call, the strict window admits one.
        assert!(strict.check_at("app", "application", c, now, first + Duration::from_secs(1)).is_ok());
    }

    #[test]
    fn next_access_time_format() {
        let next = Timestamp::from_second(1_784_260_800).unwrap_or(Timestamp::UNIX_EPOCH);
        assert_eq!(format!("{}", next.strftime("%Y-%b-%d %H:%M:%S+0000")), "2026-Jul-17 04:00:00+0000");
    }
}
