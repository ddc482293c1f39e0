//! `publish mqtt`: one Home Assistant device per meter, announced through
//! MQTT discovery, and the states of its sensors, all retained, at QoS 1.
//!
//! Discovery follows Home Assistant's MQTT documentation
//! (<https://www.home-assistant.io/integrations/sensor.mqtt/> and
//! <https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery>): a
//! retained config on `<discovery prefix>/sensor/dataconnect_<prm>/<key>/config`
//! and a retained JSON state `{"value": …, "last_day": "YYYY-MM-DD"}` on
//! `<topic prefix>/<prm>/<key>`. Configs hold nothing that changes from one
//! run to the next, so re-publishing changes only the states. Retained
//! messages mean that Home Assistant, restarted later, still finds both.
//!
//! A run connects, sends every message, waits until the broker has
//! acknowledged each one (QoS 1), and disconnects; a broker that goes away
//! meanwhile is an error that says how far the run got.

use std::sync::Arc;
use std::time::Duration;

use dataconnect::UsagePointId;
use rumqttc::{AsyncClient, ConnectionError, Event, MqttOptions, Outgoing, Packet, QoS, TlsConfiguration, Transport};
use serde_json::json;

use super::sensors::{Sensor, State};
use crate::error::{Class, CliError};
use crate::settings::Secret;

/// A broker, from `--broker`, `--username` and the password file; its
/// `Debug` hides the password.
#[derive(Clone)]
pub struct Broker {
    host: String,
    port: u16,
    tls: bool,
    username: Option<String>,
    password: Option<Secret>,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker").field("url", &self.shown()).field("username", &self.username).finish_non_exhaustive()
    }
}

impl Broker {
    /// Parses `mqtt://HOST[:PORT]` (1883 by default) or `mqtts://HOST[:PORT]`
    /// (TLS with the system's roots, 8883 by default).
    pub fn parse(url: &str, username: Option<String>, password: Option<Secret>) -> Result<Broker, CliError> {
        let parsed = url::Url::parse(url).ok();
        let Some(u) =
            parsed.filter(|u| matches!(u.scheme(), "mqtt" | "mqtts") && u.host_str().is_some_and(|h| !h.is_empty()))
        else {
            return Err(CliError::usage(
                "the MQTT broker URL must be mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (TLS), e.g. mqtt://127.0.0.1:1883",
            ));
        };
        if u.password().is_some() {
            return Err(CliError::usage(
                "the MQTT broker URL holds a password: put it in a file named by --password-file (or DATACONNECT_MQTT_PASSWORD), never on the command line",
            ));
        }
        if password.is_some() && username.is_none() && u.username().is_empty() {
            return Err(CliError::usage("a password was given without --username: pass --username USER"));
        }
        let tls = u.scheme() == "mqtts";
        let username = username.or_else(|| Some(u.username().to_owned()).filter(|s| !s.is_empty()));
        let host = u.host_str().unwrap_or_default().trim_matches(['[', ']']).to_owned();
        Ok(Broker { host, port: u.port().unwrap_or(if tls { 8883 } else { 1883 }), tls, username, password })
    }

    /// The broker's URL as shown in messages (no credentials).
    pub fn shown(&self) -> String {
        format!("{}://{}:{}", if self.tls { "mqtts" } else { "mqtt" }, self.host, self.port)
    }

    pub(super) fn options(&self) -> Result<MqttOptions, CliError> {
        let mut options = MqttOptions::new(client_id(), self.host.clone(), self.port);
        options.set_keep_alive(Duration::from_secs(30));
        options.set_clean_session(true);
        options.set_max_packet_size(1 << 20, 1 << 20);
        options.set_inflight(100);
        if let Some(user) = &self.username {
            options.set_credentials(
                user.clone(),
                self.password.as_ref().map(|p| p.expose().to_owned()).unwrap_or_default(),
            );
        }
        if self.tls {
            options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(tls_config()?)));
        }
        Ok(options)
    }
}

/// A client id of its own for each connection: a broker disconnects the
/// older of two clients with the same id, so two runs at once (a daemon and
/// a manual `publish`) must not share one.
fn client_id() -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("dataconnect-{}-{nanos:08x}", std::process::id())
}

/// TLS with the system's trust store (`SSL_CERT_FILE` overrides it, as for
/// OpenSSL), on rustls' ring provider.
pub(super) fn tls_config() -> Result<Arc<rustls::ClientConfig>, CliError> {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        return Err(CliError::config(
            "no trusted root certificate found on this system for mqtts://: install ca-certificates, or name a PEM file in SSL_CERT_FILE",
        ));
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| CliError::internal(format!("cannot set up TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Where configs and states go.
#[derive(Clone, Debug)]
pub struct Topics {
    /// Home Assistant's discovery prefix (`homeassistant` unless changed there).
    pub discovery_prefix: String,
    /// The root of the state topics.
    pub topic_prefix: String,
}

impl Topics {
    /// Checks both prefixes: not empty, no wildcard, no leading or trailing `/`.
    pub fn new(discovery_prefix: &str, topic_prefix: &str) -> Result<Topics, CliError> {
        for (flag, p) in [("--discovery-prefix", discovery_prefix), ("--topic-prefix", topic_prefix)] {
            if p.is_empty() || p.contains(['+', '#', '\0']) || p.starts_with('/') || p.ends_with('/') {
                return Err(CliError::usage(format!(
                    "{flag} {p:?} is not a usable topic prefix: no wildcards (+ #), no leading or trailing /, e.g. dataconnect"
                )));
            }
        }
        Ok(Topics { discovery_prefix: discovery_prefix.to_owned(), topic_prefix: topic_prefix.to_owned() })
    }

    /// The state topic of one sensor of one meter.
    pub fn state(&self, prm: &UsagePointId, sensor: Sensor) -> String {
        format!("{}/{}/{}", self.topic_prefix, prm.as_str(), sensor.spec().key)
    }

    /// The discovery config topic of one sensor of one meter.
    pub fn config(&self, prm: &UsagePointId, sensor: Sensor) -> String {
        format!("{}/sensor/dataconnect_{}/{}/config", self.discovery_prefix, prm.as_str(), sensor.spec().key)
    }
}

/// One message to publish (always retained, at QoS 1).
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub topic: String,
    pub payload: Vec<u8>,
}

/// The discovery config of one sensor: the same bytes on every run.
pub fn config(prm: &UsagePointId, sensor: Sensor, topics: &Topics) -> serde_json::Value {
    let spec = sensor.spec();
    let id = format!("dataconnect_{}_{}", prm.as_str(), spec.key);
    let state_topic = topics.state(prm, sensor);
    json!({
        "name": spec.name,
        "unique_id": id,
        "object_id": id,
        "state_topic": state_topic,
        "value_template": "{{ value_json.value }}",
        "json_attributes_topic": state_topic,
        "unit_of_measurement": spec.unit,
        "device_class": spec.device_class,
        "state_class": spec.state_class,
        "suggested_display_precision": spec.decimals,
        "device": {
            "identifiers": [format!("dataconnect_{}", prm.as_str())],
            "name": format!("Linky {}", prm.as_str()),
            "manufacturer": "Enedis",
            "model": "Linky",
            "serial_number": prm.as_str(),
        },
        "origin": { "name": "dataconnect", "sw_version": env!("CARGO_PKG_VERSION") },
    })
}

/// The JSON state of one sensor.
pub fn state_payload(state: &State) -> String {
    json!({ "value": state.value, "last_day": state.last_day.to_string() }).to_string()
}

/// Every message of one meter: each sensor's config, then its state.
pub fn messages(prm: &UsagePointId, states: &[State], topics: &Topics) -> Vec<Message> {
    let mut out = Vec::with_capacity(states.len() * 2);
    for s in states {
        out.push(Message {
            topic: topics.config(prm, s.sensor),
            payload: config(prm, s.sensor, topics).to_string().into_bytes(),
        });
        out.push(Message { topic: topics.state(prm, s.sensor), payload: state_payload(s).into_bytes() });
    }
    out
}

/// How long a broker may stay silent (no acknowledgement, no answer to a
/// connect) before the run gives up.
const SILENCE: Duration = Duration::from_secs(30);

/// How [`send`] publishes.
#[derive(Clone, Copy, Debug)]
pub struct SendConfig {
    /// Retained messages (always, but for the bench's points).
    pub retain: bool,
    /// Messages sent before their acknowledgements come back.
    pub inflight: u16,
}

impl SendConfig {
    /// Retained, up to 100 messages in flight.
    pub const RETAINED: SendConfig = SendConfig { retain: true, inflight: 100 };
}

/// Connects, publishes every message at QoS 1, waits for each
/// acknowledgement, and disconnects.
pub async fn send(broker: &Broker, messages: Vec<Message>, config: SendConfig) -> Result<usize, CliError> {
    let total = messages.len();
    if total == 0 {
        return Ok(0);
    }
    let mut options = broker.options()?;
    options.set_inflight(config.inflight.max(1));
    let retain = config.retain;
    let (client, mut events) = AsyncClient::new(options, 128);
    let producer = {
        let client = client.clone();
        tokio::spawn(async move {
            for m in messages {
                if client.publish(m.topic, QoS::AtLeastOnce, retain, m.payload).await.is_err() {
                    break;
                }
            }
        })
    };
    let mut acked = 0usize;
    let result = loop {
        let event = match tokio::time::timeout(SILENCE, events.poll()).await {
            Ok(Ok(event)) => event,
            Ok(Err(e)) => break Err(connection_error(broker, &e, acked, total)),
            Err(_) => break Err(silent(broker, acked, total)),
        };
        if let Event::Incoming(Packet::PubAck(_)) = event {
            acked += 1;
            if acked == total {
                break Ok(total);
            }
        }
    };
    producer.abort();
    if result.is_ok() {
        // A clean goodbye, so the broker does not log a dropped client.
        let _ = client.disconnect().await;
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while let Ok(event) = events.poll().await {
                if let Event::Outgoing(Outgoing::Disconnect) = event {
                    break;
                }
            }
        })
        .await;
    }
    result
}

fn connection_error(broker: &Broker, e: &ConnectionError, acked: usize, total: usize) -> CliError {
    let shown = broker.shown();
    match e {
        ConnectionError::ConnectionRefused(code) => CliError::new(
            Class::Auth,
            format!(
                "the MQTT broker at {shown} refused the connection ({code:?}): check --username and --password-file"
            ),
        ),
        ConnectionError::Tls(_) => CliError::new(
            Class::Network,
            format!(
                "cannot publish to the MQTT broker at {shown}: {e}: the broker's certificate must chain to this system's trust store and name the host of the broker URL (a private CA: add it to the system's store, or name its PEM file in SSL_CERT_FILE)"
            ),
        ),
        _ if acked == 0 => CliError::new(
            Class::Network,
            format!("cannot publish to the MQTT broker at {shown}: {e}: check the broker URL and that the broker runs"),
        ),
        _ => CliError::new(
            Class::Network,
            format!(
                "the MQTT broker at {shown} went away after acknowledging {acked} of {total} message(s): {e}: run again when it is back (what it acknowledged is retained)"
            ),
        ),
    }
}

fn silent(broker: &Broker, acked: usize, total: usize) -> CliError {
    CliError::new(
        Class::Network,
        format!(
            "the MQTT broker at {} stopped answering ({acked} of {total} message(s) acknowledged, nothing for {} s): check the broker",
            broker.shown(),
            SILENCE.as_secs()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls_and_their_mistakes() {
        let b = Broker::parse("mqtt://127.0.0.1", None, None).unwrap();
        assert_eq!(b.shown(), "mqtt://127.0.0.1:1883");
        let b = Broker::parse("mqtts://broker.example:8884", Some("ha".into()), Some(Secret::new("pw"))).unwrap();
        assert_eq!(b.shown(), "mqtts://broker.example:8884");
        assert!(!format!("{b:?}").contains("pw"));
        let e = Broker::parse("mqtt://u:hunter2@h", None, None).unwrap_err();
        assert!(e.line().contains("--password-file") && !e.line().contains("hunter2"));
        assert!(Broker::parse("http://h:1883", None, None).is_err());
        assert!(Broker::parse("mqtt://h", None, Some(Secret::new("pw"))).is_err());
    }

    #[test]
    fn topics_refuse_wildcards() {
        assert!(Topics::new("homeassistant", "dataconnect/+").is_err());
        assert!(Topics::new("homeassistant/", "dataconnect").is_err());
        let t = Topics::new("homeassistant", "home/linky").unwrap();
        let prm = UsagePointId::new("12345678901234").unwrap();
        assert_eq!(t.state(&prm, Sensor::ConsumptionTotal), "home/linky/12345678901234/consumption_total");
        assert_eq!(
            t.config(&prm, Sensor::MaxPower),
            "homeassistant/sensor/dataconnect_12345678901234/max_power/config"
        );
    }

    #[test]
    fn a_config_has_every_field_home_assistant_needs() {
        let t = Topics::new("homeassistant", "dataconnect").unwrap();
        let prm = UsagePointId::new("12345678901234").unwrap();
        let c = config(&prm, Sensor::ConsumptionTotal, &t);
        assert_eq!(c["unique_id"], "dataconnect_12345678901234_consumption_total");
        assert_eq!(c["object_id"], "dataconnect_12345678901234_consumption_total");
        assert_eq!(c["state_topic"], "dataconnect/12345678901234/consumption_total");
        assert_eq!(c["value_template"], "{{ value_json.value }}");
        assert_eq!(
            (&c["unit_of_measurement"], &c["device_class"], &c["state_class"]),
            (&json!("kWh"), &json!("energy"), &json!("total_increasing"))
        );
        assert_eq!(c["device"]["manufacturer"], "Enedis");
        assert_eq!(c["device"]["model"], "Linky");
        assert!(c["device"]["identifiers"][0].as_str().unwrap().contains("12345678901234"));
        let p = config(&prm, Sensor::ConsumptionPower, &t);
        assert_eq!(
            (&p["unit_of_measurement"], &p["device_class"], &p["state_class"]),
            (&json!("W"), &json!("power"), &json!("measurement"))
        );
        let s = State { sensor: Sensor::MaxPower, value: 6120.0, last_day: jiff::civil::date(2021, 1, 14) };
        let v: serde_json::Value = serde_json::from_str(&state_payload(&s)).unwrap();
        assert_eq!(v, json!({"value": 6120.0, "last_day": "2021-01-14"}));
    }
}
