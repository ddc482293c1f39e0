//! Publishing stored readings to the tools people look at them in:
//! InfluxDB and VictoriaMetrics (`influx`, in line protocol), Home
//! Assistant through an MQTT broker (`mqtt`, discovery configs and states)
//! and Home Assistant's long-term statistics (`home_assistant`, over its
//! WebSocket API).
//!
//! Each publisher reads the store and writes to one outside service; none
//! of them changes the store. They live in the CLI, not in a library crate,
//! because their dependencies (an MQTT client, a WebSocket client) are only
//! the command's business. `cmd/publish` holds the command line and
//! `sync_engine/sqlite_daemon.rs` calls `follow::Followers::after_round` after each round.

pub mod bench;
pub mod follow;
pub mod home_assistant;
pub mod influx;
pub mod line;
pub mod mqtt;
pub mod sensors;

use std::path::Path;

use dataconnect::UsagePointId;
use dataconnect_store::Store;

use crate::error::CliError;
use crate::settings::Secret;

/// The meters to publish: those named, else every meter with a recorded
/// consent (whether or not it still needs a new one: its data stays).
pub fn meters(store: &dyn Store, named: &[UsagePointId]) -> Result<Vec<UsagePointId>, CliError> {
    if !named.is_empty() {
        return Ok(named.to_vec());
    }
    let mut prms: Vec<UsagePointId> = store.consents()?.into_iter().map(|c| c.usage_point_id).collect();
    prms.dedup();
    Ok(prms)
}

/// Every MQTT message of `prms`: the discovery configs and states of the
/// sensors each meter has. Returns the messages, the number of sensors and
/// the meters that have none (nothing stored for them).
pub fn mqtt_messages(
    store: &dyn Store,
    prms: &[UsagePointId],
    topics: &mqtt::Topics,
) -> Result<(Vec<mqtt::Message>, usize, Vec<UsagePointId>), CliError> {
    let mut messages = Vec::new();
    let mut sensors = 0;
    let mut empty = Vec::new();
    for prm in prms {
        let states = sensors::meter_states(store, prm)?;
        if states.is_empty() {
            empty.push(prm.clone());
        }
        sensors += states.len();
        messages.extend(mqtt::messages(prm, &states, topics));
    }
    Ok((messages, sensors, empty))
}

/// Installs rustls' ring provider as the process default (once; later
/// calls do nothing), which reqwest's and the MQTT client's TLS need: the
/// workspace builds rustls without a default provider.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The secret of `flag`'s file if given, else of the environment variable
/// `env` if set and not empty, else none.
pub fn secret_from(path: Option<&Path>, flag: &str, env: &str) -> Result<Option<Secret>, CliError> {
    match path {
        Some(p) => read_secret_file(p, flag).map(Some),
        None => Ok(std::env::var(env).ok().filter(|s| !s.trim().is_empty()).map(|s| Secret::new(s.trim()))),
    }
}

/// Reads a secret (a token, a password) from a file named by `flag`: the
/// first line, trimmed. The file's content never appears in a message.
pub fn read_secret_file(path: &Path, flag: &str) -> Result<Secret, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::config(format!("cannot read {} ({flag}): {e}: check the path", path.display())))?;
    let secret = text.lines().next().unwrap_or_default().trim().to_owned();
    if secret.is_empty() {
        return Err(CliError::config(format!(
            "{} ({flag}) is empty: write the secret on its first line",
            path.display()
        )));
    }
    Ok(Secret::new(secret))
}
