//! The consent journey: the authorize URL to send the customer to, and the
//! redirect that comes back.
//!
//! | generation | authorize path | redirect | then |
//! |---|---|---|---|
//! | 1 (legacy) | `dataconnect/v1/oauth2/authorize` with `redirect_uri` | `code`, `state`, `usage_point_id` (`,`-separated) | exchange the code at `POST /v1/oauth2/token?redirect_uri=…`, keep the refresh token; the meters are the token's |
//! | 2 (v5) | `dataconnect/v1/oauth2/authorize` | `code` (unused), `state`, `usage_point_id` (`;`-separated) | one data call per meter confirms the consent (ADAM-DC-0008 refuses it) |
//! | 3 (2026) | `dataconnect/v2/oauth2/authorize` | `autorisation_id`, `state` | `POST /subscribed_services/v1` gives the PRM(s) |
//!
//! A redirect is read strictly as its generation sends it, because anyone
//! can send one: a generation 3 redirect with a `usage_point_id` or a
//! `code`, or a generation 2 one with an `autorisation_id`, is refused, and
//! no meter is returned that the API has not confirmed for this
//! application.
//!
//! The `state` carries 192 random bits (base64url), plus, for the sandbox,
//! a last digit that selects the sandbox test client. It is compared in
//! constant time, and before anything is exchanged.

use std::fmt;

use base64::Engine;
use subtle::ConstantTimeEq;
use url::Url;

use crate::client::{Auth, Body, Call, Client, PRODUCTION_AUTHORIZE_BASE_URL, api_of};
use crate::domain::{Consent, ConsentDuration, Generation, UsagePointId};
use crate::error::{Error, ErrorKind, normalize_code};
use crate::secret::AuthorizationCode;
use crate::wire;

/// A consent request: the URL to send the customer to, and the `state` to
/// check when the redirect comes back. Keep the state (in the customer's
/// session) until then.
#[derive(Clone)]
pub struct ConsentRequest {
    url: Url,
    state: String,
    duration: ConsentDuration,
    generation: Generation,
}

impl ConsentRequest {
    /// The authorize URL.
    pub fn url(&self) -> Url {
        self.url.clone()
    }

    /// The `state` the URL carries.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// The consent duration asked for.
    pub fn duration(&self) -> ConsentDuration {
        self.duration
    }

    /// The generation of the consent page.
    pub fn generation(&self) -> Generation {
        self.generation
    }
}

impl fmt::Debug for ConsentRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The state is a one-time anti-forgery value: keep it out of logs
        // until it has been used.
        f.debug_struct("ConsentRequest")
            .field("generation", &self.generation)
            .field("duration", &self.duration)
            .field("state", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// How many pending consent requests the client remembers (to recover the
/// duration when the redirect comes back); older ones are forgotten.
const MAX_PENDING: usize = 4096;

fn random_state() -> Result<String, Error> {
    let mut b = [0u8; 24];
    getrandom::fill(&mut b)
        .map_err(|e| Error::new(ErrorKind::Config, format!("the OS gave no randomness for the consent state: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
}

impl Client {
    /// Builds the authorize URL for a consent of `duration`.
    ///
    /// `sandbox_client`, 0 to 9, makes the state end with that digit, which
    /// selects the sandbox test client (Enedis' sandbox and ours).
    pub fn consent_request(
        &self,
        duration: ConsentDuration,
        sandbox_client: Option<u8>,
    ) -> Result<ConsentRequest, Error> {
        let mut state = random_state()?;
        if let Some(n) = sandbox_client {
            if n > 9 {
                return Err(Error::new(ErrorKind::Config, format!("sandbox client {n} does not exist: use 0 to 9")));
            }
            state.push(char::from(b'0' + n));
        }
        let generation = self.generation();
        let cfg = self.config();
        // Production consent pages live on the customer-account host, not
        // on the API gateway; anywhere else (a sandbox, a local emulator)
        // one base URL serves everything.
        let prod_hosts = ["gw.ext.prod.api.enedis.fr", "gw.prd.api.enedis.fr", "ext.prod.api.enedis.fr"];
        let mut url = if cfg.base_url.host_str().is_some_and(|h| prod_hosts.contains(&h)) {
            Url::parse(PRODUCTION_AUTHORIZE_BASE_URL)
                .map_err(|e| Error::new(ErrorKind::Config, "bad authorize host").with_source(e))?
                .join(authorize_path(generation))
                .map_err(|e| Error::new(ErrorKind::Config, "bad authorize path").with_source(e))?
        } else {
            self.url(authorize_path(generation))?
        };
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", &cfg.client_id);
            q.append_pair("response_type", "code");
            q.append_pair("state", &state);
            q.append_pair("duration", &duration.to_string());
            if generation == Generation::Legacy {
                let r = cfg.redirect_uri.as_ref().ok_or_else(|| {
                    Error::new(ErrorKind::Config, "generation 1 consent needs the registered redirect_uri")
                })?;
                q.append_pair("redirect_uri", r.as_str());
            }
        }
        if let Ok(mut p) = self.inner.pending_consents.lock() {
            if p.len() >= MAX_PENDING {
                p.clear();
            }
            p.insert(state.clone(), duration);
        }
        Ok(ConsentRequest { url, state, duration, generation })
    }

    /// Completes a consent from the redirect URL, checking its `state`
    /// against `expected_state` (in constant time) before anything else.
    ///
    /// Generation 1 exchanges the code and keeps the refresh token in the
    /// token store; generation 3 resolves the `autorisation_id` into
    /// usage points with `POST /subscribed_services/v1`.
    pub async fn complete_consent(&self, redirect: &Url, expected_state: &str) -> Result<Consent, Error> {
        let duration = self.inner.pending_consents.lock().ok().and_then(|mut p| p.remove(expected_state));
        self.complete(redirect, expected_state, duration).await
    }

    /// Like [`complete_consent`](Self::complete_consent), with the request
    /// the consent was asked with (its duration is then known for sure).
    pub async fn complete_consent_for(&self, redirect: &Url, request: &ConsentRequest) -> Result<Consent, Error> {
        if let Ok(mut p) = self.inner.pending_consents.lock() {
            p.remove(request.state());
        }
        self.complete(redirect, request.state(), Some(request.duration())).await
    }

    async fn complete(
        &self,
        redirect: &Url,
        expected_state: &str,
        duration: Option<ConsentDuration>,
    ) -> Result<Consent, Error> {
        let get = |k: &str| redirect.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.into_owned());
        let state = get("state");
        if let Some(s) = &state
            && !bool::from(s.as_bytes().ct_eq(expected_state.as_bytes()))
        {
            return Err(Error::new(
                ErrorKind::StateMismatch,
                "the redirect's state is not the one the consent was asked with",
            ));
        }
        if let Some(err) = get("error") {
            let desc = get("error_description").unwrap_or_default();
            let kind = if normalize_code(&err) == "ACCESS-DENIED" {
                ErrorKind::ConsentDenied
            } else {
                ErrorKind::ConsentFailed
            };
            return Err(Error::new(kind, format!("the consent page answered {err}: {desc}")));
        }
        if state.is_none() {
            return Err(Error::new(ErrorKind::StateMismatch, "the redirect carries no state"));
        }
        let generation = self.generation();
        let mut start = self.today();
        let mut end = None;
        let mut autorisation_id = None;
        let usage_points = match generation {
            Generation::Legacy => self.complete_legacy(&get).await?,
            Generation::V5 => self.complete_v5(&get).await?,
            Generation::Dc2026 => {
                // Generation 3 redirects carry `autorisation_id` and `state`
                // only: a `usage_point_id` or a `code` did not come from
                // Enedis's consent page, and is refused rather than ignored.
                for foreign in ["usage_point_id", "code"] {
                    if get(foreign).is_some() {
                        return Err(Error::new(
                            ErrorKind::InvalidRedirect,
                            format!(
                                "a generation 3 redirect carries no {foreign}: this one was not sent by the consent page"
                            ),
                        ));
                    }
                }
                let id = get("autorisation_id")
                    .filter(|id| !id.trim().is_empty())
                    .ok_or_else(|| Error::new(ErrorKind::InvalidRedirect, "the redirect carries no autorisation_id"))?;
                let sub = self.subscribed_services(&id).await?;
                let mut usage_points = Vec::new();
                for p in sub.usage_points {
                    if !usage_points.contains(&p) {
                        usage_points.push(p);
                    }
                }
                if usage_points.is_empty() {
                    return Err(Error::new(
                        ErrorKind::NoSubscribedService,
                        format!("authorisation {id} has no active or requested service yet"),
                    ));
                }
                start = sub.start.unwrap_or(start);
                end = sub.end;
                autorisation_id = Some(id.trim().to_owned());
                usage_points
            }
        };
        // The duration: the one asked for when this client asked, else the
        // service's validity in days, else the three-year maximum.
        let duration = duration
            .or_else(|| {
                let days = start.until(end?).ok()?.get_days();
                ConsentDuration::parse(&format!("P{days}D")).ok()
            })
            .unwrap_or(ConsentDuration::MAX);
        Ok(Consent { usage_points, generation, start, duration, state: expected_state.to_owned(), autorisation_id })
    }

    /// Generation 1: the code is exchanged for the customer's tokens, and
    /// the meters are the ones the token answer names. The redirect's
    /// `usage_point_id` must be among them; when the answer names none,
    /// each meter of the redirect is confirmed with a data call made with
    /// the customer's new token, which reaches only the consented meters.
    async fn complete_legacy(&self, get: &impl Fn(&str) -> Option<String>) -> Result<Vec<UsagePointId>, Error> {
        let claimed = redirect_usage_points(get("usage_point_id").as_deref())?;
        let code = get("code")
            .filter(|c| !c.is_empty())
            .map(AuthorizationCode::new)
            .ok_or_else(|| Error::new(ErrorKind::InvalidRedirect, "the redirect carries no code"))?;
        let answer = self
            .legacy_token(vec![("grant_type", "authorization_code".into()), ("code", code.secret().to_owned())])
            .await?;
        let mut granted: Vec<UsagePointId> = Vec::new();
        for p in answer.usage_points.iter().filter_map(|p| UsagePointId::new(p).ok()) {
            if !granted.contains(&p) {
                granted.push(p);
            }
        }
        if granted.is_empty() {
            if claimed.is_empty() {
                return Err(Error::new(
                    ErrorKind::InvalidRedirect,
                    "neither the redirect nor the token names a usage point",
                ));
            }
            self.keep_legacy_tokens(&answer, &claimed).await?;
            self.confirm_usage_points(&claimed).await?;
            return Ok(claimed);
        }
        if let Some(extra) = claimed.iter().find(|p| !granted.contains(p)) {
            return Err(Error::new(
                ErrorKind::InvalidRedirect,
                format!(
                    "the redirect names usage point {extra}, which the token exchanged for its code does not cover"
                ),
            ));
        }
        self.keep_legacy_tokens(&answer, &granted).await?;
        Ok(granted)
    }

    /// Generation 2: the redirect names the meters (`;`-separated) and its
    /// `code` cannot be exchanged, so nothing in it proves the list. Each
    /// meter is confirmed with a data call the consent must allow, before
    /// anything is recorded.
    async fn complete_v5(&self, get: &impl Fn(&str) -> Option<String>) -> Result<Vec<UsagePointId>, Error> {
        if get("autorisation_id").is_some() {
            return Err(Error::new(
                ErrorKind::InvalidRedirect,
                "a generation 2 redirect carries no autorisation_id: this one was not sent by the consent page",
            ));
        }
        let usage_points = redirect_usage_points(get("usage_point_id").as_deref())?;
        if usage_points.is_empty() {
            return Err(Error::new(ErrorKind::InvalidRedirect, "the redirect carries no usage_point_id"));
        }
        self.confirm_usage_points(&usage_points).await?;
        Ok(usage_points)
    }

    /// Asks the API, meter by meter, for a day of daily consumption: an
    /// answer that comes after the API's consent check (data, no data yet,
    /// a production-only meter, a period before activation…) confirms the
    /// consent; "no consent" (ADAM-DC-0008), an unknown meter or any
    /// refusal is [`ErrorKind::UnconfirmedUsagePoint`]; a failure that
    /// says nothing about the consent (quota, server, network) is returned
    /// as it is, so the caller can tell the customer to come back.
    async fn confirm_usage_points(&self, usage_points: &[UsagePointId]) -> Result<(), Error> {
        let today = self.today();
        let from = today.checked_sub(jiff::Span::new().days(2)).unwrap_or(today);
        let to = today.checked_sub(jiff::Span::new().days(1)).unwrap_or(today);
        let window = crate::DateRange::new(from, to)
            .map_err(|e| Error::new(ErrorKind::Config, "no day to confirm the consent with").with_source(e))?;
        for prm in usage_points {
            match self.window(prm, crate::Series::ConsumptionDaily, window).send().await {
                Ok(_) => {}
                Err(e) if confirms_consent(e.kind()) => {}
                Err(e) if decides_consent(e.kind()) => {
                    return Err(Error::new(
                        ErrorKind::UnconfirmedUsagePoint,
                        format!("the API does not confirm a consent for usage point {prm}: {e}"),
                    ));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn subscribed_services(&self, autorisation_id: &str) -> Result<wire::dc2026::Subscribed, Error> {
        // A positive int64, as LMDB checks it.
        let id: i64 = autorisation_id.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
            Error::new(ErrorKind::InvalidRedirect, "the redirect's autorisation_id is not a positive integer")
        })?;
        self.call(&subscribed_services_call(id, "ACCES"), wire::dc2026::decode_subscribed).await
    }
}

fn authorize_path(g: Generation) -> &'static str {
    match g {
        Generation::Legacy | Generation::V5 => "dataconnect/v1/oauth2/authorize",
        Generation::Dc2026 => "dataconnect/v2/oauth2/authorize",
    }
}

/// The most meters one redirect may name: a household has a few; a longer
/// list is not a consent page's answer, and each costs a confirming call.
pub const MAX_REDIRECT_USAGE_POINTS: usize = 10;

/// The `usage_point_id` of a redirect: `;` in v5, `,` in legacy (both are
/// read), each a 14-digit PRM, at most [`MAX_REDIRECT_USAGE_POINTS`].
fn redirect_usage_points(list: Option<&str>) -> Result<Vec<UsagePointId>, Error> {
    let mut usage_points = Vec::new();
    for p in list.unwrap_or_default().split([';', ',']).map(str::trim).filter(|p| !p.is_empty()) {
        let prm = UsagePointId::new(p).map_err(|e| {
            Error::new(ErrorKind::InvalidRedirect, "the redirect's usage_point_id is invalid").with_source(e)
        })?;
        if !usage_points.contains(&prm) {
            usage_points.push(prm);
        }
    }
    if usage_points.len() > MAX_REDIRECT_USAGE_POINTS {
        return Err(Error::new(
            ErrorKind::InvalidRedirect,
            format!(
                "the redirect names {} usage points, more than the {MAX_REDIRECT_USAGE_POINTS} a consent is read with",
                usage_points.len()
            ),
        ));
    }
    Ok(usage_points)
}

/// Answers the API gives only once it has checked the consent: the meter
/// is shared with this application.
fn confirms_consent(kind: &ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::NoData
            | ErrorKind::WrongDirection
            | ErrorKind::CurveNotCollected
            | ErrorKind::BeforeActivation
            | ErrorKind::HistoryDeadline
            | ErrorKind::BeforeConsentStart
    )
}

/// Answers that say the meter is not shared with this application.
fn decides_consent(kind: &ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::ConsentRequired
            | ErrorKind::NoToken
            | ErrorKind::UnknownUsagePoint
            | ErrorKind::Forbidden
            | ErrorKind::InvalidRequest
            | ErrorKind::Api
    )
}

/// The `subscribed_services` request of generation 3 for one consent's
/// services of `service_type` (`ACCES` for the meters a consent opens,
/// `CCDC` for the load-curve collection), active or requested.
pub(crate) fn subscribed_services_call(autorisation_id: i64, service_type: &str) -> Call {
    let body = serde_json::json!({
        "autorisationId": autorisation_id,
        "comptage": false,
        "etatCode": ["ACTIF", "DEMANDE"],
        "serviceType": service_type,
    });
    let path = "subscribed_services/v1";
    Call {
        post: true,
        path: path.into(),
        query: Vec::new(),
        body: Body::Json(body),
        auth: Auth::App,
        api: api_of(Generation::Dc2026, path),
    }
}
