//! `--fleet N`: synthetic meters already consented to the registered
//! application, served over real HTTP like the table's meters, and refused
//! beyond N exactly as a meter without consent is.

use serde_json::Value;

use crate::common;
use crate::data_support::*;

/// A sandbox frozen at [`TODAY`] with a fleet of `n` meters, and an app
/// token (no consent journey).
async fn fleet_env(n: u32) -> Env {
    let sb =
        common::spawn(dataconnect_sandbox::SandboxConfig { today: Some(TODAY), fleet: n, ..common::config() }).await;
    let token = sb.app_token().await;
    Env { sb, token }
}

const DC: &str = "metering_data_dc/v5/daily_consumption";
const CLC: &str = "metering_data_clc/v5/consumption_load_curve";

#[tokio::test]
async fn fleet_meter_answers_v5_and_2026_daily_and_curve() {
    let e = fleet_env(20).await;
    for prm in ["25000000000001", "25000000000020"] {
        let daily = e.ok(&v5(DC, prm, "2024-06-01", "2024-06-08")).await;
        assert_eq!(daily["meter_reading"]["usage_point_id"], prm);
        assert_eq!(readings(&daily).len(), 7);
        let curve = e.ok(&v5(CLC, prm, "2024-06-01", "2024-06-02")).await;
        let items = readings(&curve);
        assert_eq!(items.len(), 48);
        assert!(items.iter().all(|i| i["interval_length"] == "PT30M" && int(&i["value"]) >= 0));
        // A day's energy is the sum of its curve, as for the table's meters.
        let day = int(&readings(&daily)[0]["value"]);
        assert_eq!(day * 60, curve_energy_x60(items));

        let daily26 = e.ok(&y2026("consommation_quotidienne", prm, "2024-06-01", "2024-06-08")).await;
        let days26 = points(&daily26);
        assert_eq!(days26.len(), 7);
        assert_eq!(int(&days26[0]["v"]), day, "{daily26}");
        let curve26 = e.ok(&y2026("courbe_de_charge_consommation", prm, "2024-06-01", "2024-06-02")).await;
        assert_eq!(points(&curve26).len(), 48);
        // Activation at the rollout: the whole 36-month history is there.
        let (status, _) = e.get(&v5(DC, prm, "2021-11-10", "2021-11-12")).await;
        assert_eq!(status, 200, "{prm}: history before any recent activation");
        // Consumption only.
        let (status, body) = e.get(&v5("metering_data_dp/v5/daily_production", prm, "2024-06-01", "2024-06-02")).await;
        assert_eq!((status, &body["error"]), (400, &Value::from("ADAM-ERR0069")), "{prm}");
    }
}

#[tokio::test]
async fn fleet_meter_answers_legacy_routes_with_the_application_token() {
    let e = fleet_env(3).await;
    for path in ["v4/metering_data/daily_consumption", "v4/metering_data/consumption_load_curve"] {
        let (status, text) = e.get_text(&v5(path, "25000000000003", "2024-06-01", "2024-06-02")).await;
        assert_eq!(status, 200, "{path}: {text}");
    }
}

#[tokio::test]
async fn beyond_the_fleet_is_refused_like_a_meter_without_consent() {
    let e = fleet_env(20).await;
    // 99999999999999 is a meter without any consent: the reference refusal.
    for (path, field) in [
        (v5(DC, "{}", "2024-06-01", "2024-06-02"), "error"),
        (v5(CLC, "{}", "2024-06-01", "2024-06-02"), "error"),
        (y2026("consommation_quotidienne", "{}", "2024-06-01", "2024-06-02"), "code"),
        (y2026("courbe_de_charge_consommation", "{}", "2024-06-01", "2024-06-02"), "code"),
    ] {
        let (ref_status, reference) = e.get_text(&path.replace("{}", "99999999999999")).await;
        assert_eq!(ref_status, 403, "{reference}");
        let reference: Value = serde_json::from_str(&reference).expect("JSON");
        assert!(reference[field].as_str().is_some_and(|c| c == "ADAM-DC-0008"), "{reference}");
        for beyond in ["25000000000021", "25000000000000", "25000000100000"] {
            let (status, body) = e.get(&path.replace("{}", beyond)).await;
            assert_eq!((status, &body), (ref_status, &reference), "{beyond} on {path}");
        }
    }
    // Without --fleet, fleet PRMs are unknown meters.
    let none = fleet_env(0).await;
    let (status, body) = none.get(&v5(DC, "25000000000001", "2024-06-01", "2024-06-02")).await;
    assert_eq!((status, &body["error"]), (403, &Value::from("ADAM-DC-0008")));
}

#[tokio::test]
async fn two_fleet_meters_have_different_data() {
    let e = fleet_env(20).await;
    let series = |body: &Value| readings(body).iter().map(|i| int(&i["value"])).collect::<Vec<_>>();
    let a = series(&e.ok(&v5(CLC, "25000000000001", "2024-06-01", "2024-06-03")).await);
    let b = series(&e.ok(&v5(CLC, "25000000000002", "2024-06-01", "2024-06-03")).await);
    assert_eq!(a.len(), b.len());
    assert_ne!(a, b);
    let da = series(&e.ok(&v5(DC, "25000000000001", "2024-01-01", "2024-03-01")).await);
    let db = series(&e.ok(&v5(DC, "25000000000002", "2024-01-01", "2024-03-01")).await);
    let differing = da.iter().zip(&db).filter(|(x, y)| x != y).count();
    assert!(differing > da.len() / 2, "{differing} of {} days differ", da.len());
    // The same meter answers the same data in another sandbox.
    let again = fleet_env(5).await;
    let a2 = series(&again.ok(&v5(CLC, "25000000000001", "2024-06-01", "2024-06-03")).await);
    assert_eq!(a, a2);
}

#[tokio::test]
async fn a_fleet_beyond_the_cap_is_refused_with_a_clear_error() {
    let config = dataconnect_sandbox::SandboxConfig {
        fleet: dataconnect_sandbox::FLEET_MAX + 1,
        ..dataconnect_sandbox::SandboxConfig::default()
    };
    let Err(error) = dataconnect_sandbox::Sandbox::new(config) else { panic!("a fleet of 100001 was accepted") };
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("at most 100000"), "{error}");
}
