//! The costs figures of `dataconnect bench --only costs-year,costs-compare`:
//! one meter's year of PT30M load curve priced with Tempo (the shipped
//! calendar of 2023), and a 30-offer comparison over the same year, each
//! against a naive baseline measured in the same run (the calendar and the
//! price rows looked up again for every point: `dataconnect_costs::baseline`).
//! The offers' prices are made up for the benchmark; only the work counts.

use std::time::Instant;

use dataconnect_costs::{
    Energy, Interval, OffPeak, Offer, Period, PriceRow, Pricing, Schedule, TempoCalendar, baseline, parse_window, price,
};
use jiff::civil::{Date, date};
use jiff::{SignedDuration, Timestamp};

use crate::error::CliError;
use crate::pricing::cost_error;

/// The names this module measures.
pub const NAMES: [&str; 2] = ["costs-year", "costs-compare"];

/// Runs the named figures and prints one line each.
pub fn run(names: &[String]) -> Result<(), CliError> {
    let from = date(2023, 1, 1);
    let to = date(2024, 1, 1);
    let curve = year_curve(from, to)?;
    let calendar = TempoCalendar::shipped().map_err(cost_error)?;
    let offers = offers(from)?;
    let pricing = |o| for_offer(o, &calendar, from, to);
    if names.iter().any(|n| n == "costs-year") {
        let tempo = &offers[2];
        let fast =
            best_of(20, || price(&pricing(tempo), Energy::Curve(&curve)).map(|r| r.total_eur).map_err(cost_error))?;
        let slow = best_of(5, || {
            baseline::energy_eur(&pricing(tempo), &curve).ok_or_else(|| CliError::internal("baseline failed"))
        })?;
        line("costs-year", fast, slow);
    }
    if names.iter().any(|n| n == "costs-compare") {
        let fast = best_of(5, || {
            let mut sum = 0.0;
            for o in &offers {
                sum += price(&pricing(o), Energy::Curve(&curve)).map_err(cost_error)?.total_eur;
            }
            Ok(sum)
        })?;
        let slow = best_of(2, || {
            let mut sum = 0.0;
            for o in &offers {
                sum +=
                    baseline::energy_eur(&pricing(o), &curve).ok_or_else(|| CliError::internal("baseline failed"))?;
            }
            Ok(sum)
        })?;
        line(&format!("costs-compare ({} offers)", offers.len()), fast, slow);
    }
    Ok(())
}

fn for_offer<'a>(offer: &'a Offer, calendar: &'a TempoCalendar, from: Date, to: Date) -> Pricing<'a> {
    Pricing { offer, kva: 6, from, to, contract_offpeak: &[], calendar }
}

fn line(name: &str, fast: f64, slow: f64) {
    println!("{name}: {fast:.2} ms (baseline: {slow:.2} ms, {:.1}x)", slow / fast.max(1e-9));
}

/// The fastest of `n` runs, in milliseconds (the least disturbed by other load).
fn best_of(n: usize, mut f: impl FnMut() -> Result<f64, CliError>) -> Result<f64, CliError> {
    let mut best = f64::MAX;
    for _ in 0..n {
        let t = Instant::now();
        std::hint::black_box(f()?);
        best = best.min(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(best)
}

/// A household's year of half-hours: more in winter evenings, some noise.
fn year_curve(from: Date, to: Date) -> Result<Vec<Interval>, CliError> {
    let start = dataconnect::domain::paris_day_start(from);
    let end = dataconnect::domain::paris_day_start(to);
    let mut out = Vec::with_capacity(17_520);
    let mut t: Timestamp = start;
    let mut i: u64 = 0;
    while t < end {
        let next = t + SignedDuration::from_mins(30);
        let hour = (i % 48) as f64 / 2.0;
        let day = (i / 48) as f64;
        let season = 1.0 + 0.6 * (day / 365.0 * std::f64::consts::TAU).cos();
        let evening = if (18.0..22.0).contains(&hour) { 2.0 } else { 1.0 };
        let noise = ((i.wrapping_mul(2_654_435_761) % 1000) as f64) / 1000.0;
        out.push(Interval { start: t, end: next, wh: 150.0 * season * evening + 100.0 * noise });
        t = next;
        i += 1;
    }
    Ok(out)
}

fn row(start: Date, fixed: f64, prices: &[(Period, f64)]) -> PriceRow {
    let mut p = [None; 9];
    for &(k, v) in prices {
        p[k.index()] = Some(v);
    }
    PriceRow { start, end: None, kva: 6, fixed_eur_per_year: fixed, prices: p, source: "bench".into(), imported: false }
}

/// 30 offers: Base, HP/HC with 1 to 3 windows (some crossing midnight),
/// week-end off-peak, and Tempo, with made-up prices.
fn offers(from: Date) -> Result<Vec<Offer>, CliError> {
    let mut out = Vec::new();
    let windows = [
        vec!["22:00-06:00"],
        vec!["23:00-07:00"],
        vec!["02:00-07:00", "12:30-14:00"],
        vec!["01:00-05:00", "13:00-15:00", "20:00-21:00"],
        vec!["21:30-05:30"],
    ];
    for i in 0..30 {
        let k = i as f64 / 100.0;
        let (schedule, prices): (Schedule, Vec<(Period, f64)>) = match i % 6 {
            0 => (Schedule::Base, vec![(Period::Base, 0.19 + k)]),
            1..=3 => {
                let w = windows[i % windows.len()].iter().filter_map(|s| parse_window(s)).collect();
                (
                    Schedule::HpHc { offpeak: OffPeak::Fixed(w), offpeak_days: vec![] },
                    vec![(Period::Hp, 0.25 + k), (Period::Hc, 0.17 + k)],
                )
            }
            4 => (
                Schedule::HpHc {
                    offpeak: OffPeak::Fixed(vec![
                        parse_window("22:00-06:00").ok_or_else(|| CliError::internal("window"))?,
                    ]),
                    offpeak_days: vec![jiff::civil::Weekday::Saturday, jiff::civil::Weekday::Sunday],
                },
                vec![(Period::Hp, 0.26 + k), (Period::Hc, 0.16 + k)],
            ),
            _ => (
                Schedule::Tempo,
                vec![
                    (Period::HcBleu, 0.12 + k),
                    (Period::HpBleu, 0.15 + k),
                    (Period::HcBlanc, 0.14 + k),
                    (Period::HpBlanc, 0.17 + k),
                    (Period::HcRouge, 0.15 + k),
                    (Period::HpRouge, 0.65 + k),
                ],
            ),
        };
        out.push(Offer {
            name: format!("bench-{i}"),
            label: String::new(),
            source: "bench".into(),
            schedule,
            rows: vec![row(from, 150.0 + 10.0 * k, &prices)],
        });
    }
    // Put a Tempo offer third, the one `costs-year` prices.
    out.swap(2, 5);
    Ok(out)
}
