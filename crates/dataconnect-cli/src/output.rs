//! Readings as the CLI prints them: the one stable schema that `fetch` and
//! `export` share (README.md lists its fields), and
//! [`print_stdout`], which every command that prints a block of text uses.
//!
//! Every format streams: a row is written as soon as it is read, so memory
//! stays flat however many readings pass through. Instants are RFC 3339 with
//! an explicit offset, in Europe/Paris or UTC (`--tz`), never local times
//! without an offset (the mistake that shifts other tools' charts by an hour).

mod index;

pub use index::IndexWriter;

use std::io::Write;

use clap::ValueEnum;
use dataconnect::{Reading, Series, UsagePointId};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;

/// The output formats of `fetch` and `export`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for reading on a terminal.
    Table,
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// InfluxDB line protocol, timestamps in seconds (write with `precision=s`);
    /// readings without a value are left out.
    Influx,
}

/// The time zone instants are printed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, ValueEnum)]
pub enum Tz {
    /// Paris local time with its offset (+01:00 or +02:00).
    #[default]
    #[value(name = "Europe/Paris")]
    Paris,
    /// UTC (+00:00).
    #[value(name = "UTC")]
    Utc,
}

impl Tz {
    fn zone(self) -> TimeZone {
        match self {
            Tz::Paris => dataconnect::domain::paris(),
            Tz::Utc => TimeZone::UTC,
        }
    }
}

/// One printed row.
#[derive(Serialize)]
struct Row<'a> {
    usage_point_id: &'a str,
    series: &'a str,
    start: String,
    end: String,
    value: Option<f64>,
    unit: &'a str,
    step: String,
    energy_wh: Option<f64>,
    peak_at: Option<String>,
}

const COLUMNS: [&str; 9] =
    ["usage_point_id", "series", "start", "end", "value", "unit", "step", "energy_wh", "peak_at"];

/// Writes readings in one format, one at a time.
pub struct ReadingWriter<W: Write> {
    out: W,
    format: Format,
    zone: TimeZone,
    rows: u64,
}

/// The ISO 8601 duration of a reading: `P1D` for daily series (a civil day,
/// whatever its length in hours on DST days), else the step in hours,
/// minutes or seconds.
pub fn step(series: Series, r: &Reading) -> String {
    if !series.is_curve() {
        return "P1D".to_owned();
    }
    let s = r.step_seconds();
    if s > 0 && s % 3600 == 0 {
        format!("PT{}H", s / 3600)
    } else if s > 0 && s % 60 == 0 {
        format!("PT{}M", s / 60)
    } else {
        format!("PT{s}S")
    }
}

fn instant(t: Timestamp, zone: &TimeZone) -> String {
    t.to_zoned_datetime(zone.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

fn number(v: f64) -> String {
    // Integral values print without a fraction, as the API sent them.
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v}") }
}

impl<W: Write> ReadingWriter<W> {
    /// A writer in `format` and `tz`; writes the header or opening bracket.
    pub fn new(out: W, format: Format, tz: Tz) -> std::io::Result<Self> {
        let mut w = ReadingWriter { out, format, zone: tz.zone(), rows: 0 };
        match format {
            Format::Table => {
                writeln!(
                    w.out,
                    "{:<14}  {:<21}  {:<25}  {:<25}  {:>10}  {:<4}  {:<5}  {:>10}  peak_at",
                    "usage_point_id", "series", "start", "end", "value", "unit", "step", "energy_wh"
                )?;
            }
            Format::Json => w.out.write_all(b"[")?,
            Format::Csv | Format::Jsonl | Format::Influx => {}
        }
        Ok(w)
    }

    /// Writes one reading.
    pub fn write(&mut self, prm: &UsagePointId, series: Series, r: &Reading) -> std::io::Result<()> {
        if self.format == Format::Influx {
            // Its own encoding, shared with `publish influx`; the time zone
            // does not apply (stamps are epoch seconds).
            if crate::publish::line::write_point(&mut self.out, prm, series, r)? {
                self.rows += 1;
            }
            return Ok(());
        }
        let row = Row {
            usage_point_id: prm.as_str(),
            series: series.as_str(),
            start: instant(r.start, &self.zone),
            end: instant(r.end, &self.zone),
            value: r.value,
            unit: r.unit.as_str(),
            step: step(series, r),
            energy_wh: if series.is_curve() { r.energy_wh() } else { None },
            peak_at: r.peak_at.map(|t| instant(t, &self.zone)),
        };
        match self.format {
            Format::Jsonl => {
                serde_json::to_writer(&mut self.out, &row).map_err(std::io::Error::other)?;
                self.out.write_all(b"\n")?;
            }
            Format::Json => {
                self.out.write_all(if self.rows == 0 { b"\n" } else { b",\n" })?;
                serde_json::to_writer(&mut self.out, &row).map_err(std::io::Error::other)?;
            }
            Format::Csv => {
                let fields = [
                    row.usage_point_id.to_owned(),
                    row.series.to_owned(),
                    row.start,
                    row.end,
                    row.value.map(number).unwrap_or_default(),
                    row.unit.to_owned(),
                    row.step,
                    row.energy_wh.map(number).unwrap_or_default(),
                    row.peak_at.unwrap_or_default(),
                ];
                if self.rows == 0 {
                    writeln!(self.out, "{}", COLUMNS.join(","))?;
                }
                // No field can hold a comma or a quote (digits, series names,
                // RFC 3339 stamps, numbers), so no quoting is needed.
                writeln!(self.out, "{}", fields.join(","))?;
            }
            Format::Table => {
                writeln!(
                    self.out,
                    "{:<14}  {:<21}  {:<25}  {:<25}  {:>10}  {:<4}  {:<5}  {:>10}  {}",
                    row.usage_point_id,
                    row.series,
                    row.start,
                    row.end,
                    row.value.map(number).unwrap_or_else(|| "null".into()),
                    row.unit,
                    row.step,
                    row.energy_wh.map(|e| format!("{e:.1}")).unwrap_or_default(),
                    row.peak_at.unwrap_or_default()
                )?;
            }
            Format::Influx => {}
        }
        self.rows += 1;
        Ok(())
    }

    /// Flushes what was written so far (a streamed answer sends it).
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    /// Writes the closing bracket (JSON) or the header of an empty CSV, and flushes.
    pub fn finish(mut self) -> std::io::Result<u64> {
        match self.format {
            Format::Json => self.out.write_all(if self.rows == 0 { b"]\n" } else { b"\n]\n" })?,
            Format::Csv if self.rows == 0 => writeln!(self.out, "{}", COLUMNS.join(","))?,
            _ => {}
        }
        self.out.flush()?;
        Ok(self.rows)
    }
}

/// Writes `text` to standard output; a reader that closed the pipe
/// (`| head`) is its choice, not a failure.
pub fn print_stdout(text: &str) -> Result<(), crate::error::CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataconnect::Unit;
    use dataconnect::domain::paris_day_start;
    use jiff::civil::date;

    #[test]
    fn daily_rows_are_local_days_with_offsets() {
        let prm = UsagePointId::new("12345678901234").unwrap();
        let r = Reading {
            start: paris_day_start(date(2025, 3, 30)),
            end: paris_day_start(date(2025, 3, 31)),
            value: Some(1200.0),
            unit: Unit::Wh,
            peak_at: None,
        };
        let mut buf = Vec::new();
        let mut w = ReadingWriter::new(&mut buf, Format::Csv, Tz::Paris).unwrap();
        w.write(&prm, Series::ConsumptionDaily, &r).unwrap();
        w.finish().unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(
            text.lines().nth(1).unwrap(),
            "12345678901234,consumption-daily,2025-03-30T00:00:00+01:00,2025-03-31T00:00:00+02:00,1200,Wh,P1D,,"
        );
        let mut buf = Vec::new();
        let mut w = ReadingWriter::new(&mut buf, Format::Json, Tz::Utc).unwrap();
        w.write(&prm, Series::ConsumptionDaily, &r).unwrap();
        w.finish().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v[0]["start"], "2025-03-29T23:00:00+00:00");
        assert_eq!(v[0]["energy_wh"], serde_json::Value::Null);
    }
}
