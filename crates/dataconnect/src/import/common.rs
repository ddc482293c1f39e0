//! What every file reader shares: numbers with a decimal comma, French and
//! ISO stamps, turning end stamps into curve readings with the wire
//! decoders' resolver, daily readings, and the Paris days a series covers.

use std::collections::BTreeMap;

use jiff::ToSpan;
use jiff::civil::Date;

use super::ImportError;
use crate::domain::{DateRange, Reading, Series, Unit, UsagePointId};
use crate::wire::paris_fast::{self, Resolved};
use crate::wire::{CurveResolver, Stamp, day_reading, parse_stamp, peak_instant, ts};

/// Rows of a file left out, grouped by reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// Why they were left out.
    pub reason: String,
    /// How many rows.
    pub rows: usize,
    /// The first of them (line, or row of a sheet).
    pub first_line: usize,
}

/// What a reader returns for one meter and series, before the overrides.
#[derive(Debug)]
pub(crate) struct RawPart {
    pub prm: Option<UsagePointId>,
    pub series: Series,
    /// Sorted by start, each start once.
    pub readings: Vec<Reading>,
    pub skipped: Vec<Skipped>,
}

/// Adds one skipped row under `reason`.
pub(crate) fn skip(skipped: &mut Vec<Skipped>, reason: &str, line: usize) {
    match skipped.iter_mut().find(|s| s.reason == reason) {
        Some(s) => s.rows += 1,
        None => skipped.push(Skipped { reason: reason.to_owned(), rows: 1, first_line: line }),
    }
}

/// Lower case without the accents French headers may or may not carry
/// (`Début`, `Donnees`), for comparing header names.
pub(crate) fn fold(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| match c {
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' => 'e',
            'à' | 'â' | 'À' | 'Â' => 'a',
            'ù' | 'û' | 'ü' => 'u',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ç' => 'c',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// At most 40 characters of a field, so that a hostile file does not end
/// up verbatim in an error line.
pub(crate) fn short(s: &str) -> String {
    s.trim().chars().take(40).collect()
}

/// A field without surrounding spaces and double quotes.
pub(crate) fn unquote(s: &str) -> &str {
    let t = s.trim();
    t.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(t).trim()
}

/// A number as the files write them: `270`, `4,030`, `"0,696"`, `1 234,5`.
/// `Ok(None)` for an empty field; `Err(())` for anything else.
pub(crate) fn number(s: &str) -> Result<Option<f64>, ()> {
    let t = unquote(s);
    if t.is_empty() || t.eq_ignore_ascii_case("null") {
        return Ok(None);
    }
    let cleaned: String = t.chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}')).collect();
    let v: f64 = cleaned.replace(',', ".").parse().map_err(|_| ())?;
    if v.is_finite() { Ok(Some(v)) } else { Err(()) }
}

/// A stamp in ISO form (`2020-08-20T23:40:00+02:00`, `2023-12-12T00:30`,
/// `2023-03-02 00:30:00`) or French form (`02/03/2023 00:30:00`,
/// `02/03/2023`), read by the wire decoders' stamp parser.
pub(crate) fn stamp(s: &str) -> Option<Stamp> {
    let t = unquote(s);
    let b = t.as_bytes();
    if b.len() >= 10 && b[2] == b'/' && b[5] == b'/' {
        let iso = format!("{}-{}-{}{}", t.get(6..10)?, t.get(3..5)?, t.get(0..2)?, t.get(10..)?);
        return parse_stamp(&iso);
    }
    parse_stamp(t)
}

/// Local seconds of a spreadsheet serial date-time (days since 1899-12-30).
pub(crate) fn serial_to_local(serial: f64) -> Option<i64> {
    let secs = ((serial - 25_569.0) * 86_400.0).round();
    (secs.is_finite() && secs.abs() < 1e12).then_some(secs as i64)
}

/// `v × factor` (kW to W, kWh to Wh), rounded to a millionth so that
/// `4,030` kW is 4030 W and not 4030.0000000000005.
fn scale(v: f64, factor: f64) -> f64 {
    if factor == 1.0 { v } else { (v * factor * 1e6).round() / 1e6 }
}

/// The steps a load curve can have (5 to 60 minutes), in seconds.
const STEPS: [i64; 5] = [300, 600, 900, 1800, 3600];

/// An instant for a stamp read on its own: the earlier of an ambiguous
/// October time (its first occurrence).
fn alone(s: Stamp) -> i64 {
    match s {
        Stamp::Instant(t) => t,
        Stamp::Local(l) => match paris_fast::resolve(l) {
            Resolved::One(t) | Resolved::Fold(t, _) => t,
        },
    }
}

/// The step between two stamps: exact when both carry an offset; for local
/// times the wall-clock difference, taken one hour shorter or longer when
/// only that makes it a step (the interval that spans a DST change).
fn step_between(a: Stamp, b: Stamp) -> Option<i64> {
    match (a, b) {
        (Stamp::Local(x), Stamp::Local(y)) => {
            let d = y - x;
            [d, d - 3600, d + 3600].into_iter().find(|s| STEPS.contains(s))
        }
        _ => Some(alone(b) - alone(a)).filter(|s| STEPS.contains(s)),
    }
}

/// One load-curve row as a reader found it.
pub(crate) struct CurveRow {
    pub line: usize,
    /// The start of the interval, when the file gives it (`Début`, `debut`).
    pub begin: Option<Stamp>,
    /// The end of the interval.
    pub end: Stamp,
    pub value: Option<f64>,
}

/// The order of a stamp, good enough to tell oldest-first from newest-first.
fn order_key(s: Stamp) -> i64 {
    alone(s)
}

/// Turns curve rows (in file order, oldest or newest first) into readings:
/// each end stamp is resolved by `CurveResolver`, the wire decoders'
/// resolver (by its offset when it has one, by its position otherwise).
/// The step of a row is its own interval when the file gives starts, else
/// `declared`, else inferred from the neighbouring stamps (it may change
/// inside a file). Rows repeating an interval are skipped (the last kept);
/// intervals that overlap are an error naming both lines.
pub(crate) fn curve(
    mut rows: Vec<CurveRow>,
    declared: Option<i64>,
    factor: f64,
    skipped: &mut Vec<Skipped>,
) -> Result<Vec<Reading>, ImportError> {
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else { return Ok(Vec::new()) };
    if order_key(first.end) > order_key(last.end) {
        rows.reverse();
    }
    let steps = steps(&rows, declared)?;
    let start = match rows[0].begin {
        Some(b) => alone(b),
        None => alone(rows[0].end) - steps[0],
    };
    let mut resolver = CurveResolver::new(ts(start), Unit::W, 1.0, rows.len());
    for (row, step) in rows.iter().zip(&steps) {
        resolver.push(row.end, *step, row.value.map(|v| scale(v, factor)));
    }
    let lined: Vec<(usize, Reading)> = rows.iter().map(|r| r.line).zip(resolver.out).collect();
    ordered(lined, skipped)
}

/// Sorts readings (with their lines) by start; a repeated interval keeps
/// the later row; intervals that overlap are an error naming both lines.
pub(crate) fn ordered(
    mut lined: Vec<(usize, Reading)>,
    skipped: &mut Vec<Skipped>,
) -> Result<Vec<Reading>, ImportError> {
    lined.sort_by_key(|(_, r)| r.start);
    let mut out: Vec<(usize, Reading)> = Vec::with_capacity(lined.len());
    for (line, r) in lined {
        match out.last_mut() {
            // Of two rows for one interval, the one further down the file
            // is kept, whatever order the file runs in.
            Some((prev_line, prev)) if prev.start == r.start => {
                skip(skipped, "its interval is repeated by a later row, which is kept", line.min(*prev_line));
                if line > *prev_line {
                    *prev_line = line;
                    *prev = r;
                }
            }
            Some((prev_line, prev)) if r.start < prev.end => {
                return Err(ImportError::line(
                    line,
                    format!(
                        "its interval {} to {} overlaps the interval of line {prev_line}, which ends at {}",
                        r.start, r.end, prev.end
                    ),
                    "remove one of the two rows, or check the step (Pas en minutes)",
                ));
            }
            _ => out.push((line, r)),
        }
    }
    Ok(out.into_iter().map(|(_, r)| r).collect())
}

/// The step of every row, in order.
fn steps(rows: &[CurveRow], declared: Option<i64>) -> Result<Vec<i64>, ImportError> {
    let mut out = Vec::with_capacity(rows.len());
    let mut last: Option<i64> = None;
    for (i, row) in rows.iter().enumerate() {
        let step = if let Some(b) = row.begin {
            step_between(b, row.end).ok_or_else(|| {
                ImportError::line(
                    row.line,
                    "its start and end are not 5, 10, 15, 30 or 60 minutes apart".into(),
                    "check the row's two stamps",
                )
            })?
        } else if let Some(d) = declared {
            d
        } else {
            // The distance to the previous row when it keeps the step so
            // far, else the shorter distance to a neighbour: a missing row in
            // a 30-minute curve leaves a 60-minute distance on one side only,
            // and must stay a gap rather than become a 60-minute point, while
            // the last row before a change to 10 minutes keeps its 30.
            // Neighbours repeating this row's stamp are looked past.
            let prev = rows[..i].iter().rev().find(|p| p.end != row.end).and_then(|p| step_between(p.end, row.end));
            let next = rows[i + 1..].iter().find(|n| n.end != row.end).and_then(|n| step_between(row.end, n.end));
            let nearest = match (prev, next) {
                (Some(a), _) if Some(a) == last => Some(a),
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            nearest.or(last).ok_or_else(|| {
                ImportError::line(
                    row.line,
                    "the step is blank and cannot be inferred: the row is not 5 to 60 minutes from another one".into(),
                    "fill in the step (Pas en minutes) in line 2, or remove the isolated row",
                )
            })?
        };
        last = Some(step);
        out.push(step);
    }
    Ok(out)
}

/// One row of a daily series.
pub(crate) struct DayRow {
    pub line: usize,
    /// Local midnight of the day, in local seconds.
    pub day: i64,
    pub value: Option<f64>,
    /// The instant of the peak (maximum power), when the file gives one.
    pub peak: Option<Stamp>,
}

/// Turns daily rows into readings sorted by day; a day given twice keeps
/// its later row.
pub(crate) fn days(rows: Vec<DayRow>, unit: Unit, factor: f64, skipped: &mut Vec<Skipped>) -> Vec<Reading> {
    let mut by_day: BTreeMap<i64, Reading> = BTreeMap::new();
    for row in rows {
        let r = day_reading(row.day, row.value.map(|v| scale(v, factor)), unit, row.peak.map(peak_instant));
        if by_day.insert(row.day, r).is_some() {
            skip(skipped, "repeats the day of an earlier row (the later row is kept)", row.line);
        }
    }
    by_day.into_values().collect()
}

/// Local midnight (local seconds) of the day a stamp falls on.
pub(crate) fn local_day(s: Stamp) -> i64 {
    let local = match s {
        Stamp::Local(l) => l,
        Stamp::Instant(t) => t + paris_fast::offset_at(t),
    };
    local - local.rem_euclid(86_400)
}

/// True when a stamp is at local midnight (a day, not an instant of a peak).
pub(crate) fn at_midnight(s: Stamp) -> bool {
    let local = match s {
        Stamp::Local(l) => l,
        Stamp::Instant(t) => t + paris_fast::offset_at(t),
    };
    local.rem_euclid(86_400) == 0
}

/// The Paris civil date of an instant (UTC seconds).
pub(crate) fn paris_date(t: i64) -> Date {
    date_of_day((t + paris_fast::offset_at(t)).div_euclid(86_400))
}

fn date_of_day(days: i64) -> Date {
    jiff::civil::date(1970, 1, 1).checked_add(days.days()).unwrap_or(jiff::civil::date(1970, 1, 1))
}

/// The Paris days `readings` (sorted, not overlapping) cover completely,
/// merged into ranges, and the days they touch without covering them.
/// A daily reading covers its day; curve readings cover a day when their
/// intervals add up to the whole day (23, 24 or 25 hours), points without a
/// value included (the meter sent no value: asking again gives none).
pub(crate) fn coverage(readings: &[Reading], series: Series) -> (Vec<DateRange>, Vec<Date>) {
    // Per day number: seconds covered, and whether a reading spills over.
    let mut per_day: BTreeMap<i64, (i64, bool)> = BTreeMap::new();
    for r in readings {
        let (s, e) = (r.start.as_second(), r.end.as_second());
        let day = (s + paris_fast::offset_at(s)).div_euclid(86_400);
        let last = (e - 1 + paris_fast::offset_at(e - 1)).div_euclid(86_400);
        if series.is_curve() {
            let spill = last != day;
            let entry = per_day.entry(day).or_insert((0, false));
            entry.0 += e - s;
            entry.1 |= spill;
            if spill {
                per_day.entry(last).or_insert((0, true)).1 = true;
            }
        } else {
            per_day.insert(day, (day_length(day), false));
        }
    }
    let mut complete: Vec<i64> = Vec::new();
    let mut partial = Vec::new();
    for (day, (secs, spill)) in per_day {
        if !spill && secs == day_length(day) {
            complete.push(day);
        } else {
            partial.push(date_of_day(day));
        }
    }
    let mut ranges: Vec<DateRange> = Vec::new();
    let mut run: Option<(i64, i64)> = None;
    for day in complete {
        run = match run {
            Some((a, b)) if b == day => Some((a, day + 1)),
            Some((a, b)) => {
                ranges.extend(DateRange::new(date_of_day(a), date_of_day(b)).ok());
                Some((day, day + 1))
            }
            None => Some((day, day + 1)),
        };
    }
    if let Some((a, b)) = run {
        ranges.extend(DateRange::new(date_of_day(a), date_of_day(b)).ok());
    }
    (ranges, partial)
}

/// Seconds in the Paris day `day` (days since 1970-01-01).
fn day_length(day: i64) -> i64 {
    paris_fast::local_midnight_to_utc((day + 1) * 86_400) - paris_fast::local_midnight_to_utc(day * 86_400)
}
