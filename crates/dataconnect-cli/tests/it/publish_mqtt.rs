//! `publish mqtt` against the Mosquitto broker of this machine
//! (127.0.0.1:1883), each test under a topic prefix of its own, which it
//! clears (empty retained messages) when done: the discovery configs and
//! states a subscriber receives, their retained flags, and a re-publication
//! that changes only the states.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
use serde_json::Value;

use super::spawned::{DEMO_CONSUMPTION, DEMO_PRODUCTION, Demo, dataconnect, demo, run, run_ok};

pub const BROKER: &str = "mqtt://127.0.0.1:1883";

/// A topic prefix no other test or run uses.
pub fn unique_prefix(name: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("dataconnect-test/{name}-{}-{nanos}", std::process::id())
}

/// Copies an SQLite store with its write-ahead log (the demo's store is
/// shared by other tests, so tests that change a store change a copy).
pub fn copy_store(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap();
    for suffix in ["-wal", "-shm"] {
        let (mut f, mut t) = (from.as_os_str().to_owned(), to.as_os_str().to_owned());
        f.push(suffix);
        t.push(suffix);
        if Path::new(&f).exists() {
            std::fs::copy(&f, &t).unwrap();
        }
    }
}

/// A message as a subscriber received it.
#[derive(Clone, Debug, PartialEq)]
pub struct Received {
    pub payload: Vec<u8>,
    pub retain: bool,
}

/// Subscribes to `prefix/#` on `port` and returns the messages received
/// (last one per topic) once `want` topics have a non-empty payload
/// (60 s at most, as a safety net).
pub fn receive(port: u16, prefix: &str, want: usize) -> BTreeMap<String, Received> {
    let mut options = MqttOptions::new(format!("test-sub-{}", unique_prefix("s").replace('/', "-")), "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(30));
    options.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut connection) = Client::new(options, 100);
    client.subscribe(format!("{prefix}/#"), QoS::AtLeastOnce).unwrap();
    let mut got = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while got.values().filter(|r: &&Received| !r.payload.is_empty()).count() < want {
        assert!(Instant::now() < deadline, "only {} of {want} messages under {prefix} within 60 s", got.len());
        match connection.recv_timeout(Duration::from_secs(1)) {
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) => {
                got.insert(p.topic.clone(), Received { payload: p.payload.to_vec(), retain: p.retain });
            }
            Ok(Ok(_)) | Err(_) => {}
            Ok(Err(e)) => panic!("the test's subscriber lost the broker: {e}"),
        }
    }
    let _ = client.disconnect();
    got
}

/// Removes the retained messages of `topics` (an empty retained payload).
pub fn clear(port: u16, topics: impl IntoIterator<Item = String>) {
    let (client, mut connection) =
        Client::new(MqttOptions::new(format!("test-clear-{}", std::process::id()), "127.0.0.1", port), 100);
    let mut n = 0;
    for t in topics {
        client.publish(t, QoS::AtLeastOnce, true, Vec::new()).unwrap();
        n += 1;
    }
    let mut acked = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked < n && Instant::now() < deadline {
        if let Ok(Ok(Event::Incoming(Packet::PubAck(_)))) = connection.recv_timeout(Duration::from_secs(1)) {
            acked += 1;
        }
    }
    let _ = client.disconnect();
}

fn publish(home: &Path, db: &Path, prefix: &str, extra: &[&str]) -> String {
    run_ok(
        dataconnect(home)
            .args(["publish", "mqtt", "--broker", BROKER])
            .args(["--discovery-prefix", &format!("{prefix}/ha"), "--topic-prefix", &format!("{prefix}/state")])
            .args(extra)
            .arg("--db")
            .arg(db),
    )
}

fn json(r: &Received) -> Value {
    serde_json::from_slice(&r.payload).unwrap()
}

/// A daily series of a meter: (sum in Wh, last day, last value, sum of the last 7 values).
fn daily(demo: &Demo, prm: &str, series: &str) -> (f64, String, f64, f64) {
    let out = run_ok(
        dataconnect(&demo.home)
            .args(["export", "--format", "jsonl", "--prm", prm, "--series", series, "--db"])
            .arg(&demo.db),
    );
    let mut sum = 0.0;
    let mut last = (String::new(), 0.0);
    let mut values = Vec::new();
    for line in out.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if let Some(x) = v["value"].as_f64() {
            sum += x;
            values.push(x);
            last = (v["start"].as_str().unwrap()[..10].to_owned(), x);
        }
    }
    // The demo's days are consecutive, so the last 7 values are the last 7 days.
    (sum, last.0, last.1, values.iter().rev().take(7).sum())
}

#[test]
fn configs_and_states_arrive_retained_and_only_states_change() {
    let demo = demo();
    let prefix = unique_prefix("mqtt");
    // A copy of the store without its last day of daily energy, so that
    // the second publication (from the full store) has other states.
    let dir = tempfile::tempdir().unwrap();
    let older = dir.path().join("older.db");
    copy_store(&demo.db, &older);
    let (sum, last_day, last_value, last_7) = daily(demo, DEMO_CONSUMPTION, "consumption-daily");
    {
        let db = rusqlite::Connection::open(&older).unwrap();
        let max: i64 = db
            .query_row(
                "SELECT MAX(start) FROM reading WHERE usage_point_id = ?1 AND series = 'consumption-daily'",
                [DEMO_CONSUMPTION],
                |r| r.get(0),
            )
            .unwrap();
        db.execute(
            "DELETE FROM reading WHERE usage_point_id = ?1 AND series = 'consumption-daily' AND start = ?2",
            rusqlite::params![DEMO_CONSUMPTION, max],
        )
        .unwrap();
    }

    let out = publish(&demo.home, &older, &prefix, &[]);
    let sent: usize = out.split(" retained message(s)").next().unwrap().rsplit('(').next().unwrap().parse().unwrap();
    assert!(out.contains("of 2 meter(s)"), "{out}");
    let first = receive(1883, &prefix, sent);
    assert_eq!(first.len(), sent);
    assert!(first.values().all(|r| r.retain), "every message is retained");

    let config = |got: &BTreeMap<String, Received>, prm: &str, key: &str| {
        got.get(&format!("{prefix}/ha/sensor/dataconnect_{prm}/{key}/config")).map(json)
    };
    let state = |got: &BTreeMap<String, Received>, prm: &str, key: &str| {
        got.get(&format!("{prefix}/state/{prm}/{key}")).map(json)
    };

    // The consumption meter: its sensors, and none of production.
    for key in
        ["consumption_total", "consumption_yesterday", "consumption_last_7_days", "max_power", "consumption_power"]
    {
        let c = config(&first, DEMO_CONSUMPTION, key).unwrap_or_else(|| panic!("no config for {key}"));
        assert_eq!(c["unique_id"], format!("dataconnect_{DEMO_CONSUMPTION}_{key}"));
        assert_eq!(c["object_id"], format!("dataconnect_{DEMO_CONSUMPTION}_{key}"));
        assert_eq!(c["state_topic"], format!("{prefix}/state/{DEMO_CONSUMPTION}/{key}"));
        assert_eq!(c["value_template"], "{{ value_json.value }}");
        assert_eq!(c["device"]["manufacturer"], "Enedis");
        assert_eq!(c["device"]["model"], "Linky");
        assert_eq!(c["device"]["identifiers"][0], format!("dataconnect_{DEMO_CONSUMPTION}"));
        for field in ["unit_of_measurement", "device_class", "state_class"] {
            assert!(c[field].is_string(), "{key}: {field}");
        }
        let s = state(&first, DEMO_CONSUMPTION, key).unwrap();
        assert!(s["value"].is_number() && s["last_day"].is_string(), "{key}: {s}");
    }
    assert!(config(&first, DEMO_CONSUMPTION, "production_total").is_none());
    let total = config(&first, DEMO_CONSUMPTION, "consumption_total").unwrap();
    assert_eq!(
        (&total["unit_of_measurement"], &total["device_class"], &total["state_class"]),
        (&"kWh".into(), &"energy".into(), &"total_increasing".into())
    );
    let power = config(&first, DEMO_CONSUMPTION, "max_power").unwrap();
    assert_eq!((&power["unit_of_measurement"], &power["device_class"]), (&"VA".into(), &"apparent_power".into()));
    // The production meter: production sensors only.
    assert!(config(&first, DEMO_PRODUCTION, "production_total").is_some());
    assert!(config(&first, DEMO_PRODUCTION, "consumption_total").is_none());

    // Republished from the full store: the same configs, byte for byte, and new states.
    publish(&demo.home, &demo.db, &prefix, &[]);
    let second = receive(1883, &prefix, sent);
    for (topic, r) in &first {
        if topic.ends_with("/config") {
            assert_eq!(&second[topic], r, "{topic} changed");
        }
    }
    let before = state(&first, DEMO_CONSUMPTION, "consumption_total").unwrap();
    let after = state(&second, DEMO_CONSUMPTION, "consumption_total").unwrap();
    assert_ne!(before, after);
    assert_eq!(after["value"].as_f64().unwrap(), (sum / 1000.0 * 1000.0).round() / 1000.0);
    assert_eq!(after["last_day"], last_day);
    let yesterday = state(&second, DEMO_CONSUMPTION, "consumption_yesterday").unwrap();
    assert_eq!(yesterday["value"].as_f64().unwrap(), (last_value).round() / 1000.0);
    assert_eq!(yesterday["last_day"], last_day);
    let week = state(&second, DEMO_CONSUMPTION, "consumption_last_7_days").unwrap();
    assert!((week["value"].as_f64().unwrap() - last_7 / 1000.0).abs() < 0.0015, "{week} vs {last_7}");

    // --prm limits the publication to one meter.
    let out = publish(&demo.home, &demo.db, &prefix, &["--prm", DEMO_PRODUCTION]);
    assert!(out.contains("of 1 meter(s)"), "{out}");
    // A meter with nothing stored gets no sensor, and a warning says why.
    let r = run(dataconnect(&demo.home)
        .args(["publish", "mqtt", "--broker", BROKER, "--prm", "99999999999999"])
        .args(["--discovery-prefix", &format!("{prefix}/ha"), "--topic-prefix", &format!("{prefix}/state")])
        .arg("--db")
        .arg(&demo.db));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("published 0 sensor(s) of 1 meter(s)"), "{}", r.stdout);
    assert!(r.stderr.contains("meter 99999999999999 has no reading stored"), "{}", r.stderr);

    clear(1883, second.into_keys());
}

#[test]
fn an_unreachable_broker_is_a_network_error_and_the_password_stays_secret() {
    let demo = demo();
    let port = super::free_port();
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("mqtt-password");
    std::fs::write(&password, "s3cret-mqtt\n").unwrap();
    let r = run(dataconnect(&demo.home)
        .args([
            "publish",
            "mqtt",
            "--broker",
            &format!("mqtt://127.0.0.1:{port}"),
            "--username",
            "ha",
            "--password-file",
        ])
        .arg(&password)
        .arg("--db")
        .arg(&demo.db)
        .env("RUST_LOG", "trace"));
    assert_eq!(r.code, 7, "{}", r.stderr);
    assert!(r.stderr.contains(&format!("mqtt://127.0.0.1:{port}")), "{}", r.stderr);
    assert!(!r.stderr.contains("s3cret-mqtt") && !r.stdout.contains("s3cret-mqtt"), "{}", r.stderr);

    let r = run(dataconnect(&demo.home)
        .args(["publish", "mqtt", "--broker", "mqtt://ha:s3cret@127.0.0.1", "--db"])
        .arg(&demo.db));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--password-file") && !r.stderr.contains("s3cret"), "{}", r.stderr);
}

/// A certificate authority and a certificate for `localhost` it signed
/// (openssl), readable by the broker, which drops root's privileges.
fn tls_files(dir: &Path) {
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=dataconnect test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=DNS:localhost\n").unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(dir.join("server.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
}

#[test]
fn mqtts_checks_the_broker_certificate_against_the_trust_store() {
    let demo = demo();
    let dir = tempfile::tempdir().unwrap();
    tls_files(dir.path());
    let d = dir.path().display();
    let port = super::free_port();
    let _broker = super::servers::Mosquitto::start(
        dir.path(),
        port,
        &format!("certfile {d}/server.crt\nkeyfile {d}/server.key\ncafile {d}/ca.crt\n"),
    );
    let prefix = unique_prefix("tls");
    let publish = |trust: Option<&Path>| {
        let mut cmd = dataconnect(&demo.home);
        cmd.args(["publish", "mqtt", "--broker", &format!("mqtts://localhost:{port}")])
            .args(["--discovery-prefix", &format!("{prefix}/ha"), "--topic-prefix", &format!("{prefix}/state"), "--db"])
            .arg(&demo.db);
        if let Some(ca) = trust {
            cmd.env("SSL_CERT_FILE", ca);
        }
        run(&mut cmd)
    };
    // The system's trust store does not know the test's CA: refused, and said why.
    let r = publish(None);
    assert_eq!(r.code, 7, "{}", r.stderr);
    assert!(r.stderr.contains("certificate") && r.stderr.contains("SSL_CERT_FILE"), "{}", r.stderr);
    // Trusted through SSL_CERT_FILE: published over TLS.
    let r = publish(Some(&dir.path().join("ca.crt")));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(&format!("to mqtts://localhost:{port}")), "{}", r.stdout);
}
