//! The sandbox's meters: Enedis's sandbox test clients 0 to 8, and a few
//! meters of our own for behaviours users report from production.
//!
//! The client table follows what is public about Enedis's sandbox: the
//! authorize Swagger's `state` description (the last digit picks the test
//! client), the client list of guillaumezin/DomoticzLinky's `plugin.py`,
//! and the fixtures of infodavide/ha_enedis_dataconnect. Where they are
//! silent (which of client 3's two PRMs produces, the activation dates
//! of "the start of the Linky rollout"), the choice made is written next to
//! the entry. Everything the sandbox serves for a meter (consent grants,
//! data, errors) derives from this table, so a behaviour is added here, not
//! in a route.
//!
//! Besides the table, `--fleet N` adds N synthetic consumption meters
//! (PRMs `25000000000001` to `25000000000000 + N`), for tests and soaks
//! that need many meters. They are recognised by number range rather than
//! stored in the table, so a fleet of 100 000 costs nothing until a meter
//! of it is asked for.

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

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
    /// The customer moved away: the consent still exists, but every data
    /// and customer call answers ADAM-DC-0007 (our meter 90000000000013).
    pub(crate) moved_away: bool,
    /// The consent is revoked right after it is given (client 8).
    pub(crate) revoked: bool,
    /// How the load curve is stepped.
    pub(crate) step: StepPlan,
    /// Some load-curve values are `null`.
    pub(crate) nulls: bool,
    /// A three-phase meter: max power with `grandeurPhysique=TOUT` adds
    /// one element per phase (our meter 90000000000014).
    pub(crate) three_phase: bool,
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
        moved_away: false,
        revoked: false,
        step: StepPlan::Fixed30,
        nulls: false,
        three_phase: false,
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
    Meter { moved_away: true, ..base("90000000000013", None) },
    Meter { three_phase: true, ..base("90000000000014", None) },
];

/// The fleet's PRMs are this number plus 1, 2, … N.
pub const FLEET_BASE: u64 = 25_000_000_000_000;

/// The largest fleet `--fleet` accepts.
pub const FLEET_MAX: u32 = 100_000;

/// The PRM of fleet meter `n` (1-based): `25000000000001` for 1.
pub fn fleet_prm(n: u32) -> String {
    (FLEET_BASE + u64::from(n)).to_string()
}

/// The position (1 to `fleet`) of `prm` in a fleet of `fleet` meters.
pub(crate) fn fleet_index(prm: &str, fleet: u32) -> Option<u32> {
    if fleet == 0 || prm.len() != 14 || !prm.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = prm.parse::<u64>().ok()?.checked_sub(FLEET_BASE)?;
    let n = u32::try_from(n).ok()?;
    (1..=fleet).contains(&n).then_some(n)
}

/// The meter with this PRM, if the sandbox knows it: a meter of the table,
/// or a meter of a fleet of `fleet` synthetic meters.
pub(crate) fn find(prm: &str, fleet: u32) -> Option<&'static Meter> {
    METERS.iter().find(|m| m.prm == prm).or_else(|| fleet_index(prm, fleet).map(fleet_meter))
}

/// Fleet meter `n`: like sandbox client 0 (consumption, PT30M curve
/// collected, active since the rollout), with its own data because the
/// synthetic household is seeded by PRM.
///
/// Routes hold meters as `&'static Meter`, as they hold the table's. A
/// fleet meter is therefore built the first time it is asked for and kept
/// for the life of the process, in one map shared by every sandbox (a fleet
/// meter is the same in every fleet that has it). The map is bounded by
/// [`FLEET_MAX`] meters of about a hundred bytes each.
fn fleet_meter(n: u32) -> &'static Meter {
    static FLEET: OnceLock<RwLock<HashMap<u32, &'static Meter>>> = OnceLock::new();
    let map = FLEET.get_or_init(|| RwLock::new(HashMap::new()));
    if let Some(meter) = map.read().unwrap_or_else(|p| p.into_inner()).get(&n) {
        return meter;
    }
    let mut write = map.write().unwrap_or_else(|p| p.into_inner());
    write.entry(n).or_insert_with(|| {
        let prm: &'static str = Box::leak(fleet_prm(n).into_boxed_str());
        Box::leak(Box::new(base(prm, None)))
    })
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

    #[test]
    fn fleet_meters_are_recognised_by_range() {
        assert_eq!(fleet_prm(1), "25000000000001");
        assert_eq!(fleet_prm(FLEET_MAX), "25000000100000");
        // No table meter falls inside the largest fleet's range.
        assert!(METERS.iter().all(|m| fleet_index(m.prm, FLEET_MAX).is_none()));
        assert_eq!(find("25000000000001", 0).map(|m| m.prm), None);
        assert_eq!(find("25000000000000", 20).map(|m| m.prm), None);
        assert_eq!(find("25000000000020", 20).map(|m| m.prm), Some("25000000000020"));
        assert_eq!(find("25000000000021", 20).map(|m| m.prm), None);
        assert_eq!(find("2500000000002a", 20).map(|m| m.prm), None);
        let (a, b) = (find("25000000000007", 20), find("25000000000007", 100));
        assert!(a.zip(b).is_some_and(|(a, b)| std::ptr::eq(a, b)), "one meter per PRM per process");
        let Some(m) = a else { panic!("fleet meter 7") };
        assert!(m.consumption && !m.production && m.curve_collected && m.client.is_none());
        assert_eq!((m.activation, m.step, m.nulls, m.revoked), (ROLLOUT, StepPlan::Fixed30, false, false));
        // The table's meters are found whatever the fleet.
        assert!(find("22516914714270", 0).is_some() && find("22516914714270", 5).is_some());
    }
}
