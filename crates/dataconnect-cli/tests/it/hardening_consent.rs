//! Consent security of the CLI: a replayed redirect is refused, `--listen`
//! only listens on this machine, a client that connects to the listener
//! and sends nothing cannot lock the customer's browser out, and the
//! listener stops after the one redirect it waits for.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;

use crate::{CONSUMER, consent_redirect, dataconnect, get, run_ok, sandbox};

#[test]
fn a_replayed_redirect_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path(), |_| {});
    let db = dir.path().join("s.db");
    let out = run_ok(dataconnect(dir.path(), &sandbox, &db).args(["consent", "--sandbox-client", "3"]));
    let redirect = consent_redirect(out.lines().next().unwrap());
    run_ok(dataconnect(dir.path(), &sandbox, &db).args(["consent", "complete", "--url", &redirect]));
    let again =
        dataconnect(dir.path(), &sandbox, &db).args(["consent", "complete", "--url", &redirect]).output().unwrap();
    assert_eq!(again.status.code(), Some(6), "{}", String::from_utf8_lossy(&again.stderr));
    // A redirect with a second, genuine-looking state after a forged first
    // one is not accepted either: the first `state` is the one checked.
    let out = run_ok(dataconnect(dir.path(), &sandbox, &db).args(["consent", "--sandbox-client", "3"]));
    let redirect = consent_redirect(out.lines().next().unwrap());
    let doubled = redirect.replacen("state=", "state=forged&state=", 1);
    let out = dataconnect(dir.path(), &sandbox, &db).args(["consent", "complete", "--url", &doubled]).output().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn listen_refuses_a_redirect_uri_off_this_machine() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path(), |_| {});
    let db = dir.path().join("s.db");
    for uri in [
        "http://0.0.0.0:8081/callback",
        "http://192.0.2.1:8081/callback",
        "https://127.0.0.1:8081/callback",
        "http://example.com/cb",
    ] {
        let out = dataconnect(dir.path(), &sandbox, &db)
            .env("DATACONNECT_REDIRECT_URI", uri)
            .args(["consent", "--listen", "--timeout", "5"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(4), "{uri}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn a_silent_client_does_not_block_the_redirect_and_one_request_ends_the_listener() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path(), |_| {});
    let db = dir.path().join("s.db");
    let mut child = dataconnect(dir.path(), &sandbox, &db)
        .args(["consent", "--listen", "--sandbox-client", "3", "--timeout", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut url = String::new();
    stdout.read_line(&mut url).unwrap();
    let redirect = consent_redirect(url.trim());
    let host = redirect.strip_prefix("http://").unwrap().split('/').next().unwrap().to_owned();
    // A client that connects first and never sends its request, and one
    // that sends half a request line: before the fix, either held the
    // one-at-a-time listener until the 60 s timeout and the consent failed.
    let _silent = TcpStream::connect(&host).unwrap();
    let mut dripping = TcpStream::connect(&host).unwrap();
    dripping.write_all(b"GET /callb").unwrap();
    let (status, _) = get(&redirect);
    assert_eq!(status, 200);
    let status = child.wait().unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(status.success(), "{rest}{err}");
    assert!(rest.contains("consent recorded") && rest.contains(CONSUMER), "{rest}");
    // One request, then the listener is gone.
    assert!(TcpStream::connect(&host).is_err(), "the redirect listener still accepts connections");
}
