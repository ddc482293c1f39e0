//! Index readings: the meter's registers ("index", "cadrans") as read once
//! a day, one per calendar and time class.
//!
//! A Linky meter keeps cumulative energy registers. Each register belongs
//! to a time class (`HPH`, `HCB`, `HP`, `HC`, `BASE`…) of a calendar: the
//! distributor's (Enedis's network tariff grid, ids starting `DI`, e.g.
//! `DI000003` "avec différenciation temporelle et saisonnière") and the
//! supplier's (the customer's offer, ids starting `FC`), plus one
//! totalising register that counts everything. Both calendars are kept:
//! the distributor's answers network questions, the supplier's is what the
//! customer's bill is computed from. The difference of a register between
//! two daily readings is the energy of its class over the days between,
//! which is what an HP/HC or Tempo bill needs when the load curve is not
//! collected.

use jiff::Timestamp;
use jiff::civil::Date;

/// Whose calendar a register belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CalendarOwner {
    /// The distributor's (network) calendar: ids starting with `DI`.
    Distributor,
    /// The supplier's (offer) calendar: ids starting with `FC`.
    Supplier,
    /// The totalising register, which belongs to no calendar.
    Total,
    /// A calendar id of another form.
    Other,
}

impl CalendarOwner {
    /// Whose calendar `id` is, by its prefix (Enedis's SGE convention:
    /// `DI…` distributor, `FC…` supplier); the empty id is the totaliser's.
    pub fn of(calendar_id: &str) -> CalendarOwner {
        let id = calendar_id.trim();
        if id.is_empty() || id == TOTAL_CALENDAR {
            CalendarOwner::Total
        } else if id.starts_with("DI") {
            CalendarOwner::Distributor
        } else if id.starts_with("FC") {
            CalendarOwner::Supplier
        } else {
            CalendarOwner::Other
        }
    }

    /// `distributor`, `supplier`, `total` or `other`, as printed.
    pub fn as_str(self) -> &'static str {
        match self {
            CalendarOwner::Distributor => "distributor",
            CalendarOwner::Supplier => "supplier",
            CalendarOwner::Total => "total",
            CalendarOwner::Other => "other",
        }
    }
}

/// The calendar id given to the totalising register, which has none on the
/// wire.
pub const TOTAL_CALENDAR: &str = "TOTAL";

/// One register's value on one day.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexReading {
    /// The Paris civil day of the reading.
    pub day: Date,
    /// When the register was read (the day's start, Paris, when the API
    /// gives only a day).
    pub at: Timestamp,
    /// The calendar's id (`DI000003`, `FC000012`…; [`TOTAL_CALENDAR`] for
    /// the totalising register).
    pub calendar_id: String,
    /// The calendar's label, when the API gave one.
    pub calendar_label: Option<String>,
    /// The time class's id (`HPH`, `HC`, `BASE`…; the register code for
    /// the totaliser).
    pub class_id: String,
    /// The time class's label, when the API gave one.
    pub class_label: Option<String>,
    /// The register ("cadran") code, when the API gave one.
    pub register: Option<String>,
    /// The register's value in Wh, or `None` when the API gave none.
    pub value_wh: Option<i64>,
    /// Enedis's likelihood indicator of the value ("indice de
    /// vraisemblance"), when given.
    pub likelihood: Option<i64>,
}

impl IndexReading {
    /// Whose calendar the register belongs to.
    pub fn owner(&self) -> CalendarOwner {
        CalendarOwner::of(&self.calendar_id)
    }
}

/// The energy of each register between consecutive readings: for every
/// (calendar, class), the value on a day minus the value on the previous
/// reading day, attributed to the days between. `readings` may be in any
/// order; registers with a missing value break their chain.
pub fn register_deltas(readings: &[IndexReading]) -> Vec<RegisterDelta> {
    let mut sorted: Vec<&IndexReading> = readings.iter().collect();
    sorted.sort_by(|a, b| (&a.calendar_id, &a.class_id, a.day).cmp(&(&b.calendar_id, &b.class_id, b.day)));
    let mut out = Vec::new();
    for pair in sorted.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if a.calendar_id != b.calendar_id || a.class_id != b.class_id {
            continue;
        }
        if let (Some(x), Some(y)) = (a.value_wh, b.value_wh) {
            out.push(RegisterDelta {
                calendar_id: a.calendar_id.clone(),
                class_id: a.class_id.clone(),
                from: a.day,
                to: b.day,
                energy_wh: y - x,
            });
        }
    }
    out
}

/// The energy a register counted between two readings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterDelta {
    /// The calendar.
    pub calendar_id: String,
    /// The time class.
    pub class_id: String,
    /// The earlier reading's day (its start).
    pub from: Date,
    /// The later reading's day (its start): the energy covers `[from, to)`.
    pub to: Date,
    /// The energy, Wh (negative if the register went back, e.g. a meter
    /// replaced).
    pub energy_wh: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(cal: &str, class: &str, day: Date, v: Option<i64>) -> IndexReading {
        IndexReading {
            day,
            at: Timestamp::UNIX_EPOCH,
            calendar_id: cal.into(),
            calendar_label: None,
            class_id: class.into(),
            class_label: None,
            register: None,
            value_wh: v,
            likelihood: None,
        }
    }

    #[test]
    fn owners_by_prefix() {
        assert_eq!(CalendarOwner::of("DI000003"), CalendarOwner::Distributor);
        assert_eq!(CalendarOwner::of("FC000012"), CalendarOwner::Supplier);
        assert_eq!(CalendarOwner::of(TOTAL_CALENDAR), CalendarOwner::Total);
        assert_eq!(CalendarOwner::of("X1"), CalendarOwner::Other);
    }

    #[test]
    fn deltas_follow_each_register() {
        let d = |n| jiff::civil::date(2026, 1, n);
        let r = [
            reading("DI000003", "HPH", d(2), Some(150)),
            reading("DI000003", "HPH", d(1), Some(100)),
            reading("DI000003", "HCH", d(1), Some(10)),
            reading("DI000003", "HCH", d(2), None),
            reading("DI000003", "HCH", d(3), Some(30)),
        ];
        let deltas = register_deltas(&r);
        assert_eq!(deltas.len(), 1);
        assert_eq!(
            (deltas[0].class_id.as_str(), deltas[0].from, deltas[0].to, deltas[0].energy_wh),
            ("HPH", d(1), d(2), 50)
        );
    }
}
