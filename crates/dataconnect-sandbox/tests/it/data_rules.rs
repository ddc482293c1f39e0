//! Every date rule and parameter error of every generation, with its
//! status and body, and the validation order between them.

use serde_json::Value;

use crate::data_support::*;

const PRM: &str = "22516914714270";
const CLIENT1: &str = "11453290002823";
const PRODUCER: &str = "24880057139941";
const REVOKED: &str = "26584978546985";
const UNKNOWN: &str = "99999999999999";

/// One case: the query (names of generation 1/2), and the expected
/// status and `error` (for legacy/v5) or `code` (for 2026).
struct Case {
    what: &'static str,
    curve: bool,
    prm: Option<&'static str>,
    start: Option<&'static str>,
    end: Option<&'static str>,
    status: u16,
    error: &'static str,
    description: &'static str,
    code_2026: &'static str,
}

const fn case(
    what: &'static str,
    curve: bool,
    q: (Option<&'static str>, Option<&'static str>, Option<&'static str>),
    status: u16,
    error: &'static str,
    description: &'static str,
    code_2026: &'static str,
) -> Case {
    Case { what, curve, prm: q.0, start: q.1, end: q.2, status, error, description, code_2026 }
}

const IR: &str = "invalid_request";

/// TODAY is 2024-11-20: the curve history starts 2022-11-05, the daily one
/// 2021-11-05.
const CASES: &[Case] = &[
    case(
        "missing PRM",
        false,
        (None, Some("2024-01-01"), Some("2024-01-02")),
        400,
        IR,
        "usage_point_id parameter is required",
        IR,
    ),
    case(
        "short PRM",
        false,
        (Some("1234"), Some("2024-01-01"), Some("2024-01-02")),
        400,
        IR,
        "usage_point_id parameter must be 14 digits long",
        IR,
    ),
    case(
        "letters in PRM",
        false,
        (Some("2251691471427a"), Some("2024-01-01"), Some("2024-01-02")),
        400,
        IR,
        "usage_point_id parameter must be 14 digits long",
        IR,
    ),
    case(
        "missing start",
        false,
        (Some(PRM), None, Some("2024-01-02")),
        400,
        IR,
        "Start date parameter is required",
        IR,
    ),
    case(
        "bad start",
        false,
        (Some(PRM), Some("2024-1-01"), Some("2024-01-02")),
        400,
        IR,
        "Start date parameter must be in the format YYYY-MM-DD",
        IR,
    ),
    case(
        "impossible start",
        false,
        (Some(PRM), Some("2023-02-29"), Some("2024-01-02")),
        400,
        IR,
        "Start date parameter must be in the format YYYY-MM-DD",
        IR,
    ),
    case("missing end", false, (Some(PRM), Some("2024-01-01"), None), 400, IR, "End date parameter is required", IR),
    case(
        "bad end",
        false,
        (Some(PRM), Some("2024-01-01"), Some("02/01/2024")),
        400,
        IR,
        "End date parameter must be in the format YYYY-MM-DD",
        IR,
    ),
    case(
        "end after today",
        false,
        (Some(PRM), Some("2024-11-19"), Some("2024-11-21")),
        400,
        IR,
        "The end date parameter must be earlier than the current date",
        IR,
    ),
    case(
        "start equals end",
        true,
        (Some(PRM), Some("2024-01-01"), Some("2024-01-01")),
        400,
        IR,
        "Start date should be before end date",
        IR,
    ),
    case(
        "start after end",
        false,
        (Some(PRM), Some("2024-01-03"), Some("2024-01-01")),
        400,
        IR,
        "Start date should be before end date",
        IR,
    ),
    case(
        "unknown PRM",
        false,
        (Some(UNKNOWN), Some("2024-01-01"), Some("2024-01-02")),
        403,
        "ADAM-DC-0008",
        "No consent can be found for this customer and this usage point.",
        "ADAM-DC-0008",
    ),
    case(
        "revoked consent (client 8)",
        true,
        (Some(REVOKED), Some("2024-01-01"), Some("2024-01-02")),
        403,
        "ADAM-DC-0008",
        "No consent can be found for this customer and this usage point.",
        "ADAM-DC-0008",
    ),
    case(
        "consumption on a production PRM",
        false,
        (Some(PRODUCER), Some("2024-01-01"), Some("2024-01-02")),
        400,
        "ADAM-ERR0069",
        "Le sens de la mesure ne correspond pas pour le PRM demandé.",
        "ADAM-ERR0069",
    ),
    case(
        "curve over 7 days",
        true,
        (Some(PRM), Some("2024-01-01"), Some("2024-01-09")),
        400,
        "ADAM-ERR0126",
        "The requested period must be less than 7 days for an access to the load curve.",
        "ADAM-ERR0126",
    ),
    case(
        "daily over 365 days",
        false,
        (Some(PRM), Some("2023-01-01"), Some("2024-01-02")),
        400,
        IR,
        "The requested period must be less than 365 days.",
        IR,
    ),
    case(
        "curve history",
        true,
        (Some(PRM), Some("2022-11-04"), Some("2022-11-06")),
        400,
        "ADAM-ERR0125",
        "The start date must be greater than the history deadline.",
        "ADAM-ERR0125",
    ),
    case(
        "daily history",
        false,
        (Some(PRM), Some("2021-11-04"), Some("2021-11-06")),
        400,
        "ADAM-ERR0125",
        "The start date must be greater than the history deadline.",
        "ADAM-ERR0125",
    ),
    // Validation order: the format of the dates comes before consent, the
    // dates' logic before consent, consent before the span.
    case(
        "bad start beats unknown PRM",
        false,
        (Some(UNKNOWN), Some("x"), Some("2024-01-02")),
        400,
        IR,
        "Start date parameter must be in the format YYYY-MM-DD",
        IR,
    ),
    case(
        "future end beats unknown PRM",
        false,
        (Some(UNKNOWN), Some("2024-01-01"), Some("2025-01-02")),
        400,
        IR,
        "The end date parameter must be earlier than the current date",
        IR,
    ),
    case(
        "consent beats span",
        true,
        (Some(UNKNOWN), Some("2024-01-01"), Some("2024-02-01")),
        403,
        "ADAM-DC-0008",
        "No consent can be found for this customer and this usage point.",
        "ADAM-DC-0008",
    ),
    case(
        "span beats history",
        true,
        (Some(PRM), Some("2021-01-01"), Some("2021-02-01")),
        400,
        "ADAM-ERR0126",
        "The requested period must be less than 7 days for an access to the load curve.",
        "ADAM-ERR0126",
    ),
];

fn query(c: &Case, names: (&str, &str, &str)) -> String {
    let mut parts = Vec::new();
    if let Some(p) = c.prm {
        parts.push(format!("{}={p}", names.0));
    }
    if let Some(s) = c.start {
        parts.push(format!("{}={s}", names.1));
    }
    if let Some(e) = c.end {
        parts.push(format!("{}={e}", names.2));
    }
    parts.join("&")
}

#[tokio::test]
async fn legacy_and_v5_errors() {
    let e = env().await;
    for c in CASES {
        let paths: &[&str] = if c.curve {
            &[
                "metering_data_clc/v5/consumption_load_curve",
                "v4/metering_data/consumption_load_curve",
                "v3/metering_data/consumption_load_curve",
            ]
        } else {
            &[
                "metering_data_dc/v5/daily_consumption",
                "v4/metering_data/daily_consumption",
                "v3/metering_data/daily_consumption",
                "metering_data_dcmp/v5/daily_consumption_max_power",
            ]
        };
        for path in paths {
            let (status, body) = e.get(&format!("/{path}?{}", query(c, ("usage_point_id", "start", "end")))).await;
            assert_eq!(status, c.status, "{}: {path}: {body}", c.what);
            assert_eq!(body["error"], c.error, "{}: {path}", c.what);
            assert_eq!(body["error_description"], c.description, "{}: {path}", c.what);
            let legacy = path.starts_with("v3/") || path.starts_with("v4/");
            assert_eq!(body.get("error_uri").is_some(), legacy, "{}: {path}: error_uri only in legacy", c.what);
        }
    }
}

#[tokio::test]
async fn y2026_errors_use_code_and_message() {
    let e = env().await;
    for c in CASES {
        let path = if c.curve { "courbe_de_charge_consommation" } else { "consommation_quotidienne" };
        let (status, body) =
            e.get(&format!("/mesure_synchrone_auto/v2/{path}?{}", query(c, ("pointId", "dateDebut", "dateFin")))).await;
        assert_eq!(status, c.status, "{}: {body}", c.what);
        assert_eq!(body["code"], c.code_2026, "{}: {body}", c.what);
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{}: {body}", c.what);
        assert!(body.get("error").is_none(), "{}", c.what);
    }
}

#[tokio::test]
async fn exactly_seven_and_365_days_are_accepted() {
    let e = env().await;
    let curve = e.ok(&v5("metering_data_clc/v5/consumption_load_curve", PRM, "2024-01-01", "2024-01-08")).await;
    assert_eq!(readings(&curve).len(), 7 * 48);
    let daily = e.ok(&v5("metering_data_dc/v5/daily_consumption", PRM, "2023-01-01", "2024-01-01")).await;
    assert_eq!(readings(&daily).len(), 365);
    let y = e.ok(&y2026("courbe_de_charge_consommation", PRM, "2024-01-01", "2024-01-08")).await;
    assert_eq!(points(&y).len(), 7 * 48);
    // The oldest accepted starts.
    e.ok(&v5("metering_data_clc/v5/consumption_load_curve", PRM, "2022-11-05", "2022-11-06")).await;
    e.ok(&v5("metering_data_dc/v5/daily_consumption", PRM, "2021-11-05", "2021-11-06")).await;
    // end = today is accepted; today itself has no point yet.
    let recent = e.ok(&v5("metering_data_dc/v5/daily_consumption", PRM, "2024-11-18", "2024-11-20")).await;
    assert_eq!(readings(&recent).len(), 2);
}

#[tokio::test]
async fn before_activation_is_adam_err0123_in_every_generation() {
    // Client 1's meter was commissioned on 2019-08-27; freeze the calendar
    // early enough for that date to be inside the history window.
    let e = env_at(jiff::civil::date(2020, 6, 1)).await;
    for path in [
        "metering_data_dc/v5/daily_consumption",
        "v4/metering_data/daily_consumption",
        "v3/metering_data/daily_consumption",
    ] {
        let (status, body) = e.get(&v5(path, CLIENT1, "2019-08-20", "2019-08-30")).await;
        assert_eq!(status, 400, "{path}");
        assert_eq!(body["error"], "ADAM-ERR0123");
        assert_eq!(
            body["error_description"],
            "The requested period cannot be anterior to the meter's last activation date"
        );
    }
    let (status, body) = e.get(&y2026("consommation_quotidienne", CLIENT1, "2019-08-26", "2019-08-30")).await;
    assert_eq!(status, 400);
    // The one 2026 error with the v5 keys.
    assert_eq!(
        body,
        serde_json::json!({"error": "ADAM-ERR0123", "error_description": "La demande ne peut pas aboutir, la période demandée est antérieure à la date de dernière mise en service du point."})
    );
    // From the activation day on, the data is there.
    let ok = e.ok(&v5("metering_data_dc/v5/daily_consumption", CLIENT1, "2019-08-27", "2019-08-30")).await;
    assert_eq!(readings(&ok).len(), 3);
}

/// The requests outside the 2026 published description, with what the
/// friendly 400 names: v5 names, a missing or out-of-enum max-power
/// parameter, an unknown parameter, an unknown resource.
fn out_of_spec_requests() -> Vec<(String, &'static str)> {
    let base = y2026("puissance_conso_max_quotidienne", PRM, "2024-01-01", "2024-01-03");
    let mut cases = vec![(
        "/mesure_synchrone_auto/v2/consommation_quotidienne?usage_point_id=22516914714270&start=2024-01-01&end=2024-01-02"
            .to_owned(),
        "usage_point_id",
    )];
    for (extra, needle) in [
        ("", "mesuresPas"),
        ("&mesuresPas=P1D", "grandeurPhysique"),
        ("&mesuresPas=PT30M&grandeurPhysique=PMA", "mesuresPas"),
        ("&mesuresPas=P1D&grandeurPhysique=PA", "grandeurPhysique"),
    ] {
        cases.push((format!("{base}{extra}"), needle));
    }
    cases.push((format!("{}&cache=1", y2026("consommation_quotidienne", PRM, "2024-01-01", "2024-01-02")), "cache"));
    // The guide's spelling of the index path; the Swagger's is
    // `index_consommation`.
    cases.push((y2026("index_consumption", PRM, "2024-01-01", "2024-01-02"), "index_consumption"));
    cases.push((format!("/situation_contrat_auto/v1/{PRM}?pointId={PRM}"), "pointId"));
    cases
}

#[tokio::test]
async fn y2026_requests_outside_the_description_answer_500_as_the_gateway_does() {
    let e = env().await;
    for (path, _) in out_of_spec_requests() {
        let (status, body) = e.get_text(&path).await;
        assert_eq!(status, 500, "{path}: {body}");
        // No body: it must not pass for the technical-error one.
        assert!(body.is_empty(), "{path}: {body}");
    }
    // Without a valid token, the gateway's 401 comes first.
    let (status, _) = e.get_text_with(&y2026("index_consumption", PRM, "2024-01-01", "2024-01-02"), None).await;
    assert_eq!(status, 401);
    // Outside the 2026 APIs, an unknown path is still WSO2's 404.
    let (status, body) = e.get("/v9/nothing").await;
    assert_eq!((status, &body["message"]), (404, &Value::from("No matching resource found for given API Request")));
}

#[tokio::test]
async fn y2026_out_of_spec_400_names_the_problem() {
    let sb = crate::common::spawn(dataconnect_sandbox::SandboxConfig {
        today: Some(TODAY),
        out_of_spec_400: true,
        ..crate::common::config()
    })
    .await;
    let token = sb.app_token().await;
    let e = Env { sb, token };
    for (path, needle) in out_of_spec_requests() {
        let (status, body) = e.get(&path).await;
        assert_eq!(status, 400, "{path}");
        assert_eq!(body["code"], "invalid_request", "{path}");
        assert!(body["message"].as_str().unwrap_or("").contains(needle), "{path}: {body}");
    }
}

#[tokio::test]
async fn no_data_is_404_in_each_family() {
    let e = env().await;
    // Client 4 has no data on Tuesdays and Wednesdays: 2024-11-12/13.
    let gap = "42900589957123";
    let (status, body) = e.get(&v5("metering_data_dc/v5/daily_consumption", gap, "2024-11-12", "2024-11-14")).await;
    assert_eq!(
        (status, &body["error"], &body["error_description"]),
        (404, &Value::from("no_data_found"), &Value::from("no measure found for this usage point"))
    );
    let (status, body) = e.get(&y2026("courbe_de_charge_consommation", gap, "2024-11-12", "2024-11-14")).await;
    assert_eq!((status, &body["message"]), (404, &Value::from("Pas de mesure trouvée pour ce point")));
    // Today itself is never published: [today, today) is refused anyway,
    // and [yesterday, today) at noon is there.
    let y = e.ok(&v5("metering_data_clc/v5/consumption_load_curve", PRM, "2024-11-19", "2024-11-20")).await;
    assert_eq!(readings(&y).len(), 48);
}

#[tokio::test]
async fn yesterday_appears_at_eight_paris_time() {
    // The real clock: yesterday's points are served exactly when it is
    // 08:00 or later in Paris.
    let sb = crate::common::spawn(crate::common::config()).await;
    let token = sb.app_token().await;
    let now = jiff::Timestamp::now().to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Paris").expect("tz"));
    let today = now.date();
    let yesterday = today.yesterday().expect("yesterday");
    let response = sb
        .http
        .get(sb.url(&v5("metering_data_dc/v5/daily_consumption", PRM, &yesterday.to_string(), &today.to_string())))
        .bearer_auth(&token)
        .send()
        .await
        .expect("GET");
    let after_eight = jiff::Timestamp::now().to_zoned_datetime(now.time_zone().clone()).hour() >= 8;
    let status = response.status().as_u16();
    // Skip the one-second race at exactly 08:00:00.
    if now.hour() >= 8 && after_eight {
        assert_eq!(status, 200);
    } else if now.hour() < 8 && !after_eight {
        assert_eq!(status, 404);
    }
}

#[tokio::test]
async fn auth_comes_first() {
    let e = env().await;
    // A bad query without a token is a 401, not a 400.
    let (status, _) = e.get_text_with("/metering_data_dc/v5/daily_consumption", None).await;
    assert_eq!(status, 401);
    let (status, _) =
        e.get_text_with("/mesure_synchrone_auto/v2/consommation_quotidienne?usage_point_id=1", None).await;
    assert_eq!(status, 401);
    let (status, _) = e.get_text_with(&format!("/situation_contrat_auto/v1/{PRM}"), Some("not-a-token")).await;
    assert_eq!(status, 401);
    let (status, _) = e.get_text_with(&format!("/customers_i/v5/identity?usage_point_id={PRM}"), None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn legacy_token_reaches_only_its_consent() {
    let e = env().await;
    let tokens = e.sb.legacy_tokens(0).await;
    let token = tokens["access_token"].as_str().expect("access_token");
    let path = |prm: &str| v5("v4/metering_data/daily_consumption", prm, "2024-01-01", "2024-01-02");
    let (status, _) = e.get_text_with(&path(PRM), Some(token)).await;
    assert_eq!(status, 200);
    let (status, text) = e.get_text_with(&path("64975835695673"), Some(token)).await;
    assert_eq!(status, 403, "{text}");
    let (status, _) = e.get_text_with("/v3/customers/identity?usage_point_id=64975835695673", Some(token)).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn customers_and_contract_errors() {
    let e = env().await;
    let (status, body) = e.get("/customers_i/v5/identity").await;
    assert_eq!((status, &body["error_description"]), (400, &Value::from("usage_point_id parameter is required.")));
    let (status, body) = e.get("/customers_cd/v5/contact_data?usage_point_id=12").await;
    assert_eq!((status, &body["error"]), (400, &Value::from("invalid_request")));
    let (status, body) = e.get(&format!("/customers_upc/v5/usage_points/contracts?usage_point_id={REVOKED}")).await;
    assert_eq!((status, &body["error"]), (403, &Value::from("ADAM-DC-0008")));
    // Customer data exists only for consumption points.
    let (status, body) = e.get(&format!("/customers_upa/v5/usage_points/addresses?usage_point_id={PRODUCER}")).await;
    assert_eq!((status, &body["error"]), (404, &Value::from("STM-ERR-0000019")));
    let (status, body) = e.get(&format!("/v3/customers/identity?usage_point_id={UNKNOWN}")).await;
    assert_eq!((status, &body["error"]), (403, &Value::from("ADAM-DC-0008")));
    assert!(body["error_uri"].is_string());

    for path in ITC {
        let (status, body) = e.get(&format!("/{path}/123")).await;
        assert_eq!((status, body["code"].is_string()), (400, true), "{path}");
        let (status, body) = e.get(&format!("/{path}/{UNKNOWN}")).await;
        assert_eq!(status, 403, "{path}");
        assert_eq!(body["message"], "Le client n'est pas autorisé pour le point demandé");
        let (status, _) = e.get(&format!("/{path}/{REVOKED}")).await;
        assert_eq!(status, 403, "{path}");
        // The PRM belongs in the path; a query parameter is outside the
        // description: the gateway's bare 500.
        let (status, _) = e.get(&format!("/{path}/{PRM}?usage_point_id={PRM}")).await;
        assert_eq!(status, 500, "{path}");
    }
}
