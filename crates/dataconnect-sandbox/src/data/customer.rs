//! The synthetic customer behind each meter: identity, contact, address
//! and contract, drawn deterministically from the PRM, and the bodies that
//! show them (v3/v5 `customers_*`, 2026 contract APIs).
//!
//! Every name, street and phone number is made up; the e-mail domain is
//! `example.fr`. The contract agrees with the synthetic data: the
//! subscribed power is the one the household model caps its maximum power
//! at, off-peak hours exist when the household has a water heater, and the
//! activation date is the meter's.

use jiff::civil::Date;

use super::json;
use super::synth::{self, hash3, prm_seed, unit};
use crate::meters::Meter;

const TITLES: &[(&str, &str)] = &[("M", "M"), ("Mme", "MME")];
const FIRST_NAMES: &[&str] =
    &["Camille", "Julien", "Sandra", "Nicolas", "Léa", "Thomas", "Manon", "Hugo", "Chloé", "Antoine", "Inès", "Louis"];
const LAST_NAMES: &[&str] = &[
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon",
    "Laurent",
];
const STREETS: &[&str] = &[
    "rue de la Paix",
    "avenue des Tilleuls",
    "chemin du Moulin",
    "rue Victor Hugo",
    "impasse des Lilas",
    "boulevard Gambetta",
    "rue de l'Église",
    "allée des Peupliers",
];
/// (city, postal code, INSEE code, latitude, longitude, altitude).
const CITIES: &[(&str, &str, &str, &str, &str, &str)] = &[
    ("Rennes", "35000", "35238", "48.111339", "-1.681760", "42"),
    ("Beauvais", "60000", "60057", "49.431694", "2.089365", "68"),
    ("Tours", "37000", "37261", "47.394144", "0.684840", "55"),
    ("Dijon", "21000", "21231", "47.322047", "5.041480", "245"),
    ("Pau", "64000", "64445", "43.295100", "-0.370797", "200"),
    ("Annecy", "74000", "74010", "45.899247", "6.129384", "448"),
    ("Limoges", "87000", "87085", "45.833619", "1.261105", "285"),
    ("Nancy", "54000", "54395", "48.692054", "6.184417", "206"),
];

/// The made-up customer of a meter.
struct Customer {
    customer_id: String,
    title: (&'static str, &'static str),
    firstname: &'static str,
    lastname: &'static str,
    number: u32,
    street: &'static str,
    city: (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str),
    phone: String,
    offpeak: Option<&'static str>,
    kva: u32,
}

fn pick<T: Copy>(list: &[T], h: u64, fallback: T) -> T {
    list.get((h % list.len().max(1) as u64) as usize).copied().unwrap_or(fallback)
}

impl Customer {
    fn of(meter: &Meter) -> Self {
        let seed = prm_seed(meter.prm);
        let h = |i: u64| hash3(seed, i, 0xC057);
        let offpeaks = ["HC (22H00-6H00)", "HC (23H00-7H00)", "HC (22H30-6H30)", "HC (2H00-7H00;12H30-14H30)"];
        Customer {
            customer_id: format!("{:010}", h(1) % 10_000_000_000),
            title: pick(TITLES, h(2), ("M", "M")),
            firstname: pick(FIRST_NAMES, h(3), "Camille"),
            lastname: pick(LAST_NAMES, h(4), "Martin"),
            number: 1 + (h(5) % 120) as u32,
            street: pick(STREETS, h(6), "rue de la Paix"),
            city: pick(CITIES, h(7), ("Rennes", "35000", "35238", "48.111339", "-1.681760", "42")),
            phone: format!("06{:08}", h(8) % 100_000_000),
            offpeak: (unit(h(9)) < 0.7).then(|| pick(&offpeaks, h(10), "HC (22H00-6H00)")),
            kva: synth::subscribed_kva(meter),
        }
    }

    fn email(&self) -> String {
        fn ascii(s: &str) -> String {
            s.chars()
                .map(|c| match c {
                    'é' | 'è' | 'ê' => 'e',
                    'ï' | 'î' => 'i',
                    c => c.to_ascii_lowercase(),
                })
                .filter(|c| c.is_ascii_alphanumeric())
                .collect()
        }
        format!("{}.{}@example.fr", ascii(self.firstname), ascii(self.lastname))
    }
}

/// `YYYY-MM-DD+HH:MM`, the v5 XML-Schema date with the Paris offset.
fn xsd_date(out: &mut Vec<u8>, day: Date) {
    let offset = synth::local_instant(day, 0).map(synth::offset_at).unwrap_or(3600);
    let mut s = Vec::with_capacity(18);
    json::date(&mut s, day);
    s.pop();
    out.extend_from_slice(&s);
    out.extend_from_slice(if offset == 7200 { b"+02:00\"" } else { b"+01:00\"" });
}

/// `YYYY-MM-DDT00:00:00+HHMM`, the 2026 date (offset without a colon).
fn itc_date(out: &mut Vec<u8>, day: Date) {
    let offset = synth::local_instant(day, 0).map(synth::offset_at).unwrap_or(3600);
    let mut s = Vec::with_capacity(18);
    json::date(&mut s, day);
    s.pop();
    out.extend_from_slice(&s);
    out.extend_from_slice(if offset == 7200 { b"T00:00:00+0200\"" } else { b"T00:00:00+0100\"" });
}

fn tariff(c: &Customer) -> (&'static str, &'static str) {
    match c.offpeak {
        Some(_) => {
            ("BTINFMUDT", "Tarif BT<=36kVA Moyenne Utilisation heures pleines heures creuses associées à deux saisons")
        }
        None => ("BTINFCUST", "Tarif BT<=36kVA Courte Utilisation sans différenciation temporelle"),
    }
}

fn usage_point_head(out: &mut Vec<u8>, meter: &Meter) {
    out.extend_from_slice(b"{");
    json::field(out, "usage_point_id", meter.prm);
    out.extend_from_slice(b",\"usage_point_status\":\"com\",\"meter_type\":\"AMM\"");
}

/// `customers_upc/v5/usage_points/contracts` (and v3).
pub(crate) fn contracts(meter: &Meter) -> Vec<u8> {
    let c = Customer::of(meter);
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(b"{\"customer\":{");
    json::field(&mut out, "customer_id", &c.customer_id);
    out.extend_from_slice(b",\"usage_points\":[{\"usage_point\":");
    usage_point_head(&mut out, meter);
    out.extend_from_slice(b"},\"contracts\":{\"segment\":\"C5\",");
    json::field(&mut out, "subscribed_power", &format!("{} kVA", c.kva));
    out.extend_from_slice(b",\"last_activation_date\":");
    xsd_date(&mut out, meter.activation);
    out.push(b',');
    json::field(&mut out, "distribution_tariff", tariff(&c).0);
    if let Some(hc) = c.offpeak {
        out.push(b',');
        json::field(&mut out, "offpeak_hours", hc);
    }
    out.extend_from_slice(
        b",\"contract_type\":\"Contrat GRD-F\",\"contract_status\":\"SERVC\",\"last_distribution_tariff_change_date\":",
    );
    xsd_date(&mut out, meter.activation);
    out.extend_from_slice(b"}}]}}");
    out
}

/// `customers_upa/v5/usage_points/addresses` (and v3).
pub(crate) fn addresses(meter: &Meter) -> Vec<u8> {
    let c = Customer::of(meter);
    let (city, postal, insee, lat, lon, alt) = c.city;
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(b"{\"customer\":{");
    json::field(&mut out, "customer_id", &c.customer_id);
    out.extend_from_slice(b",\"usage_points\":[{\"usage_point\":");
    usage_point_head(&mut out, meter);
    out.extend_from_slice(b",\"usage_point_addresses\":{");
    json::field(&mut out, "street", &format!("{} {}", c.number, c.street));
    out.push(b',');
    json::field(&mut out, "postal_code", postal);
    out.push(b',');
    json::field(&mut out, "insee_code", insee);
    out.push(b',');
    json::field(&mut out, "city", city);
    out.extend_from_slice(b",\"country\":\"France\",\"geo_points\":{");
    json::field(&mut out, "latitude", lat);
    out.push(b',');
    json::field(&mut out, "longitude", lon);
    out.push(b',');
    json::field(&mut out, "altitude", alt);
    out.extend_from_slice(b"}}}}]}}");
    out
}

/// `customers_i/v5/identity` (and v3): no `customer` wrapper.
pub(crate) fn identity(meter: &Meter) -> Vec<u8> {
    let c = Customer::of(meter);
    let mut out = Vec::with_capacity(160);
    out.push(b'{');
    json::field(&mut out, "customer_id", &c.customer_id);
    out.extend_from_slice(b",\"identity\":{\"natural_person\":{");
    json::field(&mut out, "title", c.title.0);
    out.push(b',');
    json::field(&mut out, "firstname", c.firstname);
    out.push(b',');
    json::field(&mut out, "lastname", c.lastname);
    out.extend_from_slice(b"}}}");
    out
}

/// `customers_cd/v5/contact_data` (and v3): the key is `contact_data`, as
/// in EDDIE's fixture modelled on real data.
pub(crate) fn contact_data(meter: &Meter) -> Vec<u8> {
    let c = Customer::of(meter);
    let mut out = Vec::with_capacity(160);
    out.push(b'{');
    json::field(&mut out, "customer_id", &c.customer_id);
    out.extend_from_slice(b",\"contact_data\":{");
    json::field(&mut out, "phone", &c.phone);
    out.push(b',');
    json::field(&mut out, "email", &c.email());
    out.extend_from_slice(b"}}");
    out
}

fn holder_blocks(out: &mut Vec<u8>, c: &Customer) {
    let (city, postal, ..) = c.city;
    out.extend_from_slice(b",\"customer\":{\"customer\":{\"adress\":{");
    json::field(out, "line1", &format!("{} {} {}", c.title.1, c.lastname.to_uppercase(), c.firstname.to_uppercase()));
    out.push(b',');
    json::field(out, "line4", &format!("{} {}", c.number, c.street.to_uppercase()));
    out.push(b',');
    json::field(out, "line6", &format!("{postal} {}", city.to_uppercase()));
    out.extend_from_slice(b",\"line7\":\"FR (France)\"}}},\"contact_data\":{");
    json::field(out, "email", &c.email());
    out.push(b',');
    json::field(out, "phone", &c.phone);
    out.extend_from_slice(b"},\"person\":{");
    json::field(out, "title", c.title.0);
    out.push(b',');
    json::field(out, "lastname", &c.lastname.to_uppercase());
    out.push(b',');
    json::field(out, "firstname", &c.firstname.to_uppercase());
    out.push(b'}');
}

/// `situation_contrat_auto/v1/{prm}`: a bare array; a withdrawal contract
/// (GRD-F, C5) for a consumption point, an injection contract (GRD-A, P4)
/// for a production point, both for self-consumption.
pub(crate) fn situation_contrat(meter: &Meter) -> Vec<u8> {
    let c = Customer::of(meter);
    let mut out = Vec::with_capacity(1024);
    out.push(b'[');
    if meter.consumption {
        out.push(b'{');
        json::field(&mut out, "usage_point_id", meter.prm);
        out.extend_from_slice(b",\"contract_start\":");
        itc_date(&mut out, meter.activation);
        out.extend_from_slice(b",\"contract_type\":\"Contrat GRD-F\",\"contractor\":\"FOURNISSEUR SA\",");
        json::field(&mut out, "distribution_tariff", tariff(&c).1);
        out.extend_from_slice(b",\"subscribed_power\":{\"unit\":\"kVA\",");
        json::field(&mut out, "value", &c.kva.to_string());
        out.extend_from_slice(b"},\"segment\":\"C5\"");
        holder_blocks(&mut out, &c);
        out.push(b'}');
    }
    if meter.production {
        if meter.consumption {
            out.push(b',');
        }
        out.push(b'{');
        json::field(&mut out, "usage_point_id", meter.prm);
        out.extend_from_slice(b",\"contract_start\":");
        itc_date(&mut out, meter.activation);
        out.extend_from_slice(b",\"contract_type\":\"Contrat GRD-A\",\"segment\":\"P4\"");
        holder_blocks(&mut out, &c);
        out.push(b'}');
    }
    out.push(b']');
    out
}

/// `synth_contrat_auto/v1/{prm}`.
pub(crate) fn synth_contrat(meter: &Meter) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"{\"segments\":[");
    match (meter.consumption, meter.production) {
        (true, true) => out.extend_from_slice(b"{\"segment\":\"C5\"},{\"segment\":\"P4\"}"),
        (false, true) => out.extend_from_slice(b"{\"segment\":\"P4\"}"),
        _ => out.extend_from_slice(b"{\"segment\":\"C5\"}"),
    }
    out.push(b']');
    if meter.production {
        out.extend_from_slice(b",\"generation_last_activation_date\":");
        itc_date(&mut out, meter.activation);
    }
    if meter.consumption {
        out.extend_from_slice(b",\"consumption_last_activation_date\":");
        itc_date(&mut out, meter.activation);
    }
    out.extend_from_slice(b",\"services_level\":\"Communicant (ouvert aux services)\"}");
    out
}

/// `comptage_auto/v1/{prm}`.
pub(crate) fn comptage(meter: &Meter) -> Vec<u8> {
    let c = Customer::of(meter);
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"{\"dispositifComptage\":{\"typeComptage\":{\"code\":\"AMM\",\"libelle\":\"Compteur Linky\"}},\"compteurs\":[{");
    let serial = format!("02{:010}", hash3(prm_seed(meter.prm), 11, 0xC057) % 10_000_000_000);
    json::field(&mut out, "numeroSerie", &serial);
    out.extend_from_slice(b",\"regimePropriete\":{\"code\":\"LOUE\",\"libelle\":\"Lou\xc3\xa9\"}}]");
    if let (Some(hc), true) = (c.offpeak, meter.consumption) {
        out.extend_from_slice(b",\"relais\":{");
        json::field(&mut out, "plageHeuresCreuses", hc);
        out.push(b'}');
    }
    out.push(b'}');
    out
}

/// The meter's off-peak hours as `comptage_auto` and v5's contract write
/// them (`HC (22H00-6H00)`), when its offer has off-peak hours.
pub(crate) fn offpeak_hours(meter: &Meter) -> Option<&'static str> {
    Customer::of(meter).offpeak
}

/// `donnees_generales_auto/v1/{prm}`: the PRM's installation address.
pub(crate) fn donnees_generales(meter: &Meter) -> Vec<u8> {
    let c = Customer::of(meter);
    let (city, postal, insee, ..) = c.city;
    let mut out = Vec::with_capacity(200);
    out.extend_from_slice(b"{\"address\":{");
    json::field(&mut out, "number_street_name", &format!("{} {}", c.number, c.street.to_uppercase()));
    out.push(b',');
    json::field(&mut out, "postal_code_city", &format!("{postal} {}", city.to_uppercase()));
    out.push(b',');
    json::field(&mut out, "insee_code", insee);
    out.extend_from_slice(b"}}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meters::METERS;

    #[test]
    fn every_body_is_valid_json() {
        for m in METERS {
            for body in [
                contracts(m),
                addresses(m),
                identity(m),
                contact_data(m),
                situation_contrat(m),
                synth_contrat(m),
                comptage(m),
                donnees_generales(m),
            ] {
                let parsed: Result<serde_json::Value, _> = serde_json::from_slice(&body);
                assert!(parsed.is_ok(), "{}: {}", m.prm, String::from_utf8_lossy(&body));
            }
        }
    }
}
