//! Europe/Paris offsets without a time-zone database lookup per point.
//!
//! Decoding a load curve resolves one local stamp per point; going through
//! the tz database for each would dominate the decoding time. Since 1996
//! Paris follows the EU rule (UTC+1, and UTC+2 from the last Sunday of
//! March 01:00 UTC to the last Sunday of October 01:00 UTC), so the
//! transitions from 1996 to 2099 are computed once from that rule; outside
//! those years the bundled tz database is asked. A unit test checks the
//! table against the database for every year it covers.

use std::sync::OnceLock;

use jiff::civil::DateTime;

use crate::domain::paris;

const FIRST_YEAR: i64 = 1996;
const LAST_YEAR: i64 = 2099;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(crate) fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// The instant (UTC seconds) of 01:00 UTC on the last Sunday of `month`.
fn last_sunday_1am(y: i64, month: i64) -> i64 {
    let last = days_from_civil(y, month, 31);
    // 1970-01-01 was a Thursday: (days + 4) mod 7 is 0 on Sundays.
    let sunday = last - (last + 4).rem_euclid(7);
    sunday * 86_400 + 3600
}

fn transitions() -> &'static [i64] {
    static T: OnceLock<Vec<i64>> = OnceLock::new();
    T.get_or_init(|| (FIRST_YEAR..=LAST_YEAR).flat_map(|y| [last_sunday_1am(y, 3), last_sunday_1am(y, 10)]).collect())
}

/// The Paris UTC offset in seconds at instant `t` (UTC seconds).
pub(crate) fn offset_at(t: i64) -> i64 {
    let tr = transitions();
    match (tr.first(), tr.last()) {
        (Some(&first), Some(&last)) if t >= first - 86_400 * 60 && t < last + 86_400 * 60 => {
            // An odd count of transitions at or before `t` means summer time.
            let n = tr.partition_point(|&x| x <= t);
            if n % 2 == 1 { 7200 } else { 3600 }
        }
        _ => slow_offset(t),
    }
}

fn slow_offset(t: i64) -> i64 {
    match jiff::Timestamp::from_second(t) {
        Ok(ts) => i64::from(paris().to_offset(ts).seconds()),
        Err(_) => 3600,
    }
}

/// A Paris local time resolved into instants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// One instant: the usual case, and also a time in the March gap,
    /// which is read with the offset before the gap (as jiff's
    /// "compatible" disambiguation does: 02:30 becomes 03:30 +02:00).
    One(i64),
    /// The October fold: the earlier (+02:00) and later (+01:00) instants.
    Fold(i64, i64),
}

/// Resolves local seconds (a Paris wall-clock time counted from
/// 1970-01-01T00:00 local) into UTC instants.
pub(crate) fn resolve(local: i64) -> Resolved {
    let summer = local - 7200;
    let winter = local - 3600;
    let s_ok = offset_at(summer) == 7200;
    let w_ok = offset_at(winter) == 3600;
    match (s_ok, w_ok) {
        (true, true) => Resolved::Fold(summer, winter),
        (true, false) => Resolved::One(summer),
        (false, true) => Resolved::One(winter),
        // The gap: the wall-clock time does not exist; use the offset in
        // force before it (winter), which lands after the transition.
        (false, false) => Resolved::One(winter),
    }
}

/// The instant of local midnight `local` (which always exists in Paris).
pub(crate) fn local_midnight_to_utc(local: i64) -> i64 {
    match resolve(local) {
        Resolved::One(t) | Resolved::Fold(t, _) => t,
    }
}

/// Local seconds of a civil date-time.
pub(crate) fn local_seconds(dt: DateTime) -> i64 {
    days_from_civil(i64::from(dt.year()), i64::from(dt.month()), i64::from(dt.day())) * 86_400
        + i64::from(dt.hour()) * 3600
        + i64::from(dt.minute()) * 60
        + i64::from(dt.second())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    #[test]
    fn table_matches_tz_database() {
        let tz = paris();
        for y in FIRST_YEAR..=LAST_YEAR {
            for (m, d) in [(1, 15), (3, 24), (3, 31), (4, 1), (7, 1), (10, 24), (10, 31), (11, 1), (12, 31)] {
                for h in [0, 1, 2, 3, 12] {
                    let t = days_from_civil(y, m, d) * 86_400 + h * 3600;
                    let want = i64::from(tz.to_offset(Timestamp::from_second(t).unwrap()).seconds());
                    assert_eq!(offset_at(t), want, "{y}-{m}-{d} {h}h");
                }
            }
            // Around each transition, to the second.
            for &t in &[last_sunday_1am(y, 3), last_sunday_1am(y, 10)] {
                for dt in [-1, 0, 1] {
                    let want = i64::from(tz.to_offset(Timestamp::from_second(t + dt).unwrap()).seconds());
                    assert_eq!(offset_at(t + dt), want, "{y} {t}{dt:+}");
                }
            }
        }
        assert_eq!(offset_at(days_from_civil(1980, 7, 1) * 86_400), 7200);
    }

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2100, 2), 28);
    }

    #[test]
    fn fold_and_gap() {
        // 2025-10-26 02:30 local happens twice; 2025-03-30 02:30 never.
        let l = days_from_civil(2025, 10, 26) * 86_400 + 2 * 3600 + 1800;
        assert!(matches!(resolve(l), Resolved::Fold(a, b) if b - a == 3600));
        let g = days_from_civil(2025, 3, 30) * 86_400 + 2 * 3600 + 1800;
        // Read with the winter offset, it lands at 01:30 UTC = 03:30 +02:00.
        assert_eq!(resolve(g), Resolved::One(days_from_civil(2025, 3, 30) * 86_400 + 5400));
    }
}
