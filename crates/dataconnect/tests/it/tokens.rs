//! Token expiry and renewal: the shared application token, a renewal
//! after a 401, revocation, and generation 1 refresh tokens kept in a file.

use std::sync::Arc;
use std::time::Duration;

use dataconnect::{Client, DateRange, ErrorKind, FileTokenStore, Generation, Series, TokenStore};
use jiff::civil::date;

use super::support::{self, client, client_config, prm, start};

fn day() -> DateRange {
    DateRange::day(date(2025, 11, 1))
}

#[tokio::test]
async fn one_app_token_shared_by_every_task_and_clone() {
    let run = start(support::config()).await;
    let c = client(&run, Generation::Dc2026);
    let meter = prm("22516914714270");
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let c = c.clone();
        let meter = meter.clone();
        tasks.push(tokio::spawn(async move { c.readings(&meter, Series::ConsumptionDaily, day()).send().await }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().readings.len(), 1);
    }
    assert_eq!(c.stats().token_requests, 1, "{:?}", c.stats());
    assert_eq!(c.stats().calls, 11);
}

#[tokio::test]
async fn renewed_before_expiry() {
    let mut cfg = support::config();
    cfg.token_ttl = Duration::from_secs(2);
    let run = start(cfg).await;
    let c = client(&run, Generation::V5);
    let meter = prm("22516914714270");
    c.readings(&meter, Series::ConsumptionDaily, day()).send().await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    c.readings(&meter, Series::ConsumptionDaily, day()).send().await.unwrap();
    let s = c.stats();
    assert_eq!(s.token_requests, 2, "{s:?}");
    assert_eq!(s.renewals_after_401, 0, "the client renews before the API refuses: {s:?}");
}

#[tokio::test]
async fn renewed_once_after_a_401() {
    let run = start(support::config()).await;
    let c = client(&run, Generation::Dc2026);
    let meter = prm("22516914714270");
    c.readings(&meter, Series::ConsumptionDaily, day()).send().await.unwrap();
    // Someone revokes the token behind the client's back.
    let token = c.app_token().await.unwrap();
    let http = reqwest::Client::new();
    let resp = http
        .post(run.base.join("oauth2/v3/revoke").unwrap())
        .basic_auth(dataconnect_sandbox::DEFAULT_CLIENT_ID, Some(dataconnect_sandbox::DEFAULT_CLIENT_SECRET))
        .form(&[("token", token.secret())])
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let f = c.readings(&meter, Series::ConsumptionDaily, day()).send().await.unwrap();
    assert_eq!(f.readings.len(), 1);
    let s = c.stats();
    assert_eq!(s.renewals_after_401, 1, "{s:?}");
    assert_eq!(s.token_requests, 2);
    // The client's own revoke drops the cached token.
    c.revoke().await.unwrap();
    c.readings(&meter, Series::ConsumptionDaily, day()).send().await.unwrap();
    assert_eq!(c.stats().renewals_after_401, 1);
    assert_eq!(c.stats().token_requests, 4, "revoke, then a new token");
}

#[tokio::test]
async fn legacy_refresh_tokens_live_in_a_file() {
    let mut cfg = support::config();
    cfg.token_ttl = Duration::from_secs(2);
    let run = start(cfg).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    let store: Arc<dyn TokenStore> = Arc::new(FileTokenStore::new(&path));
    let mut cc = client_config(&run, Generation::Legacy);
    cc.token_store = Some(store.clone());
    let c = Client::new(cc.clone()).unwrap();
    let got = support::consent(&c, 7).await;
    assert_eq!(got.usage_points.len(), 3);
    for m in &got.usage_points {
        assert!(store.load(m).unwrap().is_some(), "refresh token kept for {m}");
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("refresh_token"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let m = &got.usage_points[1];
    c.readings(m, Series::ConsumptionDaily, day()).send().await.unwrap();
    // The access token expires: the client refreshes it by itself.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    c.readings(m, Series::ConsumptionDaily, day()).send().await.unwrap();
    assert_eq!(c.stats().token_requests, 2, "{:?}", c.stats());
    // A new process (a new client) reads the refresh token from the file.
    let c2 = Client::new(cc).unwrap();
    c2.readings(&got.usage_points[2], Series::ConsumptionDaily, day()).send().await.unwrap();
    assert_eq!(c2.stats().token_requests, 1);
    // A file that others can read is refused.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut cc = client_config(&run, Generation::Legacy);
        cc.token_store = Some(Arc::new(FileTokenStore::new(&path)));
        let c3 = Client::new(cc).unwrap();
        let e = c3.readings(&got.usage_points[0], Series::ConsumptionDaily, day()).send().await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::TokenStore, "{e}");
    }
}

#[tokio::test]
async fn legacy_refresh_refused_means_consent() {
    let run = start(support::config()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FileTokenStore::new(dir.path().join("t.json")));
    let meter = prm("22516914714270");
    store
        .save(
            &meter,
            &dataconnect::StoredToken { refresh_token: dataconnect::RefreshToken::new("not-a-token"), issued_at: None },
        )
        .unwrap();
    let mut cc = client_config(&run, Generation::Legacy);
    cc.token_store = Some(store.clone());
    let c = Client::new(cc).unwrap();
    let e = c.readings(&meter, Series::ConsumptionDaily, day()).send().await.unwrap_err();
    assert!(e.needs_consent(), "{e}");
    assert!(!e.to_string().contains("not-a-token"));
    // The dead token is forgotten.
    assert!(store.load(&meter).unwrap().is_none());
}
