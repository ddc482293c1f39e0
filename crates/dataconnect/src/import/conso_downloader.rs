//! The CSV of the Conso Downloader tool: the file name
//! `historique_(conso|prod)_<PRM>_<YYYY-MM-DD>.csv` says the meter and the
//! direction, the header is `debut;fin;kW`, and each row gives an
//! interval's start and end in Paris local time and its average power in kW
//! as a quoted number with a decimal comma (`2023-12-12T00:00;
//! 2023-12-12T00:30;"0,696"`), oldest first.
//!
//! Both ends are given, so the step of every row is its own interval (the
//! wall-clock difference, one hour shorter or longer across a DST change),
//! and the end stamps go through the wire decoders' resolver.

use super::common::{self, CurveRow, RawPart, fold, short};
use super::{ImportError, ImportErrorKind};
use crate::domain::{Series, UsagePointId};

/// The meter and series the file name says, when it follows the tool's
/// pattern.
fn from_name(name: &str) -> (Option<UsagePointId>, Series) {
    let lower = name.to_ascii_lowercase();
    let series = if lower.starts_with("historique_prod") { Series::ProductionCurve } else { Series::ConsumptionCurve };
    let prm = lower
        .split(['_', '.', '-', ' '])
        .find(|p| p.len() == 14 && p.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|p| UsagePointId::new(p).ok());
    (prm, series)
}

pub(crate) fn read(name: &str, text: &str) -> Result<Vec<RawPart>, ImportError> {
    let (prm, series) = from_name(name);
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let (_, header) = lines.next().unwrap_or((1, ""));
    let names: Vec<String> = header.split(';').map(|n| fold(common::unquote(n))).collect();
    let factor = match names.get(2).map(String::as_str) {
        Some("kw") if names[0] == "debut" && names[1] == "fin" => 1000.0,
        Some("w") if names[0] == "debut" && names[1] == "fin" => 1.0,
        _ => {
            return Err(ImportError::new(
                ImportErrorKind::Malformed,
                Some("line 1".into()),
                format!("expected the header debut;fin;kW, found {:?}", short(header)),
                "check that this is a Conso Downloader file of average power (kW), or name its format with --format",
            ));
        }
    };
    let mut rows = Vec::new();
    for (line, text) in lines {
        if text.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = text.split(';').collect();
        let [begin, end, value] = fields[..] else {
            return Err(ImportError::line(
                line,
                format!("expected three fields debut;fin;kW, found {:?}", short(text)),
                "fix or remove the line",
            ));
        };
        let stamp = |s: &str| {
            common::stamp(s).ok_or_else(|| {
                ImportError::line(
                    line,
                    format!("cannot read the time stamp {:?}", short(s)),
                    "write it as 2023-12-12T00:30 (Paris time)",
                )
            })
        };
        let value = common::number(value).map_err(|()| {
            ImportError::line(
                line,
                format!("cannot read the power {:?} as a number", short(common::unquote(value))),
                "write it as \"0,696\" or leave it empty",
            )
        })?;
        rows.push(CurveRow { line, begin: Some(stamp(begin)?), end: stamp(end)?, value });
    }
    let mut skipped = Vec::new();
    let readings = common::curve(rows, None, factor, &mut skipped)?;
    Ok(vec![RawPart { prm, series, readings, skipped }])
}
