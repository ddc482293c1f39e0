//! Hostile answers to the client: a server that sends a 100 MB body, a
//! body that never ends, JSON nested a million deep, the wrong content
//! type, or one byte at a time. Each must end in a clear error, with the
//! memory the client holds bounded (it stops reading at its body cap) and
//! the time bounded by the client's own timeout.
//!
//! The server is a few lines of raw HTTP/1.1 on 127.0.0.1 port 0, so that
//! it can lie (a `Content-Length` it never honours, an endless chunked
//! body) in ways a framework would not let it. It answers every token
//! request with a valid application token and every other request with the
//! hostile answer. A generous `tokio::time::timeout` around each call fails
//! the test only if the client hangs; nothing asserts on timing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dataconnect::{
    Client, ClientConfig, ClientSecret, DateRange, Error, ErrorKind, Generation, QuotaConfig, Series, UsagePointId,
};
use jiff::civil::date;
use tokio::net::{TcpListener, TcpStream};

/// What the hostile server answers to data requests.
#[derive(Clone, Copy, Debug)]
enum Hostile {
    /// A 200 with `Content-Length: 100 MB`, sent as fast as the client reads.
    Huge,
    /// A 200 with a chunked body that never ends.
    Endless,
    /// A 200 whose JSON is `[[[[…]]]]` a million levels deep.
    DeepNesting,
    /// A 200 labelled `text/html` holding an HTML page.
    HtmlPage,
    /// A 500 labelled `text/html` (a proxy's error page).
    HtmlError,
    /// A 200 labelled JSON holding XML.
    XmlAsJson,
    /// A valid-looking JSON body sent one byte every 200 ms.
    Drip,
}

const TOKEN: &str = r#"{"access_token":"hostile-test-token","token_type":"Bearer","expires_in":12600,"scope":"am_application_scope default"}"#;

/// Writes all of `buf`, without tokio's io-util (not a dependency here).
async fn write_all(s: &TcpStream, mut buf: &[u8]) -> std::io::Result<()> {
    while !buf.is_empty() {
        s.writable().await?;
        match s.try_write(buf) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads the request head; returns its first line.
async fn read_head(s: &TcpStream) -> std::io::Result<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        s.readable().await?;
        match s.try_read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    // A POST's form body may follow the head; the server does not need it.
    Ok(String::from_utf8_lossy(&head).lines().next().unwrap_or_default().to_owned())
}

async fn answer(s: TcpStream, hostile: Hostile, sent: Arc<AtomicU64>) -> std::io::Result<()> {
    let line = read_head(&s).await?;
    if line.contains("token") {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            TOKEN.len()
        );
        write_all(&s, head.as_bytes()).await?;
        return write_all(&s, TOKEN.as_bytes()).await;
    }
    let count = |n: usize| {
        sent.fetch_add(n as u64, Ordering::Relaxed);
    };
    match hostile {
        Hostile::Huge => {
            let total: usize = 100 * 1024 * 1024;
            write_all(
                &s,
                format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {total}\r\n\r\n")
                    .as_bytes(),
            )
            .await?;
            let chunk = vec![b' '; 64 * 1024];
            let mut left = total;
            while left > 0 {
                let n = left.min(chunk.len());
                write_all(&s, &chunk[..n]).await?;
                count(n);
                left -= n;
            }
            Ok(())
        }
        Hostile::Endless => {
            write_all(&s, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
                .await?;
            let data = vec![b'['; 64 * 1024];
            let chunk = [format!("{:x}\r\n", data.len()).into_bytes(), data, b"\r\n".to_vec()].concat();
            loop {
                write_all(&s, &chunk).await?;
                count(chunk.len());
            }
        }
        Hostile::DeepNesting => {
            let depth = 1_000_000;
            let body = [vec![b'['; depth], vec![b']'; depth]].concat();
            let head =
                format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len());
            write_all(&s, head.as_bytes()).await?;
            write_all(&s, &body).await
        }
        Hostile::HtmlPage | Hostile::HtmlError | Hostile::XmlAsJson => {
            let (status, ctype, body) = match hostile {
                Hostile::HtmlPage => {
                    ("200 OK", "text/html", "<!doctype html><title>Maintenance</title><p>Back soon</p>")
                }
                Hostile::HtmlError => {
                    ("500 Internal Server Error", "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>")
                }
                _ => (
                    "200 OK",
                    "application/json",
                    "<?xml version=\"1.0\"?><meter_reading><value>1</value></meter_reading>",
                ),
            };
            let head = format!("HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n", body.len());
            write_all(&s, head.as_bytes()).await?;
            write_all(&s, body.as_bytes()).await
        }
        Hostile::Drip => {
            let body = br#"{"meter_reading":{"usage_point_id":"22516914714270","start":"2025-01-01","end":"2025-01-08","interval_reading":[]}}"#;
            let head =
                format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len());
            write_all(&s, head.as_bytes()).await?;
            for b in body {
                write_all(&s, std::slice::from_ref(b)).await?;
                count(1);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Ok(())
        }
    }
}

/// Starts the hostile server; returns its base URL and the count of body
/// bytes it managed to hand to the kernel.
async fn serve(hostile: Hostile) -> (url::Url, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let addr = listener.local_addr().expect("addr");
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(answer(s, hostile, counter.clone()));
        }
    });
    (format!("http://{addr}/").parse().expect("url"), sent)
}

/// One data call of a v5 client with a 3 s timeout and two attempts,
/// bounded by a test-level timeout far above anything the client allows.
async fn fetch(hostile: Hostile) -> (Error, u64) {
    let (base, sent) = serve(hostile).await;
    let mut c = ClientConfig::new(base, Generation::V5, "hostile-client", ClientSecret::new("hostile-secret"));
    c.today = Some(date(2025, 11, 20));
    c.timeout = Duration::from_secs(3);
    c.max_attempts = 2;
    c.quota = QuotaConfig { per_second: 1000, per_hour: 100_000 };
    let client = Client::new(c).expect("client");
    let prm = UsagePointId::new("22516914714270").expect("prm");
    let range = DateRange::new(date(2025, 1, 1), date(2025, 1, 8)).expect("range");
    let call = client.readings(&prm, Series::ConsumptionDaily, range).send();
    let result = tokio::time::timeout(Duration::from_secs(120), call)
        .await
        .unwrap_or_else(|_| panic!("{hostile:?}: the client hung past every timeout it was given"));
    let err = match result {
        Ok(f) => panic!("{hostile:?}: a hostile answer was accepted as {} readings", f.readings.len()),
        Err(e) => e,
    };
    (err, sent.load(Ordering::Relaxed))
}

/// The client holds at most this much of a body (its cap plus slack for
/// socket buffers); the hostile server sends far more when it is not cut.
const MEMORY_BOUND: u64 = 48 * 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_body_is_refused_without_reading_it_all() {
    let (e, sent) = fetch(Hostile::Huge).await;
    assert_eq!(e.kind(), &ErrorKind::Decode, "{e}");
    assert!(e.to_string().contains("larger than"), "not a clear message: {e}");
    assert!(sent < MEMORY_BOUND * 2, "the client read {sent} bytes of a 100 MB body over two attempts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_body_is_cut_at_the_cap() {
    let (e, sent) = fetch(Hostile::Endless).await;
    assert!(matches!(e.kind(), ErrorKind::Decode | ErrorKind::Timeout), "{e}");
    assert!(sent < MEMORY_BOUND * 2, "the client read {sent} bytes of an endless body");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_nesting_is_a_decode_error() {
    let (e, _) = fetch(Hostile::DeepNesting).await;
    assert_eq!(e.kind(), &ErrorKind::Decode, "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_content_types_are_clear_errors() {
    let (e, _) = fetch(Hostile::HtmlPage).await;
    assert_eq!(e.kind(), &ErrorKind::Decode, "{e}");
    let (e, _) = fetch(Hostile::HtmlError).await;
    assert_eq!(e.kind(), &ErrorKind::Server, "{e}");
    let (e, _) = fetch(Hostile::XmlAsJson).await;
    assert_eq!(e.kind(), &ErrorKind::Decode, "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_drip_ends_in_a_timeout() {
    let (e, _) = fetch(Hostile::Drip).await;
    assert_eq!(e.kind(), &ErrorKind::Timeout, "{e}");
}
