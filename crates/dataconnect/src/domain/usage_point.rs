//! `UsagePointId`: the 14-digit identifier of a delivery point (PRM / PDL).
//!
//! It is validated once, at construction, so that every other layer can
//! rely on it being exactly fourteen ASCII digits.

use std::fmt;
use std::str::FromStr;

/// The identifier of a usage point (a meter), called PRM or PDL by Enedis:
/// exactly 14 ASCII digits.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UsagePointId(String);

/// Returned when a string is not a valid usage point identifier.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid usage point id {shown:?}: a PRM is exactly 14 digits, as printed on the Linky meter and on the electricity bill ({reason})"
)]
pub struct InvalidUsagePointId {
    shown: String,
    reason: &'static str,
}

impl UsagePointId {
    /// Parses a usage point identifier, accepting surrounding whitespace.
    pub fn new(s: &str) -> Result<Self, InvalidUsagePointId> {
        let t = s.trim();
        // Only a short prefix of the bad input is echoed, so that a huge or
        // hostile value does not end up verbatim in logs.
        let shown: String = t.chars().take(20).collect();
        if !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidUsagePointId { shown, reason: "it contains a character that is not a digit" });
        }
        if t.len() != 14 {
            return Err(InvalidUsagePointId { shown, reason: "it does not have 14 digits" });
        }
        Ok(UsagePointId(t.to_owned()))
    }

    /// The 14 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for UsagePointId {
    type Err = InvalidUsagePointId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        UsagePointId::new(s)
    }
}

impl fmt::Display for UsagePointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for UsagePointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UsagePointId({})", self.0)
    }
}

impl serde::Serialize for UsagePointId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for UsagePointId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        UsagePointId::new(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_fourteen_digits() {
        assert_eq!(UsagePointId::new(" 22516914714270 ").unwrap().as_str(), "22516914714270");
    }

    #[test]
    fn rejects_other_lengths_and_letters() {
        let e = UsagePointId::new("2251691471427").unwrap_err().to_string();
        assert!(e.contains("14 digits"), "{e}");
        let e = UsagePointId::new("2251691471427x").unwrap_err().to_string();
        assert!(e.contains("not a digit"), "{e}");
        assert!(UsagePointId::new("").is_err());
    }
}
