//! # dataconnect
//!
//! A client library for Enedis Data Connect, the API through which an
//! application reads a Linky smart meter's data with its customer's consent.
//!
//! Brief overview:
//! - [`domain`]: the meter, its five series, readings as UTC intervals,
//!   consents and Paris civil-day ranges. No I/O, no wire details.

pub mod domain;

pub use domain::{
    Consent, ConsentDuration, DateRange, Direction, Generation, Measure, Reading, Series, Unit,
    UsagePointId,
};
