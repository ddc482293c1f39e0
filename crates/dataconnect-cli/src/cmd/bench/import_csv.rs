//! `bench --only import-csv`: what `import` does with the largest portal
//! CSV a Linky owner has, three years of half-hours (52,608 rows), against
//! a baseline measured in the same run on the same schema: the same file
//! read by the same reader, then one autocommit `INSERT` per row (what a
//! naive importer does).
//!
//! Both figures include reading and parsing the file, so the ratio is the
//! user's gain end to end.

use std::time::Instant;

use dataconnect::import::{Format, ReadOptions};
use jiff::SignedDuration;
use jiff::civil::date;

use crate::error::CliError;

/// Writes the portal CSV: oldest first, a value on every row, offsets.
fn write_file(path: &std::path::Path) -> Result<usize, CliError> {
    use std::io::Write;
    let (first, last) = (date(2023, 11, 1), date(2026, 11, 1));
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        out,
        "Identifiant PRM;Type de donnees;Date de debut;Date de fin;Grandeur physique;Grandeur metier;Etape metier;Unite;Pas en minutes"
    )?;
    writeln!(
        out,
        "12345678901234;Courbe de charge;01/11/2023;01/11/2026;Energie active;Consommation;Comptage Brut;W;30"
    )?;
    writeln!(out, "\nHorodate;Valeur")?;
    let paris = dataconnect::domain::paris();
    let (mut t, stop) = (dataconnect::domain::paris_day_start(first), dataconnect::domain::paris_day_start(last));
    let mut rows = 0;
    while t < stop {
        t += SignedDuration::from_mins(30);
        writeln!(out, "{};{}", t.to_zoned_datetime(paris.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z"), 150 + rows % 2900)?;
        rows += 1;
    }
    out.flush()?;
    Ok(rows)
}

pub fn run() -> Result<(), CliError> {
    let dir = super::tempdir()?;
    let file = dir.join("Enedis_Conso_Heure_20231101-20261101_12345678901234.csv");
    let rows = write_file(&file)?;
    let options = ReadOptions::default();

    let store = crate::store::open_rw(&dir.join("import.db"))?;
    let t = Instant::now();
    let imported = crate::cmd::import::import_one(&file, Some(Format::PortalCsv), &options, Some(&*store))?;
    let rate = rows as f64 / t.elapsed().as_secs_f64();
    let points: usize = imported.parts.iter().map(|p| p.readings.len()).sum();
    if points != rows {
        return Err(CliError::internal(format!("the import stored {points} points of {rows} rows")));
    }

    let base_path = dir.join("baseline.db");
    drop(crate::store::open_rw(&base_path)?);
    let conn = rusqlite::Connection::open(&base_path).map_err(|e| CliError::internal(e.to_string()))?;
    let _ = conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()));
    let _ = conn.pragma_update(None, "synchronous", "NORMAL");
    let t = Instant::now();
    let parsed = crate::cmd::import::read(&file, Some(Format::PortalCsv), &options)?;
    for part in &parsed.parts {
        for r in &part.readings {
            conn.execute(
                "INSERT INTO reading (usage_point_id, series, start, \"end\", value, unit, peak_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)
                 ON CONFLICT (usage_point_id, series, start) DO UPDATE SET value = excluded.value",
                rusqlite::params![part.prm.as_str(), part.series.as_str(), r.start.as_second(), r.end.as_second(), r.value, "W"],
            )
            .map_err(|e| CliError::internal(e.to_string()))?;
        }
    }
    let base_rate = rows as f64 / t.elapsed().as_secs_f64();
    println!("import-csv: {rate:.0} rows/s (baseline: {base_rate:.0} rows/s, {:.1}x)", rate / base_rate);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
