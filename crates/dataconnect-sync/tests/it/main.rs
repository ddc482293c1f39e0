//! Integration tests of the sync engine: a real SQLite store in a temporary
//! directory (and a real PostgreSQL schema for the queue-driven workers),
//! fed by a fake source that counts its calls.

mod exec;
mod work;
