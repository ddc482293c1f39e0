//! What the 2026 gateway does to a whole application rather than to one
//! meter, as `sync` lives it: an API the application has not subscribed to
//! (403 900908) and a retired v5.

use crate::{consent_redirect, data_requests, dataconnect, sandbox};

/// Records a consent for sandbox client 7's three consumption meters, in
/// `generation`.
fn consent_three(dir: &std::path::Path, sandbox: &crate::Sandbox, db: &std::path::Path, generation: &str) {
    let out = dataconnect(dir, sandbox, db)
        .env("DATACONNECT_GENERATION", generation)
        .args(["consent", "--sandbox-client", "7"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let url = String::from_utf8(out.stdout).unwrap().lines().next().unwrap().to_owned();
    let redirect = consent_redirect(&url);
    let out = dataconnect(dir, sandbox, db)
        .env("DATACONNECT_GENERATION", generation)
        .args(["consent", "complete", "--url", &redirect])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// v5 has one API per series: without `metering_data_clc`, the curve stops
/// for every meter in one line after one call, and the daily energy of
/// every meter is still synced.
#[test]
fn an_unsubscribed_api_stops_its_series_for_every_meter_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path(), |c| c.unsubscribed_apis = vec!["metering_data_clc".into()]);
    let db = dir.path().join("u.db");
    consent_three(dir.path(), &sandbox, &db, "v5");
    // Completing a consent reads a day of each meter: count the sync's
    // calls only.
    let before = data_requests(&sandbox.log).len();
    let out = dataconnect(dir.path(), &sandbox, &db)
        .env("DATACONNECT_GENERATION", "v5")
        .args(["sync", "--series", "consumption-curve,consumption-daily", "--workers", "1"])
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // Exit 9 (the API refused the request), with the fix.
    assert_eq!(out.status.code(), Some(9), "{text}");
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("not subscribed to the API metering_data_clc")).collect();
    // Said while syncing and again as the exit line, never per meter.
    assert!(!lines.is_empty() && lines.len() <= 2, "{text}");
    assert!(lines.iter().all(|l| l.contains("for every meter") && l.contains("developer portal")), "{text}");
    let requests = data_requests(&sandbox.log).split_off(before);
    let curve_calls =
        requests.iter().filter(|r| r["path"].as_str().unwrap_or_default().contains("metering_data_clc")).count();
    assert_eq!(curve_calls, 1, "one call tells it for every meter");
    let daily: Vec<_> = requests
        .iter()
        .filter(|r| r["path"].as_str().unwrap_or_default().contains("metering_data_dc/") && r["status"] == 200)
        .collect();
    // Three meters, 36 months + 15 days of daily energy in 365-day windows.
    assert_eq!(daily.len(), 3 * 4, "{daily:#?}");
    // Nothing was recorded per meter: once subscribed, the next sync reads
    // the curve without `--retry-stopped`.
    let status = crate::run_ok(dataconnect(dir.path(), &sandbox, &db).args(["status"]));
    assert!(!status.contains("900908") && !status.contains("not subscribed"), "{status}");
}

/// The 2026 contract survives an unsubscribed `comptage_auto` (the state
/// of the real gateway on 2026-10-04): the contract is stored without its
/// off-peak hours.
#[test]
fn a_missing_comptage_auto_subscription_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path(), |c| c.unsubscribed_apis = vec!["comptage_auto".into()]);
    let db = dir.path().join("c.db");
    crate::consent(dir.path(), &sandbox, &db);
    crate::run_ok(dataconnect(dir.path(), &sandbox, &db).args(["sync", "--series", "consumption-daily"]));
    let refused: Vec<_> = data_requests(&sandbox.log).into_iter().filter(|r| r["status"] == 403).collect();
    assert_eq!(refused.len(), 1, "{refused:#?}");
    assert!(refused[0]["path"].as_str().unwrap_or_default().starts_with("/comptage_auto/"));
}

/// After v5's retirement day, a v5 sync stops at its first call with the
/// fix (switch to 2026), not meter by meter.
#[test]
fn a_retired_v5_stops_the_sync_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    // The consents were given before the retirement (completing one reads a
    // day of data, which a retired v5 no longer serves).
    let before = sandbox(dir.path(), |_| {});
    let db = dir.path().join("r.db");
    consent_three(dir.path(), &before, &db, "v5");
    drop(before);
    let sandbox = sandbox(dir.path(), |c| c.retire_v5 = Some(jiff::civil::date(2026, 10, 15)));
    // Both sandboxes log to the same file.
    let logged = data_requests(&sandbox.log).len();
    let out = dataconnect(dir.path(), &sandbox, &db)
        .env("DATACONNECT_GENERATION", "v5")
        .args(["sync", "--series", "consumption-daily", "--workers", "1"])
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("--generation 2026"), "{text}");
    let daily = data_requests(&sandbox.log)
        .split_off(logged)
        .iter()
        .filter(|r| r["path"].as_str().unwrap_or_default().starts_with("/metering_data_"))
        .count();
    assert_eq!(daily, 1, "the first refusal stops the run");
}

/// `consumption-index` end to end: synced in 365-day windows, exported
/// one row per register and day (both calendars and the totaliser), and
/// listed by `status`.
#[test]
fn index_readings_sync_export_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path(), |_| {});
    let db = dir.path().join("i.db");
    crate::consent(dir.path(), &sandbox, &db);
    crate::run_ok(dataconnect(dir.path(), &sandbox, &db).args(["sync", "--series", "consumption-index"]));
    let index_calls: Vec<_> = data_requests(&sandbox.log)
        .into_iter()
        .filter(|r| r["path"].as_str().unwrap_or_default().ends_with("/index_consommation"))
        .collect();
    // 36 months + 15 days in 365-day windows.
    assert_eq!(index_calls.len(), 4, "{index_calls:#?}");
    assert!(index_calls.iter().all(|r| r["status"] == 200));
    let out = crate::run_ok(dataconnect(dir.path(), &sandbox, &db).args([
        "export",
        "--series",
        "consumption-index",
        "--format",
        "jsonl",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-03",
    ]));
    let rows: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // Two days of the distributor's four classes, the supplier's classes
    // (HP/HC or BASE) and the totaliser.
    let owners: std::collections::BTreeSet<&str> = rows.iter().filter_map(|r| r["calendar_owner"].as_str()).collect();
    assert_eq!(owners.into_iter().collect::<Vec<_>>(), ["distributor", "supplier", "total"]);
    assert!(rows.iter().all(|r| r["unit"] == "Wh" && r["value"].is_i64()), "{out}");
    let distributor = rows.iter().filter(|r| r["calendar_id"] == "DI000003").count();
    assert_eq!(distributor, 2 * 4, "{out}");
    assert!(rows.iter().any(|r| r["day"] == "2026-11-01" && r["at"] == "2026-11-01T00:00:00+01:00"), "{out}");
    // Mixed with a readings series, the export says why not.
    let mixed = dataconnect(dir.path(), &sandbox, &db)
        .args(["export", "--series", "consumption-index,consumption-daily"])
        .output()
        .unwrap();
    assert!(!mixed.status.success());
    assert!(String::from_utf8_lossy(&mixed.stderr).contains("on their own"));
    let status = crate::run_ok(dataconnect(dir.path(), &sandbox, &db).args(["status", "--format", "json"]));
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let row = status["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["series"] == "consumption-index")
        .unwrap_or_else(|| panic!("{status}"))
        .clone();
    assert_eq!(row["missing_days"], 0, "{row}");
    assert!(row["points"].as_u64().unwrap_or(0) > 1000, "{row}");
    // A second sync asks only for the revision window.
    crate::run_ok(dataconnect(dir.path(), &sandbox, &db).args(["sync", "--series", "consumption-index"]));
    let again = data_requests(&sandbox.log)
        .into_iter()
        .filter(|r| r["path"].as_str().unwrap_or_default().ends_with("/index_consommation"))
        .count();
    assert_eq!(again, 5);
}

/// Sandbox client 2's load curve is not collected: the consent's CCDC
/// service says so, `sync` stops the curve with what the customer must do
/// before spending a call on it, and `status` and `doctor` say it too.
#[test]
fn a_curve_not_collected_is_said_by_sync_status_and_doctor() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path(), |_| {});
    let db = dir.path().join("n.db");
    let out = dataconnect(dir.path(), &sandbox, &db).args(["consent", "--sandbox-client", "2"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let url = String::from_utf8(out.stdout).unwrap().lines().next().unwrap().to_owned();
    let redirect = consent_redirect(&url);
    crate::run_ok(dataconnect(dir.path(), &sandbox, &db).args(["consent", "complete", "--url", &redirect]));
    let out = dataconnect(dir.path(), &sandbox, &db)
        .args(["sync", "--series", "consumption-curve,consumption-daily"])
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("not collected") && text.contains("Collecte de la consommation horaire"), "{text}");
    let curve_calls = data_requests(&sandbox.log)
        .iter()
        .filter(|r| r["path"].as_str().unwrap_or_default().contains("courbe_de_charge"))
        .count();
    assert_eq!(curve_calls, 0, "the CCDC service answered first");
    let status = crate::run_ok(dataconnect(dir.path(), &sandbox, &db).args(["status", "--format", "json"]));
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let curve = status["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["series"] == "consumption-curve")
        .unwrap_or_else(|| panic!("{status}"))
        .clone();
    assert!(curve["stopped_reason"].as_str().unwrap_or_default().contains("hourly collection"), "{curve}");
    let doctor = dataconnect(dir.path(), &sandbox, &db).args(["doctor", "--prm", "32320647321714"]).output().unwrap();
    let text = String::from_utf8_lossy(&doctor.stdout);
    let line = text
        .lines()
        .find(|l| l.get(6..).is_some_and(|name| name.starts_with("curve collection")))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.starts_with("FAIL") && line.contains("CCDC") && line.contains("hourly collection"), "{line}");
}

/// `capacity`: the figures, from the planner.
#[test]
fn capacity_prints_the_quota_s_limits_per_api() {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::run_ok(crate::bare::bare(dir.path()).args([
        "capacity",
        "--meters",
        "100000",
        "--series",
        "consumption-curve",
        "--freshness",
        "7d",
        "--new-per-day",
        "50",
        "--history",
        "2y",
    ]));
    let mesure = out.lines().find(|l| l.starts_with("mesure_synchrone_auto:")).unwrap_or_else(|| panic!("{out}"));
    // 100,000 weekly curves (14,286 calls a day) and 50 × 105 back-fill
    // calls, of 24,000: (24,000 − 5,250) × 7 meters at most.
    assert!(mesure.contains("19536 calls a day of 24000"), "{mesure}");
    assert!(mesure.contains("105 per new meter") && mesure.contains("131250 meters at most"), "{mesure}");
    assert!(mesure.contains("back-fill done in 13.0 h"), "{mesure}");
    let daily = crate::run_ok(crate::bare::bare(dir.path()).args([
        "capacity",
        "--meters",
        "30000",
        "--series",
        "consumption-curve",
    ]));
    assert!(daily.contains("24000 meters at most") && daily.contains("(125%)"), "{daily}");
    let bad =
        crate::bare::bare(dir.path()).args(["capacity", "--meters", "1", "--freshness", "soon"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
