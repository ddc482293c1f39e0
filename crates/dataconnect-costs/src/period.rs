//! The pricing periods every output names (`BASE`; `HP`, `HC`; `HPBleu` …
//! `HCRouge`) and Tempo's day colours.

use std::fmt;

/// A pricing period. The names are the ones of every output and of the
/// regulator's column suffixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    /// The single price of a Base option.
    Base,
    /// Peak hours.
    Hp,
    /// Off-peak hours.
    Hc,
    /// Tempo, blue day, peak hours.
    HpBleu,
    /// Tempo, blue day, off-peak hours.
    HcBleu,
    /// Tempo, white day, peak hours.
    HpBlanc,
    /// Tempo, white day, off-peak hours.
    HcBlanc,
    /// Tempo, red day, peak hours.
    HpRouge,
    /// Tempo, red day, off-peak hours.
    HcRouge,
}

impl Period {
    /// Every period, in output order.
    pub const ALL: [Period; 9] = [
        Period::Base,
        Period::Hp,
        Period::Hc,
        Period::HpBleu,
        Period::HcBleu,
        Period::HpBlanc,
        Period::HcBlanc,
        Period::HpRouge,
        Period::HcRouge,
    ];

    /// The name outputs use.
    pub fn name(self) -> &'static str {
        match self {
            Period::Base => "BASE",
            Period::Hp => "HP",
            Period::Hc => "HC",
            Period::HpBleu => "HPBleu",
            Period::HcBleu => "HCBleu",
            Period::HpBlanc => "HPBlanc",
            Period::HcBlanc => "HCBlanc",
            Period::HpRouge => "HPRouge",
            Period::HcRouge => "HCRouge",
        }
    }

    /// The period of a name (as outputs and offer files write it; case is ignored).
    pub fn from_name(s: &str) -> Option<Period> {
        Period::ALL.into_iter().find(|p| p.name().eq_ignore_ascii_case(s))
    }

    /// A dense index (0..9) for arrays indexed by period.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The Tempo period of a colour, off-peak or not.
    pub fn tempo(colour: TempoColour, offpeak: bool) -> Period {
        match (colour, offpeak) {
            (TempoColour::Blue, false) => Period::HpBleu,
            (TempoColour::Blue, true) => Period::HcBleu,
            (TempoColour::White, false) => Period::HpBlanc,
            (TempoColour::White, true) => Period::HcBlanc,
            (TempoColour::Red, false) => Period::HpRouge,
            (TempoColour::Red, true) => Period::HcRouge,
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The colour of a Tempo day, as RTE publishes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TempoColour {
    /// `BLUE`: the cheapest days (about 300 a season).
    Blue,
    /// `WHITE`: 43 days a season, never on a Sunday.
    White,
    /// `RED`: 22 weekdays a season, between 1 November and 31 March.
    Red,
}

impl TempoColour {
    /// RTE's name: `BLUE`, `WHITE` or `RED`.
    pub fn name(self) -> &'static str {
        match self {
            TempoColour::Blue => "BLUE",
            TempoColour::White => "WHITE",
            TempoColour::Red => "RED",
        }
    }

    /// Reads RTE's names, and the French ones (`BLEU`, `BLANC`, `ROUGE`).
    pub fn parse(s: &str) -> Option<TempoColour> {
        match s.trim().to_ascii_uppercase().as_str() {
            "BLUE" | "BLEU" | "TEMPO_BLEU" => Some(TempoColour::Blue),
            "WHITE" | "BLANC" | "TEMPO_BLANC" => Some(TempoColour::White),
            "RED" | "ROUGE" | "TEMPO_ROUGE" => Some(TempoColour::Red),
            _ => None,
        }
    }
}

impl fmt::Display for TempoColour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
