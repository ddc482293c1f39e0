//! `dataconnect plot`: one stored series of one meter as a chart, in an SVG
//! or PNG file or right in the terminal.
//!
//! It reads only the store (no API call), so it works offline and costs no
//! quota; when the store holds nothing for the range, it says to run
//! `dataconnect sync` rather than drawing an empty frame.

use std::path::PathBuf;

use clap::{ArgGroup, Args};
use dataconnect::{DateRange, Series, UsagePointId};

use crate::chart_data::{chart_error, series_chart};
use crate::chart_render::{self as chart, FileFormat, TermSize};
use crate::error::{Class, CliError};
use crate::output::print_stdout;
use crate::settings::{GlobalArgs, Settings};

#[derive(Args, Debug)]
#[command(group(ArgGroup::new("target").required(true).args(["out", "term"])))]
pub struct Cmd {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(flatten)]
    what: crate::store::OneSeriesArgs,
    /// Write the chart to this file; .svg or .png picks the format.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Draw the chart in the terminal instead.
    #[arg(long)]
    term: bool,
}

impl Cmd {
    pub async fn run(self) -> Result<(), CliError> {
        // Everything the user typed is checked before the store is opened,
        // so a typo never waits on the database.
        let (prm, series, from, to) = self.what.parse()?;
        let range = DateRange::new(from, to).map_err(|e| {
            CliError::new(Class::Range, format!("{e}: --to is exclusive, so one day is --from D --to D+1"))
        })?;
        if let Some(out) = &self.out {
            FileFormat::of(out).map_err(|e| chart_error(&e))?;
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty() && !d.is_dir()) {
                return Err(CliError::usage(format!(
                    "the directory {} of --out does not exist: create it first, or write elsewhere",
                    dir.display()
                )));
            }
        }
        let settings = Settings::resolve(&self.global)?;
        if !crate::store::exists(&settings.db) {
            return Err(CliError::new(
                Class::Store,
                format!(
                    "no database at {}: run `dataconnect sync` (or `dataconnect demo`) first, or pass --db PATH",
                    crate::store::shown(&settings.db)
                ),
            ));
        }
        let store = crate::store::open_ro(&settings.db)?;
        let chart = series_chart(&store, &prm, series, range)?.ok_or_else(|| nothing_stored(&prm, series, range))?;
        match &self.out {
            Some(out) => {
                chart::write(&chart, out).map_err(|e| match e {
                    chart::ChartError::Empty => nothing_stored(&prm, series, range),
                    e => chart_error(&e),
                })?;
                print_stdout(&format!("{}\n", out.display()))?;
            }
            None => {
                let text = chart::to_terminal(&chart, TermSize::from_env()).map_err(|e| match e {
                    chart::ChartError::Empty => nothing_stored(&prm, series, range),
                    e => chart_error(&e),
                })?;
                print_stdout(&text)?;
            }
        }
        Ok(())
    }
}

fn nothing_stored(prm: &UsagePointId, series: Series, range: DateRange) -> CliError {
    CliError::usage(format!(
        "nothing stored for {prm} {series} from {} to {} (exclusive): run `dataconnect sync --prm {prm} --series {series} --since {} --until {}` first, or check `dataconnect status`",
        range.start(),
        range.end(),
        range.start(),
        range.end()
    ))
}
