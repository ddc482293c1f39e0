//! `dataconnect serve` over real HTTP: a `dataconnect serve` process and a
//! `dataconnect sandbox --consent-page` process on free ports, driven the
//! way a browser would, redirect by redirect, without a browser (the
//! browser test is `browser.rs`). The API, `/metrics` and `/healthz` are
//! checked on a copy of the store `dataconnect demo` fills.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::spawned::{self, DEMO_CONSUMPTION, DEMO_PRODUCTION, Sandbox, TODAY};

/// The API key the tests' servers accept.
pub const KEY: &str = "test-key-0123456789abcdef0123";

/// Sandbox client 0's meter, which the tests pick on the consent page.
pub const CLIENT0_METER: &str = "22516914714270";

/// The path the consent comes back to (serve's default).
pub const REDIRECT_PATH: &str = "/consentement/retour";

/// A `dataconnect serve` process, killed when dropped; its standard output
/// and error are collected so the tests can check what it printed.
pub struct Serve {
    child: Child,
    pub url: String,
    output: Arc<Mutex<String>>,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    /// Starts `dataconnect serve --listen LISTEN` against `base_url`, with
    /// the store `db`, the client's quota raised, today frozen at
    /// [`TODAY`], the key [`KEY`] and `extra` flags.
    pub fn start(home: &Path, base_url: &str, db: &Path, listen: &str, extra: &[&str]) -> Serve {
        Serve::start_limited(home, base_url, db, listen, extra, None)
    }

    /// [`Serve::start`], with the process's open-file limit set to
    /// `nofile` (as `ulimit -n` does) when given.
    pub fn start_limited(
        home: &Path,
        base_url: &str,
        db: &Path,
        listen: &str,
        extra: &[&str],
        nofile: Option<u32>,
    ) -> Serve {
        let config = home.join("serve-config.toml");
        std::fs::write(&config, "quota_per_second = 1000\nquota_per_hour = 100000\n").expect("config written");
        let mut child = spawned::dataconnect(home);
        child
            .args(["serve", "--listen", listen, "--organisation", "Énergie Test & Cie", "--purpose"])
            .arg("Vous conseiller pour réduire votre facture d'électricité.")
            .args(["--contact", "donnees@energie-test.example"])
            .args(extra)
            .env("DATACONNECT_BASE_URL", base_url)
            .env("DATACONNECT_CLIENT_ID", "dataconnect-sandbox-client")
            .env("DATACONNECT_CLIENT_SECRET", "dataconnect-sandbox-secret")
            .env("DATACONNECT_TODAY", TODAY)
            .env("DATACONNECT_DB", db)
            .env("DATACONNECT_CONFIG", &config)
            .env("DATACONNECT_API_KEYS", KEY)
            .env("RUST_LOG", "dataconnect=trace")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = match nofile {
            None => child.spawn(),
            Some(n) => {
                let mut sh = std::process::Command::new("prlimit");
                sh.arg(format!("--nofile={n}")).arg("--").arg(child.get_program()).args(child.get_args());
                for (k, v) in child.get_envs() {
                    match v {
                        Some(v) => sh.env(k, v),
                        None => sh.env_remove(k),
                    };
                }
                sh.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()
            }
        }
        .expect("dataconnect serve starts");
        let output = Arc::new(Mutex::new(String::new()));
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut first = String::new();
        stdout.read_line(&mut first).expect("serve prints its address");
        let url = match first.trim().strip_prefix("listening on ") {
            Some(url) => url.to_owned(),
            None => {
                let mut err = String::new();
                let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut err));
                panic!("serve did not start: {first}{err}");
            }
        };
        // The server keeps writing (sync progress, logs): drain both pipes
        // so it never blocks on a full one.
        let drain = |mut r: Box<dyn Read + Send>, out: Arc<Mutex<String>>| {
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = r.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    out.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        };
        drain(Box::new(stdout), Arc::clone(&output));
        drain(Box::new(child.stderr.take().expect("piped stderr")), Arc::clone(&output));
        Serve { child, url, output }
    }

    /// What the server printed so far (both streams).
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// The server's peak resident memory so far, in MB (Linux), to print.
    pub fn peak_rss_mb(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let kb: f64 = status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// One HTTP/1.1 request, as a browser that does not follow redirects.
pub fn http(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Reply {
    let rest = url.strip_prefix("http://").expect("a local http URL");
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let mut stream = TcpStream::connect(host).expect("the server accepts");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = body.unwrap_or("");
    if method == "POST" {
        request.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).expect("request sent");
    // Not every server closes after `Connection: close` (chromedriver
    // keeps the connection open): the body ends at its Content-Length, or
    // at the last chunk, and a stalled server fails the test instead of
    // hanging it.
    stream.set_read_timeout(Some(Duration::from_secs(120))).expect("read timeout");
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    let mut split = None;
    loop {
        if split.is_none() {
            split = raw.windows(4).position(|w| w == b"\r\n\r\n");
        }
        if let Some(at) = split {
            let head = String::from_utf8_lossy(&raw[..at]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if length.is_some_and(|n| raw.len() >= at + 4 + n)
                || (head.contains("chunked") && raw.ends_with(b"0\r\n\r\n"))
            {
                break;
            }
        }
        let n = stream.read(&mut buf).expect("response read");
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let split = split.or_else(|| raw.windows(4).position(|w| w == b"\r\n\r\n")).expect("a response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut payload = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).expect("a status");
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect();
    if headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked")) {
        payload = dechunk(&payload);
    }
    Reply { status, headers, body: String::from_utf8(payload).expect("a UTF-8 body") }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[eol + 2 + size + 2..];
    }
    out
}

pub fn get(url: &str) -> Reply {
    http("GET", url, &[], None)
}

pub fn get_with_key(url: &str) -> Reply {
    http("GET", url, &[("Authorization", &format!("Bearer {KEY}"))], None)
}

/// A sandbox with its consent page, and a server on `db` (with `extra`
/// flags) whose redirect URI the sandbox has registered. The server's port
/// is picked first, because the sandbox must know it when it starts.
pub fn journey(home: &Path, db: &Path, extra: &[&str]) -> (Sandbox, Serve) {
    let port = super::free_port();
    let redirect = format!("http://127.0.0.1:{port}{REDIRECT_PATH}");
    let sandbox = Sandbox::spawn_with(&["--consent-page", "--redirect-uri", &redirect]);
    let serve = Serve::start(home, &sandbox.base_url, db, &format!("127.0.0.1:{port}"), extra);
    (sandbox, serve)
}

/// The hidden fields and the action of the sandbox consent page's form.
fn consent_form(page: &str) -> (String, Vec<(String, String)>) {
    let action = attr(page.split("<form").nth(1).expect("a form"), "action");
    let fields =
        page.split("<input type=\"hidden\"").skip(1).map(|input| (attr(input, "name"), attr(input, "value"))).collect();
    (action, fields)
}

fn attr(tag: &str, name: &str) -> String {
    let start = tag.find(&format!("{name}=\"")).unwrap_or_else(|| panic!("no {name} in {tag}")) + name.len() + 2;
    let end = tag[start..].find('"').unwrap() + start;
    tag[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Plays the customer on the sandbox's consent page: opens `authorize`,
/// posts the form with `choice` (the picked client, meters and decision)
/// and returns where the sandbox sends the browser back.
pub fn answer_consent_page(sandbox: &Sandbox, authorize: &str, choice: &[(&str, &str)]) -> String {
    let page = get(authorize);
    assert_eq!(page.status, 200, "the consent page: {}", page.body);
    assert!(page.body.contains("Autorisation d'accès à vos données"), "{}", page.body);
    let (action, mut fields) = consent_form(&page.body);
    fields.extend(choice.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&fields).finish();
    let answer = http("POST", &format!("{}{action}", sandbox.base_url), &[], Some(&body));
    assert!((300..400).contains(&answer.status), "the consent form answered {}: {}", answer.status, answer.body);
    answer.header("location").expect("a redirect back").to_owned()
}

/// Presses the landing page's button: returns the authorize URL.
pub fn press_consent_button(serve: &Serve) -> String {
    let answer = http("POST", &serve.at("/accord"), &[], Some(""));
    assert_eq!(answer.status, 303, "{}", answer.body);
    answer.header("location").expect("the authorize URL").to_owned()
}

pub fn consents(serve: &Serve) -> Vec<Value> {
    let r = get_with_key(&serve.at("/api/v1/consents"));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json().as_array().unwrap().clone()
}

/// Polls `url` (with `headers`) until its body contains `needle`; the
/// deadline only keeps a broken run from hanging.
pub fn wait_for(url: &str, headers: &[(&str, &str)], needle: &str) -> Reply {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let r = http("GET", url, headers, None);
        if r.body.contains(needle) {
            return r;
        }
        assert!(Instant::now() < deadline, "{needle:?} never appeared on {url}; last answer {}: {}", r.status, r.body);
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn landing_page_says_who_collects_what_why_and_for_how_long() {
    let home = tempfile::tempdir().unwrap();
    let serve = Serve::start(
        home.path(),
        "http://127.0.0.1:9",
        &home.path().join("s.db"),
        "127.0.0.1:0",
        &["--duration", "P1Y6M", "--workers", "0"],
    );
    let page = get(&serve.at("/"));
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    let body = &page.body;
    assert!(body.contains("<html lang=\"fr\">"));
    // Who, escaped; why; how long; which data; where to write; the button.
    assert!(body.contains("Énergie Test &amp; Cie"), "{body}");
    assert!(!body.contains("Test & Cie"));
    assert!(body.contains("Vous conseiller pour réduire votre facture d&#39;électricité."));
    assert!(body.contains("<strong>1 an et 6 mois</strong>, soit jusqu'au 15 juillet 2022"), "{body}");
    for series in
        ["courbe de charge de consommation", "consommation quotidienne", "puissance maximale", "production quotidienne"]
    {
        assert!(body.contains(series), "{series}");
    }
    assert!(body.contains("retirer à tout moment dans votre espace client Enedis"));
    assert!(body.contains("donnees@energie-test.example"));
    assert!(body.contains("<form method=\"post\" action=\"/accord\">"));
    assert!(body.contains("Donner mon accord sur le site d'Enedis</button>"));
    // Unknown pages are French 404s.
    let missing = get(&serve.at("/nulle-part"));
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("Page introuvable"));
}

#[test]
fn consent_round_trip_records_the_consent_and_shows_the_meter_once_synced() {
    let home = tempfile::tempdir().unwrap();
    let (sandbox, serve) = journey(home.path(), &home.path().join("serve.db"), &["--duration", "P20D"]);
    let authorize = press_consent_button(&serve);
    assert!(authorize.starts_with(&sandbox.base_url), "{authorize}");
    assert!(authorize.contains("duration=P20D"), "{authorize}");
    let back =
        answer_consent_page(&sandbox, &authorize, &[("client", "0"), ("prm", CLIENT0_METER), ("decision", "accept")]);
    assert!(back.starts_with(&serve.at(REDIRECT_PATH)), "{back}");
    let landed = get(&back);
    assert_eq!(landed.status, 303, "{}", landed.body);
    assert_eq!(landed.header("location"), Some(format!("/compteurs/{CLIENT0_METER}").as_str()));
    let cookie = landed.header("set-cookie").expect("a session cookie").to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let meter_url = serve.at(&format!("/compteurs/{CLIENT0_METER}"));
    let first = http("GET", &meter_url, &[("Cookie", &cookie)], None);
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(first.body.contains(&format!("Compteur {CLIENT0_METER}")));
    // The chart appears once the first sync has stored the last week.
    let synced = wait_for(&meter_url, &[("Cookie", &cookie)], "id=\"graphique-consumption-curve\"");
    assert!(synced.body.contains("<svg"), "the chart is inline SVG");
    let done = wait_for(&meter_url, &[("Cookie", &cookie)], "Première récupération terminée");
    assert!(done.body.contains("Consommation quotidienne"));
    // The whole history is stored: two years of curve, three of days.
    let meter = get_with_key(&serve.at(&format!("/api/v1/meters/{CLIENT0_METER}"))).json();
    assert_eq!(meter["first_sync"], "done", "{meter}");
    let daily =
        meter["series"].as_array().unwrap().iter().find(|s| s["series"] == "consumption-daily").unwrap().clone();
    assert_eq!(daily["covered_to"], TODAY, "{meter}");
    assert_eq!(daily["lag_days"], 0);
    assert!(daily["points"].as_u64().unwrap() > 1000, "{daily}");
    // Between the last week and the history, the meter's contract was read
    // and stored (`costs` takes its off-peak hours from it).
    {
        use dataconnect_store::{OpenMode, SqliteConfig, SqliteStore, Store};
        let config = SqliteConfig { mode: OpenMode::ReadOnly, ..SqliteConfig::new(home.path().join("serve.db")) };
        let info = SqliteStore::open(&config).unwrap().meter_info(&CLIENT0_METER.parse().unwrap()).unwrap();
        let info = info.expect("the first sync stored the meter's contract");
        assert!(info.contract_json.is_some() && info.activation.is_some(), "{info:?}");
    }
    // The consent: one, for that meter, highlighted as expiring soon.
    let recorded = consents(&serve);
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0]["usage_point_id"], CLIENT0_METER);
    assert_eq!(recorded[0]["duration"], "P20D");
    assert_eq!(recorded[0]["expires_soon"], true);
    let list = http("GET", &serve.at("/consentements"), &[("Authorization", &format!("Bearer {KEY}"))], None);
    assert_eq!(list.status, 200);
    assert!(
        list.body.contains(&format!("<tr class=\"bientot\"><td><a href=\"/compteurs/{CLIENT0_METER}\">")),
        "{}",
        list.body
    );
    // The same redirect again is refused and stores nothing more.
    let replay = get(&back);
    assert_eq!(replay.status, 400, "{}", replay.body);
    assert!(replay.body.contains("déjà utilisé, expiré ou inconnu"));
    assert!(replay.header("set-cookie").is_none());
    assert_eq!(consents(&serve).len(), 1);
    // The meter's page is the customer's: closed to anyone else, open to the
    // organisation's key (as a browser's Basic password too).
    let stranger = get(&meter_url);
    assert_eq!(stranger.status, 401);
    assert!(!stranger.body.contains("<svg"));
    let basic = format!("Basic {}", base64_encode(&format!("staff:{KEY}")));
    assert_eq!(http("GET", &meter_url, &[("Authorization", &basic)], None).status, 200);
    let other = http("GET", &serve.at(&format!("/compteurs/{DEMO_CONSUMPTION}")), &[("Cookie", &cookie)], None);
    assert_eq!(other.status, 401, "a session opens only the meters it shared");
    // Neither the API key nor the client secret reached the output, even at trace level.
    let printed = serve.output();
    assert!(!printed.contains(KEY), "the API key was printed");
    assert!(!printed.contains("dataconnect-sandbox-secret"), "the client secret was printed");
}

#[test]
fn a_wrong_or_replayed_state_a_refusal_or_an_error_stores_nothing() {
    let home = tempfile::tempdir().unwrap();
    let (sandbox, serve) = journey(home.path(), &home.path().join("serve.db"), &["--workers", "0"]);
    let redirect = serve.at(REDIRECT_PATH);
    // A state this server never handed out.
    let authorize = press_consent_button(&serve);
    let forged = get(&format!("{redirect}?state=forged0123456789&autorisation_id=123456789"));
    assert_eq!(forged.status, 400, "{}", forged.body);
    assert!(forged.body.contains("Rien n&#39;a été enregistré"), "{}", forged.body);
    // No state at all; markup in the query is never reflected.
    let bare = get(&format!("{redirect}?code=%3Cscript%3E"));
    assert_eq!(bare.status, 400);
    assert!(bare.body.contains("Lien de retour incomplet") && !bare.body.contains("<script>"));
    // The customer refuses on the consent page.
    let refused = answer_consent_page(&sandbox, &authorize, &[("client", "0"), ("decision", "refuse")]);
    assert!(refused.contains("error=access_denied"), "{refused}");
    let page = get(&refused);
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("Accord refusé"));
    // That state is used up.
    assert_eq!(get(&refused).status, 400);
    // The consent page reports an error of its own.
    let authorize = press_consent_button(&serve);
    let state = url::Url::parse(&authorize).unwrap().query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    let failed = get(&format!("{redirect}?state={state}&error=server_error&error_description=%3Cb%3Eboom"));
    assert_eq!(failed.status, 502, "{}", failed.body);
    assert!(failed.body.contains("code « server_error »") && !failed.body.contains("<b>boom"));
    // Only GET reaches the redirect handler.
    assert_eq!(http("POST", &redirect, &[], Some("state=x")).status, 405);
    assert!(consents(&serve).is_empty(), "nothing was recorded");
    let meters = get_with_key(&serve.at("/api/v1/meters")).json();
    assert_eq!(meters, serde_json::json!([]));
}

fn base64_encode(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A copy of the demo's store (the demo's own is shared with other tests).
pub fn demo_copy(home: &Path) -> PathBuf {
    let demo = spawned::demo();
    let db = home.join("demo-copy.db");
    std::fs::copy(&demo.db, &db).expect("demo store copied");
    for suffix in ["-wal", "-shm"] {
        let mut from = demo.db.clone().into_os_string();
        from.push(suffix);
        let mut to = db.clone().into_os_string();
        to.push(suffix);
        if Path::new(&from).exists() {
            std::fs::copy(&from, &to).expect("WAL copied");
        }
    }
    db
}

/// A server over the demo's store, with no API behind it (nothing to sync).
pub fn demo_server(home: &Path) -> Serve {
    let db = demo_copy(home);
    Serve::start(home, "http://127.0.0.1:9", &db, "127.0.0.1:0", &["--workers", "0"])
}

#[test]
fn api_keys_are_required_and_checked() {
    let home = tempfile::tempdir().unwrap();
    let serve = demo_server(home.path());
    let url = serve.at("/api/v1/meters");
    for headers in [
        vec![],
        vec![("Authorization", "Bearer wrong-key-0123456789abcdef")],
        vec![("Authorization", "Basic Og==")],
        vec![("Authorization", KEY)],
    ] {
        let r = http("GET", &url, &headers, None);
        assert_eq!(r.status, 401, "{headers:?}: {}", r.body);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.json()["error"], "unauthorized");
        assert!(!r.body.contains(KEY));
    }
    let ok = get_with_key(&url);
    assert_eq!(ok.status, 200, "{}", ok.body);
    let meters = ok.json();
    let prms: Vec<&str> = meters.as_array().unwrap().iter().map(|m| m["usage_point_id"].as_str().unwrap()).collect();
    assert!(prms.contains(&DEMO_CONSUMPTION) && prms.contains(&DEMO_PRODUCTION), "{meters}");
    // The consents page and /metrics need the key too; /healthz does not.
    assert_eq!(get(&serve.at("/consentements")).status, 401);
    assert_eq!(get(&serve.at("/metrics")).status, 401);
    assert!(get(&serve.at("/consentements")).header("www-authenticate").is_some_and(|v| v.starts_with("Basic")));
    assert!(!serve.output().contains(KEY));
}

#[test]
fn readings_follow_the_reading_schema_of_export() {
    let home = tempfile::tempdir().unwrap();
    let serve = demo_server(home.path());
    let db = home.path().join("demo-copy.db");
    let query = "series=consumption-curve&from=2021-01-10&to=2021-01-11";
    let r = get_with_key(&serve.at(&format!("/api/v1/meters/{DEMO_CONSUMPTION}/readings?{query}")));
    assert_eq!(r.status, 200, "{}", r.body);
    let rows = r.json();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 48, "a winter day has 48 half-hours");
    let keys: Vec<&str> = rows[0].as_object().unwrap().keys().map(String::as_str).collect();
    let mut expected =
        vec!["usage_point_id", "series", "start", "end", "value", "unit", "step", "energy_wh", "peak_at"];
    let mut sorted = keys.clone();
    sorted.sort();
    expected.sort();
    assert_eq!(sorted, expected);
    assert_eq!(rows[0]["start"], "2021-01-10T00:00:00+01:00");
    assert_eq!(rows[0]["end"], "2021-01-10T00:30:00+01:00");
    assert_eq!(rows[0]["unit"], "W");
    assert_eq!(rows[0]["step"], "PT30M");
    assert!(rows[0]["value"].is_number() && rows[0]["energy_wh"].is_number());
    // Exactly what `dataconnect export --format json` writes.
    let exported = spawned::run_ok(
        spawned::dataconnect(home.path())
            .args(["export", "--format", "json", "--prm", DEMO_CONSUMPTION, "--series", "consumption-curve"])
            .args(["--from", "2021-01-10", "--to", "2021-01-11", "--db"])
            .arg(&db),
    );
    assert_eq!(serde_json::from_str::<Value>(&exported).unwrap(), r.json());
    // UTC on request; daily max power carries the peak instant.
    let utc = get_with_key(&serve.at(&format!(
        "/api/v1/meters/{DEMO_CONSUMPTION}/readings?series=consumption-max-power&from=2021-01-10&to=2021-01-12&tz=UTC"
    )))
    .json();
    assert_eq!(utc.as_array().unwrap().len(), 2);
    assert_eq!(utc[0]["start"], "2021-01-09T23:00:00+00:00");
    assert!(utc[0]["peak_at"].as_str().unwrap().ends_with("+00:00"), "{utc}");
    assert_eq!(utc[0]["unit"], "VA");
}

#[test]
fn bad_input_gets_a_clear_answer_and_never_kills_the_server() {
    let home = tempfile::tempdir().unwrap();
    let serve = demo_server(home.path());
    let readings = |prm: &str, q: &str| get_with_key(&serve.at(&format!("/api/v1/meters/{prm}/readings?{q}")));
    let cases = [
        (readings("123", "series=consumption-daily&from=2021-01-01&to=2021-01-02"), 400, "invalid_prm"),
        (readings(DEMO_CONSUMPTION, "from=2021-01-01&to=2021-01-02"), 400, "missing_series"),
        (readings(DEMO_CONSUMPTION, "series=water&from=2021-01-01&to=2021-01-02"), 400, "invalid_series"),
        (readings(DEMO_CONSUMPTION, "series=consumption-daily&from=2021-13-01&to=2021-01-02"), 400, "invalid_date"),
        (readings(DEMO_CONSUMPTION, "series=consumption-daily&from=2021-01-05&to=2021-01-02"), 400, "invalid_range"),
        (
            readings(DEMO_CONSUMPTION, "series=consumption-daily&from=2021-01-01&to=2021-01-02&tz=Mars"),
            400,
            "invalid_tz",
        ),
        (readings("99999999999999", "series=consumption-daily&from=2021-01-01&to=2021-01-02"), 404, "unknown_meter"),
        (readings(DEMO_CONSUMPTION, "series=%FF%00&from=%E9"), 400, "invalid_series"),
        (get_with_key(&serve.at("/api/v1/meters/99999999999999")), 404, "unknown_meter"),
        (get_with_key(&serve.at("/api/v1/meters/abc")), 400, "invalid_prm"),
        (readings("%FF%FE", "series=consumption-daily&from=2021-01-01&to=2021-01-02"), 400, "invalid_prm"),
    ];
    for (reply, status, code) in cases {
        assert_eq!(reply.status, status, "{}", reply.body);
        assert_eq!(reply.json()["error"], code, "{}", reply.body);
    }
    for path in ["/compteurs/abc", "/compteurs/%FF%FE", "/compteurs/99999999999999", &format!("/{}", "a".repeat(5000))]
    {
        let r = http("GET", &serve.at(path), &[("Authorization", &format!("Bearer {KEY}"))], None);
        assert_eq!(r.status, 404, "{path}: {}", r.body);
        assert!(r.body.contains("<html lang=\"fr\">"));
    }
    assert_eq!(get(&serve.at("/healthz")).status, 200, "the server is still up");
    // Settings the server cannot start with: one line, exit 4 (config).
    let bad = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = spawned::dataconnect(home.path());
        cmd.args(["serve", "--listen", "127.0.0.1:0"]).args(args);
        cmd.env("DATACONNECT_BASE_URL", "http://127.0.0.1:9")
            .env("DATACONNECT_CLIENT_ID", "x")
            .env("DATACONNECT_CLIENT_SECRET", "y");
        cmd.env("DATACONNECT_DB", home.path().join("bad.db"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        spawned::run(&mut cmd)
    };
    let no_org = bad(&["--purpose", "p"], &[]);
    assert_eq!(no_org.code, 4, "{}", no_org.stderr);
    assert!(no_org.stderr.contains("--organisation"), "{}", no_org.stderr);
    let short = bad(&["--organisation", "o", "--purpose", "p"], &[("DATACONNECT_API_KEYS", "tooshort")]);
    assert_eq!(short.code, 4, "{}", short.stderr);
    assert!(short.stderr.contains("shorter than 16") && !short.stderr.contains("tooshort"), "{}", short.stderr);
    let clash = bad(
        &["--organisation", "o", "--purpose", "p"],
        &[("DATACONNECT_REDIRECT_URI", "http://127.0.0.1:1/api/v1/meters")],
    );
    assert_eq!(clash.code, 4, "{}", clash.stderr);
    assert!(clash.stderr.contains("one of serve's own pages"), "{}", clash.stderr);
}

#[test]
fn openapi_describes_exactly_the_routes() {
    let home = tempfile::tempdir().unwrap();
    let serve = demo_server(home.path());
    let doc = get(&serve.at("/api/v1/openapi.json"));
    assert_eq!(doc.status, 200, "the description needs no key");
    let doc = doc.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 6, "{paths:?}");
    for (path, item) in paths {
        let op = &item["get"];
        let mut url = path.replace("{prm}", DEMO_CONSUMPTION);
        let query: Vec<String> = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "query" && p["required"] == true)
            .map(|p| match p["name"].as_str().unwrap() {
                "series" => "series=consumption-daily".to_owned(),
                "from" => "from=2021-01-01".to_owned(),
                "to" => "to=2021-01-08".to_owned(),
                other => panic!("no test value for the required parameter {other}"),
            })
            .collect();
        if !query.is_empty() {
            url = format!("{url}?{}", query.join("&"));
        }
        let answer = get_with_key(&serve.at(&url));
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        let value = answer.json();
        let schema = &op["responses"]["200"]["content"]["application/json"]["schema"];
        match schema["type"].as_str() {
            Some("array") => assert!(value.is_array(), "{path}"),
            Some("object") => assert!(value.is_object(), "{path}"),
            other => panic!("{path}: schema type {other:?}"),
        }
        let secured = op.get("security").is_none_or(|s| s.as_array().is_some_and(|a| !a.is_empty()));
        let without_key = get(&serve.at(&url)).status;
        assert_eq!(without_key, if secured { 401 } else { 200 }, "{path}");
        if secured {
            assert!(op["responses"]["401"].is_object(), "{path} documents its 401");
        }
    }
    // And nothing undocumented answers under /api/v1.
    for undocumented in ["/api/v1/readings", "/api/v1/meters/x/y/z", "/api/v2/meters"] {
        assert_eq!(get_with_key(&serve.at(undocumented)).status, 404, "{undocumented}");
    }
}

#[test]
fn healthz_and_metrics_in_prometheus_text() {
    let home = tempfile::tempdir().unwrap();
    let serve = demo_server(home.path());
    let health = get(&serve.at("/healthz"));
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");
    let metrics = get_with_key(&serve.at("/metrics"));
    assert_eq!(metrics.status, 200);
    assert!(metrics.header("content-type").unwrap().starts_with("text/plain; version=0.0.4"));
    let mut typed = std::collections::HashMap::new();
    let mut samples = std::collections::HashMap::new();
    for line in metrics.body.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(matches!(kind, "counter" | "gauge"), "{line}");
            typed.insert(name.to_owned(), kind.to_owned());
        } else if line.starts_with("# HELP ") {
            continue;
        } else {
            let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {line}"));
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("not a number: {line}"));
            let name = series.split('{').next().unwrap();
            assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{line}");
            assert!(typed.contains_key(name), "{name} has no TYPE line before its samples");
            if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
                assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
            }
            samples.insert(series.to_owned(), value);
        }
    }
    for name in [
        "dataconnect_api_calls_total",
        "dataconnect_api_throttled_total",
        "dataconnect_api_retries_total",
        "dataconnect_quota_waits_total",
        "dataconnect_quota_calls_last_hour",
        "dataconnect_consents_expiring_soon",
    ] {
        assert!(samples.contains_key(name), "{name} missing from:\n{}", metrics.body);
    }
    assert!(samples["dataconnect_readings_stored{series=\"consumption-curve\"}"] > 1000.0);
    let lag = format!("dataconnect_lag_days{{usage_point_id=\"{DEMO_CONSUMPTION}\",series=\"consumption-daily\"}}");
    assert_eq!(samples.get(&lag), Some(&0.0), "the demo synced up to today:\n{}", metrics.body);
    // The demo's sync calls are recorded in the store with their real time,
    // which is within the last hour.
    assert!(samples["dataconnect_quota_calls_last_hour"] > 0.0);
}

/// One sample of a `/metrics` answer.
fn sample(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in:\n{metrics}"))
}

/// `/metrics` reads the store at most once per `--metrics-cache-seconds`:
/// a consent recorded behind the server's back shows only in a server that
/// does not cache, while the cached one says how old its snapshot is.
#[test]
fn metrics_reuse_the_store_snapshot_for_the_configured_time() {
    let home = tempfile::tempdir().unwrap();
    let db = demo_copy(home.path());
    let cached = Serve::start(home.path(), "http://127.0.0.1:9", &db, "127.0.0.1:0", &["--workers", "0"]);
    let first = get_with_key(&cached.at("/metrics")).body;
    let active = sample(&first, "dataconnect_consents_active");
    assert_eq!(sample(&first, "dataconnect_metrics_store_age_seconds"), 0.0, "the first scrape reads the store");
    let list = home.path().join("more.csv");
    std::fs::write(&list, "25000000000001\n").unwrap();
    let out = super::bare(home.path())
        .env("DATACONNECT_DB", &db)
        .env("DATACONNECT_TODAY", TODAY)
        .env("DATACONNECT_GENERATION", "v5")
        .args(["consent", "import"])
        .arg(&list)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let second = get_with_key(&cached.at("/metrics")).body;
    assert_eq!(
        sample(&second, "dataconnect_consents_active"),
        active,
        "within the cache time (300 s), the snapshot is reused"
    );
    assert!(sample(&second, "dataconnect_metrics_store_age_seconds") > 0.0);
    // The client's counters are not part of the snapshot.
    assert!(second.contains("dataconnect_api_calls_total "));
    let fresh = Serve::start(
        home.path(),
        "http://127.0.0.1:9",
        &db,
        "127.0.0.1:0",
        &["--workers", "0", "--metrics-cache-seconds", "0"],
    );
    let now = get_with_key(&fresh.at("/metrics")).body;
    assert_eq!(
        sample(&now, "dataconnect_consents_active"),
        active + 1.0,
        "without a cache, every scrape reads the store"
    );
}

/// A PostgreSQL schema of its own for one test, dropped at the end.
#[cfg(feature = "postgres")]
pub(crate) struct PgSchema {
    store: Option<dataconnect_store::PgStore>,
    pub(crate) url: String,
    name: String,
    /// The server's URL, without the schema.
    base: String,
}

#[cfg(feature = "postgres")]
impl PgSchema {
    pub(crate) fn new(base: &str, test: &str) -> PgSchema {
        use dataconnect_store::{PgConfig, PgStore};
        let schema = dataconnect_testkit::pg::schema_name("dct_serve", test);
        let store =
            PgStore::open(&PgConfig { schema: Some(schema.clone()), ..PgConfig::new(base) }).expect("schema created");
        let url = dataconnect_testkit::pg::url_in_schema(base, &schema);
        PgSchema { store: Some(store), url, name: schema, base: base.to_owned() }
    }
}

#[cfg(feature = "postgres")]
impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Some(store) = self.store.take() {
            let _ = store.drop_schema();
        }
    }
}

/// [`journey`] on a PostgreSQL schema of its own (named after `test`), with
/// `serve`'s `extra` arguments; `None` when `DATACONNECT_SKIP_PG=1` skips
/// the PostgreSQL tests (see `dataconnect_testkit::pg`). Keep the schema
/// and the directory alive as long as the server.
#[cfg(feature = "postgres")]
fn pg_journey(test: &str, extra: &[&str]) -> Option<(PgSchema, tempfile::TempDir, (Sandbox, Serve))> {
    let base = dataconnect_testkit::pg::url(test)?;
    let schema = PgSchema::new(&base, test);
    let home = tempfile::tempdir().unwrap();
    let both = journey(home.path(), Path::new(&schema.url), extra);
    Some((schema, home, both))
}

#[cfg(feature = "postgres")]
#[test]
fn on_postgresql_the_scheduler_runs_in_process_and_back_fills_the_new_consent() {
    let Some((_schema, _home, (sandbox, serve))) = pg_journey("daemon", &["--workers", "2"]) else { return };
    let authorize = press_consent_button(&serve);
    let back =
        answer_consent_page(&sandbox, &authorize, &[("client", "0"), ("prm", CLIENT0_METER), ("decision", "accept")]);
    let landed = get(&back);
    assert_eq!(landed.status, 303, "{}", landed.body);
    let cookie = landed.header("set-cookie").unwrap().split(';').next().unwrap().to_owned();
    let meter_url = serve.at(&format!("/compteurs/{CLIENT0_METER}"));
    let page = http("GET", &meter_url, &[("Cookie", &cookie)], None);
    assert_eq!(page.status, 200);
    // The scheduler picks the new consent up and the chart shows.
    let synced = wait_for(&meter_url, &[("Cookie", &cookie)], "id=\"graphique-consumption-daily\"");
    assert!(synced.body.contains("<svg"));
    let meter = get_with_key(&serve.at(&format!("/api/v1/meters/{CLIENT0_METER}"))).json();
    assert_eq!(meter["first_sync"], "external", "left to the scheduler: {meter}");
    let recorded = consents(&serve);
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0]["usage_point_id"], CLIENT0_METER);
    assert_eq!(get(&serve.at("/healthz")).status, 200);
    let printed = serve.output();
    assert!(!printed.contains(KEY) && !printed.contains("dataconnect-sandbox-secret"));
}

/// `/healthz` answers 503 while the store cannot answer (here: the table it
/// probes is renamed away behind the server's back, with `psql`), the
/// server keeps running, and it answers 200 again once the store is back.
#[cfg(feature = "postgres")]
#[test]
fn healthz_answers_503_while_the_store_fails_and_recovers() {
    let Some((schema, _home, (_sandbox, serve))) = pg_journey("health", &["--workers", "0"]) else { return };
    let base = schema.base.clone();
    assert_eq!(get(&serve.at("/healthz")).status, 200);
    let psql = |sql: &str| {
        let out = std::process::Command::new("psql")
            .arg(&base)
            .args(["-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .expect("psql runs");
        assert!(out.status.success(), "psql: {}", String::from_utf8_lossy(&out.stderr));
    };
    psql(&format!("ALTER TABLE {}.quota_counter RENAME TO quota_counter_away", schema.name));
    let down = get(&serve.at("/healthz"));
    assert_eq!(down.status, 503, "{}", down.body);
    assert_eq!(down.json()["status"], "store unreachable");
    // The landing page does not need the store's probe: still served.
    assert_eq!(get(&serve.at("/")).status, 200);
    psql(&format!("ALTER TABLE {}.quota_counter_away RENAME TO quota_counter", schema.name));
    assert_eq!(get(&serve.at("/healthz")).status, 200, "back once the store answers");
    assert!(serve.output().contains("error: /healthz:"), "the failure is logged for the operator");
}

#[test]
fn on_sqlite_the_first_sync_waits_for_a_sync_that_holds_the_database() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("serve.db");
    // Another `dataconnect sync` on the same file holds its lock (what the
    // CLI takes: an exclusive lock on `<db>.sync.lock`).
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(home.path().join("serve.db.sync.lock"))
        .unwrap();
    lock.try_lock().unwrap();
    let (sandbox, serve) = journey(home.path(), &db, &[]);
    let authorize = press_consent_button(&serve);
    let back =
        answer_consent_page(&sandbox, &authorize, &[("client", "0"), ("prm", CLIENT0_METER), ("decision", "accept")]);
    assert_eq!(get(&back).status, 303);
    let meter_url = serve.at(&format!("/api/v1/meters/{CLIENT0_METER}"));
    // Give a worker that ignored the lock ample time to fetch something.
    std::thread::sleep(Duration::from_secs(3));
    let waiting = get_with_key(&meter_url).json();
    assert_eq!(waiting["first_sync"], "running", "{waiting}");
    let points: u64 = waiting["series"].as_array().unwrap().iter().map(|s| s["points"].as_u64().unwrap_or(0)).sum();
    assert_eq!(points, 0, "the first sync fetched while another sync held the database: {waiting}");
    // The other sync ends: the first sync goes ahead and finishes.
    drop(lock);
    let done = wait_for(&meter_url, &[("Authorization", &format!("Bearer {KEY}"))], "\"first_sync\":\"done\"");
    let meter: Value = serde_json::from_str(&done.body).unwrap();
    let points: u64 = meter["series"].as_array().unwrap().iter().map(|s| s["points"].as_u64().unwrap_or(0)).sum();
    assert!(points > 1000, "{meter}");
}
