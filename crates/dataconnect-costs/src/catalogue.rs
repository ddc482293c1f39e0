//! The offers a meter can be priced with: the three regulated offers
//! (`trv-base`, `trv-hphc`, `trv-tempo`) from the shipped tables plus the
//! rows a user imported, and market offers from TOML files.

use crate::error::{CostError, CostErrorKind, Result};
use crate::offer::{OffPeak, Offer, Schedule};
use crate::tariff::{OptionKind, PriceRow, parse_table};

/// The shipped tables: (file name, text).
pub const SHIPPED_TABLES: [(&str, &str); 3] = [
    ("data/tariffs/trv-base.csv", include_str!("../data/tariffs/trv-base.csv")),
    ("data/tariffs/trv-hphc.csv", include_str!("../data/tariffs/trv-hphc.csv")),
    ("data/tariffs/trv-tempo.csv", include_str!("../data/tariffs/trv-tempo.csv")),
];

/// Where the shipped tables come from (one line per option), for listings.
pub const SHIPPED_SOURCE: &str =
    "CRE open data \"Historique des tarifs réglementés de vente d'électricité\" (data.gouv.fr); see data/SOURCES.md";

/// A set of offers, each name once.
#[derive(Clone, Debug, Default)]
pub struct Catalogue {
    offers: Vec<Offer>,
}

impl Catalogue {
    /// The regulated offers: the shipped rows, and `imported` rows (stored
    /// by `tariffs import`), which take precedence on the days they cover.
    pub fn regulated(imported: Vec<(OptionKind, PriceRow)>) -> Result<Self> {
        let mut offers = Vec::new();
        for kind in OptionKind::ALL {
            let mut rows = Vec::new();
            for (name, text) in SHIPPED_TABLES {
                let table = parse_table(name, text)?;
                if table.kind == kind {
                    rows.extend(table.rows);
                }
            }
            rows.extend(
                imported.iter().filter(|(k, _)| *k == kind).map(|(_, r)| PriceRow { imported: true, ..r.clone() }),
            );
            let (label, schedule) = match kind {
                OptionKind::Base => ("Tarif Bleu, option Base", Schedule::Base),
                OptionKind::HpHc => (
                    "Tarif Bleu, option Heures Creuses (the contract's off-peak hours)",
                    Schedule::HpHc { offpeak: OffPeak::Contract, offpeak_days: Vec::new() },
                ),
                OptionKind::Tempo => ("Tarif Bleu, option Tempo (RTE's calendar)", Schedule::Tempo),
            };
            offers.push(Offer {
                name: kind.offer_name().to_owned(),
                label: label.to_owned(),
                source: SHIPPED_SOURCE.to_owned(),
                schedule,
                rows,
            });
        }
        Ok(Catalogue { offers })
    }

    /// Adds a market offer; fails when its name is taken.
    pub fn add(&mut self, offer: Offer) -> Result<()> {
        if self.offers.iter().any(|o| o.name == offer.name) {
            return Err(CostError::new(
                CostErrorKind::BadInput,
                format!("two offers are named {}: rename one of the offer files", offer.name),
            ));
        }
        self.offers.push(offer);
        Ok(())
    }

    /// Every offer, regulated first.
    pub fn offers(&self) -> &[Offer] {
        &self.offers
    }

    /// The offer named `name`, or an error listing the known ones.
    pub fn get(&self, name: &str) -> Result<&Offer> {
        self.offers.iter().find(|o| o.name == name).ok_or_else(|| {
            CostError::new(
                CostErrorKind::UnknownOffer,
                format!(
                    "unknown offer {name:?}: the known offers are {} (add market offers with --offers FILE)",
                    self.offers.iter().map(|o| o.name.as_str()).collect::<Vec<_>>().join(", ")
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::TempoCalendar;
    use crate::engine::{Energy, Interval, MonthCost, Pricing, price};
    use crate::offer::parse_window;
    use crate::period::Period;
    use dataconnect::domain::paris_day_start;
    use jiff::SignedDuration;
    use jiff::civil::{Date, date};
    use std::collections::BTreeMap;

    /// What says where each source name of the shipped rows was read.
    const SOURCES: &str = include_str!("../data/SOURCES.md");

    #[track_caller]
    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    #[test]
    fn shipped_base_prices_and_imported_precedence() {
        let cat = Catalogue::regulated(Vec::new()).unwrap();
        let base = cat.get("trv-base").unwrap();
        let r = base.row_at(6, date(2025, 3, 1)).unwrap();
        assert_eq!((r.fixed_eur_per_year, r.price(Period::Base)), (165.17, Some(0.2016)));
        assert_eq!(base.powers(), vec![3, 6, 9, 12, 15]);
        let imported = PriceRow {
            start: date(2025, 2, 1),
            end: None,
            kva: 6,
            fixed_eur_per_year: 1.0,
            prices: [Some(0.5), None, None, None, None, None, None, None, None],
            source: "mine.csv".into(),
            imported: false,
        };
        let cat = Catalogue::regulated(vec![(OptionKind::Base, imported)]).unwrap();
        let base = cat.get("trv-base").unwrap();
        assert_eq!(base.row_at(6, date(2025, 3, 1)).unwrap().source, "mine.csv");
        assert_eq!(base.row_at(6, date(2025, 1, 31)).unwrap().source, "cre-base-2025-12");
        let e = cat.get("edf-zen").unwrap_err();
        assert_eq!(e.kind(), CostErrorKind::UnknownOffer);
        assert!(e.message().contains("trv-base, trv-hphc, trv-tempo"), "{e}");
    }

    #[test]
    fn shipped_hphc_prices_from_2012_to_the_2026_change() {
        let cat = Catalogue::regulated(Vec::new()).unwrap();
        let h = cat.get("trv-hphc").unwrap();
        assert_eq!(h.powers(), vec![6, 9, 12, 15, 18, 24, 30, 36]);
        let figures = |kva: u32, day: Date| {
            let r = h.row_at(kva, day).unwrap();
            (r.fixed_eur_per_year, r.price(Period::Hp), r.price(Period::Hc), r.end)
        };
        // Rows of the CRE's Option_HPHC.csv, as published (see data/SOURCES.md).
        assert_eq!(figures(6, date(2012, 7, 23)), (99.54, Some(0.1391), Some(0.0964), Some(date(2013, 7, 31))));
        assert_eq!(figures(6, date(2025, 3, 1)), (169.81, Some(0.2146), Some(0.1696), Some(date(2025, 7, 31))));
        assert_eq!(figures(36, date(2026, 1, 31)), (661.41, Some(0.2081), Some(0.1635), Some(date(2026, 1, 31))));
        assert_eq!(figures(6, date(2026, 2, 1)), (188.24, Some(0.2065), Some(0.1578), None));
        assert!(h.row_at(6, date(2012, 7, 22)).is_none());
        // Base since 01/02/2026 at every power the CRE publishes.
        let base = cat.get("trv-base").unwrap();
        let r = base.row_at(3, date(2026, 6, 1)).unwrap();
        assert_eq!((r.fixed_eur_per_year, r.price(Period::Base), r.end), (144.5, Some(0.19398), None));
        assert_eq!(base.row_at(15, date(2026, 6, 1)).unwrap().price(Period::Base), Some(0.19266));
    }

    #[test]
    fn shipped_rows_follow_each_other_and_cite_a_documented_source() {
        for (name, text) in SHIPPED_TABLES {
            let table = parse_table(name, text).unwrap();
            let mut by_kva: BTreeMap<u32, Vec<&PriceRow>> = BTreeMap::new();
            for r in &table.rows {
                by_kva.entry(r.kva).or_default().push(r);
                // A row without a SOURCE cell would carry the file's name.
                assert_ne!(r.source, name, "{name}: a row of {} at {} kVA has no source", r.start, r.kva);
                for s in r.source.split('+') {
                    assert!(SOURCES.contains(&format!("`{s}`")), "{name}: source {s} is not in data/SOURCES.md");
                }
            }
            for rows in by_kva.values_mut() {
                rows.sort_by_key(|r| r.start);
                for w in rows.windows(2) {
                    let end =
                        w[0].end.unwrap_or_else(|| panic!("{name}: {} kVA, {} is open-ended", w[0].kva, w[0].start));
                    assert_eq!(
                        end.tomorrow().unwrap(),
                        w[1].start,
                        "{name}: {} kVA, gap or overlap after {end}",
                        w[0].kva
                    );
                }
            }
        }
    }

    #[test]
    fn two_months_of_hphc_at_the_shipped_prices_by_hand() {
        let cat = Catalogue::regulated(Vec::new()).unwrap();
        let offer = cat.get("trv-hphc").unwrap();
        // 1 kWh in every hour of January and February 2026 (no clock change),
        // the contract's off-peak hours 22:00-06:00: 16 kWh HP and 8 kWh HC a day.
        let (from, to) = (date(2026, 1, 1), date(2026, 3, 1));
        let mut curve = Vec::new();
        let mut t = paris_day_start(from);
        while t < paris_day_start(to) {
            let end = t + SignedDuration::from_hours(1);
            curve.push(Interval { start: t, end, wh: 1000.0 });
            t = end;
        }
        let offpeak = [parse_window("22:00-06:00").unwrap()];
        let calendar = TempoCalendar::new();
        let pricing = Pricing { offer, kva: 6, from, to, contract_offpeak: &offpeak, calendar: &calendar };
        let r = price(&pricing, Energy::Curve(&curve)).unwrap();
        assert_eq!(r.months.len(), 2);
        let (jan, feb) = (&r.months[0], &r.months[1]);
        let kwh = |m: &MonthCost, p: Period| m.periods.iter().find(|(q, _)| *q == p).map(|(_, t)| t.kwh);
        assert_eq!((kwh(jan, Period::Hp), kwh(jan, Period::Hc)), (Some(496.0), Some(248.0)));
        assert_eq!((kwh(feb, Period::Hp), kwh(feb, Period::Hc)), (Some(448.0), Some(224.0)));
        // January, prices of 01/08/2025 at 6 kVA: 496 × 0.2081 + 248 × 0.1635
        // = 103.2176 + 40.548 = 143.7656 €; subscription 189.99 € × 31 / 365 = 16.1361 €.
        close(jan.energy_eur, 143.7656);
        assert!((jan.subscription_eur - 16.1361).abs() < 1e-4, "{}", jan.subscription_eur);
        // February, prices of 01/02/2026: 448 × 0.2065 + 224 × 0.1578
        // = 92.512 + 35.3472 = 127.8592 €; subscription 188.24 € × 28 / 365 = 14.4403 €.
        close(feb.energy_eur, 127.8592);
        assert!((feb.subscription_eur - 14.4403).abs() < 1e-4, "{}", feb.subscription_eur);
        // Total: 143.7656 + 16.1361 + 127.8592 + 14.4403 = 302.2012 €.
        assert!((r.total_eur - 302.2012).abs() < 1e-3, "{}", r.total_eur);
        assert_eq!(r.missing_days, 0);
    }
}
