//! The PostgreSQL server of the tests.
//!
//! Tests that need PostgreSQL read its URL from `DATACONNECT_TEST_PG_URL`
//! (`scripts/test.sh` starts the local server and sets it). When it is
//! unset, such a test fails with one line saying how to start PostgreSQL,
//! so that a plain `cargo test --workspace` cannot pass without exercising
//! the PostgreSQL code. `DATACONNECT_SKIP_PG=1` skips them instead, and each
//! skipped test says so on standard error.

use std::sync::atomic::{AtomicU32, Ordering};

/// The variable holding the test server's URL.
pub const URL_VAR: &str = "DATACONNECT_TEST_PG_URL";
/// The variable that skips the PostgreSQL tests when set to `1`.
pub const SKIP_VAR: &str = "DATACONNECT_SKIP_PG";
/// The URL `scripts/test.sh` sets for the local server.
pub const LOCAL_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The test server's URL for the test named `test`, or `None` when
/// `DATACONNECT_SKIP_PG=1` skips the PostgreSQL tests (said on standard
/// error).
///
/// # Panics
///
/// When no server is configured and the tests are not skipped: the
/// message says how to start PostgreSQL or skip.
pub fn url(test: &str) -> Option<String> {
    if let Some(url) = std::env::var(URL_VAR).ok().filter(|u| !u.is_empty()) {
        return Some(url);
    }
    if std::env::var(SKIP_VAR).is_ok_and(|v| v == "1") {
        eprintln!("SKIPPED {test}: {SKIP_VAR}=1 skips the PostgreSQL tests; this test did NOT run");
        return None;
    }
    panic!(
        "{test} needs PostgreSQL: run `bash scripts/test.sh` (it starts the local server), or start one and set {URL_VAR}={LOCAL_URL}; {SKIP_VAR}=1 skips these tests"
    );
}

/// A schema name no other test uses, now or in an earlier run: `prefix`,
/// the test, the process, a counter and the clock's nanoseconds (so that a
/// schema left over by a killed run is never reused).
pub fn schema_name(prefix: &str, test: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{prefix}_{test}_{}_{}_{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// `base` with its connections' `search_path` set to `schema`: the URL to
/// hand to the `dataconnect` binary so that it works in the test's schema.
pub fn url_in_schema(base: &str, schema: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-csearch_path%3D{schema}")
}
