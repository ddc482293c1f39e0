//! The pricing engine: what a meter's consumption cost with an offer, per
//! month and period.
//!
//! Every day of the range is cut into segments, each with one period and
//! one price: the cuts are the contract's (or the offer's) off-peak window
//! edges, 06:00 and 22:00 for Tempo, and midnight, all in Paris time and
//! turned into instants once per day (so DST days have their 23 or 25
//! hours). A load-curve interval takes the period of the segment it lies in;
//! one that straddles a cut is split in proportion of the time on each side.
//! Intervals and segments are both in time order, so pricing a year is one
//! merge of two sorted lists, not a calendar and price lookup per point.
//!
//! Prices are those in force on the civil day of each segment (a change on
//! 1 February applies from 00:00 that day); a Tempo segment takes the colour
//! of the Tempo day it belongs to (the calendar day it started on, at 06:00).
//! The subscription is prorated per day: the annual fixed part divided by
//! the number of days of that year (365 or 366).

use jiff::civil::{Date, Time};
use jiff::{Timestamp, ToSpan};

use dataconnect::OffPeakRange;
use dataconnect::domain::{paris, paris_day_start};

use crate::calendar::{TempoCalendar, UNCOLOURED_DAY, missing_error};
use crate::error::{CostError, CostErrorKind, Result, day_ranges};
use crate::offer::{OffPeak, Offer, Schedule};
use crate::period::Period;

/// One load-curve interval `[start, end)` and the energy measured in it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval {
    /// Start instant.
    pub start: Timestamp,
    /// End instant (exclusive).
    pub end: Timestamp,
    /// Energy in Wh.
    pub wh: f64,
}

/// What to price.
#[derive(Clone, Copy, Debug)]
pub enum Energy<'a> {
    /// Load-curve intervals, in time order.
    Curve(&'a [Interval]),
    /// Daily energy (Paris civil day, Wh), in day order; only a Base
    /// schedule can price it.
    Daily(&'a [(Date, f64)]),
}

/// The offer, power, range and meter facts a pricing needs.
#[derive(Clone, Copy, Debug)]
pub struct Pricing<'a> {
    /// The offer.
    pub offer: &'a Offer,
    /// Subscribed power, kVA.
    pub kva: u32,
    /// First day (Paris).
    pub from: Date,
    /// Day after the last (exclusive).
    pub to: Date,
    /// The off-peak windows of the meter's contract (for offers that use them).
    pub contract_offpeak: &'a [OffPeakRange],
    /// The Tempo calendar.
    pub calendar: &'a TempoCalendar,
}

/// kWh and € of one period.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PeriodTotal {
    /// Energy, kWh.
    pub kwh: f64,
    /// Cost, € with all taxes.
    pub eur: f64,
}

/// One month of a report.
#[derive(Clone, Debug, PartialEq)]
pub struct MonthCost {
    /// `YYYY-MM`.
    pub month: String,
    /// Days of the range in this month.
    pub days: u32,
    /// Days of the range in this month without complete data.
    pub missing_days: u32,
    /// kWh and € per period, in the order of the offer's periods.
    pub periods: Vec<(Period, PeriodTotal)>,
    /// Energy cost, €.
    pub energy_eur: f64,
    /// Subscription, €.
    pub subscription_eur: f64,
    /// Energy and subscription, €.
    pub total_eur: f64,
}

/// What a range cost with an offer.
#[derive(Clone, Debug, PartialEq)]
pub struct CostReport {
    /// The offer's name.
    pub offer: String,
    /// Subscribed power, kVA.
    pub kva: u32,
    /// First day.
    pub from: Date,
    /// Day after the last.
    pub to: Date,
    /// Per month, in order.
    pub months: Vec<MonthCost>,
    /// Energy cost, €.
    pub energy_eur: f64,
    /// Subscription, €.
    pub subscription_eur: f64,
    /// Total, €.
    pub total_eur: f64,
    /// Days without complete data, over the range.
    pub missing_days: u32,
    /// What a reader should know (the uncoloured Tempo day, missing days…).
    pub notes: Vec<String>,
}

/// A run of one period at one price.
#[derive(Clone, Copy, Debug)]
struct Segment {
    start: i64,
    end: i64,
    /// `None` when the Tempo day has no colour.
    period: Option<Period>,
    price: f64,
    /// Index of the civil day in the range.
    day: usize,
    /// The Tempo day whose colour the segment needs (for errors).
    tempo_day: Date,
}

/// Prices `energy` with `p`'s offer.
pub fn price(p: &Pricing<'_>, energy: Energy<'_>) -> Result<CostReport> {
    p.offer.check_power(p.kva)?;
    let days = days_of(p.from, p.to)?;
    let rows = rows_of(p, &days)?;
    let midnights = midnights(&days)?;
    let mut acc = Accumulator::new(&days, &midnights);
    for (i, (d, row)) in days.iter().zip(&rows).enumerate() {
        acc.subscription[i] = row.fixed_eur_per_year / f64::from(d.days_in_year());
    }
    match energy {
        Energy::Daily(daily) => price_daily(p, &days, &rows, daily, &mut acc)?,
        Energy::Curve(curve) => price_curve(p, &days, &midnights, curve, &mut acc)?,
    }
    Ok(acc.report(p))
}

fn days_of(from: Date, to: Date) -> Result<Vec<Date>> {
    if from >= to {
        return Err(CostError::new(
            CostErrorKind::BadInput,
            format!("invalid range {from} to {to}: the end is exclusive and must be after the start"),
        ));
    }
    let mut days = Vec::new();
    let mut d = from;
    while d < to {
        days.push(d);
        d = d.tomorrow().map_err(|e| CostError::new(CostErrorKind::BadInput, e.to_string()))?;
    }
    Ok(days)
}

/// The row in force each day, or an error naming the days without one.
fn rows_of<'o>(p: &Pricing<'o>, days: &[Date]) -> Result<Vec<&'o crate::tariff::PriceRow>> {
    let mut rows = Vec::with_capacity(days.len());
    let mut missing = Vec::new();
    for &d in days {
        match p.offer.row_at(p.kva, d) {
            Some(r) => rows.push(r),
            None => missing.push(d),
        }
    }
    if missing.is_empty() {
        return Ok(rows);
    }
    Err(CostError::new(
        CostErrorKind::NoPrice,
        format!(
            "offer {} has no price in force at {} kVA on {} day(s): {}; {}",
            p.offer.name,
            p.kva,
            missing.len(),
            day_ranges(&missing, 8),
            if p.offer.name.starts_with("trv-") {
                "import the regulator's current table with `dataconnect tariffs import FILE` (see `dataconnect tariffs show`)"
            } else {
                "the offer file's valid_from/valid_to do not cover them"
            }
        ),
    ))
}

fn price_daily(
    p: &Pricing<'_>,
    days: &[Date],
    rows: &[&crate::tariff::PriceRow],
    daily: &[(Date, f64)],
    acc: &mut Accumulator,
) -> Result<()> {
    if p.offer.schedule.needs_curve() {
        return Err(CostError::new(
            CostErrorKind::NeedsCurve,
            format!(
                "offer {} prices {} separately, which needs the load curve: only daily energy is stored, and splitting it would be a guess",
                p.offer.name,
                p.offer.schedule.periods().iter().map(|p| p.name()).collect::<Vec<_>>().join("/")
            ),
        ));
    }
    for &(d, wh) in daily {
        let Some(i) = days.binary_search(&d).ok() else {
            continue;
        };
        let price = rows[i].price(Period::Base).unwrap_or(0.0);
        acc.add(i, Period::Base, wh, price);
        acc.covered[i] = i64::MAX;
    }
    Ok(())
}

fn price_curve(
    p: &Pricing<'_>,
    days: &[Date],
    midnights: &[i64],
    curve: &[Interval],
    acc: &mut Accumulator,
) -> Result<()> {
    let segments = segments(p, days, midnights)?;
    let mut unknown: Vec<Date> = Vec::new();
    let mut s = 0;
    for iv in curve {
        let (a, b) = (iv.start.as_second(), iv.end.as_second());
        if b <= a {
            continue;
        }
        // Segments end in order: skip those that end before this interval.
        while s < segments.len() && segments[s].end <= a {
            s += 1;
        }
        let mut k = s;
        while k < segments.len() && segments[k].start < b {
            let seg = &segments[k];
            let overlap = b.min(seg.end) - a.max(seg.start);
            if overlap > 0 {
                let wh = iv.wh * overlap as f64 / (b - a) as f64;
                acc.covered[seg.day] += overlap;
                match seg.period {
                    Some(period) => acc.add(seg.day, period, wh, seg.price),
                    None => {
                        if unknown.last() != Some(&seg.tempo_day) {
                            unknown.push(seg.tempo_day);
                        }
                    }
                }
            }
            k += 1;
        }
    }
    if !unknown.is_empty() {
        unknown.sort_unstable();
        unknown.dedup();
        return Err(missing_error(&unknown));
    }
    Ok(())
}

/// The segments of every day, in time order. `midnights[i]` is the instant
/// day `i` starts (and `midnights[n]` the end of the range).
fn segments(p: &Pricing<'_>, days: &[Date], midnights: &[i64]) -> Result<Vec<Segment>> {
    let windows: &[OffPeakRange] = match &p.offer.schedule {
        Schedule::HpHc { offpeak: OffPeak::Fixed(w), .. } => w,
        Schedule::HpHc { offpeak: OffPeak::Contract, .. } => {
            if p.contract_offpeak.is_empty() {
                return Err(CostError::new(
                    CostErrorKind::NoOffPeakHours,
                    format!(
                        "offer {} uses the contract's off-peak hours and none are known: pass them with --offpeak, e.g. --offpeak 22H00-6H00",
                        p.offer.name
                    ),
                ));
            }
            p.contract_offpeak
        }
        _ => &[],
    };
    // The cuts and the local time inside each run are the same every day.
    let mut cuts: Vec<i32> = vec![0, 86_400];
    match &p.offer.schedule {
        Schedule::Tempo => cuts.extend([6 * 3600, 22 * 3600]),
        Schedule::HpHc { .. } => cuts.extend(windows.iter().flat_map(|w| [seconds(w.start), seconds(w.end)])),
        Schedule::Base => {}
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mids = cuts
        .windows(2)
        .map(|w| Time::midnight().checked_add(i64::from((w[0] + w[1]) / 2).seconds()).map_err(internal))
        .collect::<Result<Vec<Time>>>()?;
    let tz = paris();
    // A local time of day `i` as an instant: its midnight plus the seconds,
    // except on the two DST days, whose local times jiff resolves.
    let instant = |i: usize, d: Date, secs: i32| -> Result<i64> {
        if secs == 0 || secs == 86_400 {
            return Ok(midnights[i + usize::from(secs == 86_400)]);
        }
        if midnights[i + 1] - midnights[i] == 86_400 {
            return Ok(midnights[i] + i64::from(secs));
        }
        let t = Time::midnight().checked_add(i64::from(secs).seconds()).map_err(internal)?;
        Ok(d.to_datetime(t).to_zoned_datetime(tz.clone()).map_err(internal)?.timestamp().as_second())
    };
    let mut out = Vec::with_capacity(days.len() * mids.len());
    for (i, &d) in days.iter().enumerate() {
        let row = p.offer.row_at(p.kva, d);
        for (k, pair) in cuts.windows(2).enumerate() {
            let (period, tempo_day) = period_at(p, d, mids[k], windows)?;
            let price = match (period, row) {
                (Some(period), Some(row)) => row.price(period).unwrap_or(0.0),
                _ => 0.0,
            };
            out.push(Segment {
                start: instant(i, d, pair[0])?,
                end: instant(i, d, pair[1])?,
                period,
                price,
                day: i,
                tempo_day,
            });
        }
    }
    Ok(out)
}

/// The instant each day starts, and the end of the last one.
fn midnights(days: &[Date]) -> Result<Vec<i64>> {
    let mut out: Vec<i64> = days.iter().map(|&d| paris_day_start(d).as_second()).collect();
    let last = days.last().copied().ok_or_else(|| internal("an empty range"))?;
    out.push(paris_day_start(last.tomorrow().map_err(internal)?).as_second());
    Ok(out)
}

/// The period at local time `t` of day `d` (and the Tempo day it belongs to).
fn period_at(p: &Pricing<'_>, d: Date, t: Time, windows: &[OffPeakRange]) -> Result<(Option<Period>, Date)> {
    Ok(match &p.offer.schedule {
        Schedule::Base => (Some(Period::Base), d),
        Schedule::HpHc { offpeak_days, .. } => {
            let off = offpeak_days.contains(&d.weekday()) || windows.iter().any(|w| w.contains(t));
            (Some(if off { Period::Hc } else { Period::Hp }), d)
        }
        Schedule::Tempo => {
            let morning = t < jiff::civil::time(6, 0, 0, 0);
            let tempo_day = if morning { d.yesterday().map_err(internal)? } else { d };
            let offpeak = morning || t >= jiff::civil::time(22, 0, 0, 0);
            (p.calendar.priced(tempo_day).map(|c| Period::tempo(c, offpeak)), tempo_day)
        }
    })
}

fn seconds(t: Time) -> i32 {
    i32::from(t.hour()) * 3600 + i32::from(t.minute()) * 60 + i32::from(t.second())
}

fn internal(e: impl std::fmt::Display) -> CostError {
    CostError::new(CostErrorKind::BadInput, format!("a date or time out of range: {e}"))
}

/// Sums per day and period, then per month.
struct Accumulator {
    /// Per day: kWh and € per period.
    kwh: Vec<[f64; 9]>,
    eur: Vec<[f64; 9]>,
    subscription: Vec<f64>,
    /// Seconds of each day covered by data (`i64::MAX` for a daily value).
    covered: Vec<i64>,
    /// Length of each day in seconds.
    length: Vec<i64>,
    days: Vec<Date>,
}

impl Accumulator {
    fn new(days: &[Date], midnights: &[i64]) -> Self {
        let n = days.len();
        Accumulator {
            kwh: vec![[0.0; 9]; n],
            eur: vec![[0.0; 9]; n],
            subscription: vec![0.0; n],
            covered: vec![0; n],
            length: midnights.windows(2).map(|w| w[1] - w[0]).collect(),
            days: days.to_vec(),
        }
    }

    fn add(&mut self, day: usize, period: Period, wh: f64, price: f64) {
        let kwh = wh / 1000.0;
        self.kwh[day][period.index()] += kwh;
        self.eur[day][period.index()] += kwh * price;
    }

    fn report(self, p: &Pricing<'_>) -> CostReport {
        let periods = p.offer.schedule.periods();
        let mut months: Vec<MonthCost> = Vec::new();
        let mut missing_total = 0;
        for (i, d) in self.days.iter().enumerate() {
            // A new month on its first day in the range.
            if i == 0 || d.day() == 1 {
                months.push(MonthCost {
                    month: format!("{:04}-{:02}", d.year(), d.month()),
                    days: 0,
                    missing_days: 0,
                    periods: periods.iter().map(|&p| (p, PeriodTotal::default())).collect(),
                    energy_eur: 0.0,
                    subscription_eur: 0.0,
                    total_eur: 0.0,
                });
            }
            let Some(m) = months.last_mut() else { continue };
            m.days += 1;
            if self.covered[i] < self.length[i] {
                m.missing_days += 1;
                missing_total += 1;
            }
            for (period, total) in &mut m.periods {
                total.kwh += self.kwh[i][period.index()];
                total.eur += self.eur[i][period.index()];
            }
            m.subscription_eur += self.subscription[i];
        }
        for m in &mut months {
            m.energy_eur = m.periods.iter().map(|(_, t)| t.eur).sum();
            m.total_eur = m.energy_eur + m.subscription_eur;
        }
        let energy_eur = months.iter().map(|m| m.energy_eur).sum();
        let subscription_eur = months.iter().map(|m| m.subscription_eur).sum();
        let mut notes = Vec::new();
        if matches!(p.offer.schedule, Schedule::Tempo) && p.from <= UNCOLOURED_DAY && UNCOLOURED_DAY < p.to {
            notes.push("2022-12-28 has no colour in RTE's data: it is priced as a blue day".to_owned());
        }
        if missing_total > 0 {
            notes.push(format!(
                "{missing_total} day(s) have no or incomplete data: their energy is not all counted (the subscription is)"
            ));
        }
        CostReport {
            offer: p.offer.name.clone(),
            kva: p.kva,
            from: p.from,
            to: p.to,
            months,
            energy_eur,
            subscription_eur,
            total_eur: energy_eur + subscription_eur,
            missing_days: missing_total,
            notes,
        }
    }
}

#[cfg(test)]
mod tests;
