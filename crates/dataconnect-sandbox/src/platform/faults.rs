//! `--fault-rate R --seed N`: a share of data and token calls fails as the
//! real service fails, so that clients can prove their retries.
//!
//! Four kinds, equally likely: a 500 (`ADAM-DC-0500` "Technical
//! Exception" on the v3/v4/v5 APIs, the Swagger's `{code, message}` on the
//! 2026 ones, RFC 6749 `server_error` on token endpoints); a 503; a
//! response held past Enedis's 30 s gateway timeout
//! (`SandboxConfig::fault_delay`, 31 s by default); and a body cut in the
//! middle (the declared `Content-Length` is the whole body, half is sent,
//! then the connection is closed).
//!
//! The draw for the n-th eligible request is a pure function of the seed
//! and n (SplitMix64), so the same seed and the same sequence of requests
//! give the same faults.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use http_body::Frame;

use super::{Family, Route, json, oauth_error};

/// One kind of injected failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A 500 with the API's technical-error body.
    ServerError,
    /// A 503 "Service indisponible".
    Unavailable,
    /// The normal response, sent after `fault_delay`.
    Delay,
    /// The normal response's headers and half its body, then a closed
    /// connection.
    Truncate,
}

impl Kind {
    /// The name written in the request log.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::ServerError => "500",
            Kind::Unavailable => "503",
            Kind::Delay => "delay",
            Kind::Truncate => "truncate",
        }
    }
}

/// The fault generator.
pub(crate) struct Faults {
    rate: f64,
    seed: u64,
    /// How many eligible requests have been drawn for.
    drawn: AtomicU64,
}

impl Faults {
    pub(crate) fn new(rate: f64, seed: u64) -> Self {
        let rate = if rate.is_finite() { rate.clamp(0.0, 1.0) } else { 0.0 };
        Faults { rate, seed, drawn: AtomicU64::new(0) }
    }

    /// The fault of the next eligible request, if it gets one.
    pub(crate) fn draw(&self) -> Option<Kind> {
        if self.rate <= 0.0 {
            return None;
        }
        let n = self.drawn.fetch_add(1, Ordering::Relaxed);
        draw_nth(self.seed, n, self.rate)
    }
}

/// The fault of request `n` for `seed` at `rate`.
fn draw_nth(seed: u64, n: u64, rate: f64) -> Option<Kind> {
    let x = splitmix64(seed ^ splitmix64(n.wrapping_add(1)));
    // 53 random bits give a uniform f64 in [0, 1).
    let uniform = (x >> 11) as f64 / (1u64 << 53) as f64;
    if uniform >= rate {
        return None;
    }
    Some(match splitmix64(x) % 4 {
        0 => Kind::ServerError,
        1 => Kind::Unavailable,
        2 => Kind::Delay,
        _ => Kind::Truncate,
    })
}

/// SplitMix64's output function: a fast, well-mixed hash of a u64.
pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Answers `request` with the fault `kind`.
pub(crate) async fn apply(kind: Kind, route: Route, delay: Duration, next: Next, request: Request) -> Response {
    match kind {
        Kind::ServerError => server_error(route),
        Kind::Unavailable => unavailable(route),
        Kind::Delay => {
            tokio::time::sleep(delay).await;
            next.run(request).await
        }
        Kind::Truncate => truncate(next.run(request).await).await,
    }
}

fn server_error(route: Route) -> Response {
    match route {
        Route::Token => oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "The authorization server encountered an unexpected condition that prevented it from fulfilling the request",
        ),
        _ if route.family() == Family::Y2026 => json(
            StatusCode::INTERNAL_SERVER_ERROR,
            &serde_json::json!({"code": "500", "message": "Problème technique dans l'interrogation du SI coeur"}),
        ),
        _ => oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "ADAM-DC-0500", "Technical Exception"),
    }
}

fn unavailable(route: Route) -> Response {
    match route {
        Route::Token => oauth_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "The authorization server is currently unable to handle the request due to a temporary overloading or maintenance of the server",
        ),
        _ if route.family() == Family::Y2026 => json(
            StatusCode::SERVICE_UNAVAILABLE,
            &serde_json::json!({"code": "503", "message": "Service indisponible"}),
        ),
        _ => oauth_error(StatusCode::SERVICE_UNAVAILABLE, "503", "Service indisponible"),
    }
}

/// The response with its full length declared and half its body sent.
async fn truncate(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let half = bytes.slice(..bytes.len() / 2);
    parts.headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    let body = Truncated { half: Some(half), pause: Box::pin(tokio::time::sleep(Duration::from_millis(20))) };
    Response::from_parts(parts, Body::new(body))
}

/// A body that yields its first half, waits a moment (so the half reaches
/// the client), then fails, which makes the server close the connection
/// short of the declared length.
struct Truncated {
    half: Option<Bytes>,
    pause: Pin<Box<tokio::time::Sleep>>,
}

impl http_body::Body for Truncated {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(half) = self.half.take() {
            return Poll::Ready(Some(Ok(Frame::data(half))));
        }
        match self.pause.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "injected fault: body cut in the middle",
            )))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_near_the_rate() {
        let a: Vec<_> = (0..1000).map(|n| draw_nth(7, n, 0.3)).collect();
        let b: Vec<_> = (0..1000).map(|n| draw_nth(7, n, 0.3)).collect();
        assert_eq!(a, b);
        let faults = a.iter().filter(|f| f.is_some()).count();
        assert!((200..400).contains(&faults), "{faults}");
        for kind in [Kind::ServerError, Kind::Unavailable, Kind::Delay, Kind::Truncate] {
            assert!(a.contains(&Some(kind)), "{kind:?}");
        }
        let c: Vec<_> = (0..1000).map(|n| draw_nth(8, n, 0.3)).collect();
        assert_ne!(a, c);
    }

    #[test]
    fn rate_bounds() {
        assert!((0..100).all(|n| draw_nth(1, n, 0.0).is_none()));
        assert!((0..100).all(|n| draw_nth(1, n, 1.0).is_some()));
        assert!(Faults::new(f64::NAN, 1).draw().is_none());
    }
}
