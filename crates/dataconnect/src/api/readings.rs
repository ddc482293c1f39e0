//! The readings builders: [`ReadingsRequest`] for any range, and
//! [`WindowRequest`] for exactly one call.

use futures::StreamExt;
use jiff::ToSpan;
use jiff::civil::Date;

use super::{LegacyVersion, conso_call, decode_window, metering_call};
use crate::client::Client;
use crate::domain::{DateRange, Reading, Series, UsagePointId};
use crate::error::Error;
use crate::plan::plan_windows;

/// What [`ReadingsRequest::send`] returns.
#[derive(Clone, Debug, PartialEq)]
pub struct Fetched {
    /// The readings, ordered by start, without duplicates.
    pub readings: Vec<Reading>,
    /// Why the range was cut, when it was: clamped before the calls (not
    /// after today, history deadline, known activation date) or by the API
    /// (ADAM-ERR0123 and the like, in which case the refused days are
    /// named).
    pub clamped: Option<String>,
    /// The range asked for.
    pub requested: DateRange,
    /// The range actually asked of the API, or `None` when nothing could
    /// be asked.
    pub served: Option<DateRange>,
    /// Windows for which the API said it had no data (404 no data): gaps,
    /// or days not published yet.
    pub empty_windows: Vec<DateRange>,
}

/// Readings of one series of one meter over any date range.
///
/// The range is clamped to what the API can answer (not after today, not
/// before the history deadline, not before the activation date given with
/// [`activation`](Self::activation)), split into windows of at most 7 days
/// (curves) or 365 days (daily series), fetched concurrently under the
/// quota gate, and merged in order without duplicates. When the API
/// refuses the start of a window as before the activation, the history
/// deadline or the consent (the clamp errors), the client finds the first
/// day it accepts with a few more calls (a binary search) and keeps the
/// rest; the cut is reported in [`Fetched::clamped`]. A range that clamps
/// to nothing gives an empty result with a reason, not an error.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until `.send().await`"]
pub struct ReadingsRequest {
    client: Client,
    prm: UsagePointId,
    series: Series,
    range: DateRange,
    activation: Option<Date>,
    legacy: LegacyVersion,
    concurrency: usize,
}

impl ReadingsRequest {
    pub(crate) fn new(client: Client, prm: UsagePointId, series: Series, range: DateRange) -> Self {
        ReadingsRequest {
            client,
            prm,
            series,
            range,
            activation: None,
            legacy: LegacyVersion::default(),
            concurrency: 4,
        }
    }

    /// Does not ask for days before `date`, the meter's last activation
    /// (from [`Contract::activation_date`](crate::Contract::activation_date)).
    pub fn activation(mut self, date: Date) -> Self {
        self.activation = Some(date);
        self
    }

    /// Which generation 1 paths to use (v4 by default).
    pub fn legacy_version(mut self, v: LegacyVersion) -> Self {
        self.legacy = v;
        self
    }

    /// How many windows may be in flight at once (default 4; the quota
    /// gate paces them anyway).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Fetches the readings.
    pub async fn send(self) -> Result<Fetched, Error> {
        let today = self.client.today();
        let plan = plan_windows(self.series, self.range, today, self.activation);
        let Some(served) = plan.served else {
            return Ok(Fetched {
                readings: Vec::new(),
                clamped: plan.clamped,
                requested: self.range,
                served: None,
                empty_windows: Vec::new(),
            });
        };
        let this = &self;
        let mut stream = futures::stream::iter(plan.windows.iter().copied().enumerate())
            .map(|(i, w)| async move { (i, this.fetch_clamping(w).await) })
            .buffer_unordered(self.concurrency);
        let mut parts: Vec<(usize, WindowResult)> = Vec::with_capacity(plan.windows.len());
        while let Some((i, r)) = stream.next().await {
            // A hard error stops everything: dropping the stream cancels
            // the windows still in flight.
            parts.push((i, r?));
        }
        drop(stream);
        parts.sort_by_key(|(i, _)| *i);
        let mut readings = Vec::new();
        let mut reasons: Vec<String> = plan.clamped.into_iter().collect();
        let mut empty_windows = Vec::new();
        let mut first_served: Option<Date> = None;
        for (_, part) in parts {
            readings.extend(part.readings);
            if let Some(r) = part.refused {
                reasons.push(r);
            }
            if part.no_data {
                empty_windows.push(part.window);
            }
            if first_served.is_none() {
                first_served = part.accepted_from;
            }
        }
        readings.sort_by_key(|r| r.start);
        readings.dedup_by_key(|r| r.start);
        let served = first_served.and_then(|s| DateRange::new(s, served.end()).ok());
        Ok(Fetched {
            readings,
            clamped: (!reasons.is_empty()).then(|| reasons.join("; ")),
            requested: self.range,
            served,
            empty_windows,
        })
    }

    async fn fetch_window(&self, w: DateRange) -> Result<Vec<Reading>, Error> {
        WindowRequest {
            client: self.client.clone(),
            prm: self.prm.clone(),
            series: self.series,
            window: w,
            legacy: self.legacy,
        }
        .send()
        .await
    }

    /// Fetches a window; when the API refuses its start with a clamp
    /// error, finds the first accepted day by bisection and fetches from
    /// there.
    async fn fetch_clamping(&self, window: DateRange) -> Result<WindowResult, Error> {
        let mut out = WindowResult { window, readings: Vec::new(), refused: None, no_data: false, accepted_from: None };
        let first = match self.fetch_window(window).await {
            Ok(r) => {
                out.readings = r;
                out.accepted_from = Some(window.start());
                return Ok(out);
            }
            Err(e) if e.is_no_data() => {
                out.no_data = true;
                out.accepted_from = Some(window.start());
                return Ok(out);
            }
            Err(e) if e.is_clamp() => e,
            Err(e) => return Err(e),
        };
        // Invariant: `cur` starts on a refused day; the days after `cur`
        // were fetched.
        let mut cur = window;
        loop {
            if cur.days() <= 1 {
                out.refused = Some(format!("{} to {} was refused by the API ({first})", window.start(), cur.end()));
                if out.accepted_from.is_none() && cur.end() < window.end() {
                    out.accepted_from = Some(cur.end());
                }
                return Ok(out);
            }
            let mid = cur.start().checked_add((cur.days() / 2).days()).unwrap_or(cur.end());
            let (left, right) = match (DateRange::new(cur.start(), mid), DateRange::new(mid, cur.end())) {
                (Ok(l), Ok(r)) => (l, r),
                _ => return Ok(out),
            };
            match self.fetch_window(right).await {
                Ok(r) => {
                    out.readings.extend(r);
                    out.accepted_from = Some(right.start());
                    cur = left;
                }
                Err(e) if e.is_no_data() => {
                    out.accepted_from = Some(right.start());
                    cur = left;
                }
                Err(e) if e.is_clamp() => cur = right,
                Err(e) => return Err(e),
            }
        }
    }
}

struct WindowResult {
    window: DateRange,
    readings: Vec<Reading>,
    refused: Option<String>,
    no_data: bool,
    /// The first day of the window the API accepted.
    accepted_from: Option<Date>,
}

/// Exactly one API call for one window of one series: no clamping, no
/// splitting, errors as the API gave them (after the pipeline's retries).
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until `.send().await`"]
pub struct WindowRequest {
    client: Client,
    prm: UsagePointId,
    series: Series,
    window: DateRange,
    legacy: LegacyVersion,
}

impl WindowRequest {
    pub(crate) fn new(client: Client, prm: UsagePointId, series: Series, window: DateRange) -> Self {
        WindowRequest { client, prm, series, window, legacy: LegacyVersion::default() }
    }

    /// Which generation 1 paths to use (v4 by default).
    pub fn legacy_version(mut self, v: LegacyVersion) -> Self {
        self.legacy = v;
        self
    }

    /// Sends the call; readings in order, those outside the window
    /// dropped, duplicates kept (the API's answer as it is).
    pub async fn send(self) -> Result<Vec<Reading>, Error> {
        if self.series.is_index() {
            return Err(Error::new(
                crate::error::ErrorKind::Unsupported,
                format!("{} holds register readings, not readings: read it with `Client::index`", self.series),
            ));
        }
        let generation = self.client.generation();
        let conso = self.client.config().conso_token.is_some();
        let call = if conso {
            conso_call(generation, &self.prm, self.series, self.window)?
        } else {
            metering_call(generation, self.legacy, &self.prm, self.series, self.window)?
        };
        let (series, window) = (self.series, self.window);
        let (lo, hi) = (window.start_instant(), window.end_instant());
        self.client
            .call(&call, |body| {
                let mut r = if conso {
                    crate::wire::conso::decode_readings(generation, body, series, window)?
                } else {
                    decode_window(generation, body, series, window)?
                };
                r.retain(|x| x.start >= lo && x.start < hi);
                Ok(r)
            })
            .await
    }
}
