//! The Grafana dashboards of `contrib/grafana/`: every panel's SQL of the
//! PostgreSQL dashboard runs, with Grafana's macros and the dashboard's
//! variables substituted as Grafana does, against a PostgreSQL store that
//! holds the demo's data (copied there by `dataconnect migrate`, into a
//! schema of the test's own), and returns rows. The Prometheus dashboard
//! only names metrics that `serve`'s `/metrics` answers with.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::spawned::{DEMO_CONSUMPTION, dataconnect, demo, run_ok};

fn dashboard(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contrib/grafana").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Every panel's targets, with a check of what Grafana needs to place it.
fn targets(d: &Value) -> Vec<(String, Value)> {
    let mut ids = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for p in d["panels"].as_array().unwrap() {
        let title = p["title"].as_str().unwrap().to_owned();
        assert!(ids.insert(p["id"].as_i64().unwrap()), "{title}: duplicate panel id");
        assert!(p["gridPos"]["w"].as_i64().unwrap() > 0 && p["datasource"]["uid"].is_string(), "{title}");
        for t in p["targets"].as_array().unwrap() {
            out.push((title.clone(), t.clone()));
        }
    }
    assert!(!out.is_empty());
    out
}

/// Grafana's PostgreSQL macros and this dashboard's variables, as Grafana
/// expands them for a time range (`$__timeFilter(col)` is `col BETWEEN
/// '<from>' AND '<to>'`) and a selected meter (a quoted list).
fn expand(sql: &str, from: &str, to: &str, prm: &str) -> String {
    let mut s = sql.replace("$__timeFrom()", &format!("'{from}'")).replace("$__timeTo()", &format!("'{to}'"));
    while let Some(i) = s.find("$__timeFilter(") {
        let rest = &s[i + "$__timeFilter(".len()..];
        let end = rest.find(')').unwrap();
        let column = rest[..end].trim().to_owned();
        s = format!("{}{column} BETWEEN '{from}' AND '{to}'{}", &s[..i], &rest[end + 1..]);
    }
    let s = s.replace("$prm", &format!("'{prm}'")).replace("$price_kwh", "0.2516");
    assert!(!s.contains('$'), "an unexpanded macro or variable is left: {s}");
    s
}

#[cfg(feature = "postgres")]
#[test]
fn every_panel_of_the_postgresql_dashboard_returns_rows() {
    // Fails without a server unless DATACONNECT_SKIP_PG=1, as every
    // PostgreSQL test does.
    let Some(base) = dataconnect_testkit::pg::url("every_panel_of_the_postgresql_dashboard_returns_rows") else {
        return;
    };
    let demo = demo();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let schema = format!("dct_grafana_{}_{nanos}", std::process::id());
    run_ok(
        dataconnect(&demo.home).args(["migrate", "--from"]).arg(&demo.db).args(["--to", &base, "--schema", &schema]),
    );
    let psql = |sql: &str| {
        let out = Command::new("psql")
            .arg(&base)
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .env("PGOPTIONS", format!("-csearch_path={schema}"))
            .output()
            .expect("psql runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let d = dashboard("dataconnect-postgres.json");
    // The meter variable's own query lists the demo's meter.
    let variable = d["templating"]["list"].as_array().unwrap().iter().find(|v| v["name"] == "prm").unwrap();
    let (ok, meters, err) = psql(variable["query"].as_str().unwrap());
    assert!(ok && meters.lines().any(|l| l == DEMO_CONSUMPTION), "{err}{meters}");
    let mut failures = Vec::new();
    for (title, target) in targets(&d) {
        let sql = expand(
            target["rawSql"].as_str().unwrap(),
            "2019-01-01T00:00:00Z",
            "2100-01-01T00:00:00Z",
            DEMO_CONSUMPTION,
        );
        let (ok, rows, err) = psql(&sql);
        if !ok {
            failures.push(format!("{title}: {err}"));
        } else if rows.lines().filter(|l| !l.is_empty()).count() == 0 {
            failures.push(format!("{title}: no rows"));
        }
    }
    psql(&format!("DROP SCHEMA {schema} CASCADE"));
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn the_prometheus_dashboard_names_only_metrics_serve_exports() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("demo-copy.db");
    super::publish_mqtt::copy_store(&demo().db, &db);
    let serve = super::serve::Serve::start(home.path(), "http://127.0.0.1:9", &db, "127.0.0.1:0", &["--workers", "0"]);
    let metrics = super::serve::get_with_key(&serve.at("/metrics")).body;
    let d = dashboard("dataconnect-serve-metrics.json");
    for (title, target) in targets(&d) {
        let expr = target["expr"].as_str().unwrap();
        let mut names = expr
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("dataconnect_"))
            .peekable();
        assert!(names.peek().is_some(), "{title}: {expr}");
        for name in names {
            assert!(metrics.contains(&format!("# TYPE {name} ")), "{title}: serve's /metrics has no {name}");
        }
    }
}
