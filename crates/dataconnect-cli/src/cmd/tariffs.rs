//! `dataconnect tariffs list|show|import`: the catalogue of offers and
//! their prices.
//!
//! The regulated tariffs (Tarif Bleu Base, HP/HC and Tempo) ship with
//! dataconnect with their price history (see
//! `crates/dataconnect-costs/data/SOURCES.md`); `import` reads the
//! regulator's open-data tables (`Option_Base.csv`, `Option_HPHC.csv`,
//! `Option_Tempo.csv`: `;`-separated, decimal comma, any column order,
//! extra columns and a BOM accepted, the option recognised from the
//! columns) and stores their rows, which then take precedence over the
//! shipped ones on the days they cover. Market offers come from TOML files
//! (the config directory's `offers/`, or `--offers FILE`).

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use comfy_table::{Table, presets};
use dataconnect_costs::{Offer, PriceRow, parse_table};
use dataconnect_store::{Store, TariffRow};
use jiff::civil::Date;
use serde_json::{Map, Value, json};

use crate::error::CliError;
use crate::pricing::cost_error;
use crate::settings::{GlobalArgs, Settings, parse_date};

/// How `tariffs` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table.
    Table,
    /// One JSON document.
    Json,
}

#[derive(Args, Debug)]
pub struct Cmd {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand, Debug)]
enum Action {
    /// List the offers: regulated (trv-base, trv-hphc, trv-tempo) and market offers.
    List {
        #[command(flatten)]
        global: GlobalArgs,
        /// A market offer file (TOML); repeatable.
        #[arg(long, value_name = "FILE")]
        offers: Vec<PathBuf>,
        /// table or json.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Show an offer's prices: those in force on --at (default today) at every power, or the history at --kva.
    Show {
        #[command(flatten)]
        global: GlobalArgs,
        /// The offer's name.
        name: String,
        /// The day the prices are in force, YYYY-MM-DD.
        #[arg(long, value_name = "DATE")]
        at: Option<String>,
        /// Only this subscribed power (kVA); without --at, its whole history.
        #[arg(long, value_name = "N")]
        kva: Option<u32>,
        /// A market offer file (TOML); repeatable.
        #[arg(long, value_name = "FILE")]
        offers: Vec<PathBuf>,
        /// table or json.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Store the rows of the regulator's price tables (Option_Base.csv, Option_HPHC.csv, Option_Tempo.csv).
    Import {
        #[command(flatten)]
        global: GlobalArgs,
        /// The CSV file(s).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

impl Cmd {
    pub async fn run(self) -> Result<(), CliError> {
        match self.action {
            Action::List { global, offers, format } => list(&global, &offers, format),
            Action::Show { global, name, at, kva, offers, format } => {
                show(&global, &name, at.as_deref(), kva, &offers, format)
            }
            Action::Import { global, files } => import(&global, &files),
        }
    }
}

/// The store, created if missing (the catalogue needs no data, only the imported rows).
fn store(global: &GlobalArgs) -> Result<(Settings, crate::store::AnyStore), CliError> {
    let settings = Settings::resolve(global)?;
    let store = crate::store::open_rw(&settings.db)?;
    Ok((settings, store))
}

/// The catalogue with the store's imported rows; without a store (nothing
/// imported yet), the shipped rows alone, and no file is created.
fn catalogue(global: &GlobalArgs, extra: &[PathBuf]) -> Result<(Settings, dataconnect_costs::Catalogue), CliError> {
    let settings = Settings::resolve(global)?;
    let rows = if crate::store::exists(&settings.db) {
        crate::store::open_rw(&settings.db)?.tariff_rows()?
    } else {
        Vec::new()
    };
    let cat = crate::pricing::catalogue_with(rows, extra)?;
    Ok((settings, cat))
}

fn span(o: &Offer) -> (Option<Date>, Option<Date>, bool) {
    let first = o.rows.iter().map(|r| r.start).min();
    let open = o.rows.iter().any(|r| r.end.is_none());
    (first, o.rows.iter().filter_map(|r| r.end).max(), open)
}

fn list(global: &GlobalArgs, extra: &[PathBuf], format: Format) -> Result<(), CliError> {
    let (_, cat) = catalogue(global, extra)?;
    if format == Format::Json {
        let offers: Vec<Value> = cat
            .offers()
            .iter()
            .map(|o| {
                let (first, last, open) = span(o);
                json!({
                    "name": o.name, "label": o.label, "source": o.source,
                    "periods": o.schedule.periods().iter().map(|p| p.name()).collect::<Vec<_>>(),
                    "kva": o.powers(), "rows": o.rows.len(), "imported_rows": o.rows.iter().filter(|r| r.imported).count(),
                    "first_day": first.map(|d| d.to_string()), "last_day": if open { None } else { last.map(|d| d.to_string()) },
                })
            })
            .collect();
        return crate::output::print_stdout(&format!("{:#}\n", json!({"offers": offers})));
    }
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    t.set_header(["offer", "periods", "kVA", "rows (imported)", "prices from", "to", "source"]);
    for o in cat.offers() {
        let (first, last, open) = span(o);
        let kva: Vec<String> = o.powers().iter().map(u32::to_string).collect();
        t.add_row([
            o.name.clone(),
            o.schedule.periods().iter().map(|p| p.name()).collect::<Vec<_>>().join(" "),
            if kva.is_empty() { "none".to_owned() } else { kva.join(",") },
            format!("{} ({})", o.rows.len(), o.rows.iter().filter(|r| r.imported).count()),
            first.map(|d| d.to_string()).unwrap_or("-".into()),
            if open { "in force".into() } else { last.map(|d| d.to_string()).unwrap_or("-".into()) },
            o.source.clone(),
        ]);
    }
    let mut out = format!("{t}\n");
    if cat.offers().iter().any(|o| o.rows.is_empty()) {
        out.push_str("offers without rows need the regulator's table: `dataconnect tariffs import Option_HPHC.csv Option_Tempo.csv` (data.gouv.fr, \"Historique des tarifs réglementés de vente d'électricité\")\n");
    }
    crate::output::print_stdout(&out)
}

fn row_json(o: &Offer, r: &PriceRow) -> Value {
    let mut prices = Map::new();
    for p in o.schedule.periods() {
        prices.insert(p.name().to_owned(), json!(r.price(*p)));
    }
    json!({
        "kva": r.kva, "start": r.start.to_string(), "end": r.end.map(|d| d.to_string()),
        "subscription_eur_per_year": r.fixed_eur_per_year, "prices_eur_per_kwh": prices, "source": r.source, "imported": r.imported,
    })
}

fn show(
    global: &GlobalArgs,
    name: &str,
    at: Option<&str>,
    kva: Option<u32>,
    extra: &[PathBuf],
    format: Format,
) -> Result<(), CliError> {
    let (settings, cat) = catalogue(global, extra)?;
    let offer = cat.get(name).map_err(cost_error)?;
    if let Some(k) = kva {
        offer.check_power(k).map_err(cost_error)?;
    }
    let rows: Vec<&PriceRow> = match (at, kva) {
        (None, Some(k)) => {
            let mut r: Vec<&PriceRow> = offer.rows.iter().filter(|r| r.kva == k).collect();
            r.sort_by_key(|r| (r.start, r.imported));
            r
        }
        _ => {
            let day = match at {
                Some(a) => parse_date("--at", a)?,
                None => settings.today(),
            };
            offer
                .powers()
                .into_iter()
                .filter(|k| kva.is_none_or(|x| x == *k))
                .filter_map(|k| offer.row_at(k, day))
                .collect()
        }
    };
    if format == Format::Json {
        let rows: Vec<Value> = rows.iter().map(|r| row_json(offer, r)).collect();
        return crate::output::print_stdout(&format!(
            "{:#}\n",
            json!({"offer": offer.name, "label": offer.label, "rows": rows})
        ));
    }
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    let mut header = vec!["kVA".to_owned(), "from".into(), "to".into(), "subscription €/year".into()];
    header.extend(offer.schedule.periods().iter().map(|p| format!("{p} €/kWh")));
    header.push("source".into());
    t.set_header(header);
    for r in &rows {
        let mut row = vec![
            r.kva.to_string(),
            r.start.to_string(),
            r.end.map(|d| d.to_string()).unwrap_or("in force".into()),
            format!("{:.2}", r.fixed_eur_per_year),
        ];
        row.extend(
            offer.schedule.periods().iter().map(|p| r.price(*p).map(|v| format!("{v:.5}")).unwrap_or("-".into())),
        );
        row.push(format!("{}{}", r.source, if r.imported { " (imported)" } else { "" }));
        t.add_row(row);
    }
    let mut out = format!("{} — {}\n{t}\n", offer.name, offer.label);
    if rows.is_empty() {
        out.push_str("no prices in force there: `dataconnect tariffs import FILE` adds the regulator's rows\n");
    }
    crate::output::print_stdout(&out)
}

fn import(global: &GlobalArgs, files: &[PathBuf]) -> Result<(), CliError> {
    // Every file is read and checked before anything is written: a bad
    // file stores nothing, and what is stored stays.
    let now = jiff::Timestamp::now();
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for f in files {
        let bytes = std::fs::read(f).map_err(|e| CliError::usage(format!("cannot read {}: {e}", f.display())))?;
        let text = String::from_utf8(bytes).map_err(|_| {
            CliError::usage(format!(
                "{} is not UTF-8 text: save it as UTF-8 (the regulator publishes UTF-8)",
                f.display()
            ))
        })?;
        let table = parse_table(&f.display().to_string(), &text).map_err(cost_error)?;
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let first = table.rows.iter().map(|r| r.start).min();
        lines.push(format!(
            "{}: {} row(s) of {} from {}",
            f.display(),
            table.rows.len(),
            table.kind.offer_name(),
            first.map(|d| d.to_string()).unwrap_or("-".into())
        ));
        for r in table.rows {
            let mut prices = Map::new();
            for p in table.kind.periods() {
                prices.insert(p.name().to_owned(), json!(r.price(*p)));
            }
            rows.push(TariffRow {
                option: table.kind.key().to_owned(),
                kva: r.kva,
                start: r.start,
                end: r.end,
                fixed_eur_per_year: r.fixed_eur_per_year,
                prices_json: Value::Object(prices).to_string(),
                source: if r.source == f.display().to_string() { name.clone() } else { r.source },
                imported_at: now,
            });
        }
    }
    let (_, store) = store(global)?;
    store.put_tariff_rows(&rows)?;
    for l in lines {
        println!("{l}");
    }
    Ok(())
}
