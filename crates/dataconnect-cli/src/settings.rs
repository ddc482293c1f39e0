//! Settings: flags, then `DATACONNECT_…` environment variables, then a TOML
//! file in the user's config directory, in that order of precedence.
//!
//! Flags and environment variables are both read by clap (`env = …`), so a
//! flag always wins; the config file only fills what both left unset. The
//! client secret never comes from a flag alone: a flag's value shows in the
//! process list and the shell history, so it is read from the environment,
//! from a file named by `--client-secret-file`, or from the config file.

use std::path::{Path, PathBuf};

use clap::Args;
use dataconnect::Generation;
use jiff::civil::Date;
use serde::Deserialize;
use url::Url;

use crate::error::CliError;

/// Settings every command shares. Each is also an environment variable and
/// a key of the config file.
#[derive(Args, Clone, Debug, Default)]
pub struct GlobalArgs {
    /// The TOML config file [default: config.toml in the user's config directory].
    #[arg(long, env = "DATACONNECT_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The Data Connect base URL (for a local sandbox: http://127.0.0.1:8080).
    #[arg(long, env = "DATACONNECT_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,
    /// The API generation: legacy, v5 or 2026 [default: 2026].
    #[arg(long, env = "DATACONNECT_GENERATION", value_name = "GEN")]
    pub generation: Option<String>,
    /// The application's client id.
    #[arg(long, env = "DATACONNECT_CLIENT_ID", value_name = "ID")]
    pub client_id: Option<String>,
    /// A file holding the application's client secret (the secret itself is
    /// read from DATACONNECT_CLIENT_SECRET or the config file, never from a flag).
    #[arg(long, env = "DATACONNECT_CLIENT_SECRET_FILE", value_name = "PATH")]
    pub client_secret_file: Option<PathBuf>,
    /// The redirect URI registered for the application.
    #[arg(long, env = "DATACONNECT_REDIRECT_URI", value_name = "URL")]
    pub redirect_uri: Option<String>,
    /// The SQLite database [default: dataconnect.db in the user's data directory].
    #[arg(long, env = "DATACONNECT_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// The day the client takes as today, YYYY-MM-DD (replays of past periods) [default: today in Paris].
    #[arg(long, env = "DATACONNECT_TODAY", value_name = "DATE")]
    pub today: Option<String>,
    /// Where readings come from: dataconnect (Enedis Data Connect with the application's credentials) or
    /// conso-api (the Conso API gateway with a personal token; its base URL is the public service by default,
    /// and its quota a gentle 1 call per second and 300 per hour, since every user of the gateway shares it)
    /// [default: dataconnect].
    #[arg(long, env = "DATACONNECT_SOURCE", value_name = "SOURCE")]
    pub source: Option<String>,
    /// A file holding the Conso API token (the token itself is read from DATACONNECT_CONSO_TOKEN or this
    /// file, never from a flag).
    #[arg(long, env = "DATACONNECT_CONSO_TOKEN_FILE", value_name = "PATH")]
    pub conso_token_file: Option<PathBuf>,
}

/// Where readings come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Source {
    /// Enedis Data Connect, with the application's credentials.
    #[default]
    DataConnect,
    /// The Conso API gateway, with a personal token.
    ConsoApi,
}

impl Source {
    fn parse(s: &str) -> Result<Source, CliError> {
        match s.trim() {
            "dataconnect" | "data-connect" => Ok(Source::DataConnect),
            "conso-api" => Ok(Source::ConsoApi),
            other => Err(CliError::usage(format!(
                "unknown source {:?} (--source or DATACONNECT_SOURCE): use dataconnect or conso-api",
                other.chars().take(30).collect::<String>()
            ))),
        }
    }
}

/// The Conso API gateway's default budget: it is shared by every one of its
/// users, so a backfill goes slowly rather than crowd them out.
pub const CONSO_QUOTA_PER_SECOND: u32 = 1;
/// See [`CONSO_QUOTA_PER_SECOND`].
pub const CONSO_QUOTA_PER_HOUR: u32 = 300;

/// The config file's keys (all optional).
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub base_url: Option<String>,
    pub generation: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_secret_file: Option<PathBuf>,
    pub redirect_uri: Option<String>,
    pub db: Option<PathBuf>,
    pub today: Option<String>,
    /// Days fetched again on every sync, because Enedis corrects recent data.
    pub revision_days: Option<i32>,
    /// The application's quota: calls per second.
    pub quota_per_second: Option<u32>,
    /// The application's quota: calls per hour.
    pub quota_per_hour: Option<u32>,
    /// Where readings come from: dataconnect or conso-api.
    pub source: Option<String>,
    /// A file holding the Conso API token.
    pub conso_token_file: Option<PathBuf>,
}

/// The application's client secret. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The settings after precedence is applied. Values a command may not need
/// (the client's) stay optional here and are required by [`Settings::client`].
#[derive(Debug)]
pub struct Settings {
    pub base_url: Option<String>,
    pub generation: Generation,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub redirect_uri: Option<String>,
    pub db: PathBuf,
    pub today: Option<Date>,
    pub revision_days: i32,
    pub quota_per_second: u32,
    pub quota_per_hour: u32,
    pub source: Source,
    /// The Conso API token (source `conso-api`). Its `Debug` never shows it.
    pub conso_token: Option<Secret>,
}

/// What a command needs to build a client.
#[derive(Debug)]
pub struct ClientSettings {
    pub base_url: Url,
    pub generation: Generation,
    pub client_id: String,
    pub client_secret: Secret,
    pub redirect_uri: Option<Url>,
    pub today: Option<Date>,
    pub quota_per_second: u32,
    pub quota_per_hour: u32,
    /// The Conso API token, when the source is the gateway.
    pub conso_token: Option<Secret>,
}

pub(crate) fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("fr", "dataconnect", "dataconnect")
}

/// The config file read when `--config` is not given.
pub fn default_config_path() -> Option<PathBuf> {
    project_dirs().map(|d| d.config_dir().join("config.toml"))
}

/// Parses a `YYYY-MM-DD` date, naming the flag in the error.
pub fn parse_date(flag: &str, s: &str) -> Result<Date, CliError> {
    let t = s.trim();
    let shown: String = t.chars().take(30).collect();
    let ok = t.len() == 10 && t.as_bytes().get(4) == Some(&b'-') && t.as_bytes().get(7) == Some(&b'-');
    match (ok, t.parse::<Date>()) {
        (true, Ok(d)) => Ok(d),
        _ => Err(CliError::usage(format!(
            "{flag} {shown:?} is not a date: write it as YYYY-MM-DD, for example 2025-03-30"
        ))),
    }
}

impl Settings {
    /// Applies the config file under the flags and environment already in `args`.
    pub fn resolve(args: &GlobalArgs) -> Result<Settings, CliError> {
        let file = load_file(args.config.as_deref())?;
        let generation = match args.generation.as_deref().or(file.generation.as_deref()) {
            Some(g) => g
                .parse::<Generation>()
                .map_err(|e| CliError::usage(format!("{e} (--generation or DATACONNECT_GENERATION)")))?,
            None => Generation::default(),
        };
        let today = match args.today.as_deref().or(file.today.as_deref()) {
            Some(t) => Some(parse_date("--today", t)?),
            None => None,
        };
        let secret_file = args.client_secret_file.clone().or(file.client_secret_file.clone());
        let client_secret =
            match (std::env::var("DATACONNECT_CLIENT_SECRET").ok().filter(|s| !s.is_empty()), secret_file) {
                (Some(s), _) => Some(Secret(s)),
                (None, Some(path)) => Some(read_secret_file(&path)?),
                (None, None) => file.client_secret.clone().map(Secret),
            };
        let db = match args.db.clone().or(file.db.clone()) {
            Some(p) => p,
            None => project_dirs().map(|d| d.data_dir().join("dataconnect.db")).ok_or_else(|| {
                CliError::config("cannot find a data directory for the database: pass --db PATH or set DATACONNECT_DB")
            })?,
        };
        let source = match args.source.as_deref().or(file.source.as_deref()) {
            Some(s) => Source::parse(s)?,
            None => Source::default(),
        };
        let conso_token = match source {
            Source::DataConnect => None,
            Source::ConsoApi => conso_token(args.conso_token_file.as_deref().or(file.conso_token_file.as_deref()))?,
        };
        let (default_per_second, default_per_hour) = match source {
            Source::DataConnect => (5, 1000),
            Source::ConsoApi => (CONSO_QUOTA_PER_SECOND, CONSO_QUOTA_PER_HOUR),
        };
        let quota_per_second = file.quota_per_second.unwrap_or(default_per_second);
        let quota_per_hour = file.quota_per_hour.unwrap_or(default_per_hour);
        if quota_per_second == 0 || quota_per_hour == 0 {
            return Err(CliError::config(
                "quota_per_second and quota_per_hour must be at least 1: fix the config file",
            ));
        }
        Ok(Settings {
            base_url: args.base_url.clone().or(file.base_url),
            generation,
            client_id: args.client_id.clone().or(file.client_id),
            client_secret,
            redirect_uri: args.redirect_uri.clone().or(file.redirect_uri),
            db,
            today,
            revision_days: file.revision_days.unwrap_or(7).max(0),
            quota_per_second,
            quota_per_hour,
            source,
            conso_token,
        })
    }

    /// The settings a client needs, or a config error naming the first missing one.
    pub fn client(&self) -> Result<ClientSettings, CliError> {
        if self.source == Source::ConsoApi {
            return self.conso_client();
        }
        let base = self.base_url.as_deref().ok_or_else(|| {
            CliError::config(
                "no base URL: pass --base-url, set DATACONNECT_BASE_URL or base_url in the config file (for a local sandbox, run `dataconnect sandbox` and use http://127.0.0.1:8080)",
            )
        })?;
        let base_url = parse_url("base URL", base)?;
        let client_id = self.client_id.clone().ok_or_else(|| {
            CliError::config(
                "no client id: pass --client-id, set DATACONNECT_CLIENT_ID or client_id in the config file",
            )
        })?;
        let client_secret = self.client_secret.clone().ok_or_else(|| {
            CliError::config(
                "no client secret: set DATACONNECT_CLIENT_SECRET, pass --client-secret-file PATH, or set client_secret in the config file (a secret is never taken from a flag)",
            )
        })?;
        let redirect_uri = self.redirect_uri.as_deref().map(|u| parse_url("redirect URI", u)).transpose()?;
        Ok(ClientSettings {
            base_url,
            generation: self.generation,
            client_id,
            client_secret,
            redirect_uri,
            today: self.today,
            quota_per_second: self.quota_per_second,
            quota_per_hour: self.quota_per_hour,
            conso_token: None,
        })
    }

    /// The client settings of the Conso API gateway: a token instead of the
    /// application's credentials, the public service unless a base URL is set.
    fn conso_client(&self) -> Result<ClientSettings, CliError> {
        let token = self.conso_token.clone().ok_or_else(|| {
            CliError::config(
                "no Conso API token: set DATACONNECT_CONSO_TOKEN or pass --conso-token-file PATH (a token is never taken from a flag)",
            )
        })?;
        let base = self.base_url.as_deref().unwrap_or(dataconnect::CONSO_API_BASE_URL);
        Ok(ClientSettings {
            base_url: parse_url("base URL", base)?,
            generation: self.generation,
            client_id: "conso-api".to_owned(),
            client_secret: Secret(String::new()),
            redirect_uri: None,
            today: self.today,
            quota_per_second: self.quota_per_second,
            quota_per_hour: self.quota_per_hour,
            conso_token: Some(token),
        })
    }

    /// The day taken as today: `--today`, or today in Paris.
    pub fn today(&self) -> Date {
        self.today.unwrap_or_else(|| dataconnect::domain::today_paris(jiff::Timestamp::now()))
    }
}

fn parse_url(what: &str, s: &str) -> Result<Url, CliError> {
    let shown: String = s.chars().take(80).collect();
    let url = Url::parse(s.trim()).map_err(|e| {
        CliError::config(format!("{what} {shown:?} is not a URL ({e}): write it like http://127.0.0.1:8080"))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(CliError::config(format!(
            "{what} {shown:?} is not an http(s) URL: write it like http://127.0.0.1:8080"
        )));
    }
    Ok(url)
}

/// The Conso API token: `DATACONNECT_CONSO_TOKEN`, else the file given.
fn conso_token(file: Option<&Path>) -> Result<Option<Secret>, CliError> {
    if let Some(t) =
        std::env::var("DATACONNECT_CONSO_TOKEN").ok().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
    {
        return Ok(Some(Secret(t)));
    }
    let Some(path) = file else { return Ok(None) };
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::config(format!(
            "cannot read the Conso API token file {}: {e}: check --conso-token-file",
            path.display()
        ))
    })?;
    let token = text.trim().to_owned();
    if token.is_empty() {
        return Err(CliError::config(format!(
            "the Conso API token file {} is empty: write the token into it",
            path.display()
        )));
    }
    Ok(Some(Secret(token)))
}

fn read_secret_file(path: &Path) -> Result<Secret, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::config(format!(
            "cannot read the client secret file {}: {e}: check --client-secret-file",
            path.display()
        ))
    })?;
    let secret = text.trim().to_owned();
    if secret.is_empty() {
        return Err(CliError::config(format!(
            "the client secret file {} is empty: write the secret into it",
            path.display()
        )));
    }
    Ok(Secret(secret))
}

fn load_file(explicit: Option<&Path>) -> Result<FileConfig, CliError> {
    let (path, required) = match explicit {
        Some(p) => (p.to_path_buf(), true),
        None => match default_config_path() {
            Some(p) => (p, false),
            None => return Ok(FileConfig::default()),
        },
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(FileConfig::default()),
        Err(e) => {
            return Err(CliError::config(format!(
                "cannot read the config file {}: {e}: check --config",
                path.display()
            )));
        }
    };
    toml::from_str(&text).map_err(|e| {
        let first = e.message().lines().next().unwrap_or("invalid TOML").to_owned();
        CliError::config(format!(
            "config file {} is invalid: {first}: fix it or pass --config another file",
            path.display()
        ))
    })
}
