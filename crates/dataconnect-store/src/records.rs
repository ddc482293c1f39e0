//! The plain records the [`Store`](crate::Store) trait reads and writes.
//!
//! They hold domain types (`UsagePointId`, `Series`, `Reading`, civil
//! dates, UTC instants) and nothing backend-specific, so a second backend
//! implements the same trait without new types.

use std::fmt;

use dataconnect::{ConsentDuration, DateRange, Generation, IndexReading, Reading, Series, UsagePointId};
use jiff::Timestamp;
use jiff::civil::Date;

/// One window's answer, as written by [`Store::upsert_window`](crate::Store::upsert_window).
#[derive(Clone, Copy, Debug)]
pub struct WindowWrite<'a> {
    /// The meter.
    pub prm: &'a UsagePointId,
    /// The series.
    pub series: Series,
    /// The day range that was asked for and answered; recorded as covered.
    pub window: DateRange,
    /// The readings the answer held (possibly none).
    pub readings: &'a [Reading],
}

/// One meter and series of an imported file, as written by
/// [`Store::upsert_import`](crate::Store::upsert_import): the readings the
/// file held and the Paris day ranges it covers completely (possibly none,
/// when it holds only part of a day).
#[derive(Clone, Copy, Debug)]
pub struct ImportWrite<'a> {
    /// The meter.
    pub prm: &'a UsagePointId,
    /// The series.
    pub series: Series,
    /// The readings, in any order; a later one with the same start wins.
    pub readings: &'a [Reading],
    /// The day ranges recorded as covered.
    pub covered: &'a [DateRange],
}

/// One index window's answer, as written by
/// [`Store::upsert_index_window`](crate::Store::upsert_index_window).
#[derive(Clone, Copy, Debug)]
pub struct IndexWindowWrite<'a> {
    /// The meter.
    pub prm: &'a UsagePointId,
    /// The index series (`consumption-index` or `production-index`).
    pub series: Series,
    /// The day range that was asked for and answered; recorded as covered.
    pub window: DateRange,
    /// The register readings the answer held (possibly none).
    pub readings: &'a [IndexReading],
}

/// An index reading together with the meter and series it belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredIndexReading {
    /// The meter.
    pub usage_point_id: UsagePointId,
    /// The index series.
    pub series: Series,
    /// The register reading itself.
    pub reading: IndexReading,
}

/// Which readings a streaming read or a summary visits. Empty lists mean
/// "all"; bounds are on the interval start, `from` inclusive and `to` exclusive.
#[derive(Clone, Debug, Default)]
pub struct ReadingFilter {
    /// Only these meters (all when empty).
    pub usage_points: Vec<UsagePointId>,
    /// Only these series (all when empty).
    pub series: Vec<Series>,
    /// Only intervals starting at or after this instant.
    pub from: Option<Timestamp>,
    /// Only intervals starting before this instant.
    pub to: Option<Timestamp>,
}

/// A reading together with the meter and series it belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredReading {
    /// The meter.
    pub usage_point_id: UsagePointId,
    /// The series.
    pub series: Series,
    /// The reading itself.
    pub reading: Reading,
}

/// Aggregates of one meter's series, for summaries and `status`.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesSummary {
    /// The meter.
    pub usage_point_id: UsagePointId,
    /// The series.
    pub series: Series,
    /// Number of stored intervals (including those without a value).
    pub points: u64,
    /// Start of the first interval.
    pub first_start: Timestamp,
    /// End of the last interval.
    pub last_end: Timestamp,
    /// Sum of the values (W for curves: use `energy_wh` for energy).
    pub sum_value: f64,
    /// Sum of value × step in hours for curves (Wh); equal to `sum_value`
    /// for daily energy; zero for maximum power.
    pub energy_wh: f64,
    /// The largest value, if any interval has one.
    pub max_value: Option<f64>,
}

/// A recorded consent for one meter.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsentRecord {
    /// The meter.
    pub usage_point_id: UsagePointId,
    /// The API generation the consent went through.
    pub generation: Generation,
    /// The Paris day it was given.
    pub start: Date,
    /// The duration asked for.
    pub duration: ConsentDuration,
    /// The day it ends (exclusive).
    pub expiry: Date,
    /// The `state` of the authorize request.
    pub state: String,
    /// Generation 3 only: the `autorisation_id`.
    pub autorisation_id: Option<String>,
    /// True once the API said the consent is gone (ADAM-DC-0007/0008).
    pub needs_consent: bool,
    /// Why it needs a new consent, as the API said it.
    pub reason: Option<String>,
    /// When it was recorded.
    pub recorded_at: Timestamp,
}

/// An authorize URL handed out and not yet completed.
#[derive(Clone, PartialEq)]
pub struct PendingConsent {
    /// The random `state` of the request (the CSRF check of the redirect).
    pub state: String,
    /// The generation the URL was built for.
    pub generation: Generation,
    /// The duration asked for.
    pub duration: ConsentDuration,
    /// The sandbox test client selected by the state's last digit, if any.
    pub sandbox_client: Option<u8>,
    /// When the URL was handed out.
    pub created_at: Timestamp,
}

impl fmt::Debug for PendingConsent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The state guards the redirect until it comes back, so it is not
        // printed in full.
        f.debug_struct("PendingConsent")
            .field("state", &"[redacted]")
            .field("generation", &self.generation)
            .field("duration", &self.duration)
            .field("sandbox_client", &self.sandbox_client)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// What the customer endpoints said about a meter.
#[derive(Clone, PartialEq)]
pub struct MeterInfo {
    /// The meter.
    pub usage_point_id: UsagePointId,
    /// The contract answer, as JSON text.
    pub contract_json: Option<String>,
    /// The address answer, as JSON text. It is customer data: never logged.
    pub address_json: Option<String>,
    /// The meter's last activation day, when the contract gave one.
    pub activation: Option<Date>,
    /// When it was fetched.
    pub updated_at: Timestamp,
}

impl fmt::Debug for MeterInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeterInfo")
            .field("usage_point_id", &self.usage_point_id)
            .field("contract_json", &self.contract_json.as_ref().map(|_| "[redacted]"))
            .field("address_json", &self.address_json.as_ref().map(|_| "[redacted]"))
            .field("activation", &self.activation)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// Per meter and series: when it was last synced and why it is stopped.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesState {
    /// The meter.
    pub usage_point_id: UsagePointId,
    /// The series.
    pub series: Series,
    /// When a sync last finished this series.
    pub last_synced_at: Option<Timestamp>,
    /// Why the series is stopped (ADAM-ERR0069, curve not collected…).
    pub stopped_reason: Option<String>,
}

/// The id of a sync run record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SyncRunId(pub i64);

/// How a sync run ended.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncRunOutcome {
    /// When it ended.
    pub finished_at: Timestamp,
    /// `ok`, `partial` or `failed`.
    pub status: String,
    /// Data calls made.
    pub calls: u64,
    /// Readings written.
    pub points: u64,
    /// A one-line summary of what went wrong, if anything.
    pub message: Option<String>,
}

/// A sync run as recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncRun {
    /// Its id.
    pub id: SyncRunId,
    /// When it started.
    pub started_at: Timestamp,
    /// How it ended; `None` while running, or when the process was killed.
    pub outcome: Option<SyncRunOutcome>,
}

/// One day of RTE's Tempo calendar, as [`Store::put_tempo_days`](crate::Store::put_tempo_days) keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TempoDay {
    /// The Paris civil day whose 06:00 starts the Tempo day.
    pub day: Date,
    /// RTE's colour: `BLUE`, `WHITE` or `RED`.
    pub color: String,
    /// Where it came from (`rte`, or the imported file's name).
    pub source: String,
}

/// One imported row of a regulated price table, as
/// [`Store::put_tariff_rows`](crate::Store::put_tariff_rows) keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct TariffRow {
    /// The option: `base`, `hphc` or `tempo`.
    pub option: String,
    /// Subscribed power, kVA.
    pub kva: u32,
    /// First day in force.
    pub start: Date,
    /// Last day in force (inclusive); `None` while in force.
    pub end: Option<Date>,
    /// Fixed part, € per year, all taxes included.
    pub fixed_eur_per_year: f64,
    /// The variable prices as a JSON object `{"HP":0.27,"HC":0.2068}` (€ per kWh).
    pub prices_json: String,
    /// The file it was imported from.
    pub source: String,
    /// When it was imported.
    pub imported_at: Timestamp,
}
