//! Every element of a `puissance_conso_max_quotidienne` answer: `PMA`, and
//! with `grandeurPhysique=TOUT` on a three-phase meter `PMA1`, `PMA2` and
//! `PMA3`, per day (`mesuresPas=P1D`) or per month (`P1M`).
//!
//! A monthly point's `d` is the instant of the month's maximum (no example
//! of `P1M` exists: inferred from the Swagger's description); its reading
//! covers the Paris calendar month holding that instant.

use super::super::{parse_day, parse_stamp, peak_instant, ts, unit_factor};
use super::Mesure;
use crate::domain::{Reading, Unit};
use crate::error::{Error, ErrorKind};

/// The readings of one element, by its `grandeurPhysique`.
pub(crate) struct MaxElement {
    /// `PMA`, `PMA1`, `PMA2` or `PMA3`.
    pub physique: String,
    /// One reading per day or month, in order.
    pub readings: Vec<Reading>,
}

/// Decodes every consumption element of a max-power body.
pub(crate) fn decode_max_power(body: &[u8], monthly: bool) -> Result<Vec<MaxElement>, Error> {
    let m: Mesure = super::super::from_slice(body, "mesure_synchrone_auto")?;
    let mut out = Vec::new();
    for (gi, g) in m.grandeur.unwrap_or_default().iter().enumerate() {
        if g.grandeur_metier.as_deref().is_some_and(|x| !x.eq_ignore_ascii_case("CONS")) {
            continue;
        }
        let factor = unit_factor(g.unite.as_deref(), Unit::VA);
        let mut readings = Vec::new();
        for (i, p) in g.points.as_deref().unwrap_or_default().iter().enumerate() {
            let day = parse_day(&p.d).ok_or_else(|| {
                Error::new(
                    ErrorKind::Decode,
                    format!("cannot decode the mesure_synchrone_auto answer at `grandeur[{gi}].points[{i}].d` (value: {:?})", p.d),
                )
            })?;
            let value = p.v.0.map(|v| v * factor);
            let peak =
                (value.is_some() && p.d.trim().len() > 10).then(|| parse_stamp(&p.d).map(peak_instant)).flatten();
            let (start, end) = if monthly { month_of(day) } else { (day, day + 86_400) };
            readings.push(Reading {
                start: ts(super::super::paris_fast::local_midnight_to_utc(start)),
                end: ts(super::super::paris_fast::local_midnight_to_utc(end)),
                value,
                unit: Unit::VA,
                peak_at: peak,
            });
        }
        readings.sort_by_key(|r| r.start);
        let physique = g.grandeur_physique.as_deref().unwrap_or("PMA").trim().to_ascii_uppercase();
        out.push(MaxElement { physique, readings });
    }
    Ok(out)
}

/// The local midnights starting and ending the calendar month of the local
/// midnight `day`.
fn month_of(day: i64) -> (i64, i64) {
    let days = day.div_euclid(86_400);
    let date =
        jiff::civil::date(1970, 1, 1).checked_add(jiff::Span::new().days(days)).unwrap_or(jiff::civil::Date::MIN);
    let first = date.first_of_month();
    let next = first.checked_add(jiff::Span::new().months(1)).unwrap_or(first);
    let secs = |d: jiff::civil::Date| {
        super::super::paris_fast::days_from_civil(i64::from(d.year()), i64::from(d.month()), i64::from(d.day()))
            * 86_400
    };
    (secs(first), secs(next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tout_gives_every_phase_and_p1m_covers_months() {
        let body = br#"{"pas":"P1M","grandeur":[
          {"grandeurMetier":"CONS","grandeurPhysique":"PMA","unite":"VA","points":[{"v":"6510","d":"2026-09-30 12:50:25"},{"v":"7000","d":"2026-10-25 02:30:00"}]},
          {"grandeurMetier":"CONS","grandeurPhysique":"PMA1","unite":"VA","points":[{"v":"2100","d":"2026-09-30 12:50:25"},{"v":"null","d":"2026-10-01 00:00:00"}]},
          {"grandeurMetier":"CONS","grandeurPhysique":"PMA2","unite":"kVA","points":[{"v":"2","d":"2026-09-30 12:50:25"}]}]}"#;
        let e = decode_max_power(body, true).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e.iter().map(|x| x.physique.as_str()).collect::<Vec<_>>(), ["PMA", "PMA1", "PMA2"]);
        let september = &e[0].readings[0];
        assert_eq!(september.start.to_string(), "2026-08-31T22:00:00Z");
        assert_eq!(september.end.to_string(), "2026-09-30T22:00:00Z");
        assert_eq!(september.value, Some(6510.0));
        assert_eq!(september.peak_at.map(|t| t.to_string()).as_deref(), Some("2026-09-30T10:50:25Z"));
        // October runs to November's first midnight (CET).
        assert_eq!(e[0].readings[1].end.to_string(), "2026-10-31T23:00:00Z");
        assert_eq!((e[1].readings[1].value, e[1].readings[1].peak_at), (None, None));
        assert_eq!(e[2].readings[0].value, Some(2000.0));
    }
}
