//! Unit tests for the shared wire pieces: scalars, stamps, steps, and the
//! resolution of load-curve end stamps on DST days.

use super::*;
use crate::domain::{DateRange, Series};
use jiff::civil::date;

#[test]
fn values() {
    let v: Vec<Val> = serde_json::from_str(r#"["12", 13, null, "null", "", "1.5", "2,5"]"#).unwrap();
    let got: Vec<Option<f64>> = v.into_iter().map(|v| v.0).collect();
    assert_eq!(got, vec![Some(12.0), Some(13.0), None, None, None, Some(1.5), Some(2.5)]);
    assert!(serde_json::from_str::<Val>(r#""abc""#).is_err());
}

#[test]
fn stamps_and_steps() {
    assert!(matches!(parse_stamp("2024-03-01 00:30:00"), Some(Stamp::Local(_))));
    assert!(
        matches!(parse_stamp("2022-08-01T01:00:00+02:00"), Some(Stamp::Instant(t)) if ts(t).to_string() == "2022-07-31T23:00:00Z")
    );
    assert!(matches!(parse_stamp("2017-07-15+02:00"), Some(Stamp::Local(_))));
    assert_eq!(parse_stamp("2024-02-30"), None);
    assert_eq!(parse_stamp("2024-03-01 25:00:00"), None);
    assert_eq!(parse_step("PT30M"), Some(1800));
    assert_eq!(parse_step("PT10M"), Some(600));
    assert_eq!(parse_step("PT1H"), Some(3600));
    assert_eq!(parse_step("1800"), Some(1800));
    assert_eq!(parse_step("30"), Some(1800));
    assert_eq!(parse_step("P1D"), Some(86_400));
    assert_eq!(parse_step("PT"), None);
    assert_eq!(parse_step("soon"), None);
}

/// Builds a v5 load-curve body from (stamp, step) pairs.
fn body(start: &str, points: &[(String, &str)]) -> Vec<u8> {
    let items: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, (d, p))| format!(r#"{{"value":"{i}","date":"{d}","interval_length":"{p}","measure_type":"B"}}"#))
        .collect();
    format!(
        r#"{{"meter_reading":{{"start":"{start}","reading_type":{{"unit":"W"}},"interval_reading":[{}]}}}}"#,
        items.join(",")
    )
    .into_bytes()
}

fn half_hours(day: &str, next: &str, labels: &[&str]) -> Vec<(String, &'static str)> {
    labels
        .iter()
        .map(|l| if *l == "24:00" { (format!("{next} 00:00:00"), "PT30M") } else { (format!("{day} {l}:00"), "PT30M") })
        .collect()
}

fn check_contiguous(r: &[crate::domain::Reading], n: usize, range: DateRange) {
    assert_eq!(r.len(), n);
    assert_eq!(r[0].start, range.start_instant());
    assert_eq!(r[n - 1].end, range.end_instant());
    for w in r.windows(2) {
        assert_eq!(w[0].end, w[1].start, "{:?} then {:?}", w[0], w[1]);
        assert_eq!(w[0].step_seconds(), 1800);
    }
}

fn labels_of(skip: &[&str], dup: &[&str]) -> Vec<String> {
    let mut v = Vec::new();
    for i in 1..=48 {
        let l = format!("{:02}:{:02}", i / 2, (i % 2) * 30);
        let l = if l == "24:00" { "24:00".to_owned() } else { l };
        if skip.contains(&l.as_str()) {
            continue;
        }
        v.push(l.clone());
        if dup.contains(&l.as_str()) && l == *dup.last().unwrap_or(&"") {
            for d in dup {
                v.push((*d).to_owned());
            }
        }
    }
    v
}

#[test]
fn october_fold_both_conventions() {
    let range = DateRange::day(date(2025, 10, 26));
    // The spec's convention: the end stamps 02:30 and 03:00 appear twice.
    let l = labels_of(&[], &["02:30", "03:00"]);
    let refs: Vec<&str> = l.iter().map(String::as_str).collect();
    assert_eq!(refs.len(), 50);
    let b = body("2025-10-26", &half_hours("2025-10-26", "2025-10-27", &refs));
    let r = crate::wire::v5::decode_readings(&b, Series::ConsumptionCurve, range).unwrap();
    check_contiguous(&r, 50, range);
    // The true-label convention: 02:00 and 02:30 appear twice.
    let l = labels_of(&[], &["02:00", "02:30"]);
    let refs: Vec<&str> = l.iter().map(String::as_str).collect();
    let b = body("2025-10-26", &half_hours("2025-10-26", "2025-10-27", &refs));
    let r = crate::wire::v5::decode_readings(&b, Series::ConsumptionCurve, range).unwrap();
    check_contiguous(&r, 50, range);
    // The first 02:30 is +02:00, the second +01:00.
    let firsts: Vec<_> = r
        .iter()
        .filter(|x| {
            x.end.to_zoned_datetime(crate::domain::paris()).time().minute() == 30
                && x.end.to_zoned_datetime(crate::domain::paris()).time().hour() == 2
        })
        .collect();
    assert_eq!(firsts.len(), 2);
    assert_eq!(firsts[1].end.as_second() - firsts[0].end.as_second(), 3600);
}

#[test]
fn march_gap_both_conventions() {
    let range = DateRange::day(date(2025, 3, 30));
    // The spec's convention: 02:30 and 03:00 are absent.
    let l = labels_of(&["02:30", "03:00"], &[]);
    let refs: Vec<&str> = l.iter().map(String::as_str).collect();
    assert_eq!(refs.len(), 46);
    let b = body("2025-03-30", &half_hours("2025-03-30", "2025-03-31", &refs));
    let r = crate::wire::v5::decode_readings(&b, Series::ConsumptionCurve, range).unwrap();
    check_contiguous(&r, 46, range);
    // True labels: 02:00 and 02:30 are absent (02:00 CET is 03:00 CEST).
    let l = labels_of(&["02:00", "02:30"], &[]);
    let refs: Vec<&str> = l.iter().map(String::as_str).collect();
    let b = body("2025-03-30", &half_hours("2025-03-30", "2025-03-31", &refs));
    let r = crate::wire::v5::decode_readings(&b, Series::ConsumptionCurve, range).unwrap();
    check_contiguous(&r, 46, range);
}

#[test]
fn a_gap_in_winter_is_not_taken_for_summer_time() {
    let range = DateRange::day(date(2024, 1, 10));
    let pts = vec![("2024-01-10 00:30:00".to_owned(), "PT30M"), ("2024-01-10 02:00:00".to_owned(), "PT30M")];
    let b = body("2024-01-10", &pts);
    let r = crate::wire::v5::decode_readings(&b, Series::ConsumptionCurve, range).unwrap();
    assert_eq!(r[1].end.to_string(), "2024-01-10T01:00:00Z");
}

mod props {
    //! Property: whatever the start day, length, step changes and DST
    //! transitions inside, a contiguous curve written as Paris end stamps
    //! (the true local label of each end instant, as the sandbox writes
    //! them) decodes back to exactly the intervals it was written from.
    use super::*;
    use jiff::{Span, ToSpan};
    use proptest::prelude::*;

    fn steps() -> impl Strategy<Value = Vec<i64>> {
        proptest::collection::vec(prop_oneof![Just(10i64), Just(15), Just(30), Just(60)], 1..6)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        #[test]
        fn curves_round_trip_across_dst(
            offset in 0i64..1500,
            near_dst in proptest::bool::ANY,
            year in 2022i16..2027,
            october in proptest::bool::ANY,
            before in 0i64..7,
            days in 1i64..8,
            plan in steps(),
        ) {
            let tz = crate::domain::paris();
            // Half the cases start within a week before a DST change.
            let start = if near_dst {
                let month = if october { 10 } else { 3 };
                date(year, month, 1)
                    .nth_weekday_of_month(-1, jiff::civil::Weekday::Sunday)
                    .unwrap()
                    .checked_sub(before.days())
                    .unwrap()
            } else {
                date(2022, 1, 1).checked_add(offset.days()).unwrap()
            };
            let range = DateRange::new(start, start.checked_add(days.days()).unwrap()).unwrap();
            let (lo, hi) = (range.start_instant(), range.end_instant());
            let mut pts = Vec::new();
            let mut want = Vec::new();
            let mut t = lo;
            let mut i = 0usize;
            while t < hi {
                // The step changes every 20 points, cycling through `plan`.
                let step = plan[(i / 20) % plan.len()];
                let e = t.checked_add(Span::new().minutes(step)).unwrap().min(hi);
                let mins = (e.as_second() - t.as_second()) / 60;
                let label = e.to_zoned_datetime(tz.clone()).datetime().strftime("%Y-%m-%d %H:%M:%S").to_string();
                pts.push(format!(r#"{{"value":"{i}","date":"{label}","interval_length":"PT{mins}M"}}"#));
                want.push((t, e));
                t = e;
                i += 1;
            }
            let body = format!(r#"{{"meter_reading":{{"start":"{start}","reading_type":{{"unit":"W"}},"interval_reading":[{}]}}}}"#, pts.join(","));
            let got = crate::wire::v5::decode_readings(body.as_bytes(), Series::ConsumptionCurve, range).unwrap();
            let got: Vec<_> = got.iter().map(|r| (r.start, r.end)).collect();
            prop_assert_eq!(got, want);
        }
    }
}
