//! `sync --daemon --mqtt URL --influx URL` on SQLite: after its first round
//! the daemon's sensors reach an MQTT broker and its readings reach
//! VictoriaMetrics; the broker (a Mosquitto of the test's own, on a free
//! port) is then stopped and started again, empty, and the daemon
//! reconnects and publishes the sensors again without being restarted.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::publish_mqtt::{receive, unique_prefix};
use super::servers::{self, Mosquitto, encode, http};
use super::{CONSUMER, consent, dataconnect, run_ok, sandbox};

fn wait(what: &str, done: &mut dyn FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !done() {
        assert!(Instant::now() < deadline, "after 90 s, still waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_daemon_publishes_after_its_rounds_and_survives_a_broker_restart() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path(), |_| {});
    let db = dir.path().join("d.db");
    consent(dir.path(), &sandbox, &db);
    let port = super::free_port();
    let broker = Mosquitto::start(dir.path(), port, "");
    let vm = servers::victoria_metrics();
    let prefix = unique_prefix("daemon");
    let mut daemon = dataconnect(dir.path(), &sandbox, &db)
        .args(["sync", "--daemon", "--series", "consumption-daily", "--replan-seconds", "1"])
        .args(["--mqtt", &format!("mqtt://127.0.0.1:{port}")])
        .args(["--topic-prefix", &format!("{prefix}/state"), "--discovery-prefix", &format!("{prefix}/ha")])
        .args(["--influx", &vm.url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Daily energy only: three sensors (total, yesterday, last 7 days), a config and a state each.
    // The first subscription may see them live; a second one, once they
    // are there, gets them as the broker retained them.
    receive(port, &prefix, 6);
    let first = receive(port, &prefix, 6);
    let total = &first[&format!("{prefix}/state/{CONSUMER}/consumption_total")];
    assert!(first.values().all(|m| m.retain));

    // VictoriaMetrics gets every stored daily value.
    let stored = run_ok(dataconnect(dir.path(), &sandbox, &db).args(["export", "--format", "influx"])).lines().count();
    assert!(stored > 1000, "{stored}");
    wait("the daily points in VictoriaMetrics", &mut || {
        http("GET", &format!("{}/internal/force_flush", vm.url), b"");
        let q = format!("{}/api/v1/export?match[]={}", vm.url, encode("dataconnect_value"));
        let export = http("GET", &q, b"");
        let samples: usize = export
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|v| v["values"].as_array().map_or(0, Vec::len))
            .sum();
        samples == stored
    });

    // The broker goes away and comes back empty: the daemon publishes again.
    drop(broker);
    std::thread::sleep(Duration::from_millis(500));
    let broker = Mosquitto::start(dir.path(), port, "");
    let again = receive(port, &prefix, 6);
    assert_eq!(again[&format!("{prefix}/state/{CONSUMER}/consumption_total")].payload, total.payload);

    assert!(daemon.try_wait().unwrap().is_none(), "the daemon keeps running");
    assert!(Command::new("kill").args(["-TERM", &daemon.id().to_string()]).status().unwrap().success());
    let status = daemon.wait().unwrap();
    let mut out = String::new();
    daemon.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    daemon.stderr.take().unwrap().read_to_string(&mut out).unwrap();
    assert_eq!(status.code(), Some(0), "{out}");
    assert!(out.contains(&format!("MQTT broker mqtt://127.0.0.1:{port} unreachable")), "{out}");
    assert!(out.contains("is back; publishing the sensors again"), "{out}");
    assert!(out.contains(&format!("published {stored} point(s) to {}/write", vm.url)), "{out}");
    drop(broker);
}

/// The PostgreSQL daemon publishes beside its workers, at its replanning
/// pace: every stored daily value reaches VictoriaMetrics.
#[cfg(feature = "postgres")]
#[test]
fn the_postgresql_daemon_publishes_to_victoria_metrics() {
    use dataconnect_store::{PgConfig, PgStore};
    // Fails without a server unless DATACONNECT_SKIP_PG=1, as every
    // PostgreSQL test does.
    let Some(base) = dataconnect_testkit::pg::url("the_postgresql_daemon_publishes_to_victoria_metrics") else {
        return;
    };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let schema = format!("dct_publish_{}_{nanos}", std::process::id());
    // Dropped at the end, also when the test fails.
    struct Schema(Option<PgStore>);
    impl Drop for Schema {
        fn drop(&mut self) {
            if let Some(store) = self.0.take() {
                let _ = store.drop_schema();
            }
        }
    }
    let _schema = Schema(Some(
        PgStore::open(&PgConfig { schema: Some(schema.clone()), ..PgConfig::new(&base) }).expect("schema created"),
    ));
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
    let db = std::path::Path::new(&url);
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path(), |_| {});
    consent(dir.path(), &sandbox, db);
    let vm = servers::victoria_metrics();
    let mut daemon = dataconnect(dir.path(), &sandbox, db)
        .args(["sync", "--daemon", "--series", "consumption-daily", "--replan-seconds", "1", "--influx", &vm.url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let samples = || {
        http("GET", &format!("{}/internal/force_flush", vm.url), b"");
        let q = format!("{}/api/v1/export?match[]={}", vm.url, encode("dataconnect_value"));
        http("GET", &q, b"")
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|v| v["values"].as_array().map_or(0, Vec::len))
            .sum::<usize>()
    };
    // 36 months + 15 days of daily energy, once the back-fill is stored.
    wait("the daily points in VictoriaMetrics", &mut || samples() > 1000);
    let stored =
        || run_ok(dataconnect(dir.path(), &sandbox, db).args(["export", "--format", "influx"])).lines().count();
    wait("every stored point in VictoriaMetrics", &mut || samples() == stored());
    assert!(Command::new("kill").args(["-TERM", &daemon.id().to_string()]).status().unwrap().success());
    let status = daemon.wait().unwrap();
    let mut out = String::new();
    daemon.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    daemon.stderr.take().unwrap().read_to_string(&mut out).unwrap();
    assert_eq!(status.code(), Some(0), "{out}");
    assert!(out.contains(&format!("point(s) to {}/write", vm.url)), "{out}");
}

/// `serve --mqtt URL --influx URL` publishes what its store holds beside
/// the server (here every second): the demo's two meters reach the broker
/// and every valued reading reaches VictoriaMetrics.
#[test]
fn serve_publishes_beside_the_server() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("demo-copy.db");
    super::publish_mqtt::copy_store(&super::spawned::demo().db, &db);
    let vm = servers::victoria_metrics();
    let prefix = unique_prefix("serve");
    let state = format!("{prefix}/state");
    let ha = format!("{prefix}/ha");
    let serve = super::serve::Serve::start(
        home.path(),
        "http://127.0.0.1:9",
        &db,
        "127.0.0.1:0",
        &[
            "--workers",
            "0",
            "--publish-seconds",
            "1",
            "--mqtt",
            "mqtt://127.0.0.1:1883",
            "--topic-prefix",
            &state,
            "--discovery-prefix",
            &ha,
            "--influx",
            &vm.url,
        ],
    );
    // Eight sensors of two meters, a config and a state each.
    let got = receive(1883, &prefix, 16);
    assert!(got.contains_key(&format!("{state}/{}/consumption_total", super::spawned::DEMO_CONSUMPTION)));
    let stored =
        run_ok(super::spawned::dataconnect(home.path()).args(["export", "--format", "influx", "--db"]).arg(&db))
            .lines()
            .count();
    wait("every valued reading in VictoriaMetrics", &mut || {
        http("GET", &format!("{}/internal/force_flush", vm.url), b"");
        let q = format!("{}/api/v1/export?match[]={}", vm.url, encode("dataconnect_value"));
        let samples: usize = http("GET", &q, b"")
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|v| v["values"].as_array().map_or(0, Vec::len))
            .sum();
        samples == stored
    });
    drop(serve);
    super::publish_mqtt::clear(1883, got.into_keys());
}
