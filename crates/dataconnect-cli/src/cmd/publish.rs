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
    /// Publish Home Assistant sensors to this MQTT broker after each round
    /// (sync --daemon) or every minute (serve), reconnecting with back-off
    /// (mqtt://HOST:PORT or mqtts://; the MQTT flags of `publish mqtt` apply).
    #[arg(long, value_name = "URL")]
    pub mqtt: Option<String>,
    #[command(flatten)]
    pub mqtt_args: mqtt::MqttArgs,
    /// Write what each round stored (sync --daemon), or each minute (serve),
    /// to InfluxDB or VictoriaMetrics at this URL (as `publish influx --url`).
    #[arg(long, value_name = "URL")]
    pub influx: Option<String>,
    /// The token file of --influx (as `publish influx --token-file`; or set DATACONNECT_INFLUX_TOKEN).
    #[arg(long, value_name = "FILE")]
    pub influx_token_file: Option<PathBuf>,
    /// The InfluxDB 1.x database of --influx.
    #[arg(long, value_name = "NAME")]
    pub influx_database: Option<String>,
    /// The InfluxDB 2 organisation of --influx.
    #[arg(long, value_name = "ORG")]
    pub influx_org: Option<String>,
    /// The InfluxDB 2 bucket of --influx.
    #[arg(long, value_name = "BUCKET")]
    pub influx_bucket: Option<String>,
}

impl FollowArgs {
    /// The flags that only make sense together: clap's own `requires`
    /// would print its report's first line only, without the flag's name.
    fn check(&self, daemon: bool) -> Result<(), CliError> {
        for (flag, given) in [("--mqtt", self.mqtt.is_some()), ("--influx", self.influx.is_some())] {
            if given && !daemon {
                return Err(CliError::usage(format!(
                    "{flag} publishes after each round of the daemon: add --daemon, or run `dataconnect publish` after the sync"
                )));
            }
        }
        let influx_flags = [
            ("--influx-token-file", self.influx_token_file.is_some()),
            ("--influx-database", self.influx_database.is_some()),
            ("--influx-org", self.influx_org.is_some()),
            ("--influx-bucket", self.influx_bucket.is_some()),
        ];
        if let Some((flag, _)) = influx_flags.iter().find(|(_, given)| *given).filter(|_| self.influx.is_none()) {
            return Err(CliError::usage(format!("{flag} goes with --influx URL: add it, or drop {flag}")));
        }
        Ok(())
    }

    /// The MQTT and InfluxDB publications these flags ask for (checked now,
    /// so that a typo fails at start, not after the first round).
    pub fn resolve(
        &self,
        daemon: bool,
        db: &std::path::Path,
        revision_days: i32,
    ) -> Result<(Option<MqttFollow>, Option<InfluxFollow>), CliError> {
        self.check(daemon)?;
        let mqtt = match &self.mqtt {
            Some(url) => {
                let (broker, topics) = self.mqtt_args.resolve(url)?;
                Some(MqttFollow { broker, topics })
            }
            None => None,
        };
        let influx = match &self.influx {
            Some(url) => {
                let token = crate::publish::secret_from(
                    self.influx_token_file.as_deref(),
                    "--influx-token-file",
                    "DATACONNECT_INFLUX_TOKEN",
                )?;
                let target = crate::publish::influx::InfluxTarget::new(crate::publish::influx::TargetArgs {
                    url,
                    database: self.influx_database.as_deref(),
                    org: self.influx_org.as_deref(),
                    bucket: self.influx_bucket.as_deref(),
                    token,
                })?;
                let writer = crate::publish::influx::Writer::new(target)?;
                Some(InfluxFollow { writer, db: db.to_path_buf(), revision_days })
            }
            None => None,
        };
        Ok((mqtt, influx))
    }
}
