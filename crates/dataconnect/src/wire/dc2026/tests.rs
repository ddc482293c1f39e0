//! Unit tests on 2026 bodies written from the spec's examples (§10).

use super::*;
use crate::domain::Unit;
use jiff::civil::{date, time};

fn range(a: jiff::civil::Date, b: jiff::civil::Date) -> DateRange {
    DateRange::new(a, b).unwrap()
}

#[test]
fn daily_consumption() {
    let body =
        br#"{"idPrm":"99999999999991","etapeMetier":"BRUT","periode":{"dateDebut":"2026-09-29","dateFin":"2026-10-01"},
  "typeValeur":"GLOBALE","modeCalcul":"DIFF.INDEX","pas":"P1D",
  "grandeur":[{"grandeurMetier":"CONS","grandeurPhysique":"EA","unite":"Wh",
     "points":[{"v":"33495","d":"2026-09-29"},{"v":"38022","d":"2026-09-30"}],"calendrier":[]}],"contexte":[]}"#;
    let r = decode_readings(body, Series::ConsumptionDaily, range(date(2026, 9, 29), date(2026, 10, 1))).unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].start.to_string(), "2026-09-28T22:00:00Z");
    assert_eq!(r[1].value, Some(38022.0));
    // The same body asked as production: the CONS grandeur is skipped.
    let r = decode_readings(body, Series::ProductionDaily, range(date(2026, 9, 29), date(2026, 10, 1))).unwrap();
    assert!(r.is_empty());
}

#[test]
fn load_curve() {
    let body = br#"{"idPrm":"99999999999991","etapeMetier":"BRUT","periode":{"dateDebut":"2026-09-29","dateFin":"2026-09-30"},
  "modeCalcul":"MESURE","grandeur":[{"grandeurMetier":"CONS","grandeurPhysique":"PA","unite":"W",
     "points":[{"v":"4078","d":"2026-09-29 00:30:00","p":"PT30M","n":"B","iv":"0","ec":"0"},
               {"v":"4224","d":"2026-09-30 00:00:00","p":"PT30M","n":"B","iv":"0","ec":"0"}],"calendrier":[]}],"contexte":[]}"#;
    let r = decode_readings(body, Series::ConsumptionCurve, range(date(2026, 9, 29), date(2026, 9, 30))).unwrap();
    assert_eq!(r[0].start.to_string(), "2026-09-28T22:00:00Z");
    assert_eq!(r[0].end.to_string(), "2026-09-28T22:30:00Z");
    assert_eq!(r[1].end.to_string(), "2026-09-29T22:00:00Z");
    assert_eq!(r[1].unit, Unit::W);
}

#[test]
fn max_power_with_null_string() {
    let body = br#"{"idPrm":"99999999999991","etapeMetier":"BRUT","periode":{"dateDebut":"2026-09-27","dateFin":"2026-10-01"},
  "modeCalcul":"MESURE","pas":"P1D",
  "grandeur":[{"grandeurMetier":"CONS","grandeurPhysique":"PMA","unite":"VA",
     "points":[{"v":"null","d":"2026-09-27 00:00:00"},{"v":"4680","d":"2026-09-29 13:03:35"},{"v":"6510","d":"2026-09-30 12:50:25"}],"calendrier":[]},
   {"grandeurMetier":"CONS","grandeurPhysique":"PMA1","unite":"VA","points":[{"v":"1","d":"2026-09-29 13:03:35"}],"calendrier":[]}],"contexte":[]}"#;
    let r = decode_readings(body, Series::ConsumptionMaxPower, range(date(2026, 9, 27), date(2026, 10, 1))).unwrap();
    assert_eq!(r.len(), 3);
    assert_eq!(r[0].value, None);
    assert_eq!(r[0].peak_at, None);
    assert_eq!(r[1].peak_at.unwrap().to_string(), "2026-09-29T11:03:35Z");
    assert_eq!(r[1].start.to_string(), "2026-09-28T22:00:00Z");
}

#[test]
fn empty_bodies() {
    let w = range(date(2026, 9, 29), date(2026, 9, 30));
    assert!(decode_readings(br#"{"idPrm":"1","periode":{}}"#, Series::ConsumptionCurve, w).unwrap().is_empty());
    let b = br#"{"grandeur":[{"grandeurMetier":"CONS","unite":"W"}]}"#;
    assert!(decode_readings(b, Series::ConsumptionCurve, w).unwrap().is_empty());
}

#[test]
fn bad_point_names_path() {
    let b = br#"{"grandeur":[{"grandeurMetier":"CONS","unite":"W","points":[{"v":"1","d":"2026-09-29 00:30:00","p":"PT30M"},{"v":"1","d":"yesterday","p":"PT30M"}]}]}"#;
    let e = decode_readings(b, Series::ConsumptionCurve, range(date(2026, 9, 29), date(2026, 9, 30))).unwrap_err();
    let s = e.to_string();
    assert!(s.contains("grandeur[0].points[1].d") && s.contains("yesterday"), "{s}");
}

#[test]
fn situation_self_consumption() {
    let body = br#"[
  {"usage_point_id": "99999999999992", "contract_start": "2024-10-12T00:00:00+0200",
   "contract_type": "Contrat GRD-F", "contractor": "FOURNISSEUR SA",
   "distribution_tariff": "Tarif BT<=36kVA Moyenne Utilisation heures pleines heures creuses",
   "subscribed_power": {"unit": "kVA", "value": "12"}, "segment": "C5",
   "customer": {"customer": {"adress": {"line1": "M DUPONT JEAN", "line4": "1 RUE DE LA PAIX", "line6": "75002 PARIS", "line7": "FR (France)"}}},
   "contact_data": {"email": "jean@example.org", "phone": "0600000000"},
   "person": {"title": "M", "lastname": "DUPONT", "firstname": "JEAN"}},
  {"usage_point_id": "99999999999992", "contract_start": "2024-07-31T00:00:00+0200",
   "contract_type": "Contrat GRD-A", "segment": "P4",
   "contact_data": {"email": "jean@example.org"},
   "person": {"title": "M", "lastname": "DUPONT", "firstname": "JEAN"}}]"#;
    let s = decode_situation(body).unwrap();
    assert_eq!(s.contracts.len(), 2);
    assert_eq!(s.contracts[0].subscribed_power_kva, Some(12.0));
    assert_eq!(s.contracts[0].contract_start, Some(date(2024, 10, 12)));
    assert_eq!(s.contracts[1].segment.as_deref(), Some("P4"));
    assert_eq!(s.identity.natural_person.unwrap().lastname.as_deref(), Some("DUPONT"));
    assert_eq!(s.contact.phone.as_deref(), Some("0600000000"));
    let wrapped = br#"{"contracts":[{"segment":"C5","subscribed_power":{"unit":"kVA","value":"6"}}]}"#;
    assert_eq!(decode_situation(wrapped).unwrap().contracts[0].subscribed_power_kva, Some(6.0));
}

#[test]
fn synthesis_comptage_general() {
    let s = decode_synthesis(
        br#"{"segments": [{"segment": "C5"}, {"segment": "P4"}],
 "generation_last_activation_date": "2024-07-31T00:00:00+0200",
 "consumption_last_activation_date": "2014-01-22T00:00:00+0100",
 "services_level": "Communicant (ouvert aux services)"}"#,
    )
    .unwrap();
    assert_eq!(s.segments, vec!["C5", "P4"]);
    assert_eq!(s.consumption_activation, Some(date(2014, 1, 22)));
    assert_eq!(s.production_activation, Some(date(2024, 7, 31)));
    assert!(decode_synthesis(br#"{"services_level": 2}"#).unwrap().services_level.as_deref() == Some("2"));
    let c = decode_comptage(
        r#"{"dispositifComptage": {"typeComptage": {"code": "AMM", "libelle": "Compteur Linky"}},
 "compteurs": [{"numeroSerie": "021876543210", "regimePropriete": {"code": "LOUE", "libelle": "Loué"}}],
 "relais": {"plageHeuresCreuses": "HC (22H00-6H00)"}}"#
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(c.meter_type.as_deref(), Some("AMM"));
    assert_eq!(c.offpeak[0].end, time(6, 0, 0, 0));
    let prm = UsagePointId::new("99999999999991").unwrap();
    let a = decode_general_data(br#"{"address": {"number_street_name": "1 RUE DE LA PAIX", "postal_code_city": "75002 PARIS", "insee_code": "75102"}}"#, &prm).unwrap();
    assert_eq!(a.postal_code.as_deref(), Some("75002"));
    assert_eq!(a.city.as_deref(), Some("PARIS"));
    let a = decode_general_data(br#"{"address":{"address":{"postal_code_city":"750XX"}}}"#, &prm).unwrap();
    assert_eq!(a.city.as_deref(), Some("750XX"));
}

#[test]
fn subscribed_services() {
    let body = br#"{"nbTotalServices": 3, "serviceSouscrit": [
    {"id": "80000001", "serviceCode": "ACCES", "dateDebut": "2026-10-05", "dateFin": "2029-10-04", "etatCode": "ACTIF",
     "pointId": "99999999999991", "mesuresTypeCode": "CDC", "autorisation": {"autorisationId": 987654321}},
    {"id": "80000002", "serviceCode": "ACCES", "etatCode": "ACTIF", "pointId": "99999999999991", "mesuresTypeCode": "ENERGIE"},
    {"id": "80000003", "serviceCode": "ACCES", "etatCode": "TERMINE", "pointId": "99999999999993"}]}"#;
    let s = decode_subscribed(body).unwrap();
    assert_eq!(s.usage_points.len(), 1);
    assert_eq!(s.start, Some(date(2026, 10, 5)));
    assert!(decode_subscribed(br#"{"nbTotalServices":0}"#).unwrap().usage_points.is_empty());
    assert!(decode_subscribed(br#"{"nbTotalServices":0,"serviceSouscrit":null}"#).unwrap().usage_points.is_empty());
}
