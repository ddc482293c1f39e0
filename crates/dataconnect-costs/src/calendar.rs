//! RTE's Tempo calendar: the colour of each day since 2014-09-01.
//!
//! A Tempo day runs from 06:00 to 06:00 Paris time and takes the colour of
//! the calendar day it starts on. The calendar ships with the crate (see
//! `data/SOURCES.md`), and grows from RTE's API answers
//! (`tempo_like_calendars`), which this module reads.
//! Days are kept in a dense vector from the first day of RTE's data, so that
//! a lookup is an index, not a search.

use jiff::civil::{Date, date};
use serde::Deserialize;

use crate::error::{CostError, CostErrorKind, Result, day_ranges};
use crate::period::TempoColour;

/// The first day of RTE's Tempo data.
pub const FIRST_DAY: Date = date(2014, 9, 1);

/// The one day RTE's data has no colour for. It is priced as a blue day
/// (what every published calendar of that winter shows), and outputs say so.
pub const UNCOLOURED_DAY: Date = date(2022, 12, 28);

/// The calendar shipped with the crate.
pub const SHIPPED: &str = include_str!("../data/tempo/calendar.csv");

/// Tempo colours by day.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TempoCalendar {
    days: Vec<Option<TempoColour>>,
}

impl TempoCalendar {
    /// An empty calendar.
    pub fn new() -> Self {
        TempoCalendar::default()
    }

    /// The calendar shipped with the crate.
    pub fn shipped() -> Result<Self> {
        let mut cal = TempoCalendar::new();
        for (day, colour) in parse_csv("data/tempo/calendar.csv", SHIPPED)? {
            cal.insert(day, colour);
        }
        Ok(cal)
    }

    /// Sets the colour of `day` (days before [`FIRST_DAY`] are ignored: Tempo
    /// had no public calendar then).
    pub fn insert(&mut self, day: Date, colour: TempoColour) {
        let Some(i) = index(day) else { return };
        if self.days.len() <= i {
            self.days.resize(i + 1, None);
        }
        self.days[i] = Some(colour);
    }

    /// The colour of `day`, if known.
    pub fn get(&self, day: Date) -> Option<TempoColour> {
        index(day).and_then(|i| self.days.get(i).copied().flatten())
    }

    /// The colour a Tempo day is priced with: its colour, or blue for
    /// [`UNCOLOURED_DAY`]; `None` when unknown.
    pub fn priced(&self, day: Date) -> Option<TempoColour> {
        self.get(day).or((day == UNCOLOURED_DAY).then_some(TempoColour::Blue))
    }

    /// The number of days with a colour.
    pub fn len(&self) -> usize {
        self.days.iter().filter(|d| d.is_some()).count()
    }

    /// True when no day has a colour.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The last day with a colour.
    pub fn last_day(&self) -> Option<Date> {
        let i = self.days.iter().rposition(Option::is_some)?;
        FIRST_DAY.checked_add(jiff::Span::new().days(i as i64)).ok()
    }

    /// Every day with a colour, in order.
    pub fn days(&self) -> impl Iterator<Item = (Date, TempoColour)> + '_ {
        let mut day = FIRST_DAY;
        self.days.iter().filter_map(move |c| {
            let d = day;
            day = day.tomorrow().unwrap_or(day);
            c.map(|c| (d, c))
        })
    }

    /// The days of `[from, to)` (from 2014-09-01 on) without a colour,
    /// 2022-12-28 excepted.
    pub fn missing(&self, from: Date, to: Date) -> Vec<Date> {
        let mut out = Vec::new();
        let mut d = from.max(FIRST_DAY);
        while d < to {
            if self.priced(d).is_none() {
                out.push(d);
            }
            let Ok(next) = d.tomorrow() else { break };
            d = next;
        }
        out
    }
}

fn index(day: Date) -> Option<usize> {
    let days = (day - FIRST_DAY).get_days();
    // Spans between civil dates are in days (with no larger units) here.
    usize::try_from(days).ok()
}

/// Reads the shipped calendar format: `date;color;source` lines.
pub fn parse_csv(name: &str, text: &str) -> Result<Vec<(Date, TempoColour)>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let mut cells = line.split(';');
        let (d, c) = (cells.next().unwrap_or(""), cells.next().unwrap_or(""));
        let day = d
            .trim()
            .parse::<Date>()
            .map_err(|_| bad(format!("{name}, line {}: {d:?} is not a date (YYYY-MM-DD)", i + 1)))?;
        let colour = TempoColour::parse(c)
            .ok_or_else(|| bad(format!("{name}, line {}: {c:?} is not a Tempo colour (BLUE, WHITE or RED)", i + 1)))?;
        out.push((day, colour));
    }
    Ok(out)
}

#[derive(Deserialize)]
struct RteAnswer {
    tempo_like_calendars: RteCalendar,
}

#[derive(Deserialize)]
struct RteCalendar {
    values: Vec<RteValue>,
}

#[derive(Deserialize)]
struct RteValue {
    start_date: String,
    value: String,
}

/// Reads an answer of RTE's `tempo_like_calendars` (values newest first or
/// in any order) into days and colours, oldest first.
pub fn parse_rte(name: &str, text: &str) -> Result<Vec<(Date, TempoColour)>> {
    let answer: RteAnswer = serde_json::from_str(text).map_err(|e| {
        bad(format!(
            "{name}: not an answer of RTE's tempo_like_calendars ({e}); expected {{\"tempo_like_calendars\":{{\"values\":[{{\"start_date\":…,\"value\":\"BLUE\"}}]}}}}"
        ))
    })?;
    let mut out = Vec::with_capacity(answer.tempo_like_calendars.values.len());
    for (i, v) in answer.tempo_like_calendars.values.iter().enumerate() {
        let day = v.start_date.get(..10).and_then(|d| d.parse::<Date>().ok()).ok_or_else(|| {
            bad(format!(
                "{name}: values[{i}].start_date {:?} is not a date such as 2024-01-16T00:00:00+01:00",
                v.start_date
            ))
        })?;
        let colour = TempoColour::parse(&v.value)
            .ok_or_else(|| bad(format!("{name}: values[{i}].value {:?} is not BLUE, WHITE or RED", v.value)))?;
        out.push((day, colour));
    }
    out.sort_by_key(|(d, _)| *d);
    Ok(out)
}

/// The error for Tempo days of a period without a colour.
pub fn missing_error(days: &[Date]) -> CostError {
    CostError::new(
        CostErrorKind::MissingColour,
        format!(
            "no Tempo colour for {} day(s): {}; run `dataconnect tempo update` (RTE credentials) or `dataconnect tempo import FILE`",
            days.len(),
            day_ranges(days, 8)
        ),
    )
}

fn bad(message: String) -> CostError {
    CostError::new(CostErrorKind::BadInput, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_calendar_runs_from_2014_to_the_end_of_the_2024_2025_season() {
        let cal = TempoCalendar::shipped().unwrap();
        assert_eq!(cal.get(FIRST_DAY), Some(TempoColour::Blue));
        assert_eq!(cal.get(date(2024, 1, 8)), Some(TempoColour::Red));
        // The first day after source B, and the first red day of the 2024–2025
        // season, in source C and the sources it was checked against.
        assert_eq!(cal.get(date(2024, 1, 9)), Some(TempoColour::Red));
        assert_eq!(cal.get(date(2024, 12, 3)), Some(TempoColour::Red));
        // The 22nd and last red day of that season, as the press reported it.
        assert_eq!(cal.get(date(2025, 2, 3)), Some(TempoColour::Red));
        assert_eq!(cal.last_day(), Some(date(2025, 8, 31)));
        assert_eq!(cal.get(UNCOLOURED_DAY), None);
        assert_eq!(cal.priced(UNCOLOURED_DAY), Some(TempoColour::Blue));
        assert!(cal.missing(date(2014, 9, 1), date(2025, 9, 1)).is_empty());
        assert_eq!(cal.missing(date(2025, 8, 31), date(2025, 9, 3)), vec![date(2025, 9, 1), date(2025, 9, 2)]);
    }

    #[test]
    fn the_shipped_calendar_keeps_the_rules() {
        let cal = TempoCalendar::shipped().unwrap();
        for year in 2014..2025 {
            let (start, end) = (date(year, 9, 1), date(year + 1, 9, 1));
            let season: Vec<(Date, TempoColour)> = cal.days().filter(|(d, _)| *d >= start && *d < end).collect();
            let count = |c: TempoColour| season.iter().filter(|(_, x)| *x == c).count();
            let days = usize::try_from((end - start).get_days()).unwrap();
            let uncoloured = usize::from((start..end).contains(&UNCOLOURED_DAY));
            assert_eq!(season.len() + uncoloured, days, "season {year}: a day without a colour");
            // 22 red and 43 white days; 2019–2020 was published with 18 and 47.
            let expected = if year == 2019 { (18, 47) } else { (22, 43) };
            assert_eq!((count(TempoColour::Red), count(TempoColour::White)), expected, "season {year}");
            let mut run = 0;
            for (d, c) in &season {
                let weekday = d.weekday().to_monday_one_offset();
                if *c == TempoColour::Red {
                    assert!(weekday <= 5 && !(4..=10).contains(&d.month()), "red on {d}");
                    run += 1;
                    assert!(run <= 5, "more than 5 red days in a row up to {d}");
                } else {
                    run = 0;
                }
                assert!(!(*c == TempoColour::White && weekday == 7), "white on Sunday {d}");
            }
        }
    }

    #[test]
    fn every_shipped_day_cites_a_documented_source() {
        let sources = include_str!("../data/SOURCES.md");
        for (i, line) in SHIPPED.lines().enumerate().skip(1) {
            let source = line.split(';').nth(2).unwrap_or("").trim();
            assert!(!source.is_empty() && sources.contains(&format!("| `{source}` |")), "line {}: {line}", i + 1);
        }
    }

    #[test]
    fn reads_rte_answers_newest_first() {
        let json = r#"{"tempo_like_calendars":{"start_date":"2024-01-15T00:00:00+01:00","end_date":"2024-01-17T00:00:00+01:00","values":[
            {"start_date":"2024-01-16T00:00:00+01:00","end_date":"2024-01-17T00:00:00+01:00","value":"WHITE","updated_date":"2024-01-15T10:20:00+01:00"},
            {"start_date":"2024-01-15T00:00:00+01:00","end_date":"2024-01-16T00:00:00+01:00","value":"RED","updated_date":"2024-01-14T10:20:00+01:00"}]}}"#;
        let days = parse_rte("answer.json", json).unwrap();
        assert_eq!(days, vec![(date(2024, 1, 15), TempoColour::Red), (date(2024, 1, 16), TempoColour::White)]);
        let e = parse_rte("a.json", r#"{"tempo_like_calendars":{"values":[{"start_date":"x","value":"RED"}]}}"#)
            .unwrap_err();
        assert!(e.message().contains("values[0].start_date"), "{e}");
        let e = parse_rte(
            "a.json",
            r#"{"tempo_like_calendars":{"values":[{"start_date":"2024-01-15T00:00:00+01:00","value":"PINK"}]}}"#,
        )
        .unwrap_err();
        assert!(e.message().contains("\"PINK\""), "{e}");
    }

    #[test]
    fn missing_days_are_named_as_ranges() {
        let e = missing_error(&[date(2024, 1, 9), date(2024, 1, 10), date(2024, 2, 1)]);
        assert!(e.message().contains("2024-01-09..2024-01-10, 2024-02-01"), "{e}");
    }
}
