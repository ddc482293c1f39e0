//! Every data and customer route of every generation answers the spec's
//! shape: key order, string-typed values, stamps, envelopes.

use serde_json::Value;

use crate::data_support::*;

const PRM: &str = "22516914714270";

#[tokio::test]
async fn v5_daily_consumption_shape_and_key_order() {
    let e = env().await;
    let (status, text) =
        e.get_text(&v5("metering_data_dc/v5/daily_consumption", PRM, "2024-03-01", "2024-03-04")).await;
    assert_eq!(status, 200, "{text}");
    let head = r#"{"meter_reading":{"usage_point_id":"22516914714270","start":"2024-03-01","end":"2024-03-04","quality":"BRUT","reading_type":{"unit":"Wh","measurement_kind":"energy","aggregate":"sum","measuring_period":"P1D"},"interval_reading":[{"value":""#;
    assert!(text.starts_with(head), "{text}");
    let body: Value = serde_json::from_str(&text).expect("JSON");
    let items = readings(&body);
    let dates: Vec<&str> = items.iter().map(|i| i["date"].as_str().unwrap_or("")).collect();
    assert_eq!(dates, ["2024-03-01", "2024-03-02", "2024-03-03"]);
    for item in items {
        assert!(item["value"].is_string());
        assert!(int(&item["value"]) > 1000, "{item}");
    }
}

#[tokio::test]
async fn v5_load_curve_shape_and_stamps() {
    let e = env().await;
    let (status, text) =
        e.get_text(&v5("metering_data_clc/v5/consumption_load_curve", PRM, "2024-03-01", "2024-03-02")).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains(
        r#""reading_type":{"unit":"W","measurement_kind":"power","aggregate":"average"},"interval_reading":[{"value":""#
    ));
    let body: Value = serde_json::from_str(&text).expect("JSON");
    let items = readings(&body);
    assert_eq!(items.len(), 48);
    assert_eq!(items[0]["date"], "2024-03-01 00:30:00");
    assert_eq!(items[47]["date"], "2024-03-02 00:00:00");
    for item in items {
        // Key order, read on the raw text (serde_json sorts keys).
        let raw = format!(
            r#"{{"value":"{}","date":"{}","interval_length":"PT30M","measure_type":"B"}}"#,
            item["value"].as_str().unwrap_or(""),
            item["date"].as_str().unwrap_or("")
        );
        assert!(text.contains(&raw), "{raw}");
        assert_eq!(item["interval_length"], "PT30M");
        assert_eq!(item["measure_type"], "B");
        assert!(int(&item["value"]) > 0);
    }
}

#[tokio::test]
async fn v5_max_power_and_production() {
    let e = env().await;
    let (status, text) =
        e.get_text(&v5("metering_data_dcmp/v5/daily_consumption_max_power", PRM, "2024-03-01", "2024-03-03")).await;
    assert_eq!(status, 200);
    assert!(text.contains(
        r#""reading_type":{"unit":"VA","measurement_kind":"power","aggregate":"maximum","measuring_period":"P1D"}"#
    ));
    let body: Value = serde_json::from_str(&text).expect("JSON");
    let items = readings(&body);
    assert_eq!(items.len(), 2);
    assert!(items[0]["date"].as_str().unwrap_or("").starts_with("2024-03-01 "));
    assert!(items[1]["date"].as_str().unwrap_or("").starts_with("2024-03-02 "));

    let producer = "24880057139941";
    let daily = e.ok(&v5("metering_data_dp/v5/daily_production", producer, "2024-06-01", "2024-06-02")).await;
    assert_eq!(daily["meter_reading"]["reading_type"]["unit"], "Wh");
    assert!(int(&readings(&daily)[0]["value"]) > 0);
    let curve = e.ok(&v5("metering_data_plc/v5/production_load_curve", producer, "2024-06-01", "2024-06-02")).await;
    let items = readings(&curve);
    assert_eq!(items.len(), 48);
    // Night is dark, noon is not.
    assert_eq!(items[0]["value"], "0");
    assert!(int(&items[26]["value"]) > 0);
}

#[tokio::test]
async fn legacy_v3_has_the_wrapper_and_ranks() {
    let e = env().await;
    let (status, text) =
        e.get_text(&v5("v3/metering_data/consumption_load_curve", PRM, "2024-03-01", "2024-03-03")).await;
    assert_eq!(status, 200, "{text}");
    let head = r#"{"usage_point":[{"meter_reading":{"usage_point_id":"22516914714270","start":"2024-03-01","end":"2024-03-03","reading_type":{"measurement_kind":"power","interval_length":"1800","unit":"W","aggregate":"average"},"interval_reading":[{"rank":"1","value":""#;
    assert!(text.starts_with(head), "{text}");
    let body: Value = serde_json::from_str(&text).expect("JSON");
    let items = body["usage_point"][0]["meter_reading"]["interval_reading"].as_array().expect("readings");
    let ranks: Vec<i64> = items.iter().map(|i| int(&i["rank"])).collect();
    assert_eq!(ranks, (1..=96).collect::<Vec<_>>());

    for path in ["v3/metering_data/daily_consumption", "v3/metering_data/consumption_max_power"] {
        let body = e.ok(&v5(path, PRM, "2024-03-01", "2024-03-03")).await;
        let items = body["usage_point"][0]["meter_reading"]["interval_reading"].as_array().expect("readings");
        assert_eq!(items.len(), 2, "{path}");
        assert_eq!(items[1]["rank"], "2");
    }
}

#[tokio::test]
async fn every_metering_route_answers_200() {
    let e = env().await;
    let consumer = "12655648759651"; // self-consumption: both directions
    for (path, curve, _) in LEGACY_METERING.iter().chain(V5_METERING) {
        let end = if *curve { "2024-06-03" } else { "2024-06-10" };
        let body = e.ok(&v5(path, consumer, "2024-06-01", end)).await;
        let reading =
            if path.starts_with("v3/") { &body["usage_point"][0]["meter_reading"] } else { &body["meter_reading"] };
        assert_eq!(reading["usage_point_id"], consumer, "{path}");
        assert!(!reading["interval_reading"].as_array().map(Vec::is_empty).unwrap_or(true), "{path}");
    }
    for (path, curve, _, extra) in Y2026_METERING {
        let end = if *curve { "2024-06-03" } else { "2024-06-10" };
        let body = e.ok(&format!("{}{extra}", y2026(path, consumer, "2024-06-01", end))).await;
        assert_eq!(body["idPrm"], consumer);
        assert!(!points(&body).is_empty(), "{path}");
    }
}

#[tokio::test]
async fn y2026_bodies_follow_the_captured_key_order() {
    let e = env().await;
    let (_, daily) = e.get_text(&y2026("consommation_quotidienne", PRM, "2024-09-29", "2024-10-01")).await;
    assert!(daily.starts_with(r#"{"idPrm":"22516914714270","etapeMetier":"BRUT","periode":{"dateDebut":"2024-09-29","dateFin":"2024-10-01"},"typeValeur":"GLOBALE","modeCalcul":"DIFF.INDEX","pas":"P1D","grandeur":[{"grandeurMetier":"CONS","grandeurPhysique":"EA","unite":"Wh","points":[{"v":""#), "{daily}");
    assert!(daily.ends_with(r#""d":"2024-09-30"}],"calendrier":[]}],"contexte":[]}"#), "{daily}");

    let (_, curve) = e.get_text(&y2026("courbe_de_charge_consommation", PRM, "2024-09-29", "2024-09-30")).await;
    assert!(curve.starts_with(r#"{"idPrm":"22516914714270","etapeMetier":"BRUT","periode":{"dateDebut":"2024-09-29","dateFin":"2024-09-30"},"modeCalcul":"MESURE","grandeur":[{"grandeurMetier":"CONS","grandeurPhysique":"PA","unite":"W","points":[{"v":""#), "{curve}");
    let body: Value = serde_json::from_str(&curve).expect("JSON");
    let pts = points(&body);
    assert_eq!(pts.len(), 48);
    assert_eq!(pts[0]["d"], "2024-09-29 00:30:00");
    assert_eq!(pts[47]["d"], "2024-09-30 00:00:00");
    for p in pts {
        let raw = format!(
            r#"{{"v":"{}","d":"{}","p":"PT30M","n":"B","iv":"0","ec":"0"}}"#,
            p["v"].as_str().unwrap_or(""),
            p["d"].as_str().unwrap_or("")
        );
        assert!(curve.contains(&raw), "{raw}");
        assert_eq!(
            (p["p"].as_str(), p["n"].as_str(), p["iv"].as_str(), p["ec"].as_str()),
            (Some("PT30M"), Some("B"), Some("0"), Some("0"))
        );
    }

    let (_, max) = e
        .get_text(&format!(
            "{}&mesuresPas=P1D&grandeurPhysique=PMA",
            y2026("puissance_conso_max_quotidienne", PRM, "2024-09-29", "2024-10-01")
        ))
        .await;
    assert!(max.starts_with(r#"{"idPrm":"22516914714270","etapeMetier":"BRUT","periode":{"dateDebut":"2024-09-29","dateFin":"2024-10-01"},"modeCalcul":"MESURE","pas":"P1D","grandeur":[{"grandeurMetier":"CONS","grandeurPhysique":"PMA","unite":"VA","points":[{"v":""#), "{max}");
    let body: Value = serde_json::from_str(&max).expect("JSON");
    assert_eq!(points(&body).len(), 2);

    let (_, prod) = e.get_text(&y2026("production_quotidienne", "24880057139941", "2024-06-01", "2024-06-03")).await;
    assert!(prod.contains(r#""grandeur":[{"grandeurMetier":"PROD","grandeurPhysique":"EA","unite":"Wh""#), "{prod}");
}

#[tokio::test]
async fn y2026_max_power_monthly_and_tout() {
    let e = env().await;
    let base = y2026("puissance_conso_max_quotidienne", PRM, "2024-01-15", "2024-03-10");
    let daily = e.ok(&format!("{base}&mesuresPas=P1D&grandeurPhysique=TOUT")).await;
    assert_eq!(daily["grandeur"].as_array().map(Vec::len), Some(1), "single-phase meters answer PMA only");
    let monthly = e.ok(&format!("{base}&mesuresPas=P1M&grandeurPhysique=PMA")).await;
    assert_eq!(monthly["pas"], "P1M");
    let months: Vec<&str> = points(&monthly).iter().map(|p| &p["d"].as_str().unwrap_or("")[..7]).collect();
    assert_eq!(months, ["2024-01", "2024-02", "2024-03"]);
    let top = points(&daily).iter().map(|p| int(&p["v"])).max();
    assert_eq!(points(&monthly).iter().map(|p| int(&p["v"])).max(), top);
}

#[tokio::test]
async fn customers_routes_of_v3_and_v5() {
    let e = env().await;
    for path in CUSTOMERS {
        let body = e.ok(&format!("/{path}?usage_point_id={PRM}")).await;
        let customer_id = if path.ends_with("identity") || path.ends_with("contact_data") {
            body["customer_id"].clone()
        } else {
            body["customer"]["customer_id"].clone()
        };
        assert_eq!(customer_id.as_str().map(str::len), Some(10), "{path}: {body}");
        if path.ends_with("contracts") {
            let up = &body["customer"]["usage_points"][0];
            assert_eq!(up["usage_point"]["usage_point_id"], PRM);
            assert_eq!(up["contracts"]["segment"], "C5");
            assert!(up["contracts"]["subscribed_power"].as_str().unwrap_or("").ends_with(" kVA"));
            assert!(up["contracts"]["last_activation_date"].as_str().unwrap_or("").contains('+'));
        }
        if path.ends_with("addresses") {
            let addr = &body["customer"]["usage_points"][0]["usage_point"]["usage_point_addresses"];
            assert!(addr["insee_code"].is_string());
            assert!(addr["geo_points"]["latitude"].is_string());
        }
        if path.ends_with("identity") {
            assert!(body["identity"]["natural_person"]["lastname"].is_string());
        }
        if path.ends_with("contact_data") {
            assert!(body["contact_data"]["email"].as_str().unwrap_or("").ends_with("@example.fr"));
        }
    }
}

#[tokio::test]
async fn y2026_contract_apis() {
    let e = env().await;
    for path in ITC {
        let (status, text) = e.get_text(&format!("/{path}/{PRM}")).await;
        assert_eq!(status, 200, "{path}: {text}");
    }
    let single = e.ok(&format!("/situation_contrat_auto/v1/{PRM}")).await;
    let contracts = single.as_array().expect("a bare array");
    assert_eq!(contracts.len(), 1);
    assert_eq!(contracts[0]["contract_type"], "Contrat GRD-F");
    assert_eq!(contracts[0]["subscribed_power"]["unit"], "kVA");
    assert!(contracts[0]["customer"]["customer"]["adress"]["line1"].is_string());
    assert!(contracts[0]["contract_start"].as_str().unwrap_or("").ends_with("T00:00:00+0100"));

    let selfc = e.ok("/situation_contrat_auto/v1/12655648759651").await;
    let segments: Vec<&str> =
        selfc.as_array().expect("array").iter().map(|c| c["segment"].as_str().unwrap_or("")).collect();
    assert_eq!(segments, ["C5", "P4"]);
    let synth = e.ok("/synth_contrat_auto/v1/12655648759651").await;
    assert_eq!(synth["segments"], serde_json::json!([{"segment": "C5"}, {"segment": "P4"}]));
    assert_eq!(synth["services_level"], "Communicant (ouvert aux services)");
    assert!(synth["generation_last_activation_date"].is_string());

    let producer = e.ok("/situation_contrat_auto/v1/24880057139941").await;
    assert_eq!(producer.as_array().map(Vec::len), Some(1));
    assert_eq!(producer[0]["segment"], "P4");

    let comptage = e.ok(&format!("/comptage_auto/v1/{PRM}")).await;
    assert_eq!(comptage["dispositifComptage"]["typeComptage"]["code"], "AMM");
    let general = e.ok(&format!("/donnees_generales_auto/v1/{PRM}")).await;
    assert!(general["address"]["postal_code_city"].is_string());
}

#[tokio::test]
async fn same_meter_same_values_in_every_generation() {
    let e = env().await;
    let (s, d) = ("2024-02-05", "2024-02-06");
    let v5c = e.ok(&v5("metering_data_clc/v5/consumption_load_curve", PRM, s, d)).await;
    let v4c = e.ok(&v5("v4/metering_data/consumption_load_curve", PRM, s, d)).await;
    let v3c = e.ok(&v5("v3/metering_data/consumption_load_curve", PRM, s, d)).await;
    let y26 = e.ok(&y2026("courbe_de_charge_consommation", PRM, s, d)).await;
    let values = |items: &[Value], key: &str| items.iter().map(|i| i[key].clone()).collect::<Vec<_>>();
    let reference = values(readings(&v5c), "value");
    assert_eq!(values(readings(&v4c), "value"), reference);
    assert_eq!(
        values(v3c["usage_point"][0]["meter_reading"]["interval_reading"].as_array().expect("v3"), "value"),
        reference
    );
    assert_eq!(values(points(&y26), "v"), reference);
    assert_eq!(values(points(&y26), "d"), values(readings(&v5c), "date"));

    let dv5 = e.ok(&v5("metering_data_dc/v5/daily_consumption", PRM, s, d)).await;
    let dv3 = e.ok(&v5("v3/metering_data/daily_consumption", PRM, s, d)).await;
    let d26 = e.ok(&y2026("consommation_quotidienne", PRM, s, d)).await;
    let daily = &readings(&dv5)[0]["value"];
    assert_eq!(&dv3["usage_point"][0]["meter_reading"]["interval_reading"][0]["value"], daily);
    assert_eq!(&points(&d26)[0]["v"], daily);
    // And the day is the sum of its curve.
    assert_eq!(int(daily) * 60, curve_energy_x60(readings(&v5c)));

    // Calling twice gives the same answer.
    assert_eq!(e.ok(&v5("metering_data_clc/v5/consumption_load_curve", PRM, s, d)).await, v5c);
}
