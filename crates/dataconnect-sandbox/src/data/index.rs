//! Generation 3's index readings (`mesure_synchrone_auto/v2/index_consommation`
//! and `index_production`), derived from the same synthetic load curve as
//! every other series.
//!
//! A meter has three sets of registers, each read at 00:00 Paris every day:
//!
//! - the distributor's calendar `DI000003` ("Avec différenciation
//!   temporelle et saisonnière"), classes `HPH`, `HCH`, `HPB`, `HCB` (peak
//!   and off-peak hours, high season November to March and low season
//!   April to October). The id, labels and class codes are those Enedis's
//!   SGE measurement service publishes (as documented in the public
//!   `l-etabli/quoalise` notes, `formalisme/enedis.md`); the season months
//!   are the network tariff's (TURPE) high season.
//! - the supplier's calendar: `FC000012` with classes `HP` and `HC` for an
//!   offer with off-peak hours, `FC000001` with `BASE` otherwise. These ids
//!   and their register codes are the sandbox's own (no capture gives a
//!   supplier calendar of Data Connect): only the `FC` prefix follows SGE.
//! - the totalising register (`cadranTotalisateur`, code `T`).
//!
//! Off-peak hours are the meter's own (`comptage_auto`'s
//! `plageHeuresCreuses`), 22:00 to 06:00 for a meter whose offer has none.
//! A curve interval belongs to the class of its start's Paris wall-clock
//! time; every off-peak boundary falls on a half hour, which every step the
//! sandbox serves divides, so the split is exact: **the difference of a
//! class's register between two days is the energy of the curve's
//! intervals of that class between them** (a `null` interval counting 0,
//! as in the daily energy). The registers count from the meter's
//! activation, from a per-meter starting value.
//!
//! No real index answer was ever captured: `d` is written as the day
//! (`YYYY-MM-DD`), `v` and `iv` as JSON integers (the Swagger's int64),
//! `contexteReleve` `COL` and `typeReleve` `AQ` (a daily collection). The
//! top-level `grandeur` is the documented empty array; the registers are
//! under `contexte[0].grandeur[0]`. A range without a published day is
//! answered with an empty `grandeur` and `contexte`, which the Swagger
//! allows ("un tableau vide est renvoyé pour ce cas").

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{MethodRouter, get};
use jiff::civil::Date;

use super::rules::{self, Endpoint, Valid};
use super::{Flow, Generation, Kind, json, json_response, synth};
use crate::Sandbox;
use crate::meters::Meter;

/// The route of one flow's index.
pub(super) fn route(flow: Flow) -> MethodRouter<Sandbox> {
    get(move |State(sandbox): State<Sandbox>, headers: HeaderMap, RawQuery(query): RawQuery| async move {
        // The daily rules (365 days a call, 36 months + 15 days of
        // history): no limit is published for the index APIs.
        let endpoint = Endpoint { generation: Generation::Dc2026, flow, kind: Kind::Daily };
        match rules::validate(&sandbox, &headers, query.as_deref(), endpoint, &[], |_| Ok(())) {
            Ok(valid) => json_response(StatusCode::OK, render(&valid, flow)),
            Err(response) => response,
        }
    })
}

/// A register: its calendar, class and code.
struct Register {
    calendar: &'static str,
    calendar_label: &'static str,
    class: &'static str,
    class_label: &'static str,
    code: &'static str,
}

const DISTRIBUTOR: &str = "DI000003";
const DISTRIBUTOR_LABEL: &str = "Avec différenciation temporelle et saisonnière";

/// The distributor's registers, in the order of [`Counts::distributor`].
const DISTRIBUTOR_REGISTERS: [Register; 4] = [
    Register {
        calendar: DISTRIBUTOR,
        calendar_label: DISTRIBUTOR_LABEL,
        class: "HPH",
        class_label: "Heures Pleines Hiver/Saison Haute",
        code: "D1",
    },
    Register {
        calendar: DISTRIBUTOR,
        calendar_label: DISTRIBUTOR_LABEL,
        class: "HCH",
        class_label: "Heures Creuses Hiver/Saison Haute",
        code: "D2",
    },
    Register {
        calendar: DISTRIBUTOR,
        calendar_label: DISTRIBUTOR_LABEL,
        class: "HPB",
        class_label: "Heures Pleines Saison Basse",
        code: "D3",
    },
    Register {
        calendar: DISTRIBUTOR,
        calendar_label: DISTRIBUTOR_LABEL,
        class: "HCB",
        class_label: "Heures Creuses Saison Basse",
        code: "D4",
    },
];

const SUPPLIER_HPHC: [Register; 2] = [
    Register {
        calendar: "FC000012",
        calendar_label: "Heures pleines / heures creuses",
        class: "HP",
        class_label: "Heures Pleines",
        code: "F1",
    },
    Register {
        calendar: "FC000012",
        calendar_label: "Heures pleines / heures creuses",
        class: "HC",
        class_label: "Heures Creuses",
        code: "F2",
    },
];

const SUPPLIER_BASE: Register =
    Register { calendar: "FC000001", calendar_label: "Base", class: "BASE", class_label: "Base", code: "F1" };

/// Cumulative energy (Wh) of the four distributor classes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    /// HPH, HCH, HPB, HCB.
    pub(crate) distributor: [u64; 4],
}

impl Counts {
    fn total(&self) -> u64 {
        self.distributor.iter().sum()
    }

    /// Supplier HP and HC: the same off-peak hours in both seasons.
    fn hp_hc(&self) -> [u64; 2] {
        let [hph, hch, hpb, hcb] = self.distributor;
        [hph + hpb, hch + hcb]
    }
}

/// The meter's off-peak ranges, in minutes after local midnight
/// (`[from, to)`, `to` may be past midnight: `from > to`).
pub(crate) fn offpeak_ranges(meter: &Meter) -> Vec<(u32, u32)> {
    let text = super::customer::offpeak_hours(meter).unwrap_or("HC (22H00-6H00)");
    parse_offpeak(text).unwrap_or_else(|| vec![(22 * 60, 6 * 60)])
}

/// Parses `HC (22H00-6H00)` or `HC (2H00-7H00;12H30-14H30)`.
fn parse_offpeak(text: &str) -> Option<Vec<(u32, u32)>> {
    let inner = text.trim().strip_prefix("HC")?.trim().strip_prefix('(')?.strip_suffix(')')?;
    let minutes = |s: &str| -> Option<u32> {
        let (h, m) = s.trim().split_once(['H', 'h'])?;
        let (h, m): (u32, u32) = (h.parse().ok()?, if m.is_empty() { 0 } else { m.parse().ok()? });
        (h <= 24 && m < 60).then_some(h * 60 + m)
    };
    inner.split(';').map(|r| r.split_once('-').and_then(|(a, b)| Some((minutes(a)?, minutes(b)?)))).collect()
}

fn in_offpeak(ranges: &[(u32, u32)], minute: u32) -> bool {
    ranges
        .iter()
        .any(|&(from, to)| if from <= to { (from..to).contains(&minute) } else { minute >= from || minute < to })
}

/// High season: November to March.
fn high_season(day: Date) -> bool {
    !(4..=10).contains(&day.month())
}

/// Adds `day`'s curve energy of `flow` to `counts`, each interval to its
/// class. `scratch` is reused between days.
pub(crate) fn add_day(
    meter: &Meter,
    flow: Flow,
    day: Date,
    ranges: &[(u32, u32)],
    counts: &mut Counts,
    scratch: &mut Vec<synth::CurvePoint>,
) {
    scratch.clear();
    synth::day_curve(meter, flow, day, scratch);
    let season = if high_season(day) { 0 } else { 2 };
    for p in scratch.iter() {
        let Some(wh) = p.wh else { continue };
        let start = p.start();
        let local = start + synth::offset_at(start);
        let minute = u32::try_from(local.rem_euclid(86_400) / 60).unwrap_or(0);
        let class = season + usize::from(in_offpeak(ranges, minute));
        counts.distributor[class] += u64::from(wh);
    }
}

/// The registers' starting values, per meter: a reading of a few
/// megawatt-hours, as a meter in service for years shows.
fn start_counts(meter: &Meter) -> Counts {
    let b = 1_000_000 + synth::hash3(synth::prm_seed(meter.prm), 0x1D3, 0) % 8_000_000;
    Counts { distributor: [b / 2, b / 4, b / 8, b / 8] }
}

/// The registers at 00:00 of each day of `days` (ascending), counted from
/// the meter's activation.
pub(crate) fn counts_at(meter: &Meter, flow: Flow, days: &[Date]) -> Vec<Counts> {
    let ranges = offpeak_ranges(meter);
    let mut counts = start_counts(meter);
    let mut scratch = Vec::with_capacity(150);
    let mut out = Vec::with_capacity(days.len());
    let mut day = meter.activation;
    for &wanted in days {
        while day < wanted {
            add_day(meter, flow, day, &ranges, &mut counts, &mut scratch);
            let Ok(next) = day.tomorrow() else { break };
            day = next;
        }
        out.push(counts);
    }
    out
}

/// Writes the index body.
fn render(valid: &Valid, flow: Flow) -> Vec<u8> {
    let days: Vec<Date> = valid.days().filter(|d| synth::has_data(valid.meter, *d)).collect();
    let counts = counts_at(valid.meter, flow, &days);
    let mut out = Vec::with_capacity(400 + days.len() * 250);
    out.push(b'{');
    json::field(&mut out, "idPrm", valid.meter.prm);
    out.extend_from_slice(b",\"periode\":{\"dateDebut\":");
    json::date(&mut out, valid.start);
    out.extend_from_slice(b",\"dateFin\":");
    json::date(&mut out, valid.end);
    out.extend_from_slice(b"},\"grandeur\":[],\"contexte\":[");
    if !days.is_empty() {
        out.extend_from_slice(
            b"{\"etapeMetier\":\"BRUT\",\"contexteReleve\":\"COL\",\"typeReleve\":\"AQ\",\"grandeur\":[{",
        );
        let metier = if flow == Flow::Consumption { "CONS" } else { "PROD" };
        json::field(&mut out, "grandeurMetier", metier);
        out.extend_from_slice(b",\"grandeurPhysique\":\"EA\",\"unite\":\"Wh\",\"points\":[],\"calendrier\":[");
        calendar(&mut out, &DISTRIBUTOR_REGISTERS, &days, &counts, |c, i| c.distributor[i]);
        out.push(b',');
        if super::customer::offpeak_hours(valid.meter).is_some() {
            calendar(&mut out, &SUPPLIER_HPHC, &days, &counts, |c, i| c.hp_hc()[i]);
        } else {
            calendar(&mut out, std::slice::from_ref(&SUPPLIER_BASE), &days, &counts, |c, _| c.total());
        }
        out.extend_from_slice(b"],\"cadranTotalisateur\":{\"codeCadran\":\"T\",\"valeur\":");
        values(&mut out, &days, &counts, Counts::total);
        out.extend_from_slice(b"}}]}");
    }
    out.extend_from_slice(b"]}");
    out
}

/// One `calendrier` element: its classes, all sharing the calendar's id.
fn calendar(
    out: &mut Vec<u8>,
    registers: &[Register],
    days: &[Date],
    counts: &[Counts],
    value: impl Fn(&Counts, usize) -> u64,
) {
    let Some(first) = registers.first() else { return };
    out.push(b'{');
    json::field(out, "idCalendrier", first.calendar);
    out.push(b',');
    json::field(out, "libelleCalendrier", first.calendar_label);
    out.extend_from_slice(b",\"classeTemporelle\":[");
    for (i, r) in registers.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'{');
        json::field(out, "idClasseTemporelle", r.class);
        out.push(b',');
        json::field(out, "libelleClasseTemporelle", r.class_label);
        out.push(b',');
        json::field(out, "codeCadran", r.code);
        out.extend_from_slice(b",\"valeur\":");
        values(out, days, counts, |c| value(c, i));
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
}

/// `[{"d": day, "v": value, "iv": 0}, …]`.
fn values(out: &mut Vec<u8>, days: &[Date], counts: &[Counts], value: impl Fn(&Counts) -> u64) {
    out.push(b'[');
    for (i, (day, c)) in days.iter().zip(counts).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"d\":");
        json::date(out, *day);
        out.extend_from_slice(b",\"v\":");
        json::uint(out, value(c));
        out.extend_from_slice(b",\"iv\":0}");
    }
    out.push(b']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meters::METERS;
    use jiff::civil::date;

    #[test]
    fn offpeak_text_is_parsed() {
        assert_eq!(parse_offpeak("HC (22H00-6H00)"), Some(vec![(1320, 360)]));
        assert_eq!(parse_offpeak("HC (2H00-7H00;12H30-14H30)"), Some(vec![(120, 420), (750, 870)]));
        assert_eq!(parse_offpeak("HP (1H-2H)"), None);
        assert!(
            in_offpeak(&[(1320, 360)], 23 * 60) && in_offpeak(&[(1320, 360)], 0) && !in_offpeak(&[(1320, 360)], 360)
        );
    }

    #[test]
    fn register_differences_are_the_curve_energy_of_their_class() {
        // The changing-step meter (PT60M to PT10M within a day) across the
        // October DST change and a season change.
        for meter in
            METERS.iter().filter(|m| m.consumption).take(4).chain(METERS.iter().filter(|m| m.prm == "90000000000011"))
        {
            let (a, b) = (date(2025, 10, 20), date(2025, 11, 3));
            let counts = counts_at(meter, Flow::Consumption, &[a, b]);
            let ranges = offpeak_ranges(meter);
            let mut energy = [0u64; 4];
            let mut scratch = Vec::new();
            let mut day = a;
            while day < b {
                scratch.clear();
                synth::day_curve(meter, Flow::Consumption, day, &mut scratch);
                for p in &scratch {
                    let local = p.start() + synth::offset_at(p.start());
                    let minute = u32::try_from(local.rem_euclid(86_400) / 60).unwrap_or(0);
                    let class = if high_season(day) { 0 } else { 2 } + usize::from(in_offpeak(&ranges, minute));
                    energy[class] += u64::from(p.wh.unwrap_or(0));
                }
                day = day.tomorrow().unwrap_or(b);
            }
            for (class, expected) in energy.iter().enumerate() {
                assert_eq!(
                    counts[1].distributor[class] - counts[0].distributor[class],
                    *expected,
                    "{} class {class}",
                    meter.prm
                );
            }
            // The daily energy served elsewhere adds up to the total.
            let daily: u64 = (0..14)
                .filter_map(|n| {
                    synth::day_energy(
                        meter,
                        Flow::Consumption,
                        a.checked_add(jiff::Span::new().days(n)).ok()?,
                        &mut scratch,
                    )
                })
                .sum();
            assert_eq!(counts[1].total() - counts[0].total(), daily, "{}", meter.prm);
        }
    }
}
