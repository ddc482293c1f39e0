//! Helpers for the plot, status, doctor and config tests: a `dataconnect
//! sandbox` process on a free port, a `dataconnect` command with a clean
//! environment, and one store filled by `dataconnect demo`, shared by the
//! tests that only read it.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

/// The day the sandboxes and the client take as today, so the data and the
/// history deadlines are the same on every run.
pub const TODAY: &str = "2021-01-15";

/// A `dataconnect` command whose settings come only from what the test sets:
/// no `DATACONNECT_*` variable of the caller, and config and data
/// directories inside `home`.
pub fn dataconnect(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dataconnect"));
    for (key, _) in std::env::vars() {
        if key.starts_with("DATACONNECT_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("NO_COLOR", "1");
    cmd
}

/// What a finished command printed and its exit code.
#[derive(Debug)]
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` to the end.
pub fn run(cmd: &mut Command) -> Ran {
    let out = cmd.output().expect("the command runs");
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `cmd`, checks that it succeeded and returns its standard output.
pub fn run_ok(cmd: &mut Command) -> String {
    let r = run(cmd);
    assert_eq!(r.code, 0, "failed: {}\n{}", r.stderr, r.stdout);
    r.stdout
}

/// A `dataconnect sandbox` process, killed when dropped.
pub struct Sandbox {
    child: Child,
    pub base_url: String,
}

impl Sandbox {
    /// Starts a sandbox on a free port of 127.0.0.1 with `--today TODAY`.
    pub fn spawn() -> Sandbox {
        Sandbox::spawn_with(&[])
    }

    /// Same, with more sandbox flags.
    pub fn spawn_with(extra: &[&str]) -> Sandbox {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dataconnect"))
            .args(["sandbox", "--listen", "127.0.0.1:0", "--today", TODAY, "--quota-per-second", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the sandbox starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("the sandbox prints its address");
        let base_url = line.trim().strip_prefix("listening on ").expect("first line is `listening on URL`").to_owned();
        Sandbox { child, base_url }
    }

    /// A `dataconnect` command set up to talk to this sandbox as its
    /// default registered application, replaying [`TODAY`].
    pub fn client(&self, home: &Path) -> Command {
        let mut cmd = dataconnect(home);
        cmd.env("DATACONNECT_BASE_URL", &self.base_url)
            .env("DATACONNECT_CLIENT_ID", "dataconnect-sandbox-client")
            .env("DATACONNECT_CLIENT_SECRET", "dataconnect-sandbox-secret")
            .env("DATACONNECT_TODAY", TODAY)
            .env("DATACONNECT_DB", home.join("doctor.db"));
        cmd
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What `dataconnect demo` left: its database and chart directory.
pub struct Demo {
    pub home: PathBuf,
    pub db: PathBuf,
    pub charts: PathBuf,
    pub stdout: String,
}

/// Runs `dataconnect demo` once per test binary (fast quota, frozen today)
/// and returns its store; the tests that use it only read it.
pub fn demo() -> &'static Demo {
    static DEMO: OnceLock<Demo> = OnceLock::new();
    DEMO.get_or_init(|| {
        // A static is never dropped, so a TempDir here would never be
        // removed: the store goes under Cargo's scratch directory for
        // integration tests instead, one per process, and earlier runs'
        // leftovers are swept (only stale ones, so a concurrent run keeps
        // its own).
        let scratch = Path::new(env!("CARGO_TARGET_TMPDIR"));
        if let Ok(entries) = std::fs::read_dir(scratch) {
            for entry in entries.flatten() {
                let stale = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t.elapsed().is_ok_and(|age| age.as_secs() > 600));
                if stale && entry.file_name().to_string_lossy().starts_with("cli-charts-demo-") {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let home = scratch.join(format!("cli-charts-demo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).expect("scratch dir");
        let db = home.join("demo.db");
        let charts = home.join("charts");
        let out = dataconnect(&home)
            .args(["demo", "--db"])
            .arg(&db)
            .arg("--out")
            .arg(&charts)
            .args(["--today", TODAY, "--quota-per-second", "1000"])
            .output()
            .expect("demo runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "demo failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
        Demo { home, db, charts, stdout }
    })
}

/// Sandbox client 3's consumption meter (the demo's first meter).
pub const DEMO_CONSUMPTION: &str = "12345678901234";
/// Sandbox client 3's production meter.
pub const DEMO_PRODUCTION: &str = "10284856584123";

/// Plays the customer's browser on the sandbox's consent page: one GET of
/// the authorize URL, without following the redirect, whose `Location` it
/// returns.
pub fn consent_redirect(authorize: &str) -> String {
    let rest = authorize.strip_prefix("http://").expect("a local http URL");
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).expect("a path");
    let mut stream = std::net::TcpStream::connect(host).expect("the sandbox accepts");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").expect("request sent");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response read");
    response
        .lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| {
            l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("location")).map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no redirect in: {response}"))
}
