//! What the Enedis gateway does around the data: consent pages, tokens,
//! bearer checks, quotas, fault injection, the request log and the OpenAPI
//! description.
//!
//! SCAFFOLD: the "platform" engineer replaces this file's bodies; the
//! signatures below are what `lib.rs` and the `data` routes rely on.

use axum::Router;
use axum::http::HeaderMap;
use axum::response::Response;

use crate::{Access, Sandbox, SandboxConfig};

/// The gateway's state: issued tokens, consents, quota budgets, fault
/// generator, request log.
pub(crate) struct Platform {}

impl Platform {
    pub(crate) fn new(_config: &SandboxConfig) -> std::io::Result<Self> {
        Ok(Platform {})
    }

    /// Checks the bearer token of a data call and says what it reaches, or
    /// answers the gateway's 401 (fault 900901).
    pub(crate) fn authorize(&self, _sandbox: &Sandbox, _headers: &HeaderMap) -> Result<Access, Response> {
        Ok(Access::Application)
    }
}

/// Consent, token, revoke, subscribed services and OpenAPI routes.
pub(crate) fn routes() -> Router<Sandbox> {
    Router::new()
}

/// Wraps every route with the request log, quotas and fault injection.
pub(crate) fn layers(router: Router<Sandbox>, _state: Sandbox) -> Router<Sandbox> {
    router
}
