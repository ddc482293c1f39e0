//! Opens an XLSX workbook with `calamine` and hands its sheets to the
//! library's portal reader as plain cells, so that the library needs no
//! zip or XML reader and its reader is tested on cell grids.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use dataconnect::import::{Cell, ImportError, Sheet};

/// The largest sheet read, in cells: a week of 10-minute points is about
/// 3,000 rows; a hostile workbook declaring millions is refused instead of
/// filling memory.
const MAX_CELLS: usize = 20_000_000;

/// Every sheet of the workbook, rows from row 1 and cells from column A.
pub fn sheets(bytes: &[u8]) -> Result<Vec<Sheet>, ImportError> {
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    let mut out = Vec::new();
    for name in book.sheet_names() {
        let range = book.worksheet_range(&name).map_err(|e| unreadable(&e))?;
        let (height, width) = range.get_size();
        if height.saturating_mul(width) > MAX_CELLS {
            return Err(ImportError::workbook(format!(
                "the sheet {name:?} has {height} rows of {width} cells, too many to be a portal export"
            )));
        }
        let (row0, col0) = range.start().map(|(r, c)| (r as usize, c as usize)).unwrap_or((0, 0));
        let mut rows: Vec<Vec<Cell>> = vec![Vec::new(); row0];
        for row in range.rows() {
            let mut cells: Vec<Cell> = vec![Cell::Empty; col0];
            cells.extend(row.iter().map(cell));
            rows.push(cells);
        }
        out.push(Sheet { name, rows });
    }
    Ok(out)
}

fn cell(d: &Data) -> Cell {
    match d {
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(f) => Cell::Number(*f),
        Data::String(s) | Data::DateTimeIso(s) => Cell::Text(s.clone()),
        Data::DateTime(t) => Cell::DateTime(t.as_f64()),
        Data::Bool(_) | Data::DurationIso(_) | Data::Error(_) | Data::Empty => Cell::Empty,
    }
}

fn unreadable(e: &dyn std::fmt::Display) -> ImportError {
    ImportError::workbook(format!("cannot open the workbook ({e})"))
}
