//! The sandbox's meters: Enedis's sandbox test clients 0 to 8, and a few
//! meters of our own for behaviours the spec says happen in production.
//!
//! The client table follows `dataconnect-api.md` section 5. Where the spec
//! is uncertain (which of client 3's two PRMs produces, the activation dates
//! of "the start of the Linky rollout"), the choice made is written next to
//! the entry. Everything the sandbox serves for a meter (consent grants,
//! data, errors) derives from this table, so a behaviour is added here, not
//! in a route.

use jiff::civil::{Date, date};

/// How the load curve of a meter is stepped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StepPlan {
    /// PT30M all day: what Enedis's sandbox serves for clients 0 to 8.
    Fixed30,
    /// PT10M all day (customers who asked for a 10-minute curve).
    Fixed10,
    /// The step changes inside every day: PT60M from 00:00 to 06:00, PT30M
    /// to 12:00, PT15M to 18:00 and PT10M to midnight, as the EDDIE fixture
    /// with a changing resolution shows it can.
    Changing,
}

/// Which days have no data at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Gaps {
    /// Complete data.
    None,
    /// No data on Tuesdays and Wednesdays (sandbox client 4).
    TuesdayWednesday,
}

/// One meter the sandbox knows.
#[derive(Clone, Debug)]
pub(crate) struct Meter {
    /// The 14-digit PRM.
    pub(crate) prm: &'static str,
    /// The sandbox test client (last digit of `state`) that grants it, if any.
    pub(crate) client: Option<u8>,
    /// Draws energy from the grid (consumption endpoints answer).
    pub(crate) consumption: bool,
    /// Injects energy into the grid (production endpoints answer).
    pub(crate) production: bool,
    /// The load curve is collected (the customer enabled hourly collection).
    pub(crate) curve_collected: bool,
    /// The meter's last activation: no data before this day (ADAM-ERR0123).
    pub(crate) activation: Date,
    /// Days without data.
    pub(crate) gaps: Gaps,
    /// Self-consumption netting: per interval, only the surplus of
    /// consumption over production (or the reverse) is measured.
    pub(crate) self_consumption: bool,
    /// The consent is revoked right after it is given (client 8).
    pub(crate) revoked: bool,
    /// How the load curve is stepped.
    pub(crate) step: StepPlan,
    /// Some load-curve values are `null`.
    pub(crate) nulls: bool,
}

/// The start of the Linky rollout, used as the activation date of the
/// sandbox clients the spec describes as "commissioned at the start of the
/// rollout" (the spec gives no date; December 2015 is when the mass
/// deployment began, and it is older than any history window).
const ROLLOUT: Date = date(2015, 12, 1);

const fn base(prm: &'static str, client: Option<u8>) -> Meter {
    Meter {
        prm,
        client,
        consumption: true,
        production: false,
        curve_collected: true,
        activation: ROLLOUT,
        gaps: Gaps::None,
        self_consumption: false,
        revoked: false,
        step: StepPlan::Fixed30,
        nulls: false,
    }
}

/// Every meter the sandbox serves.
pub(crate) static METERS: &[Meter] = &[
    base("22516914714270", Some(0)),
    Meter { activation: date(2019, 8, 27), ..base("11453290002823", Some(1)) },
    Meter { curve_collected: false, ..base("32320647321714", Some(2)) },
    // Which of client 3's PRMs produces is not stated by the spec; the first
    // is taken as the consumption point, the second as the production point.
    base("12345678901234", Some(3)),
    Meter { consumption: false, production: true, activation: date(2020, 6, 15), ..base("10284856584123", Some(3)) },
    Meter { gaps: Gaps::TuesdayWednesday, ..base("42900589957123", Some(4)) },
    Meter { consumption: false, production: true, activation: date(2019, 4, 1), ..base("24880057139941", Some(5)) },
    Meter { production: true, self_consumption: true, ..base("12655648759651", Some(6)) },
    base("64975835695673", Some(7)),
    base("63695879465986", Some(7)),
    base("22315546958763", Some(7)),
    Meter { revoked: true, ..base("26584978546985", Some(8)) },
    // Our own test meters, reachable by PRM with an application token (no
    // sandbox client grants them through the consent page).
    Meter { step: StepPlan::Fixed10, ..base("90000000000010", None) },
    Meter { step: StepPlan::Changing, ..base("90000000000011", None) },
    Meter { nulls: true, ..base("90000000000012", None) },
];

/// The meter with this PRM, if the sandbox knows it.
pub(crate) fn find(prm: &str) -> Option<&'static Meter> {
    METERS.iter().find(|m| m.prm == prm)
}

/// The meters granted by sandbox client `n` (0 to 8), in table order.
pub(crate) fn of_client(n: u8) -> Vec<&'static Meter> {
    METERS.iter().filter(|m| m.client == Some(n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_zero_to_eight_have_meters() {
        for n in 0..=8 {
            assert!(!of_client(n).is_empty(), "client {n}");
        }
        assert_eq!(of_client(7).len(), 3);
        assert!(of_client(9).is_empty());
        assert!(METERS.iter().all(|m| m.prm.len() == 14 && m.prm.bytes().all(|b| b.is_ascii_digit())));
    }
}
