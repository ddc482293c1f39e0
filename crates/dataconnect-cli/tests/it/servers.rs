//! Real time-series servers for the publish tests: VictoriaMetrics and
//! InfluxDB 1.x from Debian's packages (`apt-get install -y
//! victoria-metrics influxdb`; `scripts/test.sh` installs them when
//! missing), each started on a free port of 127.0.0.1 with its data in a
//! temporary directory, and stopped (killed, then waited for) when dropped.
//!
//! Also a minimal HTTP/1.0 client: HTTP/1.0 makes both servers answer with
//! a plain body ended by closing the connection (no chunked encoding), which
//! keeps the tests free of an HTTP client dependency.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const INSTALL: &str = "apt-get install -y victoria-metrics influxdb mosquitto";

/// A server process, killed and its directory removed when dropped.
pub struct Server {
    child: Child,
    /// The base URL, `http://127.0.0.1:PORT`.
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn program(name: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/local/bin", "/usr/sbin"] {
        let p = PathBuf::from(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!(
        "{name} is not installed, so the publish tests cannot run against it: install it with `{INSTALL}` (scripts/test.sh does)"
    )
}

/// VictoriaMetrics with a retention long enough for the demo's 2019–2021
/// data, and deduplication of samples with the same timestamp (its
/// documented setting for re-sent data: without it, a re-publication would
/// keep both copies).
pub fn victoria_metrics() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = super::free_port();
    let child = Command::new(program("victoria-metrics"))
        .arg(format!("-storageDataPath={}", dir.path().join("data").display()))
        .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
        .args(["-retentionPeriod=100y", "-dedup.minScrapeInterval=1ms", "-loggerLevel=ERROR"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("victoria-metrics starts");
    let server = Server { child, url: format!("http://127.0.0.1:{port}"), _dir: dir };
    wait_ready(&server, "/health", 200);
    server
}

/// InfluxDB 1.x with its meta, data and WAL directories in a temporary
/// directory, HTTP on a free port, no usage reporting, no row limit.
pub fn influxdb() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let (port, rpc) = (super::free_port(), super::free_port());
    let d = dir.path();
    let config = format!(
        "reporting-disabled = true\nbind-address = \"127.0.0.1:{rpc}\"\n\
         [meta]\ndir = \"{}\"\n[data]\ndir = \"{}\"\nwal-dir = \"{}\"\nquery-log-enabled = false\n\
         [http]\nbind-address = \"127.0.0.1:{port}\"\nlog-enabled = false\nmax-row-limit = 0\n\
         [monitor]\nstore-enabled = false\n",
        d.join("meta").display(),
        d.join("data").display(),
        d.join("wal").display()
    );
    std::fs::write(d.join("influxdb.conf"), config).unwrap();
    let child = Command::new(program("influxd"))
        .arg("run")
        .arg("-config")
        .arg(d.join("influxdb.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("influxd starts");
    let server = Server { child, url: format!("http://127.0.0.1:{port}"), _dir: dir };
    wait_ready(&server, "/ping", 204);
    server
}

fn wait_ready(server: &Server, path: &str, status: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if try_http("GET", &format!("{}{path}", server.url), b"").is_some_and(|(s, _)| s == status) {
            return;
        }
        assert!(Instant::now() < deadline, "{} did not answer {path} within 60 s", server.url);
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A Mosquitto of the test's own on 127.0.0.1:`port` (with `extra`
/// configuration lines, e.g. a TLS certificate), without persistence (a
/// restart loses every retained message), killed when dropped.
pub struct Mosquitto(Child);

impl Mosquitto {
    pub fn start(dir: &Path, port: u16, extra: &str) -> Mosquitto {
        let conf = dir.join(format!("mosquitto-{port}.conf"));
        std::fs::write(&conf, format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n{extra}"))
            .unwrap();
        let child = Command::new(program("mosquitto"))
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "mosquitto did not listen on {port} within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        Mosquitto(child)
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.0 request; the status and body, or `None` if the connection failed.
pub fn try_http(method: &str, url: &str, body: &[u8]) -> Option<(u16, String)> {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let mut stream = TcpStream::connect(host).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    write!(stream, "{method} {path} HTTP/1.0\r\nHost: {host}\r\nContent-Length: {}\r\n", body.len()).ok()?;
    if method == "POST" {
        write!(stream, "Content-Type: application/x-www-form-urlencoded\r\n").ok()?;
    }
    stream.write_all(b"\r\n").ok()?;
    stream.write_all(body).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Some((status, body))
}

/// [`try_http`] that must succeed with a 2xx status.
pub fn http(method: &str, url: &str, body: &[u8]) -> String {
    let (status, text) = try_http(method, url, body).unwrap_or_else(|| panic!("{method} {url}: no answer"));
    assert!((200..300).contains(&status), "{method} {url}: {status} {text}");
    text
}

/// `application/x-www-form-urlencoded` / query-string encoding of one value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
