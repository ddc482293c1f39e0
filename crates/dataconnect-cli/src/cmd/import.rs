//! `dataconnect import FILE…`: the files a Linky owner already has (Enedis
//! portal CSV and XLSX, Conso Downloader CSV, this tool's own exports) into
//! the store, as if `sync` had fetched them.
//!
//! Each file is read whole by the library's readers (`dataconnect::import`)
//! and written in one transaction through the store's upsert: importing a
//! file twice changes nothing, and a file that cannot be read stores
//! nothing. Only the Paris days a file covers completely are recorded as
//! covered, so `sync` neither fetches them again nor leaves the gaps of a
//! partial day unfilled. A failing file gives one line on standard error
//! (file, line, fix) and the other files still import; the exit code is
//! that of the first failure's class.

mod workbook;

use std::path::{Path, PathBuf};

use clap::Args;
use dataconnect::import::{self, Format, ImportErrorKind, ImportedFile, Part, ReadOptions};
use dataconnect_store::{ImportWrite, Store};

use crate::error::{Class, CliError};
use crate::settings::{GlobalArgs, Settings};

/// The largest file read (a 3-year PT10M curve is about 10 MB).
const MAX_FILE_BYTES: u64 = 512 << 20;

#[derive(Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    global: GlobalArgs,
    /// The files to import: Enedis portal CSV (load curve, daily energy, maximum power) or XLSX,
    /// Conso Downloader CSV (historique_conso_<PRM>_<date>.csv), or the CSV, JSON lines or JSON
    /// of `dataconnect export`.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// The meter, for a file that does not name it (or to store it under another one).
    #[arg(long, value_name = "PRM")]
    prm: Option<String>,
    /// Store the file's series as this one, of the same kind (e.g. a curve as production-curve).
    #[arg(long, value_name = "SERIES")]
    series: Option<String>,
    /// Read every file as this format instead of recognising it: enedis-csv, enedis-xlsx,
    /// conso-downloader, csv, jsonl or json.
    #[arg(long, value_name = "FORMAT")]
    format: Option<String>,
    /// Read and report, store nothing.
    #[arg(long)]
    dry_run: bool,
}

impl Cmd {
    pub async fn run(self) -> Result<(), CliError> {
        let prm = self
            .prm
            .as_deref()
            .map(|p| dataconnect::UsagePointId::new(p).map_err(|e| CliError::usage(format!("{e} (--prm)"))))
            .transpose()?;
        let series = self
            .series
            .as_deref()
            .map(|s| s.parse::<dataconnect::Series>().map_err(|e| CliError::usage(format!("{e} (--series)"))))
            .transpose()?;
        let options = ReadOptions { prm, series };
        let format = self
            .format
            .as_deref()
            .map(|f| f.parse::<Format>().map_err(|e| CliError::usage(format!("{e} (--format)"))))
            .transpose()?;
        let store = if self.dry_run {
            None
        } else {
            let settings = Settings::resolve(&self.global)?;
            Some(crate::store::open_rw(&settings.db)?)
        };
        let mut first_failure: Option<Class> = None;
        let mut stdout = std::io::stdout().lock();
        for path in &self.files {
            match import_one(path, format, &options, store.as_deref()) {
                Ok(file) => report(&mut stdout, path, &file, self.dry_run)?,
                Err(e) => {
                    eprintln!("error: {}: {}", path.display(), e.line());
                    first_failure.get_or_insert(e.class());
                }
            }
        }
        match first_failure {
            Some(class) => Err(CliError::reported(class)),
            None => Ok(()),
        }
    }
}

/// Reads one file and, unless `store` is `None`, stores it in one transaction.
pub fn import_one(
    path: &Path,
    format: Option<Format>,
    options: &ReadOptions,
    store: Option<&dyn Store>,
) -> Result<ImportedFile, CliError> {
    let file = read(path, format, options)?;
    if let Some(store) = store {
        let writes: Vec<ImportWrite<'_>> = file
            .parts
            .iter()
            .map(|p| ImportWrite { prm: &p.prm, series: p.series, readings: &p.readings, covered: &p.covered })
            .collect();
        store.upsert_import(&writes)?;
    }
    Ok(file)
}

/// Reads and parses one file.
pub fn read(path: &Path, format: Option<Format>, options: &ReadOptions) -> Result<ImportedFile, CliError> {
    let unreadable = |e: std::io::Error| CliError::usage(format!("cannot read the file: {e}: check the path"));
    let size = std::fs::metadata(path).map_err(unreadable)?.len();
    if size > MAX_FILE_BYTES {
        return Err(CliError::usage(format!(
            "the file has {size} bytes, more than the {MAX_FILE_BYTES} this command reads: split it"
        )));
    }
    let bytes = std::fs::read(path).map_err(unreadable)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let format = match format.or_else(|| Format::detect(name, &bytes)) {
        Some(f) => f,
        None => {
            return Err(CliError::usage(
                "not a file this command recognises (Enedis portal CSV or XLSX, Conso Downloader CSV, dataconnect export): \
                 name its format with --format if it is one of them",
            ));
        }
    };
    let parsed = match format {
        Format::PortalXlsx => workbook::sheets(&bytes).and_then(|sheets| import::read_workbook(name, &sheets, options)),
        _ => import::read_text(format, name, &bytes, options),
    };
    // Every reading failure is the file's (usage class): fix it, download
    // it again, or say what the file does not.
    parsed.map_err(|e| CliError::usage(format!("{} ({}): {e}", format.as_str(), kind_name(e.kind()))))
}

fn kind_name(kind: ImportErrorKind) -> &'static str {
    match kind {
        ImportErrorKind::Unrecognised => "not recognised",
        ImportErrorKind::Malformed => "malformed, nothing stored",
        ImportErrorKind::Unsupported => "not supported yet",
        ImportErrorKind::MissingPrm => "meter unknown",
        ImportErrorKind::Override => "option does not fit the file",
        _ => "not read",
    }
}

/// Prints what a file held: per meter and series, the points, the days,
/// the days recorded as covered, and what was skipped and why.
fn report(out: &mut impl std::io::Write, path: &Path, file: &ImportedFile, dry_run: bool) -> Result<(), CliError> {
    let verb = if dry_run { "read (dry run, nothing stored)" } else { "imported" };
    let place = if file.format == Format::PortalXlsx { "row" } else { "line" };
    writeln!(out, "{} ({}): {verb}", path.display(), file.format)?;
    for part in &file.parts {
        writeln!(out, "  {}", part_line(part))?;
        for s in &part.skipped {
            let rows = if s.rows == 1 { "1 row".to_owned() } else { format!("{} rows", s.rows) };
            writeln!(out, "    skipped {rows} (first at {place} {}): {}", s.first_line, s.reason)?;
        }
        if !part.partial_days.is_empty() {
            let days: Vec<String> = part.partial_days.iter().take(5).map(ToString::to_string).collect();
            let more = if part.partial_days.len() > 5 { ", …" } else { "" };
            writeln!(
                out,
                "    {} partial day(s) kept but not marked covered (sync fills them): {}{more}",
                part.partial_days.len(),
                days.join(", ")
            )?;
        }
    }
    for note in &file.notes {
        writeln!(out, "    note: {note}")?;
    }
    Ok(())
}

fn part_line(part: &Part) -> String {
    let days = match part.days() {
        Some((a, b)) => format!("{a} to {b}"),
        None => "no days".to_owned(),
    };
    let covered_days: i32 = part.covered.iter().map(|r| r.days()).sum();
    let covered = part
        .covered
        .iter()
        .map(|r| format!("{} to {}", r.start(), r.end().yesterday().unwrap_or(r.end())))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{} {}: {} points, {days}, {covered_days} day(s) covered{}",
        part.prm,
        part.series,
        part.readings.len(),
        if covered.is_empty() { String::new() } else { format!(" ({covered})") }
    )
}
