//! Load benchmark: how many 7-day PT30M load-curve responses per second
//! the sandbox serves over loopback, next to baselines measured in the
//! same run.
//!
//! Run it in release mode (a debug build measures the debug build):
//!
//! ```text
//! cargo run --release -p dataconnect-sandbox --example bench_load -- [SECONDS] [CONNECTIONS] [ONLY]
//! ```
//!
//! It serves the sandbox (quotas lifted, no request log, no faults) on
//! 127.0.0.1 port 0 with a 2-worker runtime, and a plain axum server with
//! two static routes on another port: `/tiny` (2 bytes, the cost of HTTP
//! alone) and `/same-size` (the exact bytes of a 7-day curve answer, the
//! cost of moving them). The load generator is a keep-alive HTTP/1.1 client
//! on its own thread with CONNECTIONS connections (default 32), each
//! sending the next request as soon as the previous answer is read (ONLY,
//! if given, keeps the targets whose name contains it, for profiling). It
//! shares the machine's cores with the server, as wrk on the same box would.
//!
//! `bench_load serve` only serves the same sandbox and prints the curve's
//! URL and a token, for an external generator:
//!
//! ```text
//! cargo run --release -p dataconnect-sandbox --example bench_load -- serve > /tmp/sbx &
//! wrk -t1 -c32 -d10s -H "Authorization: Bearer $(sed -n 2p /tmp/sbx)" "$(sed -n 1p /tmp/sbx)"
//! ```
//!
//! The printed lines give responses per second for each target; the
//! difference between `/same-size` and the curve is what generating the
//! curve (and checking the token and the query) costs.

// A panic is how a test, a benchmark or an example reports a broken
// environment: unwrap and expect are fine here (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use dataconnect_sandbox::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox, SandboxConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const CURVE: &str =
    "/metering_data_clc/v5/consumption_load_curve?usage_point_id=22516914714270&start=2024-11-01&end=2024-11-08";
const CURVE_2026: &str = "/mesure_synchrone_auto/v2/courbe_de_charge_consommation?pointId=22516914714270&dateDebut=2024-11-01&dateFin=2024-11-08";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    if std::env::args().nth(1).as_deref() == Some("serve") {
        return serve_only();
    }
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let connections: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(32);
    let only: Option<String> = args.next();

    let server = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let (sandbox_addr, static_addr, token, curve_len) = server.block_on(async {
        let config = SandboxConfig {
            today: Some(jiff::civil::date(2024, 11, 20)),
            quota_per_second: 0,
            quota_per_hour: 0,
            quota_per_hour_api: 0,
            ..SandboxConfig::default()
        };
        let sandbox = Sandbox::new(config)?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let sandbox_addr = listener.local_addr()?;
        tokio::spawn(dataconnect_sandbox::serve(listener, sandbox, std::future::pending()));

        let http = reqwest::Client::new();
        let token: serde_json::Value = http
            .post(format!("http://{sandbox_addr}/oauth2/v3/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", DEFAULT_CLIENT_SECRET),
            ])
            .send()
            .await?
            .json()
            .await?;
        let token = token["access_token"].as_str().unwrap_or_default().to_owned();
        let curve = http.get(format!("http://{sandbox_addr}{CURVE}")).bearer_auth(&token).send().await?;
        if !curve.status().is_success() {
            return Err(format!("the curve answered {}", curve.status()).into());
        }
        let curve_body = curve.bytes().await?;
        let curve_len = curve_body.len();

        let app = Router::new().route("/tiny", get(|| async { "ok" })).route(
            "/same-size",
            get(move || std::future::ready(([("content-type", "application/json")], curve_body.clone()))),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let static_addr = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok::<_, BoxError>((sandbox_addr, static_addr, token, curve_len))
    })?;

    println!("7-day PT30M curve answer (v5): {curve_len} bytes, 336 points");
    println!("{connections} keep-alive connections, {seconds} s per target, server on 2 worker threads");
    let targets = [
        ("baseline /tiny (2-byte static)", static_addr, "/tiny", None),
        ("baseline /same-size (static copy of the curve)", static_addr, "/same-size", None),
        ("sandbox 7-day PT30M curve (v5)", sandbox_addr, CURVE, Some(token.as_str())),
        ("sandbox 7-day PT30M curve (2026)", sandbox_addr, CURVE_2026, Some(token.as_str())),
    ];
    println!("{:<50} {:>12} {:>16}", "target", "responses/s", "per CPU-second");
    for (name, addr, path, token) in targets {
        if only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        let cpu_before = process_cpu_seconds();
        let (count, elapsed) = load(addr, path, token, connections, Duration::from_secs(seconds))?;
        let cpu = process_cpu_seconds().zip(cpu_before).map(|(after, before)| after - before);
        let per_cpu =
            cpu.filter(|c| *c > 0.0).map(|c| format!("{:.0}", count as f64 / c)).unwrap_or_else(|| "?".into());
        println!("{name:<50} {:>12.0} {per_cpu:>16}", count as f64 / elapsed);
    }
    println!("(per CPU-second: responses divided by the CPU time of the whole process, server and load generator;");
    println!(" it stays meaningful when other jobs share the machine, responses/s does not)");
    server.shutdown_background();
    Ok(())
}

/// `bench_load serve`: serves the benchmark's sandbox (quotas lifted,
/// frozen day) on a free port, prints its URL and a token, and runs until
/// killed, so an external load generator such as wrk can be pointed at it.
fn serve_only() -> Result<(), BoxError> {
    let server = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    server.block_on(async {
        let config = SandboxConfig {
            today: Some(jiff::civil::date(2024, 11, 20)),
            quota_per_second: 0,
            quota_per_hour: 0,
            quota_per_hour_api: 0,
            ..SandboxConfig::default()
        };
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let serving = tokio::spawn(dataconnect_sandbox::serve(listener, Sandbox::new(config)?, std::future::pending()));
        let token: serde_json::Value = reqwest::Client::new()
            .post(format!("http://{addr}/oauth2/v3/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", DEFAULT_CLIENT_SECRET),
            ])
            .send()
            .await?
            .json()
            .await?;
        println!("http://{addr}{CURVE}");
        println!("{}", token["access_token"].as_str().unwrap_or_default());
        serving.await??;
        Ok(())
    })
}

/// Runs the load generator against one target on its own thread and
/// returns the completed 200 responses and the elapsed seconds.
fn load(
    addr: std::net::SocketAddr,
    path: &str,
    token: Option<&str>,
    connections: usize,
    duration: Duration,
) -> Result<(u64, f64), BoxError> {
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let request: Arc<[u8]> =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\n{auth}\r\n").into_bytes().into();
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let client = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let started = Instant::now();
    let outcome = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                client.block_on(async {
                    let mut tasks = Vec::with_capacity(connections);
                    for _ in 0..connections {
                        let (request, done, stop) = (request.clone(), done.clone(), stop.clone());
                        tasks.push(tokio::spawn(async move { connection(addr, &request, &done, &stop).await }));
                    }
                    tokio::time::sleep(duration).await;
                    stop.store(true, Ordering::Relaxed);
                    for t in tasks {
                        if let Ok(Err(e)) = t.await {
                            return Err(e);
                        }
                    }
                    Ok(())
                })
            })
            .join()
    });
    let elapsed = started.elapsed().as_secs_f64();
    match outcome {
        Ok(Ok(())) => Ok((done.load(Ordering::Relaxed), elapsed)),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err("load generator thread panicked".into()),
    }
}

/// User plus system CPU time of this process so far, from
/// `/proc/self/stat` (Linux; clock ticks of 1/100 s), or `None` elsewhere.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold
    // spaces: utime and stime are the 12th and 13th of them.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// One keep-alive connection: request, read the whole answer, repeat.
async fn connection(
    addr: std::net::SocketAddr,
    request: &[u8],
    done: &AtomicU64,
    stop: &AtomicBool,
) -> Result<(), String> {
    let mut stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::Relaxed) {
        stream.write_all(request).await.map_err(|e| e.to_string())?;
        // Read until the headers are complete, then until the body is.
        let mut filled = 0;
        let (head_len, body_len, status) = loop {
            if filled == buf.len() {
                buf.resize(buf.len() * 2, 0);
            }
            let n = stream.read(&mut buf[filled..]).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("connection closed".into());
            }
            filled += n;
            if let Some(end) = buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]);
                let status = head.split(' ').nth(1).unwrap_or("").to_owned();
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length").then(|| v.trim().parse::<usize>().ok()).flatten()
                    })
                    .ok_or("no content-length")?;
                break (end + 4, length, status);
            }
        };
        let total = head_len + body_len;
        if buf.len() < total {
            buf.resize(total, 0);
        }
        while filled < total {
            let n = stream.read(&mut buf[filled..total]).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("connection closed mid-body".into());
            }
            filled += n;
        }
        if status != "200" {
            return Err(format!("status {status}"));
        }
        done.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}
