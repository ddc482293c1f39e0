//! `dataconnect serve` under hostile or heavy load, over real sockets: a
//! flood of consent requests, idle and half-sent connections (with the
//! open-file limit of a small container), wrong API keys, heavy readers
//! beside the health check; and the file permissions and headers a
//! public server owes its users. Timings are printed, never asserted.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::serve::{KEY, REDIRECT_PATH, Serve, demo_copy, get, get_with_key, http};
use super::spawned::DEMO_CONSUMPTION;

/// A server with no Data Connect behind it (nothing here calls it).
fn offline(home: &std::path::Path, extra: &[&str]) -> Serve {
    Serve::start(home, "http://127.0.0.1:9", &home.join("s.db"), "127.0.0.1:0", extra)
}

fn host(serve: &Serve) -> String {
    serve.url.trim_start_matches("http://").to_owned()
}

#[test]
fn a_flood_of_consent_requests_is_capped_in_total_and_per_address() {
    let home = tempfile::tempdir().unwrap();
    let serve = offline(home.path(), &["--workers", "0", "--max-pending", "30", "--max-pending-per-address", "1000"]);
    let statuses: Vec<u16> = (0..45).map(|_| http("POST", &serve.at("/accord"), &[], Some("")).status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 303).count(), 30, "{statuses:?}");
    let refused = http("POST", &serve.at("/accord"), &[], Some(""));
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert!(refused.header("retry-after").is_some());
    assert!(refused.body.contains("Trop de demandes"), "{}", refused.body);
    // The store holds the cap, not the flood.
    {
        use dataconnect_store::{OpenMode, SqliteConfig, SqliteStore, Store};
        let config = SqliteConfig { mode: OpenMode::ReadOnly, ..SqliteConfig::new(home.path().join("s.db")) };
        assert_eq!(SqliteStore::open(&config).unwrap().count_pending_consents().unwrap(), 30);
    }
    // Bogus redirects are answered by key, whatever the number pending.
    for i in 0..20 {
        let r = get(&serve.at(&format!("{REDIRECT_PATH}?state=bogus{i}&autorisation_id=1")));
        assert_eq!(r.status, 400, "{}", r.body);
    }
    assert_eq!(get(&serve.at("/healthz")).status, 200);

    // One address gets 20 requests per half hour by default.
    let home = tempfile::tempdir().unwrap();
    let serve = offline(home.path(), &["--workers", "0"]);
    let statuses: Vec<u16> = (0..25).map(|_| http("POST", &serve.at("/accord"), &[], Some("")).status).collect();
    assert_eq!(&statuses[..20], &[303; 20], "{statuses:?}");
    assert_eq!(&statuses[20..], &[429; 5], "{statuses:?}");

    // Behind a trusted reverse proxy, each visitor is counted on its own.
    let home = tempfile::tempdir().unwrap();
    let serve =
        offline(home.path(), &["--workers", "0", "--max-pending-per-address", "2", "--trusted-proxy", "127.0.0.1"]);
    let press = |visitor: &str| http("POST", &serve.at("/accord"), &[("X-Forwarded-For", visitor)], Some("")).status;
    assert_eq!([press("203.0.113.1"), press("203.0.113.1"), press("203.0.113.1")], [303, 303, 429]);
    assert_eq!(press("203.0.113.2"), 303, "another visitor behind the same proxy");
    // A forged first entry does not help: the proxy appends the real one.
    assert_eq!(press("198.51.100.1, 203.0.113.1"), 429);
}

/// Opens a connection and leaves it as it is after sending `sent`.
fn park(host: &str, sent: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(host).expect("connect");
    if !sent.is_empty() {
        s.write_all(sent).expect("sent");
    }
    s
}

#[test]
fn idle_and_half_sent_connections_do_not_keep_healthz_from_answering() {
    let home = tempfile::tempdir().unwrap();
    // The open-file limit of a small container: 128, as in the report
    // that found 150 idle sockets enough to take the server down.
    let serve = Serve::start_limited(
        home.path(),
        "http://127.0.0.1:9",
        &home.path().join("s.db"),
        "127.0.0.1:0",
        &["--workers", "0"],
        Some(128),
    );
    let host = host(&serve);
    let mut parked = Vec::new();
    for _ in 0..150 {
        parked.push(park(&host, b""));
    }
    for _ in 0..30 {
        parked.push(park(&host, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "));
    }
    for _ in 0..20 {
        parked.push(park(&host, b"POST /accord HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nstate=12"));
    }
    // Keep-alive connections that asked once and then say nothing.
    for _ in 0..20 {
        let mut s = park(&host, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        let mut buf = [0u8; 1024];
        let n = s.read(&mut buf).expect("an answer");
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        parked.push(s);
    }
    let started = Instant::now();
    let health = get(&serve.at("/healthz"));
    let took = started.elapsed();
    assert_eq!(health.status, 200, "{}", health.body);
    eprintln!(
        "serve: /healthz answered in {} ms beside 220 idle or half-sent connections (open files 128); server peak RSS {:.0} MB",
        took.as_millis(),
        serve.peak_rss_mb().unwrap_or(f64::NAN)
    );
    // The parked connections are closed by the server (the oldest ones at
    // once, to make room; the others after the 10 s head timeout): the
    // first one, silent since it opened, reads end-of-file.
    let first = &mut parked[0];
    first.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let mut buf = [0u8; 64];
    let closed = matches!(first.read(&mut buf), Ok(0) | Err(_));
    assert!(closed, "a silent connection was kept open");
    // And the server still serves, many times over.
    for _ in 0..20 {
        assert_eq!(get(&serve.at("/healthz")).status, 200);
    }
}

#[test]
fn wrong_api_keys_are_throttled_and_logged_without_the_key() {
    let home = tempfile::tempdir().unwrap();
    let serve = offline(home.path(), &["--workers", "0"]);
    let url = serve.at("/api/v1/meters");
    let wrong = "Bearer not-the-key-0123456789-guess";
    let statuses: Vec<u16> = (0..12).map(|_| http("GET", &url, &[("Authorization", wrong)], None).status).collect();
    assert_eq!(&statuses[..10], &[401; 10], "{statuses:?}");
    assert_eq!(&statuses[10..], &[429; 2], "{statuses:?}");
    // Even the right key waits now: guessing cannot go on.
    let right = get_with_key(&url);
    assert_eq!(right.status, 429, "{}", right.body);
    assert!(right.header("retry-after").is_some());
    assert_eq!(right.json()["error"], "too_many_wrong_keys");
    // Pages without a key are not affected.
    assert_eq!(get(&serve.at("/")).status, 200);
    let printed = serve.output();
    assert!(printed.contains("wrong API key from 127.0.0.1"), "{printed}");
    assert!(!printed.contains("guess") && !printed.contains(KEY), "a key was printed");
}

#[test]
fn pages_and_api_answers_carry_the_security_headers_and_the_database_is_private() {
    let home = tempfile::tempdir().unwrap();
    let serve = offline(home.path(), &["--workers", "0"]);
    let page = get(&serve.at("/"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    let csp = page.header("content-security-policy").expect("a content security policy");
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    let api = get(&serve.at("/api/v1/openapi.json"));
    assert_eq!(api.header("x-content-type-options"), Some("nosniff"));
    // Basic authentication is documented beside the bearer key.
    let doc = api.json();
    assert_eq!(doc["components"]["securitySchemes"]["basicPassword"]["scheme"], "basic");
    // The readings parameters are typed: series and tz as enumerations,
    // the days as dates (schemathesis then sends what the API reads).
    let params = doc["paths"]["/api/v1/meters/{prm}/readings"]["get"]["parameters"].as_array().unwrap().clone();
    let schema = |name: &str| params.iter().find(|p| p["name"] == name).unwrap()["schema"].clone();
    assert_eq!(schema("series")["enum"].as_array().unwrap().len(), 5);
    assert_eq!(schema("from")["format"], "date");
    assert_eq!(schema("to")["format"], "date");
    assert_eq!(schema("tz")["enum"], serde_json::json!(["Europe/Paris", "UTC"]));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // A write makes SQLite open its WAL.
        assert_eq!(http("POST", &serve.at("/accord"), &[], Some("")).status, 303);
        for name in ["s.db", "s.db-wal"] {
            let mode = std::fs::metadata(home.path().join(name)).expect(name).permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{name} is {mode:o}");
        }
    }
}

#[test]
fn readings_are_streamed_and_the_range_is_capped() {
    let home = tempfile::tempdir().unwrap();
    let db = demo_copy(home.path());
    let serve = Serve::start(home.path(), "http://127.0.0.1:9", &db, "127.0.0.1:0", &["--workers", "0"]);
    let readings = |q: &str| get_with_key(&serve.at(&format!("/api/v1/meters/{DEMO_CONSUMPTION}/readings?{q}")));
    let year = readings("series=consumption-curve&from=2020-01-15&to=2021-01-15");
    assert_eq!(year.status, 200, "{}", year.body);
    assert_eq!(year.header("transfer-encoding"), Some("chunked"));
    let rows = year.json();
    assert!(rows.as_array().unwrap().len() > 17_000, "a year of half-hours");
    for (q, limit) in [
        ("series=consumption-curve&from=2019-01-01&to=2021-01-15", "366 days"),
        ("series=consumption-daily&from=1900-01-01&to=9999-12-31", "3660 days"),
    ] {
        let r = readings(q);
        assert_eq!(r.status, 400, "{q}: {}", r.body);
        assert_eq!(r.json()["error"], "range_too_long");
        assert!(r.json()["message"].as_str().unwrap().contains(limit), "{}", r.body);
    }
}

#[test]
fn heavy_readers_beside_healthz_measured() {
    let home = tempfile::tempdir().unwrap();
    let db = demo_copy(home.path());
    let serve = Serve::start(home.path(), "http://127.0.0.1:9", &db, "127.0.0.1:0", &["--workers", "0"]);
    let readers: usize = std::env::var("DATACONNECT_SERVE_READERS").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let url = serve.at(&format!(
        "/api/v1/meters/{DEMO_CONSUMPTION}/readings?series=consumption-curve&from=2020-01-15&to=2021-01-15"
    ));
    let started = Instant::now();
    let heavy: Vec<_> = (0..readers)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let r = get_with_key(&url);
                (r.status, r.body.len())
            })
        })
        .collect();
    let mut health = Vec::new();
    while health.len() < 40 && heavy.iter().any(|h| !h.is_finished()) || health.len() < 5 {
        let t = Instant::now();
        assert_eq!(get(&serve.at("/healthz")).status, 200);
        health.push(t.elapsed());
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut bytes = 0;
    for h in heavy {
        let (status, len) = h.join().unwrap();
        assert_eq!(status, 200);
        bytes += len;
    }
    health.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    eprintln!(
        "serve: /healthz beside {readers} readers of a year of curve ({:.1} MB in {:.1} s): p50 {:.0} ms, max {:.0} ms over {} checks; server peak RSS {:.0} MB",
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        ms(health[health.len() / 2]),
        ms(health[health.len() - 1]),
        health.len(),
        serve.peak_rss_mb().unwrap_or(f64::NAN)
    );
}

#[test]
fn readers_that_stop_reading_give_their_turn_back() {
    let home = tempfile::tempdir().unwrap();
    let db = demo_copy(home.path());
    let serve = Serve::start(home.path(), "http://127.0.0.1:9", &db, "127.0.0.1:0", &["--workers", "0"]);
    let path =
        format!("/api/v1/meters/{DEMO_CONSUMPTION}/readings?series=consumption-curve&from=2020-01-15&to=2021-01-15");
    // More stalled readers than there are writers (one per core, 2 to 8):
    // each asks for a year of curve and never reads a byte.
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n\r\n");
    let stalled: Vec<TcpStream> = (0..10).map(|_| park(&host(&serve), request.as_bytes())).collect();
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let r = get_with_key(&serve.at(&path));
    assert_eq!(r.status, 200);
    assert!(r.json().as_array().unwrap().len() > 17_000, "the whole year arrived");
    eprintln!("serve: a reader behind 10 stalled ones was served in {:.1} s", started.elapsed().as_secs_f64());
    drop(stalled);
}
