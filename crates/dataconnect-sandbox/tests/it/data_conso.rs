//! The emulated Conso API gateway (`/conso/{type}`), read as raw HTTP: the
//! older type names answer the v5 `meter_reading` object without its
//! wrapper, the 2026 names the 2026 measurement body (the max-power
//! parameters optional), the token covers exactly the PRMs it names, and
//! every refusal is `{"status", "message", "error"}` with Data Connect's
//! own body inside when the refusal is Data Connect's.

use serde_json::Value;

use crate::common;

const METER: &str = "22516914714270";

async fn get(run: &common::Running, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = run.http.get(run.url(path));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

#[tokio::test]
async fn both_type_families_and_the_error_bodies() {
    let mut config = common::config();
    config.today = Some("2025-11-20".parse().unwrap());
    let run = common::spawn(config).await;
    let token = format!("sandbox-conso-{METER}");

    let (status, body) =
        get(&run, &format!("/conso/daily_consumption?prm={METER}&start=2025-11-01&end=2025-11-08"), Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("meter_reading").is_none(), "the older family has no wrapper: {body}");
    assert_eq!(body["usage_point_id"], METER);
    assert_eq!(body["interval_reading"].as_array().map(Vec::len), Some(7));

    let (status, body) = get(
        &run,
        &format!("/conso/consommation_quotidienne?pointId={METER}&dateDebut=2025-11-01&dateFin=2025-11-08"),
        Some(&token),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["grandeur"][0]["points"].as_array().map(Vec::len), Some(7));
    // Max power without mesuresPas and grandeurPhysique.
    let (status, body) = get(
        &run,
        &format!("/conso/puissance_conso_max_quotidienne?pointId={METER}&dateDebut=2025-11-01&dateFin=2025-11-08"),
        Some(&token),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["grandeur"][0]["grandeurPhysique"], "PMA");

    // No token, another meter's token: the gateway's 401.
    let path = format!("/conso/consumption_load_curve?prm={METER}&start=2025-11-01&end=2025-11-02");
    for t in [None, Some("sandbox-conso-24880057139941"), Some("not-a-token")] {
        let (status, body) = get(&run, &path, t).await;
        assert_eq!(status, 401, "{t:?}: {body}");
        assert_eq!(body["status"], 401);
        assert!(body["message"].is_string() && body["error"] == "Unauthorized", "{body}");
    }
    // Data Connect's refusal inside: a curve of more than 7 days.
    let (status, body) = get(
        &run,
        &format!("/conso/courbe_de_charge_consommation?pointId={METER}&dateDebut=2025-11-01&dateFin=2025-11-10"),
        Some(&token),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["status"], 400);
    assert!(body["error"].is_object(), "Data Connect's body inside: {body}");
    // An unknown type.
    let (status, body) = get(&run, "/conso/index_consommation", Some(&token)).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["status"], 404);
}
