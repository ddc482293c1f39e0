//! Index readings as the CLI prints them: one row per meter, index series,
//! calendar, class and day, in the formats of the readings (`export
//! --series consumption-index`).
//!
//! The rows have their own schema, since a register is not an interval:
//! `usage_point_id`, `series`, `day` (the Paris civil day), `at` (when the
//! register was read, RFC 3339 with offset), `calendar_id`,
//! `calendar_owner` (`distributor`, `supplier` or `total`),
//! `calendar_label`, `class_id`, `class_label`, `register`, `value` (Wh,
//! `null` where the API gave none), `unit` (`Wh`) and `likelihood`.

use std::io::Write;

use dataconnect::{IndexReading, Series, UsagePointId};
use jiff::tz::TimeZone;
use serde::Serialize;

use super::{Format, Tz, instant};

#[derive(Serialize)]
struct Row<'a> {
    usage_point_id: &'a str,
    series: &'a str,
    day: String,
    at: String,
    calendar_id: &'a str,
    calendar_owner: &'a str,
    calendar_label: Option<&'a str>,
    class_id: &'a str,
    class_label: Option<&'a str>,
    register: Option<&'a str>,
    value: Option<i64>,
    unit: &'a str,
    likelihood: Option<i64>,
}

const COLUMNS: [&str; 13] = [
    "usage_point_id",
    "series",
    "day",
    "at",
    "calendar_id",
    "calendar_owner",
    "calendar_label",
    "class_id",
    "class_label",
    "register",
    "value",
    "unit",
    "likelihood",
];

/// Writes index readings in one format, one at a time.
pub struct IndexWriter<W: Write> {
    out: W,
    format: Format,
    zone: TimeZone,
    rows: u64,
}

/// A CSV field: quoted when it holds a comma, a quote or a line break
/// (labels are free text from the API).
fn csv(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

impl<W: Write> IndexWriter<W> {
    /// A writer in `format` and `tz`; writes the header or opening bracket.
    pub fn new(out: W, format: Format, tz: Tz) -> std::io::Result<Self> {
        let mut w = IndexWriter { out, format, zone: tz.zone(), rows: 0 };
        match format {
            Format::Table => writeln!(
                w.out,
                "{:<14}  {:<17}  {:<10}  {:<10}  {:<11}  {:<8}  {:>12}  unit",
                "usage_point_id", "series", "day", "calendar", "owner", "class", "value"
            )?,
            Format::Json => w.out.write_all(b"[")?,
            Format::Csv | Format::Jsonl | Format::Influx => {}
        }
        Ok(w)
    }

    /// Writes one register reading.
    pub fn write(&mut self, prm: &UsagePointId, series: Series, r: &IndexReading) -> std::io::Result<()> {
        let row = Row {
            usage_point_id: prm.as_str(),
            series: series.as_str(),
            day: r.day.to_string(),
            at: instant(r.at, &self.zone),
            calendar_id: &r.calendar_id,
            calendar_owner: r.owner().as_str(),
            calendar_label: r.calendar_label.as_deref(),
            class_id: &r.class_id,
            class_label: r.class_label.as_deref(),
            register: r.register.as_deref(),
            value: r.value_wh,
            unit: "Wh",
            likelihood: r.likelihood,
        };
        match self.format {
            // Line protocol: one point per register reading, at the instant
            // it was read; a reading without a value has no field to write.
            Format::Influx => {
                if let Some(v) = row.value {
                    let tag = |t: &str| t.replace([',', ' ', '='], "_");
                    writeln!(
                        self.out,
                        "dataconnect_index,usage_point_id={},series={},calendar_id={},calendar_owner={},class_id={} value={v}i {}",
                        row.usage_point_id,
                        row.series,
                        tag(row.calendar_id),
                        row.calendar_owner,
                        tag(row.class_id),
                        r.at.as_second()
                    )?;
                }
            }
            Format::Jsonl => {
                serde_json::to_writer(&mut self.out, &row).map_err(std::io::Error::other)?;
                self.out.write_all(b"\n")?;
            }
            Format::Json => {
                self.out.write_all(if self.rows == 0 { b"\n" } else { b",\n" })?;
                serde_json::to_writer(&mut self.out, &row).map_err(std::io::Error::other)?;
            }
            Format::Csv => {
                if self.rows == 0 {
                    writeln!(self.out, "{}", COLUMNS.join(","))?;
                }
                let opt = |v: Option<&str>| v.map(csv).unwrap_or_default();
                let num = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
                let fields = [
                    row.usage_point_id.to_owned(),
                    row.series.to_owned(),
                    row.day.clone(),
                    row.at.clone(),
                    csv(row.calendar_id),
                    row.calendar_owner.to_owned(),
                    opt(row.calendar_label),
                    csv(row.class_id),
                    opt(row.class_label),
                    opt(row.register),
                    num(row.value),
                    row.unit.to_owned(),
                    num(row.likelihood),
                ];
                writeln!(self.out, "{}", fields.join(","))?;
            }
            Format::Table => writeln!(
                self.out,
                "{:<14}  {:<17}  {:<10}  {:<10}  {:<11}  {:<8}  {:>12}  Wh",
                row.usage_point_id,
                row.series,
                row.day,
                row.calendar_id,
                row.calendar_owner,
                row.class_id,
                row.value.map(|v| v.to_string()).unwrap_or_else(|| "null".into()),
            )?,
        }
        self.rows += 1;
        Ok(())
    }

    /// Writes the closing bracket (JSON) or the header of an empty CSV, and
    /// flushes.
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

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn csv_rows_quote_free_text() {
        let mut buf = Vec::new();
        let mut w = IndexWriter::new(&mut buf, Format::Csv, Tz::Paris).unwrap_or_else(|e| panic!("{e}"));
        let prm = UsagePointId::new("12345678901234").unwrap_or_else(|e| panic!("{e}"));
        let r = IndexReading {
            day: date(2026, 11, 1),
            at: "2026-10-31T23:00:00Z".parse().unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            calendar_id: "DI000003".into(),
            calendar_label: Some("Avec différenciation temporelle et saisonnière".into()),
            class_id: "HPH".into(),
            class_label: Some("Heures Pleines, Hiver".into()),
            register: None,
            value_wh: Some(1234),
            likelihood: Some(0),
        };
        w.write(&prm, Series::ConsumptionIndex, &r).unwrap_or_else(|e| panic!("{e}"));
        w.finish().unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8(buf).unwrap_or_default();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(COLUMNS.join(",").as_str()));
        assert_eq!(
            lines.next(),
            Some(
                "12345678901234,consumption-index,2026-11-01,2026-11-01T00:00:00+01:00,DI000003,distributor,Avec différenciation temporelle et saisonnière,HPH,\"Heures Pleines, Hiver\",,1234,Wh,0"
            )
        );
    }
}
