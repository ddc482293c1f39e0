//! What the gateway does around every route: quotas, injected faults, the
//! request log, the OpenAPI description, and the command's first line.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dataconnect_sandbox::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, SandboxConfig};
use serde_json::{Value, json};

use crate::common::{self, Running};

const TODAY: jiff::civil::Date = jiff::civil::date(2024, 6, 12);
const V5_DAILY: &str =
    "/metering_data_dc/v5/daily_consumption?usage_point_id=22516914714270&start=2024-06-01&end=2024-06-05";
const V4_DAILY: &str =
    "/v4/metering_data/daily_consumption?usage_point_id=22516914714270&start=2024-06-01&end=2024-06-05";
const MESURE: &str =
    "/mesure_synchrone_auto/v2/consommation_quotidienne?pointId=22516914714270&dateDebut=2024-06-01&dateFin=2024-06-05";
const ITC: &str = "/situation_contrat_auto/v1/22516914714270";

fn quotas(per_second: u32, per_hour: u32) -> SandboxConfig {
    SandboxConfig {
        today: Some(TODAY),
        quota_per_second: per_second,
        quota_per_hour: per_hour,
        quota_per_hour_api: per_hour,
        ..SandboxConfig::default()
    }
}

async fn call(sandbox: &Running, token: &str, path: &str) -> (u16, Value, bool) {
    let response = sandbox.http.get(sandbox.url(path)).bearer_auth(token).send().await.expect("data call");
    let status = response.status().as_u16();
    let retry_after = response.headers().contains_key(reqwest::header::RETRY_AFTER);
    (status, response.json().await.unwrap_or(Value::Null), retry_after)
}

#[tokio::test]
async fn a_burst_over_the_per_second_quota_gets_429s() {
    let sandbox = common::spawn(quotas(5, 0)).await;
    let token = sandbox.app_token().await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let http = sandbox.http.clone();
        let url = sandbox.url(V5_DAILY);
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let response = http.get(url).bearer_auth(token).send().await.expect("data call");
            let status = response.status().as_u16();
            let retry_after = response.headers().contains_key(reqwest::header::RETRY_AFTER);
            (status, response.json::<Value>().await.unwrap_or(Value::Null), retry_after)
        }));
    }
    let mut ok = 0;
    let mut throttled = 0;
    for task in tasks {
        let (status, body, retry_after) = task.await.expect("task");
        match status {
            200 => ok += 1,
            429 => {
                throttled += 1;
                assert_eq!(
                    body,
                    json!({"fault": {"code": 900807, "message": "Message throttled out", "description": "You have exceeded your quota"}})
                );
                // No capture of Enedis's 429 shows a Retry-After header.
                assert!(!retry_after);
            }
            other => panic!("unexpected status {other}: {body}"),
        }
    }
    assert!(ok >= 5, "the first five calls of the second pass ({ok})");
    assert!(throttled >= 1, "a 20-call burst is throttled ({ok} passed)");
}

#[tokio::test]
async fn a_paced_client_is_never_throttled() {
    let sandbox = common::spawn(quotas(5, 0)).await;
    let token = sandbox.app_token().await;
    for _ in 0..8 {
        let (status, body, _) = call(&sandbox, &token, V5_DAILY).await;
        assert_eq!(status, 200, "{body}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn the_hourly_cap_answers_the_flat_900804_body() {
    let sandbox = common::spawn(quotas(0, 3)).await;
    // Token calls do not count.
    let token = sandbox.app_token().await;
    let _ = sandbox.app_token().await;
    // Generations 1 and 2 share one budget per application.
    assert_eq!(call(&sandbox, &token, V5_DAILY).await.0, 200);
    assert_eq!(call(&sandbox, &token, V4_DAILY).await.0, 200);
    assert_eq!(call(&sandbox, &token, V5_DAILY).await.0, 200);
    let (status, body, retry_after) = call(&sandbox, &token, V4_DAILY).await;
    assert_eq!(status, 429);
    assert!(!retry_after);
    assert_eq!(body["code"], "900804");
    assert_eq!(body["message"], "Message throttled out");
    let next = body["nextAccessTime"].as_str().expect("nextAccessTime");
    // "2026-Jul-17 05:00:00+0000 UTC": the next full hour.
    let parsed = jiff::Timestamp::strptime("%Y-%b-%d %H:%M:%S%z UTC", next).expect("nextAccessTime format");
    assert_eq!(parsed.as_second() % 3600, 0, "{next}");
    assert_eq!(body["description"], format!("You have exceeded your quota .You can access API after {next}"));
    // Generation 3 counts per API: each has its own three calls.
    for _ in 0..3 {
        assert_eq!(call(&sandbox, &token, MESURE).await.0, 200);
        assert_eq!(call(&sandbox, &token, ITC).await.0, 200);
    }
    assert_eq!(call(&sandbox, &token, MESURE).await.0, 429);
    assert_eq!(call(&sandbox, &token, ITC).await.0, 429);
    // subscribed_services has no throttling tier.
    for _ in 0..5 {
        let response = sandbox
            .http
            .post(sandbox.url("/subscribed_services/v1"))
            .bearer_auth(&token)
            .json(&json!({"autorisationId": 1, "comptage": true}))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
    }
}

#[tokio::test]
async fn each_2026_api_has_1000_calls_an_hour_by_default() {
    let sandbox =
        common::spawn(SandboxConfig { today: Some(TODAY), quota_per_second: 0, ..SandboxConfig::default() }).await;
    let token = sandbox.app_token().await;
    for i in 0..1000 {
        let (status, body, _) = call(&sandbox, &token, ITC).await;
        assert_eq!(status, 200, "call {i}: {body}");
    }
    let (status, body, _) = call(&sandbox, &token, ITC).await;
    assert_eq!((status, &body["code"]), (429, &json!("900804")));
    // The other 2026 APIs and the v5 budget are untouched.
    assert_eq!(call(&sandbox, &token, MESURE).await.0, 200);
    assert_eq!(call(&sandbox, &token, V5_DAILY).await.0, 200);
}

#[tokio::test]
async fn an_api_the_application_lacks_answers_403_900908() {
    let sandbox = common::spawn(SandboxConfig {
        today: Some(TODAY),
        unsubscribed_apis: vec!["situation_contrat_auto".into(), "metering_data_dc".into()],
        ..common::config()
    })
    .await;
    // Authentication comes first: no token, the 401.
    let response = sandbox.http.get(sandbox.url(ITC)).send().await.expect("request");
    assert_eq!(response.status(), 401);
    let token = sandbox.app_token().await;
    let (status, body, _) = call(&sandbox, &token, ITC).await;
    assert_eq!(status, 403);
    // The real capture, trailing space included.
    assert_eq!(
        body,
        json!({"code": "900908", "message": "Resource forbidden ", "description": "User is NOT authorized to access the Resource. API Subscription validation failed."})
    );
    let (status, body, _) = call(&sandbox, &token, V5_DAILY).await;
    assert_eq!((status, &body["fault"]["code"]), (403, &json!(900908)));
    // The APIs it has still answer.
    assert_eq!(call(&sandbox, &token, MESURE).await.0, 200);
    assert_eq!(call(&sandbox, &token, V4_DAILY).await.0, 200);
}

#[tokio::test]
async fn v5_retires_on_the_day_given() {
    let retired = json!({"fault": {"code": 404, "type": "Status report", "message": "Runtime Error", "description": "No matching resource found for given API Request"}});
    let at = |day| SandboxConfig { today: Some(day), retire_v5: Some(TODAY), ..common::config() };
    // The day before: v5 answers.
    let before = common::spawn(at(TODAY.yesterday().expect("a day"))).await;
    let token = before.app_token().await;
    assert_eq!(call(&before, &token, V5_DAILY).await.0, 200);
    // From the day on: the retired gateway's 404, before any check of the
    // token; the 2026 and legacy APIs answer as before.
    let after = common::spawn(at(TODAY)).await;
    let token = after.app_token().await;
    let (status, body, _) = call(&after, &token, V5_DAILY).await;
    assert_eq!((status, body), (404, retired.clone()));
    let (status, body, _) =
        call(&after, "not-a-token", "/customers_upc/v5/usage_points/contracts?usage_point_id=22516914714270").await;
    assert_eq!((status, body), (404, retired));
    assert_eq!(call(&after, &token, MESURE).await.0, 200);
    assert_eq!(call(&after, &token, ITC).await.0, 200);
}

/// What one call ended as, for comparing fault sequences.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Status(u16, String),
    Cut { declared: u64 },
}

async fn outcome(response: reqwest::Response) -> Outcome {
    let status = response.status().as_u16();
    let declared = response.content_length();
    match response.bytes().await {
        Ok(body) => {
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let code = body["error"].as_str().or(body["code"].as_str()).unwrap_or("").to_owned();
            Outcome::Status(status, code)
        }
        Err(_) => Outcome::Cut { declared: declared.unwrap_or(0) },
    }
}

/// A token from a sandbox that fails every call: ask until one arrives
/// whole (the "delay" fault answers normally, only late).
async fn token_despite_faults(sandbox: &Running) -> String {
    for _ in 0..50 {
        let response = sandbox
            .http
            .post(sandbox.url("/oauth2/v3/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", DEFAULT_CLIENT_SECRET),
            ])
            .send()
            .await
            .expect("token request");
        if response.status() != 200 {
            continue;
        }
        if let Ok(body) = response.json::<Value>().await
            && let Some(token) = body["access_token"].as_str()
        {
            return token.to_owned();
        }
    }
    panic!("no token in 50 tries")
}

async fn fault_run(seed: u64) -> Vec<Outcome> {
    let sandbox = common::spawn(SandboxConfig {
        today: Some(TODAY),
        fault_rate: 1.0,
        seed,
        fault_delay: Duration::from_millis(30),
        ..common::config()
    })
    .await;
    let token = token_despite_faults(&sandbox).await;
    let mut outcomes = Vec::new();
    for _ in 0..24 {
        let response = sandbox.http.get(sandbox.url(V5_DAILY)).bearer_auth(&token).send().await.expect("data call");
        outcomes.push(outcome(response).await);
    }
    outcomes
}

#[tokio::test]
async fn faults_are_deterministic_per_seed_and_of_every_kind() {
    let first = fault_run(42).await;
    let again = fault_run(42).await;
    assert_eq!(first, again, "same seed, same faults");
    let other = fault_run(43).await;
    assert_ne!(first, other, "another seed, other faults");
    // Every call fails at rate 1: a 500 ADAM-DC-0500, a 503, a late but
    // whole answer, or a body cut short of its declared length.
    assert!(first.contains(&Outcome::Status(500, "ADAM-DC-0500".to_owned())), "{first:?}");
    assert!(first.contains(&Outcome::Status(503, "503".to_owned())), "{first:?}");
    assert!(first.iter().any(|o| matches!(o, Outcome::Status(200, _))), "{first:?}");
    assert!(first.iter().any(|o| matches!(o, Outcome::Cut { declared } if *declared > 0)), "{first:?}");
}

#[tokio::test]
async fn faults_spare_a_share_of_calls_and_follow_the_generation() {
    let sandbox = common::spawn(SandboxConfig {
        today: Some(TODAY),
        fault_rate: 0.5,
        seed: 7,
        fault_delay: Duration::from_millis(10),
        ..common::config()
    })
    .await;
    let token = token_despite_faults(&sandbox).await;
    let mut clean = 0;
    let mut y2026_500 = None;
    for _ in 0..40 {
        let response = sandbox.http.get(sandbox.url(MESURE)).bearer_auth(&token).send().await.expect("data call");
        match outcome(response).await {
            Outcome::Status(200, _) => clean += 1,
            Outcome::Status(500, code) => y2026_500 = Some(code),
            _ => {}
        }
    }
    assert!(clean > 0 && clean < 40, "{clean}");
    // The 2026 APIs answer their Swagger's `{code, message}`.
    assert_eq!(y2026_500.as_deref(), Some("500"));
}

#[tokio::test]
async fn the_request_log_has_one_json_line_per_request() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("requests.jsonl");
    let sandbox =
        common::spawn(SandboxConfig { today: Some(TODAY), request_log: Some(log.clone()), ..common::config() }).await;
    // Credentials in the query string, as CONSOAPI sends them.
    let response = sandbox
        .http
        .post(sandbox.url(&format!(
            "/oauth2/v3/token?grant_type=client_credentials&client_id={DEFAULT_CLIENT_ID}&client_secret={DEFAULT_CLIENT_SECRET}"
        )))
        .send()
        .await
        .expect("token");
    let token: Value = response.json().await.expect("json");
    let token = token["access_token"].as_str().expect("token").to_owned();
    assert_eq!(call(&sandbox, &token, V5_DAILY).await.0, 200);
    assert_eq!(call(&sandbox, "bad", V5_DAILY).await.0, 401);
    let unknown = sandbox.http.get(sandbox.url("/nowhere")).send().await.expect("request");
    assert_eq!(unknown.status(), 404);
    // Read while the server still runs: every finished request is there.
    let text = std::fs::read_to_string(&log).expect("log file");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(lines.len(), 4, "{text}");
    let summary: Vec<(&str, &str, u64)> = lines
        .iter()
        .map(|l| {
            (l["method"].as_str().unwrap_or(""), l["path"].as_str().unwrap_or(""), l["status"].as_u64().unwrap_or(0))
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("POST", "/oauth2/v3/token", 200),
            ("GET", "/metering_data_dc/v5/daily_consumption", 200),
            ("GET", "/metering_data_dc/v5/daily_consumption", 401),
            ("GET", "/nowhere", 404),
        ]
    );
    assert_eq!(lines[1]["query"], "usage_point_id=22516914714270&start=2024-06-01&end=2024-06-05");
    assert_eq!(lines[3]["query"], Value::Null);
    assert!(lines.iter().all(|l| l["time"].as_str().is_some_and(|t| t.parse::<jiff::Timestamp>().is_ok())));
    // The log is shared in bug reports: secrets never reach it.
    assert!(!text.contains(DEFAULT_CLIENT_SECRET) && !text.contains(&token), "{text}");
    assert!(lines[0]["query"].as_str().is_some_and(|q| q.contains("client_secret=[redacted]")));
    // The sandbox's clock: --today shows in the times.
    assert!(lines[0]["time"].as_str().is_some_and(|t| t.starts_with("2024-06-12")));
}

#[tokio::test]
async fn openapi_describes_every_route_the_router_serves() {
    let sandbox = common::spawn(common::config()).await;
    let response = sandbox.http.get(sandbox.url("/openapi.json")).send().await.expect("openapi");
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.expect("json");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 40, "{}", paths.len());
    let mut operations = 0;
    for (path, methods) in paths {
        for method in methods.as_object().expect("methods").keys() {
            operations += 1;
            let url = sandbox.url(&path.replace("{prm}", "22516914714270"));
            let request = match method.as_str() {
                "get" => sandbox.http.get(url),
                "post" => sandbox.http.post(url),
                other => panic!("unexpected method {other}"),
            };
            let response = request.send().await.expect("request");
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            // Not the router's 405, not the unknown-path 404.
            assert_ne!(status, 405, "{method} {path}");
            assert!(!body.contains("No matching resource found"), "{method} {path} is not routed");
        }
    }
    assert!(operations > paths.len(), "the consent paths take GET and POST");
    // And an undocumented path is the fallback's.
    let response = sandbox.http.get(sandbox.url("/v9/nothing")).send().await.expect("request");
    assert_eq!(response.status(), 404);
}

/// A writer the test can read while the sandbox runs.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_command_prints_where_it_listens_first() {
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: dataconnect_sandbox::cli::SandboxArgs,
    }
    let Cli { args } =
        Cli::try_parse_from(["sandbox", "--listen", "127.0.0.1:0", "--today", "2024-06-12"]).expect("arguments");
    let out = Shared::default();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(dataconnect_sandbox::cli::run_with(args, out.clone(), async {
        let _ = stopped.await;
    }));
    let mut first_line = None;
    for _ in 0..500 {
        let text = String::from_utf8_lossy(&out.0.lock().expect("lock")).into_owned();
        if let Some((line, _)) = text.split_once('\n') {
            first_line = Some(line.to_owned());
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let line = first_line.expect("a first line");
    let base = line.strip_prefix("listening on http://").expect("listening on http://HOST:PORT");
    let port: u16 = base.rsplit_once(':').and_then(|(_, p)| p.parse().ok()).expect("a port");
    assert_ne!(port, 0, "port 0 picks a free port");
    let response = common::http_client().get(format!("http://{base}/openapi.json")).send().await.expect("request");
    assert_eq!(response.status(), 200);
    let _ = stop.send(());
    server.await.expect("task").expect("clean shutdown");
}
