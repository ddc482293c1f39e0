//! The table form of `status`: the [`Status`] that [`collect`](super::collect)
//! read, as sections a person reads in a terminal (`--format json` prints
//! the same value as JSON instead).

use comfy_table::{Table, presets};
use dataconnect::domain::paris;
use jiff::{Timestamp, ToSpan};

use super::{Days, Status, TABLE_RANGES};

/// The table form of `status`, one section after the other.
pub(super) fn render(s: &Status) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "database {}; today {} (Paris); last published day {}\n\n",
        s.db, s.today, s.last_published_day
    ));

    render_consents(s, &mut out);
    render_series(s, &mut out);
    render_sync_and_quota(s, &mut out);
    out
}

/// An instant as Paris wall-clock time, to the minute.
fn when(t: Timestamp) -> String {
    t.to_zoned_datetime(paris()).strftime("%Y-%m-%d %H:%M").to_string()
}

/// The consents and the pending requests.
fn render_consents(s: &Status, out: &mut String) {
    out.push_str("Consents\n");
    if s.consents.is_empty() {
        out.push_str("  none recorded: run `dataconnect consent` to ask a customer\n");
    } else {
        let mut t = table(&["meter", "generation", "start", "expires", "state"]);
        for c in &s.consents {
            let state = match c.state {
                "needs-consent" => format!(
                    "NEEDS CONSENT: {} (ask the customer again: dataconnect consent)",
                    c.reason.as_deref().unwrap_or("the API refused the consent")
                ),
                "expired" => format!("EXPIRED {} days ago: ask the customer again", -c.days_left),
                "expiring" => format!("WARNING: expires in {} days: ask the customer to renew", c.days_left),
                _ => format!("ok ({} days left)", c.days_left),
            };
            t.add_row([
                c.usage_point_id.clone(),
                c.generation.clone(),
                c.start.to_string(),
                c.expiry.to_string(),
                state,
            ]);
        }
        out.push_str(&format!("{t}\n"));
    }
    if s.pending_consents > 0 {
        out.push_str(&format!(
            "  {} consent request(s) handed out and not completed (dataconnect consent complete --url …)\n",
            s.pending_consents
        ));
    }
}

/// A row per meter and series, and the meters never synced.
fn render_series(s: &Status, out: &mut String) {
    out.push_str("\nSeries\n");
    if s.series.is_empty() {
        out.push_str("  nothing stored yet: run `dataconnect sync`\n");
    } else {
        let mut t = table(&[
            "meter",
            "series",
            "points",
            "stored span",
            "missing (sync fetches)",
            "no data from the API",
            "last sync",
        ]);
        for r in &s.series {
            let span = match (r.first_day, r.last_day) {
                (Some(a), Some(b)) => format!("{a} .. {b}"),
                _ => "-".to_owned(),
            };
            let missing = match &r.stopped_reason {
                Some(reason) => format!("stopped: {reason}"),
                None if r.missing_days == 0 => "none".to_owned(),
                None => format!("{} days: {}", r.missing_days, compact(&r.missing, TABLE_RANGES)),
            };
            let empty = if r.empty_days == 0 {
                "none".to_owned()
            } else {
                format!("{} days: {}", r.empty_days, compact(&r.empty, TABLE_RANGES))
            };
            t.add_row([
                r.usage_point_id.clone(),
                r.series.clone(),
                r.points.to_string(),
                span,
                missing,
                empty,
                r.last_synced_at.map(when).unwrap_or_else(|| "never".to_owned()),
            ]);
        }
        out.push_str(&format!("{t}\n"));
    }

    if !s.never_synced.is_empty() {
        out.push_str(&format!(
            "  never synced: {}: run `dataconnect sync` to fetch their history\n",
            s.never_synced.join(", ")
        ));
    }
}

/// The last sync, the quota used, and on PostgreSQL the shared queue and
/// quota.
fn render_sync_and_quota(s: &Status, out: &mut String) {
    out.push_str("\nLast sync: ");
    match &s.last_sync {
        None => out.push_str("never\n"),
        Some(l) => {
            out.push_str(&format!("{} started {}", l.status, when(l.started_at)));
            if let Some(f) = l.finished_at {
                out.push_str(&format!(", finished {}", when(f)));
            }
            if let (Some(c), Some(p)) = (l.calls, l.points) {
                out.push_str(&format!(", {c} calls, {p} points"));
            }
            if let Some(m) = &l.message {
                out.push_str(&format!(": {m}"));
            }
            out.push('\n');
        }
    }
    let q = &s.quota;
    out.push_str(&format!(
        "Quota used: {} calls in the last hour (of {} per hour), {} in the last 24 hours; at most {} per second\n",
        q.calls_last_hour, q.per_hour, q.calls_last_day, q.per_second
    ));
    if let Some(w) = &s.work_queue {
        out.push_str(&format!("Work queue: {} window(s) to fetch, {} being fetched\n", w.queued, w.leased));
    }
    for q in s.shared_quota.iter().flatten() {
        out.push_str(&format!(
            "Shared quota, {}: {} calls this hour (all processes), {} ms margin on each one-second window{}\n",
            q.api,
            q.calls_this_hour,
            q.margin_ms,
            q.closed_until
                .map_or(String::new(), |t| format!("; closed after a 429 until {}", t.strftime("%H:%M:%S UTC")))
        ));
    }
}

/// Stretches of days as short text: `2025-01-07`, `2025-01-07..01-08`
/// (both inclusive), at most `limit` of them then `+N more`.
fn compact(days: &[Days], limit: usize) -> String {
    if days.is_empty() {
        return "none".to_owned();
    }
    let mut parts: Vec<String> = days
        .iter()
        .take(limit)
        .map(|d| {
            let last = d.to.checked_sub(1.day()).unwrap_or(d.to);
            if last <= d.from {
                d.from.to_string()
            } else if last.year() == d.from.year() {
                format!("{}..{:02}-{:02}", d.from, last.month(), last.day())
            } else {
                format!("{}..{last}", d.from)
            }
        })
        .collect();
    if days.len() > limit {
        parts.push(format!("+{} more", days.len() - limit));
    }
    parts.join(", ")
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    // Wrap long cells to the terminal's width when the shell says what it
    // is; otherwise (pipes, files) rows stay whole, one per line.
    if let Some(width) = std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse::<u16>().ok()).filter(|w| *w >= 40) {
        t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
        t.set_width(width);
    }
    t.set_header(header.iter().copied());
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn missing_days_print_compactly() {
        let days = vec![
            Days { from: date(2025, 1, 7), to: date(2025, 1, 9) },
            Days { from: date(2025, 1, 14), to: date(2025, 1, 15) },
            Days { from: date(2025, 12, 30), to: date(2026, 1, 2) },
        ];
        assert_eq!(compact(&days, 6), "2025-01-07..01-08, 2025-01-14, 2025-12-30..2026-01-01");
        assert_eq!(compact(&days, 1), "2025-01-07..01-08, +2 more");
        assert_eq!(compact(&[], 3), "none");
    }
}
