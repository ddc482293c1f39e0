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
    use crate::period::Period;
    use jiff::civil::date;

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
}
