//! Integration tests of the sync engine: a real SQLite store in a temporary
//! directory, fed by a fake source that counts its calls.

mod exec;
