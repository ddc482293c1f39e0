//! The HTML pages of `dataconnect serve`, in French: the landing page and
//! its consent button, the redirect handler, a page per meter and the list
//! of consents.
//!
//! The landing page says what Enedis's review of a consent journey looks
//! for: who collects the data, which data, why, for how long, that the
//! consent is given on Enedis's own site and can be withdrawn there. The
//! button is a form (POST), so that a link preview or a prefetch never
//! creates a pending consent request.
//!
//! Every value that came from outside (settings, stored records, the
//! redirect's query) is escaped before it reaches a page. Pages name a
//! meter only to whoever may see it (see the `serve` module).

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use dataconnect::{ConsentDuration, DateRange, Series, UsagePointId};
use dataconnect_store::{ConsentRecord, PendingConsent, SeriesState, SyncRun};
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};

use super::worker::JobState;
use super::{AppState, SESSION_COOKIE, SESSION_TTL};
use crate::error::{Class, CliError};

/// Paths of serve's own pages, which the redirect URI must not take.
pub const RESERVED: &[&str] = &["/accord", "/compteurs", "/consentements", "/api", "/healthz", "/metrics"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(landing))
        .route("/accord", post(start))
        .route("/compteurs/{prm}", get(meter))
        .route("/consentements", get(consents))
        .fallback(fallback)
}

/// Escapes text for HTML element content and attribute values.
pub fn esc(text: &str) -> String {
    crate::html::escape(text)
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:62em;margin:1.5em auto;padding:0 1em;color:#1d1d1b;line-height:1.45}\
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:1.6em}\
.bouton{background:#1f5fa8;color:#fff;border:0;border-radius:6px;padding:.8em 1.4em;font-size:1.05em;cursor:pointer}\
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.35em .5em;text-align:left;vertical-align:top}\
.alerte{background:#fff4e5;border-left:4px solid #e08a00;padding:.6em .9em}.info{background:#eef4fb;border-left:4px solid #2a64a8;padding:.6em .9em}.erreur{background:#fdecea;border-left:4px solid #b00020;padding:.6em .9em}\
.bientot{background:#fff4e5;font-weight:bold}.ok{color:#1b7f3b}.graphique svg{max-width:100%;height:auto;border:1px solid #eee}\
footer{margin-top:3em;color:#666;font-size:.9em}";

/// A whole page: `title`, then `body` (already escaped HTML).
fn layout(title: &str, body: &str, refresh_secs: Option<u32>) -> String {
    let refresh = refresh_secs.map(|s| format!("<meta http-equiv=\"refresh\" content=\"{s}\">\n")).unwrap_or_default();
    format!(
        "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n{refresh}<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n<footer>Données fournies par Enedis (service Data Connect).</footer>\n</body>\n</html>\n",
        esc(title)
    )
}

fn html(status: StatusCode, page: String) -> Response {
    let mut response = (status, page).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    // The pages hold personal data: never cached on the way, never framed.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self' http: https:; frame-ancestors 'none'"),
    );
    response
}

/// A page that explains a failure: a title, what happened and what to do.
pub fn error_page(status: StatusCode, title: &str, text: &str) -> Response {
    let body = format!(
        "<h1>{}</h1>\n<p class=\"erreur\" role=\"alert\">{}</p>\n<p><a href=\"/\">Retour à l'accueil</a></p>\n",
        esc(title),
        esc(text)
    );
    html(status, layout(title, &body, None))
}

/// The page for a failure of our own (store, internal): the detail goes to
/// standard error, never to the page.
fn internal_page(e: &CliError) -> Response {
    eprintln!("error: {}", e.line());
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Service momentanément indisponible",
        "Le service ne peut pas répondre pour le moment. Réessayez dans quelques minutes.",
    )
}

const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// A day as French prose: `28 novembre 2027`.
pub fn day_fr(d: Date) -> String {
    let month = MONTHS.get(usize::try_from(d.month() - 1).unwrap_or(0)).copied().unwrap_or("");
    format!("{} {month} {}", d.day(), d.year())
}

/// An instant in Paris time: `28/11/2026 à 14:05`.
fn instant_fr(t: Timestamp) -> String {
    t.to_zoned_datetime(dataconnect::domain::paris()).strftime("%d/%m/%Y à %H:%M").to_string()
}

/// A consent duration in French words (`P1Y6M` → `1 an et 6 mois`).
pub fn duration_fr(d: ConsentDuration) -> String {
    let iso = d.to_string();
    let mut parts = Vec::new();
    let mut number = String::new();
    for c in iso.chars().skip(1) {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u32 = number.parse().unwrap_or(0);
        number.clear();
        let word = match (c, n > 1) {
            ('Y', false) => "an",
            ('Y', true) => "ans",
            ('M', _) => "mois",
            ('W', false) => "semaine",
            ('W', true) => "semaines",
            ('D', false) => "jour",
            ('D', true) => "jours",
            _ => continue,
        };
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    match parts.len() {
        0 => iso,
        1 => parts.remove(0),
        _ => {
            let last = parts.pop().unwrap_or_default();
            format!("{} et {last}", parts.join(", "))
        }
    }
}

/// The series as the customer reads them.
pub fn series_fr(s: Series) -> &'static str {
    match s {
        Series::ConsumptionCurve => {
            "courbe de charge de consommation (puissance moyenne par pas de 30 minutes, ou plus fin)"
        }
        Series::ConsumptionDaily => "consommation quotidienne (kWh par jour)",
        Series::ConsumptionMaxPower => "puissance maximale atteinte chaque jour",
        Series::ProductionCurve => "courbe de charge de production (si vous produisez de l'électricité)",
        Series::ProductionDaily => "production quotidienne (si vous produisez de l'électricité)",
        Series::ConsumptionIndex => {
            "index de consommation (relevés quotidiens de vos compteurs heures pleines / heures creuses)"
        }
        Series::ProductionIndex => "index de production (si vous produisez de l'électricité)",
    }
}

/// A short series name for tables and charts.
fn series_short(s: Series) -> &'static str {
    match s {
        Series::ConsumptionCurve => "Courbe de charge (consommation)",
        Series::ConsumptionDaily => "Consommation quotidienne",
        Series::ConsumptionMaxPower => "Puissance maximale quotidienne",
        Series::ProductionCurve => "Courbe de charge (production)",
        Series::ProductionDaily => "Production quotidienne",
        Series::ConsumptionIndex => "Index de consommation",
        Series::ProductionIndex => "Index de production",
    }
}

async fn landing(State(state): State<AppState>) -> Response {
    let j = &state.journey;
    let org = esc(&j.organisation);
    let today = state.client.today();
    let until = day_fr(j.duration.expiry(today));
    let mut body = String::with_capacity(4096);
    body.push_str(&format!("<h1>{org} : accès aux données de votre compteur Linky</h1>\n"));
    body.push_str("<h2>Qui collecte vos données ?</h2>\n");
    body.push_str(&format!(
        "<p><strong>{org}</strong> collecte les données de votre compteur Linky auprès d'Enedis, le gestionnaire du réseau de distribution d'électricité, par son service Data Connect. Elle ne le fait qu'avec votre accord.</p>\n"
    ));
    body.push_str("<h2>Quelles données ?</h2>\n<ul>\n");
    for s in &j.series {
        body.push_str(&format!("<li>{}</li>\n", esc(series_fr(*s))));
    }
    body.push_str(&format!(
        "</ul>\n<p>{org} ne collecte que ces mesures : ni votre identité, ni vos coordonnées, ni votre contrat. Elle peut lire l'historique conservé par Enedis (jusqu'à deux ou trois ans selon la mesure), puis les nouvelles mesures chaque jour.</p>\n"
    ));
    body.push_str(&format!("<h2>Pourquoi ?</h2>\n<p>{}</p>\n", esc(&j.purpose)));
    body.push_str(&format!(
        "<h2>Pour combien de temps ?</h2>\n<p>Votre accord est demandé pour <strong>{}</strong>, soit jusqu'au {until} s'il est donné aujourd'hui. Vous pouvez le retirer à tout moment dans votre espace client Enedis ; {org} cesse alors de recevoir vos données.</p>\n",
        esc(&duration_fr(j.duration))
    ));
    body.push_str(
        "<h2>Comment ?</h2>\n<p>Le bouton ci-dessous vous conduit sur le site d'Enedis. Vous vous y connectez à votre espace client, choisissez votre compteur, puis acceptez ou refusez. Enedis vous renvoie ensuite ici, où vous verrez vos données dès qu'elles seront arrivées.</p>\n",
    );
    body.push_str(
        "<form method=\"post\" action=\"/accord\">\n<p><button class=\"bouton\" type=\"submit\" id=\"donner-accord\">Donner mon accord sur le site d'Enedis</button></p>\n</form>\n",
    );
    body.push_str("<h2>Vos droits</h2>\n<p>Vous pouvez refuser sans conséquence sur votre contrat d'électricité.");
    if let Some(contact) = &j.contact {
        body.push_str(&format!(
            " Pour accéder à vos données, les faire corriger ou supprimer, écrivez à {org} : {}.",
            esc(contact)
        ));
    }
    body.push_str("</p>\n");
    html(StatusCode::OK, layout(&format!("{} – vos données Linky", j.organisation), &body, None))
}

/// The window of the per-address cap: the life of a pending request
/// (`consent_redirect::PENDING_TTL`).
pub const PENDING_WINDOW: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// The consent button: remembers a pending request (its random `state`)
/// and sends the browser to the authorize URL. Each address may open
/// `--max-pending-per-address` requests per half hour, and there are never
/// more than `--max-pending` (expired ones are pruned first), so a flood
/// of button presses cannot fill the store.
async fn start(State(state): State<AppState>, extensions: axum::http::Extensions, headers: HeaderMap) -> Response {
    let peer = super::throttle::client_address(&extensions, &headers, &state.trusted_proxies);
    if let Some(ip) = peer
        && let Err(wait) = state.accord.check(ip, std::time::Instant::now())
    {
        return too_many(
            wait,
            "Vous avez demandé de nombreux accords en peu de temps. Patientez un moment, puis réessayez depuis la page d'accueil.",
        );
    }
    let request = match state.client.consent_request(state.journey.duration, state.journey.sandbox_client) {
        Ok(r) => r,
        Err(e) => return internal_page(&crate::error::from_client(&e)),
    };
    let pending = PendingConsent {
        state: request.state().to_owned(),
        generation: state.client.generation(),
        duration: state.journey.duration,
        sandbox_client: state.journey.sandbox_client,
        created_at: Timestamp::now(),
    };
    let prune = state.prune_due();
    let cap = state.max_pending;
    let added = state
        .with_store(move |store| {
            if prune || store.count_pending_consents()? >= cap {
                let expired = pending.created_at - crate::consent_redirect::PENDING_TTL;
                store.prune_pending_consents(expired)?;
            }
            if store.count_pending_consents()? >= cap {
                return Ok(false);
            }
            store.add_pending_consent(&pending)?;
            Ok(true)
        })
        .await;
    match added {
        Ok(true) => {}
        Ok(false) => {
            eprintln!(
                "warning: {cap} consent requests are pending (--max-pending): the consent button refuses new ones until some expire"
            );
            return too_many(
                std::time::Duration::from_secs(60),
                "Le service reçoit trop de demandes en ce moment. Réessayez dans quelques minutes depuis la page d'accueil.",
            );
        }
        Err(e) => return internal_page(&e),
    }
    let location = request.url().to_string();
    match HeaderValue::from_str(&location) {
        Ok(value) => (StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response(),
        Err(_) => internal_page(&CliError::internal("the authorize URL is not a valid header")),
    }
}

/// A 429 page with `Retry-After`.
fn too_many(wait: std::time::Duration, text: &str) -> Response {
    let mut response = error_page(StatusCode::TOO_MANY_REQUESTS, "Trop de demandes", text);
    if let Ok(value) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// Anything that is not a page: the redirect handler on the redirect URI's
/// path, else a 404 page.
async fn fallback(State(state): State<AppState>, method: Method, uri: Uri) -> Response {
    if uri.path() == state.redirect_path {
        if method != Method::GET {
            return error_page(
                StatusCode::METHOD_NOT_ALLOWED,
                "Méthode non permise",
                "Cette adresse ne s'ouvre que par un lien.",
            );
        }
        return redirected(&state, uri.query().unwrap_or("")).await;
    }
    error_page(StatusCode::NOT_FOUND, "Page introuvable", "Cette page n'existe pas.")
}

/// The redirect back from the consent page: state checked (looked up by
/// key, one use only, at most 30 minutes old), refusals and errors shown,
/// the consent confirmed by Enedis and recorded without weakening what is
/// on record, the first sync queued; then the browser is sent to the
/// meter's page only when the consent is fresh (see the `serve` module),
/// else it gets a thank-you page without data.
async fn redirected(state: &AppState, query: &str) -> Response {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let restart = "Recommencez depuis la page d'accueil.";
    let Some(given) = get("state").map(str::to_owned) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Lien de retour incomplet",
            &format!("Il manque le paramètre « state ». {restart}"),
        );
    };
    // The state must be one this server handed out, not used yet and not
    // expired; it is taken (removed) at once, so a refusal or a failure
    // below also uses it up.
    let taken =
        state.with_store(move |store| crate::consent_redirect::take_pending(store, &given, Timestamp::now())).await;
    let pending = match taken {
        Ok(p) => p,
        Err(e) if e.class() == Class::Consent => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "Lien de retour déjà utilisé, expiré ou inconnu",
                &format!(
                    "Ce retour ne correspond à aucune demande en cours : il a déjà servi, il date de plus de 30 minutes, ou il ne vient pas de ce site. Rien n'a été enregistré. {restart}"
                ),
            );
        }
        Err(e) => return internal_page(&e),
    };
    if let Some(error) = get("error") {
        return refused_page(error, restart);
    }
    let mut url = match url::Url::parse("http://redirect.invalid/") {
        Ok(u) => u,
        Err(e) => return internal_page(&CliError::internal(e.to_string())),
    };
    url.set_query(Some(query));
    let consent = match state.client.complete_consent(&url, &pending.state).await {
        Ok(c) => c,
        Err(e) => return unconfirmed_page(&e, restart),
    };
    let today = state.client.today();
    let recorded = state
        .with_store(move |store| {
            crate::consent_redirect::record_completed(store, today, consent, &pending, Timestamp::now())
        })
        .await;
    let done = match recorded {
        Ok(d) => d,
        Err(e) => return internal_page(&e),
    };
    if !done.new.is_empty() {
        state.queue.enqueue(done.new.clone());
    }
    let Some(first) = done.fresh.first().cloned() else {
        return thanks_page(&state.journey.organisation);
    };
    let token = match state.sessions.open(done.fresh) {
        Ok(t) => t,
        Err(e) => return internal_page(&e),
    };
    let secure = if state.secure { "; Secure" } else { "" };
    let cookie =
        format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}", SESSION_TTL.as_secs());
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let (Ok(location), Ok(cookie)) =
        (HeaderValue::from_str(&format!("/compteurs/{first}")), HeaderValue::from_str(&cookie))
    {
        response.headers_mut().insert(header::LOCATION, location);
        response.headers_mut().insert(header::SET_COOKIE, cookie);
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The consent page sent the customer back with an error: a refusal, or a
/// failure of the page. Nothing is recorded (the state is used up).
fn refused_page(error: &str, restart: &str) -> Response {
    if error.eq_ignore_ascii_case("access_denied") {
        return error_page(
            StatusCode::FORBIDDEN,
            "Accord refusé",
            "Vous avez refusé de partager vos données : rien n'a été enregistré. Vous pouvez changer d'avis à tout moment depuis la page d'accueil.",
        );
    }
    let code: String = error.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').take(60).collect();
    error_page(
        StatusCode::BAD_GATEWAY,
        "Le site d'Enedis a signalé une erreur",
        &format!("Le recueil de l'accord n'a pas abouti (code « {code} »). Rien n'a été enregistré. {restart}"),
    )
}

/// Enedis did not confirm the redirect's consent: what the customer reads
/// says why, as far as it is known, and that nothing was recorded.
fn unconfirmed_page(e: &dataconnect::Error, restart: &str) -> Response {
    use dataconnect::ErrorKind as K;
    eprintln!("consent not recorded: {e}");
    match e.kind() {
        K::InvalidRedirect | K::StateMismatch => error_page(
            StatusCode::BAD_REQUEST,
            "Lien de retour non conforme",
            &format!("Ce lien de retour ne vient pas du site d'Enedis tel quel. Rien n'a été enregistré. {restart}"),
        ),
        K::NoSubscribedService | K::UnconfirmedUsagePoint | K::ConsentRequired | K::NoToken => error_page(
            StatusCode::FORBIDDEN,
            "Accord non confirmé par Enedis",
            &format!(
                "Enedis n'indique aucun accord en cours pour ce retour : l'accord a pu être retiré depuis votre espace client Enedis, ou il n'a pas été donné. Rien n'a été enregistré. {restart}"
            ),
        ),
        K::Config | K::TokenStore => internal_page(&crate::error::from_client(e)),
        _ => error_page(
            StatusCode::BAD_GATEWAY,
            "Enedis n'a pas confirmé l'accord",
            &format!(
                "L'accord n'a pas pu être confirmé auprès d'Enedis pour le moment ; rien n'a été enregistré. Réessayez dans quelques minutes : {restart}"
            ),
        ),
    }
}

/// A consent confirmed by Enedis and recorded, but which this redirect
/// does not prove fresh (see the `serve` module): thanks, and no data.
fn thanks_page(organisation: &str) -> Response {
    let body = format!(
        "<h1>Merci, votre accord est enregistré</h1>\n<p class=\"info\" id=\"accord-enregistre\">Enedis a confirmé votre accord : {} recevra les données de votre compteur.</p>\n<p>Pour protéger les données de chacun, elles ne s'affichent ici que juste après un accord donné à la suite de votre demande, et Enedis n'indique pas que c'est le cas de celui-ci (un accord déjà enregistré auparavant, par exemple si vous l'aviez déjà donné). Vos données restent consultables dans votre espace client Enedis ; pour celles que détient {}, écrivez-lui.</p>\n<p><a href=\"/\">Retour à l'accueil</a></p>\n",
        esc(organisation),
        esc(organisation)
    );
    html(StatusCode::OK, layout("Merci, votre accord est enregistré", &body, None))
}

/// Refuses a page to a visitor without a key (and without the session of
/// the meter, for a meter's page). Browsers then ask for a password.
fn locked(state: &AppState) -> Response {
    let text = if state.keys.is_empty() {
        "Cette page n'est visible que par le navigateur qui vient de donner l'accord, ou par l'organisation avec une clé d'accès (aucune n'est configurée)."
    } else {
        "Cette page n'est visible que par le navigateur qui vient de donner l'accord, ou par l'organisation avec une clé d'accès (saisie comme mot de passe)."
    };
    let mut response = error_page(StatusCode::UNAUTHORIZED, "Accès réservé", text);
    if !state.keys.is_empty() {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"dataconnect\", charset=\"UTF-8\""),
        );
    }
    response
}

/// What a meter's page shows, read from the store in one blocking task.
struct MeterView {
    consent: Option<ConsentRecord>,
    series: Vec<SeriesView>,
    last_run: Option<SyncRun>,
}

struct SeriesView {
    series: Series,
    coverage: Vec<DateRange>,
    state: Option<SeriesState>,
    chart: Option<(String, String)>,
}

/// The period a series' chart shows: a week of curve, a year of days.
fn chart_range(series: Series, today: Date) -> Option<(DateRange, &'static str)> {
    let (days, label) = if series.is_curve() { (7, "7 derniers jours") } else { (365, "12 derniers mois") };
    let start = today.checked_sub(days.days()).ok()?;
    DateRange::new(start, today).ok().map(|r| (r, label))
}

async fn meter(
    State(state): State<AppState>,
    prm: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    // A path that is not even UTF-8 is just another unknown meter.
    let Some(Ok(prm)) = prm.ok().map(|Path(p)| UsagePointId::new(&p)) else {
        return error_page(StatusCode::NOT_FOUND, "Compteur inconnu", "Un numéro de compteur (PRM) a 14 chiffres.");
    };
    if !state.sessions.allows(&headers, &prm) && !state.keys.allow(&headers) {
        return locked(&state);
    }
    let today = state.client.today();
    let wanted = state.journey.series.clone();
    let view = {
        let prm = prm.clone();
        state
            .with_store(move |store| {
                let consent = store.consents()?.into_iter().find(|c| c.usage_point_id == prm);
                let states = store.series_states()?;
                let mut series = Vec::new();
                for s in wanted {
                    let coverage = store.coverage(&prm, s)?;
                    let chart = match chart_range(s, today) {
                        Some((range, label)) => {
                            crate::chart_data::series_chart(store, &prm, s, range)?.and_then(|mut chart| {
                                chart.title = format!("{} – {label}", series_short(s));
                                crate::chart_render::to_svg(&chart).ok().map(|svg| (chart.title, svg))
                            })
                        }
                        None => None,
                    };
                    let state = states.iter().find(|st| st.usage_point_id == prm && st.series == s).cloned();
                    series.push(SeriesView { series: s, coverage, state, chart });
                }
                let last_run = store.sync_runs(1)?.into_iter().next();
                Ok(MeterView { consent, series, last_run })
            })
            .await
    };
    let view = match view {
        Ok(v) => v,
        Err(e) => return internal_page(&e),
    };
    let job = state.queue.state(&prm);
    if view.consent.is_none() && job.is_none() {
        return error_page(
            StatusCode::NOT_FOUND,
            "Compteur inconnu",
            "Aucun accord n'est enregistré pour ce compteur.",
        );
    }
    // In-process jobs say when they are done; the scheduler of another
    // process (or of this one, on PostgreSQL) is done for the page once a
    // chart shows.
    let has_chart = view.series.iter().any(|s| s.chart.is_some());
    let refresh = match &job {
        Some(JobState::Queued | JobState::Running) => Some(3),
        Some(JobState::External) if !has_chart => Some(3),
        _ => None,
    };
    html(StatusCode::OK, layout(&format!("Compteur {prm}"), &meter_body(&prm, &view, job.as_ref(), today), refresh))
}

fn meter_body(prm: &UsagePointId, view: &MeterView, job: Option<&JobState>, today: Date) -> String {
    let mut body = format!("<h1>Compteur {}</h1>\n", esc(prm.as_str()));
    match job {
        Some(JobState::Queued) | Some(JobState::Running) => body.push_str(
            "<p class=\"alerte\" id=\"etat-synchro\">Merci, votre accord est enregistré. Vos données arrivent d'Enedis : cette page se met à jour toute seule.</p>\n",
        ),
        Some(JobState::External) if view.series.iter().all(|s| s.chart.is_none()) => body.push_str(
            "<p class=\"alerte\" id=\"etat-synchro\">Merci, votre accord est enregistré. Vos données arrivent d'Enedis : cette page se met à jour jusqu'à leur arrivée.</p>\n",
        ),
        Some(JobState::External) => {}
        Some(JobState::Done { at, points, problems, .. }) => {
            body.push_str(&format!(
                "<p class=\"ok\" id=\"etat-synchro\">Première récupération terminée le {} : {points} mesures.</p>\n",
                esc(&instant_fr(*at))
            ));
            // A stopped series is most often a meter without production
            // (ADAM-ERR0069) or a curve the customer did not let Enedis
            // collect: expected, so it is told as information, not alarm.
            for p in problems {
                body.push_str(&format!("<p class=\"info\">Mesure non disponible pour ce compteur : {}</p>\n", esc(p)));
            }
        }
        Some(JobState::Failed { .. }) => body.push_str(
            "<p class=\"erreur\" id=\"etat-synchro\">La récupération de vos données n'a pas abouti ; elle sera reprise à la prochaine synchronisation.</p>\n",
        ),
        None => {}
    }
    body.push_str("<h2>Accord</h2>\n");
    match &view.consent {
        Some(c) => {
            let left = (c.expiry - today).get_days();
            let class = if left < 30 { " class=\"bientot\"" } else { "" };
            body.push_str(&format!(
                "<p{class}>Donné le {} pour {}, valable jusqu'au {} ({} jours restants).</p>\n",
                day_fr(c.start),
                esc(&duration_fr(c.duration)),
                day_fr(c.expiry),
                left.max(0)
            ));
            if c.needs_consent {
                body.push_str(&format!(
                    "<p class=\"erreur\">Enedis ne donne plus accès à ce compteur ({}) : un nouvel accord est nécessaire.</p>\n",
                    esc(c.reason.as_deref().unwrap_or("accord retiré"))
                ));
            }
        }
        None => body.push_str("<p>Accord en cours d'enregistrement.</p>\n"),
    }
    body.push_str("<h2>Mesures</h2>\n");
    for s in view.series.iter().filter(|s| s.chart.is_some()) {
        if let Some((title, svg)) = &s.chart {
            body.push_str(&format!(
                "<figure class=\"graphique\" id=\"graphique-{}\">\n{svg}\n<figcaption>{}</figcaption>\n</figure>\n",
                s.series.as_str(),
                esc(title)
            ));
        }
    }
    if view.series.iter().all(|s| s.chart.is_none()) {
        body.push_str("<p>Aucune mesure n'est encore arrivée.</p>\n");
    }
    body.push_str("<h2>État</h2>\n<table>\n<tr><th>Mesure</th><th>Période couverte</th><th>Retard</th><th>Dernière mise à jour</th><th>Remarque</th></tr>\n");
    for s in &view.series {
        let (span, lag) = match (s.coverage.first(), s.coverage.last()) {
            (Some(first), Some(last)) => {
                let days: i64 = s.coverage.iter().map(|r| i64::from((r.end() - r.start()).get_days())).sum();
                let newest = last.end().yesterday().unwrap_or(last.end());
                (
                    format!("du {} au {} ({days} jours)", day_fr(first.start()), day_fr(newest)),
                    format!("{} j", (today - last.end()).get_days().max(0)),
                )
            }
            _ => ("rien encore".to_owned(), "–".to_owned()),
        };
        let synced = s.state.as_ref().and_then(|st| st.last_synced_at).map(instant_fr).unwrap_or_else(|| "–".into());
        let note = s
            .state
            .as_ref()
            .and_then(|st| st.stopped_reason.as_deref())
            .map(|r| format!("non disponible : {r}"))
            .unwrap_or_default();
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(series_short(s.series)),
            esc(&span),
            esc(&lag),
            esc(&synced),
            esc(&note)
        ));
    }
    body.push_str("</table>\n");
    if let Some(run) = &view.last_run {
        let outcome = run
            .outcome
            .as_ref()
            .map(|o| format!(", {} ({} appels, {} mesures)", o.status, o.calls, o.points))
            .unwrap_or_default();
        body.push_str(&format!(
            "<p>Dernière synchronisation : {}{}.</p>\n",
            esc(&instant_fr(run.started_at)),
            esc(&outcome)
        ));
    }
    body
}

/// Days before expiry under which a consent is highlighted.
pub const EXPIRING_DAYS: i32 = 30;

async fn consents(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.keys.allow(&headers) {
        return locked(&state);
    }
    let records = match state.with_store(|store| Ok(store.consents()?)).await {
        Ok(r) => r,
        Err(e) => return internal_page(&e),
    };
    let today = state.client.today();
    let mut body = String::from("<h1>Accords enregistrés</h1>\n");
    let soon = records.iter().filter(|c| (c.expiry - today).get_days() < EXPIRING_DAYS && c.expiry > today).count();
    if soon > 0 {
        body.push_str(&format!("<p class=\"alerte\">{soon} accord(s) expirent dans moins de {EXPIRING_DAYS} jours : demandez-les à nouveau.</p>\n"));
    }
    body.push_str("<table>\n<tr><th>Compteur</th><th>Génération</th><th>Donné le</th><th>Expire le</th><th>Jours restants</th><th>État</th></tr>\n");
    let mut sorted: Vec<&ConsentRecord> = records.iter().collect();
    sorted.sort_by_key(|c| c.expiry);
    for c in sorted {
        let left = (c.expiry - today).get_days();
        let class = if left < EXPIRING_DAYS { " class=\"bientot\"" } else { "" };
        let status = if c.needs_consent {
            format!("à redemander ({})", c.reason.as_deref().unwrap_or("accord retiré"))
        } else if left <= 0 {
            "expiré".to_owned()
        } else {
            "actif".to_owned()
        };
        body.push_str(&format!(
            "<tr{class}><td><a href=\"/compteurs/{prm}\">{prm}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(c.generation.as_str()),
            day_fr(c.start),
            day_fr(c.expiry),
            left.max(0),
            esc(&status),
            prm = esc(c.usage_point_id.as_str()),
        ));
    }
    body.push_str("</table>\n");
    html(StatusCode::OK, layout("Accords enregistrés", &body, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_french_words() {
        let d = |s| duration_fr(ConsentDuration::parse(s).unwrap());
        assert_eq!(d("P1Y"), "1 an");
        assert_eq!(d("P3Y"), "3 ans");
        assert_eq!(d("P1Y6M"), "1 an et 6 mois");
        assert_eq!(d("P2W3D"), "2 semaines et 3 jours");
        assert_eq!(day_fr(jiff::civil::date(2027, 8, 1)), "1 août 2027");
    }

    #[test]
    fn markup_is_escaped() {
        assert_eq!(esc("<b a=\"x\">&'"), "&lt;b a=&quot;x&quot;&gt;&amp;&#39;");
    }
}
