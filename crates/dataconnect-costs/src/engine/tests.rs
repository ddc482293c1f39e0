//! Hand-computed costs. Prices are round numbers so that every expected
//! figure can be checked by hand; each test says how it was computed.

use jiff::civil::{Date, date};
use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::calendar::TempoCalendar;
use crate::offer::{OffPeak, Offer, Schedule, parse_window};
use crate::period::{Period, TempoColour};
use crate::tariff::PriceRow;

/// The instant of local Paris time `h:m` on `d`.
fn at(d: Date, h: i8, m: i8) -> Timestamp {
    d.at(h, m, 0, 0).to_zoned_datetime(paris()).unwrap().timestamp()
}

/// Intervals of `step` minutes from `a` to `b` (real time), `wh` each.
fn curve(a: Timestamp, b: Timestamp, step: i64, wh: f64) -> Vec<Interval> {
    let mut out = Vec::new();
    let mut t = a;
    while t < b {
        let end = t + SignedDuration::from_mins(step);
        out.push(Interval { start: t, end, wh });
        t = end;
    }
    out
}

fn row(start: Date, end: Option<Date>, fixed: f64, prices: &[(Period, f64)]) -> PriceRow {
    let mut p = [None; 9];
    for &(period, v) in prices {
        p[period.index()] = Some(v);
    }
    PriceRow { start, end, kva: 6, fixed_eur_per_year: fixed, prices: p, source: "test".into(), imported: false }
}

fn offer(schedule: Schedule, rows: Vec<PriceRow>) -> Offer {
    Offer { name: "test".into(), label: "test".into(), source: "test".into(), schedule, rows }
}

fn hphc(windows: &[&str]) -> Schedule {
    Schedule::HpHc {
        offpeak: OffPeak::Fixed(windows.iter().map(|w| parse_window(w).unwrap()).collect()),
        offpeak_days: vec![],
    }
}

fn run(o: &Offer, from: Date, to: Date, cal: &TempoCalendar, c: &[Interval]) -> CostReport {
    price(&Pricing { offer: o, kva: 6, from, to, contract_offpeak: &[], calendar: cal }, Energy::Curve(c)).unwrap()
}

fn kwh(r: &CostReport, p: Period) -> f64 {
    r.months.iter().flat_map(|m| &m.periods).filter(|(q, _)| *q == p).map(|(_, t)| t.kwh).sum()
}

#[track_caller]
fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}

const HP_HC: [(Period, f64); 2] = [(Period::Hp, 0.20), (Period::Hc, 0.10)];

#[test]
fn a_price_change_on_1_february_inside_the_range() {
    // 2024 is a leap year: 366 €/year is 1 €/day, 732 €/year 2 €/day.
    let o = offer(
        Schedule::Base,
        vec![
            row(date(2023, 8, 1), Some(date(2024, 1, 31)), 366.0, &[(Period::Base, 0.10)]),
            row(date(2024, 2, 1), None, 732.0, &[(Period::Base, 0.20)]),
        ],
    );
    let c = curve(at(date(2024, 1, 31), 0, 0), at(date(2024, 2, 2), 0, 0), 60, 1000.0);
    let r = run(&o, date(2024, 1, 31), date(2024, 2, 2), &TempoCalendar::new(), &c);
    // 31 Jan: 24 kWh × 0.10 = 2.40 € + 1 €; 1 Feb: 24 kWh × 0.20 = 4.80 € + 2 €.
    assert_eq!(r.months.len(), 2);
    close(r.months[0].energy_eur, 2.40);
    close(r.months[0].subscription_eur, 1.0);
    close(r.months[0].total_eur, 3.40);
    close(r.months[1].energy_eur, 4.80);
    close(r.months[1].subscription_eur, 2.0);
    close(r.total_eur, 10.20);
    assert_eq!((r.months[0].days, r.months[1].days, r.missing_days), (1, 1, 0));
}

#[test]
fn a_price_change_on_1_august_inside_the_range() {
    // 2023 has 365 days: 365 €/year is 1 €/day, 730 €/year 2 €/day.
    let o = offer(
        hphc(&["22:00-06:00"]),
        vec![
            row(date(2023, 2, 1), Some(date(2023, 7, 31)), 365.0, &HP_HC),
            row(date(2023, 8, 1), None, 730.0, &[(Period::Hp, 0.40), (Period::Hc, 0.30)]),
        ],
    );
    let c = curve(at(date(2023, 7, 31), 0, 0), at(date(2023, 8, 2), 0, 0), 30, 500.0);
    let r = run(&o, date(2023, 7, 31), date(2023, 8, 2), &TempoCalendar::new(), &c);
    // Each day: 16 kWh HP, 8 kWh HC. 31 Jul: 16×0.20 + 8×0.10 = 4.00 €;
    // 1 Aug: 16×0.40 + 8×0.30 = 8.80 €; subscriptions 1 € and 2 €.
    close(r.months[0].energy_eur, 4.00);
    close(r.months[1].energy_eur, 8.80);
    close(r.total_eur, 4.00 + 8.80 + 3.0);
    close(kwh(&r, Period::Hp), 32.0);
    close(kwh(&r, Period::Hc), 16.0);
}

#[test]
fn the_subscription_is_prorated_over_a_leap_year() {
    let o = offer(Schedule::Base, vec![row(date(2020, 1, 1), None, 183.0, &[(Period::Base, 0.10)])]);
    let cal = TempoCalendar::new();
    // A whole leap year and a whole common year both cost the annual fixed part.
    let r = run(&o, date(2024, 1, 1), date(2025, 1, 1), &cal, &[]);
    close(r.subscription_eur, 183.0);
    assert_eq!(r.months.len(), 12);
    let r = run(&o, date(2023, 1, 1), date(2024, 1, 1), &cal, &[]);
    close(r.subscription_eur, 183.0);
    // February 2024: 29 days × 183/366 = 14.5 €; February 2023: 28 × 183/365.
    close(run(&o, date(2024, 2, 1), date(2024, 3, 1), &cal, &[]).subscription_eur, 14.5);
    close(run(&o, date(2023, 2, 1), date(2023, 3, 1), &cal, &[]).subscription_eur, 28.0 * 183.0 / 365.0);
    // Nothing stored: every day is missing.
    assert_eq!(run(&o, date(2024, 2, 1), date(2024, 3, 1), &cal, &[]).missing_days, 29);
}

#[test]
fn the_spring_dst_day_has_23_hours() {
    // 2025-03-30: 02:00 becomes 03:00. Hourly points of 1 kWh from local
    // midnight to midnight: 23 of them. Off-peak 01:00-05:00 local is
    // 01:00-02:00 and 03:00-05:00: 3 real hours.
    let d = date(2025, 3, 30);
    let o = offer(hphc(&["01:00-05:00"]), vec![row(date(2025, 1, 1), None, 365.0, &HP_HC)]);
    let c = curve(at(d, 0, 0), at(date(2025, 3, 31), 0, 0), 60, 1000.0);
    assert_eq!(c.len(), 23);
    let r = run(&o, d, date(2025, 3, 31), &TempoCalendar::new(), &c);
    close(kwh(&r, Period::Hc), 3.0);
    close(kwh(&r, Period::Hp), 20.0);
    close(r.energy_eur, 3.0 * 0.10 + 20.0 * 0.20);
    assert_eq!(r.missing_days, 0);
}

#[test]
fn the_autumn_dst_day_has_25_hours() {
    // 2025-10-26: 03:00 becomes 02:00 again. 25 hourly points of 1 kWh.
    // Off-peak 01:00-05:00 local holds 01:00-02:00, both 02:00-03:00 and
    // 03:00-05:00: 5 real hours.
    let d = date(2025, 10, 26);
    let o = offer(hphc(&["01:00-05:00"]), vec![row(date(2025, 1, 1), None, 365.0, &HP_HC)]);
    let c = curve(at(d, 0, 0), at(date(2025, 10, 27), 0, 0), 60, 1000.0);
    assert_eq!(c.len(), 25);
    let r = run(&o, d, date(2025, 10, 27), &TempoCalendar::new(), &c);
    close(kwh(&r, Period::Hc), 5.0);
    close(kwh(&r, Period::Hp), 20.0);
    assert_eq!(r.missing_days, 0);
    // Tempo on the same day: 00:00-06:00 is 7 real hours of the Tempo day
    // that began on the 25th (white), then the 26th (blue): 16 h HP, 2 h HC.
    let mut cal = TempoCalendar::new();
    cal.insert(date(2025, 10, 25), TempoColour::White);
    cal.insert(d, TempoColour::Blue);
    let r = run(&tempo_offer(), d, date(2025, 10, 27), &cal, &c);
    close(kwh(&r, Period::HcBlanc), 7.0);
    close(kwh(&r, Period::HpBleu), 16.0);
    close(kwh(&r, Period::HcBleu), 2.0);
    close(r.energy_eur, 7.0 * 0.30 + 16.0 * 0.20 + 2.0 * 0.10);
}

fn tempo_offer() -> Offer {
    offer(
        Schedule::Tempo,
        vec![row(
            date(2024, 1, 1),
            None,
            365.0,
            &[
                (Period::HcBleu, 0.10),
                (Period::HpBleu, 0.20),
                (Period::HcBlanc, 0.30),
                (Period::HpBlanc, 0.40),
                (Period::HcRouge, 0.50),
                (Period::HpRouge, 0.60),
            ],
        )],
    )
}

#[test]
fn a_red_day_starts_and_ends_at_06_00() {
    // Tue 14 Jan 2025 blue, Wed 15 red, Thu 16 white; hourly points of 1 kWh
    // on the 15th and 16th.
    let mut cal = TempoCalendar::new();
    cal.insert(date(2025, 1, 14), TempoColour::Blue);
    cal.insert(date(2025, 1, 15), TempoColour::Red);
    cal.insert(date(2025, 1, 16), TempoColour::White);
    let c = curve(at(date(2025, 1, 15), 0, 0), at(date(2025, 1, 17), 0, 0), 60, 1000.0);
    let r = run(&tempo_offer(), date(2025, 1, 15), date(2025, 1, 17), &cal, &c);
    // 15th 00-06: the blue day of the 14th, off-peak; 06-22 red peak;
    // 22-06 red off-peak (2 h on the 15th, 6 h on the 16th); 16th 06-22 white peak, 22-24 white off-peak.
    close(kwh(&r, Period::HcBleu), 6.0);
    close(kwh(&r, Period::HpRouge), 16.0);
    close(kwh(&r, Period::HcRouge), 8.0);
    close(kwh(&r, Period::HpBlanc), 16.0);
    close(kwh(&r, Period::HcBlanc), 2.0);
    close(kwh(&r, Period::HpBleu), 0.0);
    close(r.energy_eur, 6.0 * 0.10 + 16.0 * 0.60 + 8.0 * 0.50 + 16.0 * 0.40 + 2.0 * 0.30);
    // One PT60M point from 05:30 to 06:30 on the red day: half blue off-peak, half red peak.
    let c = [Interval { start: at(date(2025, 1, 15), 5, 30), end: at(date(2025, 1, 15), 6, 30), wh: 1000.0 }];
    let r = run(&tempo_offer(), date(2025, 1, 15), date(2025, 1, 16), &cal, &c);
    close(kwh(&r, Period::HcBleu), 0.5);
    close(kwh(&r, Period::HpRouge), 0.5);
}

#[test]
fn off_peak_windows_across_midnight_or_in_two_parts() {
    let d = date(2025, 3, 10);
    let c = curve(at(d, 0, 0), at(date(2025, 3, 11), 0, 0), 30, 500.0);
    let cal = TempoCalendar::new();
    // 22:00-06:00: 8 h off-peak, 16 h peak.
    let o = offer(hphc(&["22:00-06:00"]), vec![row(date(2025, 1, 1), None, 365.0, &HP_HC)]);
    let r = run(&o, d, date(2025, 3, 11), &cal, &c);
    close(kwh(&r, Period::Hc), 8.0);
    close(kwh(&r, Period::Hp), 16.0);
    // Enedis's "HC (2H00-7H00;12H30-14H00)": 5 h + 1.5 h off-peak.
    let windows = dataconnect::OffPeakRange::parse_label("HC (2H00-7H00;12H30-14H00)");
    let o = offer(
        Schedule::HpHc { offpeak: OffPeak::Contract, offpeak_days: vec![] },
        vec![row(date(2025, 1, 1), None, 365.0, &HP_HC)],
    );
    let p = Pricing { offer: &o, kva: 6, from: d, to: date(2025, 3, 11), contract_offpeak: &windows, calendar: &cal };
    let r = price(&p, Energy::Curve(&c)).unwrap();
    close(kwh(&r, Period::Hc), 6.5);
    close(kwh(&r, Period::Hp), 17.5);
    close(r.energy_eur, 6.5 * 0.10 + 17.5 * 0.20);
    // Without contract hours, the error says how to give them.
    let p = Pricing { contract_offpeak: &[], ..p };
    assert_eq!(price(&p, Energy::Curve(&c)).unwrap_err().kind(), CostErrorKind::NoOffPeakHours);
}

#[test]
fn an_interval_straddling_a_boundary_is_split_in_proportion() {
    let d = date(2025, 3, 10);
    let o = offer(hphc(&["22:00-06:00"]), vec![row(date(2025, 1, 1), None, 365.0, &HP_HC)]);
    // 21:45-22:15, 1 kWh: 15 minutes on each side.
    let c = [Interval { start: at(d, 21, 45), end: at(d, 22, 15), wh: 1000.0 }];
    let r = run(&o, d, date(2025, 3, 11), &TempoCalendar::new(), &c);
    close(kwh(&r, Period::Hp), 0.5);
    close(kwh(&r, Period::Hc), 0.5);
    // 23:30-00:30 across midnight and a price change: 0.5 kWh each day.
    let o = offer(
        hphc(&["22:00-06:00"]),
        vec![
            row(date(2025, 1, 1), Some(date(2025, 3, 10)), 365.0, &HP_HC),
            row(date(2025, 3, 11), None, 365.0, &[(Period::Hp, 0.40), (Period::Hc, 0.30)]),
        ],
    );
    let c = [Interval { start: at(d, 23, 30), end: at(date(2025, 3, 11), 0, 30), wh: 1000.0 }];
    let r = run(&o, d, date(2025, 3, 12), &TempoCalendar::new(), &c);
    close(r.energy_eur, 0.5 * 0.10 + 0.5 * 0.30);
}

#[test]
fn missing_days_are_counted_and_still_pay_the_subscription() {
    let o = offer(Schedule::Base, vec![row(date(2025, 1, 1), None, 365.0, &[(Period::Base, 0.10)])]);
    // Day 1 complete, day 2 half, day 3 nothing.
    let mut c = curve(at(date(2025, 3, 10), 0, 0), at(date(2025, 3, 11), 12, 0), 30, 500.0);
    c.retain(|i| i.start < at(date(2025, 3, 11), 12, 0));
    let r = run(&o, date(2025, 3, 10), date(2025, 3, 13), &TempoCalendar::new(), &c);
    assert_eq!((r.months[0].days, r.months[0].missing_days, r.missing_days), (3, 2, 2));
    close(r.energy_eur, 36.0 * 0.10);
    close(r.subscription_eur, 3.0);
    assert!(r.notes.iter().any(|n| n.contains("2 day(s)")), "{:?}", r.notes);
}

#[test]
fn daily_energy_prices_base_and_refuses_period_offers() {
    let cal = TempoCalendar::new();
    let o = offer(Schedule::Base, vec![row(date(2025, 1, 1), None, 365.0, &[(Period::Base, 0.10)])]);
    let daily = [(date(2025, 3, 10), 10_000.0), (date(2025, 3, 11), 5_000.0)];
    let p = Pricing {
        offer: &o,
        kva: 6,
        from: date(2025, 3, 10),
        to: date(2025, 3, 13),
        contract_offpeak: &[],
        calendar: &cal,
    };
    let r = price(&p, Energy::Daily(&daily)).unwrap();
    close(r.energy_eur, 1.5);
    assert_eq!(r.missing_days, 1);
    let t = tempo_offer();
    let e = price(&Pricing { offer: &t, ..p }, Energy::Daily(&daily)).unwrap_err();
    assert_eq!(e.kind(), CostErrorKind::NeedsCurve);
    assert!(e.message().contains("needs the load curve"), "{e}");
}

#[test]
fn days_without_price_or_colour_are_named() {
    let cal = TempoCalendar::new();
    let o = offer(Schedule::Base, vec![row(date(2025, 1, 1), Some(date(2025, 1, 31)), 365.0, &[(Period::Base, 0.1)])]);
    let p = Pricing {
        offer: &o,
        kva: 6,
        from: date(2025, 1, 30),
        to: date(2025, 2, 3),
        contract_offpeak: &[],
        calendar: &cal,
    };
    let e = price(&p, Energy::Curve(&[])).unwrap_err();
    assert_eq!(e.kind(), CostErrorKind::NoPrice);
    assert!(e.message().contains("on 2 day(s): 2025-02-01..2025-02-02"), "{e}");
    let e = price(&Pricing { kva: 9, ..p }, Energy::Curve(&[])).unwrap_err();
    assert_eq!(e.kind(), CostErrorKind::UnknownPower);
    // A Tempo day without a colour is named, never priced blue.
    let t = tempo_offer();
    let c = curve(at(date(2025, 1, 15), 0, 0), at(date(2025, 1, 16), 0, 0), 60, 1000.0);
    let p = Pricing { offer: &t, from: date(2025, 1, 15), to: date(2025, 1, 16), ..p };
    let e = price(&p, Energy::Curve(&c)).unwrap_err();
    assert_eq!(e.kind(), CostErrorKind::MissingColour);
    assert!(e.message().contains("2025-01-14..2025-01-15"), "{e}");
}

#[test]
fn the_uncoloured_day_is_priced_blue_and_said() {
    let cal = TempoCalendar::shipped().unwrap();
    let d = date(2022, 12, 28);
    let o = offer(Schedule::Tempo, vec![PriceRow { start: date(2022, 1, 1), ..tempo_offer().rows[0].clone() }]);
    let c = curve(at(d, 6, 0), at(d, 22, 0), 60, 1000.0);
    let r = run(&o, d, date(2022, 12, 29), &cal, &c);
    close(kwh(&r, Period::HpBleu), 16.0);
    assert!(r.notes.iter().any(|n| n.contains("2022-12-28")), "{:?}", r.notes);
}

#[test]
fn the_baseline_agrees_with_the_engine_on_aligned_points() {
    let cal = TempoCalendar::shipped().unwrap();
    let o = offer(Schedule::Tempo, vec![PriceRow { start: date(2022, 1, 1), ..tempo_offer().rows[0].clone() }]);
    let from = date(2023, 1, 1);
    let to = date(2024, 1, 1);
    let c = curve(at(from, 0, 0), at(to, 0, 0), 30, 700.0);
    let p = Pricing { offer: &o, kva: 6, from, to, contract_offpeak: &[], calendar: &cal };
    let r = price(&p, Energy::Curve(&c)).unwrap();
    let naive = crate::baseline::energy_eur(&p, &c).unwrap();
    assert!((r.energy_eur - naive).abs() < 1e-6, "{} {naive}", r.energy_eur);
    assert_eq!(r.months.len(), 12);
}
