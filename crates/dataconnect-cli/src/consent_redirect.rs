//! Completing a consent from the redirect URL the customer's browser ends
//! on: the `state` is checked against the pending requests (each is used
//! once), the consent is completed with the API and recorded. `consent
//! complete`, `consent --listen`, `demo` and `serve`'s redirect handler all
//! go through [`complete_quiet`].
//!
//! It also holds the rules a redirect must pass before a browser may see a
//! meter: a pending `state` is used once and expires after
//! [`PENDING_TTL`]; [`is_fresh`] says whether the consent Enedis confirmed
//! was given after the `state` was issued; [`reconcile`] never lets a
//! redirect weaken a consent already on record.

use dataconnect::{Client, Generation, UsagePointId};
use dataconnect_store::{ConsentRecord, PendingConsent, Store};
use jiff::Timestamp;
use jiff::civil::Date;
use url::Url;

use crate::error::{Class, CliError, from_client};

/// [`complete`] without printing: returns what was recorded.
pub async fn complete_quiet(store: &dyn Store, client: &Client, url: &Url) -> Result<Completed, CliError> {
    let state = url.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned()).ok_or_else(|| {
        CliError::new(
            Class::Consent,
            "the redirect URL has no state parameter: paste the whole URL the browser ended on",
        )
    })?;
    let pending = take_pending(store, &state, Timestamp::now())?;
    let consent = client.complete_consent(url, &pending.state).await.map_err(|e| from_client(&e))?;
    record_completed(store, client.today(), consent, &pending, Timestamp::now())
}

/// How long a consent request waits for its redirect: the customer logs in
/// and answers on Enedis's site within minutes; an older `state` is refused
/// (and pruned), so a leaked one is useless after this.
pub const PENDING_TTL: jiff::SignedDuration = jiff::SignedDuration::from_mins(30);

/// Takes the pending request of `state` (looked up by key, and removed:
/// one use only). A state never handed out, already used or older than
/// [`PENDING_TTL`] is refused with a [`Class::Consent`] error.
///
/// An index lookup is not constant-time, unlike the scan of every pending
/// state it replaces (which cost a public server a read of the whole table
/// per redirect). That is safe here: a state is 192 random bits that live
/// 30 minutes and serve once, so the timing of a lookup could at most hint
/// at prefixes of states the caller does not hold, far too slowly to
/// matter under the per-address caps.
pub fn take_pending(store: &dyn Store, state: &str, now: Timestamp) -> Result<PendingConsent, CliError> {
    let Some(pending) = store.take_pending_consent(state)? else {
        return Err(CliError::new(
            Class::Consent,
            "the redirect's state matches no pending consent request (already used, or not asked from this database): run `dataconnect consent` again",
        ));
    };
    if now.duration_since(pending.created_at) > PENDING_TTL {
        return Err(CliError::new(
            Class::Consent,
            "the consent request is older than 30 minutes and has expired: run `dataconnect consent` again",
        ));
    }
    Ok(pending)
}

/// What a completed redirect recorded, and what it may show.
#[derive(Debug)]
pub struct Completed {
    /// The consent as Enedis confirmed it.
    pub consent: dataconnect::Consent,
    /// The meters whose consent this redirect proves was given after its
    /// `state` was issued (see [`is_fresh`]): only these may be shown to
    /// the browser that brought it.
    pub fresh: Vec<UsagePointId>,
    /// The meters that had no live consent on record before: their first
    /// sync is due.
    pub new: Vec<UsagePointId>,
    /// The meters whose record was written (new, renewed or extended).
    pub written: Vec<UsagePointId>,
}

/// Records a consent Enedis confirmed, meter by meter, without ever
/// weakening what is on record (see [`reconcile`]), and says which meters
/// are fresh.
pub fn record_completed(
    store: &dyn Store,
    today: Date,
    mut consent: dataconnect::Consent,
    pending: &PendingConsent,
    now: Timestamp,
) -> Result<Completed, CliError> {
    // The request may have been made by another process: the duration asked
    // for is the one remembered with the pending request.
    consent.duration = pending.duration;
    let issued = issued_day(today, pending.created_at, now);
    let stored = store.consents()?;
    let mut done = Completed { consent: consent.clone(), fresh: Vec::new(), new: Vec::new(), written: Vec::new() };
    for prm in &consent.usage_points {
        let one = dataconnect::Consent { usage_points: vec![prm.clone()], ..consent.clone() };
        let before = stored.iter().find(|c| &c.usage_point_id == prm);
        let live = before.filter(|c| is_live(c, today));
        if is_fresh(&one, live, issued) {
            done.fresh.push(prm.clone());
        }
        if live.is_none() {
            done.new.push(prm.clone());
        }
        if let Some(write) = reconcile(one, live) {
            store.record_consent(&write, now)?;
            done.written.push(prm.clone());
        }
    }
    Ok(done)
}

/// A record that still opens the meter's data: not marked by the API as
/// gone, not past its expiry.
fn is_live(c: &ConsentRecord, today: Date) -> bool {
    !c.needs_consent && c.expiry > today
}

/// The Paris day (on the client's calendar, which `--today` may freeze)
/// on which a state was issued: as many days before `today` as the real
/// calendar moved since.
fn issued_day(today: Date, created_at: Timestamp, now: Timestamp) -> Date {
    let paris = dataconnect::domain::paris();
    let real = |t: Timestamp| t.to_zoned_datetime(paris.clone()).date();
    let elapsed = (real(now) - real(created_at)).get_days().max(0);
    today.checked_sub(jiff::Span::new().days(elapsed)).unwrap_or(today)
}

/// The freshness rule: may the browser that brought this redirect see the
/// meter? Only when the consent Enedis confirmed was given after the
/// redirect's `state` was issued; otherwise the redirect could be a
/// replay, by anyone holding a fresh state, of a consent somebody else
/// gave earlier.
///
/// - Generation 1: always: the code was exchanged once, for this redirect,
///   and a code lives minutes.
/// - Generation 2: Enedis gives no date, so the meter must have had no live
///   consent on record: a consent already recorded (by its owner's own
///   redirect) is never handed to a later one.
/// - Generation 3: the subscribed service started on or after the day the
///   state was issued, and it is not the very consent already on record
///   (same `autorisation_id`, started the same day or later): a returning
///   customer keeps the same id, but Enedis renews the service's start day
///   when they consent again, which a replay cannot do.
pub fn is_fresh(consent: &dataconnect::Consent, live: Option<&ConsentRecord>, issued: Date) -> bool {
    match consent.generation {
        Generation::Legacy => true,
        Generation::V5 => live.is_none(),
        Generation::Dc2026 => {
            let seen = live.is_some_and(|c| c.autorisation_id == consent.autorisation_id && c.start >= consent.start);
            consent.start >= issued && !seen
        }
    }
}

/// What to write for one meter, given its live record: the new consent
/// when there is none; else only when it lasts longer, keeping the
/// recorded `autorisation_id` when the new one has none. A redirect never
/// shortens a consent, never drops its id, and writes nothing (not even a
/// new `state` or time) when it brings nothing new.
pub fn reconcile(new: dataconnect::Consent, live: Option<&ConsentRecord>) -> Option<dataconnect::Consent> {
    let Some(old) = live else { return Some(new) };
    if new.expiry() <= old.expiry {
        return None;
    }
    let autorisation_id = new.autorisation_id.clone().or_else(|| old.autorisation_id.clone());
    Some(dataconnect::Consent { autorisation_id, ..new })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataconnect::ConsentDuration;
    use jiff::civil::date;

    fn consent(generation: Generation, start: Date, id: Option<&str>) -> dataconnect::Consent {
        dataconnect::Consent {
            usage_points: vec![UsagePointId::new("22516914714270").unwrap()],
            generation,
            start,
            duration: ConsentDuration::parse("P1Y").unwrap(),
            state: "new-state".into(),
            autorisation_id: id.map(str::to_owned),
        }
    }

    fn record(start: Date, expiry: Date, id: Option<&str>) -> ConsentRecord {
        ConsentRecord {
            usage_point_id: UsagePointId::new("22516914714270").unwrap(),
            generation: Generation::Dc2026,
            start,
            duration: ConsentDuration::parse("P1Y").unwrap(),
            expiry,
            state: "old-state".into(),
            autorisation_id: id.map(str::to_owned),
            needs_consent: false,
            reason: None,
            recorded_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_2026_consent_is_fresh_only_when_given_on_or_after_the_state_day_and_not_already_recorded() {
        let today = date(2026, 11, 28);
        let old = record(date(2025, 12, 1), date(2026, 12, 1), Some("111111111"));
        // A returning customer: same id, Enedis renewed the start day.
        assert!(is_fresh(&consent(Generation::Dc2026, today, Some("111111111")), Some(&old), today));
        // A replay of the consent on record (its start did not move).
        assert!(!is_fresh(&consent(Generation::Dc2026, date(2025, 12, 1), Some("111111111")), Some(&old), today));
        // A consent given today and already recorded today, brought again.
        let recorded_today = record(today, date(2027, 11, 28), Some("111111111"));
        assert!(!is_fresh(&consent(Generation::Dc2026, today, Some("111111111")), Some(&recorded_today), today));
        // A new holder's id, started today: fresh; started before: not.
        assert!(is_fresh(&consent(Generation::Dc2026, today, Some("222222222")), Some(&recorded_today), today));
        assert!(!is_fresh(&consent(Generation::Dc2026, date(2026, 11, 27), Some("222222222")), None, today));
    }

    #[test]
    fn a_v5_consent_is_fresh_only_for_a_meter_without_a_live_consent() {
        let today = date(2026, 11, 28);
        let live = record(date(2026, 1, 1), date(2027, 1, 1), None);
        assert!(is_fresh(&consent(Generation::V5, today, None), None, today));
        assert!(!is_fresh(&consent(Generation::V5, today, None), Some(&live), today));
        assert!(is_fresh(&consent(Generation::Legacy, today, None), Some(&live), today));
        // A record marked by the API as gone, or past its expiry, is not live.
        assert!(!is_live(&ConsentRecord { needs_consent: true, ..live }, today));
        assert!(!is_live(&record(date(2025, 1, 1), today, None), today));
    }

    #[test]
    fn a_redirect_never_shortens_a_consent_nor_drops_its_id() {
        let today = date(2026, 11, 28);
        let long = record(date(2026, 1, 1), date(2029, 1, 1), Some("111111111"));
        assert_eq!(
            reconcile(consent(Generation::Dc2026, today, Some("111111111")), Some(&long)),
            None,
            "a shorter consent is not written"
        );
        let short = record(date(2026, 1, 1), date(2027, 1, 1), Some("111111111"));
        let written =
            reconcile(consent(Generation::V5, today, None), Some(&short)).expect("a longer consent is written");
        assert_eq!(written.autorisation_id.as_deref(), Some("111111111"), "the id on record is kept");
        assert_eq!(written.expiry(), date(2027, 11, 28));
        assert!(reconcile(consent(Generation::V5, today, None), None).is_some());
    }

    #[test]
    fn the_state_day_follows_the_client_calendar() {
        let now: Timestamp = "2026-12-02T10:00:00Z".parse().unwrap();
        let frozen = date(2021, 1, 15);
        assert_eq!(issued_day(frozen, now - jiff::SignedDuration::from_mins(20), now), frozen);
        let just_before_midnight: Timestamp = "2026-12-01T22:50:00Z".parse().unwrap();
        let after_midnight: Timestamp = "2026-12-01T23:10:00Z".parse().unwrap();
        assert_eq!(issued_day(frozen, just_before_midnight, after_midnight), date(2021, 1, 14));
    }

    #[test]
    fn a_state_is_taken_once_by_key_and_refused_after_30_minutes() {
        use dataconnect_store::{SqliteConfig, SqliteStore};
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&SqliteConfig::new(dir.path().join("p.db"))).unwrap();
        let now = Timestamp::now();
        let pending = |state: &str, minutes: i64| PendingConsent {
            state: state.into(),
            generation: Generation::Dc2026,
            duration: ConsentDuration::parse("P1Y").unwrap(),
            sandbox_client: None,
            created_at: now - jiff::SignedDuration::from_mins(minutes),
        };
        store.add_pending_consent(&pending("fresh", 29)).unwrap();
        store.add_pending_consent(&pending("old", 31)).unwrap();
        assert_eq!(take_pending(&store, "fresh", now).unwrap().state, "fresh");
        assert_eq!(take_pending(&store, "fresh", now).unwrap_err().class(), Class::Consent, "one use only");
        let old = take_pending(&store, "old", now).unwrap_err();
        assert!(old.class() == Class::Consent && old.line().contains("30 minutes"), "{}", old.line());
        assert_eq!(take_pending(&store, "never-given", now).unwrap_err().class(), Class::Consent);
        // Expired requests are pruned, the others kept.
        store.add_pending_consent(&pending("stale", 45)).unwrap();
        store.add_pending_consent(&pending("recent", 1)).unwrap();
        assert_eq!(store.prune_pending_consents(now - PENDING_TTL).unwrap(), 1);
        assert_eq!(store.count_pending_consents().unwrap(), 1);
    }
}
