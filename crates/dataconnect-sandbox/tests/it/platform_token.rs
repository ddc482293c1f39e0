//! Token endpoints of every generation, their errors, code and token
//! lifetimes, revocation and the gateway's 401.

use std::time::Duration;

use base64::Engine;
use dataconnect_sandbox::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REDIRECT_URI, SandboxConfig};
use serde_json::{Value, json};

use crate::common::{self, Running, enc};

const RFC_INVALID_GRANT: &str = "The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client";

fn legacy_token_url() -> String {
    format!("/v1/oauth2/token?redirect_uri={}", enc(DEFAULT_REDIRECT_URI))
}

async fn post_form(sandbox: &Running, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = sandbox.http.post(sandbox.url(path)).form(form).send().await.expect("token request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn code_form(code: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "authorization_code".to_owned()),
        ("client_id", DEFAULT_CLIENT_ID.to_owned()),
        ("client_secret", DEFAULT_CLIENT_SECRET.to_owned()),
        ("code", code.to_owned()),
    ]
}

fn borrow<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(n, v)| (*n, v.as_str())).collect()
}

#[tokio::test]
async fn legacy_token_has_the_seed_fields_and_types() {
    let sandbox = common::spawn(common::config()).await;
    let before = jiff::Timestamp::now().as_millisecond();
    let token = sandbox.legacy_tokens(7).await;
    let keys: std::collections::BTreeSet<&str> =
        token.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(
        keys.into_iter().collect::<Vec<_>>(),
        [
            "access_token",
            "expires_in",
            "issued_at",
            "refresh_token",
            "refresh_token_issued_at",
            "scope",
            "token_type",
            "usage_points_id"
        ]
    );
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], json!(12600));
    assert_eq!(token["usage_points_id"], "64975835695673,63695879465986,22315546958763");
    let scope = token["scope"].as_str().expect("scope");
    assert!(scope.split(' ').all(|item| item.starts_with('/') && item.ends_with(".GET")), "{scope}");
    assert!(scope.contains("/v3/metering_data/consumption_load_curve.GET"));
    for field in ["issued_at", "refresh_token_issued_at"] {
        let ms: i64 = token[field].as_str().expect("a string").parse().expect("epoch milliseconds");
        assert!(ms >= before - 1000 && ms < before + 60_000, "{field} = {ms}");
    }
    assert!(token["access_token"].as_str().is_some_and(|t| t.len() >= 40));
}

#[tokio::test]
async fn legacy_code_is_single_use_and_bound_to_its_redirect() {
    let sandbox = common::spawn(common::config()).await;
    // The redirect may travel in the body instead of the query.
    let code = sandbox.legacy_code(0).await;
    let mut form = code_form(&code);
    form.push(("redirect_uri", DEFAULT_REDIRECT_URI.to_owned()));
    let (status, body) = post_form(&sandbox, "/v1/oauth2/token", &borrow(&form)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["usage_points_id"], "22516914714270");
    // Used once: the second exchange fails.
    let (status, body) = post_form(&sandbox, "/v1/oauth2/token", &borrow(&form)).await;
    assert_eq!(status, 400);
    assert_eq!(body, json!({"error": "invalid_grant", "error_description": RFC_INVALID_GRANT}));
    // Another redirect than the authorize request's.
    let code = sandbox.legacy_code(0).await;
    let (status, body) = post_form(
        &sandbox,
        &format!("/v1/oauth2/token?redirect_uri={}", enc("https://other.example/cb")),
        &borrow(&code_form(&code)),
    )
    .await;
    assert_eq!((status, body["error"].clone()), (400, json!("invalid_grant")));
    // No redirect at all.
    let (status, body) = post_form(&sandbox, "/v1/oauth2/token", &borrow(&code_form(&code))).await;
    assert_eq!((status, body["error"].clone()), (400, json!("invalid_request")));
    // An unknown code.
    let (_, body) = post_form(&sandbox, &legacy_token_url(), &borrow(&code_form("nope"))).await;
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn legacy_code_expires() {
    let sandbox = common::spawn(SandboxConfig { code_ttl: Duration::ZERO, ..common::config() }).await;
    let code = sandbox.legacy_code(0).await;
    let (status, body) = post_form(&sandbox, &legacy_token_url(), &borrow(&code_form(&code))).await;
    assert_eq!((status, body["error"].clone()), (400, json!("invalid_grant")));
}

#[tokio::test]
async fn legacy_errors() {
    let sandbox = common::spawn(common::config()).await;
    let code = sandbox.legacy_code(0).await;
    let url = legacy_token_url();
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("client_id", DEFAULT_CLIENT_ID), ("client_secret", DEFAULT_CLIENT_SECRET), ("code", &code)],
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", "wrong"),
                ("code", &code),
            ],
            "invalid_client",
        ),
        (
            vec![("grant_type", "authorization_code"), ("client_id", DEFAULT_CLIENT_ID), ("code", &code)],
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", DEFAULT_CLIENT_SECRET),
            ],
            "unsupported_grant_type",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", DEFAULT_CLIENT_SECRET),
            ],
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", DEFAULT_CLIENT_SECRET),
            ],
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", DEFAULT_CLIENT_SECRET),
                ("refresh_token", "unknown"),
            ],
            "invalid_grant",
        ),
    ];
    for (form, error) in cases {
        let (status, body) = post_form(&sandbox, &url, &form).await;
        assert_eq!(status, 400, "{form:?}");
        assert_eq!(body["error"], error, "{form:?}");
        assert!(body["error_description"].as_str().is_some_and(|d| d.len() > 20), "{body}");
    }
    // The code survived the failed attempts (none of them named it validly).
    let (status, _) = post_form(&sandbox, &url, &borrow(&code_form(&code))).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn legacy_refresh_lasts_as_long_as_the_consent() {
    let sandbox = common::spawn(common::config()).await;
    let first = sandbox.legacy_tokens(0).await;
    let refresh = first["refresh_token"].as_str().expect("refresh_token");
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", DEFAULT_CLIENT_ID),
        ("client_secret", DEFAULT_CLIENT_SECRET),
        ("refresh_token", refresh),
    ];
    let (status, second) = post_form(&sandbox, &legacy_token_url(), &form).await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(second["access_token"], first["access_token"]);
    assert_eq!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(second["refresh_token_issued_at"], first["refresh_token_issued_at"]);
    assert_eq!(second["usage_points_id"], "22516914714270");
    // Client 8 revokes its consent at once: its refresh token dies with it.
    let revoked = sandbox.legacy_tokens(8).await;
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", DEFAULT_CLIENT_ID),
        ("client_secret", DEFAULT_CLIENT_SECRET),
        ("refresh_token", revoked["refresh_token"].as_str().expect("refresh_token")),
    ];
    let (status, body) = post_form(&sandbox, &legacy_token_url(), &form).await;
    assert_eq!((status, body["error"].clone()), (400, json!("invalid_grant")));
}

fn jwt_payload(token: &str) -> Value {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "three base64url segments");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[1]).expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON payload")
}

#[tokio::test]
async fn app_token_by_basic_form_or_query() {
    // The default quotas: the JWT's tier shows the per-second limit.
    let sandbox = common::spawn(SandboxConfig::default()).await;
    let basic = sandbox
        .http
        .post(sandbox.url("/oauth2/v3/token"))
        .basic_auth(DEFAULT_CLIENT_ID, Some(DEFAULT_CLIENT_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("basic");
    let query = sandbox
        .http
        .post(sandbox.url(&format!(
            "/oauth2/v3/token?grant_type=client_credentials&client_id={DEFAULT_CLIENT_ID}&client_secret={DEFAULT_CLIENT_SECRET}"
        )))
        .send()
        .await
        .expect("query");
    let form = sandbox
        .http
        .post(sandbox.url("/oauth2/v3/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
        ])
        .send()
        .await
        .expect("form");
    let mut tokens = Vec::new();
    for response in [basic, query, form] {
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], json!(12600));
        assert_eq!(body["scope"], "am_application_scope default");
        let token = body["access_token"].as_str().expect("access_token").to_owned();
        let payload = jwt_payload(&token);
        assert_eq!(payload["keytype"], "SANDBOX");
        assert_eq!(payload["sub"], "DataConnect@carbon.super");
        assert_eq!(payload["aud"], "http://org.wso2.apimgt/gateway");
        assert_eq!(payload["consumerKey"], DEFAULT_CLIENT_ID);
        assert_eq!(payload["tierInfo"]["Bronze"]["spikeArrestLimit"], 5);
        assert_eq!(payload["exp"].as_i64().zip(payload["iat"].as_i64()).map(|(e, i)| e - i), Some(12600));
        let apis = payload["subscribedAPIs"].as_array().expect("subscribedAPIs");
        assert!(
            apis.iter().any(|a| a["context"] == "/metering_data_clc/v5" && a["name"] == "donnees_de_compt_elec_clc")
        );
        assert!(token.len() > 1000, "JWT-sized");
        tokens.push(token);
    }
    assert_ne!(tokens[0], tokens[1]);
}

#[tokio::test]
async fn app_token_errors() {
    let sandbox = common::spawn(common::config()).await;
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("client_id", DEFAULT_CLIENT_ID), ("client_secret", DEFAULT_CLIENT_SECRET)], "invalid_request"),
        (
            vec![("grant_type", "client_credentials"), ("client_id", DEFAULT_CLIENT_ID), ("client_secret", "x")],
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "other"),
                ("client_secret", DEFAULT_CLIENT_SECRET),
            ],
            "invalid_client",
        ),
        (vec![("grant_type", "client_credentials")], "invalid_client"),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", DEFAULT_CLIENT_SECRET),
            ],
            "unsupported_grant_type",
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", DEFAULT_CLIENT_SECRET),
            ],
            "unsupported_grant_type",
        ),
    ];
    for (form, error) in cases {
        let (status, body) = post_form(&sandbox, "/oauth2/v3/token", &form).await;
        assert_eq!((status, body["error"].clone()), (400, json!(error)), "{form:?}");
    }
    let (status, body) = post_form(&sandbox, "/oauth2/v3/token", &[("grant_type", "client_credentials")]).await;
    assert_eq!(
        body["error_description"],
        "Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method)"
    );
    assert_eq!(status, 400);
    // A JSON body is refused with the Swagger's 415.
    let response = sandbox
        .http
        .post(sandbox.url("/oauth2/v3/token"))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .expect("json post");
    assert_eq!(response.status(), 415);
}

async fn services_status(sandbox: &Running, token: &str) -> u16 {
    sandbox
        .http
        .post(sandbox.url("/subscribed_services/v1"))
        .bearer_auth(token)
        .json(&json!({"autorisationId": 1, "comptage": true}))
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

#[tokio::test]
async fn revoked_and_expired_tokens_are_refused() {
    let sandbox = common::spawn(common::config()).await;
    let token = sandbox.app_token().await;
    assert_eq!(services_status(&sandbox, &token).await, 200);
    // Revoke needs the application's credentials and the token.
    let (status, body) = post_form(&sandbox, "/oauth2/v3/revoke", &[("token", token.as_str())]).await;
    assert_eq!((status, body["error"].clone()), (400, json!("invalid_client")));
    let (status, body) = post_form(
        &sandbox,
        "/oauth2/v3/revoke",
        &[("client_id", DEFAULT_CLIENT_ID), ("client_secret", DEFAULT_CLIENT_SECRET)],
    )
    .await;
    assert_eq!((status, body["error"].clone()), (400, json!("invalid_request")));
    assert_eq!(services_status(&sandbox, &token).await, 200);
    let revoke = [
        ("token", token.as_str()),
        ("token_type_hint", "access_token"),
        ("client_id", DEFAULT_CLIENT_ID),
        ("client_secret", DEFAULT_CLIENT_SECRET),
    ];
    let (status, _) = post_form(&sandbox, "/oauth2/v3/revoke", &revoke).await;
    assert_eq!(status, 200);
    assert_eq!(services_status(&sandbox, &token).await, 401);
    // Revoking again, or an unknown token, is still a 200.
    assert_eq!(post_form(&sandbox, "/oauth2/v3/revoke", &revoke).await.0, 200);
    let unknown = [("token", "nope"), ("client_id", DEFAULT_CLIENT_ID), ("client_secret", DEFAULT_CLIENT_SECRET)];
    assert_eq!(post_form(&sandbox, "/oauth2/v3/revoke", &unknown).await.0, 200);
    // Unknown and malformed bearers.
    assert_eq!(services_status(&sandbox, "not-a-token").await, 401);

    // A zero lifetime: the token is expired as soon as it is issued.
    let sandbox = common::spawn(SandboxConfig { token_ttl: Duration::ZERO, ..common::config() }).await;
    let token = sandbox.app_token().await;
    assert_eq!(services_status(&sandbox, &token).await, 401);
}

/// The gateway's 401 on the data APIs of each generation, and a legacy
/// token kept to the PRMs of its consent.
#[tokio::test]
async fn data_calls_check_the_bearer() {
    let sandbox =
        common::spawn(SandboxConfig { today: Some(jiff::civil::date(2024, 6, 12)), ..common::config() }).await;
    let classic = json!({"fault": {
        "code": 900901,
        "message": "Invalid Credentials",
        "description": "Invalid JWT token. Signature verification failed.. Make sure you have provided the correct security credentials",
    }});
    let v5 = "/metering_data_dc/v5/daily_consumption?usage_point_id=22516914714270&start=2024-06-01&end=2024-06-05";
    let legacy = "/v4/metering_data/daily_consumption?usage_point_id=22516914714270&start=2024-06-01&end=2024-06-05";
    let dc2026 = "/mesure_synchrone_auto/v2/consommation_quotidienne?pointId=22516914714270&dateDebut=2024-06-01&dateFin=2024-06-05";
    for path in [v5, legacy] {
        for bearer in [None, Some("unknown")] {
            let mut request = sandbox.http.get(sandbox.url(path));
            if let Some(token) = bearer {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.expect("data call");
            let status = response.status();
            let body = response.json::<Value>().await.unwrap_or(Value::Null);
            assert_eq!((status.as_u16(), &body), (401, &classic), "{path}");
        }
    }
    let response = sandbox.http.get(sandbox.url(dc2026)).send().await.expect("data call");
    assert_eq!(response.status(), 401);
    assert_eq!(response.json::<Value>().await.expect("json")["code"], "900901");

    // A valid application token passes.
    let token = sandbox.app_token().await;
    let response = sandbox.http.get(sandbox.url(v5)).bearer_auth(&token).send().await.expect("data call");
    assert_eq!(response.status(), 200);

    // A legacy token reaches its consent's PRM, not another.
    let tokens = sandbox.legacy_tokens(0).await;
    let access = tokens["access_token"].as_str().expect("access_token");
    let response = sandbox.http.get(sandbox.url(legacy)).bearer_auth(access).send().await.expect("data call");
    assert_eq!(response.status(), 200);
    let other = "/v4/metering_data/daily_consumption?usage_point_id=64975835695673&start=2024-06-01&end=2024-06-05";
    let response = sandbox.http.get(sandbox.url(other)).bearer_auth(access).send().await.expect("data call");
    assert_eq!(response.status(), 403);
}
