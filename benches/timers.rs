//! The timer sweep with many open cases: the cost of one sweep when 1,000 and when 100,000 open
//! cases each have a timer not yet due, with nothing due and with 10 due, on SQLite (a file) and
//! on PostgreSQL (a throwaway cluster, as `tests/common/postgres.rs` starts it; skipped with a
//! message when its binaries are absent). Target: the cost does not grow with the cases not due.
//!
//! `cargo bench --bench timers` (HROMADA_BENCH_RUNS=N sweeps per figure, 9 by default). The
//! figures go to benches/README.md.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use hromada::store::{NewTimer, Store, Timer, TimerKind, Tx};
use hromada::workflow::timers::{BoxFuture, TimerHandler, sweep};

#[allow(dead_code)]
#[path = "../tests/common/postgres.rs"]
mod postgres;

const SIZES: [usize; 2] = [1_000, 100_000];
const DUE: usize = 10;
/// Timers scheduled per transaction while filling the store.
const FILL_BATCH: usize = 5_000;

/// Fires a timer by doing nothing beyond what the runner does (claim, mark fired, commit).
struct Nothing;

impl TimerHandler for Nothing {
    fn fire<'a>(&'a self, _: &'a mut Tx, _: &'a Timer) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

fn main() {
    let runs: usize = std::env::var("HROMADA_BENCH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(9);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("| store | open cases not due | median sweep, none due | median sweep, {DUE} due |");
    println!("|---|---:|---:|---:|");
    let dir = tempfile::tempdir().unwrap();
    for size in SIZES {
        let url = format!("sqlite://{}/timers-{size}.db", dir.path().display());
        runtime.block_on(measure("SQLite", &url, size, runs));
    }
    postgres::durable();
    match postgres::available() {
        Ok(()) => {
            for size in SIZES {
                let url = postgres::fresh_database_sync();
                runtime.block_on(measure("PostgreSQL", &url, size, runs));
            }
        }
        Err(why) => println!("PostgreSQL skipped: {why}"),
    }
}

/// Fills a store with `size` timers not due, then prints the median sweep with none and with
/// [`DUE`] due.
async fn measure(store_name: &str, url: &str, size: usize, runs: usize) {
    let store = Store::connect(url).await.unwrap();
    let now = Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, 0).unwrap();
    let later = now + TimeDelta::days(30);
    for start in (0..size).step_by(FILL_BATCH) {
        let mut tx = store.begin().await.unwrap();
        for case in start..(start + FILL_BATCH).min(size) {
            let timer = new_timer(&format!("open-{case}"), later);
            store.schedule_timer(&mut tx, &timer).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    let mut idle = Vec::with_capacity(runs);
    let mut busy = Vec::with_capacity(runs);
    for run in 0..runs {
        let started = Instant::now();
        assert_eq!(sweep(&store, now, &Nothing).await.unwrap(), 0);
        idle.push(started.elapsed());

        let mut tx = store.begin().await.unwrap();
        for i in 0..DUE {
            let timer = new_timer(&format!("due-{run}-{i}"), now);
            store.schedule_timer(&mut tx, &timer).await.unwrap();
        }
        tx.commit().await.unwrap();
        let started = Instant::now();
        assert_eq!(sweep(&store, now, &Nothing).await.unwrap(), DUE);
        busy.push(started.elapsed());
    }
    println!(
        "| {store_name} | {size} | {} | {} |",
        shown(median(idle)),
        shown(median(busy))
    );
}

fn new_timer(case_id: &str, due_at: DateTime<Utc>) -> NewTimer {
    NewTimer {
        case_id: case_id.into(),
        kind: TimerKind::Deadline,
        key: "state".into(),
        due_at,
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn shown(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}
