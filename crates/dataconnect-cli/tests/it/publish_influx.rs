//! `export --format influx` and `publish influx` against real servers:
//! VictoriaMetrics and InfluxDB 1.x (see `servers`), fed the store
//! `dataconnect demo` filled. What was written is read back through each
//! server's own query API and compared point by point with what `export`
//! prints; a second publication must leave exactly the same points.

use std::collections::BTreeMap;

use serde_json::Value;

use super::servers::{self, encode, http};
use super::spawned::{DEMO_CONSUMPTION, Demo, dataconnect, demo, run, run_ok};

/// (meter, series) → interval start (epoch seconds) → (value, energy_wh, peak_at).
type Points = BTreeMap<(String, String), BTreeMap<i64, (f64, Option<f64>, Option<i64>)>>;

fn epoch(rfc3339: &str) -> i64 {
    rfc3339.parse::<jiff::Timestamp>().unwrap().as_second()
}

/// What the store holds, as `export --format jsonl` prints it, nulls left out.
fn expected(demo: &Demo) -> Points {
    expected_in(demo, &demo.db)
}

/// [`expected`] of the store `db`.
fn expected_in(demo: &Demo, db: &std::path::Path) -> Points {
    let out = run_ok(dataconnect(&demo.home).args(["export", "--format", "jsonl", "--db"]).arg(db));
    let mut points = Points::new();
    for line in out.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let Some(value) = v["value"].as_f64() else {
            continue;
        };
        let key = (v["usage_point_id"].as_str().unwrap().to_owned(), v["series"].as_str().unwrap().to_owned());
        let point = (value, v["energy_wh"].as_f64(), v["peak_at"].as_str().map(epoch));
        points.entry(key).or_default().insert(epoch(v["start"].as_str().unwrap()), point);
    }
    points
}

fn assert_same(got: &Points, want: &Points, server: &str) {
    assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "{server}: series differ");
    for (key, want_points) in want {
        let got_points = &got[key];
        assert_eq!(
            got_points.len(),
            want_points.len(),
            "{server}: {key:?} has {} points, want {}",
            got_points.len(),
            want_points.len()
        );
        for (t, w) in want_points {
            let g = got_points.get(t).unwrap_or_else(|| panic!("{server}: {key:?} lacks the point at {t}"));
            assert_eq!(g, w, "{server}: {key:?} at {t}");
        }
    }
}

#[test]
fn export_influx_prints_one_line_per_valued_reading() {
    let demo = demo();
    let want = expected(demo);
    let out = run_ok(dataconnect(&demo.home).args(["export", "--format", "influx", "--db"]).arg(&demo.db));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), want.values().map(BTreeMap::len).sum::<usize>());
    let curve = lines.iter().find(|l| l.contains("series=consumption-curve")).unwrap();
    let (head, rest) = curve.split_once(' ').unwrap();
    assert_eq!(head, format!("dataconnect,prm={DEMO_CONSUMPTION},series=consumption-curve"));
    let (fields, ts) = rest.split_once(' ').unwrap();
    assert!(fields.starts_with("value=") && fields.contains(",energy_wh="), "{curve}");
    let t: i64 = ts.parse().unwrap();
    let key = (DEMO_CONSUMPTION.to_owned(), "consumption-curve".to_owned());
    let (value, energy, _) = want[&key][&t];
    assert_eq!(fields, format!("value={value},energy_wh={}", energy.unwrap()));
    let peak = lines.iter().find(|l| l.contains("series=consumption-max-power")).unwrap();
    assert!(peak.contains(",peak_at=") && peak.split(' ').nth(1).unwrap().ends_with('i'), "{peak}");
}

/// Every `dataconnect_*` sample VictoriaMetrics holds.
fn victoria_points(url: &str) -> Points {
    // Rows become searchable after a second or so; this makes them so now.
    http("GET", &format!("{url}/internal/force_flush"), b"");
    let export = http("GET", &format!("{url}/api/v1/export?match[]={}", encode("{__name__=~\"dataconnect_.*\"}")), b"");
    let mut fields: BTreeMap<(String, String, String), Vec<(i64, f64)>> = BTreeMap::new();
    for line in export.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap();
        let m = &v["metric"];
        let key = (
            m["prm"].as_str().unwrap().to_owned(),
            m["series"].as_str().unwrap().to_owned(),
            m["__name__"].as_str().unwrap().to_owned(),
        );
        let ts = v["timestamps"].as_array().unwrap().iter().map(|t| t.as_i64().unwrap() / 1000);
        let values = v["values"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap());
        fields.entry(key).or_default().extend(ts.zip(values));
    }
    let mut points = Points::new();
    for ((prm, series, name), samples) in &fields {
        let entry = points.entry((prm.clone(), series.clone())).or_default();
        for &(t, x) in samples {
            let p = entry.entry(t).or_insert((f64::NAN, None, None));
            match name.as_str() {
                "dataconnect_value" => {
                    assert!(p.0.is_nan(), "VictoriaMetrics holds two values for {prm} {series} at {t}");
                    p.0 = x;
                }
                "dataconnect_energy_wh" => assert!(p.1.replace(x).is_none(), "two energies at {t}"),
                "dataconnect_peak_at" => {
                    assert!(p.2.replace(x as i64).is_none(), "two peaks at {t}")
                }
                other => panic!("unexpected metric {other}"),
            }
        }
    }
    points
}

#[test]
fn publish_to_victoria_metrics_reads_back_exactly_twice() {
    let demo = demo();
    // A copy where some curve points have no value, as Enedis sends them:
    // they must be left out, never written as 0.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("with-nulls.db");
    super::publish_mqtt::copy_store(&demo.db, &db);
    let nulled = rusqlite::Connection::open(&db)
        .unwrap()
        .execute("UPDATE reading SET value = NULL WHERE series = 'consumption-curve' AND start % 86400 = 3600", [])
        .unwrap();
    assert!(nulled > 100, "{nulled}");
    let want = expected_in(demo, &db);
    let total: usize = want.values().map(BTreeMap::len).sum();
    let vm = servers::victoria_metrics();
    for round in 0..2 {
        let out = run_ok(dataconnect(&demo.home).args(["publish", "influx", "--url", &vm.url, "--db"]).arg(&db));
        assert!(out.starts_with(&format!("published {total} point(s) to {}/write", vm.url)), "round {round}: {out}");
        assert!(out.contains(&format!("{nulled} reading(s) without a value left out")), "{out}");
        assert_same(&victoria_points(&vm.url), &want, "VictoriaMetrics");
    }
}

#[test]
fn publish_to_influxdb_reads_back_exactly_twice_and_since_limits_it() {
    let demo = demo();
    let want = expected(demo);
    let influx = servers::influxdb();
    http("POST", &format!("{}/query", influx.url), b"q=CREATE%20DATABASE%20linky");
    let query = |q: &str| -> Points {
        let body = http("GET", &format!("{}/query?db=linky&epoch=s&q={}", influx.url, encode(q)), b"");
        let v: Value = serde_json::from_str(&body).unwrap();
        let mut points = Points::new();
        for s in v["results"][0]["series"].as_array().cloned().unwrap_or_default() {
            let key = (s["tags"]["prm"].as_str().unwrap().to_owned(), s["tags"]["series"].as_str().unwrap().to_owned());
            let entry = points.entry(key).or_default();
            for row in s["values"].as_array().unwrap() {
                let p = (row[1].as_f64().unwrap(), row[2].as_f64(), row[3].as_i64());
                assert!(entry.insert(row[0].as_i64().unwrap(), p).is_none());
            }
        }
        points
    };
    // `series` is a keyword of InfluxQL: the tag is quoted.
    let all = "SELECT value, energy_wh, peak_at FROM dataconnect GROUP BY \"prm\", \"series\"";

    // Without --database, InfluxDB 1.x refuses, and the message says what to pass.
    let r = run(dataconnect(&demo.home).args(["publish", "influx", "--url", &influx.url, "--db"]).arg(&demo.db));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("--database"), "{}", r.stderr);

    let since = "2020-12-01";
    let cut = epoch("2020-12-01T00:00:00+01:00");
    run_ok(
        dataconnect(&demo.home)
            .args(["publish", "influx", "--url", &influx.url, "--database", "linky", "--since", since, "--db"])
            .arg(&demo.db),
    );
    let mut recent = want.clone();
    for points in recent.values_mut() {
        points.retain(|t, _| *t >= cut);
    }
    recent.retain(|_, p| !p.is_empty());
    assert_same(&query(all), &recent, "InfluxDB after --since");

    for _ in 0..2 {
        run_ok(
            dataconnect(&demo.home)
                .args(["publish", "influx", "--url", &influx.url, "--database", "linky", "--db"])
                .arg(&demo.db),
        );
        assert_same(&query(all), &want, "InfluxDB");
    }
}

#[test]
fn an_unreachable_server_is_a_network_error_naming_the_url() {
    let demo = demo();
    let port = super::free_port();
    let url = format!("http://user:s3cret@127.0.0.1:{port}");
    let r = run(dataconnect(&demo.home).args(["publish", "influx", "--url", &url, "--db"]).arg(&demo.db));
    assert_eq!(r.code, 7, "{}", r.stderr);
    assert!(r.stderr.contains(&format!("http://127.0.0.1:{port}/write")), "{}", r.stderr);
    assert!(!r.stderr.contains("s3cret"), "{}", r.stderr);
}

/// The InfluxDB 2 API (`/api/v2/write`, org, bucket and a token), which
/// VictoriaMetrics also serves: InfluxDB 2 is not packaged by Debian, so
/// its write path is checked there, read back exactly as above.
#[test]
fn publish_with_the_influxdb2_api_reads_back_exactly() {
    let demo = demo();
    let want = expected(demo);
    let vm = servers::victoria_metrics();
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("influx-token");
    std::fs::write(&token, "influx2-token-s3cret\n").unwrap();
    let r = run(dataconnect(&demo.home)
        .args(["publish", "influx", "--url", &vm.url, "--org", "home", "--bucket", "linky", "--token-file"])
        .arg(&token)
        .arg("--db")
        .arg(&demo.db)
        .env("RUST_LOG", "trace"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(&format!("to {}/api/v2/write", vm.url)), "{}", r.stdout);
    assert!(!r.stdout.contains("s3cret") && !r.stderr.contains("s3cret"));
    assert_same(&victoria_points(&vm.url), &want, "VictoriaMetrics through /api/v2/write");

    // --org without --bucket is a usage error naming the missing flag.
    let r = run(dataconnect(&demo.home)
        .args(["publish", "influx", "--url", &vm.url, "--org", "home", "--db"])
        .arg(&demo.db));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--bucket"), "{}", r.stderr);
}
