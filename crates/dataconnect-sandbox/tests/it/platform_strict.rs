//! `--strict-consent`: application tokens reach only the meters whose
//! consent was given through the consent pages (or the fleet's), as in
//! production, so a client can tell a consent it was given from one it
//! merely claims.

use dataconnect_sandbox::{DEFAULT_CLIENT_ID, SandboxConfig};

use crate::common::{Running, config, spawn};

const DC: &str = "metering_data_dc/v5/daily_consumption";

async fn daily(run: &Running, token: &str, prm: &str) -> (u16, String) {
    let response = run
        .http
        .get(run.url(&format!("/{DC}?usage_point_id={prm}&start=2024-01-01&end=2024-01-02")))
        .bearer_auth(token)
        .send()
        .await
        .expect("data call");
    (response.status().as_u16(), response.text().await.expect("body"))
}

async fn consent(run: &Running, path: &str, client: u8) {
    let url =
        run.url(&format!("{path}?client_id={DEFAULT_CLIENT_ID}&response_type=code&duration=P1Y&state=strict{client}"));
    let response = run.http.get(url).send().await.expect("authorize");
    assert_eq!(response.status(), 302, "the consent is granted at once");
}

#[tokio::test]
async fn only_meters_consented_through_the_pages_answer() {
    let run = spawn(SandboxConfig {
        strict_consent: true,
        today: Some(jiff::civil::date(2024, 11, 20)),
        fleet: 2,
        ..config()
    })
    .await;
    let token = run.app_token().await;
    let (status, body) = daily(&run, &token, "22516914714270").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("ADAM-DC-0008"), "{body}");
    // A v5 consent of client 0 opens its meter, and only it.
    consent(&run, "/dataconnect/v1/oauth2/authorize", 0).await;
    assert_eq!(daily(&run, &token, "22516914714270").await.0, 200);
    assert_eq!(daily(&run, &token, "11453290002823").await.0, 403);
    // A 2026 consent of client 1 opens its meter (in every generation).
    consent(&run, "/dataconnect/v2/oauth2/authorize", 1).await;
    assert_eq!(daily(&run, &token, "11453290002823").await.0, 200);
    // Client 8's consent is revoked at once; the fleet consented earlier.
    consent(&run, "/dataconnect/v2/oauth2/authorize", 8).await;
    assert_eq!(daily(&run, &token, "26584978546985").await.0, 403);
    assert_eq!(daily(&run, &token, &dataconnect_sandbox::fleet_prm(2)).await.0, 200);
}

#[tokio::test]
async fn without_strict_consent_every_known_meter_answers() {
    let run = spawn(SandboxConfig { today: Some(jiff::civil::date(2024, 11, 20)), ..config() }).await;
    let token = run.app_token().await;
    assert_eq!(daily(&run, &token, "11453290002823").await.0, 200);
}
