//! Fuzzes the generation's wire decoders (readings, and the other bodies
//! of the same generation) on arbitrary bytes: they may refuse a body, but
//! never panic, and every reading they accept is a non-empty interval.
#![no_main]

use dataconnect_fuzz::{check, prm, series, split, window};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((s, w, body)) = split(data) else { return };
    let _ = prm;
    if let Ok(readings) = dataconnect::fuzzing::v5(body, series(s), window(w), &prm()) {
        check(&readings);
    }
});
