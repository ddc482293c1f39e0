//! Integration tests of the client against the sandbox
//! (`dataconnect-sandbox`), over real HTTP on 127.0.0.1 port 0.
//!
//! The sandbox is an independent reading of the spec: these tests are
//! where the two readings meet.

// A panic is how a test, a benchmark or an example reports a broken
// environment: unwrap and expect are fine here (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod collection;
mod consent;
mod conso;
mod customers;
mod errors;
mod faults;
mod hardening_hostile;
mod index;
mod max_power;
mod quota;
mod readings;
mod support;
mod tokens;
