//! Offers: a schedule (which period each instant falls in) and price rows
//! per subscribed power and date. The regulated offers come from the price
//! tables; market offers from TOML files whose format is documented in the
//! README ("Costs, tariffs and Tempo") and in `offers/README.md`.

use jiff::civil::{Date, Time, Weekday};
use serde::Deserialize;

use dataconnect::OffPeakRange;

use crate::error::{CostError, CostErrorKind, Result};
use crate::period::Period;
use crate::tariff::{OptionKind, PriceRow};

/// Where the off-peak windows of an HP/HC schedule come from.
#[derive(Clone, Debug, PartialEq)]
pub enum OffPeak {
    /// The windows of the meter's contract (Enedis's `HC (22H00-6H00)`),
    /// given to the engine with each meter.
    Contract,
    /// Windows fixed by the offer, whatever the contract says.
    Fixed(Vec<OffPeakRange>),
}

/// How instants map to periods.
#[derive(Clone, Debug, PartialEq)]
pub enum Schedule {
    /// One period, `BASE`.
    Base,
    /// `HP` and `HC`; `HC` inside the off-peak windows, and all day on
    /// `offpeak_days` (weekend offers).
    HpHc {
        /// The off-peak windows.
        offpeak: OffPeak,
        /// Days of the week that are off-peak from 00:00 to 24:00.
        offpeak_days: Vec<Weekday>,
    },
    /// Tempo: the colour of the 06:00–06:00 day, off-peak 22:00–06:00.
    Tempo,
}

impl Schedule {
    /// The periods this schedule can produce.
    pub fn periods(&self) -> &'static [Period] {
        match self {
            Schedule::Base => OptionKind::Base.periods(),
            Schedule::HpHc { .. } => OptionKind::HpHc.periods(),
            Schedule::Tempo => OptionKind::Tempo.periods(),
        }
    }

    /// True when a meter with only daily energy can be priced (one period).
    pub fn needs_curve(&self) -> bool {
        !matches!(self, Schedule::Base)
    }
}

/// An offer that can be priced.
#[derive(Clone, Debug, PartialEq)]
pub struct Offer {
    /// The name users type (`trv-tempo`, or a market offer's).
    pub name: String,
    /// A one-line description.
    pub label: String,
    /// Where its prices come from, and when they were published.
    pub source: String,
    /// How instants map to periods.
    pub schedule: Schedule,
    /// The price rows, any power, any date.
    pub rows: Vec<PriceRow>,
}

impl Offer {
    /// The subscribed powers the offer has prices for, in order.
    pub fn powers(&self) -> Vec<u32> {
        let mut k: Vec<u32> = self.rows.iter().map(|r| r.kva).collect();
        k.sort_unstable();
        k.dedup();
        k
    }

    /// The row in force on `day` at `kva`: an imported row before a shipped
    /// one, then the latest-starting row that covers the day.
    pub fn row_at(&self, kva: u32, day: Date) -> Option<&PriceRow> {
        self.rows.iter().filter(|r| r.kva == kva && r.covers(day)).max_by_key(|r| (r.imported, r.start))
    }

    /// Fails with the powers the offer has when it has none at `kva`.
    pub fn check_power(&self, kva: u32) -> Result<()> {
        if self.rows.iter().any(|r| r.kva == kva) {
            return Ok(());
        }
        let has = self.powers();
        Err(CostError::new(
            CostErrorKind::UnknownPower,
            if has.is_empty() {
                format!(
                    "offer {} has no prices at all{}",
                    self.name,
                    if self.name.starts_with("trv-") {
                        ": import the regulator's table with `dataconnect tariffs import FILE` (see `dataconnect tariffs list`)"
                    } else {
                        ""
                    }
                )
            } else {
                format!(
                    "offer {} has no prices at {kva} kVA; it has {} kVA: pass --kva with one of them",
                    self.name,
                    has.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
                )
            },
        ))
    }
}

/// A market offer file (TOML). See `offers/README.md` for the format.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OfferFile {
    name: String,
    label: Option<String>,
    supplier: Option<String>,
    source: String,
    source_date: toml::value::Datetime,
    valid_from: toml::value::Datetime,
    valid_to: Option<toml::value::Datetime>,
    kind: String,
    offpeak: Option<toml::Value>,
    #[serde(default)]
    offpeak_days: Vec<String>,
    prices: Vec<toml::Table>,
}

/// Reads one market offer from TOML. `file` names it in errors.
pub fn parse_offer(file: &str, text: &str) -> Result<Offer> {
    let f: OfferFile = toml::from_str(text).map_err(|e| bad(format!("{file}: {}", e.to_string().trim())))?;
    let day = |key: &str, v: &toml::value::Datetime| -> Result<Date> {
        v.to_string().parse::<Date>().map_err(|_| bad(format!("{file}: {key} = {v} is not a date such as 2025-02-01")))
    };
    let (valid_from, valid_to) =
        (day("valid_from", &f.valid_from)?, f.valid_to.as_ref().map(|v| day("valid_to", v)).transpose()?);
    let source_date = day("source_date", &f.source_date)?;
    if f.name.starts_with("trv-") || f.name.is_empty() || !f.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(bad(format!(
            "{file}: name {:?} must be letters, digits and '-', and not start with trv- (the regulated offers' prefix)",
            f.name
        )));
    }
    let schedule = match f.kind.as_str() {
        "base" => Schedule::Base,
        "hphc" => Schedule::HpHc {
            offpeak: parse_offpeak(file, f.offpeak.as_ref())?,
            offpeak_days: weekdays(file, &f.offpeak_days)?,
        },
        "tempo" => Schedule::Tempo,
        other => {
            return Err(bad(format!("{file}: kind {other:?} is not base, hphc or tempo")));
        }
    };
    let mut rows = Vec::new();
    for (i, t) in f.prices.iter().enumerate() {
        rows.push(price_row(file, i, t, &schedule, (valid_from, valid_to), &f.source)?);
    }
    let supplier = f.supplier.map(|s| format!("{s}, ")).unwrap_or_default();
    Ok(Offer {
        label: f.label.unwrap_or_else(|| f.name.clone()),
        name: f.name,
        source: format!("{supplier}{} (published {source_date})", f.source),
        schedule,
        rows,
    })
}

fn parse_offpeak(file: &str, v: Option<&toml::Value>) -> Result<OffPeak> {
    match v {
        None => Ok(OffPeak::Contract),
        Some(toml::Value::String(s)) if s == "contract" => Ok(OffPeak::Contract),
        Some(toml::Value::Array(a)) => {
            let mut out = Vec::new();
            for w in a {
                let s = w.as_str().unwrap_or("");
                out.push(parse_window(s).ok_or_else(|| bad(format!("{file}: offpeak window {w} is not HH:MM-HH:MM")))?);
            }
            Ok(OffPeak::Fixed(out))
        }
        Some(other) => {
            Err(bad(format!("{file}: offpeak = {other} must be \"contract\" or a list such as [\"22:00-06:00\"]")))
        }
    }
}

/// Reads `22:00-06:00` (or Enedis's `22H00-6H00`).
pub fn parse_window(s: &str) -> Option<OffPeakRange> {
    let (a, b) = s.trim().split_once('-')?;
    let t = |x: &str| -> Option<Time> {
        let x = x.trim().to_ascii_uppercase().replace('H', ":");
        let (h, m) = x.split_once(':').unwrap_or((&x, "0"));
        let (h, m) = (h.parse::<i8>().ok()?, if m.is_empty() { 0 } else { m.parse::<i8>().ok()? });
        if h == 24 && m == 0 {
            return Some(Time::midnight());
        }
        Time::new(h, m, 0, 0).ok()
    };
    Some(OffPeakRange { start: t(a)?, end: t(b)? })
}

fn weekdays(file: &str, names: &[String]) -> Result<Vec<Weekday>> {
    names
        .iter()
        .map(|n| match n.to_ascii_lowercase().as_str() {
            "monday" => Ok(Weekday::Monday),
            "tuesday" => Ok(Weekday::Tuesday),
            "wednesday" => Ok(Weekday::Wednesday),
            "thursday" => Ok(Weekday::Thursday),
            "friday" => Ok(Weekday::Friday),
            "saturday" => Ok(Weekday::Saturday),
            "sunday" => Ok(Weekday::Sunday),
            _ => Err(bad(format!("{file}: offpeak_days has {n:?}, not a day name such as \"saturday\""))),
        })
        .collect()
}

fn price_row(
    file: &str,
    i: usize,
    t: &toml::Table,
    schedule: &Schedule,
    (start, end): (Date, Option<Date>),
    source: &str,
) -> Result<PriceRow> {
    let at = format!("{file}: prices[{i}]");
    let num = |k: &str| -> Result<f64> {
        match t.get(k) {
            Some(toml::Value::Float(x)) if *x >= 0.0 => Ok(*x),
            Some(toml::Value::Integer(x)) if *x >= 0 => Ok(*x as f64),
            Some(v) => Err(bad(format!("{at}.{k} = {v} is not a price"))),
            None => Err(bad(format!("{at} has no {k}"))),
        }
    };
    let kva = num("kva")? as u32;
    let mut prices = [None; 9];
    for &p in schedule.periods() {
        prices[p.index()] = Some(num(p.name())?);
    }
    for k in t.keys() {
        let known = k == "kva"
            || k == "subscription_eur_per_year"
            || Period::from_name(k).is_some_and(|p| schedule.periods().contains(&p));
        if !known {
            return Err(bad(format!(
                "{at} has an unknown key {k:?} (expected kva, subscription_eur_per_year and {})",
                schedule.periods().iter().map(|p| p.name()).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    Ok(PriceRow {
        start,
        end,
        kva,
        fixed_eur_per_year: num("subscription_eur_per_year")?,
        prices,
        source: source.to_owned(),
        imported: false,
    })
}

fn bad(message: String) -> CostError {
    CostError::new(CostErrorKind::BadInput, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    const WEEKEND: &str = r#"
name = "example-weekend"
label = "Week-end off-peak"
supplier = "Example"
source = "https://example.org/grid.pdf"
source_date = 2025-02-01
valid_from = 2025-02-01
kind = "hphc"
offpeak = ["22:00-06:00"]
offpeak_days = ["saturday", "sunday"]

[[prices]]
kva = 6
subscription_eur_per_year = 150.0
HP = 0.25
HC = 0.18
"#;

    #[test]
    fn reads_a_market_offer() {
        let o = parse_offer("weekend.toml", WEEKEND).unwrap();
        assert_eq!(o.name, "example-weekend");
        let Schedule::HpHc { offpeak: OffPeak::Fixed(w), offpeak_days } = &o.schedule else {
            panic!("{:?}", o.schedule)
        };
        assert_eq!(w[0], OffPeakRange { start: time(22, 0, 0, 0), end: time(6, 0, 0, 0) });
        assert_eq!(offpeak_days, &[Weekday::Saturday, Weekday::Sunday]);
        let r = o.row_at(6, date(2026, 1, 1)).unwrap();
        assert_eq!((r.price(Period::Hp), r.fixed_eur_per_year), (Some(0.25), 150.0));
        assert!(o.row_at(6, date(2025, 1, 31)).is_none());
        assert_eq!(
            o.check_power(9).unwrap_err().message(),
            "offer example-weekend has no prices at 9 kVA; it has 6 kVA: pass --kva with one of them"
        );
    }

    #[test]
    fn bad_offers_are_named() {
        let e = parse_offer("w.toml", &WEEKEND.replace("HC = 0.18", "")).unwrap_err();
        assert_eq!(e.message(), "w.toml: prices[0] has no HC");
        let e = parse_offer("w.toml", &WEEKEND.replace("\"hphc\"", "\"ejp\"")).unwrap_err();
        assert!(e.message().contains("kind \"ejp\""), "{e}");
        let e = parse_offer("w.toml", &WEEKEND.replace("HP = 0.25", "HP = 0.25\nHPBleu = 0.1")).unwrap_err();
        assert!(e.message().contains("unknown key \"HPBleu\""), "{e}");
        let e = parse_offer("w.toml", &WEEKEND.replace("example-weekend", "trv-x")).unwrap_err();
        assert!(e.message().contains("trv-"), "{e}");
    }

    #[test]
    fn the_shipped_examples_parse() {
        for (name, text) in [
            ("edf-zen-week-end-2023-01.toml", include_str!("../offers/edf-zen-week-end-2023-01.toml")),
            (
                "edf-zen-week-end-plus-wednesday-2023-01.toml",
                include_str!("../offers/edf-zen-week-end-plus-wednesday-2023-01.toml"),
            ),
        ] {
            let o = parse_offer(name, text).unwrap();
            assert_eq!(format!("{}.toml", o.name), name);
            assert_eq!(o.powers(), vec![6, 9]);
        }
    }

    #[test]
    fn windows_read_both_spellings() {
        assert_eq!(parse_window("6H30-14H00"), Some(OffPeakRange { start: time(6, 30, 0, 0), end: time(14, 0, 0, 0) }));
        assert_eq!(parse_window("22:00-24:00").map(|w| w.end), Some(time(0, 0, 0, 0)));
        assert_eq!(parse_window("22-6").map(|w| w.end), Some(time(6, 0, 0, 0)));
        assert_eq!(parse_window("x"), None);
    }
}
