//! Wire formats: the JSON each API generation sends, turned into domain
//! values. Nothing outside this module knows that v3 used ranks, that v5
//! says `meter_reading` or that 2026 says `grandeur` and `dateDebut`.
//!
//! - [`v5`] reads the `meter_reading` bodies of v4 and v5 and, through
//!   [`legacy`], the `usage_point` array and `rank`s of v3.
//! - [`legacy`] also reads the generation 1 token answer.
//! - [`dc2026`] reads `mesure_synchrone_auto/v2`, the ITC contract APIs and
//!   `subscribed_services`.
//! - [`customers`] reads the v3/v5 customer APIs.
//! - [`conso`] reads the Conso API gateway's two type families and its
//!   error bodies.
//!
//! The shared pieces live here: tolerant scalars (numbers sent as strings,
//! `null` or `"null"`), Paris local stamps, ISO steps, and the resolution of
//! load-curve end stamps into UTC instants.
//!
//! Every decoder is written from Enedis's published Swagger files (copied in
//! MyElectricalData/myelectricaldata_new, `docs/external-apis/enedis-api/`)
//! and the bodies other clients captured (eddie-energy/eddie and
//! infodavide/ha_enedis_dataconnect fixtures, issue threads), and picks the
//! most tolerant reading where these sources disagree; each such choice is commented where it is made.

pub(crate) mod conso;
pub(crate) mod customers;
pub(crate) mod dc2026;
pub(crate) mod legacy;
pub(crate) mod paris_fast;
pub(crate) mod v5;

use std::borrow::Cow;
use std::fmt;

use jiff::Timestamp;
use serde::de::{self, Deserializer, Visitor};

use crate::domain::{Reading, Unit};
use crate::error::Error;

/// Deserializes `body` as `T`, naming the JSON path of any failure.
pub(crate) fn from_slice<'a, T: serde::Deserialize<'a>>(body: &'a [u8], what: &str) -> Result<T, Error> {
    // Path tracking allocates for every key it passes, so the fast path
    // decodes without it; only a body that fails is decoded a second time,
    // with tracking, to name the path. Trailing garbage after a complete
    // value is tolerated: the value is what matters, and a proxy appending
    // a second document should not lose the data.
    let mut de = serde_json::Deserializer::from_slice(body);
    if let Ok(v) = T::deserialize(&mut de) {
        return Ok(v);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| Error::decode(e, body, what))
}

/// A measured value: a number, a numeric string, `null`, or the string
/// `"null"` (the 2026 sandbox sends `{"v": "null"}` for a missing maximum).
/// An empty string is read as no value too.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Val(pub Option<f64>);

impl<'de> serde::Deserialize<'de> for Val {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Val;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, a numeric string or null")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Val, E> {
                Ok(Val(Some(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Val, E> {
                Ok(Val(Some(v as f64)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Val, E> {
                Ok(Val(Some(v as f64)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Val, E> {
                Ok(Val(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Val, E> {
                Ok(Val(None))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Val, E> {
                parse_value_str(s).map(Val).ok_or_else(|| E::invalid_value(de::Unexpected::Str(s), &self))
            }
        }
        d.deserialize_any(V)
    }
}

/// Reads a numeric string; `"null"` and `""` mean no value.
fn parse_value_str(s: &str) -> Option<Option<f64>> {
    let t = s.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("null") {
        return Some(None);
    }
    // Integers are by far the most common case and parse faster than
    // floats; a French decimal comma is accepted too.
    if let Ok(i) = t.parse::<i64>() {
        return Some(Some(i as f64));
    }
    match t.parse::<f64>() {
        Ok(f) if f.is_finite() => Some(Some(f)),
        _ => t.replace(',', ".").parse::<f64>().ok().filter(|f| f.is_finite()).map(Some),
    }
}

/// A text field that some sources send as a number (`"12600"` or `12600`,
/// `"1800"` or `1800`, a boolean now and then): kept as text.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Text<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_any(V)
    }
}

impl Text<'_> {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, or `None` when it is empty.
    pub(crate) fn non_empty(&self) -> Option<String> {
        let t = self.0.trim();
        (!t.is_empty()).then(|| t.to_owned())
    }
}

/// Optional text that may be `null` or missing.
pub(crate) fn opt_text(t: &Option<Text<'_>>) -> Option<String> {
    t.as_ref().and_then(Text::non_empty)
}

/// A local stamp as read from the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stamp {
    /// A Paris wall-clock time without offset, as seconds since
    /// 1970-01-01T00:00:00 *local* (not an instant yet).
    Local(i64),
    /// A stamp that carried its own offset (mock-only `…T01:00:00+02:00`
    /// style, accepted for robustness): an instant.
    Instant(i64),
}

/// Parses `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]`, `YYYY-MM-DDTHH:MM:SS` with
/// an optional offset (`Z`, `+02:00`, `+0200`) or a trailing XML-Schema date
/// offset (`2017-07-15+02:00`, read as the local date).
pub(crate) fn parse_stamp(s: &str) -> Option<Stamp> {
    let b = s.trim().as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        let mut n = 0i64;
        for &c in part {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + i64::from(c - b'0');
        }
        Some(n)
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || d < 1 || d > paris_fast::days_in_month(y, mo) {
        return None;
    }
    let days = paris_fast::days_from_civil(y, mo, d);
    let mut secs = 0;
    let mut rest = &b[10..];
    if let Some((&sep, tail)) = rest.split_first()
        && (sep == b' ' || sep == b'T')
        && tail.len() >= 5
        && tail[2] == b':'
    {
        let h = num(11..13)?;
        let mi = num(14..16)?;
        let mut used = 6;
        let mut se = 0;
        if tail.len() >= 8 && tail[5] == b':' {
            se = num(17..19)?;
            used = 9;
            // Fractional seconds are dropped: no generation sends them
            // for data, and the intervals are whole minutes.
            while b.get(10 + used).is_some_and(|c| *c == b'.' || c.is_ascii_digit()) {
                used += 1;
            }
        }
        // 24:00:00 is accepted as the midnight ending the day.
        if h > 24 || mi > 59 || se > 60 || (h == 24 && (mi > 0 || se > 0)) {
            return None;
        }
        secs = h * 3600 + mi * 60 + se;
        rest = &b[(10 + used).min(b.len())..];
    }
    let local = days * 86_400 + secs;
    let rest = std::str::from_utf8(rest).ok()?.trim();
    if rest.is_empty() {
        return Some(Stamp::Local(local));
    }
    let offset = parse_offset(rest)?;
    if secs == 0 && b.len() <= 10 + rest.len() + 1 {
        // A date with an XML-Schema offset (`2017-07-15+02:00`) names a
        // local day; keep it local.
        return Some(Stamp::Local(local));
    }
    Some(Stamp::Instant(local - offset))
}

/// Parses `Z`, `+02:00`, `+0200`, `+02`; seconds east of UTC.
fn parse_offset(s: &str) -> Option<i64> {
    if s == "Z" || s.eq_ignore_ascii_case("utc") {
        return Some(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| c.is_ascii_digit()).collect();
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i64>().ok()?, 0),
        4 => (digits[..2].parse::<i64>().ok()?, digits[2..].parse::<i64>().ok()?),
        _ => return None,
    };
    Some(sign * (h * 3600 + m * 60))
}

/// The civil date of a stamp string (its first ten characters), as local
/// seconds at midnight.
pub(crate) fn parse_day(s: &str) -> Option<i64> {
    let t = s.trim();
    match parse_stamp(t.get(..10).unwrap_or(t))? {
        Stamp::Local(l) => Some(l - l.rem_euclid(86_400)),
        Stamp::Instant(_) => None,
    }
}

/// Parses a step: an ISO 8601 duration (`PT30M`, `PT1H`, `PT600S`, `P1D`)
/// or a bare number. The v3 `interval_length` is `"1800"` seconds; a bare
/// number of at most 60 is read as minutes, anything larger as seconds
/// (the most tolerant reading: no step shorter than 5 minutes exists).
pub(crate) fn parse_step(s: &str) -> Option<i64> {
    let t = s.trim();
    if let Ok(n) = t.parse::<i64>() {
        return match n {
            1..=60 => Some(n * 60),
            61..=MAX_STEP => Some(n),
            _ => None,
        };
    }
    let u = t.to_ascii_uppercase();
    let rest = u.strip_prefix('P')?;
    let (date_part, time_part) = match rest.split_once('T') {
        Some((a, b)) => (a, b),
        None => (rest, ""),
    };
    let mut total = 0i64;
    let mut acc = |part: &str, units: &[(char, i64)]| -> Option<()> {
        let mut n = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() {
                n.push(c);
            } else {
                let mult = units.iter().find(|(u, _)| *u == c)?.1;
                // Checked: a step of 10^16 hours from the network must be
                // refused, not overflow (a panic in debug builds, a
                // negative step in release ones).
                total = total.checked_add(n.parse::<i64>().ok()?.checked_mul(mult)?)?;
                n.clear();
            }
        }
        n.is_empty().then_some(())
    };
    acc(date_part, &[('D', 86_400), ('W', 7 * 86_400)])?;
    acc(time_part, &[('H', 3600), ('M', 60), ('S', 1)])?;
    // No real step is longer than a day; a year bounds what is accepted so
    // that interval arithmetic on stamps can never overflow.
    (total > 0 && total <= MAX_STEP).then_some(total)
}

/// The longest step accepted, in seconds (366 days).
const MAX_STEP: i64 = 366 * 86_400;

/// A unit as the wire spells it, with the factor to the domain unit
/// (`kW` → W × 1000: the 2026 HOMEY mock tests kilo units for robustness).
pub(crate) fn unit_factor(wire: Option<&str>, expected: Unit) -> f64 {
    match wire.map(str::trim) {
        Some(u) if u.len() > 1 && u.starts_with(['k', 'K']) && u[1..].eq_ignore_ascii_case(expected.as_str()) => 1000.0,
        _ => 1.0,
    }
}

pub(crate) fn ts(secs: i64) -> Timestamp {
    Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Turns load-curve points into readings, resolving each end stamp (Paris
/// local time, no offset) into an instant.
///
/// The stamps are ambiguous on the October DST day and some of them do not
/// exist on the March one. Resolution uses the position in the array: the
/// expected end of a point is the previous end plus this point's step, and
/// a stamp is read with whichever Paris offset makes it that instant,
/// provided the offset is the one in force at that instant or just before
/// it. The "just before" case accepts both conventions a producer may use
/// for the interval that ends on the transition (labelled with the offset
/// of its end, `02:00`, or of its inside, `03:00`), so that, either way,
/// the first occurrence of a repeated October stamp is read as +02:00 and
/// the second as +01:00. When the expected instant does not match (a gap
/// in the data), the stamp is resolved on its own, taking the later
/// reading of an ambiguous time only when the earlier one would go back in
/// time.
pub(crate) struct CurveResolver {
    prev_end: i64,
    factor: f64,
    unit: Unit,
    pub(crate) out: Vec<Reading>,
}

impl CurveResolver {
    /// `start` is the instant the requested window starts (00:00 Paris on
    /// its first day): the first point is expected to end one step later.
    pub(crate) fn new(start: Timestamp, unit: Unit, factor: f64, capacity: usize) -> Self {
        CurveResolver { prev_end: start.as_second(), factor, unit, out: Vec::with_capacity(capacity) }
    }

    pub(crate) fn push(&mut self, stamp: Stamp, step: i64, value: Option<f64>) {
        let end = match stamp {
            Stamp::Instant(t) => t,
            Stamp::Local(local) => {
                let expected = self.prev_end + step;
                let before = paris_fast::offset_at(expected - 1);
                let at = paris_fast::offset_at(expected);
                if local - at == expected || local - before == expected {
                    expected
                } else {
                    match paris_fast::resolve(local) {
                        paris_fast::Resolved::One(t) => t,
                        paris_fast::Resolved::Fold(early, late) => {
                            if early <= self.prev_end {
                                late
                            } else {
                                early
                            }
                        }
                    }
                }
            }
        };
        self.prev_end = end;
        self.out.push(Reading {
            start: ts(end - step),
            end: ts(end),
            value: value.map(|v| v * self.factor),
            unit: self.unit,
            peak_at: None,
        });
    }

    /// The readings, sorted by start (stable, so that duplicates keep their
    /// order for the caller's deduplication).
    pub(crate) fn finish(mut self) -> Vec<Reading> {
        if !self.out.is_sorted_by_key(|r| r.start) {
            self.out.sort_by_key(|r| r.start);
        }
        self.out
    }
}

/// A reading for the Paris civil day starting at local midnight `day`
/// (local seconds).
pub(crate) fn day_reading(day: i64, value: Option<f64>, unit: Unit, peak_at: Option<Timestamp>) -> Reading {
    let start = paris_fast::local_midnight_to_utc(day);
    let end = paris_fast::local_midnight_to_utc(day + 86_400);
    Reading { start: ts(start), end: ts(end), value, unit, peak_at }
}

/// Resolves a max-power stamp (the local instant of the peak). On the
/// October fold the earlier reading is taken: the position in the array
/// says nothing here, one point per day.
pub(crate) fn peak_instant(stamp: Stamp) -> Timestamp {
    match stamp {
        Stamp::Instant(t) => ts(t),
        Stamp::Local(l) => match paris_fast::resolve(l) {
            paris_fast::Resolved::One(t) | paris_fast::Resolved::Fold(t, _) => ts(t),
        },
    }
}

#[cfg(test)]
mod tests;
