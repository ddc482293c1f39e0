//! `dataconnect publish mqtt`: Home Assistant discovery configs and sensor
//! states of every consented meter (or those named), retained, at QoS 1,
//! then exit.

use std::path::PathBuf;

use clap::Args;

use crate::error::CliError;
use crate::publish::mqtt::{self, Broker, Topics};
use crate::settings::{GlobalArgs, Settings};

/// The MQTT flags shared by `publish mqtt` and `sync --daemon --mqtt`.
#[derive(Args, Debug, Clone)]
pub struct MqttArgs {
    /// A user name for the broker.
    #[arg(long, value_name = "USER")]
    pub username: Option<String>,
    /// A file holding the broker password (or set DATACONNECT_MQTT_PASSWORD).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Home Assistant's discovery prefix.
    #[arg(long, value_name = "PREFIX", default_value = "homeassistant")]
    pub discovery_prefix: String,
    /// The root of the state topics: PREFIX/<prm>/<sensor>.
    #[arg(long, value_name = "PREFIX", default_value = "dataconnect")]
    pub topic_prefix: String,
}

impl MqttArgs {
    /// The broker at `url` with these credentials, and the topics.
    pub fn resolve(&self, url: &str) -> Result<(Broker, Topics), CliError> {
        let password =
            crate::publish::secret_from(self.password_file.as_deref(), "--password-file", "DATACONNECT_MQTT_PASSWORD")?;
        let broker = Broker::parse(url, self.username.clone(), password)?;
        let topics = Topics::new(&self.discovery_prefix, &self.topic_prefix)?;
        Ok((broker, topics))
    }
}

#[derive(Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    global: GlobalArgs,
    /// The broker: mqtt://HOST[:PORT] (1883), or mqtts://HOST[:PORT] (8883, TLS with the system's roots).
    #[arg(long, value_name = "URL")]
    broker: String,
    #[command(flatten)]
    mqtt: MqttArgs,
    /// Only these meters (repeat or separate with commas).
    #[arg(long, value_name = "PRM")]
    prm: Vec<String>,
}

impl Cmd {
    pub async fn run(self) -> Result<(), CliError> {
        let settings = Settings::resolve(&self.global)?;
        let (broker, topics) = self.mqtt.resolve(&self.broker)?;
        let named = crate::store::prms(&self.prm)?;
        if !crate::store::exists(&settings.db) {
            return Err(CliError::config(format!(
                "no store at {}: run `dataconnect sync` first, or pass --db",
                crate::store::shown(&settings.db)
            )));
        }
        let store = crate::store::open_ro(&settings.db)?;
        let prms = crate::publish::meters(&store, &named)?;
        if prms.is_empty() {
            return Err(CliError::config("no consented meter in the store: record a consent first, or pass --prm"));
        }
        let (messages, sensors, empty) =
            tokio::task::block_in_place(|| crate::publish::mqtt_messages(&store, &prms, &topics))?;
        for prm in &empty {
            eprintln!(
                "warning: meter {prm} has no reading stored: no sensor published for it (run `dataconnect sync` first)"
            );
        }
        let sent = mqtt::send(&broker, messages, mqtt::SendConfig::RETAINED).await?;
        println!(
            "published {sensors} sensor(s) of {} meter(s) to {} ({sent} retained message(s): discovery under {}/sensor/, states under {}/)",
            prms.len(),
            broker.shown(),
            topics.discovery_prefix,
            topics.topic_prefix
        );
        Ok(())
    }
}
