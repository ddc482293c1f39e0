//! `dataconnect status`: what the store knows, read without a single API
//! call: consents and when they expire, per meter and series the stored
//! span and what is still missing, the last sync and why series stopped,
//! and the quota used in the last hour and day.
//!
//! "Missing" is computed, not guessed: it is the days the API could serve
//! today (from the history deadline or the meter's activation, whichever is
//! later, to the last published day) minus the day ranges the store records
//! as covered. Days that were asked and answered without any value (the API
//! had nothing: a gap in the meter's data) are listed apart, because
//! syncing again does not fill them.

mod collect;
mod render;

use clap::{Args, ValueEnum};
use dataconnect::domain::paris;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use collect::open_with_queue;
use collect::{StatusInput, collect};
use render::render;

use crate::error::{Class, CliError};
use crate::settings::{GlobalArgs, Settings};

/// Consents ending within this many days are flagged.
const EXPIRY_WARNING_DAYS: i64 = 30;
/// Missing-day ranges shown per series in the table (JSON lists them all).
const TABLE_RANGES: usize = 6;

/// How `status` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    /// Tables for reading on a terminal.
    Table,
    /// One JSON document for scripts.
    Json,
}

#[derive(Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    global: GlobalArgs,
    /// table or json.
    #[arg(long, value_enum, default_value = "table")]
    format: StatusFormat,
}

/// The whole report, as `--format json` prints it.
#[derive(Serialize, Debug)]
pub struct Status {
    /// The database read.
    pub db: String,
    /// The day taken as today (Paris).
    pub today: Date,
    /// The last day whose data the API has published (D+1 08:00 Paris).
    pub last_published_day: Date,
    /// One entry per meter with a recorded consent.
    pub consents: Vec<ConsentStatus>,
    /// Authorize URLs handed out and not completed yet.
    pub pending_consents: usize,
    /// One entry per meter and series the store knows.
    pub series: Vec<SeriesStatus>,
    /// Consented meters no sync has touched yet.
    pub never_synced: Vec<String>,
    /// The most recent sync run, if any.
    pub last_sync: Option<LastSync>,
    /// Data calls recorded by syncs.
    pub quota: QuotaStatus,
    /// PostgreSQL only: the windows planned and not stored yet, shared by
    /// every `sync` process (see `dataconnect sync --workers`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work_queue: Option<QueueStatus>,
    /// PostgreSQL only: the application's quota as every `sync` process
    /// shares it, one entry per API that has been called.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_quota: Option<Vec<SharedQuotaStatus>>,
}

/// One API's share of the quota kept in PostgreSQL.
#[derive(Serialize, Debug)]
pub struct SharedQuotaStatus {
    pub api: String,
    /// Calls counted in the current UTC clock hour, by every process.
    pub calls_this_hour: u64,
    /// The margin added to each one-second window (40 ms at first; each
    /// per-second 429 widens it).
    pub margin_ms: u32,
    /// Until when a 429 closed the budget for every process, if it still is.
    pub closed_until: Option<Timestamp>,
}

/// The shared work queue of a PostgreSQL store.
#[derive(Serialize, Debug)]
pub struct QueueStatus {
    /// Windows waiting or being fetched.
    pub queued: u64,
    /// Of those, windows a worker holds a live lease on.
    pub leased: u64,
}

/// A meter's consent.
#[derive(Serialize, Debug)]
pub struct ConsentStatus {
    pub usage_point_id: String,
    pub generation: String,
    pub start: Date,
    /// The day the consent ends (exclusive).
    pub expiry: Date,
    /// Days from today to the expiry (negative once expired).
    pub days_left: i64,
    /// `ok`, `expiring` (within 30 days), `expired` or `needs-consent`.
    pub state: &'static str,
    /// Why a new consent is needed, as the API said it.
    pub reason: Option<String>,
}

/// A stretch of days, `from` inclusive and `to` exclusive.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Days {
    pub from: Date,
    pub to: Date,
}

/// One meter's series.
#[derive(Serialize, Debug)]
pub struct SeriesStatus {
    pub usage_point_id: String,
    pub series: String,
    /// Stored intervals (including those without a value).
    pub points: u64,
    /// The first and last Paris day with a stored interval.
    pub first_day: Option<Date>,
    pub last_day: Option<Date>,
    /// The days the API can serve today for this series.
    pub servable: Option<Days>,
    /// Servable days the store has not asked for yet (`sync` fetches them).
    pub missing_days: i64,
    pub missing: Vec<Days>,
    /// Days asked and answered without any value (gaps in the meter's
    /// data; syncing again does not fill them).
    pub empty_days: i64,
    pub empty: Vec<Days>,
    /// When a sync last finished this series.
    pub last_synced_at: Option<Timestamp>,
    /// Why syncs skip this series (wrong direction, curve not collected…).
    pub stopped_reason: Option<String>,
}

/// The last sync run.
#[derive(Serialize, Debug)]
pub struct LastSync {
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    /// `ok`, `partial`, `failed`, or `interrupted` when it never finished.
    pub status: String,
    pub calls: Option<u64>,
    pub points: Option<u64>,
    pub message: Option<String>,
}

/// Data calls recorded in the store's hourly counters.
#[derive(Serialize, Debug)]
pub struct QuotaStatus {
    pub calls_last_hour: u64,
    pub calls_last_day: u64,
    /// The configured hourly quota of the application.
    pub per_hour: u32,
    /// The configured per-second quota of the application.
    pub per_second: u32,
}

impl Cmd {
    pub async fn run(self) -> Result<(), CliError> {
        let settings = Settings::resolve(&self.global)?;
        if !crate::store::exists(&settings.db) {
            return Err(CliError::new(
                Class::Store,
                format!(
                    "no database at {}: run `dataconnect consent` and `dataconnect sync` (or `dataconnect demo`) first, or pass --db PATH",
                    crate::store::shown(&settings.db)
                ),
            ));
        }
        let (store, shared) = open_with_queue(&settings.db)?;
        let now = Timestamp::now();
        let today = settings.today();
        // A replayed day (--today) is taken as after 08:00, as the sandbox's
        // frozen clock is; the real today is before publication until 08:00.
        let published_today = settings.today.is_some() || now.to_zoned_datetime(paris()).hour() >= 8;
        let mut status = collect(
            &*store,
            &StatusInput {
                db: &settings.db,
                today,
                published_today,
                now,
                per_hour: settings.quota_per_hour,
                per_second: settings.quota_per_second,
            },
        )?;
        if let Some((queue, quota)) = shared {
            status.work_queue = Some(queue);
            status.shared_quota = Some(quota);
        }
        let text = match self.format {
            StatusFormat::Json => {
                let mut s = serde_json::to_string_pretty(&status).map_err(|e| CliError::internal(e.to_string()))?;
                s.push('\n');
                s
            }
            StatusFormat::Table => render(&status),
        };
        crate::output::print_stdout(&text)
    }
}
