//! `dataconnect publish home-assistant`: hourly energy statistics of every
//! consented meter (or those named) imported into Home Assistant's
//! recorder over its WebSocket API, for the Energy dashboard.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use crate::error::CliError;
use crate::publish::home_assistant::{Session, publish_meter};
use crate::settings::{GlobalArgs, Settings};

#[derive(Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    global: GlobalArgs,
    /// Home Assistant's address, e.g. http://homeassistant.local:8123 (https:// for TLS).
    #[arg(long, value_name = "URL")]
    url: String,
    /// A file holding a long-lived access token (or set DATACONNECT_HA_TOKEN).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Only these meters (repeat or separate with commas).
    #[arg(long, value_name = "PRM")]
    prm: Vec<String>,
}

impl Cmd {
    pub async fn run(self) -> Result<(), CliError> {
        let settings = Settings::resolve(&self.global)?;
        let token = crate::publish::secret_from(self.token_file.as_deref(), "--token-file", "DATACONNECT_HA_TOKEN")?
            .ok_or_else(|| {
                CliError::config(
                    "no Home Assistant token: create a long-lived access token on your Home Assistant profile page and pass --token-file FILE (or set DATACONNECT_HA_TOKEN)",
                )
            })?;
        let named = crate::store::prms(&self.prm)?;
        if !crate::store::exists(&settings.db) {
            return Err(CliError::config(format!(
                "no store at {}: run `dataconnect sync` first, or pass --db",
                crate::store::shown(&settings.db)
            )));
        }
        let store = Arc::new(crate::store::open_ro(&settings.db)?);
        let prms = crate::publish::meters(&**store, &named)?;
        if prms.is_empty() {
            return Err(CliError::config("no consented meter in the store: record a consent first, or pass --prm"));
        }
        let mut session = Session::open(&self.url, &token).await?;
        for prm in &prms {
            for sent in publish_meter(&mut session, &store, prm).await? {
                println!(
                    "{}: {} {} row(s) imported into {}",
                    sent.statistic_id,
                    sent.rows,
                    if sent.hourly { "hourly" } else { "daily" },
                    session.shown()
                );
            }
        }
        session.close().await;
        Ok(())
    }
}
