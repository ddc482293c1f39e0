//! Contract, address, identity and contact through every generation.

use dataconnect::{ErrorKind, Generation};
use jiff::civil::date;

use super::support::{self, client, consent, prm, start};

#[tokio::test]
async fn customer_data_of_every_generation() {
    let run = start(support::config()).await;
    let meter = prm("22516914714270");
    for generation in Generation::ALL {
        let c = client(&run, generation);
        if generation == Generation::Legacy {
            consent(&c, 0).await;
        }
        let k = c.contract(&meter).send().await.unwrap_or_else(|e| panic!("{generation}: {e}"));
        assert_eq!(k.segment.as_deref(), Some("C5"), "{generation}");
        assert!(k.subscribed_power_kva.is_some_and(|p| p > 0.0), "{generation}: {k:?}");
        assert!(k.activation_date.is_some(), "{generation}: {k:?}");
        assert!(k.tariff.is_some(), "{generation}");
        assert!(k.contract_type.is_some(), "{generation}");
        if generation != Generation::Dc2026 {
            // Generation 3 no longer returns the contract status.
            assert!(k.status.is_some(), "{generation}");
        }
        let a = c.address(&meter).send().await.unwrap_or_else(|e| panic!("{generation}: {e}"));
        assert!(a.street.is_some() && a.postal_code.is_some() && a.city.is_some(), "{generation}: {a:?}");
        assert!(a.insee_code.is_some(), "{generation}");
        let i = c.identity(&meter).send().await.unwrap_or_else(|e| panic!("{generation}: {e}"));
        assert!(i.natural_person.is_some() || i.legal_entity.is_some(), "{generation}");
        let k2 = c.contact(&meter).send().await.unwrap_or_else(|e| panic!("{generation}: {e}"));
        assert!(k2.email.is_some() || k2.phone.is_some(), "{generation}");
        // Personal data stays out of Debug output.
        if let Some(email) = &k2.email {
            assert!(!format!("{k2:?}").contains(email.as_str()));
        }
    }
}

#[tokio::test]
async fn off_peak_hours_and_self_consumption_contracts() {
    let run = start(support::config()).await;
    let c5 = client(&run, Generation::V5);
    let c3 = client(&run, Generation::Dc2026);
    for m in ["22516914714270", "64975835695673", "12655648759651"] {
        let a = c5.contract(&prm(m)).send().await.unwrap();
        let b = c3.contract(&prm(m)).send().await.unwrap();
        // Same customer, same facts, whatever the generation.
        assert_eq!(a.subscribed_power_kva, b.subscribed_power_kva, "{m}");
        assert_eq!(a.activation_date, b.activation_date, "{m}");
        assert_eq!(a.offpeak_hours, b.offpeak_hours, "{m}");
        assert_eq!(a.offpeak_hours_raw.is_some(), !a.offpeak_hours.is_empty(), "{m}: {:?}", a.offpeak_hours_raw);
    }
    // Client 6 (self-consumption) has a consumption and a production contract in 2026.
    let all = c3.contract(&prm("12655648759651")).send_all().await.unwrap();
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(all.iter().any(|k| k.segment.as_deref() == Some("P4")));
    assert_eq!(c3.contract(&prm("12655648759651")).send().await.unwrap().segment.as_deref(), Some("C5"));
}

#[tokio::test]
async fn customer_errors() {
    let run = start(support::config()).await;
    // Customer data exists for consumption points only.
    let e = client(&run, Generation::V5).identity(&prm("24880057139941")).send().await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::UnknownUsagePoint, "{e}");
    // Generation 3 gives a production meter its injection contract.
    let k = client(&run, Generation::Dc2026).contract(&prm("24880057139941")).send().await.unwrap();
    assert_eq!(k.segment.as_deref(), Some("P4"));
    assert_eq!(k.activation_date, Some(date(2019, 4, 1)));
    assert!(k.subscribed_power_kva.is_none());
    // A meter without consent.
    for generation in [Generation::V5, Generation::Dc2026] {
        let e = client(&run, generation).address(&prm("99999999999999")).send().await.unwrap_err();
        assert!(e.needs_consent(), "{generation}: {e}");
    }
    // Generation 1 without any consent: no token for the meter.
    let e = client(&run, Generation::Legacy).contract(&prm("22516914714270")).send().await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::NoToken);
    assert!(e.needs_consent());
}
