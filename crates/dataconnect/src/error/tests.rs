//! Unit tests for the error bodies of the three families, written from the
//! spec's examples.

use super::*;

fn err(status: u16, body: &str) -> Error {
    Error::from_response(status, None, body.as_bytes(), "test".into())
}

#[test]
fn oauth_family() {
    let e = err(
        400,
        r#"{"error":"ADAM-ERR0123","error_description":"The requested period cannot be anterior to the meter's last activation date"}"#,
    );
    assert_eq!(e.kind(), &ErrorKind::BeforeActivation);
    assert!(e.is_clamp() && !e.is_retryable());
    assert_eq!(e.code(), Some("ADAM-ERR0123"));
    let e = err(
        400,
        r#"{"error":"ADAM-ERR0125","error_description":"The start date must be greater than the history deadline."}"#,
    );
    assert!(e.is_clamp());
    let e = err(
        403,
        r#"{"error":"ADAM_DC_0008","error_description":"No consent can be found for this customer and this usage point."}"#,
    );
    assert!(e.needs_consent());
    let e =
        err(400, r#"{"error":"adam-dc-0007","error_description":"Le client n'est pas titulaire du point demandé."}"#);
    assert!(e.needs_consent());
    let e = err(
        400,
        r#"{"error":"ADAM-ERR0069","error_description":"Le sens de la mesure ne correspond pas pour le PRM demandé."}"#,
    );
    assert!(e.stops_series());
    assert!(e.to_string().contains("hourly collection"), "{e}");
    let e = err(404, r#"{"error":"no_data_found","error_description":"no measure found for this usage point"}"#);
    assert!(e.is_no_data());
    let e = err(500, r#"{"error":"ADAM-DC-0500","error_description":"Technical Exception"}"#);
    assert!(e.is_retryable());
    let e = err(400, r#"{"error":"Invalid_request","error_description":"Start date should be before end date"}"#);
    assert_eq!(e.kind(), &ErrorKind::InvalidRequest);
    let e = err(400, r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#);
    assert_eq!(e.kind(), &ErrorKind::Authentication);
    let e = err(404, r#"{"error":"STM-ERR-0000019","error_description":"Unknown or unauthorized user."}"#);
    assert_eq!(e.kind(), &ErrorKind::UnknownUsagePoint);
    let e =
        err(400, r#"{"error":"ADAM-ERR0075","error_description":"The customer objected to the load curve recording"}"#);
    assert_eq!(e.kind(), &ErrorKind::CurveNotCollected);
    assert!(e.stops_series());
}

#[test]
fn gateway_faults() {
    let e = err(401, r#"{"fault":{"code":900901,"message":"Invalid Credentials","description":"Invalid JWT token."}}"#);
    assert_eq!(e.kind(), &ErrorKind::Unauthorized);
    assert_eq!(e.code(), Some("900901"));
    let e = err(
        403,
        r#"{"code": "900908", "message": "Resource forbidden ", "description": "User is NOT authorized to access the Resource. API Subscription validation failed."}"#,
    );
    assert_eq!(e.kind(), &ErrorKind::NotSubscribed);
    let e = err(
        429,
        r#"{"fault":{"code":900807,"message":"Message throttled out","description":"You have exceeded your quota"}}"#,
    );
    assert_eq!(e.kind(), &ErrorKind::RateLimited);
    assert!(e.retry_after().is_none());
    let e = err(429, r#"{"error":"429","error_description":"Quota Q4 reached Call threshold allowed on 0:-30:-40"}"#);
    assert_eq!(e.kind(), &ErrorKind::RateLimited);
}

#[test]
fn next_access_time() {
    let now: Timestamp = "2026-07-17T04:59:00Z".parse().unwrap();
    assert_eq!(parse_next_access_time("2026-Jul-17 05:00:00+0000 UTC", now), Some(Duration::from_secs(60)));
    assert_eq!(parse_next_access_time("2020-Jul-17 05:00:00+0000 UTC", now), None);
    let body = br#"{"code":"900804","message":"Message throttled out","description":"You have exceeded your quota .You can access API after 2099-Jul-17 05:00:00+0000 UTC","nextAccessTime":"2099-Jul-17 05:00:00+0000 UTC"}"#;
    assert!(ErrorBody::parse(body).retry_after.unwrap() > Duration::from_secs(3600));
    let e = Error::from_response(429, None, body, "t".into());
    assert!(e.is_hourly_quota());
    assert!(!err(429, r#"{"fault":{"code":900807,"message":"Message throttled out"}}"#).is_hourly_quota());
    assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
    assert_eq!(parse_retry_after("Fri, 17 Jul 2026 05:00:00 GMT", now), Some(Duration::from_secs(60)));
}

#[test]
fn family_2026() {
    let e = err(404, r#"{"code":"ADAM-ERR0XXX","message":"Pas de mesure trouvée pour ce point"}"#);
    assert!(e.is_no_data());
    let e = err(403, r#"{"code":"403","message":"Le client n'est pas titulaire du point demandé"}"#);
    assert!(e.needs_consent());
    let e = err(429, r#"{"code":"429","message":"SLA dépassé"}"#);
    assert_eq!(e.kind(), &ErrorKind::RateLimited);
    let e = err(404, r#"{"code":"404","message":"Situation contractuelle ou PRM non existant"}"#);
    assert_eq!(e.kind(), &ErrorKind::UnknownUsagePoint);
    let e = err(502, "<html>bad gateway</html>");
    assert_eq!(e.kind(), &ErrorKind::Server);
}

#[test]
fn decode_errors_name_path_and_value() {
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct R {
        a: Vec<I>,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct I {
        v: u32,
    }
    let body = br#"{"a":[{"v":1},{"v":"oops"}]}"#;
    let mut de = serde_json::Deserializer::from_slice(body);
    let e = serde_path_to_error::deserialize::<_, R>(&mut de).unwrap_err();
    let e = Error::decode(e, body, "test");
    assert_eq!(e.kind(), &ErrorKind::Decode);
    let s = e.to_string();
    assert!(s.contains("a[1].v") && s.contains("\"oops\""), "{s}");
    let body = br#"{"a":[{"v":1},{"v""#;
    let mut de = serde_json::Deserializer::from_slice(body);
    let e = serde_path_to_error::deserialize::<_, R>(&mut de).unwrap_err();
    assert_eq!(Error::decode(e, body, "test").kind(), &ErrorKind::Truncated);
}

#[test]
fn next_access_time_is_measured_against_the_server_clock() {
    // A sandbox replaying 2025-11-20 writes its own hour in the body and in
    // its `Date` header: the wait is the difference, whatever this machine's
    // clock says.
    let body =
        br#"{"code":"900804","message":"Message throttled out","nextAccessTime":"2025-Nov-20 13:00:00+0000 UTC"}"#;
    let server_now: Timestamp =
        jiff::fmt::rfc2822::DateTimeParser::new().parse_timestamp("Thu, 20 Nov 2025 12:59:30 GMT").unwrap();
    assert_eq!(ErrorBody::parse_at(body, server_now).retry_after, Some(Duration::from_secs(30)));
}

#[test]
fn retired_or_unknown_api_is_no_such_api() {
    let e = err(
        404,
        r#"{"fault":{"code":404,"type":"Status report","message":"Runtime Error","description":"No matching resource found for given API Request"}}"#,
    );
    assert_eq!(e.kind(), &ErrorKind::NoSuchApi);
    assert!(e.to_string().contains("--generation 2026"), "{e}");
    let e = err(404, r#"{"code":"404","message":"No matching resource found for given API Request"}"#);
    assert_eq!(e.kind(), &ErrorKind::NoSuchApi);
    // "Pas de mesure" is still no data.
    let e = err(404, r#"{"code":"no_data_found","message":"Pas de mesure trouvée pour ce point"}"#);
    assert!(e.is_no_data());
}

#[test]
fn not_subscribed_names_the_api_and_the_fix() {
    let e = err(403, r#"{"code": "900908", "message": "Resource forbidden ", "description": "User is NOT authorized to access the Resource. API Subscription validation failed."}"#)
        .with_api("comptage_auto/v1/22516914714270");
    assert_eq!(e.api(), Some("comptage_auto"));
    let text = e.to_string();
    assert!(text.starts_with("the application is not subscribed to the API comptage_auto"), "{text}");
    assert!(text.contains("developer portal"), "{text}");
}
