//! `GET /openapi.json`: an OpenAPI 3 description of every route the
//! sandbox serves, platform and data alike.
//!
//! The document is built from one table, [`OPERATIONS`]. A unit test reads
//! the `.route(…)` calls of the source files and checks that the table
//! names exactly the router's paths, and an integration test calls every
//! documented operation and checks that the router answers it, so the
//! description cannot drift from the routes in either direction.

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::json;
use crate::Sandbox;

pub(super) fn routes() -> Router<Sandbox> {
    Router::new().route("/openapi.json", get(document))
}

async fn document() -> Response {
    json(StatusCode::OK, &build())
}

/// The parameters an operation takes.
#[derive(Clone, Copy)]
enum Params {
    /// Consent request: `client_id`, `response_type`, `state`, `duration`,
    /// and the redirect (required on consometers/data-connect's path).
    Authorize { redirect_required: bool },
    /// The consent page's form.
    ConsentForm,
    /// A token request's form.
    TokenForm,
    /// A revoke request's form.
    RevokeForm,
    /// `POST /subscribed_services/v1`'s JSON body.
    SubscribedServices,
    /// v3/v4/v5 metering: `usage_point_id`, `start`, `end`.
    Metering,
    /// v3/v5 customers: `usage_point_id`.
    Customer,
    /// 2026 measurement: `pointId`, `dateDebut`, `dateFin`.
    Mesure,
    /// 2026 max power: the same plus `mesuresPas` and `grandeurPhysique`.
    MesureMax,
    /// 2026 contract APIs: the PRM in the path.
    Itc,
    /// The Conso API gateway: the type in the path, each family's names.
    Conso,
    /// RTE's Tempo calendar: `start_date`, `end_date`.
    Tempo,
    /// RTE's token request (credentials in a Basic header, no body).
    RteToken,
    /// No parameter.
    None,
}

/// How an operation is secured.
#[derive(Clone, Copy)]
enum Security {
    /// A bearer token from a token endpoint.
    Bearer,
    /// The application's credentials (Basic or form fields).
    Client,
    /// Nothing: a browser page or the description itself.
    Open,
}

struct Operation {
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    params: Params,
    security: Security,
}

const fn op(
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    params: Params,
    security: Security,
) -> Operation {
    Operation { method, path, tag, summary, params, security }
}

const G1: &str = "generation 1 (legacy)";
const G2: &str = "generation 2 (v5)";
const G3: &str = "generation 3 (Data Connect 2026)";
const SANDBOX: &str = "sandbox";
const CONSO: &str = "Conso API gateway";
const RTE: &str = "RTE Tempo (emulated)";

/// Every operation the sandbox serves.
const OPERATIONS: &[Operation] = &[
    // Consent.
    op(
        "get",
        "/group/espace-particuliers/consentement-linky/oauth2/authorize",
        G1,
        "Consent (seed form): a page whose script holds `var url = \"<redirect>?code=…&state=…&usage_point_id=…\"`",
        Params::Authorize { redirect_required: true },
        Security::Open,
    ),
    op(
        "post",
        "/group/espace-particuliers/consentement-linky/oauth2/authorize",
        G1,
        "The consent page's answer (--consent-page)",
        Params::ConsentForm,
        Security::Open,
    ),
    op(
        "get",
        "/dataconnect/v1/oauth2/authorize",
        G2,
        "Consent: with redirect_uri, the generation 1 page; without, a 302 to the registered redirect with code, state and usage_point_id=PRM[;PRM…]",
        Params::Authorize { redirect_required: false },
        Security::Open,
    ),
    op(
        "post",
        "/dataconnect/v1/oauth2/authorize",
        G2,
        "The consent page's answer (--consent-page)",
        Params::ConsentForm,
        Security::Open,
    ),
    op(
        "get",
        "/dataconnect/v2/oauth2/authorize",
        G3,
        "Consent: a 302 to the registered redirect with autorisation_id and state",
        Params::Authorize { redirect_required: false },
        Security::Open,
    ),
    op(
        "post",
        "/dataconnect/v2/oauth2/authorize",
        G3,
        "The consent page's answer (--consent-page)",
        Params::ConsentForm,
        Security::Open,
    ),
    // Tokens.
    op(
        "post",
        "/v1/oauth2/token",
        G1,
        "Customer token: authorization_code (code valid 180 s, single use) or refresh_token (valid for the consent's duration); redirect_uri in the query or the body",
        Params::TokenForm,
        Security::Client,
    ),
    op(
        "post",
        "/oauth2/v3/token",
        G2,
        "Application token: client_credentials; a JWT-shaped token valid 12600 s",
        Params::TokenForm,
        Security::Client,
    ),
    op(
        "post",
        "/oauth2/v3/revoke",
        G2,
        "Revoke a token; 200 whether or not it existed",
        Params::RevokeForm,
        Security::Client,
    ),
    // Generation 1 data.
    op(
        "get",
        "/v3/metering_data/daily_consumption",
        G1,
        "Daily consumption (Wh), v3 wrapper with ranks",
        Params::Metering,
        Security::Bearer,
    ),
    op(
        "get",
        "/v3/metering_data/consumption_load_curve",
        G1,
        "Consumption load curve (W), v3 wrapper with ranks",
        Params::Metering,
        Security::Bearer,
    ),
    op(
        "get",
        "/v3/metering_data/consumption_max_power",
        G1,
        "Daily maximum power (VA), v3 wrapper with ranks",
        Params::Metering,
        Security::Bearer,
    ),
    op("get", "/v4/metering_data/daily_consumption", G1, "Daily consumption (Wh)", Params::Metering, Security::Bearer),
    op(
        "get",
        "/v4/metering_data/consumption_load_curve",
        G1,
        "Consumption load curve (W)",
        Params::Metering,
        Security::Bearer,
    ),
    op(
        "get",
        "/v4/metering_data/consumption_max_power",
        G1,
        "Daily maximum power (VA)",
        Params::Metering,
        Security::Bearer,
    ),
    op(
        "get",
        "/v4/metering_data/daily_consumption_max_power",
        G1,
        "Daily maximum power (VA), the other v4 name",
        Params::Metering,
        Security::Bearer,
    ),
    op("get", "/v4/metering_data/daily_production", G1, "Daily production (Wh)", Params::Metering, Security::Bearer),
    op(
        "get",
        "/v4/metering_data/production_load_curve",
        G1,
        "Production load curve (W)",
        Params::Metering,
        Security::Bearer,
    ),
    op("get", "/v3/customers/identity", G1, "Customer identity", Params::Customer, Security::Bearer),
    op("get", "/v3/customers/contact_data", G1, "Customer contact data", Params::Customer, Security::Bearer),
    op(
        "get",
        "/v3/customers/usage_points/contracts",
        G1,
        "Contracts of the usage point",
        Params::Customer,
        Security::Bearer,
    ),
    op(
        "get",
        "/v3/customers/usage_points/addresses",
        G1,
        "Address of the usage point",
        Params::Customer,
        Security::Bearer,
    ),
    // Generation 2 data.
    op(
        "get",
        "/metering_data_dc/v5/daily_consumption",
        G2,
        "Daily consumption (Wh)",
        Params::Metering,
        Security::Bearer,
    ),
    op(
        "get",
        "/metering_data_clc/v5/consumption_load_curve",
        G2,
        "Consumption load curve (W), at most 7 days",
        Params::Metering,
        Security::Bearer,
    ),
    op(
        "get",
        "/metering_data_dcmp/v5/daily_consumption_max_power",
        G2,
        "Daily maximum power (VA)",
        Params::Metering,
        Security::Bearer,
    ),
    op("get", "/metering_data_dp/v5/daily_production", G2, "Daily production (Wh)", Params::Metering, Security::Bearer),
    op(
        "get",
        "/metering_data_plc/v5/production_load_curve",
        G2,
        "Production load curve (W), at most 7 days",
        Params::Metering,
        Security::Bearer,
    ),
    op("get", "/customers_i/v5/identity", G2, "Customer identity", Params::Customer, Security::Bearer),
    op("get", "/customers_cd/v5/contact_data", G2, "Customer contact data", Params::Customer, Security::Bearer),
    op(
        "get",
        "/customers_upc/v5/usage_points/contracts",
        G2,
        "Contracts of the usage point",
        Params::Customer,
        Security::Bearer,
    ),
    op(
        "get",
        "/customers_upa/v5/usage_points/addresses",
        G2,
        "Address of the usage point",
        Params::Customer,
        Security::Bearer,
    ),
    // Generation 3.
    op(
        "post",
        "/subscribed_services/v1",
        G3,
        "Services of an authorisation (ConsulterServicesSouscritsPaginesDemande); comptage is required",
        Params::SubscribedServices,
        Security::Bearer,
    ),
    op(
        "post",
        "/subscribed_services/v1/",
        G3,
        "The same, with the trailing slash some clients send",
        Params::SubscribedServices,
        Security::Bearer,
    ),
    op(
        "get",
        "/mesure_synchrone_auto/v2/consommation_quotidienne",
        G3,
        "Daily consumption (Wh)",
        Params::Mesure,
        Security::Bearer,
    ),
    op(
        "get",
        "/mesure_synchrone_auto/v2/production_quotidienne",
        G3,
        "Daily production (Wh)",
        Params::Mesure,
        Security::Bearer,
    ),
    op(
        "get",
        "/mesure_synchrone_auto/v2/courbe_de_charge_consommation",
        G3,
        "Consumption load curve (W), at most 7 days",
        Params::Mesure,
        Security::Bearer,
    ),
    op(
        "get",
        "/mesure_synchrone_auto/v2/courbe_de_charge_production",
        G3,
        "Production load curve (W), at most 7 days",
        Params::Mesure,
        Security::Bearer,
    ),
    op(
        "get",
        "/mesure_synchrone_auto/v2/puissance_conso_max_quotidienne",
        G3,
        "Maximum power (VA) per day or month",
        Params::MesureMax,
        Security::Bearer,
    ),
    op(
        "get",
        "/mesure_synchrone_auto/v2/index_consommation",
        G3,
        "Consumption index registers (Wh) per calendar, class and day (ReponseMesureAccesIndex)",
        Params::Mesure,
        Security::Bearer,
    ),
    op(
        "get",
        "/mesure_synchrone_auto/v2/index_production",
        G3,
        "Production index registers (Wh) per calendar, class and day (ReponseMesureAccesIndex)",
        Params::Mesure,
        Security::Bearer,
    ),
    op(
        "get",
        "/situation_contrat_auto/v1/{prm}",
        G3,
        "Contract situation (an array; two elements for self-consumption)",
        Params::Itc,
        Security::Bearer,
    ),
    op("get", "/synth_contrat_auto/v1/{prm}", G3, "Contract synthesis", Params::Itc, Security::Bearer),
    op("get", "/comptage_auto/v1/{prm}", G3, "Metering situation", Params::Itc, Security::Bearer),
    op("get", "/donnees_generales_auto/v1/{prm}", G3, "General data (address)", Params::Itc, Security::Bearer),
    // The Conso API gateway.
    op(
        "get",
        "/conso/{kind}",
        CONSO,
        "Readings through the emulated Conso API gateway (token `sandbox-conso-<PRM>[+<PRM>…]`): 2026 types answer the 2026 measurement body, older types the v5 meter_reading without its wrapper; errors {status, message, error}",
        Params::Conso,
        Security::Bearer,
    ),
    // RTE's Tempo calendar (not Enedis: the costs of `dataconnect costs` need it).
    op(
        "post",
        "/token/oauth/",
        RTE,
        "RTE token: client credentials in a Basic header; a bearer token valid 7200 s",
        Params::RteToken,
        Security::Client,
    ),
    op(
        "get",
        "/open_api/tempo_like_supply_contract/v1/tempo_like_calendars",
        RTE,
        "Tempo day colours (BLUE, WHITE, RED), newest first; at most 366 days, end no later than today + 2, since 2014-09-01",
        Params::Tempo,
        Security::Bearer,
    ),
    // The description.
    op("get", "/openapi.json", SANDBOX, "This description", Params::None, Security::Open),
];

fn query(name: &str, required: bool, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": required, "description": description, "schema": schema})
}

fn string() -> Value {
    json!({"type": "string"})
}

fn date() -> Value {
    json!({"type": "string", "format": "date"})
}

fn prm() -> Value {
    json!({"type": "string", "pattern": "^[0-9]{14}$"})
}

fn parameters(params: Params) -> Vec<Value> {
    match params {
        Params::Authorize { redirect_required } => vec![
            query("client_id", true, "The application's client id", string()),
            query("response_type", true, "Must be `code`", json!({"type": "string", "enum": ["code"]})),
            query(
                "state",
                false,
                "Opaque, up to 100 characters; its last digit (0 to 8) picks the sandbox test client",
                json!({"type": "string", "maxLength": 100}),
            ),
            query(
                "duration",
                true,
                "ISO 8601 duration of the consent (days, weeks, months or years), at most 3 years",
                string(),
            ),
            query(
                "redirect_uri",
                redirect_required,
                "Must be the registered redirect (consometers/data-connect spells it `redirect_URI`, also accepted)",
                string(),
            ),
        ],
        Params::Metering => vec![
            query("usage_point_id", true, "The PRM (14 digits)", prm()),
            query("start", true, "First day (YYYY-MM-DD), included", date()),
            query("end", true, "Last day (YYYY-MM-DD), excluded; not after today (Paris)", date()),
        ],
        Params::Customer => vec![query("usage_point_id", true, "The PRM (14 digits)", prm())],
        Params::Mesure | Params::MesureMax => {
            let mut list = vec![
                query("pointId", true, "The PRM (14 digits)", prm()),
                query("dateDebut", true, "First day (YYYY-MM-DD), included", date()),
                query("dateFin", true, "Last day (YYYY-MM-DD), excluded", date()),
            ];
            if matches!(params, Params::MesureMax) {
                list.push(query("mesuresPas", true, "Step", json!({"type": "string", "enum": ["P1D", "P1M"]})));
                list.push(query(
                    "grandeurPhysique",
                    true,
                    "Quantity",
                    json!({"type": "string", "enum": ["PMA", "TOUT"]}),
                ));
            }
            list
        }
        Params::Itc => vec![
            json!({"name": "prm", "in": "path", "required": true, "description": "The PRM (14 digits)", "schema": prm()}),
        ],
        Params::Conso => vec![
            json!({"name": "kind", "in": "path", "required": true, "description": "The type of data", "schema": {"type": "string", "enum": [
                "consommation_quotidienne", "courbe_de_charge_consommation", "puissance_conso_max_quotidienne", "production_quotidienne",
                "courbe_de_charge_production", "daily_consumption", "consumption_load_curve", "consumption_max_power",
                "daily_production", "production_load_curve"]}}),
            query("pointId", false, "2026 types: the PRM (14 digits)", prm()),
            query("dateDebut", false, "2026 types: first day (YYYY-MM-DD), included", date()),
            query("dateFin", false, "2026 types: last day (YYYY-MM-DD), excluded", date()),
            query(
                "mesuresPas",
                false,
                "puissance_conso_max_quotidienne: step (default P1D)",
                json!({"type": "string", "enum": ["P1D", "P1M"]}),
            ),
            query(
                "grandeurPhysique",
                false,
                "puissance_conso_max_quotidienne: quantity (default PMA)",
                json!({"type": "string", "enum": ["PMA", "TOUT"]}),
            ),
            query("prm", false, "Older types: the PRM (14 digits)", prm()),
            query("start", false, "Older types: first day (YYYY-MM-DD), included", date()),
            query("end", false, "Older types: last day (YYYY-MM-DD), excluded", date()),
        ],
        Params::Tempo => vec![
            query(
                "start_date",
                false,
                "First day, e.g. 2024-01-01T00:00:00+01:00 (with end_date, or neither)",
                string(),
            ),
            query(
                "end_date",
                false,
                "Day after the last, at most 366 days later and no later than today + 2",
                string(),
            ),
        ],
        Params::ConsentForm
        | Params::TokenForm
        | Params::RevokeForm
        | Params::SubscribedServices
        | Params::RteToken
        | Params::None => Vec::new(),
    }
}

fn form_body(schema: &str) -> Value {
    json!({"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

fn request_body(params: Params) -> Option<Value> {
    match params {
        Params::ConsentForm => Some(form_body("ConsentForm")),
        Params::TokenForm => Some(form_body("TokenRequest")),
        Params::RevokeForm => Some(form_body("RevokeRequest")),
        Params::SubscribedServices => Some(
            json!({"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SubscribedServicesRequest"}}}}),
        ),
        _ => None,
    }
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn response(description: &str, media: &str, schema: Value) -> Value {
    json!({"description": description, "content": {media: {"schema": schema}}})
}

fn responses(operation: &Operation) -> Value {
    let mut map = Map::new();
    let json_type = "application/json";
    let error = |map: &mut Map<String, Value>, status: &str, description: &str, schema: &str| {
        map.insert(status.to_owned(), response(description, json_type, schema_ref(schema)));
    };
    match operation.params {
        Params::Authorize { .. } | Params::ConsentForm => {
            map.insert(
                "200".into(),
                response(
                    "An HTML page: the generation 1 redirect page (script and link), or the consent page",
                    "text/html",
                    string(),
                ),
            );
            map.insert("302".into(), json!({"description": "Back to the registered redirect: `code`, `state`, `usage_point_id` (generation 2), `autorisation_id`, `state` (generation 3), or `error=access_denied`", "headers": {"Location": {"schema": string()}}}));
            error(
                &mut map,
                "400",
                "missing_parameter, invalid_state, invalid_duration_format, maximum_duration_exceeded, unsupported_response_type, invalid_client, redirect_uri_mismatch",
                "OAuthError",
            );
            error(&mut map, "500", "server_error / lincs-internal-server-error (odd durations)", "OAuthError");
        }
        Params::TokenForm => {
            let ok = if operation.path == "/v1/oauth2/token" { "LegacyToken" } else { "ApplicationToken" };
            map.insert("200".into(), response("The token", json_type, schema_ref(ok)));
            error(
                &mut map,
                "400",
                "invalid_request, invalid_client, invalid_grant, unsupported_grant_type (RFC 6749 descriptions)",
                "OAuthError",
            );
            error(&mut map, "415", "The body is not application/x-www-form-urlencoded", "OAuthError");
            error(&mut map, "500", "Injected fault (--fault-rate): server_error", "OAuthError");
            error(&mut map, "503", "Injected fault (--fault-rate): temporarily_unavailable", "OAuthError");
        }
        Params::RevokeForm => {
            map.insert("200".into(), json!({"description": "Revoked, or nothing to revoke (empty body)"}));
            error(&mut map, "400", "invalid_request (no token), invalid_client", "OAuthError");
            error(&mut map, "415", "The body is not application/x-www-form-urlencoded", "OAuthError");
        }
        Params::SubscribedServices => {
            map.insert(
                "200".into(),
                response(
                    "The services (`{\"nbTotalServices\":0}` when there is none, the count only with `comptage: true`)",
                    json_type,
                    schema_ref("SubscribedServicesResponse"),
                ),
            );
            error(&mut map, "400", "A required field is missing or malformed", "CodeMessage");
            error(&mut map, "401", "Missing, unknown, expired or revoked token (900901)", "FlatFault");
            error(&mut map, "500", "Injected fault (--fault-rate)", "CodeMessage");
            error(&mut map, "503", "Injected fault (--fault-rate)", "CodeMessage");
        }
        Params::None => {
            map.insert("200".into(), response("This OpenAPI 3 document", json_type, json!({"type": "object"})));
        }
        Params::Conso => {
            map.insert(
                "200".into(),
                response(
                    "The 2026 measurement body, or the v5 meter_reading object without its wrapper",
                    json_type,
                    json!({"type": "object"}),
                ),
            );
            error(&mut map, "400", "Refused by Data Connect: its body inside `error`", "ConsoError");
            error(&mut map, "401", "No token, or a token that does not cover this PRM", "ConsoError");
            error(&mut map, "403", "Refused by Data Connect (ADAM-DC-0008…): its body inside `error`", "ConsoError");
            error(
                &mut map,
                "404",
                "Unknown type, or no data for the period (Data Connect's body inside `error`)",
                "ConsoError",
            );
            error(&mut map, "500", "Refused by Data Connect: its body inside `error`", "ConsoError");
        }
        Params::RteToken => {
            map.insert(
                "200".into(),
                response(
                    "`{access_token, token_type: Bearer, expires_in: 7200}`",
                    json_type,
                    json!({"type": "object"}),
                ),
            );
            error(&mut map, "401", "invalid_client: missing or wrong credentials", "OAuthError");
        }
        Params::Tempo => {
            map.insert("200".into(), response("`{tempo_like_calendars: {start_date, end_date, values: [{start_date, end_date, value, updated_date}]}}`, newest first", json_type, json!({"type": "object"})));
            error(
                &mut map,
                "400",
                "Dates missing, malformed, reversed, more than 366 days, past today + 2 or before 2014-09-01",
                "OAuthError",
            );
            error(&mut map, "401", "Missing, unknown or expired token", "OAuthError");
        }
        Params::Metering | Params::Customer | Params::Mesure | Params::MesureMax | Params::Itc => {
            let y2026 = matches!(operation.params, Params::Mesure | Params::MesureMax | Params::Itc);
            map.insert("200".into(), response("The data, values as strings", json_type, json!({"type": "object"})));
            let app_error = if y2026 { "CodeMessageOrOAuthError" } else { "OAuthError" };
            error(
                &mut map,
                "400",
                "Invalid request, date rules (ADAM-ERR0123/0125/0126), direction mismatch (ADAM-ERR0069)",
                app_error,
            );
            error(
                &mut map,
                "401",
                "Missing, unknown, expired or revoked token (900901)",
                if y2026 { "FlatFault" } else { "GatewayFault" },
            );
            error(&mut map, "403", "No consent for this PRM (ADAM-DC-0008), revoked consent", app_error);
            error(&mut map, "404", "No data for the period (no_data_found)", app_error);
            map.insert("429".into(), json!({"description": "Quota exceeded: per second (fault 900807) or per hour (flat 900804 with nextAccessTime)", "content": {json_type: {"schema": {"oneOf": [schema_ref("GatewayFault"), schema_ref("FlatFault")]}}}}));
            error(
                &mut map,
                "500",
                "Technical error (ADAM-DC-0500), also injected by --fault-rate; on generation 3, a bare 500 (no body) to a request outside this description, unless --out-of-spec-400",
                app_error,
            );
            error(&mut map, "503", "Service unavailable, injected by --fault-rate", app_error);
        }
    }
    Value::Object(map)
}

fn components() -> Value {
    json!({
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "An access token from /v1/oauth2/token (customer) or /oauth2/v3/token (application)"},
            "client": {"type": "http", "scheme": "basic", "description": "The application's client id and secret; form fields client_id and client_secret (or the query string) are accepted too"},
        },
        "schemas": {
            "OAuthError": {"type": "object", "required": ["error"], "properties": {"error": string(), "error_description": string(), "error_uri": string()}},
            "GatewayFault": {"type": "object", "properties": {"fault": {"type": "object", "properties": {"code": {"type": "integer"}, "message": string(), "description": string()}}}},
            "FlatFault": {"type": "object", "properties": {"code": string(), "message": string(), "description": string(), "nextAccessTime": string()}},
            "CodeMessage": {"type": "object", "properties": {"code": string(), "message": string()}},
            "ConsoError": {"type": "object", "required": ["status", "message"], "properties": {"status": {"type": "integer"}, "message": string(), "error": {}}},
            "CodeMessageOrOAuthError": {"oneOf": [{"$ref": "#/components/schemas/CodeMessage"}, {"$ref": "#/components/schemas/OAuthError"}]},
            "ConsentForm": {"type": "object", "properties": {
                "client_id": string(), "response_type": string(), "state": string(), "duration": string(), "redirect_uri": string(),
                "client": {"type": "integer", "minimum": 0, "maximum": 8, "description": "The sandbox test client"},
                "prm": {"type": "array", "items": prm(), "description": "The meters shared (generation 3: one)"},
                "decision": {"type": "string", "enum": ["accept", "refuse"]},
            }},
            "TokenRequest": {"type": "object", "required": ["grant_type"], "properties": {
                "grant_type": {"type": "string", "enum": ["authorization_code", "refresh_token", "client_credentials"]},
                "client_id": string(), "client_secret": string(), "code": string(), "refresh_token": string(), "redirect_uri": string(),
            }},
            "RevokeRequest": {"type": "object", "required": ["token"], "properties": {
                "token": string(), "token_type_hint": string(), "client_id": string(), "client_secret": string(),
            }},
            "LegacyToken": {"type": "object", "properties": {
                "access_token": string(), "token_type": string(), "expires_in": {"type": "integer"}, "refresh_token": string(),
                "scope": {"type": "string", "description": "Space-separated `<path>.GET` items"},
                "refresh_token_issued_at": {"type": "string", "description": "Epoch milliseconds"},
                "issued_at": {"type": "string", "description": "Epoch milliseconds"},
                "usage_points_id": {"type": "string", "description": "Comma-separated PRMs"},
            }},
            "ApplicationToken": {"type": "object", "properties": {
                "access_token": {"type": "string", "description": "A JWT"}, "token_type": string(), "expires_in": {"type": "integer"}, "scope": string(),
            }},
            "SubscribedServicesRequest": {"type": "object", "required": ["comptage"], "properties": {
                "autorisationId": {"type": "integer", "format": "int64"}, "comptage": {"type": "boolean"},
                "autorisation": {"type": "boolean"}, "pointId": {"type": "array", "items": string()},
                "etatCode": {"type": "array", "items": {"type": "string", "enum": ["DEMANDE", "ACTIF", "TERMINE", "SUPPRIME"]}},
                "serviceType": {"type": "string", "enum": ["CCDC", "TRANSREC", "OPPENR", "ACCES"]},
                "mesureTypeCode": {"type": "array", "items": {"type": "string", "enum": ["CDC", "PMAX", "ENERGIE", "IDX", "ITC"]}},
                "soutirage": {"type": "boolean"}, "injection": {"type": "boolean"},
                "dateDebut": date(), "dateFin": date(), "page": {"type": "integer"},
            }},
            "SubscribedServicesResponse": {"type": "object", "properties": {
                "nbTotalServices": {"type": "integer", "format": "int64"},
                "serviceSouscrit": {"type": "array", "items": {"type": "object"}},
            }},
        },
    })
}

/// The whole document.
fn build() -> Value {
    let mut paths = Map::new();
    for operation in OPERATIONS {
        let mut item = Map::new();
        item.insert("tags".into(), json!([operation.tag]));
        item.insert("summary".into(), json!(operation.summary));
        item.insert("operationId".into(), json!(operation_id(operation)));
        let parameters = parameters(operation.params);
        if !parameters.is_empty() {
            item.insert("parameters".into(), Value::Array(parameters));
        }
        if let Some(body) = request_body(operation.params) {
            item.insert("requestBody".into(), body);
        }
        match operation.security {
            Security::Bearer => item.insert("security".into(), json!([{"bearer": []}])),
            Security::Client => item.insert("security".into(), json!([{"client": []}, {}])),
            Security::Open => item.insert("security".into(), json!([])),
        };
        item.insert("responses".into(), responses(operation));
        let entry = paths.entry(operation.path.to_owned()).or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(methods) = entry {
            methods.insert(operation.method.to_owned(), Value::Object(item));
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "dataconnect sandbox",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "An offline emulator of Enedis Data Connect, serving its three API generations on one base URL. Sandbox test clients: the last digit of `state` in a consent request (0 to 8).",
        },
        "servers": [{"url": "/"}],
        "tags": [
            {"name": G1, "description": "The legacy API of consometers/data-connect: customer tokens, v3/v4 data"},
            {"name": G2, "description": "v5: application tokens, metering_data_*/v5 and customers_*/v5"},
            {"name": G3, "description": "Data Connect 2026: consent v2, subscribed services, mesure_synchrone_auto/v2, contract APIs"},
            {"name": SANDBOX, "description": "The sandbox itself"},
        ],
        "paths": paths,
        "components": components(),
    })
}

/// A unique operation id: method and path, with separators folded.
fn operation_id(operation: &Operation) -> String {
    let mut id = String::from(operation.method);
    let mut pending = true;
    for c in operation.path.chars() {
        if c.is_ascii_alphanumeric() {
            if pending {
                id.push('_');
                pending = false;
            }
            id.push(c);
        } else {
            pending = true;
        }
    }
    if operation.path.ends_with('/') {
        id.push_str("_slash");
    }
    id
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The string constants (`const NAME: &str = "…";`) of a source file.
    fn constants(source: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for line in source.lines() {
            let line = line.trim_start();
            let line = line.strip_prefix("pub(crate) ").or_else(|| line.strip_prefix("pub(super) ")).unwrap_or(line);
            let Some(rest) = line.strip_prefix("const ") else { continue };
            let Some((name, rest)) = rest.split_once(": &str = \"") else { continue };
            let Some((value, _)) = rest.split_once('"') else { continue };
            out.push((name.trim().to_owned(), value.to_owned()));
        }
        out
    }

    /// The paths of the `.route(…)` calls of a source file: a literal, a
    /// `&format!("…")` over the file's constants, or a constant.
    fn routes_in(source: &str) -> Vec<String> {
        let consts = constants(source);
        let substitute = |mut text: String| {
            for (name, value) in &consts {
                text = text.replace(&format!("{{{name}}}"), value);
            }
            text
        };
        let mut out = Vec::new();
        for piece in source.split(".route(").skip(1) {
            let arg = piece.trim_start();
            if let Some(rest) = arg.strip_prefix('"') {
                if let Some((path, _)) = rest.split_once('"') {
                    out.push(path.to_owned());
                }
            } else if let Some(rest) = arg.strip_prefix("&format!(\"") {
                if let Some((path, _)) = rest.split_once('"') {
                    out.push(substitute(path.to_owned()));
                }
            } else {
                let name: String = arg.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                let value = consts.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
                out.push(value.unwrap_or_else(|| format!("<unresolved {name}>")));
            }
        }
        out
    }

    fn source_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                source_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn documents_exactly_the_routes_of_the_source() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        source_files(&src, &mut files);
        let mut routed = BTreeSet::new();
        for file in files {
            let source = std::fs::read_to_string(&file).unwrap_or_default();
            // This file's test mentions `.route(` in strings; skip it.
            if file.ends_with("openapi.rs") {
                routed.insert("/openapi.json".to_owned());
                continue;
            }
            routed.extend(routes_in(&source));
        }
        let documented: BTreeSet<String> = OPERATIONS.iter().map(|o| o.path.to_owned()).collect();
        assert_eq!(routed, documented);
    }

    #[test]
    fn operation_ids_are_unique() {
        let ids: BTreeSet<String> = OPERATIONS.iter().map(operation_id).collect();
        assert_eq!(ids.len(), OPERATIONS.len());
        assert_eq!(operation_id(&OPERATIONS[0]), "get_group_espace_particuliers_consentement_linky_oauth2_authorize");
    }

    #[test]
    fn document_is_openapi_3() {
        let doc = build();
        assert_eq!(doc["openapi"], "3.0.3");
        assert!(doc["paths"]["/v1/oauth2/token"]["post"]["responses"]["200"].is_object());
        assert!(doc["paths"]["/situation_contrat_auto/v1/{prm}"]["get"]["parameters"][0]["in"] == "path");
    }
}
