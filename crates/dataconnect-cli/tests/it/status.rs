//! `dataconnect status` on the store `dataconnect demo` filled, and
//! `dataconnect config init` read back by the settings through `status`.

use serde_json::Value;

use crate::spawned::{
    DEMO_CONSUMPTION, DEMO_PRODUCTION, Sandbox, TODAY, consent_redirect, dataconnect, demo, run, run_ok,
};

fn status_json(args: &[&str]) -> Value {
    let demo = demo();
    let out = run_ok(
        dataconnect(&demo.home)
            .args(["status", "--format", "json", "--today", TODAY])
            .args(args)
            .arg("--db")
            .arg(&demo.db),
    );
    serde_json::from_str(&out).unwrap()
}

#[test]
fn status_reports_consents_spans_and_no_missing_day_after_a_full_backfill() {
    let v = status_json(&[]);
    assert_eq!(v["today"], TODAY);
    let consents = v["consents"].as_array().unwrap();
    let prms: Vec<&str> = consents.iter().map(|c| c["usage_point_id"].as_str().unwrap()).collect();
    assert!(prms.contains(&DEMO_CONSUMPTION) && prms.contains(&DEMO_PRODUCTION), "{prms:?}");
    assert!(consents.iter().all(|c| c["state"] == "ok" || c["state"] == "expiring"));
    let series = v["series"].as_array().unwrap();
    let row = |prm: &str, s: &str| {
        series
            .iter()
            .find(|r| r["usage_point_id"] == prm && r["series"] == s)
            .unwrap_or_else(|| panic!("no row for {prm} {s}: {series:?}"))
    };
    let curve = row(DEMO_CONSUMPTION, "consumption-curve");
    assert!(curve["points"].as_u64().unwrap() > 30_000, "{curve}");
    assert_eq!(curve["last_day"], "2021-01-14");
    assert_eq!(curve["missing_days"], 0, "{curve}");
    assert_eq!(row(DEMO_CONSUMPTION, "consumption-daily")["missing_days"], 0);
    // The production meter was activated on 2020-06-15 (sandbox table):
    // what the API can serve starts there, and that is all stored.
    let prod = row(DEMO_PRODUCTION, "production-daily");
    assert_eq!(prod["missing_days"], 0, "{prod}");
    assert!(prod["first_day"].as_str().unwrap() >= "2020-06-15");
    assert!(v["last_sync"]["status"].is_string());
    assert!(v["quota"]["calls_last_day"].as_u64().is_some());
}

#[test]
fn status_table_names_each_section() {
    let demo = demo();
    let out = run_ok(dataconnect(&demo.home).args(["status", "--today", TODAY, "--db"]).arg(&demo.db));
    for needle in ["Consents", DEMO_PRODUCTION, "Series", "Last sync:", "Quota used:"] {
        assert!(out.contains(needle), "no {needle:?} in:\n{out}");
    }
}

#[test]
fn status_warns_thirty_days_before_a_consent_expires() {
    // The demo's consents last 3 years from the real consent day; replaying
    // a day 20 days before expiry must flag them.
    let v = status_json(&[]);
    let expiry = v["consents"][0]["expiry"].as_str().unwrap().to_owned();
    let expiry: jiff::civil::Date = expiry.parse().unwrap();
    let near = expiry.checked_sub(jiff::Span::new().days(20)).unwrap().to_string();
    let demo = demo();
    let out = run_ok(dataconnect(&demo.home).args(["status", "--today", &near, "--db"]).arg(&demo.db));
    assert!(out.contains("WARNING: expires in 20 days"), "{out}");
}

#[test]
fn status_without_a_database_says_what_to_run() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(dataconnect(dir.path()).args(["status", "--db"]).arg(dir.path().join("none.db")));
    assert_eq!(r.code, 8, "{r:?}");
    assert!(r.stderr.contains("dataconnect sync"), "{r:?}");
}

#[test]
fn config_init_writes_a_template_the_settings_read_back() {
    let demo = demo();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conf").join("config.toml");
    run_ok(dataconnect(dir.path()).args(["config", "init", "--path"]).arg(&path));
    let template = std::fs::read_to_string(&path).unwrap();
    for key in [
        "base_url",
        "generation",
        "client_id",
        "client_secret",
        "client_secret_file",
        "redirect_uri",
        "db",
        "today",
        "revision_days",
        "quota_per_second",
        "quota_per_hour",
    ] {
        assert!(template.contains(&format!("\n# {key} = ")), "{key} is not documented");
    }
    // A second init refuses to overwrite; --force replaces.
    std::fs::write(&path, "# mine\n").unwrap();
    let r = run(dataconnect(dir.path()).args(["config", "init", "--path"]).arg(&path));
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("--force"), "{r:?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# mine\n");
    run_ok(dataconnect(dir.path()).args(["config", "init", "--force", "--path"]).arg(&path));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), template);
    // Uncomment three settings and check that a command reads them.
    let db = demo.db.display().to_string().replace('\\', "\\\\");
    let edited = template
        .replace("# db = \"/var/lib/dataconnect/dataconnect.db\"", &format!("db = \"{db}\""))
        .replace("# quota_per_hour = 1000", "quota_per_hour = 1234")
        .replace("# today = \"2025-06-30\"", &format!("today = \"{TODAY}\""));
    std::fs::write(&path, edited).unwrap();
    let out = run_ok(dataconnect(dir.path()).args(["status", "--format", "json"]).env("DATACONNECT_CONFIG", &path));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["db"], demo.db.display().to_string());
    assert_eq!(v["quota"]["per_hour"], 1234);
    assert_eq!(v["today"], TODAY);
    // The default location is the user's config directory.
    let out = run_ok(dataconnect(dir.path()).args(["config", "init"]));
    assert!(out.contains(&dir.path().join("config").display().to_string()), "{out}");
}

#[test]
fn status_marks_a_meter_whose_consent_was_revoked() {
    // Sandbox client 8 gives consent and revokes it at once: completing
    // the redirect is refused (Enedis no longer confirms the meter), and a
    // consent recorded earlier (here imported) makes the sync refused with
    // ADAM-DC-0008, which marks the meter.
    let sandbox = Sandbox::spawn();
    let home = tempfile::tempdir().unwrap();
    let cmd = || {
        let mut c = sandbox.client(home.path());
        c.env("DATACONNECT_GENERATION", "v5").env("DATACONNECT_REDIRECT_URI", "http://127.0.0.1:8081/callback");
        c
    };
    let authorize = run_ok(cmd().args(["consent", "--sandbox-client", "8"]));
    let redirect = consent_redirect(authorize.lines().next().unwrap());
    let refused = run(cmd().args(["consent", "complete", "--url", &redirect]));
    assert_ne!(refused.code, 0, "{refused:?}");
    assert!(refused.stderr.contains("does not confirm a consent for usage point 26584978546985"), "{refused:?}");
    let list = home.path().join("revoked.csv");
    std::fs::write(&list, "26584978546985\n").unwrap();
    run_ok(cmd().args(["consent", "import"]).arg(&list));
    let sync = run(cmd().arg("sync"));
    assert!(sync.stderr.contains("ADAM-DC-0008"), "{sync:?}");
    let v: Value = serde_json::from_str(&run_ok(cmd().args(["status", "--format", "json"]))).unwrap();
    let c = &v["consents"][0];
    assert_eq!(c["usage_point_id"], "26584978546985");
    assert_eq!(c["state"], "needs-consent");
    assert!(c["reason"].as_str().unwrap().contains("ADAM-DC-0008"), "{c}");
    let table = run_ok(cmd().arg("status"));
    assert!(table.contains("NEEDS CONSENT") && table.contains("dataconnect consent"), "{table}");
}
