//! This toolkit's own `export` output read back: CSV (header
//! `usage_point_id,series,start,end,value,unit,step,energy_wh,peak_at`),
//! JSON lines and JSON, the schema `fetch` and `export` print.
//!
//! Every instant there carries its offset, so readings are rebuilt exactly
//! (`export` → `import` into an empty store → `export` gives the same
//! file); `step` and `energy_wh` are derived columns and are not read.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::ImportError;
use super::common::{self, RawPart, Skipped, short};
use crate::domain::{Reading, Series, Unit, UsagePointId};
use crate::wire::Stamp;

/// How the CSV header starts.
pub(crate) const CSV_HEADER_START: &str = "usage_point_id,series,start,end,value,unit";

const FIX: &str = "the file is not as `dataconnect export` wrote it: export it again";

/// One row, from whichever format.
#[derive(Deserialize)]
struct Row {
    usage_point_id: String,
    series: String,
    start: String,
    end: String,
    value: Option<f64>,
    unit: String,
    #[serde(default)]
    peak_at: Option<String>,
}

type Groups = BTreeMap<(UsagePointId, Series), Vec<(usize, Reading)>>;

fn instant(line: usize, what: &str, text: &str) -> Result<jiff::Timestamp, ImportError> {
    match common::stamp(text) {
        Some(Stamp::Instant(t)) => jiff::Timestamp::from_second(t).map_err(|_| bad(line, what, text)),
        _ => Err(bad(line, what, text)),
    }
}

fn bad(line: usize, what: &str, text: &str) -> ImportError {
    ImportError::line(line, format!("cannot read {what} {:?} (RFC 3339 with an offset expected)", short(text)), FIX)
}

/// Checks one row and files it under its meter and series.
fn add(groups: &mut Groups, line: usize, row: Row) -> Result<(), ImportError> {
    let prm = UsagePointId::new(&row.usage_point_id).map_err(|e| ImportError::line(line, e.to_string(), FIX))?;
    let series: Series =
        row.series.parse().map_err(|e: crate::domain::ParseSeriesError| ImportError::line(line, e.to_string(), FIX))?;
    let unit: Unit = row.unit.parse().map_err(|e: String| ImportError::line(line, e, FIX))?;
    if unit != series.unit() {
        return Err(ImportError::line(
            line,
            format!("the unit {unit} is not that of {series} ({})", series.unit()),
            FIX,
        ));
    }
    let start = instant(line, "the start", &row.start)?;
    let end = instant(line, "the end", &row.end)?;
    if end <= start {
        return Err(ImportError::line(line, format!("the end {} is not after the start {}", row.end, row.start), FIX));
    }
    let peak_at = match row.peak_at.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(p) => Some(instant(line, "the peak instant", p)?),
    };
    let reading = Reading { start, end, value: row.value, unit, peak_at };
    groups.entry((prm, series)).or_default().push((line, reading));
    Ok(())
}

fn parts(groups: Groups) -> Result<Vec<RawPart>, ImportError> {
    groups
        .into_iter()
        .map(|((prm, series), lined)| {
            let mut skipped: Vec<Skipped> = Vec::new();
            let readings = common::ordered(lined, &mut skipped)?;
            Ok(RawPart { prm: Some(prm), series, readings, skipped })
        })
        .collect()
}

pub(crate) fn read_csv(text: &str) -> Result<Vec<RawPart>, ImportError> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let header = lines.next().map(|(_, l)| l).unwrap_or("");
    if !header.starts_with(CSV_HEADER_START) {
        return Err(ImportError::line(1, format!("unexpected header {:?}", short(header)), FIX));
    }
    let mut groups = Groups::new();
    for (line, text) in lines {
        if text.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = text.split(',').collect();
        if f.len() < 6 {
            return Err(ImportError::line(line, format!("expected 9 fields, found {}", f.len()), FIX));
        }
        let value = common::number(f[4]).map_err(|()| {
            ImportError::line(line, format!("cannot read the value {:?} as a number", short(f[4])), FIX)
        })?;
        let row = Row {
            usage_point_id: f[0].to_owned(),
            series: f[1].to_owned(),
            start: f[2].to_owned(),
            end: f[3].to_owned(),
            value,
            unit: f[5].to_owned(),
            peak_at: f.get(8).map(|s| (*s).to_owned()),
        };
        add(&mut groups, line, row)?;
    }
    parts(groups)
}

pub(crate) fn read_jsonl(text: &str) -> Result<Vec<RawPart>, ImportError> {
    let mut groups = Groups::new();
    for (i, text) in text.lines().enumerate() {
        if text.trim().is_empty() {
            continue;
        }
        let row: Row = serde_json::from_str(text)
            .map_err(|e| ImportError::line(i + 1, format!("not a reading object: {e}"), FIX))?;
        add(&mut groups, i + 1, row)?;
    }
    parts(groups)
}

pub(crate) fn read_json(text: &str) -> Result<Vec<RawPart>, ImportError> {
    // `export --format json` writes one object per line inside the array,
    // so an object's line is its index plus two.
    let rows: Vec<Row> = serde_json::from_str(text)
        .map_err(|e| ImportError::line(e.line(), format!("not an array of reading objects: {e}"), FIX))?;
    let mut groups = Groups::new();
    for (i, row) in rows.into_iter().enumerate() {
        add(&mut groups, i + 2, row)?;
    }
    parts(groups)
}
