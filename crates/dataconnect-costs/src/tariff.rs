//! Price rows and the regulator's open-data price tables.
//!
//! The Commission de régulation de l'énergie publishes the history of the
//! regulated tariffs (Tarif Bleu) as three `;`-separated files with a
//! decimal comma: `DATE_DEBUT;DATE_FIN;P_SOUSCRITE;PART_FIXE_HT;PART_FIXE_TTC`
//! then the variable parts of the option (Base, HP/HC or Tempo). This module
//! reads them, tolerant of column order, extra columns, quotes and a UTF-8
//! BOM, and recognises the option from the columns. Only the prices with all
//! taxes (`_TTC`) are used: they are what a customer pays.

use jiff::civil::Date;

use crate::error::{CostError, CostErrorKind, Result};
use crate::period::Period;

/// The three options of the regulated tariff.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OptionKind {
    /// One price at every hour.
    Base,
    /// Peak and off-peak hours (the contract's off-peak windows).
    HpHc,
    /// Six prices: the day's colour (RTE's calendar) × peak or off-peak (22:00–06:00).
    Tempo,
}

impl OptionKind {
    /// Every option.
    pub const ALL: [OptionKind; 3] = [OptionKind::Base, OptionKind::HpHc, OptionKind::Tempo];

    /// The periods this option prices.
    pub fn periods(self) -> &'static [Period] {
        match self {
            OptionKind::Base => &[Period::Base],
            OptionKind::HpHc => &[Period::Hp, Period::Hc],
            OptionKind::Tempo => {
                &[Period::HpBleu, Period::HcBleu, Period::HpBlanc, Period::HcBlanc, Period::HpRouge, Period::HcRouge]
            }
        }
    }

    /// The name of the regulated offer of this option.
    pub fn offer_name(self) -> &'static str {
        match self {
            OptionKind::Base => "trv-base",
            OptionKind::HpHc => "trv-hphc",
            OptionKind::Tempo => "trv-tempo",
        }
    }

    /// The short name the store keeps (`base`, `hphc`, `tempo`).
    pub fn key(self) -> &'static str {
        match self {
            OptionKind::Base => "base",
            OptionKind::HpHc => "hphc",
            OptionKind::Tempo => "tempo",
        }
    }

    /// The option of a short name or an offer name.
    pub fn from_key(s: &str) -> Option<OptionKind> {
        OptionKind::ALL.into_iter().find(|k| k.key() == s || k.offer_name() == s)
    }

    /// The regulator's column holding the price of `period` with all taxes.
    fn column(period: Period) -> String {
        match period {
            Period::Base => "PART_VARIABLE_TTC".to_owned(),
            Period::Hp => "PART_VARIABLE_HP_TTC".to_owned(),
            Period::Hc => "PART_VARIABLE_HC_TTC".to_owned(),
            p => format!("PART_VARIABLE_{}_TTC", p.name()),
        }
    }
}

/// One row of a price table: the prices of one subscribed power over a
/// run of days.
#[derive(Clone, Debug, PartialEq)]
pub struct PriceRow {
    /// The first day in force.
    pub start: Date,
    /// The last day in force (inclusive, as the regulator's `DATE_FIN`);
    /// `None` while still in force.
    pub end: Option<Date>,
    /// Subscribed power, kVA.
    pub kva: u32,
    /// The fixed part (subscription), € per year, all taxes included.
    pub fixed_eur_per_year: f64,
    /// € per kWh of each period, all taxes included (indexed by [`Period::index`]).
    pub prices: [Option<f64>; 9],
    /// Where the row came from (a source name of the shipped data, or the imported file).
    pub source: String,
    /// True for rows a user imported: they take precedence over the shipped
    /// rows on the days they cover.
    pub imported: bool,
}

impl PriceRow {
    /// True when the row is in force on `day`.
    pub fn covers(&self, day: Date) -> bool {
        self.start <= day && self.end.is_none_or(|e| day <= e)
    }

    /// The price of `period`, if the row has one.
    pub fn price(&self, period: Period) -> Option<f64> {
        self.prices[period.index()]
    }
}

/// A table read from a regulator's file: its option and its rows.
#[derive(Clone, Debug, PartialEq)]
pub struct PriceTable {
    /// Which option the columns say it is.
    pub kind: OptionKind,
    /// The rows, in file order.
    pub rows: Vec<PriceRow>,
}

/// Reads a regulator's price table. `name` names the file in errors and is
/// the source of rows without a `SOURCE` column.
pub fn parse_table(name: &str, text: &str) -> Result<PriceTable> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().trim_matches(';').is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(bad(format!(
            "{name}: the file is empty; expected the regulator's header row DATE_DEBUT;DATE_FIN;P_SOUSCRITE;…"
        )));
    };
    let header: Vec<String> = split(header).into_iter().map(|h| h.to_ascii_uppercase()).collect();
    let col = |want: &str| header.iter().position(|h| h == &want.to_ascii_uppercase());
    let kind = if col("PART_VARIABLE_HCBleu_TTC").is_some() || col("PART_VARIABLE_HPBleu_TTC").is_some() {
        OptionKind::Tempo
    } else if col("PART_VARIABLE_HC_TTC").is_some() || col("PART_VARIABLE_HP_TTC").is_some() {
        OptionKind::HpHc
    } else if col("PART_VARIABLE_TTC").is_some() {
        OptionKind::Base
    } else {
        return Err(bad(format!(
            "{name}, line 1: no variable-price column: expected PART_VARIABLE_TTC (Base), PART_VARIABLE_HC_TTC and PART_VARIABLE_HP_TTC (HP/HC) or PART_VARIABLE_HCBleu_TTC … PART_VARIABLE_HPRouge_TTC (Tempo)"
        )));
    };
    let need = |c: &str| {
        col(c)
            .ok_or_else(|| bad(format!("{name}, line 1: column {c} is missing (the header has {})", header.join(";"))))
    };
    let (c_start, c_end, c_kva, c_fixed) =
        (need("DATE_DEBUT")?, need("DATE_FIN")?, need("P_SOUSCRITE")?, need("PART_FIXE_TTC")?);
    let mut price_cols = Vec::new();
    for &p in kind.periods() {
        price_cols.push((p, need(&OptionKind::column(p))?));
    }
    let c_source = col("SOURCE");
    let mut rows = Vec::new();
    for (i, line) in lines {
        let cells = split(line);
        let at = |c: usize| Cell {
            file: name,
            line: i + 1,
            column: &header[c],
            value: cells.get(c).map(String::as_str).unwrap_or(""),
        };
        let mut prices = [None; 9];
        for &(p, c) in &price_cols {
            prices[p.index()] = Some(at(c).number()?);
        }
        let end = at(c_end);
        rows.push(PriceRow {
            start: at(c_start).date()?,
            end: if end.value.trim().is_empty() { None } else { Some(end.date()?) },
            kva: at(c_kva).kva()?,
            fixed_eur_per_year: at(c_fixed).number()?,
            prices,
            source: c_source
                .map(|c| at(c).value.trim().to_owned())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| name.to_owned()),
            imported: false,
        });
    }
    Ok(PriceTable { kind, rows })
}

fn bad(message: String) -> CostError {
    CostError::new(CostErrorKind::BadInput, message)
}

/// Splits a line on `;`, trimming blanks and surrounding quotes.
fn split(line: &str) -> Vec<String> {
    line.split(';').map(|c| c.trim().trim_matches('"').trim().to_owned()).collect()
}

/// One cell, with what an error message needs to point at it.
struct Cell<'a> {
    file: &'a str,
    line: usize,
    column: &'a str,
    value: &'a str,
}

impl Cell<'_> {
    fn fail(&self, what: &str) -> CostError {
        bad(format!("{}, line {}, column {}: {:?} is not {what}", self.file, self.line, self.column, self.value))
    }

    fn number(&self) -> Result<f64> {
        let v = self.value.trim().replace(',', ".").replace(' ', "");
        v.parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x >= 0.0)
            .ok_or_else(|| self.fail("a price (a number such as 0,1952)"))
    }

    fn date(&self) -> Result<Date> {
        let v = self.value.trim();
        let parts: Vec<&str> = v.split('/').collect();
        let parsed = match parts.as_slice() {
            [d, m, y] => match (y.parse::<i16>(), m.parse::<i8>(), d.parse::<i8>()) {
                (Ok(y), Ok(m), Ok(d)) => Date::new(y, m, d).ok(),
                _ => None,
            },
            // ISO dates too, for tables written by hand.
            _ => v.parse::<Date>().ok(),
        };
        parsed.ok_or_else(|| self.fail("a date (DD/MM/YYYY)"))
    }

    fn kva(&self) -> Result<u32> {
        let v = self.value.trim().trim_end_matches("kVA").trim();
        v.parse::<u32>()
            .ok()
            .filter(|k| (1..=36).contains(k))
            .ok_or_else(|| self.fail("a subscribed power in kVA (3 to 36)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn reads_the_regulators_base_table() {
        let t = parse_table(
            "Option_Base.csv",
            "\u{feff}DATE_DEBUT;DATE_FIN;P_SOUSCRITE;PART_FIXE_HT;PART_FIXE_TTC;PART_VARIABLE_HT;PART_VARIABLE_TTC\n01/08/2025;;6;132,84;185,94;0,1327;0,1952\n\n",
        )
        .unwrap();
        assert_eq!(t.kind, OptionKind::Base);
        let r = &t.rows[0];
        assert_eq!((r.start, r.end, r.kva, r.fixed_eur_per_year), (date(2025, 8, 1), None, 6, 185.94));
        assert_eq!(r.price(Period::Base), Some(0.1952));
        assert_eq!(r.source, "Option_Base.csv");
    }

    #[test]
    fn column_order_extra_columns_and_quotes_do_not_matter() {
        let t = parse_table(
            "hphc.csv",
            "EXTRA;PART_VARIABLE_HP_TTC;P_SOUSCRITE;PART_VARIABLE_HC_TTC;DATE_FIN;DATE_DEBUT;PART_FIXE_TTC\nx;\"0,27\";9;0,2068;31/07/2024;01/02/2024;190,8\n",
        )
        .unwrap();
        assert_eq!(t.kind, OptionKind::HpHc);
        let r = &t.rows[0];
        assert_eq!((r.price(Period::Hp), r.price(Period::Hc), r.kva), (Some(0.27), Some(0.2068), 9));
        assert_eq!(r.end, Some(date(2024, 7, 31)));
    }

    #[test]
    fn tempo_is_recognised_from_its_columns() {
        let mut header = "DATE_DEBUT;DATE_FIN;P_SOUSCRITE;PART_FIXE_TTC".to_owned();
        let mut row = "01/02/2024;;6;151,2".to_owned();
        for (i, p) in OptionKind::Tempo.periods().iter().enumerate() {
            header.push_str(&format!(";PART_VARIABLE_{}_TTC", p.name()));
            row.push_str(&format!(";0,{}", 10 + i));
        }
        let t = parse_table("tempo.csv", &format!("{header}\n{row}\n")).unwrap();
        assert_eq!(t.kind, OptionKind::Tempo);
        assert_eq!(t.rows[0].price(Period::HcRouge), Some(0.15));
    }

    #[test]
    fn errors_name_the_file_line_and_column() {
        let e = parse_table(
            "x.csv",
            "DATE_DEBUT;DATE_FIN;P_SOUSCRITE;PART_FIXE_TTC;PART_VARIABLE_TTC\n01/02/2024;;6;abc;0,2\n",
        )
        .unwrap_err();
        assert_eq!(
            e.message(),
            "x.csv, line 2, column PART_FIXE_TTC: \"abc\" is not a price (a number such as 0,1952)"
        );
        let e = parse_table("x.csv", "DATE_DEBUT;P_SOUSCRITE;PART_FIXE_TTC;PART_VARIABLE_TTC\n").unwrap_err();
        assert!(e.message().starts_with("x.csv, line 1: column DATE_FIN is missing"), "{e}");
        let e = parse_table("x.csv", "DATE_DEBUT;DATE_FIN;P_SOUSCRITE;PART_FIXE_TTC\n").unwrap_err();
        assert!(e.message().contains("no variable-price column"), "{e}");
        let e = parse_table(
            "x.csv",
            "DATE_DEBUT;DATE_FIN;P_SOUSCRITE;PART_FIXE_TTC;PART_VARIABLE_TTC\n31/02/2024;;6;1;0,2\n",
        )
        .unwrap_err();
        assert!(e.message().contains("line 2, column DATE_DEBUT"), "{e}");
        assert_eq!(e.kind(), CostErrorKind::BadInput);
    }

    #[test]
    fn the_shipped_tables_parse() {
        for (name, text) in crate::catalogue::SHIPPED_TABLES {
            parse_table(name, text).unwrap();
        }
    }
}
