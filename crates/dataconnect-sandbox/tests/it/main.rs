//! Integration tests of the sandbox over real HTTP on 127.0.0.1 port 0.

// A panic is how a test, a benchmark or an example reports a broken
// environment: unwrap and expect are fine here (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;
mod data_clients;
mod data_conso;
mod data_fleet;
mod data_props;
mod data_routes;
mod data_rules;
mod data_support;
mod hardening_consent;
mod hardening_fuzz;
mod platform_consent;
mod platform_gateway;
mod platform_strict;
mod platform_token;
