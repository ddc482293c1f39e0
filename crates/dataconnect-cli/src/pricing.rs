//! What `costs`, `tariffs`, `tempo` and `serve` share around the costs
//! engine (`dataconnect-costs`): the catalogue (shipped regulated rows,
//! the rows imported into the store, market offers from the config
//! directory and `--offers`), the Tempo calendar (shipped days and the
//! store's), the meter's facts from its stored contract, its energy from
//! the store, and the JSON shape of a cost report.

use std::path::PathBuf;

use dataconnect::domain::paris_day_start;
use dataconnect::{OffPeakRange, Series, UsagePointId};
use dataconnect_costs::{
    Catalogue, CostError, CostErrorKind, CostReport, Interval, OptionKind, Period, PriceRow, TempoCalendar,
    TempoColour, parse_offer,
};
use dataconnect_store::{ReadingFilter, Store};
use jiff::civil::Date;
use serde_json::{Map, Value, json};

use crate::error::{Class, CliError};

/// The engine's errors as the CLI's: bad input is a usage error (exit 2);
/// what the store lacks (prices, colours, the curve) a range error (exit 3).
pub fn cost_error(e: CostError) -> CliError {
    let class = match e.kind() {
        CostErrorKind::NoPrice | CostErrorKind::MissingColour | CostErrorKind::NeedsCurve | CostErrorKind::NoData => {
            Class::Range
        }
        _ => Class::Usage,
    };
    CliError::new(class, e.to_string())
}

/// The directory market offers are read from: `<config dir>/offers/*.toml`.
pub fn offers_dir() -> Option<PathBuf> {
    crate::settings::project_dirs().map(|d| d.config_dir().join("offers"))
}

/// The catalogue: regulated offers (with the store's imported rows) and the
/// market offers of the config directory and of `extra` files.
pub fn catalogue(store: &dyn Store, extra: &[PathBuf]) -> Result<Catalogue, CliError> {
    catalogue_with(store.tariff_rows()?, extra)
}

/// The catalogue from imported `rows` (those of a store) and market offers.
pub fn catalogue_with(rows: Vec<dataconnect_store::TariffRow>, extra: &[PathBuf]) -> Result<Catalogue, CliError> {
    let mut imported = Vec::new();
    for r in rows {
        let Some(kind) = OptionKind::from_key(&r.option) else {
            continue;
        };
        let prices: Map<String, Value> = serde_json::from_str(&r.prices_json).unwrap_or_default();
        let mut p = [None; 9];
        for (name, v) in prices {
            if let (Some(period), Some(v)) = (Period::from_name(&name), v.as_f64()) {
                p[period.index()] = Some(v);
            }
        }
        imported.push((
            kind,
            PriceRow {
                start: r.start,
                end: r.end,
                kva: r.kva,
                fixed_eur_per_year: r.fixed_eur_per_year,
                prices: p,
                source: r.source,
                imported: true,
            },
        ));
    }
    let mut cat = Catalogue::regulated(imported).map_err(cost_error)?;
    let mut files: Vec<PathBuf> = Vec::new();
    if let Some(dir) = offers_dir()
        && let Ok(entries) = std::fs::read_dir(&dir)
    {
        let mut found: Vec<PathBuf> =
            entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect();
        found.sort();
        files.extend(found);
    }
    files.extend(extra.iter().cloned());
    for f in files {
        let text = std::fs::read_to_string(&f)
            .map_err(|e| CliError::usage(format!("cannot read the offer file {}: {e}", f.display())))?;
        cat.add(parse_offer(&f.display().to_string(), &text).map_err(cost_error)?).map_err(cost_error)?;
    }
    Ok(cat)
}

/// The shipped calendar with the store's days over it.
pub fn calendar(store: &dyn Store) -> Result<TempoCalendar, CliError> {
    let mut cal = TempoCalendar::shipped().map_err(cost_error)?;
    for d in store.tempo_days()? {
        if let Some(c) = TempoColour::parse(&d.color) {
            cal.insert(d.day, c);
        }
    }
    Ok(cal)
}

/// What the stored contract says that costs need.
#[derive(Clone, Debug, Default)]
pub struct MeterFacts {
    /// Subscribed power, kVA.
    pub kva: Option<u32>,
    /// Off-peak windows, and the label they were read from.
    pub offpeak: Vec<OffPeakRange>,
    pub offpeak_label: Option<String>,
}

impl MeterFacts {
    /// The regulated offer the contract suggests: HP/HC when it has
    /// off-peak hours, Base otherwise (the distribution tariff does not
    /// tell Tempo from HP/HC: that is the supplier's side).
    pub fn offer(&self) -> &'static str {
        if self.offpeak.is_empty() { "trv-base" } else { "trv-hphc" }
    }
}

/// Reads the meter's facts from its stored contract.
pub fn meter_facts(store: &dyn Store, prm: &UsagePointId) -> Result<MeterFacts, CliError> {
    let contract: Option<Value> =
        store.meter_info(prm)?.and_then(|m| m.contract_json).and_then(|j| serde_json::from_str(&j).ok());
    let Some(c) = contract else {
        return Ok(MeterFacts::default());
    };
    let label = c.get("offpeak_hours").and_then(Value::as_str).map(str::to_owned);
    Ok(MeterFacts {
        kva: c.get("subscribed_power_kva").and_then(Value::as_f64).filter(|k| *k > 0.0).map(|k| k.round() as u32),
        offpeak: label.as_deref().map(OffPeakRange::parse_label).unwrap_or_default(),
        offpeak_label: label,
    })
}

/// A meter's consumption over `[from, to)`: the load curve (intervals with
/// a value) and the daily energy.
pub struct MeterEnergy {
    pub curve: Vec<Interval>,
    pub daily: Vec<(Date, f64)>,
}

/// Reads the curve and the daily energy of `prm` from the store.
pub fn energy(store: &dyn Store, prm: &UsagePointId, from: Date, to: Date) -> Result<MeterEnergy, CliError> {
    let filter = |series| ReadingFilter {
        usage_points: vec![prm.clone()],
        series: vec![series],
        from: Some(paris_day_start(from)),
        to: Some(paris_day_start(to)),
    };
    let mut curve = Vec::new();
    store.for_each_reading(&filter(Series::ConsumptionCurve), &mut |r| {
        if let Some(wh) = r.reading.energy_wh() {
            curve.push(Interval { start: r.reading.start, end: r.reading.end, wh });
        }
        Ok(())
    })?;
    let mut daily = Vec::new();
    let tz = dataconnect::domain::paris();
    store.for_each_reading(&filter(Series::ConsumptionDaily), &mut |r| {
        if let Some(v) = r.reading.value {
            daily.push((r.reading.start.to_zoned_datetime(tz.clone()).date(), v));
        }
        Ok(())
    })?;
    Ok(MeterEnergy { curve, daily })
}

/// Rounds to cents (€) or Wh (kWh), for output.
fn eur(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn kwh(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn periods(list: &[(Period, dataconnect_costs::PeriodTotal)]) -> Value {
    let mut m = Map::new();
    for (p, t) in list {
        m.insert(p.name().to_owned(), json!({"kwh": kwh(t.kwh), "eur": eur(t.eur)}));
    }
    Value::Object(m)
}

/// The JSON of a report, exactly:
/// `{"prm","offer","kva","from","to","months":[…],"energy_eur","subscription_eur","total_eur"}`.
pub fn report_json(prm: &UsagePointId, r: &CostReport) -> Value {
    let months: Vec<Value> = r
        .months
        .iter()
        .map(|m| {
            json!({
                "month": m.month,
                "days": m.days,
                "missing_days": m.missing_days,
                "periods": periods(&m.periods),
                "energy_eur": eur(m.energy_eur),
                "subscription_eur": eur(m.subscription_eur),
                "total_eur": eur(m.total_eur),
            })
        })
        .collect();
    json!({
        "prm": prm.as_str(),
        "offer": r.offer,
        "kva": r.kva,
        "from": r.from.to_string(),
        "to": r.to.to_string(),
        "months": months,
        "energy_eur": eur(r.energy_eur),
        "subscription_eur": eur(r.subscription_eur),
        "total_eur": eur(r.total_eur),
    })
}
