//! The data and customer routes of the three generations.
//!
//! SCAFFOLD: the "data" engineer replaces this file's body.

use axum::Router;

use crate::Sandbox;

/// Every data and customer route of every generation.
pub(crate) fn routes() -> Router<Sandbox> {
    Router::new()
}
