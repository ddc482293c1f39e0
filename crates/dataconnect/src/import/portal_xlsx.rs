//! The Enedis customer portal's XLSX workbooks, served since early 2025
//! (`<PRM>_Export_energie_Consommation_DDMMYYYY-DDMMYYYY.xlsx`; the hourly
//! data is limited to 7 days per file).
//!
//! Each sheet opens with a block of metadata rows whose count varies, so a
//! table is found by its header row's names, not by position: `Début | Fin
//! | Valeur (en kW)` is a load curve (average power over each interval),
//! `Date | Valeur (en kWh)` daily energy (`Valeur (en kVA)`: daily maximum
//! power). Dates come as text (`02/03/2023 00:30:00`, Paris local time) or
//! as spreadsheet date-times; values as numbers or as text with a decimal
//! comma (`4,030`). The meter is the file name's first 14 digits.

use super::common::{self, CurveRow, DayRow, RawPart, fold, short};
use super::{Cell, ImportError, ImportErrorKind, Sheet};
use crate::domain::{Measure, Series, UsagePointId};
use crate::wire::Stamp;

/// A table found in a sheet: the row of its header and its columns.
struct Table {
    header_row: usize,
    measure: Measure,
    /// Start, end (curves) or the day (daily), then the value.
    begin: usize,
    end: Option<usize>,
    value: usize,
    factor: f64,
}

fn text(cell: &Cell) -> String {
    match cell {
        Cell::Text(t) => t.clone(),
        Cell::Number(n) | Cell::DateTime(n) => n.to_string(),
        Cell::Empty => String::new(),
    }
}

/// The table of a sheet, if one of its rows names the columns.
fn find_table(sheet: &Sheet) -> Option<Table> {
    for (i, row) in sheet.rows.iter().enumerate() {
        let names: Vec<String> = row.iter().map(|c| fold(&text(c))).collect();
        let col = |want: &str| names.iter().position(|n| n == want);
        let Some(value) = names.iter().position(|n| n.starts_with("valeur")) else { continue };
        let unit = names[value].split(['(', ')']).nth(1).unwrap_or("").replace("en ", "");
        let (measure_of_unit, factor) = match unit.trim() {
            "kw" => (Measure::LoadCurve, 1000.0),
            "w" => (Measure::LoadCurve, 1.0),
            "kwh" => (Measure::Daily, 1000.0),
            "wh" => (Measure::Daily, 1.0),
            "kva" => (Measure::MaxPower, 1000.0),
            "va" => (Measure::MaxPower, 1.0),
            _ => continue,
        };
        if let (Some(begin), Some(end)) = (col("debut"), col("fin")) {
            if measure_of_unit == Measure::LoadCurve {
                return Some(Table {
                    header_row: i,
                    measure: Measure::LoadCurve,
                    begin,
                    end: Some(end),
                    value,
                    factor,
                });
            }
        } else if let Some(day) = col("date")
            && measure_of_unit != Measure::LoadCurve
        {
            return Some(Table { header_row: i, measure: measure_of_unit, begin: day, end: None, value, factor });
        }
    }
    None
}

fn stamp_of(cell: &Cell) -> Option<Stamp> {
    match cell {
        Cell::DateTime(serial) | Cell::Number(serial) => common::serial_to_local(*serial).map(Stamp::Local),
        Cell::Text(t) => common::stamp(t),
        Cell::Empty => None,
    }
}

fn value_of(cell: &Cell) -> Result<Option<f64>, ()> {
    match cell {
        Cell::Number(n) if n.is_finite() => Ok(Some(*n)),
        Cell::Number(_) | Cell::DateTime(_) => Err(()),
        Cell::Text(t) => common::number(t),
        Cell::Empty => Ok(None),
    }
}

fn at(sheet: &Sheet, row: usize) -> String {
    format!("sheet {:?}, row {}", short(&sheet.name), row + 1)
}

/// Reads one sheet's table into a part.
fn read_sheet(
    sheet: &Sheet,
    table: &Table,
    prm: Option<UsagePointId>,
    production: bool,
) -> Result<RawPart, ImportError> {
    let empty = Cell::Empty;
    let mut curve_rows = Vec::new();
    let mut day_rows = Vec::new();
    let mut skipped = Vec::new();
    for (i, row) in sheet.rows.iter().enumerate().skip(table.header_row + 1) {
        let cell = |c: usize| row.get(c).unwrap_or(&empty);
        if row.iter().all(|c| matches!(c, Cell::Empty) || text(c).trim().is_empty()) {
            continue;
        }
        let line = i + 1;
        let Some(begin) = stamp_of(cell(table.begin)) else {
            // A row after the table that is not a date (a total, a note).
            common::skip(&mut skipped, "is not a data row (no date in its first column)", line);
            continue;
        };
        let bad =
            |problem: String, fix: &str| ImportError::new(ImportErrorKind::Malformed, Some(at(sheet, i)), problem, fix);
        let value = value_of(cell(table.value)).map_err(|()| {
            bad(
                format!("cannot read the value {:?} as a number", short(&text(cell(table.value)))),
                "write a number such as 4,030",
            )
        })?;
        match table.end {
            Some(end_col) => {
                let end = stamp_of(cell(end_col)).ok_or_else(|| {
                    bad(
                        format!("cannot read the end {:?}", short(&text(cell(end_col)))),
                        "write it as 02/03/2023 00:30:00",
                    )
                })?;
                curve_rows.push(CurveRow { line, begin: Some(begin), end, value });
            }
            None => day_rows.push(DayRow { line, day: common::local_day(begin), value, peak: None }),
        }
    }
    let series = match (table.measure, production) {
        (Measure::LoadCurve, false) => Series::ConsumptionCurve,
        (Measure::LoadCurve, true) => Series::ProductionCurve,
        (Measure::Daily, false) => Series::ConsumptionDaily,
        (Measure::Daily, true) => Series::ProductionDaily,
        // No sheet is read as index readings.
        (Measure::MaxPower | Measure::Index, _) => Series::ConsumptionMaxPower,
    };
    let readings = if table.measure == Measure::LoadCurve {
        common::curve(curve_rows, None, table.factor, &mut skipped).map_err(|e| in_sheet(e, sheet))?
    } else {
        common::days(day_rows, series.unit(), table.factor, &mut skipped)
    };
    Ok(RawPart { prm, series, readings, skipped })
}

/// Names the sheet in an error the shared code gave by row.
fn in_sheet(e: ImportError, sheet: &Sheet) -> ImportError {
    let at = e.at.as_deref().map(|a| a.replace("line", &format!("sheet {:?}, row", short(&sheet.name))));
    ImportError { at, ..e }
}

pub(crate) fn read(name: &str, sheets: &[Sheet]) -> Result<(Vec<RawPart>, Vec<String>), ImportError> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let prm = base.get(..14).and_then(|p| UsagePointId::new(p).ok());
    let production = fold(base).contains("production");
    let mut parts: Vec<RawPart> = Vec::new();
    let mut notes = Vec::new();
    for sheet in sheets {
        let Some(table) = find_table(sheet) else {
            notes.push(format!(
                "sheet {:?} has no Début | Fin | Valeur or Date | Valeur table: ignored",
                short(&sheet.name)
            ));
            continue;
        };
        let part = read_sheet(sheet, &table, prm.clone(), production)?;
        if parts.iter().any(|p| p.series == part.series) {
            notes.push(format!("sheet {:?} repeats the series {}: ignored", short(&sheet.name), part.series));
            continue;
        }
        parts.push(part);
    }
    if parts.is_empty() {
        return Err(ImportError::new(
            ImportErrorKind::Malformed,
            None,
            "no sheet holds a Début | Fin | Valeur (en kW) or Date | Valeur (en kWh) table".into(),
            "check that this is an Enedis portal export of consumption",
        ));
    }
    Ok((parts, notes))
}
