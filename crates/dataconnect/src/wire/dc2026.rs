//! "Data Connect 2026" bodies: `mesure_synchrone_auto/v2` measurements, the
//! ITC contract APIs (`situation_contrat_auto`, `synth_contrat_auto`,
//! `comptage_auto`, `donnees_generales_auto`) and `subscribed_services`.
//!
//! ```json
//! {"idPrm":"99999999999991","etapeMetier":"BRUT","periode":{"dateDebut":"2026-09-29","dateFin":"2026-09-30"},
//!  "modeCalcul":"MESURE","grandeur":[{"grandeurMetier":"CONS","grandeurPhysique":"PA","unite":"W",
//!  "points":[{"v":"4078","d":"2026-09-29 00:30:00","p":"PT30M","n":"B","iv":"0","ec":"0"}],"calendrier":[]}],"contexte":[]}
//! ```

mod index;
mod max_power;

pub(crate) use index::decode_index;
pub(crate) use max_power::decode_max_power;

use std::borrow::Cow;

use serde::Deserialize;

use super::{
    CurveResolver, Text, Val, day_reading, opt_text, parse_day, parse_stamp, parse_step, peak_instant, unit_factor,
};
use crate::domain::{
    Address, Contact, Contract, DateRange, Direction, Identity, LegalEntity, Measure, NaturalPerson, OffPeakRange,
    Reading, Series, UsagePointId,
};
use crate::error::{Error, ErrorKind};

#[derive(Deserialize)]
struct Mesure<'a> {
    #[serde(borrow, default)]
    periode: Option<Periode<'a>>,
    #[serde(borrow, default)]
    pas: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    grandeur: Option<Vec<Grandeur<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Periode<'a> {
    #[serde(borrow, default)]
    date_debut: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Grandeur<'a> {
    #[serde(borrow, default)]
    grandeur_metier: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    grandeur_physique: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    unite: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    points: Option<Vec<Point<'a>>>,
}

#[derive(Deserialize)]
struct Point<'a> {
    #[serde(default)]
    v: Val,
    #[serde(borrow)]
    d: Cow<'a, str>,
    #[serde(borrow, default)]
    p: Option<Cow<'a, str>>,
}

fn bad(what: String) -> Error {
    Error::new(ErrorKind::Decode, what)
}

/// Decodes a `mesure_synchrone_auto/v2` body for `series`, asked for
/// `window`.
pub(crate) fn decode_readings(body: &[u8], series: Series, window: DateRange) -> Result<Vec<Reading>, Error> {
    let m: Mesure = super::from_slice(body, "mesure_synchrone_auto")?;
    let grandeurs = m.grandeur.unwrap_or_default();
    let want = match series.direction() {
        Direction::Consumption => "CONS",
        Direction::Production => "PROD",
    };
    // One `grandeur` per response, except max power with TOUT (PMA, then
    // PMA1..3 per phase): take the PMA one. A `grandeur` of the other
    // direction is skipped (a mock-only robustness case); one without
    // `grandeurMetier` is accepted.
    let pick = grandeurs.iter().position(|g| {
        let dir_ok = g.grandeur_metier.as_deref().is_none_or(|x| x.eq_ignore_ascii_case(want));
        let phys_ok = series.measure() != Measure::MaxPower
            || g.grandeur_physique.as_deref().is_none_or(|p| p.eq_ignore_ascii_case("PMA"));
        dir_ok && phys_ok
    });
    let Some(gi) = pick else { return Ok(Vec::new()) };
    let g = &grandeurs[gi];
    let unit = series.unit();
    let factor = unit_factor(g.unite.as_deref(), unit);
    let points = g.points.as_deref().unwrap_or_default();
    let first_day =
        m.periode.as_ref().and_then(|p| p.date_debut.as_deref()).and_then(parse_day).unwrap_or_else(|| {
            super::paris_fast::local_seconds(window.start().to_datetime(jiff::civil::Time::midnight()))
        });
    let path = |i: usize, f: &str| format!("grandeur[{gi}].points[{i}].{f}");
    match series.measure() {
        Measure::LoadCurve => {
            let start = super::ts(super::paris_fast::local_midnight_to_utc(first_day));
            let mut res = CurveResolver::new(start, unit, factor, points.len());
            let mut step = m.pas.as_deref().and_then(parse_step).filter(|s| *s < 86_400).unwrap_or(1800);
            // Steps repeat from point to point: parse each spelling once.
            let mut last_step_text: &str = "";
            for (i, p) in points.iter().enumerate() {
                if let Some(s) = p.p.as_deref().filter(|s| *s != last_step_text) {
                    last_step_text = s;
                    step = parse_step(s).ok_or_else(|| {
                        bad(format!(
                            "cannot decode the mesure_synchrone_auto answer at `{}` (value: {s:?})",
                            path(i, "p")
                        ))
                    })?;
                }
                let stamp = parse_stamp(&p.d).ok_or_else(|| {
                    bad(format!(
                        "cannot decode the mesure_synchrone_auto answer at `{}` (value: {:?})",
                        path(i, "d"),
                        p.d
                    ))
                })?;
                res.push(stamp, step, p.v.0);
            }
            Ok(res.finish())
        }
        Measure::Daily | Measure::MaxPower => {
            let mut out = Vec::with_capacity(points.len());
            for (i, p) in points.iter().enumerate() {
                let day = parse_day(&p.d).ok_or_else(|| {
                    bad(format!(
                        "cannot decode the mesure_synchrone_auto answer at `{}` (value: {:?})",
                        path(i, "d"),
                        p.d
                    ))
                })?;
                let value = p.v.0.map(|v| v * factor);
                // A missing maximum comes as {"v": "null", "d": "… 00:00:00"}:
                // the midnight stamp is a placeholder, not a peak.
                let peak = if series.measure() == Measure::MaxPower && value.is_some() && p.d.trim().len() > 10 {
                    parse_stamp(&p.d).map(peak_instant)
                } else {
                    None
                };
                out.push(day_reading(day, value, unit, peak));
            }
            if !out.is_sorted_by_key(|r| r.start) {
                out.sort_by_key(|r| r.start);
            }
            Ok(out)
        }
        Measure::Index => {
            Err(Error::new(ErrorKind::Unsupported, format!("{series} is read with `Client::index`, not as readings")))
        }
    }
}

// ---------------------------------------------------------------- ITC ----

#[derive(Deserialize, Default)]
struct ContractItem<'a> {
    #[serde(borrow, default)]
    usage_point_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    contract_start: Option<Text<'a>>,
    #[serde(borrow, default)]
    contract_type: Option<Text<'a>>,
    #[serde(borrow, default)]
    contractor: Option<Text<'a>>,
    #[serde(borrow, default)]
    distribution_tariff: Option<Text<'a>>,
    #[serde(default)]
    subscribed_power: Option<serde_json::Value>,
    #[serde(default)]
    segment: Option<serde_json::Value>,
    #[serde(default)]
    contact_data: Option<ContactData>,
    #[serde(default)]
    person: Option<Person>,
    #[serde(default)]
    organization: Option<Organization>,
}

#[derive(Deserialize, Default)]
struct ContactData {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    landline: Option<String>,
}

#[derive(Deserialize, Default)]
struct Person {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    firstname: Option<String>,
    #[serde(default)]
    lastname: Option<String>,
}

#[derive(Deserialize, Default)]
struct Organization {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    commercial_name: Option<String>,
    #[serde(default)]
    business_code: Option<String>,
    #[serde(default)]
    siret_number: Option<String>,
    #[serde(default)]
    siren_number: Option<String>,
}

/// The situation_contrat_auto answer is a bare array in real captures; the
/// HOMEY mock wraps it as `{"contracts": […]}`, and a single object is
/// accepted too.
/// Decodes `situation_contrat_auto`: every contract of the usage point.
/// The holder's identity and contact come from the same body.
pub(crate) struct Situation {
    pub contracts: Vec<Contract>,
    pub identity: Identity,
    pub contact: Contact,
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

pub(crate) fn decode_situation(body: &[u8]) -> Result<Situation, Error> {
    // Untagged enums lose the path, so the shape is detected on a Value
    // first and each item is then decoded on its own with its path.
    let value: serde_json::Value = super::from_slice(body, "situation_contrat_auto")?;
    let (items, prefix): (Vec<serde_json::Value>, &str) = match value {
        serde_json::Value::Array(a) => (a, ""),
        serde_json::Value::Object(mut o) if o.get("contracts").is_some_and(|c| c.is_array()) => {
            match o.remove("contracts") {
                Some(serde_json::Value::Array(a)) => (a, "contracts"),
                _ => (Vec::new(), ""),
            }
        }
        v @ serde_json::Value::Object(_) => (vec![v], ""),
        _ => (Vec::new(), ""),
    };
    let mut contracts = Vec::new();
    let mut identity = Identity::default();
    let mut contact = Contact::default();
    for (i, v) in items.iter().enumerate() {
        let text = serde_json::to_vec(v).unwrap_or_default();
        let item: ContractItem = super::from_slice(&text, "situation_contrat_auto").map_err(|e| {
            e.with_context(format!("cannot decode the situation_contrat_auto answer at `{prefix}[{i}]`"))
        })?;
        let segment = match &item.segment {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            // EDDIE tolerates a list of segments: take the first.
            Some(serde_json::Value::Array(a)) => a.first().and_then(|s| s.as_str()).map(str::to_owned),
            _ => None,
        };
        let c = Contract {
            usage_point_id: opt_text(&item.usage_point_id).and_then(|s| UsagePointId::new(&s).ok()),
            segment,
            subscribed_power_kva: item.subscribed_power.as_ref().and_then(power_kva),
            tariff: opt_text(&item.distribution_tariff),
            contract_type: opt_text(&item.contract_type),
            contractor: opt_text(&item.contractor),
            contract_start: opt_text(&item.contract_start).and_then(|s| date_of(&s)),
            ..Contract::default()
        };
        contracts.push(c);
        if identity.natural_person.is_none()
            && let Some(p) = &item.person
        {
            identity.natural_person = Some(NaturalPerson {
                title: nonempty(&p.title),
                firstname: nonempty(&p.firstname),
                lastname: nonempty(&p.lastname),
            });
        }
        if identity.legal_entity.is_none()
            && let Some(o) = &item.organization
        {
            identity.legal_entity = Some(LegalEntity {
                name: nonempty(&o.name),
                trading_name: nonempty(&o.commercial_name),
                business: nonempty(&o.business_code),
                industry: None,
                siret_number: nonempty(&o.siret_number),
                siren_number: nonempty(&o.siren_number),
            });
        }
        if let Some(cd) = &item.contact_data {
            contact.email = contact.email.or_else(|| nonempty(&cd.email));
            contact.phone = contact.phone.or_else(|| nonempty(&cd.phone));
            contact.landline = contact.landline.or_else(|| nonempty(&cd.landline));
        }
    }
    Ok(Situation { contracts, identity, contact })
}

/// Reads a subscribed power: `{"unit":"kVA","value":"12"}` (2026), `"9 kVA"`
/// (v5) or a bare number, into kVA (`kW`/`W`/`VA` units are converted
/// assuming a power factor of 1, as the sandbox's C1 example uses kW).
pub(crate) fn power_kva(v: &serde_json::Value) -> Option<f64> {
    let (num, unit) = match v {
        serde_json::Value::Object(o) => {
            let n = match o.get("value")? {
                serde_json::Value::String(s) => s.trim().replace(',', ".").parse::<f64>().ok()?,
                serde_json::Value::Number(n) => n.as_f64()?,
                _ => return None,
            };
            (n, o.get("unit").and_then(|u| u.as_str()).unwrap_or("kVA").to_owned())
        }
        serde_json::Value::String(s) => {
            let t = s.trim();
            let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ',')).unwrap_or(t.len());
            (t[..split].replace(',', ".").parse::<f64>().ok()?, t[split..].trim().to_owned())
        }
        serde_json::Value::Number(n) => (n.as_f64()?, "kVA".to_owned()),
        _ => return None,
    };
    let u = unit.trim().to_ascii_lowercase();
    Some(if u == "va" || u == "w" { num / 1000.0 } else { num })
}

/// The local date of `2014-01-22T00:00:00+0100`, `2017-07-15+02:00` or
/// `2017-07-15`: its first ten characters.
pub(crate) fn date_of(s: &str) -> Option<jiff::civil::Date> {
    s.trim().get(..10)?.parse().ok()
}

#[derive(Deserialize)]
struct Synthesis<'a> {
    #[serde(default)]
    segments: Option<serde_json::Value>,
    #[serde(borrow, default)]
    consumption_last_activation_date: Option<Text<'a>>,
    #[serde(borrow, default)]
    generation_last_activation_date: Option<Text<'a>>,
    /// A French label in real answers, an integer in a mock: both read.
    #[serde(borrow, default)]
    services_level: Option<Text<'a>>,
}

/// What `synth_contrat_auto` adds to a contract.
pub(crate) struct Synthesis2026 {
    pub segments: Vec<String>,
    pub consumption_activation: Option<jiff::civil::Date>,
    pub production_activation: Option<jiff::civil::Date>,
    pub services_level: Option<String>,
}

pub(crate) fn decode_synthesis(body: &[u8]) -> Result<Synthesis2026, Error> {
    let s: Synthesis = super::from_slice(body, "synth_contrat_auto")?;
    let segments = match &s.segments {
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|x| match x {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Object(o) => o.get("segment").and_then(|s| s.as_str()).map(str::to_owned),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(Synthesis2026 {
        segments,
        consumption_activation: opt_text(&s.consumption_last_activation_date).and_then(|d| date_of(&d)),
        production_activation: opt_text(&s.generation_last_activation_date).and_then(|d| date_of(&d)),
        services_level: opt_text(&s.services_level),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Comptage {
    #[serde(default)]
    dispositif_comptage: Option<serde_json::Value>,
    #[serde(default)]
    relais: Option<Relais>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Relais {
    #[serde(default)]
    plage_heures_creuses: Option<String>,
}

/// What `comptage_auto` adds: the meter type code and the off-peak label.
pub(crate) struct Metering2026 {
    pub meter_type: Option<String>,
    pub offpeak_raw: Option<String>,
    pub offpeak: Vec<OffPeakRange>,
}

pub(crate) fn decode_comptage(body: &[u8]) -> Result<Metering2026, Error> {
    let c: Comptage = super::from_slice(body, "comptage_auto")?;
    let meter_type = c
        .dispositif_comptage
        .as_ref()
        .and_then(|d| d.get("typeComptage"))
        .and_then(|t| t.get("code"))
        .and_then(|c| c.as_str())
        .map(str::to_owned);
    let offpeak_raw = c.relais.and_then(|r| r.plage_heures_creuses).filter(|s| !s.trim().is_empty());
    let offpeak = offpeak_raw.as_deref().map(OffPeakRange::parse_label).unwrap_or_default();
    Ok(Metering2026 { meter_type, offpeak_raw, offpeak })
}

#[derive(Deserialize, Default)]
struct GeneralAddress<'a> {
    #[serde(borrow, default)]
    staircase_floor_apartment: Option<Text<'a>>,
    #[serde(borrow, default)]
    building: Option<Text<'a>>,
    #[serde(borrow, default)]
    number_street_name: Option<Text<'a>>,
    #[serde(borrow, default)]
    locality: Option<Text<'a>>,
    #[serde(borrow, default)]
    postal_code_city: Option<Text<'a>>,
    #[serde(borrow, default)]
    insee_code: Option<Text<'a>>,
}

/// Decodes `donnees_generales_auto`: `{"address": {…}}`, tolerating the
/// double nesting and the array of EDDIE's fixture.
pub(crate) fn decode_general_data(body: &[u8], prm: &UsagePointId) -> Result<Address, Error> {
    let mut v: serde_json::Value = super::from_slice(body, "donnees_generales_auto")?;
    for _ in 0..3 {
        v = match v {
            serde_json::Value::Array(mut a) if !a.is_empty() => a.swap_remove(0),
            serde_json::Value::Object(mut o) if o.contains_key("address") => o.remove("address").unwrap_or_default(),
            other => {
                v = other;
                break;
            }
        };
    }
    let text = serde_json::to_vec(&v).unwrap_or_default();
    let a: GeneralAddress = super::from_slice(&text, "donnees_generales_auto address")?;
    let pcc = opt_text(&a.postal_code_city);
    // "75002 PARIS": the postal code is the leading run of digits.
    let (postal_code, city) = match pcc.as_deref() {
        Some(s) => match s.split_once(' ') {
            Some((code, town)) if code.chars().all(|c| c.is_ascii_digit() || c == 'X') => {
                (Some(code.to_owned()), Some(town.trim().to_owned()).filter(|t| !t.is_empty()))
            }
            _ => (None, Some(s.to_owned())),
        },
        None => (None, None),
    };
    Ok(Address {
        usage_point_id: Some(prm.clone()),
        street: opt_text(&a.number_street_name),
        locality: opt_text(&a.locality),
        staircase_floor_apartment: opt_text(&a.staircase_floor_apartment),
        building: opt_text(&a.building),
        postal_code,
        city,
        insee_code: opt_text(&a.insee_code),
        country: None,
        geo_point: None,
    })
}

// ------------------------------------------------- subscribed_services ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Services<'a> {
    /// `null`, missing (`{"nbTotalServices":0}`) or a list.
    #[serde(borrow, default)]
    service_souscrit: Option<Vec<Service<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Service<'a> {
    #[serde(borrow, default)]
    point_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    etat_code: Option<Text<'a>>,
    #[serde(borrow, default)]
    date_debut: Option<Text<'a>>,
    #[serde(borrow, default)]
    date_fin: Option<Text<'a>>,
}

/// The usage points of an authorisation, from `POST /subscribed_services/v1`.
pub(crate) struct Subscribed {
    pub usage_points: Vec<UsagePointId>,
    pub start: Option<jiff::civil::Date>,
    pub end: Option<jiff::civil::Date>,
}

/// Keeps the services whose state is `ACTIF` or `DEMANDE` (or unstated),
/// and deduplicates their PRMs in order (a consent gives one service per
/// measure type).
pub(crate) fn decode_subscribed(body: &[u8]) -> Result<Subscribed, Error> {
    let s: Services = super::from_slice(body, "subscribed_services")?;
    let mut usage_points: Vec<UsagePointId> = Vec::new();
    let (mut start, mut end) = (None, None);
    for (i, svc) in s.service_souscrit.unwrap_or_default().iter().enumerate() {
        let state = opt_text(&svc.etat_code).unwrap_or_default().to_ascii_uppercase();
        if !(state.is_empty() || state == "ACTIF" || state == "DEMANDE") {
            continue;
        }
        let Some(p) = opt_text(&svc.point_id) else { continue };
        let prm = UsagePointId::new(&p).map_err(|e| {
            Error::new(
                ErrorKind::Decode,
                format!("cannot decode the subscribed_services answer at `serviceSouscrit[{i}].pointId`"),
            )
            .with_source(e)
        })?;
        if !usage_points.contains(&prm) {
            usage_points.push(prm);
        }
        start = start.or_else(|| opt_text(&svc.date_debut).and_then(|d| date_of(&d)));
        end = end.or_else(|| opt_text(&svc.date_fin).and_then(|d| date_of(&d)));
    }
    Ok(Subscribed { usage_points, start, end })
}

/// Every service's PRM and state (`ACTIF`, `DEMANDE`, …, upper case), in
/// order, for the caller to filter.
pub(crate) fn decode_service_states(body: &[u8]) -> Result<Vec<(UsagePointId, String)>, Error> {
    let s: Services = super::from_slice(body, "subscribed_services")?;
    let mut out = Vec::new();
    for (i, svc) in s.service_souscrit.unwrap_or_default().iter().enumerate() {
        let Some(p) = opt_text(&svc.point_id) else { continue };
        let prm = UsagePointId::new(&p).map_err(|e| {
            Error::new(
                ErrorKind::Decode,
                format!("cannot decode the subscribed_services answer at `serviceSouscrit[{i}].pointId`"),
            )
            .with_source(e)
        })?;
        out.push((prm, opt_text(&svc.etat_code).unwrap_or_default().to_ascii_uppercase()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
