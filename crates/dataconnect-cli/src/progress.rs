//! Progress of a sync: bars on a terminal, plain lines otherwise (logs, CI,
//! pipes), through the sync engine's [`Progress`] trait.
//!
//! Plain lines go to standard output, which a sync uses for nothing else,
//! so that standard error holds only the one line of a failure.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;

use dataconnect::{DateRange, Series, UsagePointId};
use dataconnect_sync::Progress;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Bars (terminal) or lines (anything else) on standard error.
pub struct Reporter {
    bars: Option<MultiProgress>,
    series: Mutex<HashMap<(UsagePointId, Series), Entry>>,
}

struct Entry {
    bar: Option<ProgressBar>,
    planned: usize,
    done: usize,
    points: u64,
}

impl Reporter {
    /// Bars when standard error is a terminal, lines otherwise.
    pub fn new() -> Self {
        let bars =
            std::io::stderr().is_terminal().then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Reporter { bars, series: Mutex::new(HashMap::new()) }
    }

    /// Prints a line above the bars (or plainly).
    pub fn line(&self, text: &str) {
        match &self.bars {
            Some(m) => {
                let _ = m.println(text);
            }
            None => println!("{text}"),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<(UsagePointId, Series), Entry>> {
        self.series.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Progress for Reporter {
    fn planned(&self, prm: &UsagePointId, series: Series, windows: usize) {
        let bar = self.bars.as_ref().filter(|_| windows > 0).map(|m| {
            let bar = m.add(ProgressBar::new(windows as u64));
            let style = ProgressStyle::with_template("{prefix:38} {bar:30} {pos}/{len} windows {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_prefix(format!("{prm} {series}"));
            bar
        });
        if self.bars.is_none() {
            println!("{prm} {series}: {windows} window(s) to fetch");
        }
        self.entries().insert((prm.clone(), series), Entry { bar, planned: windows, done: 0, points: 0 });
    }

    fn stored(&self, prm: &UsagePointId, series: Series, _window: DateRange, points: u64) {
        let mut entries = self.entries();
        let Some(e) = entries.get_mut(&(prm.clone(), series)) else { return };
        e.done += 1;
        e.points += points;
        match &e.bar {
            Some(bar) => {
                bar.inc(1);
                bar.set_message(format!("{} points", e.points));
                if e.done >= e.planned {
                    bar.finish();
                }
            }
            // Plain output stays short: one line per 25 windows and one at the end.
            None if e.done == e.planned || e.done % 25 == 0 => {
                println!("{prm} {series}: {}/{} windows, {} points", e.done, e.planned, e.points);
            }
            None => {}
        }
    }

    fn problem(&self, prm: &UsagePointId, series: Series, message: &str) {
        if let Some(Some(bar)) = self.entries().get(&(prm.clone(), series)).map(|e| e.bar.clone()) {
            bar.abandon_with_message("stopped");
        }
        self.line(&format!("warning: {message}"));
    }

    fn note(&self, message: &str) {
        self.line(message);
    }
}
