//! Completing a consent from the redirect URL the customer's browser ends
//! on: the `state` is checked against the pending requests (each is used
//! once), the consent is completed with the API and recorded. `consent
//! complete`, `consent --listen`, `demo` and `serve`'s redirect handler all
//! go through [`complete_quiet`].

use dataconnect::Client;
use dataconnect_store::Store;
use jiff::Timestamp;
use url::Url;

use crate::error::{Class, CliError, from_client};

/// Checks the redirect's state against the pending requests, completes the
/// consent with the API and records it; returns the recorded consent
/// (`consent complete` prints it).
pub async fn complete_quiet(store: &dyn Store, client: &Client, url: &Url) -> Result<dataconnect::Consent, CliError> {
    let state = url.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned()).ok_or_else(|| {
        CliError::new(Class::Consent, "the redirect URL has no state parameter: paste the whole URL the browser ended on")
    })?;
    let Some(pending) = store.take_pending_consent(&state)? else {
        return Err(CliError::new(
            Class::Consent,
            "the redirect's state matches no pending consent request (already used, or not asked from this database): run `dataconnect consent` again",
        ));
    };
    let mut consent = client.complete_consent(url, &pending.state).await.map_err(|e| from_client(&e))?;
    // The request may have been made by another process: the duration asked
    // for is the one remembered with the pending request.
    consent.duration = pending.duration;
    store.record_consent(&consent, Timestamp::now())?;
    Ok(consent)
}
