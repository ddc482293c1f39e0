//! `dataconnect publish`: sends what the store holds to InfluxDB or
//! VictoriaMetrics (`influx`), to Home Assistant through an MQTT broker
//! (`mqtt`), or into Home Assistant's long-term statistics
//! (`home-assistant`), then exits. The publishers themselves live in
//! `crate::publish`; the files under `cmd/publish/` only read the flags.

mod home_assistant;
mod influx;
pub mod mqtt;

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::error::CliError;
use crate::publish::follow::{InfluxFollow, MqttFollow};

#[derive(Args, Debug)]
pub struct Cmd {
    #[command(subcommand)]
    target: Target,
}

#[derive(Subcommand, Debug)]
enum Target {
    /// Write every stored reading in line protocol to InfluxDB 1.x/2 or VictoriaMetrics, in batches (a re-run overwrites).
    Influx(influx::Cmd),
    /// Announce each meter to Home Assistant through MQTT discovery and publish its sensors' states (retained, QoS 1).
    Mqtt(mqtt::Cmd),
    /// Import hourly energy statistics (from the load curve, else daily) into Home Assistant's recorder, for its Energy dashboard.
    HomeAssistant(home_assistant::Cmd),
}

impl Cmd {
    pub async fn run(self) -> Result<(), CliError> {
        match self.target {
            Target::Influx(c) => c.run().await,
            Target::Mqtt(c) => c.run().await,
            Target::HomeAssistant(c) => c.run().await,
        }
    }
}

/// The flags of `sync --daemon` that publish after each round.
#[derive(Args, Debug, Clone)]
pub struct FollowArgs {
    /// With --daemon: publish Home Assistant sensors to this MQTT broker
    /// after each round, reconnecting with back-off (mqtt://HOST:PORT or
    /// mqtts://; the MQTT flags of `publish mqtt` apply).
    #[arg(long, value_name = "URL", requires = "daemon")]
    pub mqtt: Option<String>,
    #[command(flatten)]
    pub mqtt_args: mqtt::MqttArgs,
    /// With --daemon: write what each round stored to InfluxDB or
    /// VictoriaMetrics at this URL (as `publish influx --url`).
    #[arg(long, value_name = "URL", requires = "daemon")]
    pub influx: Option<String>,
    /// The token file of --influx (as `publish influx --token-file`).
    #[arg(long, value_name = "FILE", requires = "influx")]
    pub influx_token_file: Option<PathBuf>,
    /// The InfluxDB 1.x database of --influx.
    #[arg(long, value_name = "NAME", requires = "influx")]
    pub influx_database: Option<String>,
    /// The InfluxDB 2 organisation of --influx.
    #[arg(long, value_name = "ORG", requires = "influx")]
    pub influx_org: Option<String>,
    /// The InfluxDB 2 bucket of --influx.
    #[arg(long, value_name = "BUCKET", requires = "influx")]
    pub influx_bucket: Option<String>,
}

impl FollowArgs {
    /// The MQTT and InfluxDB publications these flags ask for (checked now,
    /// so that a typo fails at start, not after the first round).
    pub fn resolve(
        &self,
        db: &std::path::Path,
        revision_days: i32,
    ) -> Result<(Option<MqttFollow>, Option<InfluxFollow>), CliError> {
        let mqtt = match &self.mqtt {
            Some(url) => {
                let (broker, topics) = self.mqtt_args.resolve(url)?;
                Some(MqttFollow { broker, topics })
            }
            None => None,
        };
        let influx = match &self.influx {
            Some(url) => {
                let token = self
                    .influx_token_file
                    .as_deref()
                    .map(|p| crate::publish::read_secret_file(p, "--influx-token-file"))
                    .transpose()?;
                let target = crate::publish::influx::InfluxTarget::new(
                    crate::publish::influx::TargetArgs {
                        url,
                        database: self.influx_database.as_deref(),
                        org: self.influx_org.as_deref(),
                        bucket: self.influx_bucket.as_deref(),
                        token,
                    },
                )?;
                let writer = crate::publish::influx::Writer::new(target)?;
                Some(InfluxFollow {
                    writer,
                    db: db.to_path_buf(),
                    revision_days,
                })
            }
            None => None,
        };
        Ok((mqtt, influx))
    }
}
