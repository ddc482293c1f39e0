//! Decoding throughput: a 7-day PT10M load curve (1,008 points) and a
//! 365-day daily series, in the v5 and 2026 shapes, into domain readings.
//!
//! The baseline, measured in the same run, is the obvious way: parse into
//! `serde_json::Value`, then convert each point by hand with jiff's time
//! zone conversion. Criterion reports points per second ("elem/s").
//!
//! Run with `cargo bench -p dataconnect --features internals --bench decode`
//! (the decoders are reached through the `internals` feature's entry points).

// A panic is how a test, a benchmark or an example reports a broken
// environment: unwrap and expect are fine here (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dataconnect::{DateRange, Reading, Series, Unit};
use jiff::civil::{Date, DateTime, date};
use jiff::{Span, Timestamp, ToSpan};
use std::hint::black_box;

const START: Date = date(2025, 10, 22);

/// A v5 curve body of `days` days at `step_min` minutes (the October DST
/// change inside, so that the 25-hour day is part of the work).
fn v5_curve(days: i64, step_min: i64) -> (Vec<u8>, usize) {
    let tz = dataconnect::domain::paris();
    let start = dataconnect::domain::paris_day_start(START);
    let end = dataconnect::domain::paris_day_start(START.checked_add(days.days()).unwrap());
    let mut items = Vec::new();
    let mut t = start;
    let mut i = 0u64;
    while t < end {
        let e = t.checked_add(Span::new().minutes(step_min)).unwrap();
        let local = e.to_zoned_datetime(tz.clone()).datetime();
        items.push(format!(
            r#"{{"value":"{}","date":"{}","interval_length":"PT{step_min}M","measure_type":"B"}}"#,
            200 + (i * 37) % 3000,
            local.strftime("%Y-%m-%d %H:%M:%S")
        ));
        t = e;
        i += 1;
    }
    let n = items.len();
    let body = format!(
        r#"{{"meter_reading":{{"usage_point_id":"22516914714270","start":"{START}","end":"{}","quality":"BRUT","reading_type":{{"unit":"W","measurement_kind":"power","aggregate":"average"}},"interval_reading":[{}]}}}}"#,
        START.checked_add(days.days()).unwrap(),
        items.join(",")
    );
    (body.into_bytes(), n)
}

fn dc2026_curve(days: i64, step_min: i64) -> (Vec<u8>, usize) {
    let (v5, n) = v5_curve(days, step_min);
    let text = String::from_utf8(v5).unwrap();
    // Same points, 2026 spelling.
    let inner = &text[text.find("\"interval_reading\":[").unwrap() + 20..text.rfind("]}}").unwrap()];
    let pts = inner
        .replace("\"value\"", "\"v\"")
        .replace("\"date\"", "\"d\"")
        .replace("\"interval_length\"", "\"p\"")
        .replace("\"measure_type\":\"B\"", "\"n\":\"B\",\"iv\":\"0\",\"ec\":\"0\"");
    let body = format!(
        r#"{{"idPrm":"22516914714270","etapeMetier":"BRUT","periode":{{"dateDebut":"{START}","dateFin":"{}"}},"modeCalcul":"MESURE","grandeur":[{{"grandeurMetier":"CONS","grandeurPhysique":"PA","unite":"W","points":[{pts}],"calendrier":[]}}],"contexte":[]}}"#,
        START.checked_add(days.days()).unwrap()
    );
    (body.into_bytes(), n)
}

fn v5_daily(start: Date, days: i64) -> Vec<u8> {
    let items: Vec<String> = (0..days)
        .map(|i| format!(r#"{{"value":"{}","date":"{}"}}"#, 20_000 + i * 13, start.checked_add(i.days()).unwrap()))
        .collect();
    format!(
        r#"{{"meter_reading":{{"usage_point_id":"22516914714270","start":"{start}","end":"{}","quality":"BRUT","reading_type":{{"unit":"Wh","measurement_kind":"energy","aggregate":"sum","measuring_period":"P1D"}},"interval_reading":[{}]}}}}"#,
        start.checked_add(days.days()).unwrap(),
        items.join(",")
    )
    .into_bytes()
}

fn dc2026_daily(start: Date, days: i64) -> Vec<u8> {
    let items: Vec<String> = (0..days)
        .map(|i| format!(r#"{{"v":"{}","d":"{}"}}"#, 20_000 + i * 13, start.checked_add(i.days()).unwrap()))
        .collect();
    format!(
        r#"{{"idPrm":"22516914714270","etapeMetier":"BRUT","periode":{{"dateDebut":"{start}","dateFin":"{}"}},"typeValeur":"GLOBALE","modeCalcul":"DIFF.INDEX","pas":"P1D","grandeur":[{{"grandeurMetier":"CONS","grandeurPhysique":"EA","unite":"Wh","points":[{}],"calendrier":[]}}],"contexte":[]}}"#,
        start.checked_add(days.days()).unwrap(),
        items.join(",")
    )
    .into_bytes()
}

/// The baseline: `serde_json::Value`, then jiff per point (ambiguous
/// October stamps resolved by position, as the real decoder does).
fn baseline_v5(body: &[u8], curve: bool) -> Vec<Reading> {
    let tz = dataconnect::domain::paris();
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    let items = v["meter_reading"]["interval_reading"].as_array().unwrap();
    let mut out = Vec::with_capacity(items.len());
    let mut prev: Option<Timestamp> = None;
    for it in items {
        let value = it["value"].as_str().and_then(|s| s.parse::<f64>().ok());
        let d = it["date"].as_str().unwrap();
        if curve {
            let dt: DateTime = d.replace(' ', "T").parse().unwrap();
            let amb = tz.to_ambiguous_timestamp(dt);
            let mut end = amb.earlier().unwrap();
            if prev.is_some_and(|p| end <= p) {
                end = amb.later().unwrap();
            }
            let p = it["interval_length"].as_str().unwrap();
            let mins: i64 = p.trim_start_matches("PT").trim_end_matches('M').parse().unwrap();
            let start = end.checked_sub(Span::new().minutes(mins)).unwrap();
            prev = Some(end);
            out.push(Reading { start, end, value, unit: Unit::W, peak_at: None });
        } else {
            let day: Date = d.parse().unwrap();
            let r = DateRange::day(day);
            out.push(Reading { start: r.start_instant(), end: r.end_instant(), value, unit: Unit::Wh, peak_at: None });
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let week = DateRange::new(START, START.checked_add(7.days()).unwrap()).unwrap();
    let (curve_v5, n) = v5_curve(7, 10);
    let (curve_2026, n2) = dc2026_curve(7, 10);
    assert_eq!(n, n2);
    // Check once that the decoders agree with the baseline.
    let ours = dataconnect::bench::decode_v5(&curve_v5, Series::ConsumptionCurve, week).unwrap();
    assert_eq!(ours, baseline_v5(&curve_v5, true));
    assert_eq!(ours, dataconnect::bench::decode_2026(&curve_2026, Series::ConsumptionCurve, week).unwrap());

    let mut g = c.benchmark_group("curve_7d_pt10m");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(BenchmarkId::new("v5", n), |b| {
        b.iter(|| dataconnect::bench::decode_v5(black_box(&curve_v5), Series::ConsumptionCurve, week).unwrap())
    });
    g.bench_function(BenchmarkId::new("2026", n), |b| {
        b.iter(|| dataconnect::bench::decode_2026(black_box(&curve_2026), Series::ConsumptionCurve, week).unwrap())
    });
    g.bench_function(BenchmarkId::new("baseline_value_jiff", n), |b| {
        b.iter(|| baseline_v5(black_box(&curve_v5), true))
    });
    g.finish();

    let year_start = date(2024, 11, 1);
    let year = DateRange::new(year_start, year_start.checked_add(365.days()).unwrap()).unwrap();
    let daily_v5 = v5_daily(year_start, 365);
    let daily_2026 = dc2026_daily(year_start, 365);
    let ours = dataconnect::bench::decode_v5(&daily_v5, Series::ConsumptionDaily, year).unwrap();
    assert_eq!(ours, baseline_v5(&daily_v5, false));
    assert_eq!(ours, dataconnect::bench::decode_2026(&daily_2026, Series::ConsumptionDaily, year).unwrap());
    let mut g = c.benchmark_group("daily_365d");
    g.throughput(Throughput::Elements(365));
    g.bench_function("v5", |b| {
        b.iter(|| dataconnect::bench::decode_v5(black_box(&daily_v5), Series::ConsumptionDaily, year).unwrap())
    });
    g.bench_function("2026", |b| {
        b.iter(|| dataconnect::bench::decode_2026(black_box(&daily_2026), Series::ConsumptionDaily, year).unwrap())
    });
    g.bench_function("baseline_value_jiff", |b| b.iter(|| baseline_v5(black_box(&daily_v5), false)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
