//! The naive pricing the benchmark measures the engine against: for every
//! interval, the Paris local time of its start, the Tempo colour and the
//! price row are looked up again (no segments, no merge), and the whole
//! interval takes the period of its start. On intervals that do not
//! straddle a period boundary it gives the engine's energy cost.

use jiff::Timestamp;

use dataconnect::domain::paris;

use crate::engine::{Interval, Pricing};
use crate::offer::{OffPeak, Schedule};
use crate::period::Period;

/// The energy cost (€) of `curve`, priced point by point.
pub fn energy_eur(p: &Pricing<'_>, curve: &[Interval]) -> Option<f64> {
    let tz = paris();
    let mut total = 0.0;
    for iv in curve {
        let local = Timestamp::to_zoned_datetime(iv.start, tz.clone());
        let (day, t) = (local.date(), local.time());
        if day < p.from || day >= p.to {
            continue;
        }
        let row =
            p.offer.rows.iter().filter(|r| r.kva == p.kva && r.covers(day)).max_by_key(|r| (r.imported, r.start))?;
        let period = match &p.offer.schedule {
            Schedule::Base => Period::Base,
            Schedule::HpHc { offpeak, offpeak_days } => {
                let windows = match offpeak {
                    OffPeak::Fixed(w) => w.as_slice(),
                    OffPeak::Contract => p.contract_offpeak,
                };
                let off = offpeak_days.contains(&day.weekday()) || windows.iter().any(|w| w.contains(t));
                if off { Period::Hc } else { Period::Hp }
            }
            Schedule::Tempo => {
                let morning = t < jiff::civil::time(6, 0, 0, 0);
                let tempo_day = if morning { day.yesterday().ok()? } else { day };
                let colour = p.calendar.priced(tempo_day)?;
                Period::tempo(colour, morning || t >= jiff::civil::time(22, 0, 0, 0))
            }
        };
        total += iv.wh / 1000.0 * row.price(period)?;
    }
    Some(total)
}
