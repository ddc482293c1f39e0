//! Subscribed-power advice: from the daily maximum power, the lowest
//! standard power the peaks fit under with a margin, how many days would
//! have exceeded each lower step, and what the subscription would save.

use jiff::civil::Date;

use crate::error::{CostError, CostErrorKind, Result};
use crate::offer::Offer;

/// The subscribed powers Enedis offers on a Linky meter (kVA).
pub const STANDARD_KVA: [u32; 9] = [3, 6, 9, 12, 15, 18, 24, 30, 36];

/// The default margin: the peaks must stay under 90 % of the power, since
/// a meter cuts the supply above its subscribed power and a year's peaks
/// do not bound the next year's.
pub const DEFAULT_MARGIN: f64 = 0.10;

/// One standard power and how the period's peaks fit under it.
#[derive(Clone, Debug, PartialEq)]
pub struct PowerStep {
    /// kVA.
    pub kva: u32,
    /// Days whose maximum power exceeded this power.
    pub days_over: u32,
    /// The yearly subscription at this power (the offer's prices in force on the reference day), €.
    pub subscription_eur_per_year: Option<f64>,
}

/// The advice.
#[derive(Clone, Debug, PartialEq)]
pub struct PowerAdvice {
    /// The power subscribed now, kVA.
    pub current_kva: u32,
    /// Days with a maximum power reading.
    pub days: u32,
    /// The highest daily maximum, VA, and its day.
    pub peak_va: f64,
    /// The day of the highest maximum.
    pub peak_day: Date,
    /// The margin used (0.10 = peaks under 90 % of the power).
    pub margin: f64,
    /// The lowest standard power the peaks fit under with the margin.
    pub recommended_kva: u32,
    /// Every standard power up to the current one (and the recommended one).
    pub steps: Vec<PowerStep>,
    /// The yearly subscription saved (negative: the power should go up)
    /// with the recommended power, at the offer's prices in force on the reference day.
    pub yearly_saving_eur: Option<f64>,
}

/// Advises a power from `daily_max` (day, VA) for a meter subscribed at
/// `current_kva` with `offer`, prices in force on `at`.
pub fn advise(
    daily_max: &[(Date, f64)],
    current_kva: u32,
    margin: f64,
    offer: &Offer,
    at: Date,
) -> Result<PowerAdvice> {
    let Some(&(peak_day, peak_va)) = daily_max.iter().max_by(|a, b| a.1.total_cmp(&b.1)) else {
        return Err(CostError::new(
            CostErrorKind::NoData,
            "no daily maximum power stored: run `dataconnect sync --series consumption-max-power` first",
        ));
    };
    let recommended_kva =
        STANDARD_KVA.into_iter().find(|&k| peak_va <= f64::from(k) * 1000.0 * (1.0 - margin)).unwrap_or(36);
    let fixed = |kva: u32| offer.row_at(kva, at).map(|r| r.fixed_eur_per_year);
    let top = current_kva.max(recommended_kva);
    let steps = STANDARD_KVA
        .into_iter()
        .filter(|&k| k <= top)
        .map(|kva| PowerStep {
            kva,
            days_over: daily_max.iter().filter(|(_, va)| *va > f64::from(kva) * 1000.0).count() as u32,
            subscription_eur_per_year: fixed(kva),
        })
        .collect();
    Ok(PowerAdvice {
        current_kva,
        days: daily_max.len() as u32,
        peak_va,
        peak_day,
        margin,
        recommended_kva,
        steps,
        yearly_saving_eur: fixed(current_kva).zip(fixed(recommended_kva)).map(|(now, rec)| now - rec),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;
    use jiff::civil::date;

    #[test]
    fn names_the_lowest_power_the_peaks_fit_under() {
        let cat = Catalogue::regulated(Vec::new()).unwrap();
        let base = cat.get("trv-base").unwrap();
        // Peaks of 4.2, 5.0 and 7.9 kVA: 9 kVA keeps 7.9 under 8.1 (90 %).
        let max = [(date(2025, 1, 1), 4200.0), (date(2025, 1, 2), 5000.0), (date(2025, 1, 3), 7900.0)];
        let a = advise(&max, 12, DEFAULT_MARGIN, base, date(2025, 3, 1)).unwrap();
        assert_eq!((a.recommended_kva, a.peak_va, a.peak_day), (9, 7900.0, date(2025, 1, 3)));
        let over: Vec<(u32, u32)> = a.steps.iter().map(|s| (s.kva, s.days_over)).collect();
        assert_eq!(over, vec![(3, 3), (6, 1), (9, 0), (12, 0)]);
        // 12 kVA 252.53 €/year, 9 kVA 208.55 €/year (01/02/2025 prices).
        assert!((a.yearly_saving_eur.unwrap() - (252.53 - 208.55)).abs() < 1e-9);
        assert!(advise(&[], 6, DEFAULT_MARGIN, base, date(2025, 3, 1)).is_err());
    }
}
