//! Integration tests of the sandbox over real HTTP on 127.0.0.1 port 0.
mod common;
mod platform_consent;
mod platform_token;
