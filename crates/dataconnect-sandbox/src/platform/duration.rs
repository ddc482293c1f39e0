//! The consent `duration` parameter: an ISO 8601 duration, validated as the
//! Enedis authorize page does and put into French words for the consent
//! page.
//!
//! The authorize error catalogue (Enedis's authorize Swagger and error
//! page, as copied in MyElectricalData/myelectricaldata_new,
//! `docs/external-apis/enedis-api/`) has three duration errors: not ISO 8601 (`invalid_duration_format`), more
//! than three years or negative (`maximum_duration_exceeded`), and "odd
//! durations" that the page fails on internally (`server_error`,
//! `lincs-internal-server-error`). The error page advises units of days,
//! weeks, months or years only; the sandbox takes the faithful reading that
//! a duration with hours, minutes or seconds, or a zero duration, is such an
//! odd one.

use jiff::civil::Date;
use jiff::{Span, ToSpan};

/// A parsed consent duration in calendar units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConsentDuration {
    pub(crate) years: i64,
    pub(crate) months: i64,
    pub(crate) weeks: i64,
    pub(crate) days: i64,
}

/// Why a duration is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum DurationError {
    /// The text is not an ISO 8601 duration (`P…`).
    Format,
    /// The duration is negative or ends more than three years after its
    /// start.
    TooLong,
    /// A valid ISO 8601 duration the page cannot handle: zero, or with
    /// hours, minutes or seconds.
    Odd,
}

/// Parses and checks `text` for a consent starting on `start`.
pub(crate) fn parse(text: &str, start: Date) -> Result<ConsentDuration, DurationError> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let rest = rest.strip_prefix('P').ok_or(DurationError::Format)?;
    let (date_part, time_part) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut duration = ConsentDuration { years: 0, months: 0, weeks: 0, days: 0 };
    let date_fields = components(date_part, &['Y', 'M', 'W', 'D'])?;
    let time_fields = match time_part {
        Some(t) => {
            let fields = components(t, &['H', 'M', 'S'])?;
            // "PT" alone is not a duration.
            if fields.is_empty() {
                return Err(DurationError::Format);
            }
            fields
        }
        None => Vec::new(),
    };
    if date_fields.is_empty() && time_fields.is_empty() {
        return Err(DurationError::Format);
    }
    for (unit, value) in &date_fields {
        match unit {
            'Y' => duration.years = *value,
            'M' => duration.months = *value,
            'W' => duration.weeks = *value,
            _ => duration.days = *value,
        }
    }
    if negative && (date_fields.iter().chain(&time_fields).any(|(_, v)| *v != 0)) {
        return Err(DurationError::TooLong);
    }
    // Check the length before oddities, so that `P99Y` is "too long" even
    // if it also had an hour in it.
    let end = duration.end(start).ok_or(DurationError::TooLong)?;
    let limit = start.checked_add(3.years()).map_err(|_| DurationError::TooLong)?;
    if end > limit {
        return Err(DurationError::TooLong);
    }
    if !time_fields.is_empty() || end == start {
        return Err(DurationError::Odd);
    }
    Ok(duration)
}

/// The `(unit, value)` components of one side of an ISO duration, in the
/// order `units` allows them (each at most once).
fn components(text: &str, units: &[char]) -> Result<Vec<(char, i64)>, DurationError> {
    let mut out = Vec::new();
    let mut next_unit = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let position = units[next_unit..].iter().position(|u| *u == c).ok_or(DurationError::Format)?;
        if digits.is_empty() {
            return Err(DurationError::Format);
        }
        // A number too large for i64 is certainly longer than three years.
        let value: i64 = digits.parse().map_err(|_| DurationError::TooLong)?;
        out.push((c, value));
        digits.clear();
        next_unit += position + 1;
    }
    if !digits.is_empty() {
        return Err(DurationError::Format);
    }
    Ok(out)
}

impl ConsentDuration {
    /// The day the consent ends when it starts on `start` (`None` if out of
    /// jiff's range).
    pub(crate) fn end(&self, start: Date) -> Option<Date> {
        let span = Span::new()
            .try_years(self.years)
            .ok()?
            .try_months(self.months)
            .ok()?
            .try_weeks(self.weeks)
            .ok()?
            .try_days(self.days)
            .ok()?;
        start.checked_add(span).ok()
    }

    /// The duration in French words, as the consent page shows it:
    /// "3 ans", "1 an et 4 mois", "2 semaines et 3 jours".
    pub(crate) fn in_words(&self) -> String {
        let mut parts = Vec::new();
        let mut push = |n: i64, one: &str, many: &str| {
            if n > 0 {
                parts.push(format!("{n} {}", if n == 1 { one } else { many }));
            }
        };
        push(self.years, "an", "ans");
        push(self.months, "mois", "mois");
        push(self.weeks, "semaine", "semaines");
        push(self.days, "jour", "jours");
        match parts.split_last() {
            None => String::new(),
            Some((last, [])) => last.clone(),
            Some((last, init)) => format!("{} et {last}", init.join(", ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    const START: Date = date(2026, 11, 28);

    #[test]
    fn accepts_common_durations() {
        for ok in ["P3Y", "P6M", "P1Y4M", "P1095D", "P36M", "P1D", "P2W", "P1Y2M3W4D"] {
            assert!(parse(ok, START).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_in_catalogue_order() {
        for bad in ["", "3Y", "P", "PT", "P1", "PY", "P1M1Y", "P1.5Y", "p3y", "P3Y ", "1 year", "P1Y1Y"] {
            assert_eq!(parse(bad, START), Err(DurationError::Format), "{bad:?}");
        }
        for long in ["P4Y", "P37M", "P1200D", "-P1D", "P99999999999999999999Y", "P3Y1D"] {
            assert_eq!(parse(long, START), Err(DurationError::TooLong), "{long:?}");
        }
        for odd in ["PT1H", "P1DT1H", "P0D", "PT0S"] {
            assert_eq!(parse(odd, START), Err(DurationError::Odd), "{odd:?}");
        }
    }

    #[test]
    fn three_years_in_days_depends_on_leap_days() {
        // 2026-11-28 + 3 years = 2029-11-28, 1096 days later (2028-02-29).
        assert!(parse("P1096D", START).is_ok());
        assert_eq!(parse("P1097D", START), Err(DurationError::TooLong));
    }

    #[test]
    fn words() {
        let w = |s| parse(s, START).map(|d| d.in_words()).unwrap_or_default();
        assert_eq!(w("P3Y"), "3 ans");
        assert_eq!(w("P1Y4M"), "1 an et 4 mois");
        assert_eq!(w("P1Y2M3W4D"), "1 an, 2 mois, 3 semaines et 4 jours");
        assert_eq!(w("P1D"), "1 jour");
    }
}
