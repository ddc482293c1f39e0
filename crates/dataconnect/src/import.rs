//! Reading the files a Linky owner already has into domain readings: the
//! exports of the Enedis customer portal (the CSV served until early 2025,
//! the XLSX served since), the CSV of the Conso Downloader tool, and this
//! toolkit's own `export` output (CSV, JSON lines, JSON).
//!
//! Most Linky owners hold no Data Connect contract; these files are how
//! their history reaches a store. The readers are pure (bytes or cell grids
//! in, readings out), so that they are tested and fuzzed without a disk or a
//! store, and they live in this crate because their stamps are Paris local
//! times read exactly as the wire decoders read theirs: the same stamp
//! parser, the same resolution of a curve's end stamps (the repeated October
//! hour by its offset when the file gives one, by its position when it does
//! not), the same Paris day boundaries. XLSX workbooks are opened by the
//! caller (the CLI uses `calamine`) and handed over as [`Sheet`]s, which
//! keeps a zip and XML reader out of this crate.
//!
//! A file becomes one [`Part`] per meter and series it holds: the readings,
//! sorted and without repeated intervals, the Paris days it covers
//! completely (only those may be recorded as fetched, so that a sync neither
//! fetches them again nor trusts a half day), and what was skipped and why.
//! A file that cannot be read gives an [`ImportError`] naming the line (or
//! sheet and row) and the fix; nothing of it is returned.

mod common;
mod conso_downloader;
mod export;
mod portal_csv;
mod portal_xlsx;

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;

use crate::domain::{DateRange, Reading, Series, UsagePointId};

pub use common::Skipped;

/// The file formats [`read_text`] and [`read_workbook`] understand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// The Enedis portal CSV (`Identifiant PRM;Type de donnees;…`, then
    /// `Horodate;Valeur`): load curve, daily energy or daily maximum power.
    PortalCsv,
    /// The Enedis portal XLSX (`<PRM>_Export_energie_…xlsx`): sheets with
    /// a `Début | Fin | Valeur (en kW)` or a `Date | Valeur (en kWh)` table.
    PortalXlsx,
    /// The Conso Downloader CSV (`historique_conso_<PRM>_<date>.csv`,
    /// `debut;fin;kW`).
    ConsoDownloader,
    /// This toolkit's `export --format csv`.
    ExportCsv,
    /// This toolkit's `export --format jsonl`.
    ExportJsonl,
    /// This toolkit's `export --format json`.
    ExportJson,
}

impl Format {
    /// Every format, in the order `--format` lists them.
    pub const ALL: [Format; 6] = [
        Format::PortalCsv,
        Format::PortalXlsx,
        Format::ConsoDownloader,
        Format::ExportCsv,
        Format::ExportJsonl,
        Format::ExportJson,
    ];

    /// The name a user types (`--format`) and reads in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::PortalCsv => "enedis-csv",
            Format::PortalXlsx => "enedis-xlsx",
            Format::ConsoDownloader => "conso-downloader",
            Format::ExportCsv => "csv",
            Format::ExportJsonl => "jsonl",
            Format::ExportJson => "json",
        }
    }

    /// Recognises a file by its first bytes, and by its name where the
    /// content alone is not enough. `None` when nothing matches.
    pub fn detect(name: &str, head: &[u8]) -> Option<Format> {
        if head.starts_with(b"PK\x03\x04") {
            return Some(Format::PortalXlsx);
        }
        let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        let text = String::from_utf8_lossy(&head[..head.len().min(4096)]);
        let first = text.lines().next().unwrap_or("").trim();
        let folded = common::fold(first);
        if folded.starts_with("identifiant prm") {
            Some(Format::PortalCsv)
        } else if folded.replace('"', "").starts_with("debut;fin;") {
            Some(Format::ConsoDownloader)
        } else if first.starts_with(export::CSV_HEADER_START) {
            Some(Format::ExportCsv)
        } else if first.starts_with('{') {
            Some(Format::ExportJsonl)
        } else if text.trim_start().starts_with('[') {
            Some(Format::ExportJson)
        } else if name.to_ascii_lowercase().ends_with(".xlsx") {
            Some(Format::PortalXlsx)
        } else {
            None
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = ImportError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL.into_iter().find(|f| f.as_str() == s.trim()).ok_or_else(|| {
            let names: Vec<_> = Format::ALL.iter().map(|f| f.as_str()).collect();
            ImportError::new(
                ImportErrorKind::Override,
                None,
                format!("unknown format {:?}", s.chars().take(30).collect::<String>()),
                format!("use one of {}", names.join(", ")),
            )
        })
    }
}

/// What the user says over what the file says.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// The meter, for a file that does not name it or names another one.
    pub prm: Option<UsagePointId>,
    /// The series, for a file whose series should be read as another one
    /// of the same measure (e.g. a load curve as the production curve).
    pub series: Option<Series>,
}

/// One meter and series of a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    /// The meter.
    pub prm: UsagePointId,
    /// The series.
    pub series: Series,
    /// The readings, sorted by start, each interval once.
    pub readings: Vec<Reading>,
    /// The Paris days the readings cover completely, merged into ranges.
    pub covered: Vec<DateRange>,
    /// The Paris days the readings touch without covering them completely
    /// (their readings are kept, the days are not recorded as covered).
    pub partial_days: Vec<Date>,
    /// What was left out, with why.
    pub skipped: Vec<Skipped>,
}

impl Part {
    /// The first and last Paris day the readings touch.
    pub fn days(&self) -> Option<(Date, Date)> {
        let first = self.readings.first()?;
        let last = self.readings.last()?;
        let end = last.end.as_second() - 1;
        Some((common::paris_date(first.start.as_second()), common::paris_date(end.max(last.start.as_second()))))
    }
}

/// A file read into parts.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedFile {
    /// The format it was read as.
    pub format: Format,
    /// One part per meter and series, in the order of meter and series.
    pub parts: Vec<Part>,
    /// What was ignored as a whole (a workbook's sheets without a table).
    pub notes: Vec<String>,
}

/// One cell of a worksheet, as the caller's XLSX reader gave it.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// No value.
    Empty,
    /// Text (dates the portal writes as text, numbers with a decimal comma).
    Text(String),
    /// A number.
    Number(f64),
    /// A date-time as the spreadsheet serial number (days since
    /// 1899-12-30, the fraction being the time of day), in Paris local time.
    DateTime(f64),
}

/// One worksheet: its name and its rows of cells, from row 1.
#[derive(Clone, Debug, PartialEq)]
pub struct Sheet {
    /// The sheet's name.
    pub name: String,
    /// The rows, the first being row 1.
    pub rows: Vec<Vec<Cell>>,
}

/// Why a file could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ImportErrorKind {
    /// The file is none of the known formats (or not the one `--format`
    /// named). Check the file, or name its format.
    Unrecognised,
    /// The file is of a known format but a line of it cannot be read (a
    /// stamp, a number, a header, a step, intervals that overlap). Fix or
    /// download the file again; nothing of it is stored.
    Malformed,
    /// The file is of a known kind that is not supported yet (the portal's
    /// index readings, `Type de releve;EAS F1…`).
    Unsupported,
    /// The file does not name its meter (a renamed XLSX or Conso
    /// Downloader file). Give it with `--prm`.
    MissingPrm,
    /// What the user said does not fit the file: `--series` of another
    /// measure than the file's, or `--prm`/`--series` over a file holding
    /// several meters or series, or an unknown `--format`.
    Override,
}

/// A file that cannot be read: the kind, the place (line, or sheet and
/// row), the problem and the fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportError {
    kind: ImportErrorKind,
    at: Option<String>,
    problem: String,
    fix: String,
}

impl ImportError {
    pub(crate) fn new(kind: ImportErrorKind, at: Option<String>, problem: String, fix: impl Into<String>) -> Self {
        ImportError { kind, at, problem, fix: fix.into() }
    }

    /// A malformed line.
    pub(crate) fn line(line: usize, problem: String, fix: impl Into<String>) -> Self {
        ImportError::new(ImportErrorKind::Malformed, Some(format!("line {line}")), problem, fix)
    }

    /// A workbook that the caller's XLSX reader could not open or that is
    /// too large to be a portal export (malformed).
    pub fn workbook(problem: String) -> Self {
        ImportError::new(ImportErrorKind::Malformed, None, problem, "download the file again from the Enedis portal")
    }

    /// What went wrong.
    pub fn kind(&self) -> ImportErrorKind {
        self.kind
    }

    /// Where in the file (`line 12`, `sheet "Consommation Horaire", row 17`).
    pub fn at(&self) -> Option<&str> {
        self.at.as_deref()
    }

    /// What to do about it.
    pub fn fix(&self) -> &str {
        &self.fix
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(at) = &self.at {
            write!(f, "{at}: ")?;
        }
        write!(f, "{}: {}", self.problem, self.fix)
    }
}

impl std::error::Error for ImportError {}

/// Reads a text file (every format but XLSX). `name` is the file's name
/// (its last path component), which carries the PRM and direction of
/// Conso Downloader files. Bytes that are not UTF-8 are read as Latin-1,
/// as older portal files were written.
pub fn read_text(format: Format, name: &str, bytes: &[u8], options: &ReadOptions) -> Result<ImportedFile, ImportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => std::borrow::Cow::Borrowed(t),
        Err(_) => std::borrow::Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect::<String>()),
    };
    let raw = match format {
        Format::PortalCsv => portal_csv::read(&text)?,
        Format::ConsoDownloader => conso_downloader::read(name, &text)?,
        Format::ExportCsv => export::read_csv(&text)?,
        Format::ExportJsonl => export::read_jsonl(&text)?,
        Format::ExportJson => export::read_json(&text)?,
        Format::PortalXlsx => {
            return Err(ImportError::new(
                ImportErrorKind::Unrecognised,
                None,
                "an XLSX workbook cannot be read as text".into(),
                "open it as a workbook (read_workbook)",
            ));
        }
    };
    finish(format, raw, options, Vec::new())
}

/// Reads the sheets of a portal XLSX workbook. `name` is the file's name,
/// which carries the PRM (`<PRM>_Export_energie_Consommation_…xlsx`).
pub fn read_workbook(name: &str, sheets: &[Sheet], options: &ReadOptions) -> Result<ImportedFile, ImportError> {
    let (raw, notes) = portal_xlsx::read(name, sheets)?;
    finish(Format::PortalXlsx, raw, options, notes)
}

/// Applies the user's overrides, checks every part has a meter, and
/// computes the covered days.
fn finish(
    format: Format,
    raw: Vec<common::RawPart>,
    options: &ReadOptions,
    notes: Vec<String>,
) -> Result<ImportedFile, ImportError> {
    let override_error = |problem: String, fix: &str| ImportError::new(ImportErrorKind::Override, None, problem, fix);
    if raw.len() > 1 {
        if options.prm.is_some() && raw.iter().any(|p| p.prm != raw[0].prm) {
            return Err(override_error(
                "--prm cannot rename a file that holds several meters".into(),
                "import it without --prm",
            ));
        }
        if options.series.is_some() && raw.iter().any(|p| p.series != raw[0].series) {
            return Err(override_error(
                "--series cannot rename a file that holds several series".into(),
                "import it without --series",
            ));
        }
    }
    let mut parts = Vec::with_capacity(raw.len());
    for p in raw {
        let series = match options.series {
            Some(s) if s.measure() != p.series.measure() => {
                return Err(override_error(
                    format!("--series {s} is not of the file's kind (it holds {})", p.series),
                    "give a series of the same kind (a load curve as consumption-curve or production-curve, daily energy as consumption-daily or production-daily)",
                ));
            }
            Some(s) => s,
            None => p.series,
        };
        let Some(prm) = options.prm.clone().or(p.prm) else {
            return Err(ImportError::new(
                ImportErrorKind::MissingPrm,
                None,
                "the file does not name its meter".into(),
                "give the meter's 14-digit PRM with --prm",
            ));
        };
        let readings = p.readings;
        let (covered, partial_days) = common::coverage(&readings, series);
        parts.push(Part { prm, series, readings, covered, partial_days, skipped: p.skipped });
    }
    parts.sort_by(|a, b| (&a.prm, a.series).cmp(&(&b.prm, b.series)));
    Ok(ImportedFile { format, parts, notes })
}

#[cfg(test)]
mod tests;
