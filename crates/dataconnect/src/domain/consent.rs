//! Consents: which meters a customer shared, with which API generation, from
//! when and for how long.
//!
//! The duration is the ISO 8601 duration of the authorize URL (`P3Y`,
//! `P6M`, `P1095D`…), which Enedis caps at three years.

use std::fmt;
use std::str::FromStr;

use jiff::ToSpan;
use jiff::civil::Date;

use super::UsagePointId;

/// The three generations of the Data Connect API: legacy (v3/v4 data,
/// per-customer tokens), v5 (application tokens) and "Data Connect 2026".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Generation {
    /// The API of consometers/data-connect's walkthrough: per-customer authorization code and refresh token,
    /// `/v3` and `/v4` data paths.
    Legacy,
    /// The v5 API: per-application client credentials, `metering_data_*/v5`.
    V5,
    /// "Data Connect 2026": consent v2 (`autorisation_id`),
    /// `mesure_synchrone_auto/v2` and the ITC contract APIs. The default,
    /// because it is what Enedis serves today.
    #[default]
    Dc2026,
}

/// Returned when a generation name is not `legacy`, `v5` or `2026`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown API generation {0:?}: expected legacy, v5 or 2026")]
pub struct ParseGenerationError(String);

impl Generation {
    /// All generations, oldest first.
    pub const ALL: [Generation; 3] = [Generation::Legacy, Generation::V5, Generation::Dc2026];

    /// The name users type: `legacy`, `v5` or `2026`.
    pub fn as_str(self) -> &'static str {
        match self {
            Generation::Legacy => "legacy",
            Generation::V5 => "v5",
            Generation::Dc2026 => "2026",
        }
    }
}

impl FromStr for Generation {
    type Err = ParseGenerationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "legacy" | "v3" | "v4" | "1" => Ok(Generation::Legacy),
            "v5" | "2" => Ok(Generation::V5),
            "2026" | "dc2026" | "3" => Ok(Generation::Dc2026),
            _ => Err(ParseGenerationError(s.chars().take(20).collect())),
        }
    }
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An ISO 8601 consent duration in years, months, weeks and days, at most
/// three years (`P3Y`, `P36M`, `P1095D`, `P1Y4M`…).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConsentDuration {
    years: i32,
    months: i32,
    weeks: i32,
    days: i32,
}

/// Returned when a consent duration is malformed, not positive, or longer
/// than three years.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConsentDurationError {
    /// The text is not an ISO 8601 duration made of years, months, weeks
    /// and days.
    #[error(
        "invalid consent duration {0:?}: use an ISO 8601 duration in years, months, weeks or days, such as P3Y, P6M, P1Y4M or P90D"
    )]
    Malformed(String),
    /// The duration is zero or longer than three years.
    #[error("consent duration {0:?} is out of range: it must be positive and at most three years (P3Y)")]
    OutOfRange(String),
}

impl ConsentDuration {
    /// Three years, the longest consent Enedis grants.
    pub const MAX: ConsentDuration = ConsentDuration { years: 3, months: 0, weeks: 0, days: 0 };

    /// Parses `PnYnMnWnD` (any subset, in that order, at least one part).
    pub fn parse(s: &str) -> Result<Self, ConsentDurationError> {
        let shown: String = s.chars().take(30).collect();
        let bad = || ConsentDurationError::Malformed(shown.clone());
        let rest = s.trim().strip_prefix(['P', 'p']).ok_or_else(bad)?;
        if rest.is_empty() {
            return Err(bad());
        }
        let mut d = ConsentDuration { years: 0, months: 0, weeks: 0, days: 0 };
        let mut num = String::new();
        let mut last_rank = 0;
        for c in rest.chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            let rank = match c.to_ascii_uppercase() {
                'Y' => 1,
                'M' => 2,
                'W' => 3,
                'D' => 4,
                _ => return Err(bad()),
            };
            if num.is_empty() || num.len() > 5 || rank <= last_rank {
                return Err(bad());
            }
            let n: i32 = num.parse().map_err(|_| bad())?;
            num.clear();
            last_rank = rank;
            match rank {
                1 => d.years = n,
                2 => d.months = n,
                3 => d.weeks = n,
                _ => d.days = n,
            }
        }
        if !num.is_empty() {
            return Err(bad());
        }
        // Three calendar years hold 1095 or 1096 days depending on leap
        // years; the approximate length below accepts P3Y, P36M, P156W and
        // P1096D and rejects anything longer.
        let approx_days = d.years as f64 * 365.25 + d.months as f64 * 30.4375 + (d.weeks * 7 + d.days) as f64;
        if approx_days <= 0.0 || approx_days > 1096.0 {
            return Err(ConsentDurationError::OutOfRange(shown));
        }
        Ok(d)
    }

    /// The day a consent given on `start` ends (exclusive).
    pub fn expiry(&self, start: Date) -> Date {
        let span = self.years.years().months(self.months).weeks(self.weeks).days(self.days);
        start.checked_add(span).unwrap_or(start)
    }
}

impl FromStr for ConsentDuration {
    type Err = ConsentDurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ConsentDuration::parse(s)
    }
}

impl fmt::Display for ConsentDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("P")?;
        for (n, u) in [(self.years, 'Y'), (self.months, 'M'), (self.weeks, 'W'), (self.days, 'D')] {
            if n != 0 {
                write!(f, "{n}{u}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for ConsentDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConsentDuration({self})")
    }
}

/// A customer's consent, as recorded once the redirect came back.
#[derive(Clone, Debug, PartialEq)]
pub struct Consent {
    /// The meters the customer shared (one or more).
    pub usage_points: Vec<UsagePointId>,
    /// The API generation the consent was given through.
    pub generation: Generation,
    /// The Paris day the consent was given.
    pub start: Date,
    /// The duration asked for in the authorize URL.
    pub duration: ConsentDuration,
    /// The `state` the consent was asked with. It is not a secret once the
    /// redirect came back (it travelled in the URL), but it identifies the
    /// request, so it is kept for audit.
    pub state: String,
    /// Generation 3 only: the `autorisation_id` of the redirect.
    pub autorisation_id: Option<String>,
}

impl Consent {
    /// The day the consent ends (exclusive).
    pub fn expiry(&self) -> Date {
        self.duration.expiry(self.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn durations() {
        for ok in ["P3Y", "P36M", "P1095D", "P1Y4M", "P6M", "P1D", "P156W"] {
            assert!(ConsentDuration::parse(ok).is_ok(), "{ok}");
        }
        assert!(matches!(ConsentDuration::parse("P4Y"), Err(ConsentDurationError::OutOfRange(_))));
        assert!(matches!(ConsentDuration::parse("P0D"), Err(ConsentDurationError::OutOfRange(_))));
        for bad in ["", "P", "3Y", "PY", "P1M2Y", "P1H", "P1.5Y", "P-1Y", "P1Y2"] {
            assert!(matches!(ConsentDuration::parse(bad), Err(ConsentDurationError::Malformed(_))), "{bad}");
        }
        assert_eq!(ConsentDuration::parse("P3Y").unwrap().expiry(date(2026, 11, 28)), date(2029, 11, 28));
        assert_eq!(ConsentDuration::parse("P1Y4M").unwrap().to_string(), "P1Y4M");
    }

    #[test]
    fn generations() {
        assert_eq!("2026".parse::<Generation>().unwrap(), Generation::Dc2026);
        assert_eq!(Generation::default(), Generation::Dc2026);
        assert!("v6".parse::<Generation>().is_err());
    }
}
