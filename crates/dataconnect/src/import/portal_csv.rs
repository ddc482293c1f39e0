//! The Enedis customer portal's CSV, served until early 2025 and still on
//! many disks: `;`-separated, line 1 the metadata names (`Identifiant
//! PRM;Type de donnees;Date de debut;Date de fin;Grandeur physique;Grandeur
//! metier;Etape metier;Unite;Pas en minutes`), line 2 their values, then
//! `Horodate;Valeur` and one row per point (`2020-08-20T23:40:00+02:00;270`).
//!
//! The unit of line 2 says what the file holds: `W` a load curve (average
//! power, the stamp being the interval's end), `Wh` daily energy, `VA`
//! daily maximum power (the stamp being the peak's instant). Rows may come
//! newest first, values may be empty (kept as no value), and the step may be
//! blank, in which case it is inferred from consecutive stamps. The index
//! variant (`Horodate;Type de releve;EAS F1…`, 8 metadata fields) is
//! recognised and refused as not supported yet.

use super::common::{self, CurveRow, DayRow, RawPart, fold, short};
use super::{ImportError, ImportErrorKind};
use crate::domain::{Direction, Measure, Series, UsagePointId};

const INDEX_UNSUPPORTED: &str = "import the portal's load curve, daily energy or maximum power file instead";

/// What line 2 says.
struct Meta {
    prm: UsagePointId,
    series: Series,
    factor: f64,
    step: Option<i64>,
}

pub(crate) fn read(text: &str) -> Result<Vec<RawPart>, ImportError> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let (_, names) = lines.next().unwrap_or((1, ""));
    let names: Vec<String> = names.split(';').map(fold).collect();
    if !names.first().is_some_and(|n| n.starts_with("identifiant prm")) {
        return Err(ImportError::line(
            1,
            "the first line is not the portal's header (Identifiant PRM;Type de donnees;…)".into(),
            "check that this is an Enedis portal CSV, or name its format with --format",
        ));
    }
    if names.len() == 8 || names.iter().any(|n| n.contains("type de releve")) {
        return Err(index_file(1));
    }
    let (_, values) = lines.next().ok_or_else(|| {
        ImportError::line(2, "the metadata line is missing".into(), "download the file again from the Enedis portal")
    })?;
    let meta = meta(&names, values)?;
    let mut header_seen = false;
    let mut curve_rows = Vec::new();
    let mut day_rows = Vec::new();
    let mut skipped = Vec::new();
    for (line, text) in lines {
        if text.trim().is_empty() {
            continue;
        }
        if !header_seen {
            let folded = fold(text);
            if folded.contains("type de releve") || folded.contains("eas f1") {
                return Err(index_file(line));
            }
            if !folded.starts_with("horodate") {
                return Err(ImportError::line(
                    line,
                    format!("expected the column names Horodate;Valeur, found {:?}", short(text)),
                    "download the file again from the Enedis portal",
                ));
            }
            header_seen = true;
            continue;
        }
        let mut fields = text.split(';');
        let (stamp_text, value_text) = (fields.next().unwrap_or(""), fields.next());
        let Some(value_text) = value_text else {
            return Err(ImportError::line(
                line,
                format!("expected Horodate;Valeur, found {:?}", short(text)),
                "fix or remove the line",
            ));
        };
        let stamp = common::stamp(stamp_text).ok_or_else(|| bad_stamp(line, stamp_text))?;
        let value = common::number(value_text).map_err(|()| bad_value(line, value_text))?;
        if meta.series.is_curve() {
            curve_rows.push(CurveRow { line, begin: None, end: stamp, value });
        } else {
            // A maximum power row stamps the peak; a stamp at midnight
            // names only the day.
            let peak = (meta.series.measure() == Measure::MaxPower && !common::at_midnight(stamp)).then_some(stamp);
            day_rows.push(DayRow { line, day: common::local_day(stamp), value, peak });
        }
    }
    let readings = if meta.series.is_curve() {
        common::curve(curve_rows, meta.step, meta.factor, &mut skipped)?
    } else {
        common::days(day_rows, meta.series.unit(), meta.factor, &mut skipped)
    };
    Ok(vec![RawPart { prm: Some(meta.prm), series: meta.series, readings, skipped }])
}

fn index_file(line: usize) -> ImportError {
    ImportError::new(
        ImportErrorKind::Unsupported,
        Some(format!("line {line}")),
        "this is a portal index file (Type de releve;EAS F1…): index readings are not supported yet".into(),
        INDEX_UNSUPPORTED,
    )
}

fn bad_stamp(line: usize, text: &str) -> ImportError {
    ImportError::line(
        line,
        format!("cannot read the time stamp {:?}", short(text)),
        "write it as 2020-08-20T23:40:00+02:00 (or without the offset, in Paris time)",
    )
}

fn bad_value(line: usize, text: &str) -> ImportError {
    ImportError::line(
        line,
        format!("cannot read the value {:?} as a number", short(common::unquote(text))),
        "write a number (270, 4,03 or 4.03) or leave it empty",
    )
}

/// Reads line 2 against the names of line 1.
fn meta(names: &[String], values: &str) -> Result<Meta, ImportError> {
    let values: Vec<&str> = values.split(';').map(str::trim).collect();
    let field = |name: &str| names.iter().position(|n| n.starts_with(name)).and_then(|i| values.get(i).copied());
    let prm_text = field("identifiant prm").unwrap_or("");
    let prm = UsagePointId::new(prm_text).map_err(|e| {
        ImportError::line(2, e.to_string(), "put the meter's PRM in the first field of line 2, or give it with --prm")
    })?;
    let kind = fold(field("type de donnees").unwrap_or(""));
    let unit = field("unite").unwrap_or("").trim().to_owned();
    let (measure, factor) = match unit.as_str() {
        "W" => (Measure::LoadCurve, 1.0),
        "kW" => (Measure::LoadCurve, 1000.0),
        "Wh" => (Measure::Daily, 1.0),
        "kWh" => (Measure::Daily, 1000.0),
        "VA" => (Measure::MaxPower, 1.0),
        "kVA" => (Measure::MaxPower, 1000.0),
        "" if kind.contains("courbe") => (Measure::LoadCurve, 1.0),
        "" if kind.contains("puissance") => (Measure::MaxPower, 1.0),
        "" if kind.contains("energie") || kind.contains("journ") => (Measure::Daily, 1.0),
        other => {
            return Err(ImportError::line(
                2,
                format!("unknown unit {:?} (Unite)", short(other)),
                "the portal's files say W (load curve), Wh (daily energy) or VA (maximum power)",
            ));
        }
    };
    let business = fold(field("grandeur metier").unwrap_or(""));
    let direction = if business.contains("production") || business.contains("injection") {
        Direction::Production
    } else {
        Direction::Consumption
    };
    let series = match (measure, direction) {
        (Measure::LoadCurve, Direction::Consumption) => Series::ConsumptionCurve,
        (Measure::LoadCurve, Direction::Production) => Series::ProductionCurve,
        (Measure::Daily, Direction::Consumption) => Series::ConsumptionDaily,
        (Measure::Daily, Direction::Production) => Series::ProductionDaily,
        (Measure::MaxPower, Direction::Consumption) => Series::ConsumptionMaxPower,
        (Measure::Index, _) => {
            return Err(ImportError::new(
                ImportErrorKind::Unsupported,
                Some("line 2".into()),
                "index readings are not imported from the portal's files".into(),
                "sync them from the API (`--series consumption-index`)",
            ));
        }
        (Measure::MaxPower, Direction::Production) => {
            return Err(ImportError::new(
                ImportErrorKind::Unsupported,
                Some("line 2".into()),
                "a maximum power of production is not a series of this toolkit".into(),
                "import the production load curve or daily energy instead",
            ));
        }
    };
    // Only a load curve has a step; daily files may say 1440 or nothing.
    let step_text = field("pas").unwrap_or("").trim();
    let step = match step_text {
        _ if measure != Measure::LoadCurve => None,
        "" => None,
        t => match t.parse::<i64>() {
            Ok(m @ (5 | 10 | 15 | 30 | 60)) => Some(m * 60),
            _ => {
                return Err(ImportError::line(
                    2,
                    format!("the step {:?} (Pas en minutes) is not 5, 10, 15, 30 or 60", short(t)),
                    "correct it or leave it blank to have it inferred from the stamps",
                ));
            }
        },
    };
    Ok(Meta { prm, series, factor, step })
}
