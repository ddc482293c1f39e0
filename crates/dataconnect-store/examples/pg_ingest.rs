//! Ingest rate of the PostgreSQL store (points per second), against
//! baselines measured in the same run on the same server:
//!
//! - `store`: `PgStore::upsert_window`, one statement per 7-day window
//!   (readings from UNNEST arrays + coverage, one round trip), from 1 thread
//!   and from `--threads` threads writing different meters at once;
//! - `row-tx`: the same upsert one INSERT per row, in one transaction per window;
//! - `row-autocommit`: one INSERT per row, each its own transaction.
//!
//! Each run works in a throwaway schema, dropped at the end.
//!
//! ```text
//! cargo run --release -p dataconnect-store --features postgres --example pg_ingest -- \
//!     postgres://postgres@127.0.0.1:5432/test [--meters 20] [--days 364] [--threads 4] [--baseline-rows 20000]
//! ```

// A panic is how a test, a benchmark or an example reports a broken
// environment: unwrap and expect are fine here (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use dataconnect::{DateRange, Reading, Series, Unit, UsagePointId};
use dataconnect_store::{PgConfig, PgStore, Store, WindowWrite};
use jiff::SignedDuration;
use jiff::civil::date;

struct Args {
    url: String,
    meters: usize,
    days: i64,
    threads: usize,
    baseline_rows: usize,
}

fn args() -> Args {
    let mut a = Args { url: String::new(), meters: 20, days: 364, threads: 4, baseline_rows: 20_000 };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        let mut num = || it.next().and_then(|v| v.parse::<usize>().ok()).unwrap_or_else(|| usage());
        match x.as_str() {
            "--meters" => a.meters = num(),
            "--days" => a.days = num() as i64,
            "--threads" => a.threads = num().max(1),
            "--baseline-rows" => a.baseline_rows = num(),
            url if url.starts_with("postgres") => a.url = url.to_owned(),
            _ => usage(),
        }
    }
    if a.url.is_empty() {
        a.url = std::env::var("DATACONNECT_TEST_PG_URL").unwrap_or_else(|_| usage());
    }
    a
}

fn usage() -> ! {
    eprintln!("usage: pg_ingest POSTGRES_URL [--meters N] [--days N] [--threads N] [--baseline-rows N]");
    std::process::exit(2)
}

/// 7-day windows of half-hour points for `days` days from 2024-01-01.
fn windows(days: i64) -> Vec<(DateRange, Vec<Reading>)> {
    let first = date(2024, 1, 1);
    let mut out = Vec::new();
    let mut day = 0;
    while day < days {
        let len = 7.min(days - day);
        let start = first + SignedDuration::from_hours(24 * day);
        let end = first + SignedDuration::from_hours(24 * (day + len));
        let range = DateRange::new(start, end).expect("a forward range");
        let mut t = range.start_instant();
        let mut rs = Vec::new();
        let mut i = 0u64;
        while t < range.end_instant() {
            let next = t + SignedDuration::from_mins(30);
            rs.push(Reading { start: t, end: next, value: Some((i % 4000) as f64), unit: Unit::W, peak_at: None });
            t = next;
            i += 1;
        }
        out.push((range, rs));
        day += len;
    }
    out
}

fn meter(i: usize) -> UsagePointId {
    UsagePointId::new(&format!("{:014}", 10_000_000_000_000u64 + i as u64)).expect("14 digits")
}

fn schema(tag: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("dc_bench_{tag}_{}_{}", std::process::id(), nanos % 1_000_000_000)
}

fn main() {
    let a = args();
    let ws = windows(a.days);
    let per_meter: usize = ws.iter().map(|(_, r)| r.len()).sum();
    let total = per_meter * a.meters;
    println!(
        "PostgreSQL ingest: {} meters × {} days of half-hour points = {total} points in {} windows of ≤ 7 days",
        a.meters,
        a.days,
        ws.len() * a.meters
    );

    // The store, one thread.
    let store = PgStore::open(&PgConfig { schema: Some(schema("one")), ..PgConfig::new(a.url.clone()) }).expect("open");
    let t = Instant::now();
    for m in 0..a.meters {
        let prm = meter(m);
        for (w, rs) in &ws {
            store
                .upsert_window(&WindowWrite { prm: &prm, series: Series::ConsumptionCurve, window: *w, readings: rs })
                .expect("upsert");
        }
    }
    let one = total as f64 / t.elapsed().as_secs_f64();
    println!("store, 1 thread:        {one:>10.0} points/s ({:.2} s)", t.elapsed().as_secs_f64());
    // Again: the same windows re-fetched (the revision window) are updates.
    let t = Instant::now();
    let prm = meter(0);
    for (w, rs) in &ws {
        store
            .upsert_window(&WindowWrite { prm: &prm, series: Series::ConsumptionCurve, window: *w, readings: rs })
            .expect("upsert");
    }
    let again = per_meter as f64 / t.elapsed().as_secs_f64();
    println!("store, re-upsert:       {again:>10.0} points/s (existing rows updated)");
    store.drop_schema().expect("drop");

    // The store, several threads on different meters.
    let store = PgStore::open(&PgConfig {
        schema: Some(schema("many")),
        max_connections: a.threads as u32,
        ..PgConfig::new(a.url.clone())
    })
    .expect("open");
    let t = Instant::now();
    std::thread::scope(|s| {
        for th in 0..a.threads {
            let (store, ws) = (&store, &ws);
            s.spawn(move || {
                for m in (th..a.meters).step_by(a.threads) {
                    let prm = meter(m);
                    for (w, rs) in ws {
                        store
                            .upsert_window(&WindowWrite {
                                prm: &prm,
                                series: Series::ConsumptionCurve,
                                window: *w,
                                readings: rs,
                            })
                            .expect("upsert");
                    }
                }
            });
        }
    });
    let many = total as f64 / t.elapsed().as_secs_f64();
    println!("store, {} threads:       {many:>10.0} points/s ({:.2} s)", a.threads, t.elapsed().as_secs_f64());
    store.drop_schema().expect("drop");

    // Baselines on the same schema, with sqlx directly.
    let rows: Vec<&Reading> = ws.iter().flat_map(|(_, r)| r.iter()).cycle().take(a.baseline_rows).collect();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let (tx_rate, auto_rate) = rt.block_on(baselines(&a.url, &rows, ws.first().map_or(336, |(_, r)| r.len())));
    println!("baseline row-tx:        {tx_rate:>10.0} points/s (one INSERT per row, one transaction per window)");
    println!("baseline row-autocommit:{auto_rate:>10.0} points/s (one INSERT per row, each committed)");
    println!(
        "store vs row-tx: ×{:.1}; vs row-autocommit: ×{:.1}; {} threads vs 1: ×{:.2}",
        one / tx_rate,
        one / auto_rate,
        a.threads,
        many / one
    );
}

const INSERT_ROW: &str = "INSERT INTO reading (usage_point_id, series, start, \"end\", value, unit, peak_at)
     VALUES ($1, $2, to_timestamp($3), to_timestamp($4), $5, $6, NULL)
     ON CONFLICT (usage_point_id, series, start) DO UPDATE SET
       \"end\" = excluded.\"end\", value = excluded.value, unit = excluded.unit, peak_at = excluded.peak_at";

async fn baselines(url: &str, rows: &[&Reading], per_window: usize) -> (f64, f64) {
    // The store creates the schema and tables; the baselines then write into them.
    let name = schema("base");
    let store = PgStore::open(&PgConfig { schema: Some(name.clone()), ..PgConfig::new(url) }).expect("open");
    let options: sqlx::postgres::PgConnectOptions = url.parse().expect("url");
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options.options([("search_path", name.as_str())]))
        .await
        .expect("connect");
    let bind = |q: sqlx::query::Query<'static, sqlx::Postgres, sqlx::postgres::PgArguments>, prm: &str, r: &Reading| {
        q.bind(prm.to_owned())
            .bind("consumption-curve")
            .bind(r.start.as_second())
            .bind(r.end.as_second())
            .bind(r.value)
            .bind(r.unit.as_str())
    };

    let t = Instant::now();
    for chunk in rows.chunks(per_window.max(1)) {
        let mut tx = pool.begin().await.expect("begin");
        for r in chunk {
            bind(sqlx::query(INSERT_ROW), "20000000000001", r).execute(&mut *tx).await.expect("insert");
        }
        tx.commit().await.expect("commit");
    }
    let tx_rate = rows.len() as f64 / t.elapsed().as_secs_f64();

    let t = Instant::now();
    for r in rows {
        bind(sqlx::query(INSERT_ROW), "20000000000002", r).execute(&pool).await.expect("insert");
    }
    let auto_rate = rows.len() as f64 / t.elapsed().as_secs_f64();
    pool.close().await;
    // Dropping the store inside this runtime is allowed (it shuts its own
    // runtime down in the background).
    store.drop_schema().expect("drop");
    (tx_rate, auto_rate)
}
