//! Consent routes of the three generations, the authorize error catalogue,
//! escaping, the interactive consent page and `POST /subscribed_services/v1`.

use dataconnect_sandbox::{DEFAULT_CLIENT_ID, DEFAULT_REDIRECT_URI, SandboxConfig};
use serde_json::{Value, json};

use crate::common::{self, Running, enc, location, query_param, var_url};

const LEGACY: &str = "/group/espace-particuliers/consentement-linky/oauth2/authorize";
const V1: &str = "/dataconnect/v1/oauth2/authorize";
const V2: &str = "/dataconnect/v2/oauth2/authorize";

/// An authorize query with the registered client and `extra` appended.
fn authorize(path: &str, state: &str, extra: &str) -> String {
    format!("{path}?client_id={DEFAULT_CLIENT_ID}&response_type=code&duration=P1Y&state={}{extra}", enc(state))
}

async fn get(sandbox: &Running, path_and_query: &str) -> reqwest::Response {
    sandbox.http.get(sandbox.url(path_and_query)).send().await.expect("request")
}

#[tokio::test]
async fn legacy_page_holds_the_redirect_in_var_url() {
    let sandbox = common::spawn(common::config()).await;
    let redirect = format!("&redirect_URI={}", enc(DEFAULT_REDIRECT_URI));
    for path in [LEGACY, V1] {
        let response = get(&sandbox, &authorize(path, "xyz7", &redirect)).await;
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap_or("").starts_with("text/html"),
            "{path}"
        );
        let page = response.text().await.expect("page");
        let url = var_url(&page).expect("var url");
        assert!(url.starts_with(&format!("{DEFAULT_REDIRECT_URI}?code=")), "{url}");
        assert_eq!(query_param(&url, "state").as_deref(), Some("xyz7"));
        // Legacy separates several PRMs with commas.
        assert_eq!(
            query_param(&url, "usage_point_id").as_deref(),
            Some("64975835695673,63695879465986,22315546958763")
        );
        // A plain link for clients without JavaScript, HTML-escaped.
        assert!(page.contains(&format!("<a href=\"{}\"", url.replace('&', "&amp;"))), "{page}");
        assert!(page.contains("window.location"));
    }
    // The lower-case spelling works too.
    let response =
        get(&sandbox, &authorize(LEGACY, "s0", &format!("&redirect_uri={}", enc(DEFAULT_REDIRECT_URI)))).await;
    let url = var_url(&response.text().await.expect("page")).expect("var url");
    assert_eq!(query_param(&url, "usage_point_id").as_deref(), Some("22516914714270"));
}

#[tokio::test]
async fn v5_consent_redirects_with_semicolon_separated_prms() {
    let sandbox = common::spawn(common::config()).await;
    let response = get(&sandbox, &authorize(V1, "abcde7", "")).await;
    assert_eq!(response.status(), 302);
    let url = location(&response);
    assert!(url.starts_with(&format!("{DEFAULT_REDIRECT_URI}?code=")), "{url}");
    assert_eq!(query_param(&url, "state").as_deref(), Some("abcde7"));
    assert_eq!(query_param(&url, "usage_point_id").as_deref(), Some("64975835695673;63695879465986;22315546958763"));
    // Each sandbox client grants its own meters.
    for (client, prms) in [
        (0, "22516914714270"),
        (1, "11453290002823"),
        (2, "32320647321714"),
        (3, "12345678901234;10284856584123"),
        (4, "42900589957123"),
        (5, "24880057139941"),
        (6, "12655648759651"),
        (8, "26584978546985"),
    ] {
        let response = get(&sandbox, &authorize(V1, &format!("s{client}"), "")).await;
        assert_eq!(query_param(&location(&response), "usage_point_id").as_deref(), Some(prms), "client {client}");
    }
    // A state without a final digit is client 0; a final 9 has no meter.
    let response = get(&sandbox, &authorize(V1, "nodigit", "")).await;
    assert_eq!(query_param(&location(&response), "usage_point_id").as_deref(), Some("22516914714270"));
    let response = get(&sandbox, &authorize(V1, "s9", "")).await;
    let url = location(&response);
    assert_eq!(query_param(&url, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&url, "usage_point_id"), None);
}

#[tokio::test]
async fn dc2026_consent_returns_a_stable_autorisation_id() {
    let sandbox = common::spawn(common::config()).await;
    let response = get(&sandbox, &authorize(V2, "3f1c2a9e0b7d4c56a8e1f2b3c4d5e6f0", "")).await;
    assert_eq!(response.status(), 302);
    let url = location(&response);
    let id = query_param(&url, "autorisation_id").expect("autorisation_id");
    assert!(id.chars().next().is_some_and(|c| ('1'..='9').contains(&c)) && id.parse::<i64>().is_ok(), "{id}");
    assert_eq!(query_param(&url, "state").as_deref(), Some("3f1c2a9e0b7d4c56a8e1f2b3c4d5e6f0"));
    assert_eq!(query_param(&url, "code"), None);
    assert_eq!(query_param(&url, "usage_point_id"), None);
    // The same application and holder always get the same id; another
    // holder another one. `redirect_uri` naming the registered URL is
    // tolerated.
    let again = get(&sandbox, &authorize(V2, "other0", &format!("&redirect_uri={}", enc(DEFAULT_REDIRECT_URI)))).await;
    assert_eq!(query_param(&location(&again), "autorisation_id").as_deref(), Some(id.as_str()));
    let other = get(&sandbox, &authorize(V2, "x3", "")).await;
    assert_ne!(query_param(&location(&other), "autorisation_id").as_deref(), Some(id.as_str()));
}

async fn subscribed(sandbox: &Running, token: &str, path: &str, body: Value) -> (u16, Value) {
    let response =
        sandbox.http.post(sandbox.url(path)).bearer_auth(token).json(&body).send().await.expect("subscribed_services");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn autorisation_of(sandbox: &Running, state: &str) -> u64 {
    let response = get(sandbox, &authorize(V2, state, "")).await;
    query_param(&location(&response), "autorisation_id").and_then(|id| id.parse().ok()).expect("autorisation_id")
}

#[tokio::test]
async fn subscribed_services_resolve_an_autorisation() {
    let sandbox = common::spawn(common::config()).await;
    let token = sandbox.app_token().await;
    let id = autorisation_of(&sandbox, "s0").await;
    let body =
        json!({"autorisationId": id, "comptage": false, "etatCode": ["ACTIF", "DEMANDE"], "serviceType": "ACCES"});
    for path in ["/subscribed_services/v1", "/subscribed_services/v1/"] {
        let (status, answer) = subscribed(&sandbox, &token, path, body.clone()).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(answer["nbTotalServices"], 5);
        let services = answer["serviceSouscrit"].as_array().expect("serviceSouscrit");
        let kinds: Vec<&str> = services.iter().filter_map(|s| s["mesuresTypeCode"].as_str()).collect();
        assert_eq!(kinds, ["CDC", "PMAX", "IDX", "ENERGIE", "ITC"]);
        for service in services {
            assert_eq!(service["pointId"], "22516914714270");
            assert_eq!(service["serviceCode"], "ACCES");
            assert_eq!(service["etatCode"], "ACTIF");
            assert_eq!(service["soutirage"], true);
            assert_eq!(service["injection"], false);
            assert_eq!(service["autorisation"]["autorisationId"], json!(id));
            assert!(service["id"].is_string());
        }
        assert_eq!(services[0]["mesuresPas"], "PT30M");
        assert_eq!(services[4]["mesuresPas"], "NA");
    }
    // The bodies other clients send work as well.
    let (status, answer) =
        subscribed(&sandbox, &token, "/subscribed_services/v1", json!({"autorisationId": id, "comptage": false})).await;
    assert_eq!((status, answer["nbTotalServices"].clone()), (200, json!(5)));
    let (_, answer) = subscribed(
        &sandbox,
        &token,
        "/subscribed_services/v1/",
        json!({"autorisationId": id, "autorisation": true, "comptage": false, "serviceType": "ACCES"}),
    )
    .await;
    assert_eq!(answer["nbTotalServices"], 5);
    // comptage: true gives the count only.
    let (_, answer) =
        subscribed(&sandbox, &token, "/subscribed_services/v1", json!({"autorisationId": id, "comptage": true})).await;
    assert_eq!(answer, json!({"nbTotalServices": 5}));
    // An unknown authorisation has no service, and no list.
    let (status, answer) =
        subscribed(&sandbox, &token, "/subscribed_services/v1", json!({"autorisationId": 10, "comptage": false})).await;
    assert_eq!((status, answer), (200, json!({"nbTotalServices": 0})));
    // comptage is required.
    let (status, answer) = subscribed(&sandbox, &token, "/subscribed_services/v1", json!({"autorisationId": id})).await;
    assert_eq!(status, 400);
    assert_eq!(answer["message"], "Le paramètre comptage est obligatoire");
    // Without a token: the 2026 gateway's flat 401.
    let response = sandbox
        .http
        .post(sandbox.url("/subscribed_services/v1"))
        .json(&json!({"autorisationId": id, "comptage": false}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], "900901");
}

#[tokio::test]
async fn subscribed_services_per_sandbox_client() {
    let sandbox = common::spawn(common::config()).await;
    let token = sandbox.app_token().await;
    // Client 3 has two meters; one consent shares one PRM: the first.
    let id = autorisation_of(&sandbox, "s3").await;
    let (_, answer) =
        subscribed(&sandbox, &token, "/subscribed_services/v1", json!({"autorisationId": id, "comptage": false})).await;
    let prms: std::collections::BTreeSet<&str> =
        answer["serviceSouscrit"].as_array().expect("list").iter().filter_map(|s| s["pointId"].as_str()).collect();
    assert_eq!(prms.into_iter().collect::<Vec<_>>(), ["12345678901234"]);
    // Client 6 (self-consumption) has consumption and injection services.
    let id = autorisation_of(&sandbox, "s6").await;
    let (_, answer) =
        subscribed(&sandbox, &token, "/subscribed_services/v1", json!({"autorisationId": id, "comptage": false})).await;
    let services = answer["serviceSouscrit"].as_array().expect("list");
    assert!(services.iter().any(|s| s["injection"] == true) && services.iter().any(|s| s["soutirage"] == true));
    let (_, only_injection) = subscribed(
        &sandbox,
        &token,
        "/subscribed_services/v1",
        json!({"autorisationId": id, "comptage": true, "injection": true}),
    )
    .await;
    assert_eq!(only_injection["nbTotalServices"], 3);
    // Client 8 revoked its consent: nothing active, the services are there
    // as SUPPRIME.
    let id = autorisation_of(&sandbox, "s8").await;
    let (_, answer) =
        subscribed(&sandbox, &token, "/subscribed_services/v1", json!({"autorisationId": id, "comptage": false})).await;
    assert_eq!(answer, json!({"nbTotalServices": 0}));
    let (_, answer) = subscribed(
        &sandbox,
        &token,
        "/subscribed_services/v1",
        json!({"autorisationId": id, "comptage": false, "etatCode": ["SUPPRIME"]}),
    )
    .await;
    assert_eq!(answer["serviceSouscrit"][0]["etatCode"], "SUPPRIME");
}

/// Each authorize error, alone, then combined to show the catalogue's
/// order.
#[tokio::test]
async fn authorize_errors_in_catalogue_order() {
    let sandbox = common::spawn(common::config()).await;
    let ok_redirect = enc(DEFAULT_REDIRECT_URI);
    let cases: Vec<(String, u16, &str, &str)> = vec![
        (format!("{V1}?response_type=code&duration=P1Y&state=s0"), 400, "invalid_request", "missing_parameter"),
        (
            format!("{V1}?client_id={DEFAULT_CLIENT_ID}&duration=P1Y&state=s0"),
            400,
            "invalid_request",
            "missing_parameter",
        ),
        (
            format!("{V1}?client_id={DEFAULT_CLIENT_ID}&response_type=code&state=s0"),
            400,
            "invalid_request",
            "missing_parameter",
        ),
        (
            format!("{V1}?client_id={DEFAULT_CLIENT_ID}&response_type=code&state=s0&duration="),
            400,
            "invalid_request",
            "missing_parameter",
        ),
        (
            format!("{LEGACY}?client_id={DEFAULT_CLIENT_ID}&response_type=code&state=s0&duration=P1Y"),
            400,
            "invalid_request",
            "missing_parameter",
        ),
        (authorize(V1, &"x".repeat(101), ""), 400, "invalid_request", "invalid_state"),
        (
            format!("{V1}?client_id={DEFAULT_CLIENT_ID}&response_type=code&state=s0&duration=1Y"),
            400,
            "invalid_request",
            "invalid_duration_format",
        ),
        (
            format!("{V2}?client_id={DEFAULT_CLIENT_ID}&response_type=code&state=s0&duration=P1Y2Q"),
            400,
            "invalid_request",
            "invalid_duration_format",
        ),
        (
            format!("{V1}?client_id={DEFAULT_CLIENT_ID}&response_type=code&state=s0&duration=P4Y"),
            400,
            "invalid_request",
            "maximum_duration_exceeded",
        ),
        (
            format!("{V1}?client_id={DEFAULT_CLIENT_ID}&response_type=code&state=s0&duration=-P1D"),
            400,
            "invalid_request",
            "maximum_duration_exceeded",
        ),
        (
            format!("{V1}?client_id={DEFAULT_CLIENT_ID}&response_type=code&state=s0&duration=PT1H"),
            500,
            "server_error",
            "lincs-internal-server-error",
        ),
        (
            format!("{V1}?client_id={DEFAULT_CLIENT_ID}&response_type=token&state=s0&duration=P1Y"),
            400,
            "unsupported_response_type",
            "",
        ),
        (
            format!("{V1}?client_id=someone-else&response_type=code&state=s0&duration=P1Y"),
            400,
            "invalid_client",
            "unknown_client_id",
        ),
        (
            format!(
                "{LEGACY}?client_id={DEFAULT_CLIENT_ID}&response_type=code&state=s0&duration=P1Y&redirect_URI=https%3A%2F%2Fevil.example%2Fcb"
            ),
            400,
            "invalid_request",
            "redirect_uri_mismatch",
        ),
        (
            format!(
                "{V2}?client_id={DEFAULT_CLIENT_ID}&response_type=code&state=s0&duration=P1Y&redirect_uri=https%3A%2F%2Fevil.example%2Fcb"
            ),
            400,
            "invalid_request",
            "redirect_uri_mismatch",
        ),
        // Combinations: the earlier check wins.
        (
            format!("{V1}?client_id=someone-else&response_type=token&state=s0&duration=P9Y"),
            400,
            "invalid_request",
            "maximum_duration_exceeded",
        ),
        (
            format!("{V1}?client_id=someone-else&response_type=token&state=s0&duration=P1Y"),
            400,
            "unsupported_response_type",
            "",
        ),
        (
            format!(
                "{LEGACY}?client_id=someone-else&response_type=code&state=s0&duration=P1Y&redirect_URI=https%3A%2F%2Fevil.example"
            ),
            400,
            "invalid_client",
            "unknown_client_id",
        ),
        (
            format!("{LEGACY}?response_type=code&state=s0&duration=bad&redirect_URI={ok_redirect}"),
            400,
            "invalid_request",
            "missing_parameter",
        ),
    ];
    for (query, status, error, description) in cases {
        let response = get(&sandbox, &query).await;
        assert_eq!(response.status().as_u16(), status, "{query}");
        // Errors are answered on the page, never redirected.
        assert!(response.headers().get(reqwest::header::LOCATION).is_none(), "{query}");
        let body: Value = response.json().await.expect("JSON error body");
        assert_eq!(body["error"], error, "{query}");
        if !description.is_empty() {
            assert_eq!(body["error_description"], description, "{query}");
        }
    }
}

#[tokio::test]
async fn reflected_values_are_escaped() {
    let sandbox = common::spawn(common::config()).await;
    let evil = "\"><script>alert(1)</script>'7";
    let response =
        get(&sandbox, &authorize(LEGACY, evil, &format!("&redirect_URI={}", enc(DEFAULT_REDIRECT_URI)))).await;
    let page = response.text().await.expect("page");
    assert!(!page.contains("<script>alert"), "{page}");
    let url = var_url(&page).expect("var url");
    assert_eq!(query_param(&url, "state").as_deref(), Some(evil));
    // The same state on the 302s: percent-encoded in Location.
    let response = get(&sandbox, &authorize(V1, evil, "")).await;
    let url = location(&response);
    assert!(!url.contains('<') && !url.contains('"'), "{url}");
    assert_eq!(query_param(&url, "state").as_deref(), Some(evil));
    // Markup in the duration is refused, and not reflected.
    let response = get(
        &sandbox,
        &format!("{V1}?client_id={DEFAULT_CLIENT_ID}&response_type=code&state=s0&duration={}", enc("<b>P1Y</b>")),
    )
    .await;
    assert_eq!(response.status(), 400);
    assert!(!response.text().await.expect("body").contains("<b>"));
    // On the consent page, state and duration are escaped.
    let sandbox = common::spawn(SandboxConfig { consent_page: true, ..common::config() }).await;
    let page = get(&sandbox, &authorize(V1, evil, "")).await.text().await.expect("page");
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(page.contains("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&#39;7"), "{page}");
}

async fn post_form(sandbox: &Running, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    sandbox.http.post(sandbox.url(path)).form(form).send().await.expect("form post")
}

#[tokio::test]
async fn consent_page_accept_and_refuse() {
    let sandbox = common::spawn(SandboxConfig { consent_page: true, ..common::config() }).await;
    let response = get(&sandbox, &authorize(V1, "page7", "")).await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.expect("page");
    for expected in [
        "lang=\"fr\"",
        DEFAULT_CLIENT_ID,
        "pendant <strong>1 an</strong>",
        "Accepter",
        "Refuser",
        "method=\"post\"",
        "name=\"client\" id=\"client-7\" value=\"7\" checked",
        "value=\"63695879465986\"",
        "Données partagées",
    ] {
        assert!(page.contains(expected), "{expected} missing from {page}");
    }
    assert!(!page.contains("<script"), "the page works without JavaScript");

    let base = [("client_id", DEFAULT_CLIENT_ID), ("response_type", "code"), ("duration", "P1Y"), ("state", "page7")];
    // Accept one meter of client 7.
    let mut form = base.to_vec();
    form.extend([("client", "7"), ("prm", "63695879465986"), ("decision", "accept")]);
    let response = post_form(&sandbox, V1, &form).await;
    assert_eq!(response.status(), 302);
    let url = location(&response);
    assert_eq!(query_param(&url, "usage_point_id").as_deref(), Some("63695879465986"));
    assert_eq!(query_param(&url, "state").as_deref(), Some("page7"));
    // Refuse.
    let mut form = base.to_vec();
    form.extend([("client", "7"), ("decision", "refuse")]);
    let response = post_form(&sandbox, V1, &form).await;
    assert_eq!(response.status(), 302);
    let url = location(&response);
    assert_eq!(query_param(&url, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&url, "state").as_deref(), Some("page7"));
    assert_eq!(query_param(&url, "usage_point_id"), None);
    // A meter of another client is refused with the page again.
    let mut form = base.to_vec();
    form.extend([("client", "7"), ("prm", "22516914714270"), ("decision", "accept")]);
    let response = post_form(&sandbox, V1, &form).await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.expect("page").contains("Accepter"));
    // A tampered hidden field is validated again.
    let form = [
        ("client_id", "someone-else"),
        ("response_type", "code"),
        ("duration", "P1Y"),
        ("client", "0"),
        ("decision", "accept"),
    ];
    let response = post_form(&sandbox, V1, &form).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "invalid_client");

    // Generation 3: one meter per consent.
    let base = [("client_id", DEFAULT_CLIENT_ID), ("response_type", "code"), ("duration", "P6M"), ("state", "g3")];
    let mut form = base.to_vec();
    form.extend([("client", "3"), ("prm", "12345678901234"), ("prm", "10284856584123"), ("decision", "accept")]);
    assert_eq!(post_form(&sandbox, V2, &form).await.status(), 400);
    let mut form = base.to_vec();
    form.extend([("client", "3"), ("prm", "10284856584123"), ("decision", "accept")]);
    let response = post_form(&sandbox, V2, &form).await;
    assert_eq!(response.status(), 302);
    let id = query_param(&location(&response), "autorisation_id").expect("autorisation_id");
    let token = sandbox.app_token().await;
    let (_, answer) =
        subscribed(&sandbox, &token, "/subscribed_services/v1", json!({"autorisationId": id, "comptage": false})).await;
    assert!(answer["serviceSouscrit"].as_array().expect("list").iter().all(|s| s["pointId"] == "10284856584123"));
    let mut form = base.to_vec();
    form.extend([("client", "3"), ("decision", "refuse")]);
    let url = location(&post_form(&sandbox, V2, &form).await);
    assert_eq!(query_param(&url, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&url, "code"), None);

    // Generation 1: the answer is the legacy page.
    let redirect = DEFAULT_REDIRECT_URI;
    let form = [
        ("client_id", DEFAULT_CLIENT_ID),
        ("response_type", "code"),
        ("duration", "P3Y"),
        ("state", "legacy"),
        ("redirect_uri", redirect),
        ("client", "0"),
        ("decision", "accept"),
    ];
    let response = post_form(&sandbox, LEGACY, &form).await;
    assert_eq!(response.status(), 200);
    let url = var_url(&response.text().await.expect("page")).expect("var url");
    assert_eq!(query_param(&url, "usage_point_id").as_deref(), Some("22516914714270"));
    assert!(query_param(&url, "code").is_some());
}
