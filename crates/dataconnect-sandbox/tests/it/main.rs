//! Integration tests of the sandbox over real HTTP on 127.0.0.1 port 0.
mod common;
mod data_support;
mod data_routes;
mod platform_consent;
mod platform_token;
mod data_rules;
mod data_clients;
mod data_conso;
mod data_props;
mod data_fleet;
mod hardening_consent;
mod hardening_fuzz;
mod platform_gateway;
mod platform_strict;
