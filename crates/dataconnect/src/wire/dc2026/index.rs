//! `ReponseMesureAccesIndex`, the body of `mesure_synchrone_auto/v2`'s
//! `index_consommation` and `index_production`.
//!
//! ```json
//! {"idPrm":"…","periode":{"dateDebut":"2026-11-01","dateFin":"2026-11-03"},"grandeur":[],
//!  "contexte":[{"etapeMetier":"BRUT","contexteReleve":"COL","typeReleve":"AQ",
//!   "grandeur":[{"grandeurMetier":"CONS","grandeurPhysique":"EA","unite":"Wh","points":[],
//!    "calendrier":[{"idCalendrier":"DI000003","libelleCalendrier":"…","classeTemporelle":[
//!      {"idClasseTemporelle":"HPH","libelleClasseTemporelle":"…","codeCadran":"…","valeur":[{"d":"2026-11-01","v":1234567,"iv":0}]}]}],
//!    "cadranTotalisateur":{"codeCadran":"…","valeur":[{"d":"2026-11-01","v":2345678,"iv":0}]}}]}]}
//! ```
//!
//! The top-level `grandeur` is documented as an empty array; the registers
//! are under `contexte[].grandeur[]`. Both are read, so a body that puts
//! them at the top still decodes. `v` and `iv` are integers in the
//! Swagger; numeric strings and `null` are accepted too. No capture of a
//! real answer exists: the form of `d` is unknown, so a day
//! (`YYYY-MM-DD`) and a local or offset date-time are all accepted, the
//! reading's day being the date part.

use std::borrow::Cow;

use serde::Deserialize;

use super::super::{Text, Val, opt_text, paris_fast, parse_day, parse_stamp, peak_instant, ts, unit_factor};
use crate::domain::{DateRange, Direction, IndexReading, Series, TOTAL_CALENDAR, Unit};
use crate::error::{Error, ErrorKind};

#[derive(Deserialize)]
struct Reponse<'a> {
    #[serde(borrow, default)]
    grandeur: Option<Vec<Grandeur<'a>>>,
    #[serde(borrow, default)]
    contexte: Option<Vec<Contexte<'a>>>,
}

#[derive(Deserialize)]
struct Contexte<'a> {
    #[serde(borrow, default)]
    grandeur: Option<Vec<Grandeur<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Grandeur<'a> {
    #[serde(borrow, default)]
    grandeur_metier: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    unite: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    calendrier: Option<Vec<Calendrier<'a>>>,
    #[serde(borrow, default)]
    cadran_totalisateur: Option<Cadran<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Calendrier<'a> {
    #[serde(borrow, default)]
    id_calendrier: Option<Text<'a>>,
    #[serde(borrow, default)]
    libelle_calendrier: Option<Text<'a>>,
    #[serde(borrow, default)]
    classe_temporelle: Option<Vec<Classe<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Classe<'a> {
    #[serde(borrow, default)]
    id_classe_temporelle: Option<Text<'a>>,
    #[serde(borrow, default)]
    libelle_classe_temporelle: Option<Text<'a>>,
    #[serde(borrow, default)]
    code_cadran: Option<Text<'a>>,
    #[serde(borrow, default)]
    valeur: Option<Vec<Valeur<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cadran<'a> {
    #[serde(borrow, default)]
    code_cadran: Option<Text<'a>>,
    #[serde(borrow, default)]
    valeur: Option<Vec<Valeur<'a>>>,
}

#[derive(Deserialize)]
struct Valeur<'a> {
    #[serde(borrow)]
    d: Cow<'a, str>,
    #[serde(default)]
    v: Val,
    #[serde(default)]
    iv: Val,
}

/// One register as the body names it.
struct Register {
    calendar_id: String,
    calendar_label: Option<String>,
    class_id: String,
    class_label: Option<String>,
    register: Option<String>,
}

/// Decodes an index body for `series`, keeping the readings of `window`'s
/// days, ordered by calendar, class and day.
pub(crate) fn decode_index(body: &[u8], series: Series, window: DateRange) -> Result<Vec<IndexReading>, Error> {
    let r: Reponse = super::super::from_slice(body, "mesure_synchrone_auto index")?;
    let want = match series.direction() {
        Direction::Consumption => "CONS",
        Direction::Production => "PROD",
    };
    let nested = r.contexte.iter().flatten().flat_map(|c| c.grandeur.iter().flatten());
    let mut out = Vec::new();
    for (gi, g) in r.grandeur.iter().flatten().chain(nested).enumerate() {
        if g.grandeur_metier.as_deref().is_some_and(|m| !m.eq_ignore_ascii_case(want)) {
            continue;
        }
        let factor = unit_factor(g.unite.as_deref(), Unit::Wh);
        for cal in g.calendrier.iter().flatten() {
            let calendar_id = opt_text(&cal.id_calendrier).unwrap_or_default();
            for class in cal.classe_temporelle.iter().flatten() {
                let reg = Register {
                    calendar_id: calendar_id.clone(),
                    calendar_label: opt_text(&cal.libelle_calendrier),
                    class_id: opt_text(&class.id_classe_temporelle).unwrap_or_default(),
                    class_label: opt_text(&class.libelle_classe_temporelle),
                    register: opt_text(&class.code_cadran),
                };
                push_values(&mut out, &reg, class.valeur.as_deref().unwrap_or_default(), factor, gi)?;
            }
        }
        if let Some(total) = &g.cadran_totalisateur {
            let code = opt_text(&total.code_cadran);
            let reg = Register {
                calendar_id: TOTAL_CALENDAR.to_owned(),
                calendar_label: None,
                class_id: code.clone().unwrap_or_else(|| TOTAL_CALENDAR.to_owned()),
                class_label: None,
                register: code,
            };
            push_values(&mut out, &reg, total.valeur.as_deref().unwrap_or_default(), factor, gi)?;
        }
    }
    out.retain(|x| x.day >= window.start() && x.day < window.end());
    out.sort_by(|a, b| (&a.calendar_id, &a.class_id, a.day).cmp(&(&b.calendar_id, &b.class_id, b.day)));
    out.dedup_by(|b, a| a.calendar_id == b.calendar_id && a.class_id == b.class_id && a.day == b.day);
    Ok(out)
}

fn push_values(
    out: &mut Vec<IndexReading>,
    reg: &Register,
    values: &[Valeur<'_>],
    factor: f64,
    gi: usize,
) -> Result<(), Error> {
    for (i, v) in values.iter().enumerate() {
        let bad = || {
            Error::new(
                ErrorKind::Decode,
                format!(
                    "cannot decode the mesure_synchrone_auto index answer at `grandeur[{gi}]…valeur[{i}].d` (value: {:?})",
                    v.d
                ),
            )
        };
        let local_midnight = parse_day(&v.d).ok_or_else(bad)?;
        let day = local_day(local_midnight).ok_or_else(bad)?;
        let at = match parse_stamp(&v.d) {
            Some(stamp) if v.d.trim().len() > 10 => peak_instant(stamp),
            _ => ts(paris_fast::local_midnight_to_utc(local_midnight)),
        };
        out.push(IndexReading {
            day,
            at,
            calendar_id: reg.calendar_id.clone(),
            calendar_label: reg.calendar_label.clone(),
            class_id: reg.class_id.clone(),
            class_label: reg.class_label.clone(),
            register: reg.register.clone(),
            value_wh: v.v.0.filter(|x| x.is_finite()).map(|x| (x * factor).round() as i64),
            likelihood: v.iv.0.filter(|x| x.is_finite()).map(|x| x.round() as i64),
        });
    }
    Ok(())
}

/// The civil date of local seconds at midnight.
fn local_day(local_midnight: i64) -> Option<jiff::civil::Date> {
    let days = local_midnight.div_euclid(86_400);
    jiff::civil::date(1970, 1, 1).checked_add(jiff::Span::new().days(days)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    const BODY: &str = r#"{"idPrm":"12345678901234","periode":{"dateDebut":"2026-11-01","dateFin":"2026-11-03"},"grandeur":[],
      "contexte":[{"etapeMetier":"BRUT","contexteReleve":"COL","typeReleve":"AQ","grandeur":[
        {"grandeurMetier":"CONS","grandeurPhysique":"EA","unite":"Wh","points":[],
         "calendrier":[
           {"idCalendrier":"DI000003","libelleCalendrier":"Avec différenciation temporelle et saisonnière","classeTemporelle":[
             {"idClasseTemporelle":"HPH","libelleClasseTemporelle":"Heures Pleines Hiver","codeCadran":"C3","valeur":[{"d":"2026-11-02","v":1500,"iv":0},{"d":"2026-11-01","v":1000,"iv":0}]},
             {"idClasseTemporelle":"HCH","libelleClasseTemporelle":"Heures Creuses Hiver","codeCadran":"C4","valeur":[{"d":"2026-11-01 00:00:00","v":"200","iv":"0"},{"d":"2026-11-02","v":null}]}]},
           {"idCalendrier":"FC000012","libelleCalendrier":"HP/HC","classeTemporelle":[
             {"idClasseTemporelle":"HP","valeur":[{"d":"2026-11-01","v":900},{"d":"2026-11-05","v":1}]}]}],
         "cadranTotalisateur":{"codeCadran":"T","valeur":[{"d":"2026-11-01","v":5000,"iv":0}]}},
        {"grandeurMetier":"PROD","unite":"Wh","calendrier":[{"idCalendrier":"DI000001","classeTemporelle":[{"idClasseTemporelle":"BASE","valeur":[{"d":"2026-11-01","v":7}]}]}]}]}]}"#;

    fn window() -> DateRange {
        DateRange::new(date(2026, 11, 1), date(2026, 11, 3)).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn registers_of_both_calendars_and_the_totaliser() {
        let r = decode_index(BODY.as_bytes(), Series::ConsumptionIndex, window()).unwrap_or_else(|e| panic!("{e}"));
        let keys: Vec<(&str, &str, jiff::civil::Date, Option<i64>)> =
            r.iter().map(|x| (x.calendar_id.as_str(), x.class_id.as_str(), x.day, x.value_wh)).collect();
        assert_eq!(
            keys,
            [
                ("DI000003", "HCH", date(2026, 11, 1), Some(200)),
                ("DI000003", "HCH", date(2026, 11, 2), None),
                ("DI000003", "HPH", date(2026, 11, 1), Some(1000)),
                ("DI000003", "HPH", date(2026, 11, 2), Some(1500)),
                // The day outside the window is dropped.
                ("FC000012", "HP", date(2026, 11, 1), Some(900)),
                (TOTAL_CALENDAR, "T", date(2026, 11, 1), Some(5000)),
            ]
        );
        assert_eq!(r[2].register.as_deref(), Some("C3"));
        assert_eq!(r[2].class_label.as_deref(), Some("Heures Pleines Hiver"));
        // 2026-11-01 00:00 Paris is 2026-10-31T23:00Z.
        assert_eq!(r[0].at.to_string(), "2026-10-31T23:00:00Z");
        let prod = decode_index(BODY.as_bytes(), Series::ProductionIndex, window()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(prod.len(), 1);
    }

    #[test]
    fn an_empty_grandeur_is_a_valid_answer() {
        let body = br#"{"idPrm":"1","periode":{"dateDebut":"2026-11-01","dateFin":"2026-11-03"},"grandeur":[]}"#;
        assert!(decode_index(body, Series::ConsumptionIndex, window()).is_ok_and(|r| r.is_empty()));
    }

    #[test]
    fn a_bad_day_names_its_path() {
        let body = br#"{"grandeur":[{"calendrier":[{"idCalendrier":"DI1","classeTemporelle":[{"idClasseTemporelle":"X","valeur":[{"d":"soon","v":1}]}]}]}]}"#;
        let e = decode_index(body, Series::ConsumptionIndex, window()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("valeur[0].d") && e.contains("soon"), "{e}");
    }
}
