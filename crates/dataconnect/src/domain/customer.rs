//! What Data Connect tells about a meter's contract and its customer: the
//! contract (segment, subscribed power, tariff, off-peak hours…), the
//! installation address, the holder's identity and contact details.
//!
//! One shape serves all three API generations; a field that a generation
//! does not return is `None` (or empty). Identity and contact details are
//! personal data, so their `Debug` output is redacted: they must never reach
//! logs by accident.

use std::fmt;

use jiff::civil::{Date, Time};

use super::UsagePointId;

/// One off-peak ("heures creuses") period of the day, in Paris local time.
///
/// `end` may be earlier than `start` when the period spans midnight, as in
/// `22H00-6H00`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OffPeakRange {
    /// Local time the period starts.
    pub start: Time,
    /// Local time the period ends (exclusive); earlier than `start` when the
    /// period spans midnight.
    pub end: Time,
}

impl OffPeakRange {
    /// True when the local time `t` is inside the period.
    pub fn contains(&self, t: Time) -> bool {
        if self.start <= self.end { self.start <= t && t < self.end } else { t >= self.start || t < self.end }
    }

    /// Parses the off-peak label Enedis returns, such as `HC (22H00-6H00)`,
    /// `HC (23h00-7h30)` or `HC (2H00-7H00;12h30-14h00)`.
    ///
    /// Ranges that cannot be read are skipped rather than failing the whole
    /// contract: the label is free text on Enedis' side and the raw string is
    /// kept next to the parsed ranges in [`Contract::offpeak_hours_raw`].
    pub fn parse_label(label: &str) -> Vec<OffPeakRange> {
        let inner = match (label.find('('), label.rfind(')')) {
            (Some(a), Some(b)) if a < b => &label[a + 1..b],
            _ => label,
        };
        inner
            .split([';', ','])
            .filter_map(|part| {
                let (a, b) = part.split_once('-')?;
                Some(OffPeakRange { start: parse_hour(a)?, end: parse_hour(b)? })
            })
            .collect()
    }
}

impl fmt::Display for OffPeakRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}-{:02}:{:02}", self.start.hour(), self.start.minute(), self.end.hour(), self.end.minute())
    }
}

/// Reads `22H00`, `6h30`, `22H`, `06:30` or `24H00` (midnight).
fn parse_hour(s: &str) -> Option<Time> {
    let s = s.trim();
    let (h, m) = match s.find(['H', 'h', ':']) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    };
    let h: i8 = h.trim().parse().ok()?;
    let m: i8 = if m.trim().is_empty() { 0 } else { m.trim().parse().ok()? };
    let h = if h == 24 && m == 0 { 0 } else { h };
    Time::new(h, m, 0, 0).ok()
}

/// A meter's supply contract, in one shape for all generations.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Contract {
    /// The meter the contract is about.
    pub usage_point_id: Option<UsagePointId>,
    /// Customer segment: `C5` (consumption up to 36 kVA), `P4` (production
    /// up to 36 kVA), `C1`–`C4` and `P1`–`P3` for larger sites.
    pub segment: Option<String>,
    /// Subscribed power in kVA (`"9 kVA"` in v5, `{"unit":"kVA","value":"9"}`
    /// in 2026).
    pub subscribed_power_kva: Option<f64>,
    /// The last activation date of the meter for consumption (v5
    /// `last_activation_date`, 2026 `consumption_last_activation_date`).
    /// No data can be asked for before it.
    pub activation_date: Option<Date>,
    /// The last activation date for production, when the meter injects.
    pub production_activation_date: Option<Date>,
    /// The distribution tariff: a code such as `BTINFCUST` in v5, a French
    /// label in 2026.
    pub tariff: Option<String>,
    /// The off-peak periods, parsed from `offpeak_hours_raw`.
    pub offpeak_hours: Vec<OffPeakRange>,
    /// The off-peak label as Enedis wrote it, e.g. `HC (22H00-6H00)`.
    pub offpeak_hours_raw: Option<String>,
    /// Contract status (`SERVC`, `RESIL`…); not returned by generation 3.
    pub status: Option<String>,
    /// Contract type, e.g. `Contrat GRD-F`.
    pub contract_type: Option<String>,
    /// The supplier, when known (generation 3).
    pub contractor: Option<String>,
    /// Meter type (`AMM` = Linky); not returned by generation 3's contract
    /// API but by its metering API (`typeComptage`).
    pub meter_type: Option<String>,
    /// Usage point status (`com`, `no_com`) or, in 2026, the services level
    /// label (`Communicant (ouvert aux services)`).
    pub usage_point_status: Option<String>,
    /// The date the distribution tariff last changed.
    pub last_tariff_change_date: Option<Date>,
    /// The contract start (generation 3).
    pub contract_start: Option<Date>,
}

/// A geographic point, as v5 gives it for a meter's address.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GeoPoint {
    /// Latitude in degrees.
    pub latitude: f64,
    /// Longitude in degrees.
    pub longitude: f64,
    /// Altitude in metres, when known.
    pub altitude: Option<f64>,
}

/// The installation address of a meter.
#[derive(Clone, PartialEq, Default)]
pub struct Address {
    /// The meter the address is about.
    pub usage_point_id: Option<UsagePointId>,
    /// Number and street.
    pub street: Option<String>,
    /// Lieu-dit.
    pub locality: Option<String>,
    /// Staircase, floor and apartment (generation 3).
    pub staircase_floor_apartment: Option<String>,
    /// Building (generation 3).
    pub building: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Town.
    pub city: Option<String>,
    /// INSEE code of the town.
    pub insee_code: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Geographic point (v5 only, when known).
    pub geo_point: Option<GeoPoint>,
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The street locates a person's home: only the town is shown.
        f.debug_struct("Address")
            .field("usage_point_id", &self.usage_point_id)
            .field("street", &self.street.as_ref().map(|_| "[redacted]"))
            .field("postal_code", &self.postal_code)
            .field("city", &self.city)
            .finish_non_exhaustive()
    }
}

/// A natural person holding the contract.
#[derive(Clone, PartialEq, Default)]
pub struct NaturalPerson {
    /// Title (`M`, `Mme`…).
    pub title: Option<String>,
    /// First name.
    pub firstname: Option<String>,
    /// Last name.
    pub lastname: Option<String>,
}

/// A company or organisation holding the contract.
#[derive(Clone, PartialEq, Default)]
pub struct LegalEntity {
    /// Name.
    pub name: Option<String>,
    /// Trading (commercial) name.
    pub trading_name: Option<String>,
    /// Business or activity code.
    pub business: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// SIRET number.
    pub siret_number: Option<String>,
    /// SIREN number (generation 3).
    pub siren_number: Option<String>,
}

/// Who holds the contract: a natural person, a legal entity, or both.
#[derive(Clone, PartialEq, Default)]
pub struct Identity {
    /// The Enedis customer id, when given.
    pub customer_id: Option<String>,
    /// The holder, when a person.
    pub natural_person: Option<NaturalPerson>,
    /// The holder, when an organisation.
    pub legal_entity: Option<LegalEntity>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("natural_person", &self.natural_person.as_ref().map(|_| "[redacted]"))
            .field("legal_entity", &self.legal_entity.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for NaturalPerson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NaturalPerson([redacted])")
    }
}

impl fmt::Debug for LegalEntity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LegalEntity([redacted])")
    }
}

/// The holder's contact details.
#[derive(Clone, PartialEq, Default)]
pub struct Contact {
    /// The Enedis customer id, when given.
    pub customer_id: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Phone number (the mobile, per the data catalogue).
    pub phone: Option<String>,
    /// Landline (generation 3).
    pub landline: Option<String>,
}

impl fmt::Debug for Contact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = |o: &Option<String>| o.as_ref().map(|_| "[redacted]");
        f.debug_struct("Contact")
            .field("email", &r(&self.email))
            .field("phone", &r(&self.phone))
            .field("landline", &r(&self.landline))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::time;

    #[test]
    fn offpeak_labels() {
        let r = OffPeakRange::parse_label("HC (22H00-6H00)");
        assert_eq!(r, vec![OffPeakRange { start: time(22, 0, 0, 0), end: time(6, 0, 0, 0) }]);
        assert!(
            r[0].contains(time(23, 0, 0, 0)) && r[0].contains(time(1, 0, 0, 0)) && !r[0].contains(time(6, 0, 0, 0))
        );
        let r = OffPeakRange::parse_label("HC (2H00-7H00;12h30-14h00)");
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].to_string(), "12:30-14:00");
        assert_eq!(OffPeakRange::parse_label("HC (22H50-6H50)")[0].start, time(22, 50, 0, 0));
        assert!(OffPeakRange::parse_label("n/a").is_empty());
    }

    #[test]
    fn personal_data_is_redacted() {
        let c = Contact { email: Some("jean@example.org".into()), ..Contact::default() };
        assert!(!format!("{c:?}").contains("jean"));
        let i = Identity {
            natural_person: Some(NaturalPerson { lastname: Some("DUPONT".into()), ..Default::default() }),
            ..Default::default()
        };
        assert!(!format!("{i:?}").contains("DUPONT"));
    }
}
