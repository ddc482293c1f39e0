//! Consents, pending requests, meter info, series states, sync runs, quota counters.

use dataconnect::{Consent, ConsentDuration, Generation, Series};
use dataconnect_store::{MeterInfo, PendingConsent, Store, SyncRunOutcome};
use jiff::Timestamp;

use crate::{d, open, prm};

#[test]
fn consents_round_trip_and_can_be_marked() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let p = prm();
    let other = dataconnect::UsagePointId::new("10284856584123").unwrap();
    let consent = Consent {
        usage_points: vec![p, other.clone()],
        generation: Generation::Dc2026,
        start: d(2026, 11, 28),
        duration: ConsentDuration::parse("P3Y").unwrap(),
        state: "abc3".into(),
        autorisation_id: Some("aid".into()),
    };
    let now = Timestamp::from_second(1_790_000_000).unwrap();
    store.record_consent(&consent, now).unwrap();
    store.mark_needs_consent(&other, "ADAM-DC-0008: no consent").unwrap();
    let all = store.consents().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].usage_point_id, other);
    assert!(all[0].needs_consent);
    assert_eq!(all[1].expiry, d(2029, 11, 28));
    assert!(!all[1].needs_consent);
    // A new consent clears the mark.
    store.record_consent(&consent, now).unwrap();
    assert!(store.consents().unwrap().iter().all(|c| !c.needs_consent));
}

#[test]
fn pending_consents_are_taken_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let pending = PendingConsent {
        state: "s3cr3t3".into(),
        generation: Generation::V5,
        duration: ConsentDuration::parse("P6M").unwrap(),
        sandbox_client: Some(3),
        created_at: Timestamp::from_second(1_790_000_000).unwrap(),
    };
    store.add_pending_consent(&pending).unwrap();
    assert!(!format!("{pending:?}").contains("s3cr3t3"));
    assert_eq!(store.pending_consents().unwrap(), vec![pending.clone()]);
    assert_eq!(store.take_pending_consent("s3cr3t3").unwrap(), Some(pending));
    assert_eq!(store.take_pending_consent("s3cr3t3").unwrap(), None);
}

#[test]
fn meter_info_series_state_runs_and_quota() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let p = prm();
    let t = Timestamp::from_second(1_790_000_000).unwrap();
    store
        .put_meter_info(&MeterInfo {
            usage_point_id: p.clone(),
            contract_json: Some("{}".into()),
            address_json: None,
            activation: Some(d(2020, 1, 1)),
            updated_at: t,
        })
        .unwrap();
    // A later write without an activation keeps the known one.
    store
        .put_meter_info(&MeterInfo {
            usage_point_id: p.clone(),
            contract_json: None,
            address_json: Some("{\"city\":\"x\"}".into()),
            activation: None,
            updated_at: t,
        })
        .unwrap();
    let info = store.meter_info(&p).unwrap().unwrap();
    assert_eq!(info.activation, Some(d(2020, 1, 1)));
    assert_eq!(info.contract_json.as_deref(), Some("{}"));
    assert!(!format!("{info:?}").contains("city"));

    store.set_series_state(&p, Series::ProductionCurve, t, Some("ADAM-ERR0069")).unwrap();
    let states = store.series_states().unwrap();
    assert_eq!(states[0].stopped_reason.as_deref(), Some("ADAM-ERR0069"));

    let id = store.begin_sync_run(t).unwrap();
    let second = store.begin_sync_run(t).unwrap();
    let outcome = SyncRunOutcome { finished_at: t, status: "ok".into(), calls: 3, points: 10, message: None };
    store.finish_sync_run(id, &outcome).unwrap();
    let runs = store.sync_runs(10).unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].id, second);
    assert_eq!(runs[0].outcome, None);
    assert_eq!(runs[1].outcome, Some(outcome));

    store.record_calls(t, 5).unwrap();
    store.record_calls(t, 2).unwrap();
    assert_eq!(store.calls_since(t).unwrap(), 7);
    assert_eq!(store.calls_since(t + jiff::SignedDuration::from_hours(2)).unwrap(), 0);
}
