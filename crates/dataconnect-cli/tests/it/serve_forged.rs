//! Forged redirects against `dataconnect serve`: the attacks of a hostile
//! visitor who holds a real `state` (the consent button hands one out to
//! anybody) and sends the redirect themselves, against a sandbox in its
//! production-like `--strict-consent` mode, where only meters with a consent
//! given through its consent page answer. Each must end with no cookie, no
//! consent recorded (or the one on record unchanged), and no sync queued.

use std::path::Path;

use serde_json::Value;

use super::serve::{
    CLIENT0_METER, REDIRECT_PATH, Serve, answer_consent_page, consents, get, get_with_key, press_consent_button,
};
use super::spawned::Sandbox;

/// Sandbox client 1's meter: a meter nobody consented to in these tests.
const CLIENT1_METER: &str = "11453290002823";
/// Sandbox client 7's meters.
const CLIENT7_METERS: [&str; 3] = ["64975835695673", "63695879465986", "22315546958763"];
/// Sandbox client 8's meter, whose consent is revoked as soon as given.
const CLIENT8_METER: &str = "26584978546985";

/// A strict sandbox with its consent page, and a server on `db` of the
/// given generation (no in-process sync: the tests look at what the
/// redirect itself records).
fn strict_journey(home: &Path, generation: &str) -> (Sandbox, Serve) {
    let port = super::free_port();
    let redirect = format!("http://127.0.0.1:{port}{REDIRECT_PATH}");
    let sandbox = Sandbox::spawn_with(&["--consent-page", "--strict-consent", "--redirect-uri", &redirect]);
    let db = home.join("serve.db");
    let serve = Serve::start(
        home,
        &sandbox.base_url,
        &db,
        &format!("127.0.0.1:{port}"),
        &["--workers", "0", "--generation", generation],
    );
    (sandbox, serve)
}

/// A fresh `state`, as anybody gets one: press the button, read the URL.
fn fresh_state(serve: &Serve) -> String {
    let authorize = press_consent_button(serve);
    url::Url::parse(&authorize).unwrap().query_pairs().find(|(k, _)| k == "state").expect("a state").1.into_owned()
}

/// The consents on record, every field (state, `autorisation_id`, time
/// recorded), read from the store itself.
fn records(home: &Path) -> Vec<dataconnect_store::ConsentRecord> {
    use dataconnect_store::{OpenMode, SqliteConfig, SqliteStore, Store};
    let config = SqliteConfig { mode: OpenMode::ReadOnly, ..SqliteConfig::new(home.join("serve.db")) };
    SqliteStore::open(&config).expect("the store opens").consents().expect("consents read")
}

fn meters(serve: &Serve) -> Value {
    get_with_key(&serve.at("/api/v1/meters")).json()
}

/// Nothing was recorded and no first sync was queued.
fn nothing_recorded(serve: &Serve) {
    assert!(consents(serve).is_empty(), "a consent was recorded: {:?}", consents(serve));
    assert_eq!(meters(serve), serde_json::json!([]), "a meter was recorded");
    let queue = get_with_key(&serve.at("/api/v1/sync")).json()["first_sync_queue"].clone();
    let queued: u64 = queue.as_object().expect("queue counts").values().filter_map(Value::as_u64).sum();
    assert_eq!(queued, 0, "a first sync was queued: {queue}");
}

#[test]
fn a_2026_redirect_with_a_usage_point_id_or_a_code_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let (_sandbox, serve) = strict_journey(home.path(), "2026");
    let redirect = serve.at(REDIRECT_PATH);
    for forged in [
        format!("usage_point_id={CLIENT1_METER}"),
        format!("usage_point_id={CLIENT1_METER}&autorisation_id=123456789"),
        "code=abc&autorisation_id=123456789".to_owned(),
        format!("usage_point_id={};{},{}", CLIENT7_METERS[0], CLIENT7_METERS[1], CLIENT7_METERS[2]),
    ] {
        let state = fresh_state(&serve);
        let answer = get(&format!("{redirect}?state={state}&{forged}"));
        assert_eq!(answer.status, 400, "{forged}: {}", answer.body);
        assert!(answer.header("set-cookie").is_none(), "{forged}: a cookie was set");
        assert!(answer.body.contains("Rien n&#39;a été enregistré"), "{}", answer.body);
    }
    nothing_recorded(&serve);
}

#[test]
fn a_forged_v5_redirect_is_confirmed_with_enedis_before_anything_is_recorded() {
    let home = tempfile::tempdir().unwrap();
    let (sandbox, serve) = strict_journey(home.path(), "v5");
    let redirect = serve.at(REDIRECT_PATH);
    // One PRM nobody shared, then a list of them.
    let list = format!("{};{},{}", CLIENT7_METERS[0], CLIENT7_METERS[1], CLIENT7_METERS[2]);
    for prms in [CLIENT1_METER, list.as_str()] {
        let state = fresh_state(&serve);
        let answer = get(&format!("{redirect}?state={state}&code=x&usage_point_id={prms}"));
        assert_eq!(answer.status, 403, "{prms}: {}", answer.body);
        assert!(answer.header("set-cookie").is_none(), "{prms}: a cookie was set");
        assert!(answer.body.contains("Accord non confirmé par Enedis"), "{}", answer.body);
        nothing_recorded(&serve);
    }
    // The real consent of client 0 opens its meter.
    let authorize = press_consent_button(&serve);
    let back =
        answer_consent_page(&sandbox, &authorize, &[("client", "0"), ("prm", CLIENT0_METER), ("decision", "accept")]);
    let landed = get(&back);
    assert_eq!(landed.status, 303, "{}", landed.body);
    assert!(landed.header("set-cookie").is_some());
    let before = records(home.path());
    assert_eq!(before.len(), 1, "{before:?}");
    // The same meter in a forged redirect: Enedis confirms a consent, but
    // it is the one already on record, not one given for this state.
    let state = fresh_state(&serve);
    let replay = get(&format!("{redirect}?state={state}&code=x&usage_point_id={CLIENT0_METER}"));
    assert_eq!(replay.status, 200, "{}", replay.body);
    assert!(replay.header("set-cookie").is_none(), "the forged redirect got a cookie");
    assert!(replay.body.contains("Merci, votre accord est enregistré"), "{}", replay.body);
    assert!(!replay.body.contains(CLIENT0_METER), "the thank-you page names no meter");
    assert_eq!(records(home.path()), before, "the consent on record was rewritten");
}

#[test]
fn a_replayed_or_foreign_autorisation_id_opens_no_meter() {
    let home = tempfile::tempdir().unwrap();
    let (sandbox, serve) = strict_journey(home.path(), "2026");
    let redirect = serve.at(REDIRECT_PATH);
    // The victim, sandbox client 1, consents through the page.
    let authorize = press_consent_button(&serve);
    let back =
        answer_consent_page(&sandbox, &authorize, &[("client", "1"), ("prm", CLIENT1_METER), ("decision", "accept")]);
    let id = url::Url::parse(&back)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "autorisation_id")
        .expect("an id")
        .1
        .into_owned();
    let landed = get(&back);
    assert_eq!(landed.status, 303, "{}", landed.body);
    assert_eq!(landed.header("location"), Some(format!("/compteurs/{CLIENT1_METER}").as_str()));
    let before = records(home.path());
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].autorisation_id.as_deref(), Some(id.as_str()), "{before:?}");
    // The victim's own redirect, replayed: its state is used up.
    assert_eq!(get(&back).status, 400);
    // The attacker brings the victim's id with a fresh state of their own.
    let state = fresh_state(&serve);
    let stolen = get(&format!("{redirect}?state={state}&autorisation_id={id}"));
    assert_eq!(stolen.status, 200, "{}", stolen.body);
    assert!(stolen.header("set-cookie").is_none(), "the victim's id opened their meter");
    assert!(
        stolen.body.contains("Merci, votre accord est enregistré") && !stolen.body.contains(CLIENT1_METER),
        "{}",
        stolen.body
    );
    assert_eq!(records(home.path()), before, "the victim's consent was rewritten");
    // An id Enedis never gave this application.
    let state = fresh_state(&serve);
    let foreign = get(&format!("{redirect}?state={state}&autorisation_id=123456789"));
    assert_eq!(foreign.status, 403, "{}", foreign.body);
    assert!(foreign.header("set-cookie").is_none());
    assert_eq!(records(home.path()), before);
}

#[test]
fn a_revoked_consent_is_told_as_such_and_records_nothing() {
    let home = tempfile::tempdir().unwrap();
    let (sandbox, serve) = strict_journey(home.path(), "2026");
    let authorize = press_consent_button(&serve);
    let back =
        answer_consent_page(&sandbox, &authorize, &[("client", "8"), ("prm", CLIENT8_METER), ("decision", "accept")]);
    let page = get(&back);
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.header("set-cookie").is_none());
    assert!(page.body.contains("Accord non confirmé par Enedis") && page.body.contains("retiré"), "{}", page.body);
    assert!(!page.body.contains("aucune demande en cours"), "{}", page.body);
    nothing_recorded(&serve);
}
