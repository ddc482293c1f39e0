//! The one error type of the crate, and the reading of Data Connect's error
//! bodies into it.
//!
//! Data Connect answers errors in three body families: OAuth-style
//! `{"error", "error_description"}` (token endpoints and most ADAM/STM
//! codes), WSO2 gateway faults `{"fault": {"code", "message",
//! "description"}}` (also seen flat, without the `fault` wrapper), and the
//! 2026 `{"code", "message"}`. [`Error`] turns any of them into an
//! [`ErrorKind`] that says what the caller should do: fix the request, clamp
//! the range and continue, wait, retry later, ask the customer for consent
//! again, or stop fetching this series.

use std::fmt;
use std::time::Duration;

use jiff::Timestamp;

/// What went wrong, grouped by what the caller should do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The [`ClientConfig`](crate::ClientConfig) is unusable: a base URL that
    /// cannot take paths, a zero quota, or a generation 1 client without a
    /// `redirect_uri`.
    Config,
    /// The configured generation has no such endpoint (for example a
    /// production series through the legacy v3 paths).
    Unsupported,
    /// The API rejected the request as malformed (HTTP 400
    /// `invalid_request`, start not before end, end in the future…). Fix the
    /// request; retrying does not help.
    InvalidRequest,
    /// A load-curve request spanned more than 7 days (ADAM-ERR0126 /
    /// ADAM-DC-0015). The client splits ranges itself, so this means the
    /// API's limit changed.
    WindowTooLong,
    /// The period starts before the meter's last activation (ADAM-ERR0123).
    /// Clamp the range to the activation date and continue.
    BeforeActivation,
    /// The period starts before the history deadline, 24 months + 15 days
    /// for curves and 36 months + 15 days otherwise (ADAM-ERR0125 /
    /// ADAM-DC-0016). Clamp and continue.
    HistoryDeadline,
    /// The period starts before the consent did (ADAM-DC-0009). Clamp and
    /// continue.
    BeforeConsentStart,
    /// The meter does not measure this direction, e.g. a consumption series
    /// of a production-only meter (ADAM-ERR0069). Stop asking for this
    /// series.
    WrongDirection,
    /// The customer objected to the load curve being recorded, or its
    /// collection is not enabled (ADAM-ERR0075). Stop asking for the curve
    /// until the customer enables the hourly collection in their Enedis
    /// account.
    CurveNotCollected,
    /// No data for the period (404 `no_data_found`, STM-ERR-0000014,
    /// STM-ERR-0000020, 2026 "Pas de mesure trouvée"): a gap, a meter that
    /// did not communicate, or data not yet published (day D appears on D+1
    /// after 08:00 Paris). Try again later.
    NoData,
    /// The usage point is unknown or not linked to a customer
    /// (STM-ERR-0000019, 2026 "PRM non existant").
    UnknownUsagePoint,
    /// There is no valid consent for this meter (ADAM-DC-0007: the customer
    /// is no longer the holder; ADAM-DC-0008: no consent, revoked or
    /// expired; `unauthorized_user`; a generation 1 refresh token refused
    /// with `invalid_grant`). Ask the customer to consent again.
    ConsentRequired,
    /// Generation 1: no refresh token is known for this meter (none in the
    /// [`TokenStore`](crate::TokenStore)). Ask the customer to consent.
    NoToken,
    /// The application is not subscribed to this API on Enedis's developer
    /// portal (DataHub): WSO2 code 900908, "API Subscription validation
    /// failed". [`Error::api`] names the API; every call to it fails the
    /// same way, for every meter, until the application subscribes to it.
    NotSubscribed,
    /// The gateway serves no API at this path (WSO2's 404 "No matching
    /// resource found for given API Request"): an API retired from the
    /// gateway (the v5 APIs, around mid-October 2026) or a path that was
    /// never published. Switch to the generation Enedis serves (2026).
    NoSuchApi,
    /// The 2026 gateway answered 500 twice in a row to this request, with
    /// no technical-error body: the answer it gives to a request outside
    /// the API's published description (an unknown parameter or resource),
    /// so a request error in disguise. It is not retried further; a real
    /// technical failure carries the API's technical-error body ("Problème
    /// technique…", ADAM-DC-0500…) or is a 503, and stays
    /// [`Server`](ErrorKind::Server).
    RequestRejected,
    /// The API refused access for another reason (HTTP 403 without a known
    /// code).
    Forbidden,
    /// The access token was refused (HTTP 401, fault 900901,
    /// `invalid_token`) even after the client fetched a new one.
    Unauthorized,
    /// The token endpoint refused the application's credentials
    /// (`invalid_client`, `unauthorized_client`, `unsupported_grant_type`,
    /// `invalid_scope`). Check the client id and secret.
    Authentication,
    /// The quota was exceeded (HTTP 429, faults 900800–900807, legacy
    /// "Quota Q3/Q4 reached"). [`Error::retry_after`] says how long to wait
    /// when the API said so.
    RateLimited,
    /// The server failed (HTTP 5xx, ADAM-DC-0500, STM-ERR-0000001,
    /// `technical_error`). Retry later.
    Server,
    /// The request timed out.
    Timeout,
    /// The connection failed or broke (DNS, refused, reset).
    Transport,
    /// The response body was cut before its end.
    Truncated,
    /// The response body is not the JSON the generation's wire format
    /// describes; the error names the JSON path and the offending value.
    Decode,
    /// The customer refused consent (redirect with `error=access_denied`).
    ConsentDenied,
    /// The consent page redirected back with another error
    /// (`invalid_request`, `server_error`…).
    ConsentFailed,
    /// The `state` of the redirect is missing or is not the one the consent
    /// was asked with: the redirect may be forged. Nothing was exchanged.
    StateMismatch,
    /// The redirect lacks a parameter its generation needs (`code`,
    /// `usage_point_id`, `autorisation_id`) or carries an invalid one.
    InvalidRedirect,
    /// Generation 3: the authorisation has no active or requested service
    /// yet (`POST /subscribed_services/v1` returned none).
    NoSubscribedService,
    /// A generation 1 or 2 redirect named a usage point that the API does
    /// not confirm as shared with this application (the confirming data
    /// call was refused with "no consent", "unknown meter" or another
    /// refusal): the redirect may be forged. Nothing should be recorded.
    UnconfirmedUsagePoint,
    /// The token store failed: an I/O error, an unreadable file, or a file
    /// that group or others can read.
    TokenStore,
    /// Any other error answer of the API.
    Api,
}

/// An error of the client library. See [`ErrorKind`] for what each kind
/// means, and the predicates ([`is_retryable`](Error::is_retryable),
/// [`needs_consent`](Error::needs_consent), [`is_clamp`](Error::is_clamp),
/// [`stops_series`](Error::stops_series)) for what to do.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    status: Option<u16>,
    code: Option<String>,
    message: Option<String>,
    retry_after: Option<Duration>,
    context: Option<String>,
    /// The API the request was sent to: the first segment of its path.
    api: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, context: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                status: None,
                code: None,
                message: None,
                retry_after: None,
                context: Some(context.into()),
                api: None,
                source: None,
            }),
        }
    }

    /// An error answered by a gateway in front of Data Connect, with the
    /// HTTP status and the gateway's own text (`wire::conso`).
    pub(crate) fn gateway(kind: ErrorKind, status: u16, message: Option<String>, context: String) -> Self {
        let mut e = Error::new(kind, context);
        e.inner.status = Some(status);
        e.inner.message = message;
        e
    }

    pub(crate) fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Box::new(source));
        self
    }

    pub(crate) fn with_context(mut self, context: impl Into<String>) -> Self {
        self.inner.context = Some(context.into());
        self
    }

    /// Names the API a request was sent to, from its path
    /// (`mesure_synchrone_auto/v2/…` → `mesure_synchrone_auto`).
    pub(crate) fn with_api(mut self, path: &str) -> Self {
        let api = path.trim_start_matches('/').split('/').next().unwrap_or_default();
        if !api.is_empty() {
            self.inner.api = Some(api.to_owned());
        }
        self
    }

    /// Turns a repeated bare 500 of the 2026 gateway into
    /// [`ErrorKind::RequestRejected`].
    pub(crate) fn rejected_request(mut self) -> Self {
        self.inner.kind = ErrorKind::RequestRejected;
        self
    }

    /// True for a 500 that carries none of the technical-error bodies: no
    /// code, or a code that says nothing more than the status. Such an
    /// answer, repeated, is how the 2026 gateway refuses a request outside
    /// the published description.
    pub(crate) fn is_bare_500(&self) -> bool {
        let i = &self.inner;
        i.status == Some(500)
            && i.kind == ErrorKind::Server
            && i.code.as_deref().is_none_or(|c| matches!(c.trim(), "500" | ""))
            && i.message.as_deref().is_none_or(|m| !m.to_lowercase().contains("technique"))
    }

    /// A copy of the answer's fields (kind, status, code, text), without
    /// the source, to compare a later answer with.
    pub(crate) fn clone_answer(&self) -> Error {
        let i = &self.inner;
        Error {
            inner: Box::new(Inner {
                kind: i.kind,
                status: i.status,
                code: i.code.clone(),
                message: i.message.clone(),
                retry_after: i.retry_after,
                context: i.context.clone(),
                api: i.api.clone(),
                source: None,
            }),
        }
    }

    /// Whether two errors are the same answer (status, code and text).
    pub(crate) fn same_answer(&self, other: &Error) -> bool {
        let (a, b) = (&self.inner, &other.inner);
        a.status == b.status && a.code == b.code && a.message == b.message
    }

    /// The API the failed request was sent to, by the first segment of its
    /// path (`mesure_synchrone_auto`, `comptage_auto`, `metering_data_clc`…),
    /// when the error came from an answer of the API. With
    /// [`ErrorKind::NotSubscribed`], the API to subscribe to.
    pub fn api(&self) -> Option<&str> {
        self.inner.api.as_deref()
    }

    /// What kind of error this is.
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// The HTTP status of the answer, when there was one.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// The API's error code as it was sent (`ADAM-ERR0123`, `900908`,
    /// `no_data_found`…), when there was one.
    pub fn code(&self) -> Option<&str> {
        self.inner.code.as_deref()
    }

    /// The API's error text (`error_description`, `message`,
    /// `description`), when there was one.
    pub fn api_message(&self) -> Option<&str> {
        self.inner.message.as_deref()
    }

    /// True when trying again later may succeed: quota, 5xx, timeouts,
    /// transport errors and cut bodies. The client already retried these
    /// `max_attempts` times before returning them.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.inner.kind,
            ErrorKind::RateLimited
                | ErrorKind::Server
                | ErrorKind::Timeout
                | ErrorKind::Transport
                | ErrorKind::Truncated
        )
    }

    /// How long to wait before the next call, from `Retry-After` or the
    /// gateway's `nextAccessTime`, when the API said so.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// True when the customer must consent again before any more data can
    /// be read for this meter.
    pub fn needs_consent(&self) -> bool {
        matches!(
            self.inner.kind,
            ErrorKind::ConsentRequired
                | ErrorKind::NoToken
                | ErrorKind::ConsentDenied
                | ErrorKind::UnconfirmedUsagePoint
        )
    }

    /// True for the errors that mean "this part of the range cannot be
    /// served, later days can": before activation (ADAM-ERR0123), before
    /// the history deadline (ADAM-ERR0125), before the consent start
    /// (ADAM-DC-0009). Clamp the range and continue.
    pub fn is_clamp(&self) -> bool {
        matches!(
            self.inner.kind,
            ErrorKind::BeforeActivation | ErrorKind::HistoryDeadline | ErrorKind::BeforeConsentStart
        )
    }

    /// True for the errors after which asking again for the same series of
    /// this meter is pointless: the meter does not measure that direction
    /// (ADAM-ERR0069) or the load curve is not collected (ADAM-ERR0075).
    pub fn stops_series(&self) -> bool {
        matches!(self.inner.kind, ErrorKind::WrongDirection | ErrorKind::CurveNotCollected)
    }

    /// True for a 429 of the hourly cap (WSO2 900804, legacy "Quota Q4"),
    /// as opposed to the per-second one.
    pub fn is_hourly_quota(&self) -> bool {
        self.inner.kind == ErrorKind::RateLimited
            && (self.inner.code.as_deref().is_some_and(|c| normalize_code(c) == "900804")
                || self.inner.message.as_deref().is_some_and(|m| m.contains("Q4")))
    }

    /// True when the API had no data for the period (see
    /// [`ErrorKind::NoData`]).
    pub fn is_no_data(&self) -> bool {
        self.inner.kind == ErrorKind::NoData
    }

    /// What the caller should do, in one sentence.
    pub fn advice(&self) -> &'static str {
        match self.inner.kind {
            ErrorKind::Config => "fix the client configuration",
            ErrorKind::Unsupported => "use another API generation for this endpoint",
            ErrorKind::InvalidRequest => "fix the request; retrying it unchanged will fail again",
            ErrorKind::WindowTooLong => "ask for at most 7 days of load curve per call",
            ErrorKind::BeforeActivation => {
                "the period starts before the meter's last activation: start at the activation date"
            }
            ErrorKind::HistoryDeadline => {
                "the period is older than the API keeps (24 months + 15 days for curves, 36 months + 15 days otherwise): start later"
            }
            ErrorKind::BeforeConsentStart => "the period starts before the consent: start at the consent date",
            ErrorKind::WrongDirection => {
                "the meter does not measure this direction (for example consumption on a production-only meter), or, for a load curve, the curve is not collected: stop asking for this series; for a consumption load curve the customer must enable the hourly collection (\"Collecte de la consommation horaire\") in their Enedis account"
            }
            ErrorKind::CurveNotCollected => {
                "the load curve is not collected: the customer must enable the hourly collection (\"Collecte de la consommation horaire\") in their Enedis account; stop asking for the curve until then"
            }
            ErrorKind::NoData => {
                "no data for this period yet: data for day D appears on D+1 after 08:00 Paris time; try again later"
            }
            ErrorKind::UnknownUsagePoint => "check the usage point id (14 digits) and its consent",
            ErrorKind::ConsentRequired => "ask the customer to consent again",
            ErrorKind::NoToken => "no refresh token is stored for this meter: ask the customer to consent",
            ErrorKind::NotSubscribed => {
                "the application is not subscribed to this API: subscribe to it on Enedis's developer portal (DataHub, the application's API subscriptions); every meter fails the same way until then"
            }
            ErrorKind::NoSuchApi => {
                "the gateway serves no API at this path (v5 was retired in October 2026): use generation 2026 (--generation 2026)"
            }
            ErrorKind::RequestRejected => {
                "the 2026 gateway answers 500 to requests outside the API's published description: the request does not match it; retrying unchanged will fail again"
            }
            ErrorKind::Forbidden => "check the application's rights and the customer's consent",
            ErrorKind::Unauthorized => "the access token was refused even after renewal: check the credentials",
            ErrorKind::Authentication => "check the client id and client secret",
            ErrorKind::RateLimited => "wait for the quota to refill, then try again",
            ErrorKind::Server => "the server failed: try again later",
            ErrorKind::Timeout => "the request timed out: try again later",
            ErrorKind::Transport => "the connection failed: check the network and try again",
            ErrorKind::Truncated => "the answer was cut: try again",
            ErrorKind::Decode => "the answer does not have the expected shape: report it with the path above",
            ErrorKind::ConsentDenied => "the customer refused consent",
            ErrorKind::ConsentFailed => "the consent page failed: ask the customer to try again",
            ErrorKind::StateMismatch => "ignore this redirect and start the consent again",
            ErrorKind::InvalidRedirect => "start the consent again",
            ErrorKind::NoSubscribedService => "the consent is not active yet: try again in a few minutes",
            ErrorKind::UnconfirmedUsagePoint => "record nothing for this redirect and start the consent again",
            ErrorKind::TokenStore => "fix the token store (file permissions, disk)",
            ErrorKind::Api => "see the API's message",
        }
    }

    /// Builds an error from an HTTP error answer of Data Connect, as of now
    /// (the client itself passes the server's time to `from_response_at`;
    /// this form serves the fuzz entry points and the tests).
    #[cfg(any(test, feature = "internals"))]
    pub(crate) fn from_response(
        status: u16,
        header_retry_after: Option<Duration>,
        body: &[u8],
        context: String,
    ) -> Self {
        Error::from_response_at(status, header_retry_after, body, context, Timestamp::now())
    }

    /// Like `from_response`, with the server's time (its `Date` header) to
    /// measure a `nextAccessTime` against.
    pub(crate) fn from_response_at(
        status: u16,
        header_retry_after: Option<Duration>,
        body: &[u8],
        context: String,
        server_now: Timestamp,
    ) -> Self {
        let parsed = ErrorBody::parse_at(body, server_now);
        let kind = classify(status, parsed.code.as_deref(), parsed.message.as_deref());
        let retry_after = header_retry_after.or(parsed.retry_after);
        Error {
            inner: Box::new(Inner {
                kind,
                status: Some(status),
                code: parsed.code,
                message: parsed.message,
                retry_after,
                context: Some(context),
                api: None,
                source: None,
            }),
        }
    }

    /// Builds a decode error that names the JSON path and, when it can be
    /// found, the offending value.
    pub(crate) fn decode(err: serde_path_to_error::Error<serde_json::Error>, body: &[u8], what: &str) -> Self {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.classify() == serde_json::error::Category::Eof {
            return Error::new(ErrorKind::Truncated, format!("the {what} answer ends early (at `{path}`)"))
                .with_source(inner);
        }
        let value = offending_value(body, &path).map(|v| format!(" (value: {v})")).unwrap_or_default();
        Error::new(ErrorKind::Decode, format!("cannot decode the {what} answer at `{path}`{value}")).with_source(inner)
    }
}

/// Finds the value at a serde_path_to_error path in the body, shortened,
/// for the error message. Only used on the error path, so parsing the body
/// a second time costs nothing in the normal case.
fn offending_value(body: &[u8], path: &str) -> Option<String> {
    let root: serde_json::Value = serde_json::from_slice(body).ok()?;
    let mut cur = &root;
    if path != "." {
        for seg in path.split('.') {
            // A segment is `name`, `name[3]`, or `[3]`.
            let (name, idx) = match seg.find('[') {
                Some(i) => (&seg[..i], Some(&seg[i..])),
                None => (seg, None),
            };
            if !name.is_empty() {
                cur = cur.get(name)?;
            }
            if let Some(mut rest) = idx {
                while let Some(close) = rest.find(']') {
                    let n: usize = rest.get(1..close)?.parse().ok()?;
                    cur = cur.get(n)?;
                    rest = &rest[close + 1..];
                }
            }
        }
    }
    let mut s = cur.to_string();
    if s.len() > 80 {
        let mut cut = 77;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    Some(s)
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        if let (ErrorKind::NotSubscribed, Some(api)) = (i.kind, &i.api) {
            write!(f, "the application is not subscribed to the API {api}: ")?;
        }
        if let Some(c) = &i.context {
            write!(f, "{c}")?;
        } else {
            write!(f, "{:?}", i.kind)?;
        }
        match (i.status, &i.code, &i.message) {
            (Some(s), Some(c), Some(m)) => write!(f, ": HTTP {s} {c}: {}", m.trim())?,
            (Some(s), Some(c), None) => write!(f, ": HTTP {s} {c}")?,
            (Some(s), None, Some(m)) => write!(f, ": HTTP {s}: {}", m.trim())?,
            (Some(s), None, None) => write!(f, ": HTTP {s}")?,
            _ => {}
        }
        if let Some(src) = &i.source {
            write!(f, ": {src}")?;
        }
        if let Some(d) = i.retry_after {
            write!(f, " (retry after {} s)", d.as_secs())?;
        }
        write!(f, "; {}", self.advice())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Error")
            .field("kind", &i.kind)
            .field("status", &i.status)
            .field("code", &i.code)
            .field("message", &i.message)
            .field("retry_after", &i.retry_after)
            .field("context", &i.context)
            .field("api", &i.api)
            .field("source", &i.source)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source.as_ref().map(|s| s.as_ref() as &(dyn std::error::Error + 'static))
    }
}

/// Normalises an error code for comparison: case-insensitive, with `-` and
/// `_` alike (the Swagger says `ADAM_DC_0008`, real bodies `ADAM-DC-0008`).
pub(crate) fn normalize_code(code: &str) -> String {
    code.trim().to_ascii_uppercase().replace('_', "-")
}

/// Maps a status, code and message to a kind. Known codes win over the
/// status, because Enedis sends the same code under different statuses
/// (ADAM-DC-0007 as 400 or 403).
fn classify(status: u16, code: Option<&str>, message: Option<&str>) -> ErrorKind {
    let code = code.map(normalize_code).unwrap_or_default();
    let by_code = match code.as_str() {
        "ADAM-ERR0123" => Some(ErrorKind::BeforeActivation),
        "ADAM-ERR0125" | "ADAM-DC-0016" => Some(ErrorKind::HistoryDeadline),
        "ADAM-ERR0126" | "ADAM-DC-0015" => Some(ErrorKind::WindowTooLong),
        "ADAM-DC-0009" => Some(ErrorKind::BeforeConsentStart),
        "ADAM-ERR0069" => Some(ErrorKind::WrongDirection),
        "ADAM-ERR0075" => Some(ErrorKind::CurveNotCollected),
        "ADAM-DC-0007" | "ADAM-DC-0008" | "ADAM-ERR0061" | "UNAUTHORIZED-USER" | "INVALID-GRANT" => {
            Some(ErrorKind::ConsentRequired)
        }
        "NO-DATA-FOUND" | "STM-ERR-0000014" | "STM-ERR-0000020" => Some(ErrorKind::NoData),
        "STM-ERR-0000019" => Some(ErrorKind::UnknownUsagePoint),
        "ADAM-DC-0500" | "STM-ERR-0000001" | "TECHNICAL-ERROR" | "SERVER-ERROR" | "TEMPORARILY-UNAVAILABLE" => {
            Some(ErrorKind::Server)
        }
        "900901" | "900902" | "900900" | "INVALID-TOKEN" => Some(ErrorKind::Unauthorized),
        "900908" => Some(ErrorKind::NotSubscribed),
        "900800" | "900801" | "900802" | "900803" | "900804" | "900805" | "900806" | "900807" | "429" => {
            Some(ErrorKind::RateLimited)
        }
        "INVALID-CLIENT" | "UNAUTHORIZED-CLIENT" | "UNSUPPORTED-GRANT-TYPE" | "INVALID-SCOPE" => {
            Some(ErrorKind::Authentication)
        }
        "ACCESS-DENIED" => Some(ErrorKind::ConsentDenied),
        "INVALID-REQUEST" => Some(ErrorKind::InvalidRequest),
        _ => None,
    };
    // A 429 or a 5xx is always what its status says, whatever the code: the
    // client must wait or retry (legacy sent `{"error":"429"}`, EDDIE saw
    // `technical_error` with a "no measure" text under 500).
    if status == 429 {
        return ErrorKind::RateLimited;
    }
    if status >= 500 {
        return ErrorKind::Server;
    }
    if let Some(k) = by_code {
        return k;
    }
    let msg = message.unwrap_or_default().to_lowercase();
    match status {
        400 => ErrorKind::InvalidRequest,
        401 => ErrorKind::Unauthorized,
        403 => {
            if msg.contains("titulaire") || msg.contains("consent") || msg.contains("autoris") || msg.contains("owner")
            {
                ErrorKind::ConsentRequired
            } else {
                ErrorKind::Forbidden
            }
        }
        404 => {
            if msg.contains("no matching resource") {
                ErrorKind::NoSuchApi
            } else if msg.contains("prm non existant") || msg.contains("unknown or unauthorized") {
                ErrorKind::UnknownUsagePoint
            } else if msg.contains("mesure")
                || msg.contains("measure")
                || msg.contains("no data")
                || msg.contains("donnée")
            {
                ErrorKind::NoData
            } else {
                ErrorKind::Api
            }
        }
        _ => ErrorKind::Api,
    }
}

/// The fields of an error body, whatever its family.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct ErrorBody {
    pub code: Option<String>,
    pub message: Option<String>,
    pub retry_after: Option<Duration>,
}

impl ErrorBody {
    #[cfg(test)]
    pub(crate) fn parse(body: &[u8]) -> ErrorBody {
        ErrorBody::parse_at(body, Timestamp::now())
    }

    /// Parses an error body; a `nextAccessTime` is turned into a wait from
    /// `server_now`.
    pub(crate) fn parse_at(body: &[u8], server_now: Timestamp) -> ErrorBody {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
            return ErrorBody::default();
        };
        // The mesure Swagger defines `Erreur` as an array of {code, message};
        // take its first element if one ever comes.
        let v = match &v {
            serde_json::Value::Array(a) => a.first().cloned().unwrap_or_default(),
            _ => v,
        };
        let obj = v.get("fault").filter(|f| f.is_object()).unwrap_or(&v);
        let text = |k: &str| -> Option<String> {
            match obj.get(k)? {
                serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        };
        let code = text("error").or_else(|| text("code"));
        // OAuth-style bodies put the text in `error_description` (EDDIE
        // reads `error_message`); faults have `message` and a longer
        // `description`, and the description is the more useful one.
        let message = text("error_description").or_else(|| text("error_message")).or_else(|| {
            match (text("message"), text("description")) {
                (Some(m), Some(d)) => Some(format!("{}: {}", m.trim(), d.trim())),
                (m, d) => m.or(d),
            }
        });
        let next = text("nextAccessTime").or_else(|| {
            let d = text("description")?;
            let i = d.find("access API after ")?;
            Some(d[i + "access API after ".len()..].to_owned())
        });
        let retry_after = next.and_then(|s| parse_next_access_time(&s, server_now));
        ErrorBody { code, message, retry_after }
    }
}

/// Parses the gateway's `nextAccessTime`, e.g. `2026-Jul-17 05:00:00+0000
/// UTC`, into a wait from `now` (zero when it is already past).
pub(crate) fn parse_next_access_time(s: &str, now: Timestamp) -> Option<Duration> {
    let s = s.trim().trim_end_matches("UTC").trim();
    let ts = jiff::fmt::strtime::parse("%Y-%b-%d %H:%M:%S%z", s)
        .ok()
        .and_then(|b| b.to_timestamp().ok())
        .or_else(|| s.parse::<Timestamp>().ok())?;
    let ms = ts.as_millisecond() - now.as_millisecond();
    // A time already past says nothing usable (a clock skew, or a
    // replaying sandbox writing its frozen clock's time): no wait then.
    (ms > 0).then(|| Duration::from_millis(ms as u64))
}

/// Parses a `Retry-After` header value: delay-seconds or an HTTP date.
pub(crate) fn parse_retry_after(v: &str, now: Timestamp) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(86_400.0)));
        }
        return None;
    }
    let ts = jiff::fmt::rfc2822::parse(v).ok()?.timestamp();
    let ms = ts.as_millisecond() - now.as_millisecond();
    Some(Duration::from_millis(ms.max(0) as u64))
}

#[cfg(test)]
mod tests;
