//! The `dataconnect sandbox` command's arguments and entry point, kept in
//! this crate so that the CLI's subcommand is a thin wrapper:
//!
//! ```text
//! Command::Sandbox(args) => dataconnect_sandbox::cli::run(args).await?,
//! ```
//!
//! The flags are the sandbox's interface (`README.md`, "The sandbox"), which
//! tests and scripts rely on. `--help` lists the defaults, the sandbox test clients
//! and the sandbox's own test meters, generated from the meter table so it
//! cannot drift from what the sandbox serves.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

use jiff::civil::Date;

use crate::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REDIRECT_URI, FLEET_MAX, Sandbox, SandboxConfig, meters,
};

/// Arguments of `dataconnect sandbox`: the offline Data Connect emulator,
/// serving all three API generations on one base URL.
#[derive(Clone, clap::Args)]
#[command(after_long_help = long_help())]
pub struct SandboxArgs {
    /// Address to listen on; port 0 picks a free port. The first line on
    /// stdout is `listening on http://HOST:PORT`.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: String,

    /// Client id of the registered application.
    #[arg(long, value_name = "ID", default_value = DEFAULT_CLIENT_ID)]
    pub client_id: String,

    /// Client secret of the registered application (the default is public:
    /// it only opens the offline sandbox).
    #[arg(long, value_name = "SECRET", default_value = DEFAULT_CLIENT_SECRET)]
    pub client_secret: String,

    /// Redirect URI registered for the application: consents come back
    /// there.
    #[arg(long, value_name = "URL", default_value = DEFAULT_REDIRECT_URI)]
    pub redirect_uri: String,

    /// Day the sandbox takes as today: its clock starts at this day 12:00
    /// Paris time and runs from there, so any past period can be replayed
    /// while tokens still expire. Default: the real date.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
    pub today: Option<Date>,

    /// Calls per second allowed per application (per API for the 2026
    /// APIs); beyond, 429 with fault 900807. 0 disables the limit.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub quota_per_second: u32,

    /// Calls per clock hour allowed per application on the generation 1
    /// and 2 APIs (default 10000); beyond, 429 with code 900804 and
    /// `nextAccessTime`. Given without --quota-per-hour-per-api, it sets
    /// the 2026 APIs' cap too. 0 disables the limit.
    #[arg(long, value_name = "N")]
    pub quota_per_hour: Option<u32>,

    /// Calls per clock hour allowed per 2026 API (each of
    /// mesure_synchrone_auto, situation_contrat_auto, …), as their
    /// published description says: default 1000. 0 disables the limit.
    #[arg(long, value_name = "N")]
    pub quota_per_hour_per_api: Option<u32>,

    /// How many milliseconds short of a full second a call may arrive after
    /// the call N before it and still pass the per-second quota: the real
    /// gateway's edge is undocumented, and a client pacing itself when each
    /// call starts sees its calls arrive with some jitter. 0 is the strict
    /// sliding second.
    #[arg(long, value_name = "MS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(0..1000))]
    pub quota_tolerance_ms: u64,

    /// An API the application has not subscribed to on Enedis's developer
    /// portal, by the first segment of its path (comptage_auto,
    /// mesure_synchrone_auto, metering_data_clc, …): its calls answer 403
    /// with code 900908 ("API Subscription validation failed"). Repeat it,
    /// or separate names with commas.
    #[arg(long = "unsubscribed-api", value_name = "API", value_delimiter = ',')]
    pub unsubscribed_apis: Vec<String>,

    /// Retire the v5 APIs from this day (of the sandbox's clock): their
    /// calls then answer 404 "No matching resource found for given API
    /// Request", as WSO2 answers for an API it no longer serves. Enedis
    /// retired v5 around mid-October 2026 without publishing the date or
    /// the answer: both are assumptions. Default: v5 answers on every day.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
    pub retire_v5: Option<Date>,

    /// Answer a 2026 request outside its published description (an unknown
    /// parameter or resource) with a 400 naming the problem, instead of
    /// the bare 500 the real gateway answers.
    #[arg(long)]
    pub out_of_spec_400: bool,

    /// Share (0 to 1) of data and token calls that fail as the real service
    /// does: 500 ADAM-DC-0500, 503, a response held past 30 s, a body cut in
    /// the middle.
    #[arg(long, value_name = "R", default_value_t = 0.0, value_parser = parse_rate)]
    pub fault_rate: f64,

    /// Seed of the fault injection: the same seed and the same sequence of
    /// requests give the same faults.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,

    /// Append one JSON line per request (time, method, path, query, status)
    /// to FILE.
    #[arg(long, value_name = "FILE")]
    pub request_log: Option<PathBuf>,

    /// Show an interactive consent page (in French, as Enedis shows it)
    /// where the customer picks a sandbox client and its meters, then
    /// accepts or refuses; without it, consent is granted at once for the
    /// client named by the last digit of `state`.
    #[arg(long)]
    pub consent_page: bool,

    /// Add N synthetic consumption meters, PRMs 25000000000001 to
    /// 25000000000000 + N (14 digits: 25 then the meter's number, zero
    /// padded), already consented to the registered application for three
    /// years: an application token reads them in every generation without a
    /// consent journey. At most 100000.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = parse_fleet)]
    pub fleet: u32,

    /// Label generation 3's GET answers `application/octet-stream` (their
    /// body stays JSON), as the 2026 gateway was seen doing.
    #[arg(long)]
    pub octet_stream: bool,

    /// Production-like consent checks: data and contract calls answer only
    /// for meters with a live consent given through this sandbox's consent
    /// pages (or the --fleet's), ADAM-DC-0008 otherwise, as Enedis does.
    /// Without it every known meter answers an application token.
    #[arg(long)]
    pub strict_consent: bool,
}

impl std::fmt::Debug for SandboxArgs {
    // The secret stays out of logs and error reports.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxArgs")
            .field("listen", &self.listen)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_uri", &self.redirect_uri)
            .field("today", &self.today)
            .field("quota_per_second", &self.quota_per_second)
            .field("quota_per_hour", &self.quota_per_hour)
            .field("quota_per_hour_per_api", &self.quota_per_hour_per_api)
            .field("quota_tolerance_ms", &self.quota_tolerance_ms)
            .field("unsubscribed_apis", &self.unsubscribed_apis)
            .field("retire_v5", &self.retire_v5)
            .field("out_of_spec_400", &self.out_of_spec_400)
            .field("fault_rate", &self.fault_rate)
            .field("seed", &self.seed)
            .field("request_log", &self.request_log)
            .field("consent_page", &self.consent_page)
            .field("fleet", &self.fleet)
            .field("octet_stream", &self.octet_stream)
            .field("strict_consent", &self.strict_consent)
            .finish()
    }
}

impl SandboxArgs {
    /// The sandbox configuration these arguments describe.
    pub fn config(&self) -> SandboxConfig {
        let defaults = SandboxConfig::default();
        SandboxConfig {
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            redirect_uri: self.redirect_uri.clone(),
            today: self.today,
            quota_per_second: self.quota_per_second,
            quota_per_hour: self.quota_per_hour.unwrap_or(defaults.quota_per_hour),
            quota_per_hour_api: self
                .quota_per_hour_per_api
                .or(self.quota_per_hour)
                .unwrap_or(defaults.quota_per_hour_api),
            quota_tolerance: std::time::Duration::from_millis(self.quota_tolerance_ms),
            unsubscribed_apis: self
                .unsubscribed_apis
                .iter()
                .map(|a| a.trim().to_owned())
                .filter(|a| !a.is_empty())
                .collect(),
            retire_v5: self.retire_v5,
            out_of_spec_400: self.out_of_spec_400,
            fault_rate: self.fault_rate,
            seed: self.seed,
            request_log: self.request_log.clone(),
            consent_page: self.consent_page,
            fleet: self.fleet,
            octet_stream: self.octet_stream,
            strict_consent: self.strict_consent,
            ..defaults
        }
    }
}

fn parse_day(text: &str) -> Result<Date, String> {
    text.parse::<Date>().map_err(|_| format!("`{text}` is not a day in the form YYYY-MM-DD"))
}

fn parse_fleet(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(n) if n <= FLEET_MAX => Ok(n),
        _ => Err(format!("`{text}` is not a fleet size: give a whole number from 0 to {FLEET_MAX}")),
    }
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("`{text}` is not a rate between 0 and 1")),
    }
}

/// The end of `--help`: the sandbox test clients and the sandbox's own
/// meters.
fn long_help() -> String {
    let mut help = String::from("Sandbox test clients (the last digit of `state` in the consent request picks one):\n");
    for client in 0..=8u8 {
        let prms: Vec<&str> = meters::of_client(client).iter().map(|m| m.prm).collect();
        help.push_str(&format!("  {client}  {:<47} {}\n", prms.join(", "), client_behaviour(client)));
    }
    help.push_str("  9  (no meter)                                      consent ends as a refusal\n");
    help.push_str("\nThe sandbox's own test meters (reachable with an application token):\n");
    for meter in meters::METERS.iter().filter(|m| m.client.is_none()) {
        help.push_str(&format!("  {}  {}\n", meter.prm, own_meter_behaviour(meter)));
    }
    help.push_str(&format!(
        "\nWith --fleet N (at most {FLEET_MAX}), N synthetic meters already consented for the registered application:\n  \
         {}, {}, … 25000000000000 + N  consumption, PT30M load curve, each with its own data\n  \
         (the list for N < 10000: seq -f '2500000000%04g' 1 N)\n",
        crate::fleet_prm(1),
        crate::fleet_prm(2),
    ));
    help.push_str(
        "\nGeneration 1: GET /group/espace-particuliers/consentement-linky/oauth2/authorize, POST /v1/oauth2/token\n\
         Generation 2: GET /dataconnect/v1/oauth2/authorize, POST /oauth2/v3/token\n\
         Generation 3: GET /dataconnect/v2/oauth2/authorize, POST /subscribed_services/v1\n\
         (one meter per generation 3 consent: the client's first, or the one picked with --consent-page)\n\
         Every route: GET /openapi.json\n",
    );
    help.push_str(&format!(
        "\nThe Conso API gateway: GET /conso/{{type}} with `Authorization: Bearer {p}<PRM>` (or {p}<PRM>+<PRM>…),\n  \
         the token covering exactly those meters (401 for another one). 2026 types (pointId, dateDebut, dateFin):\n  \
         consommation_quotidienne, courbe_de_charge_consommation, puissance_conso_max_quotidienne, production_quotidienne,\n  \
         courbe_de_charge_production; older types (prm, start, end), the v5 meter_reading without its wrapper:\n  \
         daily_consumption, consumption_load_curve, consumption_max_power, daily_production, production_load_curve.\n  \
         Errors: {{\"status\", \"message\", \"error\"}}, Data Connect's own body inside \"error\" when it refused the call.\n",
        p = crate::data::CONSO_TOKEN_PREFIX,
    ));
    help
}

fn client_behaviour(client: u8) -> &'static str {
    match client {
        0 => "consumption, complete data",
        1 => "consumption, commissioned 2019-08-27",
        2 => "consumption, load curve not collected",
        3 => "consumption + production",
        4 => "consumption, no data on Tuesdays and Wednesdays",
        5 => "production only",
        6 => "self-consumption",
        7 => "three consumption meters",
        8 => "consent revoked at once",
        _ => "",
    }
}

fn own_meter_behaviour(meter: &meters::Meter) -> &'static str {
    if meter.three_phase {
        return "consumption, three-phase: max power with grandeurPhysique=TOUT gives PMA1 to PMA3";
    }
    if meter.moved_away {
        return "the customer moved away: every call answers ADAM-DC-0007";
    }
    match meter.step {
        meters::StepPlan::Fixed10 => "consumption, PT10M load curve",
        meters::StepPlan::Changing => "consumption, load-curve step changing inside each day",
        meters::StepPlan::Fixed30 if meter.nulls => "consumption, load curve with null values",
        meters::StepPlan::Fixed30 => "consumption",
    }
}

/// Runs the sandbox until Ctrl-C or SIGTERM, printing
/// `listening on http://HOST:PORT` as the first line on stdout.
pub async fn run(args: SandboxArgs) -> std::io::Result<()> {
    run_with(args, std::io::stdout(), shutdown_signal()).await
}

/// Runs the sandbox until `shutdown` completes. Once the port is open,
/// writes `listening on http://HOST:PORT` and a newline to `out` and
/// flushes it (scripts wait for that line; tests pass a buffer).
pub async fn run_with(
    args: SandboxArgs,
    mut out: impl std::io::Write + Send,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sandbox = Sandbox::new(args.config())?;
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    let addr: SocketAddr = listener.local_addr()?;
    writeln!(out, "listening on http://{addr}")?;
    out.flush()?;
    drop(out);
    crate::serve(listener, sandbox, shutdown).await
}

/// Completes on Ctrl-C, or on SIGTERM where there is one.
async fn shutdown_signal() {
    let ctrl_c = async {
        // If the handler cannot be installed, only SIGTERM stops the server.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SandboxArgs,
    }

    #[test]
    fn defaults_match_the_contract() {
        let cli = Cli::try_parse_from(["sandbox"]).map_err(|e| e.to_string());
        let args = cli.map(|c| c.args);
        let Ok(args) = args else { panic!("{args:?}") };
        assert_eq!(args.listen, "127.0.0.1:8080");
        let config = args.config();
        assert_eq!(config.client_id, DEFAULT_CLIENT_ID);
        assert_eq!(config.quota_per_second, 5);
        assert_eq!(config.quota_per_hour, 10_000);
        assert_eq!(config.quota_per_hour_api, 1_000);
        assert_eq!(config.quota_tolerance, crate::DEFAULT_QUOTA_TOLERANCE);
        assert!(config.unsubscribed_apis.is_empty() && config.retire_v5.is_none() && !config.out_of_spec_400);
        assert!(!format!("{args:?}").contains(DEFAULT_CLIENT_SECRET));
    }

    #[test]
    fn every_flag_parses() {
        let cli = Cli::try_parse_from([
            "sandbox",
            "--listen",
            "127.0.0.1:0",
            "--client-id",
            "id",
            "--client-secret",
            "secret",
            "--redirect-uri",
            "http://x/cb",
            "--today",
            "2024-10-27",
            "--quota-per-second",
            "7",
            "--quota-per-hour",
            "100",
            "--fault-rate",
            "0.25",
            "--seed",
            "42",
            "--request-log",
            "/tmp/x.jsonl",
            "--consent-page",
            "--fleet",
            "20",
        ]);
        let Ok(Cli { args }) = cli else { panic!("did not parse") };
        assert_eq!(args.today, Some(jiff::civil::date(2024, 10, 27)));
        assert_eq!(args.fault_rate, 0.25);
        assert_eq!(args.seed, 42);
        assert!(args.consent_page);
        assert_eq!(args.config().fleet, 20);
        // --quota-per-hour alone sets both caps; the per-API flag wins.
        assert_eq!((args.config().quota_per_hour, args.config().quota_per_hour_api), (100, 100));
        let cli = Cli::try_parse_from([
            "sandbox",
            "--quota-per-hour-per-api",
            "7",
            "--quota-tolerance-ms",
            "0",
            "--unsubscribed-api",
            "comptage_auto,metering_data_clc",
            "--unsubscribed-api",
            "mesure_synchrone_auto",
            "--retire-v5",
            "2026-10-15",
            "--out-of-spec-400",
        ]);
        let Ok(Cli { args }) = cli else { panic!("did not parse") };
        let config = args.config();
        assert_eq!((config.quota_per_hour, config.quota_per_hour_api), (10_000, 7));
        assert_eq!(config.quota_tolerance, std::time::Duration::ZERO);
        assert_eq!(config.unsubscribed_apis, ["comptage_auto", "metering_data_clc", "mesure_synchrone_auto"]);
        assert_eq!(config.retire_v5, Some(jiff::civil::date(2026, 10, 15)));
        assert!(config.out_of_spec_400);
        assert!(Cli::try_parse_from(["sandbox", "--quota-tolerance-ms", "1000"]).is_err());
        assert!(Cli::try_parse_from(["sandbox", "--fleet", "100000"]).is_ok());
        let too_many = Cli::try_parse_from(["sandbox", "--fleet", "100001"]).err().map(|e| e.to_string());
        assert!(too_many.is_some_and(|e| e.contains("from 0 to 100000")));
        assert!(Cli::try_parse_from(["sandbox", "--fleet", "-1"]).is_err());
        assert!(Cli::try_parse_from(["sandbox", "--fault-rate", "1.5"]).is_err());
        assert!(Cli::try_parse_from(["sandbox", "--today", "27/10/2024"]).is_err());
    }

    #[test]
    fn help_lists_clients_and_meters() {
        let help = Cli::command().render_long_help().to_string();
        for prm in meters::METERS.iter().map(|m| m.prm) {
            assert!(help.contains(prm), "{prm} missing from --help");
        }
        assert!(help.contains(DEFAULT_CLIENT_ID));
        assert!(help.contains(DEFAULT_REDIRECT_URI));
        assert!(help.contains("25000000000001") && help.contains("--fleet"));
    }
}
