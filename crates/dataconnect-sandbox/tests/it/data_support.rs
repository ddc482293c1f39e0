//! Helpers of the data-route tests: a sandbox with a frozen day and an
//! application token, and GET helpers that return status and JSON.

#![allow(dead_code)]

use jiff::civil::Date;
use serde_json::Value;

use crate::common::{self, Running};

/// The day the data tests freeze the sandbox's calendar at (a Wednesday;
/// 2024-03-31 and 2024-10-27, the DST days, are inside the curve history).
pub const TODAY: Date = jiff::civil::date(2024, 11, 20);

/// A running sandbox and a token that reaches every meter.
pub struct Env {
    /// The sandbox.
    pub sb: Running,
    /// A generation 2/3 application token.
    pub token: String,
}

/// A sandbox frozen at `today`, with quotas lifted, and an app token.
pub async fn env_at(today: Date) -> Env {
    let sb = common::spawn(dataconnect_sandbox::SandboxConfig { today: Some(today), ..common::config() }).await;
    let token = sb.app_token().await;
    Env { sb, token }
}

/// A sandbox frozen at [`TODAY`].
pub async fn env() -> Env {
    env_at(TODAY).await
}

/// A sandbox frozen at [`TODAY`] answering requests outside the 2026
/// description with a 400 naming the problem instead of the gateway's 500.
pub async fn friendly_env() -> Env {
    let config = dataconnect_sandbox::SandboxConfig { today: Some(TODAY), out_of_spec_400: true, ..common::config() };
    let sb = common::spawn(config).await;
    let token = sb.app_token().await;
    Env { sb, token }
}

impl Env {
    /// GET with the app token: status and raw body.
    pub async fn get_text(&self, path: &str) -> (u16, String) {
        self.get_text_with(path, Some(&self.token)).await
    }

    /// GET with the given bearer (or none): status and raw body.
    pub async fn get_text_with(&self, path: &str, token: Option<&str>) -> (u16, String) {
        let mut request = self.sb.http.get(self.sb.url(path)).header("Accept", "application/json");
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.expect("GET");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    /// GET with the app token: status and JSON body (Null if not JSON).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let (status, text) = self.get_text(path).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// GET that must succeed; returns the JSON body.
    pub async fn ok(&self, path: &str) -> Value {
        let (status, text) = self.get_text(path).await;
        assert_eq!(status, 200, "{path}: {text}");
        serde_json::from_str(&text).expect("JSON body")
    }
}

/// The v5 `interval_reading` array.
pub fn readings(body: &Value) -> &Vec<Value> {
    body["meter_reading"]["interval_reading"].as_array().expect("interval_reading")
}

/// The 2026 `points` of the first `grandeur`.
pub fn points(body: &Value) -> &Vec<Value> {
    body["grandeur"][0]["points"].as_array().expect("points")
}

/// A string field parsed as an integer.
pub fn int(v: &Value) -> i64 {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not an integer string: {v}"))
}

/// Minutes of an ISO 8601 step such as `PT30M`.
pub fn step_minutes(step: &str) -> i64 {
    step.strip_prefix("PT").and_then(|s| s.strip_suffix('M')).and_then(|s| s.parse().ok()).expect("PTnM step")
}

/// The energy (Wh × 60, to stay in integers) of v5 curve readings.
pub fn curve_energy_x60(items: &[Value]) -> i64 {
    items
        .iter()
        .filter(|p| !p["value"].is_null())
        .map(|p| int(&p["value"]) * step_minutes(p["interval_length"].as_str().unwrap_or("")))
        .sum()
}

/// v5 metering path with the usual query.
pub fn v5(path: &str, prm: &str, start: &str, end: &str) -> String {
    format!("/{path}?usage_point_id={prm}&start={start}&end={end}")
}

/// 2026 metering path with the usual query.
pub fn y2026(path: &str, prm: &str, start: &str, end: &str) -> String {
    format!("/mesure_synchrone_auto/v2/{path}?pointId={prm}&dateDebut={start}&dateFin={end}")
}

/// The v5 paths: (path, is a curve, is production).
pub const V5_METERING: &[(&str, bool, bool)] = &[
    ("metering_data_dc/v5/daily_consumption", false, false),
    ("metering_data_clc/v5/consumption_load_curve", true, false),
    ("metering_data_dcmp/v5/daily_consumption_max_power", false, false),
    ("metering_data_dp/v5/daily_production", false, true),
    ("metering_data_plc/v5/production_load_curve", true, true),
];

/// The legacy metering paths: (path, is a curve, is production).
pub const LEGACY_METERING: &[(&str, bool, bool)] = &[
    ("v3/metering_data/daily_consumption", false, false),
    ("v3/metering_data/consumption_load_curve", true, false),
    ("v3/metering_data/consumption_max_power", false, false),
    ("v4/metering_data/daily_consumption", false, false),
    ("v4/metering_data/consumption_load_curve", true, false),
    ("v4/metering_data/consumption_max_power", false, false),
    ("v4/metering_data/daily_consumption_max_power", false, false),
    ("v4/metering_data/daily_production", false, true),
    ("v4/metering_data/production_load_curve", true, true),
];

/// The 2026 measurement paths (under `mesure_synchrone_auto/v2`): (path,
/// is a curve, is production, extra query).
pub const Y2026_METERING: &[(&str, bool, bool, &str)] = &[
    ("consommation_quotidienne", false, false, ""),
    ("courbe_de_charge_consommation", true, false, ""),
    ("puissance_conso_max_quotidienne", false, false, "&mesuresPas=P1D&grandeurPhysique=PMA"),
    ("production_quotidienne", false, true, ""),
    ("courbe_de_charge_production", true, true, ""),
];

/// The customers paths of generations 1 and 2.
pub const CUSTOMERS: &[&str] = &[
    "customers_i/v5/identity",
    "customers_cd/v5/contact_data",
    "customers_upc/v5/usage_points/contracts",
    "customers_upa/v5/usage_points/addresses",
    "v3/customers/identity",
    "v3/customers/contact_data",
    "v3/customers/usage_points/contracts",
    "v3/customers/usage_points/addresses",
];

/// The 2026 contract APIs (PRM in the path).
pub const ITC: &[&str] =
    &["situation_contrat_auto/v1", "synth_contrat_auto/v1", "comptage_auto/v1", "donnees_generales_auto/v1"];
