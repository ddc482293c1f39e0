//! # dataconnect-testkit
//!
//! Test helpers that several crates of the workspace share, so that each
//! rule is written once: which PostgreSQL server the tests use and what
//! happens when there is none ([`pg`]), and a sandbox served on a free port
//! of 127.0.0.1 ([`sandbox`], with the `sandbox` feature).
//!
//! It is a dev-dependency only (`publish = false`): nothing here reaches a
//! binary or a published crate, which is why it may panic: a panic is how a
//! test reports a broken environment.

#![warn(missing_docs)]

pub mod pg;
#[cfg(feature = "sandbox")]
pub mod sandbox;
