//! The sandbox's clock: real time, or real time shifted so that the sandbox
//! believes it is a chosen day.
//!
//! `--today D` starts the clock at D 12:00 Paris time and lets it run, so
//! that token expiry and quotas still behave while any past period can be
//! replayed (the date rules — "end not after today", history depth, D+1
//! 08:00 availability — are all computed from this clock).

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

/// A clock that runs at real speed from a chosen starting instant.
#[derive(Clone, Debug)]
pub(crate) struct Clock {
    /// Added to the real time to get the sandbox's time.
    offset: SignedDuration,
}

impl Clock {
    /// A clock at real time, or starting at `today` 12:00 Paris time.
    pub(crate) fn new(today: Option<Date>) -> Self {
        let offset = match today {
            None => SignedDuration::ZERO,
            Some(d) => {
                let noon = d
                    .at(12, 0, 0, 0)
                    .to_zoned_datetime(paris())
                    .map(|z| z.timestamp())
                    .unwrap_or_else(|_| Timestamp::now());
                noon.duration_since(Timestamp::now())
            }
        };
        Clock { offset }
    }

    /// The sandbox's current instant.
    pub(crate) fn now(&self) -> Timestamp {
        Timestamp::now().checked_add(self.offset).unwrap_or_else(|_| Timestamp::now())
    }

    /// The sandbox's current Paris civil date.
    pub(crate) fn today(&self) -> Date {
        self.now().to_zoned_datetime(paris()).date()
    }
}

/// Europe/Paris, from the tz database bundled in the binary.
pub(crate) fn paris() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get("Europe/Paris").unwrap_or(jiff::tz::TimeZone::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_day_starts_at_noon_paris() {
        let c = Clock::new(Some(jiff::civil::date(2024, 10, 27)));
        assert_eq!(c.today(), jiff::civil::date(2024, 10, 27));
        let local = c.now().to_zoned_datetime(paris());
        assert_eq!(local.hour(), 12);
    }
}
