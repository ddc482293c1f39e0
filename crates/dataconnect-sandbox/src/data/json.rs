//! A tiny JSON writer that appends straight to a byte buffer.
//!
//! Data Connect bodies have a fixed key order and string-typed numbers, and
//! a 7-day curve is served thousands of times a second in the benchmark, so
//! the routes write their JSON by hand in spec order rather than building
//! `serde_json::Value` trees. This module holds the only pieces that need
//! care: string escaping, integers and the Paris-local time stamps.

use jiff::civil::Date;

/// Appends `s` as a JSON string literal (with its quotes).
pub(crate) fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0..=0x1f => None,
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        match escape {
            Some(e) => out.extend_from_slice(e),
            None => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Appends `"key":` (keys are ASCII literals that need no escaping).
pub(crate) fn key(out: &mut Vec<u8>, k: &str) {
    out.push(b'"');
    out.extend_from_slice(k.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Appends `"key":"value"` with `value` escaped.
pub(crate) fn field(out: &mut Vec<u8>, k: &str, v: &str) {
    key(out, k);
    string(out, v);
}

/// Appends an unsigned integer in decimal, without quotes.
pub(crate) fn uint(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Appends an unsigned integer as a JSON string (`"540"`), as every
/// Data Connect value is typed.
pub(crate) fn uint_string(out: &mut Vec<u8>, n: u64) {
    out.push(b'"');
    uint(out, n);
    out.push(b'"');
}

fn two(out: &mut Vec<u8>, n: u32) {
    out.push(b'0' + (n / 10 % 10) as u8);
    out.push(b'0' + (n % 10) as u8);
}

fn ymd(out: &mut Vec<u8>, y: i32, m: u32, d: u32) {
    let y = y.clamp(0, 9999) as u32;
    out.push(b'0' + (y / 1000) as u8);
    out.push(b'0' + (y / 100 % 10) as u8);
    two(out, y % 100);
    out.push(b'-');
    two(out, m);
    out.push(b'-');
    two(out, d);
}

/// Appends `"YYYY-MM-DD"` (with quotes).
pub(crate) fn date(out: &mut Vec<u8>, d: Date) {
    out.push(b'"');
    ymd(out, i32::from(d.year()), d.month() as u32, d.day() as u32);
    out.push(b'"');
}

/// Appends `"YYYY-MM-DD HH:MM:SS"` (with quotes) for a wall-clock time
/// given as seconds since 1970-01-01 00:00 *local* (the UTC instant plus
/// the Paris offset in force at that instant).
///
/// A curve writes dozens of stamps per day, so the date part of the last
/// day written is remembered (per thread, no lock).
pub(crate) fn local_stamp(out: &mut Vec<u8>, local_seconds: i64) {
    thread_local! {
        static LAST_DAY: std::cell::Cell<(i64, [u8; 10])> = const { std::cell::Cell::new((i64::MIN, [0; 10])) };
    }
    let days = local_seconds.div_euclid(86_400);
    let secs = local_seconds.rem_euclid(86_400) as u32;
    let date = match LAST_DAY.try_with(std::cell::Cell::get) {
        Ok((d, bytes)) if d == days => bytes,
        _ => {
            let (y, m, d) = civil_from_days(days);
            let mut v = Vec::with_capacity(10);
            ymd(&mut v, y, m, d);
            let mut bytes = [0u8; 10];
            bytes.copy_from_slice(&v[..10]);
            let _ = LAST_DAY.try_with(|c| c.set((days, bytes)));
            bytes
        }
    };
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let digit = |n: u32| b'0' + (n % 10) as u8;
    out.push(b'"');
    out.extend_from_slice(&date);
    out.extend_from_slice(&[
        b' ',
        digit(h / 10),
        digit(h),
        b':',
        digit(m / 10),
        digit(m),
        b':',
        digit(s / 10),
        digit(s),
        b'"',
    ]);
}

/// The civil date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`), so that stamps need no time-zone lookups.
pub(crate) fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = if m <= 2 { y + 1 } else { y };
    (y as i32, m, d)
}

/// The day count since 1970-01-01 of a civil date (inverse of
/// [`civil_from_days`]).
pub(crate) fn days_from_civil(d: Date) -> i64 {
    let (y, m, d) = (i64::from(d.year()), i64::from(d.month()), i64::from(d.day()));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_quotes_and_controls() {
        let mut out = Vec::new();
        string(&mut out, "a\"b\\c\u{1}é");
        assert_eq!(String::from_utf8(out).unwrap_or_default(), "\"a\\\"b\\\\c\\u0001é\"");
    }

    #[test]
    fn civil_round_trip() {
        for z in [-1000_i64, 0, 1, 59, 60, 10_957, 19_000, 20_000, 30_000] {
            let (y, m, d) = civil_from_days(z);
            let date = Date::new(y as i16, m as i8, d as i8).unwrap_or_default();
            assert_eq!(days_from_civil(date), z);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn stamps_and_integers() {
        let mut out = Vec::new();
        local_stamp(&mut out, 19_782 * 86_400 + 3600 + 30 * 60 + 5);
        out.push(b',');
        uint_string(&mut out, 0);
        out.push(b',');
        uint(&mut out, 18_446_744_073_709_551_615);
        assert_eq!(String::from_utf8(out).unwrap_or_default(), "\"2024-02-29 01:30:05\",\"0\",18446744073709551615");
    }
}
