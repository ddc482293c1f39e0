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
    assert!(matches!(parse_stamp("2022-08-01T01:00:00+02:00"), Some(Stamp::Instant(t)) if ts(t).to_string() == "2022-07-31T23:00:00Z"));
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
    let firsts: Vec<_> = r.iter().filter(|x| x.end.to_zoned_datetime(crate::domain::paris()).time().minute() == 30 && x.end.to_zoned_datetime(crate::domain::paris()).time().hour() == 2).collect();
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
