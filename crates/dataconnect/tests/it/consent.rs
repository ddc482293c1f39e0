//! Consent round trips of the three generations, and the redirects that
//! must be refused.

use dataconnect::{ErrorKind, Generation};

use super::support::{self, browse, client, consent, prm, start};

#[tokio::test]
async fn round_trip_each_generation() {
    let run = start(support::config()).await;
    for generation in Generation::ALL {
        let c = client(&run, generation);
        let got = consent(&c, 0).await;
        assert_eq!(got.usage_points, vec![prm("22516914714270")], "{generation}");
        assert_eq!(got.generation, generation);
        assert_eq!(got.duration.to_string(), "P1Y");
        assert_eq!(got.start, support::TODAY);
        assert_eq!(got.autorisation_id.is_some(), generation == Generation::Dc2026, "{generation}");
        // The consent opens the data.
        let range = dataconnect::DateRange::day(jiff::civil::date(2025, 11, 1));
        let f = c.readings(&got.usage_points[0], dataconnect::Series::ConsumptionDaily, range).send().await.unwrap();
        assert_eq!(f.readings.len(), 1, "{generation}");
    }
}

#[tokio::test]
async fn several_meters_in_one_consent() {
    let run = start(support::config()).await;
    // Client 7 has three meters: `,` in legacy, `;` in v5.
    for generation in [Generation::Legacy, Generation::V5] {
        let got = consent(&client(&run, generation), 7).await;
        assert_eq!(
            got.usage_points,
            vec![prm("64975835695673"), prm("63695879465986"), prm("22315546958763")],
            "{generation}"
        );
    }
    // Generation 3 shares one meter per consent.
    let got = consent(&client(&run, Generation::Dc2026), 7).await;
    assert_eq!(got.usage_points, vec![prm("64975835695673")]);
    // Client 3: a consumption and a production meter.
    let got = consent(&client(&run, Generation::V5), 3).await;
    assert_eq!(got.usage_points.len(), 2);
}

#[tokio::test]
async fn state_is_random_and_selects_the_sandbox_client() {
    let run = start(support::config()).await;
    let c = client(&run, Generation::V5);
    let a = c.consent_request("P3Y".parse().unwrap(), Some(4)).unwrap();
    let b = c.consent_request("P3Y".parse().unwrap(), Some(4)).unwrap();
    assert_ne!(a.state(), b.state());
    assert!(a.state().ends_with('4'));
    // 24 random bytes in base64url: 192 bits, plus the digit.
    assert_eq!(a.state().len(), 33);
    let url = a.url();
    let q: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let keys: Vec<&str> = q.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["client_id", "response_type", "state", "duration"]);
    assert!(url.path().ends_with("dataconnect/v1/oauth2/authorize"));
    let url = client(&run, Generation::Dc2026).consent_request("P1095D".parse().unwrap(), None).unwrap().url();
    assert!(url.path().ends_with("dataconnect/v2/oauth2/authorize"));
    let url = client(&run, Generation::Legacy).consent_request("P6M".parse().unwrap(), None).unwrap().url();
    assert!(url.query_pairs().any(|(k, v)| k == "redirect_uri" && v == dataconnect_sandbox::DEFAULT_REDIRECT_URI));
    assert_eq!(c.consent_request("P1Y".parse().unwrap(), Some(10)).unwrap_err().kind(), &ErrorKind::Config);
    // Production hosts send the customer to the customer-account host.
    let mut cfg = support::client_config(&run, Generation::Dc2026);
    cfg.base_url = dataconnect::PRODUCTION_BASE_URL.parse().unwrap();
    let prod = dataconnect::Client::new(cfg).unwrap();
    let u = prod.consent_request("P1Y".parse().unwrap(), None).unwrap().url();
    assert_eq!(u.host_str(), Some("mon-compte-particulier.enedis.fr"));
}

#[tokio::test]
async fn wrong_state_is_rejected_before_any_exchange() {
    let run = start(support::config()).await;
    for generation in Generation::ALL {
        let c = client(&run, generation);
        let req = c.consent_request("P1Y".parse().unwrap(), Some(0)).unwrap();
        let back = browse(&req.url()).await;
        let calls = c.stats().calls;
        let other = c.consent_request("P1Y".parse().unwrap(), Some(0)).unwrap();
        let e = c.complete_consent(&back, other.state()).await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::StateMismatch, "{generation}");
        assert_eq!(c.stats().calls, calls, "nothing may be exchanged for a forged redirect");
        // A redirect without state is refused too.
        let mut stripped = back.clone();
        let kept: Vec<(String, String)> = back.query_pairs().into_owned().filter(|(k, _)| k != "state").collect();
        stripped.query_pairs_mut().clear().extend_pairs(kept);
        assert_eq!(c.complete_consent(&stripped, req.state()).await.unwrap_err().kind(), &ErrorKind::StateMismatch);
        // The real state still works (generation 1: the code is unused).
        assert!(c.complete_consent(&back, req.state()).await.is_ok(), "{generation}");
    }
}

#[tokio::test]
async fn refusal_and_errors_on_the_redirect() {
    let run = start(support::config()).await;
    for generation in Generation::ALL {
        let c = client(&run, generation);
        // Sandbox client 9 has no meter: the journey ends as a refusal.
        let req = c.consent_request("P1Y".parse().unwrap(), Some(9)).unwrap();
        let back = browse(&req.url()).await;
        let e = c.complete_consent(&back, req.state()).await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::ConsentDenied, "{generation}: {e}");
        assert!(e.needs_consent());
    }
    let c = client(&run, Generation::V5);
    let req = c.consent_request("P1Y".parse().unwrap(), None).unwrap();
    let mut u = dataconnect_sandbox::DEFAULT_REDIRECT_URI.parse::<url::Url>().unwrap();
    u.query_pairs_mut()
        .append_pair("error", "server_error")
        .append_pair("error_description", "lincs-internal-server-error")
        .append_pair("state", req.state());
    assert_eq!(c.complete_consent(&u, req.state()).await.unwrap_err().kind(), &ErrorKind::ConsentFailed);
    let mut u = dataconnect_sandbox::DEFAULT_REDIRECT_URI.parse::<url::Url>().unwrap();
    u.query_pairs_mut().append_pair("state", req.state()).append_pair("usage_point_id", "123");
    assert_eq!(c.complete_consent(&u, req.state()).await.unwrap_err().kind(), &ErrorKind::InvalidRedirect);
    // Generation 3: an autorisation_id that is not a positive integer.
    let c3 = client(&run, Generation::Dc2026);
    let req = c3.consent_request("P1Y".parse().unwrap(), None).unwrap();
    let mut u = dataconnect_sandbox::DEFAULT_REDIRECT_URI.parse::<url::Url>().unwrap();
    u.query_pairs_mut().append_pair("autorisation_id", "-4").append_pair("state", req.state());
    assert_eq!(c3.complete_consent(&u, req.state()).await.unwrap_err().kind(), &ErrorKind::InvalidRedirect);
    // An autorisation nobody gave has no service.
    let mut u = dataconnect_sandbox::DEFAULT_REDIRECT_URI.parse::<url::Url>().unwrap();
    u.query_pairs_mut().append_pair("autorisation_id", "10").append_pair("state", req.state());
    let e = c3.complete_consent(&u, req.state()).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::NoSubscribedService, "{e}");
}

#[tokio::test]
async fn legacy_code_is_single_use() {
    let run = start(support::config()).await;
    let c = client(&run, Generation::Legacy);
    let req = c.consent_request("P1Y".parse().unwrap(), Some(0)).unwrap();
    let back = browse(&req.url()).await;
    c.complete_consent(&back, req.state()).await.unwrap();
    // Replaying the same redirect spends the code again: refused.
    let e = c.complete_consent(&back, req.state()).await.unwrap_err();
    assert!(e.needs_consent(), "{e}");
}

/// A redirect built by hand (what a hostile visitor sends) with `state`.
fn forged(state: &str, pairs: &[(&str, &str)]) -> url::Url {
    let mut u = dataconnect_sandbox::DEFAULT_REDIRECT_URI.parse::<url::Url>().unwrap();
    u.query_pairs_mut().append_pair("state", state).extend_pairs(pairs);
    u
}

#[tokio::test]
async fn redirects_are_read_strictly_and_confirmed_with_the_api() {
    let run = start(dataconnect_sandbox::SandboxConfig { strict_consent: true, ..support::config() }).await;
    // Generation 3: a usage_point_id or a code never comes from the page.
    let c3 = client(&run, Generation::Dc2026);
    for pairs in [
        vec![("usage_point_id", "11453290002823")],
        vec![("autorisation_id", "123456789"), ("usage_point_id", "11453290002823")],
        vec![("autorisation_id", "123456789"), ("code", "abc")],
    ] {
        let req = c3.consent_request("P1Y".parse().unwrap(), None).unwrap();
        let calls = c3.stats().calls;
        let e = c3.complete_consent(&forged(req.state(), &pairs), req.state()).await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::InvalidRedirect, "{pairs:?}: {e}");
        assert_eq!(c3.stats().calls, calls, "nothing is asked for a malformed redirect");
    }
    // Generation 2: a PRM nobody shared is not confirmed by the API, alone
    // or in a list; an autorisation_id is refused.
    let c5 = client(&run, Generation::V5);
    for list in ["11453290002823", "22516914714270;11453290002823", "64975835695673,63695879465986"] {
        let req = c5.consent_request("P1Y".parse().unwrap(), None).unwrap();
        let e = c5
            .complete_consent(&forged(req.state(), &[("code", "x"), ("usage_point_id", list)]), req.state())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::UnconfirmedUsagePoint, "{list}: {e}");
    }
    let req = c5.consent_request("P1Y".parse().unwrap(), None).unwrap();
    let e = c5
        .complete_consent(
            &forged(req.state(), &[("usage_point_id", "22516914714270"), ("autorisation_id", "1")]),
            req.state(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::InvalidRedirect, "{e}");
    let many: Vec<String> = (0..11u64).map(|i| format!("{:014}", 10_000_000_000_000 + i)).collect();
    let req = c5.consent_request("P1Y".parse().unwrap(), None).unwrap();
    let e = c5
        .complete_consent(&forged(req.state(), &[("usage_point_id", &many.join(";"))]), req.state())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::InvalidRedirect, "{e}");
    // A consent really given is confirmed, in both generations.
    for generation in [Generation::V5, Generation::Dc2026, Generation::Legacy] {
        let got = consent(&client(&run, generation), 0).await;
        assert_eq!(got.usage_points, vec![prm("22516914714270")], "{generation}");
    }
    // Generation 1: the redirect may not name a meter the code does not cover.
    let cl = client(&run, Generation::Legacy);
    let req = cl.consent_request("P1Y".parse().unwrap(), Some(0)).unwrap();
    let back = browse(&req.url()).await;
    let mut tampered = back.clone();
    let kept: Vec<(String, String)> = back
        .query_pairs()
        .into_owned()
        .map(|(k, v)| if k == "usage_point_id" { (k, "11453290002823".to_owned()) } else { (k, v) })
        .collect();
    tampered.query_pairs_mut().clear().extend_pairs(kept);
    let e = cl.complete_consent(&tampered, req.state()).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::InvalidRedirect, "{e}");
}
