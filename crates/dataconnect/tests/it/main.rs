//! Integration tests of the client against the sandbox
//! (`dataconnect-sandbox`), over real HTTP on 127.0.0.1 port 0.
//!
//! The sandbox is an independent reading of the spec: these tests are
//! where the two readings meet.

mod conso;
mod collection;
mod consent;
mod customers;
mod errors;
mod faults;
mod hardening_fuzz;
mod hardening_hostile;
mod index;
mod max_power;
mod quota;
mod readings;
mod support;
mod tokens;
