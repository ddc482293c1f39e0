//! Fuzzes the reading of error answers (OAuth-style, gateway `fault`,
//! 2026 `{code, message}`): any body, any status, a typed error, no panic,
//! and a message that `Display` can print.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((a, b, body)) = dataconnect_fuzz::split(data) else { return };
    let status = 400 + (u16::from(a) << 8 | u16::from(b)) % 200;
    let e = dataconnect::fuzzing::error_body(status, body);
    let _ = e.to_string();
    let _ = e.is_retryable();
    let _ = e.retry_after();
});
