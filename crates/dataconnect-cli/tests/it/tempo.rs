//! `tempo update` against RTE's API as the sandbox serves it, over real
//! HTTP: the token, paging by 366 days, newest-first answers, only the
//! missing days asked, credentials never printed; `tempo import` of a saved
//! answer with the uncoloured 2022-12-28; and Tempo costs on a synced
//! store that need those days.

use std::path::Path;

use dataconnect_sandbox::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};

use crate::{CONSUMER, Sandbox, consent, dataconnect, run_ok, sandbox};

fn rte_calls(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["path"].as_str().is_some_and(|p| p.starts_with("/open_api/") || p == "/token/oauth/"))
        .collect()
}

fn tempo(dir: &Path, sandbox: &Sandbox, db: &Path, args: &[&str]) -> std::process::Output {
    let secret = dir.join("rte-secret");
    std::fs::write(&secret, DEFAULT_CLIENT_SECRET).unwrap();
    dataconnect(dir, sandbox, db)
        .args(["tempo"])
        .args(args)
        .env("DATACONNECT_RTE_BASE_URL", &sandbox.url)
        .env("DATACONNECT_RTE_CLIENT_ID", DEFAULT_CLIENT_ID)
        .env("DATACONNECT_RTE_CLIENT_SECRET_FILE", &secret)
        .output()
        .unwrap()
}

/// One HTTP/1.1 request with an Authorization header; the body of the answer.
fn http(base: &str, method: &str, path: &str, authorization: &str) -> String {
    use std::io::{Read, Write};
    let host = base.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {authorization}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default()
}

/// Test Tempo prices from 2024 (not real ones).
const TEMPO: &str = "DATE_DEBUT;DATE_FIN;P_SOUSCRITE;PART_FIXE_TTC;PART_VARIABLE_HCBleu_TTC;PART_VARIABLE_HPBleu_TTC;PART_VARIABLE_HCBlanc_TTC;PART_VARIABLE_HPBlanc_TTC;PART_VARIABLE_HCRouge_TTC;PART_VARIABLE_HPRouge_TTC\n01/01/2024;;6;180;0,1;0,2;0,3;0,4;0,5;0,6\n01/01/2024;;9;220;0,1;0,2;0,3;0,4;0,5;0,6\n01/01/2024;;12;260;0,1;0,2;0,3;0,4;0,5;0,6\n";

#[test]
fn tempo_costs_wait_for_rte_and_update_asks_only_for_the_missing_days() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path(), |_| {});
    let db = dir.path().join("t.db");
    consent(dir.path(), &sandbox, &db);
    run_ok(dataconnect(dir.path(), &sandbox, &db).args([
        "sync",
        "--series",
        "consumption-curve",
        "--since",
        "2026-11-01",
    ]));
    let table = dir.path().join("Option_Tempo.csv");
    std::fs::write(&table, TEMPO).unwrap();
    run_ok(dataconnect(dir.path(), &sandbox, &db).args(["tariffs", "import", table.to_str().unwrap()]));
    let costs = [
        "costs",
        "--prm",
        CONSUMER,
        "--offer",
        "trv-tempo",
        "--kva",
        "6",
        "--from",
        "2026-11-02",
        "--to",
        "2026-11-09",
        "--format",
        "json",
    ];
    // The shipped calendar ends on 2025-08-31: the days are named, nothing is priced blue.
    let out = dataconnect(dir.path(), &sandbox, &db).args(costs).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("no Tempo colour for 8 day(s): 2026-11-01..2026-11-08"), "{stderr}");
    assert!(stderr.contains("tempo update"), "{stderr}");

    // Without credentials: a clear message, nothing asked.
    let out = dataconnect(dir.path(), &sandbox, &db)
        .args(["tempo", "update"])
        .env("DATACONNECT_RTE_BASE_URL", &sandbox.url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("DATACONNECT_RTE_CLIENT_ID"));
    assert!(rte_calls(&sandbox.log).is_empty());

    // 2025-09-01 to 2026-11-30 (today + 2): 455 days, two calls of at most 366 days.
    let out = tempo(dir.path(), &sandbox, &db, &["update"]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(!stdout.contains(DEFAULT_CLIENT_SECRET) && !stderr.contains(DEFAULT_CLIENT_SECRET));
    let calls = rte_calls(&sandbox.log);
    let paths: Vec<&str> = calls.iter().map(|c| c["path"].as_str().unwrap()).collect();
    assert_eq!(paths[0], "/token/oauth/");
    assert_eq!(paths.len(), 3, "{calls:#?}");
    let queries: Vec<&str> = calls[1..].iter().map(|c| c["query"].as_str().unwrap()).collect();
    assert!(
        queries[0].contains("start_date=2025-09-01T00") && queries[0].contains("end_date=2026-09-02T00"),
        "{queries:?}"
    );
    assert!(
        queries[1].contains("start_date=2026-09-02T00") && queries[1].contains("end_date=2026-11-30T00"),
        "{queries:?}"
    );
    // Tomorrow (2026-11-29) is published at 10:40; the frozen clock says noon.
    assert!(stdout.contains("to 2026-11-29"), "{stdout}");

    // Now Tempo prices the week.
    let c: serde_json::Value =
        serde_json::from_str(&run_ok(dataconnect(dir.path(), &sandbox, &db).args(costs))).unwrap();
    assert_eq!(c["offer"], "trv-tempo");
    let periods = c["months"][0]["periods"].as_object().unwrap();
    assert_eq!(periods.len(), 6);
    assert!(periods["HCBleu"]["kwh"].as_f64().unwrap() > 0.0, "{c}");

    // A second update has nothing to ask: no call at all.
    let before = rte_calls(&sandbox.log).len();
    let out = tempo(dir.path(), &sandbox, &db, &["update"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("complete up to 2026-11-29"));
    assert_eq!(rte_calls(&sandbox.log).len(), before);
}

#[test]
fn a_saved_rte_answer_imports_without_the_uncoloured_day() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path(), |_| {});
    let db = dir.path().join("i.db");
    // A saved answer for December 2022, fetched the way RTE serves it.
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}"),
    );
    let token: serde_json::Value =
        serde_json::from_str(&http(&sandbox.url, "POST", "/token/oauth/", &format!("Basic {basic}"))).unwrap();
    let path = "/open_api/tempo_like_supply_contract/v1/tempo_like_calendars?start_date=2022-12-01T00:00:00%2B01:00&end_date=2023-01-01T00:00:00%2B01:00";
    let body = http(&sandbox.url, "GET", path, &format!("Bearer {}", token["access_token"].as_str().unwrap()));
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    let values = answer["tempo_like_calendars"]["values"].as_array().unwrap();
    assert_eq!(values.len(), 30, "31 days less 2022-12-28");
    assert_eq!(values[0]["start_date"], "2022-12-31T00:00:00+01:00", "newest first");
    assert!(values.iter().all(|v| v["start_date"] != "2022-12-28T00:00:00+01:00"));
    let file = dir.path().join("tempo.json");
    std::fs::write(&file, &body).unwrap();
    let out = run_ok(dataconnect(dir.path(), &sandbox, &db).args(["tempo", "import", file.to_str().unwrap()]));
    assert!(out.contains("stored 30 Tempo day(s) from 2022-12-01 to 2022-12-31"), "{out}");
    // A file that is not an answer is named, and nothing is stored.
    std::fs::write(&file, "{\"tempo\":[]}").unwrap();
    let bad =
        dataconnect(dir.path(), &sandbox, &db).args(["tempo", "import", file.to_str().unwrap()]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("tempo.json: not an answer of RTE's tempo_like_calendars"));
}
