//! Entry points for the fuzz targets (`fuzz/` at the repository root) and
//! their regression tests, with the `internals` feature only: not part of
//! the API, no stability promise. Each runs the wire decoders of one
//! generation on untrusted bytes: a decoder may fail on any input, it must
//! never panic or hang.
//!
//! The tests below replay the fuzz corpora on stable Rust, in the normal
//! test suite: every seed and every input that once crashed a fuzz target
//! (`fuzz/seeds/<target>/`, `fuzz/regressions/<target>/`) is run through
//! the same entry points and the same oracles as the targets in
//! `fuzz/fuzz_targets/`. A regression of a fixed crash fails here without
//! nightly or cargo-fuzz. They are unit tests so that they see this module
//! without the feature.
use crate::domain::{DateRange, Reading, Series, UsagePointId};
use crate::error::Error;

/// Runs the generation 1 decoders (v3/v4 readings, token answer).
pub fn legacy(body: &[u8], series: Series, window: DateRange) -> Result<Vec<Reading>, Error> {
    let _ = crate::wire::legacy::decode_token(body);
    crate::wire::legacy::decode_readings(body, series, window)
}

/// Runs the v5 decoders (readings and the four customer APIs).
pub fn v5(body: &[u8], series: Series, window: DateRange, prm: &UsagePointId) -> Result<Vec<Reading>, Error> {
    let _ = crate::wire::customers::decode_contract(body, prm);
    let _ = crate::wire::customers::decode_address(body, prm);
    let _ = crate::wire::customers::decode_identity(body);
    let _ = crate::wire::customers::decode_contact(body);
    crate::wire::v5::decode_readings(body, series, window)
}

/// Runs the generation 3 decoders (mesure, contract APIs, subscribed services).
pub fn dc2026(body: &[u8], series: Series, window: DateRange, prm: &UsagePointId) -> Result<Vec<Reading>, Error> {
    let _ = crate::wire::dc2026::decode_situation(body);
    let _ = crate::wire::dc2026::decode_synthesis(body);
    let _ = crate::wire::dc2026::decode_comptage(body);
    let _ = crate::wire::dc2026::decode_general_data(body, prm);
    let _ = crate::wire::dc2026::decode_subscribed(body);
    crate::wire::dc2026::decode_readings(body, series, window)
}

/// Reads an error answer of any of the three body families.
pub fn error_body(status: u16, body: &[u8]) -> Error {
    Error::from_response(status, None, body, "fuzz".to_owned())
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use super::*;
    use crate::{Client, ClientConfig, ClientSecret, Generation, QuotaConfig};
    use jiff::civil::date;

    /// The inputs of one target: its seeds and its crash regressions.
    fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
        let mut out = Vec::new();
        for dir in ["seeds", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else { continue };
            for e in entries.flatten() {
                let bytes = std::fs::read(e.path()).expect("read a corpus file");
                out.push((e.path(), bytes));
            }
        }
        out.sort();
        out
    }

    // The selectors below mirror `fuzz/src/lib.rs`.
    fn series(b: u8) -> Series {
        Series::ALL[usize::from(b) % Series::ALL.len()]
    }

    fn window(b: u8) -> DateRange {
        let (s, e) = match b % 4 {
            0 => (date(2024, 10, 21), date(2024, 10, 28)),
            1 => (date(2024, 3, 25), date(2024, 4, 1)),
            2 => (date(2024, 6, 1), date(2024, 6, 8)),
            _ => (date(2023, 11, 1), date(2024, 11, 1)),
        };
        DateRange::new(s, e).expect("window")
    }

    fn prm() -> UsagePointId {
        UsagePointId::new("22516914714270").expect("prm")
    }

    fn check(what: &Path, readings: &[Reading]) {
        for r in readings {
            assert!(r.start < r.end, "{}: reading {r:?} does not start before it ends", what.display());
            assert!(r.value.is_none_or(f64::is_finite), "{}: reading {r:?} has a non-finite value", what.display());
        }
    }

    fn replay_wire(
        target: &str,
        decode: impl Fn(&[u8], Series, DateRange) -> Result<Vec<Reading>, crate::Error>,
    ) -> usize {
        let all = inputs(target);
        for (path, data) in &all {
            if let [s, w, body @ ..] = data.as_slice()
                && let Ok(readings) = decode(body, series(*s), window(*w))
            {
                check(path, &readings);
            }
        }
        all.len()
    }

    #[test]
    fn wire_legacy_corpus() {
        assert!(replay_wire("wire_legacy", legacy) > 0, "no corpus for wire_legacy");
    }

    #[test]
    fn wire_v5_corpus() {
        assert!(replay_wire("wire_v5", |b, s, w| v5(b, s, w, &prm())) > 0, "no corpus for wire_v5");
    }

    #[test]
    fn wire_2026_corpus() {
        assert!(replay_wire("wire_2026", |b, s, w| dc2026(b, s, w, &prm())) > 0, "no corpus for wire_2026");
    }

    #[test]
    fn error_body_corpus() {
        let all = inputs("error_body");
        assert!(!all.is_empty(), "no corpus for error_body");
        for (_, data) in &all {
            if let [a, b, body @ ..] = data.as_slice() {
                let status = 400 + (u16::from(*a) << 8 | u16::from(*b)) % 200;
                let e = error_body(status, body);
                assert!(!e.to_string().is_empty());
            }
        }
    }

    const EXPECTED_STATE: &str = "Zm9vYmFyYmF6cXV4cXV1eHF1dXg7";

    #[tokio::test]
    async fn redirect_corpus() {
        // A closed local port: inputs that reach a token exchange fail at once.
        let clients: Vec<Client> = Generation::ALL
            .iter()
            .map(|g| {
                let mut c = ClientConfig::new(
                    "http://127.0.0.1:1/".parse().expect("url"),
                    *g,
                    "fuzz-client",
                    ClientSecret::new("fuzz-secret"),
                );
                c.redirect_uri = "http://127.0.0.1:8081/callback".parse().ok();
                c.max_attempts = 1;
                c.timeout = Duration::from_millis(500);
                c.quota = QuotaConfig { per_second: u32::MAX, per_hour: u32::MAX };
                c.today = Some(date(2025, 1, 15));
                Client::new(c).expect("client")
            })
            .collect();
        let all = inputs("redirect");
        assert!(!all.is_empty(), "no corpus for redirect");
        for (path, data) in &all {
            let Some((&g, rest)) = data.split_first() else { continue };
            let Ok(text) = std::str::from_utf8(rest) else { continue };
            let raw = if g & 0x80 == 0 { format!("http://127.0.0.1:8081/callback?{text}") } else { text.to_owned() };
            let Ok(url) = url::Url::parse(&raw) else { continue };
            let client = &clients[usize::from(g) % clients.len()];
            if let Ok(consent) = client.complete_consent(&url, EXPECTED_STATE).await {
                let first_state = url.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned());
                assert_eq!(
                    first_state.as_deref(),
                    Some(EXPECTED_STATE),
                    "{}: consent accepted with another state",
                    path.display()
                );
                assert!(!consent.usage_points.is_empty(), "{}: consent without a usage point", path.display());
            }
        }
    }
}
