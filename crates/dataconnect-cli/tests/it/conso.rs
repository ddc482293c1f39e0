//! `--source conso-api`: a Linky owner's personal token of the Conso API
//! gateway instead of Data Connect credentials, against the sandbox's
//! emulated gateway over real HTTP. The meters come from `consent import`;
//! `sync`, `fetch`, `status` and `doctor` work through the gateway, store
//! what Data Connect itself serves, and never print the token.

use std::path::Path;
use std::process::Command;

use crate::{CONSUMER, Sandbox, consent, data_requests, dataconnect, run_ok, sandbox};

const TOKEN: &str = "sandbox-conso-12345678901234";

/// The binary reading through the sandbox's gateway with `token`.
fn via_gateway(dir: &Path, sb: &Sandbox, db: &Path, token: &str) -> Command {
    let mut cmd = dataconnect(dir, sb, db);
    cmd.env("DATACONNECT_SOURCE", "conso-api")
        .env("DATACONNECT_CONSO_TOKEN", token)
        .env("DATACONNECT_BASE_URL", format!("{}/conso", sb.url))
        .env_remove("DATACONNECT_CLIENT_SECRET")
        .env_remove("DATACONNECT_CLIENT_ID");
    cmd
}

fn import_meter(dir: &Path, sb: &Sandbox, db: &Path, generation: &str) {
    let list = dir.join("meters.txt");
    std::fs::write(&list, format!("{CONSUMER}\n")).unwrap();
    let out = run_ok(
        via_gateway(dir, sb, db, TOKEN)
            .env("DATACONNECT_GENERATION", generation)
            .args(["consent", "import"])
            .arg(&list),
    );
    assert!(out.contains("recorded 1"), "{out}");
}

fn export(dir: &Path, sb: &Sandbox, db: &Path) -> String {
    run_ok(dataconnect(dir, sb, db).args(["export", "--format", "jsonl", "--prm", CONSUMER]))
}

#[test]
fn sync_through_the_gateway_stores_what_data_connect_serves() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(dir.path(), |_| {});
    let series = "consumption-curve,consumption-daily,consumption-max-power";
    let range = ["--since", "2026-10-20", "--until", "2026-10-30"];

    // Data Connect itself, as the reference.
    let direct = dir.path().join("direct.db");
    consent(dir.path(), &sb, &direct);
    run_ok(dataconnect(dir.path(), &sb, &direct).args(["sync", "--prm", CONSUMER, "--series", series]).args(range));
    let want = export(dir.path(), &sb, &direct);
    assert!(want.lines().count() > 400);

    for (generation, kind) in
        [("2026", "/conso/courbe_de_charge_consommation"), ("v5", "/conso/consumption_load_curve")]
    {
        let db = dir.path().join(format!("gateway-{generation}.db"));
        import_meter(dir.path(), &sb, &db, generation);
        let before = data_requests(&sb.log).len();
        let out = via_gateway(dir.path(), &sb, &db, TOKEN)
            .env("DATACONNECT_GENERATION", generation)
            .args(["sync", "--series", series])
            .args(range)
            .output()
            .unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains("note: reading through the Conso API gateway"), "{stderr}");
        // Not even the most verbose logs show the token.
        let traced = via_gateway(dir.path(), &sb, &db, TOKEN)
            .env("DATACONNECT_GENERATION", generation)
            .env("RUST_LOG", "trace")
            .args([
                "fetch",
                "--prm",
                CONSUMER,
                "--series",
                "consumption-daily",
                "--from",
                "2026-10-20",
                "--to",
                "2026-10-22",
            ])
            .output()
            .unwrap();
        assert!(traced.status.success());
        let all = format!("{}{}", String::from_utf8_lossy(&traced.stdout), String::from_utf8_lossy(&traced.stderr));
        assert!(all.contains("TRACE") || all.contains("DEBUG") || all.contains("trace"), "no logs at trace: {all}");
        assert!(!all.contains(TOKEN), "the token shows in the trace logs");
        assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN), "the token was printed");
        let calls = &data_requests(&sb.log)[before..];
        assert!(calls.iter().any(|c| c["path"] == kind), "{calls:?}");
        assert!(calls.iter().all(|c| c["path"].as_str().unwrap().starts_with("/conso/")), "{calls:?}");
        assert_eq!(export(dir.path(), &sb, &db), want, "generation {generation}");

        // fetch reads the same through the gateway.
        let fetched =
            run_ok(via_gateway(dir.path(), &sb, &db, TOKEN).env("DATACONNECT_GENERATION", generation).args([
                "fetch",
                "--prm",
                CONSUMER,
                "--series",
                "consumption-daily",
                "--from",
                "2026-10-20",
                "--to",
                "2026-10-30",
                "--format",
                "jsonl",
            ]));
        assert_eq!(fetched.lines().count(), 10);
        // status shows the meter and what is stored.
        let status = run_ok(via_gateway(dir.path(), &sb, &db, TOKEN).args(["status"]));
        assert!(status.contains(CONSUMER) && status.contains("consumption-curve"), "{status}");
        // doctor checks the gateway and the token.
        let doctor = run_ok(via_gateway(dir.path(), &sb, &db, TOKEN).args(["doctor", "--prm", CONSUMER]));
        assert!(doctor.contains("the Conso API token covers"), "{doctor}");
        assert!(!doctor.contains(TOKEN));
    }
}

/// `fetch`'s arguments for a week of the consumer's daily energy.
const FETCH_A_WEEK: [&str; 8] =
    ["--prm", CONSUMER, "--series", "consumption-daily", "--from", "2026-11-01", "--to", "2026-11-08"];

#[test]
fn a_token_that_does_not_cover_the_meter_is_a_consent_error() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(dir.path(), |_| {});
    let db = dir.path().join("s.db");
    let other = "sandbox-conso-98765432109876";
    let out = via_gateway(dir.path(), &sb, &db, other).arg("fetch").args(FETCH_A_WEEK).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("does not cover"), "{stderr}");
    assert!(!stderr.contains(other));
    let out = via_gateway(dir.path(), &sb, &db, other).args(["doctor", "--prm", CONSUMER]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(6), "{stdout}");
    assert!(stdout.contains("does not cover"), "{stdout}");
    // Without a token: a config error naming where to put it.
    let out = via_gateway(dir.path(), &sb, &db, "").arg("fetch").args(FETCH_A_WEEK).output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("DATACONNECT_CONSO_TOKEN"));
    // The token from a file works as the variable does.
    let file = dir.path().join("token");
    std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
    run_ok(via_gateway(dir.path(), &sb, &db, "").arg("fetch").arg("--conso-token-file").arg(&file).args(FETCH_A_WEEK));
}

/// The same through a PostgreSQL store: its queue workers and its shared
/// quota (with the gateway's own budget) read through the gateway too.
#[cfg(feature = "postgres")]
#[test]
fn sync_through_the_gateway_into_postgresql() {
    // Fails without a server unless DATACONNECT_SKIP_PG=1, as every
    // PostgreSQL test does.
    let Some(base) = dataconnect_testkit::pg::url("sync_through_the_gateway_into_postgresql") else { return };
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(dir.path(), |_| {});
    let series = "consumption-curve,consumption-daily";
    let range = ["--since", "2026-10-20", "--until", "2026-10-30"];
    let direct = dir.path().join("direct.db");
    consent(dir.path(), &sb, &direct);
    run_ok(dataconnect(dir.path(), &sb, &direct).args(["sync", "--prm", CONSUMER, "--series", series]).args(range));
    let want = export(dir.path(), &sb, &direct);

    let schema = crate::serve::PgSchema::new(&base, "conso");
    let pg = Path::new(&schema.url);
    import_meter(dir.path(), &sb, pg, "2026");
    let out = run_ok(via_gateway(dir.path(), &sb, pg, TOKEN).args(["sync", "--series", series]).args(range));
    assert!(!out.contains(TOKEN));
    assert_eq!(export(dir.path(), &sb, pg), want);
}
