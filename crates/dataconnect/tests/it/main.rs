//! Integration tests against the sandbox over real HTTP.
