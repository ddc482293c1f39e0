//! Error kinds as the sandbox produces them over HTTP.

use std::time::Duration;

use dataconnect::{Client, ClientSecret, DateRange, ErrorKind, Generation, Series};
use jiff::civil::date;

use super::support::{self, client, client_config, prm, start};

#[tokio::test]
async fn request_errors_of_every_generation() {
    let run = start(support::config()).await;
    let meter = prm("22516914714270");
    for generation in [Generation::V5, Generation::Dc2026, Generation::Legacy] {
        let c = client(&run, generation);
        if generation == Generation::Legacy {
            support::consent(&c, 0).await;
        }
        // The end may not be after today (the client plans around it; one
        // raw window shows the API's answer).
        let e = c.window(&meter, Series::ConsumptionDaily, DateRange::day(support::TODAY)).send().await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::InvalidRequest, "{generation}: {e}");
        assert_eq!(e.status(), Some(400));
        assert!(!e.is_retryable() && !e.is_clamp() && !e.needs_consent());
        // A curve window longer than 7 days.
        let w = DateRange::new(date(2025, 11, 1), date(2025, 11, 9)).unwrap();
        let e = c.window(&meter, Series::ConsumptionCurve, w).send().await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::WindowTooLong, "{generation}: {e}");
        // Older than the history.
        let w = DateRange::new(date(2023, 1, 1), date(2023, 1, 2)).unwrap();
        let e = c.window(&meter, Series::ConsumptionCurve, w).send().await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::HistoryDeadline, "{generation}: {e}");
        assert!(e.is_clamp());
        assert_eq!(e.code().map(str::to_ascii_uppercase).as_deref(), Some("ADAM-ERR0125"));
    }
}

#[tokio::test]
async fn bad_credentials_and_config() {
    let run = start(support::config()).await;
    let mut cfg = client_config(&run, Generation::Dc2026);
    cfg.client_secret = ClientSecret::new("wrong");
    let c = Client::new(cfg).unwrap();
    let e = c
        .readings(&prm("22516914714270"), Series::ConsumptionDaily, DateRange::day(date(2025, 11, 1)))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Authentication, "{e}");
    assert!(!e.to_string().contains("wrong"), "the secret must not leak: {e}");
    assert!(!format!("{e:?}").contains("wrong"));
    assert!(!format!("{:?}", client_config(&run, Generation::V5)).contains(dataconnect_sandbox::DEFAULT_CLIENT_SECRET));
    let mut cfg = client_config(&run, Generation::V5);
    cfg.base_url = "mailto:someone@example.org".parse().unwrap();
    assert_eq!(Client::new(cfg).unwrap_err().kind(), &ErrorKind::Config);
    let mut cfg = client_config(&run, Generation::V5);
    cfg.quota.per_second = 0;
    assert_eq!(Client::new(cfg).unwrap_err().kind(), &ErrorKind::Config);
    // Generation 1 needs its redirect_uri for the token URL.
    let mut cfg = client_config(&run, Generation::Legacy);
    cfg.redirect_uri = None;
    let c = Client::new(cfg).unwrap();
    assert_eq!(c.consent_request("P1Y".parse().unwrap(), None).unwrap_err().kind(), &ErrorKind::Config);
}

#[tokio::test]
async fn transport_errors_are_retried_then_returned() {
    // A port nobody listens on: bind one, note it, close it.
    let port = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    };
    let run = start(support::config()).await;
    let mut cfg = client_config(&run, Generation::V5);
    cfg.base_url = format!("http://127.0.0.1:{port}/").parse().unwrap();
    cfg.max_attempts = 3;
    cfg.timeout = Duration::from_secs(2);
    let c = Client::new(cfg).unwrap();
    let e = c
        .readings(&prm("22516914714270"), Series::ConsumptionDaily, DateRange::day(date(2025, 11, 1)))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Transport, "{e}");
    assert!(e.is_retryable());
    assert_eq!(c.stats().calls, 3);
    assert_eq!(c.stats().retries, 2);
}

#[tokio::test]
async fn injected_faults_surface_as_their_kinds() {
    // Every call fails, one attempt each: the kinds the caller sees.
    let mut cfg = support::config();
    cfg.fault_rate = 1.0;
    cfg.seed = 7;
    cfg.fault_delay = Duration::from_millis(1200);
    let run = start(cfg).await;
    let mut cc = client_config(&run, Generation::V5);
    cc.max_attempts = 1;
    cc.timeout = Duration::from_millis(400);
    let c = Client::new(cc).unwrap();
    let mut kinds = std::collections::BTreeSet::new();
    for d in 1..=24 {
        let e = c
            .window(&prm("22516914714270"), Series::ConsumptionDaily, DateRange::day(date(2025, 10, d)))
            .send()
            .await
            .unwrap_err();
        assert!(e.is_retryable(), "{e}");
        kinds.insert(format!("{:?}", e.kind()));
    }
    for k in ["Server", "Timeout", "Truncated"] {
        assert!(kinds.contains(k), "{k} not seen in {kinds:?}");
    }
}

/// A customer who moved away (the sandbox's meter 90000000000013): every
/// data and contract call answers ADAM-DC-0007, 403 in v5 (the error page)
/// and 400 with the v5 keys in French in 2026 (the captured body); the
/// client reads both as "needs a new consent", which stops the meter.
#[tokio::test]
async fn a_customer_who_moved_away_needs_a_new_consent() {
    let run = start(support::config()).await;
    let meter = prm("90000000000013");
    let week = DateRange::new(date(2025, 11, 3), date(2025, 11, 10)).unwrap();
    for (generation, status) in [(Generation::V5, 403), (Generation::Dc2026, 400)] {
        let c = client(&run, generation);
        for series in [Series::ConsumptionDaily, Series::ConsumptionCurve] {
            let e = c.readings(&meter, series, week).send().await.unwrap_err();
            assert_eq!(e.kind(), &ErrorKind::ConsentRequired, "{generation} {series}: {e}");
            assert!(e.needs_consent() && !e.is_retryable(), "{generation}: {e}");
            assert_eq!(e.status(), Some(status), "{generation}: {e}");
            assert_eq!(e.code().map(str::to_ascii_uppercase).as_deref(), Some("ADAM-DC-0007"), "{generation}: {e}");
        }
        let e = c.contract(&meter).send().await.unwrap_err();
        assert!(e.needs_consent(), "{generation} contract: {e}");
    }
}
