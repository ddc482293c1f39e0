//! # dataconnect-costs
//!
//! What a Linky meter's consumption cost, and what would have cost less.
//! The first question customers and energy advisers ask of the data is
//! money, so this crate prices load curves (or daily energy) with the
//! regulated tariffs (Tarif Bleu Base, HP/HC and Tempo, with their full
//! price history) and with market offers, compares offers, and advises a
//! subscribed power. It is pure: no I/O, no clock, no store; the CLI and
//! `serve` feed it what they read.
//!
//! - [`tariff`] reads the regulator's open-data price tables ([`PriceRow`]);
//!   [`catalogue`] holds the regulated offers (shipped rows plus imported
//!   ones) and market offers; [`offer`] reads market offers from TOML.
//! - [`calendar`] is RTE's Tempo calendar, shipped since 2014-09-01 and
//!   extended from RTE's API answers.
//! - [`engine`] prices a range per month and period; [`power`] advises the
//!   subscribed power; [`baseline`] is the naive per-point pricing the
//!   benchmark compares the engine with.
//!
//! The data and their sources are in `data/` (see `data/SOURCES.md`).

pub mod baseline;
pub mod calendar;
pub mod catalogue;
pub mod engine;
mod error;
pub mod offer;
pub mod period;
pub mod power;
pub mod tariff;

pub use calendar::TempoCalendar;
pub use catalogue::Catalogue;
pub use engine::{CostReport, Energy, Interval, MonthCost, PeriodTotal, Pricing, price};
pub use error::{CostError, CostErrorKind, Result, day_ranges};
pub use offer::{OffPeak, Offer, Schedule, parse_offer, parse_window};
pub use period::{Period, TempoColour};
pub use power::{PowerAdvice, PowerStep, STANDARD_KVA, advise};
pub use tariff::{OptionKind, PriceRow, PriceTable, parse_table};
