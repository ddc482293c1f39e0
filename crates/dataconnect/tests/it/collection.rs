//! The load-curve collection state (the consent's `CCDC` service) against
//! the sandbox: client 0's curve is collected, client 2's is not.

use dataconnect::{CurveCollection, ErrorKind, Generation};

use super::support::{client, config, consent, start};

#[tokio::test]
async fn the_ccdc_service_says_whether_the_curve_is_collected() {
    let run = start(config()).await;
    let c = client(&run, Generation::Dc2026);
    for (sandbox_client, expected) in [(0, CurveCollection::Collected), (2, CurveCollection::NotCollected)] {
        let given = consent(&c, sandbox_client).await;
        let id = given.autorisation_id.clone().expect("a 2026 consent has an autorisation_id");
        let prm = given.usage_points.first().expect("one meter").clone();
        assert_eq!(c.curve_collection(&id, &prm).await.unwrap(), expected, "client {sandbox_client}");
    }
    assert!(CurveCollection::NotCollected.advice().contains("Collecte de la consommation horaire"));
    let v5 = client(&run, Generation::V5);
    let e = v5.curve_collection("1", &super::support::prm("22516914714270")).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Unsupported);
}
