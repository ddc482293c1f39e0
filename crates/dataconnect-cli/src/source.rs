//! Building the client from the settings, and the sync engine's
//! [`Source`] on top of it.
//!
//! The client owns the quota gate, the retries and the clamping of a window
//! to the activation date; this module only sorts its errors by what the
//! sync should do, and keeps the first fatal one so the command can exit
//! with the right code.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dataconnect::{
    Client, ClientConfig, ClientSecret, DateRange, FileTokenStore, QuotaConfig, Reading, Series, UsagePointId,
};
use dataconnect_sync::{ErrorAction, FetchError, Source};
use jiff::civil::Date;

use crate::error::{CliError, from_client};
use crate::settings::ClientSettings;

/// Where generation 1 refresh tokens are kept: next to the database, in
/// their own 0600 file (never in the database, never in logs).
pub fn token_path(db: &Path) -> std::path::PathBuf {
    // A PostgreSQL store has no directory of its own: the tokens go to the
    // user's data directory, named after the server and database (never
    // the password), so that two stores do not share a refresh token.
    if let Some(url) = crate::store::postgres_url(db) {
        let tag: String = url::Url::parse(url)
            .map(|u| format!("{}-{}", u.host_str().unwrap_or("local"), u.path().trim_matches('/')))
            .unwrap_or_else(|_| "postgres".to_owned())
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' })
            .collect();
        let dir = crate::settings::project_dirs().map(|d| d.data_local_dir().to_path_buf()).unwrap_or_default();
        return dir.join(format!("postgres-{tag}.tokens.json"));
    }
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".tokens.json");
    db.with_file_name(name)
}

/// Builds the client from resolved settings.
pub fn client(settings: &ClientSettings, db: &Path) -> Result<Client, CliError> {
    client_with(settings, db, None)
}

/// Builds the client, with a quota budget shared with other processes when
/// `shared` is given (a PostgreSQL store's: see `sync_engine/postgres.rs`).
pub fn client_with(
    settings: &ClientSettings,
    db: &Path,
    shared: Option<Arc<dyn dataconnect::SharedQuota>>,
) -> Result<Client, CliError> {
    let mut config = ClientConfig::new(
        settings.base_url.clone(),
        settings.generation,
        settings.client_id.clone(),
        ClientSecret::new(settings.client_secret.expose()),
    );
    config.redirect_uri = settings.redirect_uri.clone();
    config.today = settings.today;
    config.quota = QuotaConfig { per_second: settings.quota_per_second, per_hour: settings.quota_per_hour };
    config.timeout = Duration::from_secs(30);
    config.token_store = Some(Arc::new(FileTokenStore::new(token_path(db))));
    config.shared_quota = shared;
    config.conso_token = settings.conso_token.as_ref().map(|t| dataconnect::AccessToken::new(t.expose()));
    Client::new(config).map_err(|e| from_client(&e))
}

/// What a command says when it reads through the Conso API gateway: where,
/// and at which pace (the gateway is shared by every one of its users).
pub fn gateway_note(settings: &ClientSettings) -> Option<String> {
    settings.conso_token.as_ref()?;
    Some(format!(
        "note: reading through the Conso API gateway at {}, at most {} call(s) per second and {} per hour \
         (the gateway is shared by all its users; quota_per_second and quota_per_hour in the config file change this)",
        settings.base_url, settings.quota_per_second, settings.quota_per_hour
    ))
}

/// How long the source takes an API's 403 900908 (not subscribed) or a
/// series' disguised request error at its word before asking again: an
/// operator who subscribes meanwhile is heard within the hour, and a fleet
/// spends one call per hour on it, not one per meter.
const REFUSAL_MEMORY: Duration = Duration::from_secs(3600);

/// The sync engine's view of the client.
pub struct ClientSource {
    client: Client,
    /// Activation days per meter and direction, from the stored contracts.
    activation: HashMap<(UsagePointId, dataconnect::Direction), Date>,
    fatal: Mutex<Option<CliError>>,
    /// Refusals that hold for every meter: by API (not subscribed) or by
    /// series (a request the gateway rejects), with the line that says so
    /// and when it was heard.
    everywhere: Mutex<HashMap<String, (String, std::time::Instant)>>,
    /// Generation 3 consents' `autorisation_id` per meter, to ask whether
    /// the load curve is collected before the first curve call.
    autorisations: HashMap<UsagePointId, String>,
    /// Meters whose curve collection was asked for already.
    collection_asked: Mutex<std::collections::HashSet<UsagePointId>>,
}

impl ClientSource {
    pub fn new(client: Client) -> Self {
        ClientSource {
            client,
            activation: HashMap::new(),
            fatal: Mutex::new(None),
            everywhere: Mutex::new(HashMap::new()),
            autorisations: HashMap::new(),
            collection_asked: Mutex::new(std::collections::HashSet::new()),
        }
    }

    /// Tells the source a meter's generation 3 `autorisation_id`: before
    /// its first load-curve call, the source asks whether Enedis collects
    /// the curve (the consent's `CCDC` service), and stops the series with
    /// what the customer must do when it does not.
    pub fn set_autorisation(&mut self, prm: &UsagePointId, autorisation_id: &str) {
        self.autorisations.insert(prm.clone(), autorisation_id.to_owned());
    }

    /// The refusal of a consumption curve that is not collected, asked once
    /// per meter (`subscribed_services` has no quota). An error asking is
    /// no answer: the curve call then says what it says.
    async fn curve_not_collected(&self, prm: &UsagePointId, series: Series) -> Option<FetchError> {
        if series != Series::ConsumptionCurve || self.client.generation() != dataconnect::Generation::Dc2026 {
            return None;
        }
        let id = self.autorisations.get(prm)?;
        if !self.collection_asked.lock().unwrap_or_else(|p| p.into_inner()).insert(prm.clone()) {
            return None;
        }
        match self.client.curve_collection(id, prm).await {
            Ok(dataconnect::CurveCollection::Collected) | Err(_) => None,
            Ok(state) => Some(FetchError {
                action: ErrorAction::StopSeries,
                message: format!(
                    "{prm} {series}: the load curve is {} (no active CCDC service): {}",
                    state.as_str().replace('-', " "),
                    state.advice()
                ),
            }),
        }
    }

    /// The refusal heard within [`REFUSAL_MEMORY`] under `key`, if any.
    fn refused(&self, key: &str) -> Option<String> {
        let mut known = self.everywhere.lock().unwrap_or_else(|p| p.into_inner());
        match known.get(key) {
            Some((line, at)) if at.elapsed() < REFUSAL_MEMORY => Some(line.clone()),
            Some(_) => {
                known.remove(key);
                None
            }
            None => None,
        }
    }

    /// Remembers a refusal that holds for every meter, and says it in one
    /// line naming the series, the API and the fix.
    fn refuse_everywhere(&self, series: Series, e: &dataconnect::Error) -> String {
        let api = e.api().map(str::to_owned).unwrap_or_else(|| self.client.series_api(series).to_owned());
        let (key, line) = if *e.kind() == dataconnect::ErrorKind::NotSubscribed {
            let line = format!(
                "{series} stopped for every meter: the application is not subscribed to the API {api} (403 900908, API Subscription validation failed); subscribe to it on Enedis's developer portal (DataHub), then sync again"
            );
            (format!("api:{api}"), line)
        } else {
            let line = format!("{series} stopped for every meter: {}", short(e));
            (format!("series:{series}"), line)
        };
        let mut known = self.everywhere.lock().unwrap_or_else(|p| p.into_inner());
        known.insert(key, (line.clone(), std::time::Instant::now()));
        line
    }

    /// Tells the source a meter's activation day for one direction.
    pub fn set_activation(&mut self, prm: &UsagePointId, direction: dataconnect::Direction, day: Date) {
        self.activation.insert((prm.clone(), direction), day);
    }

    /// The first error that stopped the run, classified for the exit code.
    pub fn take_fatal(&self) -> Option<CliError> {
        self.fatal.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// Sorts a client error by what the sync should do about it.
pub fn action(e: &dataconnect::Error) -> ErrorAction {
    use dataconnect::ErrorKind as K;
    if e.is_clamp() || e.is_no_data() {
        ErrorAction::Empty
    } else if *e.kind() == K::Unsupported {
        // The generation has no such endpoint: no meter has it.
        ErrorAction::StopSeriesEverywhere
    } else if e.stops_series() || *e.kind() == K::UnknownUsagePoint {
        ErrorAction::StopSeries
    } else if e.needs_consent() {
        ErrorAction::NeedsConsent
    } else {
        match e.kind() {
            K::NotSubscribed | K::RequestRejected => ErrorAction::StopSeriesEverywhere,
            K::Authentication | K::Unauthorized | K::Config | K::NoSuchApi | K::Transport | K::RateLimited => {
                ErrorAction::StopRun
            }
            _ => ErrorAction::SkipWindow,
        }
    }
}

impl Source for ClientSource {
    async fn fetch(&self, prm: &UsagePointId, series: Series, window: DateRange) -> Result<Vec<Reading>, FetchError> {
        // A refusal that holds for every meter costs no more calls.
        if let Some(refused) = self.refused_everywhere(series) {
            return Err(refused);
        }
        if let Some(refused) = self.curve_not_collected(prm, series).await {
            return Err(refused);
        }
        let mut request = self.client.readings(prm, series, window).concurrency(1);
        if let Some(day) = self.activation.get(&(prm.clone(), series.direction())) {
            request = request.activation(*day);
        }
        match request.send().await {
            Ok(fetched) => Ok(fetched.readings),
            Err(e) => Err(self.sort_error(prm, series, &e)),
        }
    }

    async fn fetch_index(
        &self,
        prm: &UsagePointId,
        series: Series,
        window: DateRange,
    ) -> Result<Vec<dataconnect::IndexReading>, FetchError> {
        if let Some(refused) = self.refused_everywhere(series) {
            return Err(refused);
        }
        self.client.index_window(prm, series, window).send().await.map_err(|e| self.sort_error(prm, series, &e))
    }
}

impl ClientSource {
    /// Sorts a failed call: a refusal that holds for every meter is
    /// remembered and said once; a fatal one is kept for the exit code.
    fn sort_error(&self, prm: &UsagePointId, series: Series, e: &dataconnect::Error) -> FetchError {
        let action = action(e);
        if action == ErrorAction::StopSeriesEverywhere {
            return FetchError { action, message: self.refuse_everywhere(series, e) };
        }
        if action == ErrorAction::StopRun {
            let mut fatal = self.fatal.lock().unwrap_or_else(|p| p.into_inner());
            if fatal.is_none() {
                *fatal = Some(from_client(e));
            }
        }
        FetchError { action, message: format!("{prm} {series}: {}", short(e)) }
    }

    /// The refusal that holds for every meter of `series`, if one was heard.
    fn refused_everywhere(&self, series: Series) -> Option<FetchError> {
        let api = format!("api:{}", self.client.series_api(series));
        let line = self.refused(&api).or_else(|| self.refused(&format!("series:{series}")))?;
        Some(FetchError { action: ErrorAction::StopSeriesEverywhere, message: line })
    }
}

/// The API's code and text when it sent them (`ADAM-ERR0069: Le sens de la
/// mesure…`), else the client's description.
pub fn short(e: &dataconnect::Error) -> String {
    match (e.code(), e.api_message()) {
        (Some(code), Some(text)) => format!("{code}: {text}"),
        (Some(code), None) => code.to_owned(),
        _ => e.to_string(),
    }
}
