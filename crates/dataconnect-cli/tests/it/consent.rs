//! `consent --listen` with the test playing the customer's browser, and the
//! consent check of `consent complete`.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::{CONSUMER, consent_redirect, dataconnect, get, run_ok, sandbox};

#[test]
fn consent_listen_receives_the_redirect_and_records_the_consent() {
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
    assert!(url.starts_with(&sandbox.url), "{url}");
    assert!(url.trim_end().ends_with('3') || url.contains("3&"), "state selects client 3: {url}");
    // The browser: authorize, then the redirect to the CLI's listener.
    let redirect = consent_redirect(url.trim());
    assert!(redirect.starts_with(&sandbox.redirect_uri), "{redirect}");
    let (status, _) = get(&redirect);
    assert_eq!(status, 200);
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(status.success(), "{rest}");
    assert!(rest.contains("consent recorded") && rest.contains(CONSUMER), "{rest}");
    // The recorded consent is what sync works from.
    run_ok(dataconnect(dir.path(), &sandbox, &db).args(["sync", "--series", "consumption-daily"]));
}

#[test]
fn a_redirect_with_an_unknown_state_is_refused_and_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path(), |_| {});
    let db = dir.path().join("s.db");
    let out = run_ok(dataconnect(dir.path(), &sandbox, &db).args(["consent", "--sandbox-client", "3"]));
    let redirect = consent_redirect(out.lines().next().unwrap());
    let forged = redirect.replace("state=", "state=x");
    let out = dataconnect(dir.path(), &sandbox, &db).args(["consent", "complete", "--url", &forged]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("state"), "{err}");
    // The genuine redirect still completes.
    run_ok(dataconnect(dir.path(), &sandbox, &db).args(["consent", "complete", "--url", &redirect]));
}
