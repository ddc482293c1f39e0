//! `dataconnect costs`: what the stored consumption of one meter cost with
//! an offer, per month and period, at the prices in force each day; with
//! `--compare`, every offer available at the meter's power ranked by total;
//! with `--advise-power`, the subscribed power the daily peaks call for.
//!
//! Offers are the regulated ones (`trv-base`, `trv-hphc`, `trv-tempo`, with
//! the price history shipped and imported by `tariffs import`), market
//! offers (TOML files in the config directory's `offers/` and `--offers`),
//! or hand-typed prices (`--base`, or `--hp` and `--hc`, with
//! `--subscription` per month: the offer `custom`). The pricing itself is
//! the `dataconnect-costs` crate; this file reads the store and prints.
//! The kVA comes from `--kva`, else from the stored contract; the off-peak
//! hours from `--offpeak`, else from the contract (a store without the
//! meter's contract gets it read and stored once, here).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use comfy_table::{Table, presets};
use dataconnect::{OffPeakRange, UsagePointId};
use dataconnect_costs::{
    Catalogue, CostReport, Energy, OffPeak, Offer, Period, PriceRow, Pricing, Schedule, TempoCalendar, advise, price,
};
use dataconnect_store::Store;
use jiff::civil::Date;
use serde_json::{Value, json};

use crate::error::{Class, CliError};
use crate::pricing::{MeterEnergy, MeterFacts, cost_error, report_json};
use crate::settings::{GlobalArgs, Settings, parse_date};

/// How `costs` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CostsFormat {
    /// A table per month with a total.
    Table,
    /// One JSON document.
    Json,
    /// One CSV line per month, then the total.
    Csv,
}

#[derive(Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    global: GlobalArgs,
    /// The meter (14 digits).
    #[arg(long, value_name = "PRM")]
    prm: String,
    /// First Paris day, YYYY-MM-DD (inclusive) [--advise-power: a year before --to].
    #[arg(long, value_name = "DATE")]
    from: Option<String>,
    /// Last Paris day, YYYY-MM-DD (exclusive) [--advise-power: today].
    #[arg(long, value_name = "DATE")]
    to: Option<String>,
    /// The offer: trv-base, trv-hphc, trv-tempo or a market offer's name [default: the contract's option, HP/HC when it has off-peak hours].
    #[arg(long, value_name = "NAME")]
    offer: Option<String>,
    /// Subscribed power in kVA [default: the stored contract's].
    #[arg(long, value_name = "N")]
    kva: Option<u32>,
    /// Off-peak hours, overriding the contract's, e.g. "22H00-6H00" or "2H00-7H00;12H30-14H30".
    #[arg(long, value_name = "HOURS")]
    offpeak: Option<String>,
    /// A market offer file (TOML), in addition to those of the config directory's offers/; repeatable.
    #[arg(long, value_name = "FILE")]
    offers: Vec<PathBuf>,
    /// Rank every offer available at the meter's power by total over the period.
    #[arg(long, conflicts_with = "advise_power")]
    compare: bool,
    /// Advise the subscribed power from the daily maximum power.
    #[arg(long)]
    advise_power: bool,
    /// --advise-power: the peaks must stay under (100 - margin) % of the power.
    #[arg(long, value_name = "PERCENT", default_value_t = 10.0)]
    margin: f64,
    /// Hand-typed prices (the offer `custom`): the price of one kWh at every hour.
    #[arg(long, value_name = "PRICE", conflicts_with_all = ["hp", "hc", "offer"])]
    base: Option<f64>,
    /// Hand-typed prices: the price of one kWh in peak hours (HP).
    #[arg(long, value_name = "PRICE", requires = "hc", conflicts_with = "offer")]
    hp: Option<f64>,
    /// Hand-typed prices: the price of one kWh in off-peak hours (HC).
    #[arg(long, value_name = "PRICE", requires = "hp")]
    hc: Option<f64>,
    /// Hand-typed prices: the subscription per month (prorated per day over each year's days).
    #[arg(long, value_name = "PRICE")]
    subscription: Option<f64>,
    /// table, json or csv.
    #[arg(long, value_enum, default_value = "table")]
    format: CostsFormat,
}

/// Everything a pricing of this meter needs, read once.
pub struct Context {
    pub prm: UsagePointId,
    pub facts: MeterFacts,
    pub catalogue: Catalogue,
    pub calendar: TempoCalendar,
    pub offpeak: Vec<OffPeakRange>,
}

impl Cmd {
    pub async fn run(self) -> Result<(), CliError> {
        let prm = UsagePointId::new(&self.prm).map_err(|e| CliError::usage(format!("{e} (--prm)")))?;
        let settings = Settings::resolve(&self.global)?;
        if !crate::store::exists(&settings.db) {
            return Err(CliError::new(
                Class::Store,
                format!(
                    "no database at {}: run `dataconnect sync` first, or pass --db PATH",
                    crate::store::shown(&settings.db)
                ),
            ));
        }
        let store = crate::store::open_rw(&settings.db)?;
        if store.meter_info(&prm)?.is_none() {
            read_contract(&settings, &prm).await;
        }
        let ctx = self.context(&*store, prm)?;
        if self.advise_power {
            return self.run_advise(&*store, &ctx, settings.today());
        }
        let (from, to) = self.range()?;
        let kva = self.kva(&ctx)?;
        let energy = crate::pricing::energy(&*store, &ctx.prm, from, to)?;
        if energy.curve.is_empty() && energy.daily.is_empty() {
            return Err(CliError::new(
                Class::Range,
                format!(
                    "nothing stored for {} from {from} to {to} (exclusive): run `dataconnect sync --prm {}` first",
                    ctx.prm, ctx.prm
                ),
            ));
        }
        if self.compare {
            let cmp = compare(&ctx, &self.current_offer(&ctx), kva, from, to, &energy)?;
            return crate::output::print_stdout(&render_compare(&cmp, self.format));
        }
        let name = self.current_offer(&ctx);
        let offer = ctx.catalogue.get(&name).map_err(cost_error)?;
        let report = price_meter(&ctx, offer, kva, from, to, &energy)?;
        for n in &report.notes {
            eprintln!("note: {n}");
        }
        let text = match self.format {
            CostsFormat::Json => format!("{:#}\n", report_json(&ctx.prm, &report)),
            CostsFormat::Csv => render_csv(&report),
            CostsFormat::Table => render(&ctx, offer, &report),
        };
        crate::output::print_stdout(&text)
    }

    fn range(&self) -> Result<(Date, Date), CliError> {
        let (Some(from), Some(to)) = (&self.from, &self.to) else {
            return Err(CliError::usage("give the period with --from YYYY-MM-DD and --to YYYY-MM-DD (exclusive)"));
        };
        let (from, to) = (parse_date("--from", from)?, parse_date("--to", to)?);
        if from >= to {
            return Err(CliError::usage(format!(
                "--from {from} is not before --to {to}: the end is exclusive (for the single day D, use --from D --to D+1)"
            )));
        }
        Ok((from, to))
    }

    /// Reads the catalogue, calendar and contract, and adds the hand-typed offer.
    fn context(&self, store: &dyn Store, prm: UsagePointId) -> Result<Context, CliError> {
        let facts = crate::pricing::meter_facts(store, &prm)?;
        let mut catalogue = crate::pricing::catalogue(store, &self.offers)?;
        if let Some(custom) = self.custom_offer()? {
            catalogue.add(custom).map_err(cost_error)?;
        }
        let offpeak = match &self.offpeak {
            Some(label) => {
                let r = OffPeakRange::parse_label(label);
                if r.is_empty() {
                    return Err(CliError::usage(format!(
                        "--offpeak {label:?} holds no off-peak period: write them like 22H00-6H00, or 2H00-7H00;12H30-14H30"
                    )));
                }
                r
            }
            None => facts.offpeak.clone(),
        };
        Ok(Context { calendar: crate::pricing::calendar(store)?, catalogue, facts, offpeak, prm })
    }

    /// `--base`, or `--hp`/`--hc`: the offer `custom`, valid at every date and power.
    fn custom_offer(&self) -> Result<Option<Offer>, CliError> {
        let schedule = match (self.base, self.hp, self.hc) {
            (Some(_), _, _) => Schedule::Base,
            (None, Some(_), Some(_)) => Schedule::HpHc { offpeak: OffPeak::Contract, offpeak_days: Vec::new() },
            _ => return Ok(None),
        };
        let mut prices = [None; 9];
        for (p, v) in [(Period::Base, self.base), (Period::Hp, self.hp), (Period::Hc, self.hc)] {
            if let Some(v) = v {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(CliError::usage(format!("the price {v} of {p} is not a positive number")));
                }
                prices[p.index()] = Some(v);
            }
        }
        let monthly = self.subscription.unwrap_or(0.0);
        if !(monthly.is_finite() && monthly >= 0.0) {
            return Err(CliError::usage(format!("--subscription {monthly} is not a positive number")));
        }
        let rows = dataconnect_costs::STANDARD_KVA
            .into_iter()
            .map(|kva| PriceRow {
                start: Date::MIN,
                end: None,
                kva,
                fixed_eur_per_year: monthly * 12.0,
                prices,
                source: "command line".into(),
                imported: false,
            })
            .collect();
        Ok(Some(Offer {
            name: "custom".into(),
            label: "hand-typed prices".into(),
            source: "command line".into(),
            schedule,
            rows,
        }))
    }

    fn current_offer(&self, ctx: &Context) -> String {
        if self.base.is_some() || self.hp.is_some() {
            return "custom".into();
        }
        self.offer.clone().unwrap_or_else(|| {
            let o = ctx.facts.offer();
            eprintln!(
                "note: no --offer: {o}, from the contract's {}",
                if o == "trv-hphc" { "off-peak hours" } else { "lack of off-peak hours" }
            );
            o.to_owned()
        })
    }

    fn kva(&self, ctx: &Context) -> Result<u32, CliError> {
        self.kva.or(ctx.facts.kva).ok_or_else(|| {
            CliError::usage(format!(
                "the stored contract of {} gives no subscribed power: pass it with --kva N (3 to 36)",
                ctx.prm
            ))
        })
    }

    fn run_advise(&self, store: &dyn Store, ctx: &Context, today: Date) -> Result<(), CliError> {
        let to = match &self.to {
            Some(t) => parse_date("--to", t)?,
            None => today,
        };
        let from = match &self.from {
            Some(f) => parse_date("--from", f)?,
            None => to.checked_sub(jiff::Span::new().years(1)).unwrap_or(to),
        };
        let kva = self.kva(ctx)?;
        if !(0.0..100.0).contains(&self.margin) {
            return Err(CliError::usage(format!("--margin {} is not a percentage from 0 to 100", self.margin)));
        }
        let name = self.current_offer(ctx);
        let offer = ctx.catalogue.get(&name).map_err(cost_error)?;
        let peaks = daily_max(store, &ctx.prm, from, to)?;
        let at = to.yesterday().unwrap_or(to);
        let a = advise(&peaks, kva, self.margin / 100.0, offer, at).map_err(cost_error)?;
        let text = match self.format {
            CostsFormat::Json => format!("{:#}\n", advice_json(&ctx.prm, &name, from, to, &a)),
            _ => render_advice(&ctx.prm, &name, from, to, &a),
        };
        crate::output::print_stdout(&text)
    }
}

/// Prices one meter with one offer: the curve when stored, else the daily energy.
pub fn price_meter(
    ctx: &Context,
    offer: &Offer,
    kva: u32,
    from: Date,
    to: Date,
    e: &MeterEnergy,
) -> Result<CostReport, CliError> {
    let pricing = Pricing { offer, kva, from, to, contract_offpeak: &ctx.offpeak, calendar: &ctx.calendar };
    let energy = if e.curve.is_empty() { Energy::Daily(&e.daily) } else { Energy::Curve(&e.curve) };
    price(&pricing, energy).map_err(|err| {
        let mut e = cost_error(err.clone());
        if err.kind() == dataconnect_costs::CostErrorKind::NeedsCurve {
            e = CliError::new(
                Class::Range,
                format!(
                    "{}: sync the load curve of {} (`dataconnect sync --prm {}`), or price it with --offer trv-base",
                    err, ctx.prm, ctx.prm
                ),
            );
        }
        if err.kind() == dataconnect_costs::CostErrorKind::NoOffPeakHours && ctx.facts.offpeak_label.is_some() {
            e = CliError::usage(format!(
                "{err} (the stored contract says {:?})",
                ctx.facts.offpeak_label.as_deref().unwrap_or_default()
            ));
        }
        e
    })
}

/// The daily maximum power (VA) of `[from, to)`.
fn daily_max(store: &dyn Store, prm: &UsagePointId, from: Date, to: Date) -> Result<Vec<(Date, f64)>, CliError> {
    let filter = dataconnect_store::ReadingFilter {
        usage_points: vec![prm.clone()],
        series: vec![dataconnect::Series::ConsumptionMaxPower],
        from: Some(dataconnect::domain::paris_day_start(from)),
        to: Some(dataconnect::domain::paris_day_start(to)),
    };
    let tz = dataconnect::domain::paris();
    let mut out = Vec::new();
    store.for_each_reading(&filter, &mut |r| {
        if let Some(v) = r.reading.value {
            out.push((r.reading.start.to_zoned_datetime(tz.clone()).date(), v));
        }
        Ok(())
    })?;
    if out.is_empty() {
        return Err(CliError::new(
            Class::Range,
            format!(
                "no daily maximum power stored for {prm} from {from} to {to}: run `dataconnect sync --prm {prm} --series consumption-max-power` first"
            ),
        ));
    }
    Ok(out)
}

/// One offer of a comparison: its report, or why it could not be priced.
pub struct Ranked {
    pub offer: String,
    pub label: String,
    pub result: Result<CostReport, String>,
}

/// A comparison of every offer at one power.
pub struct Comparison {
    pub prm: UsagePointId,
    pub kva: u32,
    pub from: Date,
    pub to: Date,
    pub current: String,
    pub current_total: Option<f64>,
    /// Priced offers, cheapest first, then those that could not be priced.
    pub offers: Vec<Ranked>,
}

/// Prices every offer that has prices at `kva` and ranks them.
pub fn compare(
    ctx: &Context,
    current: &str,
    kva: u32,
    from: Date,
    to: Date,
    e: &MeterEnergy,
) -> Result<Comparison, CliError> {
    let mut offers: Vec<Ranked> = ctx
        .catalogue
        .offers()
        .iter()
        .filter(|o| o.check_power(kva).is_ok())
        .map(|o| Ranked {
            offer: o.name.clone(),
            label: o.label.clone(),
            result: price_meter(ctx, o, kva, from, to, e).map_err(|err| err.to_string()),
        })
        .collect();
    offers.sort_by(|a, b| match (&a.result, &b.result) {
        (Ok(x), Ok(y)) => x.total_eur.total_cmp(&y.total_eur),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        _ => a.offer.cmp(&b.offer),
    });
    let current_total =
        offers.iter().find(|r| r.offer == current).and_then(|r| r.result.as_ref().ok()).map(|r| r.total_eur);
    Ok(Comparison { prm: ctx.prm.clone(), kva, from, to, current: current.to_owned(), current_total, offers })
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The JSON of a comparison.
pub fn compare_json(c: &Comparison) -> Value {
    let offers: Vec<Value> = c
        .offers
        .iter()
        .map(|r| match &r.result {
            Ok(rep) => json!({
                "offer": r.offer, "label": r.label,
                "energy_eur": round2(rep.energy_eur), "subscription_eur": round2(rep.subscription_eur), "total_eur": round2(rep.total_eur),
                "difference_eur": c.current_total.map(|t| round2(rep.total_eur - t)),
            }),
            Err(why) => json!({"offer": r.offer, "label": r.label, "error": why}),
        })
        .collect();
    json!({
        "prm": c.prm.as_str(), "kva": c.kva, "from": c.from.to_string(), "to": c.to.to_string(),
        "current": c.current, "current_total_eur": c.current_total.map(round2), "offers": offers,
    })
}

fn render_compare(c: &Comparison, format: CostsFormat) -> String {
    if format == CostsFormat::Json {
        return format!("{:#}\n", compare_json(c));
    }
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    t.set_header(["rank", "offer", "energy €", "subscription €", "total €", "vs current €"]);
    for (i, r) in c.offers.iter().enumerate() {
        let mark = if r.offer == c.current { " (current)" } else { "" };
        match &r.result {
            Ok(rep) => t.add_row(vec![
                (i + 1).to_string(),
                format!("{}{mark}", r.offer),
                format!("{:.2}", rep.energy_eur),
                format!("{:.2}", rep.subscription_eur),
                format!("{:.2}", rep.total_eur),
                c.current_total.map(|x| format!("{:+.2}", rep.total_eur - x)).unwrap_or_default(),
            ]),
            Err(why) => t.add_row(vec!["-".into(), format!("{}{mark}", r.offer), format!("not priced: {why}")]),
        };
    }
    format!("{} at {} kVA from {} to {} (exclusive), current offer {}\n{t}\n", c.prm, c.kva, c.from, c.to, c.current)
}

fn render(ctx: &Context, offer: &Offer, r: &CostReport) -> String {
    let mut out =
        format!("{} from {} to {} (exclusive), {} at {} kVA ({})", ctx.prm, r.from, r.to, r.offer, r.kva, offer.label);
    if matches!(offer.schedule, Schedule::HpHc { offpeak: OffPeak::Contract, .. }) {
        let hours: Vec<String> = ctx.offpeak.iter().map(ToString::to_string).collect();
        out.push_str(&format!("; off-peak hours {}", hours.join(";")));
    }
    out.push('\n');
    let periods = offer.schedule.periods();
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    let mut header = vec!["month".to_owned(), "days".into(), "missing".into()];
    header.extend(periods.iter().map(|p| format!("{p} kWh")));
    header.extend(["energy €".into(), "subscription €".into(), "total €".into()]);
    t.set_header(header);
    for m in &r.months {
        let mut row = vec![m.month.clone(), m.days.to_string(), m.missing_days.to_string()];
        row.extend(m.periods.iter().map(|(_, x)| format!("{:.1}", x.kwh)));
        row.extend([
            format!("{:.2}", m.energy_eur),
            format!("{:.2}", m.subscription_eur),
            format!("{:.2}", m.total_eur),
        ]);
        t.add_row(row);
    }
    let mut row =
        vec!["total".to_owned(), r.months.iter().map(|m| m.days).sum::<u32>().to_string(), r.missing_days.to_string()];
    for p in periods {
        let k: f64 = r.months.iter().flat_map(|m| &m.periods).filter(|(q, _)| q == p).map(|(_, x)| x.kwh).sum();
        row.push(format!("{k:.1}"));
    }
    row.extend([format!("{:.2}", r.energy_eur), format!("{:.2}", r.subscription_eur), format!("{:.2}", r.total_eur)]);
    t.add_row(row);
    out.push_str(&format!("{t}\n"));
    out
}

fn render_csv(r: &CostReport) -> String {
    let periods: Vec<Period> =
        r.months.first().map(|m| m.periods.iter().map(|(p, _)| *p).collect()).unwrap_or_default();
    let mut out = String::from("month,days,missing_days");
    for p in &periods {
        out.push_str(&format!(",{p}_kwh,{p}_eur"));
    }
    out.push_str(",energy_eur,subscription_eur,total_eur\n");
    for m in &r.months {
        out.push_str(&format!("{},{},{}", m.month, m.days, m.missing_days));
        for (_, x) in &m.periods {
            out.push_str(&format!(",{:.3},{:.2}", x.kwh, x.eur));
        }
        out.push_str(&format!(",{:.2},{:.2},{:.2}\n", m.energy_eur, m.subscription_eur, m.total_eur));
    }
    out.push_str(&format!("total,{},{}", r.months.iter().map(|m| m.days).sum::<u32>(), r.missing_days));
    for p in &periods {
        let (k, e) = r
            .months
            .iter()
            .flat_map(|m| &m.periods)
            .filter(|(q, _)| q == p)
            .fold((0.0, 0.0), |(a, b), (_, x)| (a + x.kwh, b + x.eur));
        out.push_str(&format!(",{k:.3},{e:.2}"));
    }
    out.push_str(&format!(",{:.2},{:.2},{:.2}\n", r.energy_eur, r.subscription_eur, r.total_eur));
    out
}

/// The JSON of a power advice.
pub fn advice_json(prm: &UsagePointId, offer: &str, from: Date, to: Date, a: &dataconnect_costs::PowerAdvice) -> Value {
    json!({
        "prm": prm.as_str(), "offer": offer, "from": from.to_string(), "to": to.to_string(),
        "current_kva": a.current_kva, "days": a.days, "peak_va": a.peak_va, "peak_day": a.peak_day.to_string(),
        "margin_percent": a.margin * 100.0, "recommended_kva": a.recommended_kva,
        "yearly_saving_eur": a.yearly_saving_eur.map(round2),
        "steps": a.steps.iter().map(|s| json!({"kva": s.kva, "days_over": s.days_over, "subscription_eur_per_year": s.subscription_eur_per_year})).collect::<Vec<_>>(),
    })
}

fn render_advice(prm: &UsagePointId, offer: &str, from: Date, to: Date, a: &dataconnect_costs::PowerAdvice) -> String {
    let mut out = format!(
        "{prm}: {} days of daily maximum power from {from} to {to} (exclusive); highest {:.0} VA on {}\n",
        a.days, a.peak_va, a.peak_day
    );
    out.push_str(&format!(
        "subscribed {} kVA; the peaks fit under {} kVA with a {:.0} % margin (peaks below {:.0} VA)\n",
        a.current_kva,
        a.recommended_kva,
        a.margin * 100.0,
        f64::from(a.recommended_kva) * 1000.0 * (1.0 - a.margin)
    ));
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    t.set_header(["kVA", "days over", &format!("{offer} subscription €/year")]);
    for s in &a.steps {
        t.add_row([
            s.kva.to_string(),
            s.days_over.to_string(),
            s.subscription_eur_per_year.map(|x| format!("{x:.2}")).unwrap_or("-".into()),
        ]);
    }
    out.push_str(&format!("{t}\n"));
    match a.yearly_saving_eur {
        Some(s) if s > 0.0 => out.push_str(&format!(
            "moving to {} kVA saves {s:.2} € a year on the {offer} subscription\n",
            a.recommended_kva
        )),
        Some(s) if s < 0.0 => out.push_str(&format!(
            "the peaks need {} kVA: {:.2} € a year more on the {offer} subscription\n",
            a.recommended_kva, -s
        )),
        Some(_) => out.push_str("the subscribed power is the right one\n"),
        None => out.push_str(&format!(
            "{offer} has no subscription price at one of these powers on {}\n",
            to.yesterday().unwrap_or(to)
        )),
    }
    out
}

/// The contract of a meter the store has none for (a store synced on
/// PostgreSQL, or before `sync` read contracts): read once with the
/// configured credentials and stored, as `sync` does. Anything that stops
/// it (no credentials here, no consent, the API refusing) leaves the store
/// as it was, and the messages say what to pass instead (--kva, --offpeak).
async fn read_contract(settings: &Settings, prm: &UsagePointId) {
    let Ok(client_settings) = settings.client() else { return };
    let Ok(store) = crate::store::open_rw(&settings.db) else { return };
    let Ok(client) = crate::source::client(&client_settings, &settings.db) else { return };
    // Notes go to standard error: standard output holds the costs.
    let note = |l: &str| eprintln!("{l}");
    if let Err(e) =
        crate::sync_engine::fetch_missing_contracts(&*store, &client, std::slice::from_ref(prm), &note).await
    {
        note(&format!("warning: the contract of {prm} could not be stored: {}", e.line()));
    }
}
