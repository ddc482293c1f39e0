//! The customer APIs of generations 1 and 2 (`/v3/customers/…` and
//! `customers_{upc,upa,i,cd}/v5/…`): contracts, addresses, identity and
//! contact data.
//!
//! ```json
//! {"customer":{"customer_id":"1358019319","usage_points":[{"usage_point":{"usage_point_id":"22516914714270",
//!  "usage_point_status":"com","meter_type":"AMM"},"contracts":{"segment":"C5","subscribed_power":"9 kVA",
//!  "last_activation_date":"2012-03-01+01:00","distribution_tariff":"BTINFCUDT","offpeak_hours":"HC (22H00-6H00)",
//!  "contract_type":"Contrat GRD-F","contract_status":"SERVC","last_distribution_tariff_change_date":"2019-08-01+02:00"}}]}}
//! ```
//!
//! Every value is a string; optional fields are absent rather than null.
//! Identity has no `customer` wrapper in v5 and may have one in v3; the
//! contact object is `contact_data` in fixtures and `contact` in the
//! Swagger: each variant is accepted.

use serde::Deserialize;

use super::dc2026::{date_of, power_kva};
use super::{Text, opt_text};
use crate::domain::{
    Address, Contact, Contract, GeoPoint, Identity, LegalEntity, NaturalPerson, OffPeakRange, UsagePointId,
};
use crate::error::{Error, ErrorKind};

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    customer: Customer<'a>,
}

#[derive(Deserialize)]
struct Customer<'a> {
    #[serde(borrow, default)]
    usage_points: Vec<UsagePointEntry<'a>>,
}

#[derive(Deserialize)]
struct UsagePointEntry<'a> {
    #[serde(borrow, default)]
    usage_point: Option<UsagePoint<'a>>,
    /// An object in every source; a list is accepted (first element).
    #[serde(default)]
    contracts: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct UsagePoint<'a> {
    #[serde(borrow, default)]
    usage_point_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    usage_point_status: Option<Text<'a>>,
    #[serde(borrow, default)]
    meter_type: Option<Text<'a>>,
    #[serde(borrow, default)]
    usage_point_addresses: Option<Addr<'a>>,
}

#[derive(Deserialize)]
struct ContractFields<'a> {
    #[serde(borrow, default)]
    segment: Option<Text<'a>>,
    #[serde(default)]
    subscribed_power: Option<serde_json::Value>,
    #[serde(borrow, default)]
    last_activation_date: Option<Text<'a>>,
    #[serde(borrow, default)]
    distribution_tariff: Option<Text<'a>>,
    #[serde(borrow, default)]
    offpeak_hours: Option<Text<'a>>,
    #[serde(borrow, default)]
    contract_type: Option<Text<'a>>,
    #[serde(borrow, default)]
    contract_status: Option<Text<'a>>,
    #[serde(borrow, default)]
    last_distribution_tariff_change_date: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct Addr<'a> {
    #[serde(borrow, default)]
    street: Option<Text<'a>>,
    #[serde(borrow, default)]
    locality: Option<Text<'a>>,
    #[serde(borrow, default)]
    postal_code: Option<Text<'a>>,
    #[serde(borrow, default)]
    insee_code: Option<Text<'a>>,
    #[serde(borrow, default)]
    city: Option<Text<'a>>,
    #[serde(borrow, default)]
    country: Option<Text<'a>>,
    #[serde(borrow, default)]
    geo_points: Option<Geo<'a>>,
}

#[derive(Deserialize)]
struct Geo<'a> {
    #[serde(borrow, default)]
    latitude: Option<Text<'a>>,
    #[serde(borrow, default)]
    longitude: Option<Text<'a>>,
    #[serde(borrow, default)]
    altitude: Option<Text<'a>>,
}

fn num(t: &Option<Text<'_>>) -> Option<f64> {
    opt_text(t).and_then(|s| s.replace(',', ".").parse().ok())
}

/// Picks the entry for `prm` (or the first one, when none names it).
fn entry<'e, 'a>(c: &'e Customer<'a>, prm: &UsagePointId) -> Option<&'e UsagePointEntry<'a>> {
    c.usage_points
        .iter()
        .find(|e| {
            e.usage_point.as_ref().and_then(|u| u.usage_point_id.as_ref()).is_some_and(|id| id.as_str() == prm.as_str())
        })
        .or_else(|| c.usage_points.first())
}

pub(crate) fn decode_contract(body: &[u8], prm: &UsagePointId) -> Result<Contract, Error> {
    let env: Envelope = super::from_slice(body, "contracts")?;
    let e = entry(&env.customer, prm).ok_or_else(|| {
        Error::new(ErrorKind::Decode, "the contracts answer lists no usage point (`customer.usage_points` is empty)")
    })?;
    let cv = match &e.contracts {
        Some(serde_json::Value::Array(a)) => a.first().cloned(),
        Some(v @ serde_json::Value::Object(_)) => Some(v.clone()),
        _ => None,
    };
    let text = serde_json::to_vec(&cv.unwrap_or_else(|| serde_json::json!({}))).unwrap_or_default();
    let c: ContractFields = super::from_slice(&text, "contracts (customer.usage_points[].contracts)")?;
    let up = e.usage_point.as_ref();
    let offpeak_raw = opt_text(&c.offpeak_hours);
    Ok(Contract {
        usage_point_id: Some(prm.clone()),
        segment: opt_text(&c.segment),
        subscribed_power_kva: c.subscribed_power.as_ref().and_then(power_kva),
        activation_date: opt_text(&c.last_activation_date).and_then(|d| date_of(&d)),
        tariff: opt_text(&c.distribution_tariff),
        offpeak_hours: offpeak_raw.as_deref().map(OffPeakRange::parse_label).unwrap_or_default(),
        offpeak_hours_raw: offpeak_raw,
        status: opt_text(&c.contract_status),
        contract_type: opt_text(&c.contract_type),
        meter_type: up.and_then(|u| opt_text(&u.meter_type)),
        usage_point_status: up.and_then(|u| opt_text(&u.usage_point_status)),
        last_tariff_change_date: opt_text(&c.last_distribution_tariff_change_date).and_then(|d| date_of(&d)),
        ..Contract::default()
    })
}

pub(crate) fn decode_address(body: &[u8], prm: &UsagePointId) -> Result<Address, Error> {
    let env: Envelope = super::from_slice(body, "addresses")?;
    let e = entry(&env.customer, prm).ok_or_else(|| {
        Error::new(ErrorKind::Decode, "the addresses answer lists no usage point (`customer.usage_points` is empty)")
    })?;
    let a = e.usage_point.as_ref().and_then(|u| u.usage_point_addresses.as_ref());
    let geo = a.and_then(|a| a.geo_points.as_ref()).and_then(|g| {
        Some(GeoPoint { latitude: num(&g.latitude)?, longitude: num(&g.longitude)?, altitude: num(&g.altitude) })
    });
    Ok(Address {
        usage_point_id: Some(prm.clone()),
        street: a.and_then(|a| opt_text(&a.street)),
        locality: a.and_then(|a| opt_text(&a.locality)),
        postal_code: a.and_then(|a| opt_text(&a.postal_code)),
        city: a.and_then(|a| opt_text(&a.city)),
        insee_code: a.and_then(|a| opt_text(&a.insee_code)),
        country: a.and_then(|a| opt_text(&a.country)),
        geo_point: geo,
        ..Address::default()
    })
}

#[derive(Deserialize, Default)]
struct IdentityBody {
    #[serde(default)]
    customer_id: Option<serde_json::Value>,
    #[serde(default)]
    identity: Option<IdentityInner>,
    /// v3 may have wrapped everything in `customer`.
    #[serde(default)]
    customer: Option<Box<IdentityBody>>,
}

#[derive(Deserialize, Default)]
struct IdentityInner {
    #[serde(default)]
    natural_person: Option<Person>,
    #[serde(default)]
    legal_entity: Option<Entity>,
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
struct Entity {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    trading_name: Option<String>,
    #[serde(default)]
    business: Option<String>,
    #[serde(default)]
    industry: Option<String>,
    #[serde(default)]
    siret_number: Option<String>,
}

fn s(o: &Option<String>) -> Option<String> {
    o.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

fn id_text(v: &Option<serde_json::Value>) -> Option<String> {
    match v.as_ref()? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(crate) fn decode_identity(body: &[u8]) -> Result<Identity, Error> {
    let mut b: IdentityBody = super::from_slice(body, "identity")?;
    if b.identity.is_none()
        && let Some(inner) = b.customer.take()
    {
        b = *inner;
    }
    let i = b.identity.unwrap_or_default();
    Ok(Identity {
        customer_id: id_text(&b.customer_id),
        natural_person: i.natural_person.map(|p| NaturalPerson {
            title: s(&p.title),
            firstname: s(&p.firstname),
            lastname: s(&p.lastname),
        }),
        legal_entity: i.legal_entity.map(|e| LegalEntity {
            name: s(&e.name),
            trading_name: s(&e.trading_name),
            business: s(&e.business),
            industry: s(&e.industry),
            siret_number: s(&e.siret_number),
            siren_number: None,
        }),
    })
}

#[derive(Deserialize, Default)]
struct ContactBody {
    #[serde(default)]
    customer_id: Option<serde_json::Value>,
    #[serde(default)]
    contact_data: Option<ContactFields>,
    #[serde(default)]
    contact: Option<ContactFields>,
    #[serde(default)]
    customer: Option<Box<ContactBody>>,
}

#[derive(Deserialize, Default)]
struct ContactFields {
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

pub(crate) fn decode_contact(body: &[u8]) -> Result<Contact, Error> {
    let mut b: ContactBody = super::from_slice(body, "contact_data")?;
    if b.contact_data.is_none()
        && b.contact.is_none()
        && let Some(inner) = b.customer.take()
    {
        b = *inner;
    }
    let c = b.contact_data.or(b.contact).unwrap_or_default();
    Ok(Contact { customer_id: id_text(&b.customer_id), email: s(&c.email), phone: s(&c.phone), landline: None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    fn prm(s: &str) -> UsagePointId {
        UsagePointId::new(s).unwrap()
    }

    #[test]
    fn contract_v5() {
        let body = br#"{"customer":{"customer_id":"1358019319","usage_points":[{"usage_point":{"usage_point_id":"22516914714270","usage_point_status":"com","meter_type":"AMM"},
 "contracts":{"segment":"C5","subscribed_power":"9 kVA","last_activation_date":"2012-03-01+01:00","distribution_tariff":"BTINFCUDT","offpeak_hours":"HC (22H00-6H00)","contract_type":"Contrat GRD-F","contract_status":"SERVC","last_distribution_tariff_change_date":"2019-08-01+02:00"}}]}}"#;
        let c = decode_contract(body, &prm("22516914714270")).unwrap();
        assert_eq!(c.segment.as_deref(), Some("C5"));
        assert_eq!(c.subscribed_power_kva, Some(9.0));
        assert_eq!(c.activation_date, Some(date(2012, 3, 1)));
        assert_eq!(c.offpeak_hours[0].start, time(22, 0, 0, 0));
        assert_eq!(c.status.as_deref(), Some("SERVC"));
        assert_eq!(c.meter_type.as_deref(), Some("AMM"));
        let sparse = br#"{"customer":{"customer_id":"0000000001","usage_points":[{"usage_point":{"usage_point_id":"32320647321714","usage_point_status":"com","meter_type":"AMM"},"contracts":{"segment":"C5","subscribed_power":"6 kVA","distribution_tariff":"BTINFCUST","contract_status":"SERVC"}}]}}"#;
        let c = decode_contract(sparse, &prm("32320647321714")).unwrap();
        assert!(c.activation_date.is_none() && c.offpeak_hours.is_empty());
    }

    #[test]
    fn address_v5() {
        let body = r#"{"customer":{"customer_id":"1358019319","usage_points":[{"usage_point":{"usage_point_id":"22516914714270","usage_point_status":"com","meter_type":"AMM",
 "usage_point_addresses":{"street":"2 bis rue du capitaine Flam","locality":"lieudit Tourtouze","postal_code":"32400","insee_code":"32244","city":"Maulichères","country":"France",
 "geo_points":{"latitude":"43.687253","longitude":"-0.087957","altitude":"148"}}}}]}}"#;
        let a = decode_address(body.as_bytes(), &prm("22516914714270")).unwrap();
        assert_eq!(a.city.as_deref(), Some("Maulichères"));
        assert_eq!(a.geo_point.unwrap().longitude, -0.087957);
        assert!(!format!("{a:?}").contains("capitaine"));
    }

    #[test]
    fn identity_and_contact() {
        let i = decode_identity(br#"{"customer_id":"1358019319","identity":{"natural_person":{"title":"Mme","firstname":"Sandra","lastname":"Thie"}}}"#).unwrap();
        assert_eq!(i.natural_person.unwrap().lastname.as_deref(), Some("Thie"));
        let i = decode_identity(br#"{"customer":{"customer_id":"1358019320","identity":{"legal_entity":{"name":"ACME Immo","siret_number":"12345678900012"}}}}"#).unwrap();
        assert_eq!(i.legal_entity.unwrap().name.as_deref(), Some("ACME Immo"));
        let c = decode_contact(
            br#"{"customer_id":"1358019319","contact_data":{"phone":"0612345678","email":"sandra.thie@example.fr"}}"#,
        )
        .unwrap();
        assert_eq!(c.phone.as_deref(), Some("0612345678"));
        let c =
            decode_contact(br#"{"customer_id":"1358019319","contact":{"email":"sandra.thie@example.fr"}}"#).unwrap();
        assert_eq!(c.email.as_deref(), Some("sandra.thie@example.fr"));
    }
}
