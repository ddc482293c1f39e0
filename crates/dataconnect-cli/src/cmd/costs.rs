//! `dataconnect costs`: what the stored consumption of one meter cost, per
//! month, with a base tariff (one price per kWh) or an off-peak tariff (HP/HC:
//! one price for peak hours, one for off-peak hours).
//!
//! Off-peak hours come from the meter's contract as the store keeps it (the
//! `HC (22H00-6H00)` label Enedis returns), or from `--offpeak` when the
//! contract has none or is wrong (users report both, see `spec/peers.md`
//! section 3, item 8). A store without the meter's contract (PostgreSQL,
//! where `sync` reads none) gets it read and stored once, here. An HP/HC split needs the load curve; each curve point
//! is cut at the off-peak boundaries in 5-minute slices of Paris local
//! time, so a PT60M point across 06:30 or a DST day is split exactly, not by
//! its start alone. A base tariff uses the daily energy, or the curve when
//! no daily energy is stored. Points without a value are counted and shown,
//! never taken as zero silently.

use std::collections::BTreeMap;

use clap::{ArgGroup, Args, ValueEnum};
use comfy_table::{Table, presets};
use dataconnect::domain::{paris, paris_day_start};
use dataconnect::{DateRange, OffPeakRange, Series, UsagePointId};
use dataconnect_store::{ReadingFilter, Store};
use jiff::Timestamp;
use jiff::civil::Time;
use serde::Serialize;

use crate::error::{Class, CliError};
use crate::settings::{GlobalArgs, Settings, parse_date};

/// How `costs` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CostsFormat {
    /// A table per month with a total.
    Table,
    /// One JSON document.
    Json,
}

#[derive(Args, Debug)]
#[command(group(ArgGroup::new("tariff").required(true).args(["base", "hp"])))]
pub struct Cmd {
    #[command(flatten)]
    global: GlobalArgs,
    /// The meter (14 digits).
    #[arg(long, value_name = "PRM")]
    prm: String,
    /// First Paris day, YYYY-MM-DD (inclusive).
    #[arg(long, value_name = "DATE")]
    from: String,
    /// Last Paris day, YYYY-MM-DD (exclusive).
    #[arg(long, value_name = "DATE")]
    to: String,
    /// Base tariff: the price of one kWh (in your currency, e.g. 0.2516).
    #[arg(long, value_name = "PRICE", conflicts_with_all = ["hp", "hc"])]
    base: Option<f64>,
    /// Off-peak tariff: the price of one kWh in peak hours (HP).
    #[arg(long, value_name = "PRICE", requires = "hc")]
    hp: Option<f64>,
    /// Off-peak tariff: the price of one kWh in off-peak hours (HC).
    #[arg(long, value_name = "PRICE", requires = "hp")]
    hc: Option<f64>,
    /// Off-peak hours, overriding the contract's, e.g. "22H00-6H00" or "2H00-7H00;12H30-14H30".
    #[arg(long, value_name = "HOURS")]
    offpeak: Option<String>,
    /// A fixed subscription price per month, prorated per day (12 months over 365.25 days).
    #[arg(long, value_name = "PRICE")]
    subscription: Option<f64>,
    /// table or json.
    #[arg(long, value_enum, default_value = "table")]
    format: CostsFormat,
}

/// One month of the bill (or the total).
#[derive(Serialize, Debug, Default, Clone, PartialEq)]
pub struct Line {
    /// `YYYY-MM`, or `total`.
    pub period: String,
    /// Days of the month inside the range.
    pub days: i64,
    pub kwh: f64,
    /// Peak and off-peak energy (HP/HC tariff only).
    pub kwh_hp: Option<f64>,
    pub kwh_hc: Option<f64>,
    pub energy_cost: f64,
    pub subscription_cost: f64,
    pub cost: f64,
    /// Intervals stored without a value (not costed).
    pub missing_values: u64,
}

/// The whole computation, as `--format json` prints it.
#[derive(Serialize, Debug)]
pub struct Costs {
    pub usage_point_id: String,
    pub from: jiff::civil::Date,
    pub to: jiff::civil::Date,
    /// `base` or `hp-hc`.
    pub tariff: &'static str,
    /// The series the energy was read from.
    pub series: String,
    /// The off-peak hours used, and where they came from.
    pub offpeak: Option<String>,
    pub offpeak_source: Option<&'static str>,
    pub months: Vec<Line>,
    pub total: Line,
}

/// The tariff to apply.
#[derive(Clone, Debug)]
pub enum Tariff {
    /// One price per kWh.
    Base(f64),
    /// Peak and off-peak prices per kWh, and the off-peak periods.
    HpHc { hp: f64, hc: f64, offpeak: Vec<OffPeakRange> },
}

/// The slice used to split curve points at off-peak boundaries, in seconds.
const SLICE: i64 = 300;

impl Cmd {
    pub async fn run(self) -> Result<(), CliError> {
        let prm = UsagePointId::new(&self.prm).map_err(|e| CliError::usage(format!("{e} (--prm)")))?;
        let from = parse_date("--from", &self.from)?;
        let to = parse_date("--to", &self.to)?;
        let range = DateRange::new(from, to).map_err(|e| {
            CliError::new(Class::Range, format!("{e}: --to is exclusive, so one day is --from D --to D+1"))
        })?;
        for (flag, price) in
            [("--base", self.base), ("--hp", self.hp), ("--hc", self.hc), ("--subscription", self.subscription)]
        {
            if price.is_some_and(|p| !p.is_finite() || p < 0.0) {
                return Err(CliError::usage(format!("{flag} must be a price of zero or more, like 0.2516")));
            }
        }
        let override_hours = match self.offpeak.as_deref() {
            Some(label) => {
                let ranges = OffPeakRange::parse_label(label);
                if ranges.is_empty() {
                    return Err(CliError::usage(format!(
                        "--offpeak {label:?} holds no period: write it like 22H00-6H00 or 2H00-7H00;12H30-14H30"
                    )));
                }
                Some(ranges)
            }
            None => None,
        };
        let settings = Settings::resolve(&self.global)?;
        if !crate::store::exists(&settings.db) {
            return Err(CliError::new(
                Class::Store,
                format!("no database at {}: run `dataconnect sync` first, or pass --db PATH", crate::store::shown(&settings.db)),
            ));
        }
        let store = crate::store::open_ro(&settings.db)?;
        let (tariff, offpeak_source) = match (self.base, self.hp, self.hc) {
            (Some(p), _, _) => (Tariff::Base(p), None),
            (None, Some(hp), Some(hc)) => {
                let (offpeak, source) = match override_hours {
                    Some(r) => (r, "--offpeak"),
                    None => {
                        if store.meter_info(&prm)?.is_none() {
                            read_contract(&settings, &prm).await;
                        }
                        (contract_offpeak(&store, &prm)?, "contract")
                    }
                };
                (Tariff::HpHc { hp, hc, offpeak }, Some(source))
            }
            _ => {
                return Err(CliError::usage("give --base PRICE, or both --hp PRICE and --hc PRICE"));
            }
        };
        let costs = compute(&store, &prm, range, &tariff, self.subscription.unwrap_or(0.0), offpeak_source)?;
        let text = match self.format {
            CostsFormat::Json => {
                let mut s = serde_json::to_string_pretty(&costs).map_err(|e| CliError::internal(e.to_string()))?;
                s.push('\n');
                s
            }
            CostsFormat::Table => render(&costs),
        };
        crate::output::print_stdout(&text)
    }
}

/// The contract of a meter the store has none for (a store synced on
/// PostgreSQL, or before `sync` read contracts): read once with the
/// configured credentials and stored, as `sync` does. Anything that stops
/// it (no credentials here, no consent, the API refusing) leaves the store
/// as it was, and the caller's "no off-peak hours" message says what to
/// pass instead.
async fn read_contract(settings: &Settings, prm: &UsagePointId) {
    let Ok(client_settings) = settings.client() else { return };
    let Ok(store) = crate::store::open_rw(&settings.db) else { return };
    let Ok(client) = crate::source::client(&client_settings, &settings.db) else { return };
    // Notes go to standard error: standard output holds the costs (JSON
    // with --format json).
    let note = |l: &str| eprintln!("{l}");
    if let Err(e) = crate::sync_engine::fetch_missing_contracts(&*store, &client, std::slice::from_ref(prm), &note).await {
        note(&format!("warning: the contract of {prm} could not be stored: {}", e.line()));
    }
}

/// The off-peak hours of the stored contract, or an error saying how to
/// give them.
fn contract_offpeak(store: &dyn Store, prm: &UsagePointId) -> Result<Vec<OffPeakRange>, CliError> {
    let label = store
        .meter_info(prm)?
        .and_then(|m| m.contract_json)
        .and_then(|json| serde_json::from_str::<serde_json::Value>(&json).ok())
        .and_then(|v| v.get("offpeak_hours").and_then(|h| h.as_str()).map(str::to_owned));
    let ranges = label.as_deref().map(OffPeakRange::parse_label).unwrap_or_default();
    if ranges.is_empty() {
        return Err(CliError::usage(format!(
            "the stored contract of {prm} gives no off-peak hours{}: pass them with --offpeak, e.g. --offpeak 22H00-6H00",
            label.map(|l| format!(" (it says {l:?})")).unwrap_or_default()
        )));
    }
    Ok(ranges)
}

/// Splits a curve point `[start, end)` of average power `watts` into
/// (peak Wh, off-peak Wh), cutting it at the off-peak boundaries.
pub fn split_point(start: Timestamp, end: Timestamp, watts: f64, offpeak: &[OffPeakRange]) -> (f64, f64) {
    let zone = paris();
    // Seconds are summed first and turned into energy once, so that a point
    // wholly inside one period gives exactly W × h.
    let (mut hp_secs, mut hc_secs) = (0i64, 0i64);
    let mut t = start.as_second();
    let end = end.as_second();
    while t < end {
        let next = (t + SLICE).min(end);
        let local: Time =
            Timestamp::from_second(t).map(|ts| ts.to_zoned_datetime(zone.clone()).time()).unwrap_or(Time::midnight());
        if offpeak.iter().any(|r| r.contains(local)) {
            hc_secs += next - t;
        } else {
            hp_secs += next - t;
        }
        t = next;
    }
    (watts * hp_secs as f64 / 3600.0, watts * hc_secs as f64 / 3600.0)
}

/// Computes the costs of `prm` over `range` from the store.
pub fn compute(
    store: &dyn Store,
    prm: &UsagePointId,
    range: DateRange,
    tariff: &Tariff,
    subscription_per_month: f64,
    offpeak_source: Option<&'static str>,
) -> Result<Costs, CliError> {
    let filter = |series| ReadingFilter {
        usage_points: vec![prm.clone()],
        series: vec![series],
        from: Some(paris_day_start(range.start())),
        to: Some(paris_day_start(range.end())),
    };
    // A base tariff prefers the daily energy (the figure Enedis bills
    // from); an HP/HC split needs the curve.
    let series = match tariff {
        Tariff::Base(_) if !store.summary(&filter(Series::ConsumptionDaily))?.is_empty() => Series::ConsumptionDaily,
        _ => Series::ConsumptionCurve,
    };
    let zone = paris();
    let mut months: BTreeMap<String, Line> = BTreeMap::new();
    for day in range.iter_days() {
        let key = format!("{:04}-{:02}", day.year(), day.month());
        months.entry(key.clone()).or_insert_with(|| Line { period: key, ..Line::default() }).days += 1;
    }
    let visited = store.for_each_reading(&filter(series), &mut |r| {
        let reading = &r.reading;
        let local = reading.start.to_zoned_datetime(zone.clone());
        let key = format!("{:04}-{:02}", local.year(), local.month());
        let Some(line) = months.get_mut(&key) else {
            return Ok(());
        };
        let Some(value) = reading.value else {
            line.missing_values += 1;
            return Ok(());
        };
        match (tariff, series.is_curve()) {
            (Tariff::HpHc { hp, hc, offpeak }, _) => {
                let (wh_hp, wh_hc) = split_point(reading.start, reading.end, value, offpeak);
                *line.kwh_hp.get_or_insert(0.0) += wh_hp / 1000.0;
                *line.kwh_hc.get_or_insert(0.0) += wh_hc / 1000.0;
                line.kwh += (wh_hp + wh_hc) / 1000.0;
                line.energy_cost += wh_hp / 1000.0 * hp + wh_hc / 1000.0 * hc;
            }
            (Tariff::Base(price), curve) => {
                let wh = if curve { reading.energy_wh().unwrap_or(0.0) } else { value };
                line.kwh += wh / 1000.0;
                line.energy_cost += wh / 1000.0 * price;
            }
        }
        Ok(())
    })?;
    if visited == 0 {
        return Err(CliError::usage(format!(
            "nothing stored for {prm} {series} from {} to {} (exclusive): run `dataconnect sync --prm {prm} --series {series}` first",
            range.start(),
            range.end()
        )));
    }
    let per_day = subscription_per_month * 12.0 / 365.25;
    let mut total = Line { period: "total".to_owned(), ..Line::default() };
    let months: Vec<Line> = months
        .into_values()
        .map(|mut l| {
            l.subscription_cost = per_day * l.days as f64;
            l.cost = l.energy_cost + l.subscription_cost;
            total.days += l.days;
            total.kwh += l.kwh;
            if let Some(v) = l.kwh_hp {
                *total.kwh_hp.get_or_insert(0.0) += v;
            }
            if let Some(v) = l.kwh_hc {
                *total.kwh_hc.get_or_insert(0.0) += v;
            }
            total.energy_cost += l.energy_cost;
            total.subscription_cost += l.subscription_cost;
            total.cost += l.cost;
            total.missing_values += l.missing_values;
            l
        })
        .collect();
    let (tariff_name, offpeak) = match tariff {
        Tariff::Base(_) => ("base", None),
        Tariff::HpHc { offpeak, .. } => {
            ("hp-hc", Some(offpeak.iter().map(ToString::to_string).collect::<Vec<_>>().join(";")))
        }
    };
    Ok(Costs {
        usage_point_id: prm.to_string(),
        from: range.start(),
        to: range.end(),
        tariff: tariff_name,
        series: series.to_string(),
        offpeak,
        offpeak_source,
        months,
        total,
    })
}

fn render(c: &Costs) -> String {
    let mut out =
        format!("{} from {} to {} (exclusive), {} tariff, from {}", c.usage_point_id, c.from, c.to, c.tariff, c.series);
    if let (Some(h), Some(src)) = (&c.offpeak, c.offpeak_source) {
        out.push_str(&format!("; off-peak hours {h} (from the {src})"));
    }
    out.push('\n');
    let hphc = c.tariff == "hp-hc";
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    let mut header = vec!["month", "days", "kWh"];
    if hphc {
        header.extend(["kWh HP", "kWh HC"]);
    }
    header.extend(["energy", "subscription", "cost", "no value"]);
    t.set_header(header);
    for l in c.months.iter().chain(std::iter::once(&c.total)) {
        let mut row = vec![l.period.clone(), l.days.to_string(), format!("{:.1}", l.kwh)];
        if hphc {
            row.push(format!("{:.1}", l.kwh_hp.unwrap_or(0.0)));
            row.push(format!("{:.1}", l.kwh_hc.unwrap_or(0.0)));
        }
        row.extend([
            format!("{:.2}", l.energy_cost),
            format!("{:.2}", l.subscription_cost),
            format!("{:.2}", l.cost),
            l.missing_values.to_string(),
        ]);
        t.add_row(row);
    }
    out.push_str(&format!("{t}\n"));
    if c.total.missing_values > 0 {
        out.push_str(&format!(
            "{} stored intervals have no value (the API sent none) and are not costed\n",
            c.total.missing_values
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    fn at(y: i16, m: i8, d: i8, h: i8, min: i8) -> Timestamp {
        date(y, m, d).at(h, min, 0, 0).to_zoned_datetime(paris()).unwrap().timestamp()
    }

    #[test]
    fn points_are_cut_at_off_peak_boundaries() {
        let hc = OffPeakRange::parse_label("HC (22H00-6H30)");
        // A PT60M point from 06:00 to 07:00 at 1000 W: half off-peak.
        let (hp, off) = split_point(at(2025, 1, 10, 6, 0), at(2025, 1, 10, 7, 0), 1000.0, &hc);
        assert!((hp - 500.0).abs() < 1e-9 && (off - 500.0).abs() < 1e-9, "{hp} {off}");
        // Across midnight, all off-peak.
        let (hp, off) = split_point(at(2025, 1, 10, 23, 30), at(2025, 1, 11, 0, 30), 2000.0, &hc);
        assert_eq!((hp, off), (0.0, 2000.0));
        // Midday, all peak.
        let (hp, off) = split_point(at(2025, 1, 10, 12, 0), at(2025, 1, 10, 12, 30), 2000.0, &hc);
        assert_eq!((hp, off), (1000.0, 0.0));
        assert!(hc.iter().any(|r| r.contains(time(6, 29, 0, 0))) && !hc.iter().any(|r| r.contains(time(6, 30, 0, 0))));
    }

    #[test]
    fn the_dst_night_is_split_in_local_time() {
        // 2025-03-30: 02:00 does not exist; 01:30 to 03:30 local is one
        // hour of real time, all inside 22H00-6H00.
        let hc = OffPeakRange::parse_label("22H00-6H00");
        let (hp, off) = split_point(at(2025, 3, 30, 1, 30), at(2025, 3, 30, 3, 30), 1000.0, &hc);
        assert_eq!((hp, off), (0.0, 1000.0));
    }
}
