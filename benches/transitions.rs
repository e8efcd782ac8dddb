//! Case transitions per second (issue 12): the real `Engine` firing transitions on a real store,
//! each transition entering a state whose one `call` goes through the gateway in-process
//! (`GatewayRegistries` over `gateway::in_process::InProcess`: agreement check, projection,
//! message log and data-subject record) to a real HTTP upstream on loopback — the federation
//! tree of `tests/common/federation.rs`, on node `gw-core`, the portal reading the council's
//! residents register. The same with registries that answer from memory shows what the call costs
//! against the engine and the store.
//!
//! The workflow is the bench's own: states `a` and `b`, each with one applicant's transition to
//! the other carrying `call council/residents`, so that every transition enters a state with one
//! call. Each of N concurrent cases (a task each) fires `to-b`, `to-a`, … in a loop; the first
//! HROMADA_BENCH_WARMUP seconds are not counted. Stores: a SQLite file in a temporary folder (WAL,
//! synchronous FULL), and a database of a throwaway PostgreSQL 15 cluster with durable settings
//! (as `tests/common/postgres.rs` starts it; skipped with a message when its binaries are absent).
//!
//! `cargo bench --bench transitions`; HROMADA_BENCH_SECONDS (5, per measurement),
//! HROMADA_BENCH_WARMUP (1), HROMADA_BENCH_RUNS (3; the figure is the median),
//! HROMADA_BENCH_CONCURRENCY (`1,8`), HROMADA_BENCH_STORE (`sqlite`, `postgres` or `both`, the
//! default). The figures go to benches/README.md; stderr has each run's rate with the median of
//! its calls alone, the events a transition writes to the case history, and, before a store's
//! rows, the median of 3,000 gateway calls made one after the other without the engine.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use hromada::gateway::in_process::InProcess;
use hromada::gateway::keys::KeyRing;
use hromada::gateway::message_log::MessageLog;
use hromada::gateway::{Gateway, Limits};
use hromada::identity::Revision;
use hromada::reconcile::identify::referenced_files;
use hromada::spec::Spec;
use hromada::spec::model::{EService, Workflow};
use hromada::store::Store;
use hromada::workflow::calls::{BoxFuture, Registries, RegistryAnswer, RegistryCall};
use hromada::workflow::clock::{SharedClock, SystemClock};
use hromada::workflow::engine::{Actor, Applicant, Engine, Fire, Start};
use hromada::workflow::registries::GatewayRegistries;
use serde_json::{Value, json};

#[allow(dead_code)]
#[path = "../tests/common/postgres.rs"]
mod postgres;

#[allow(dead_code)]
#[path = "../tests/common/federation.rs"]
mod federation;

const WORKFLOW: &str = "bench-ping";
const SUBJECT: &str = "3182736455";
const RESIDENTS: &str = "council/residents";
/// Gateway calls made alone, without the engine, before a store's rows.
const ALONE: usize = 3_000;

/// Copies the folder `from` into `to`, leaving out development keys (as `tests/common` does; the
/// federation helper calls it as `super::copy_tree`).
fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(from).unwrap();
        if rel.starts_with("dev-keys") || rel == Path::new("expected.txt") {
            continue;
        }
        let target = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Registries answering every call at once from memory, with what the gateway releases.
struct Memory;

impl Registries for Memory {
    fn call<'a>(&'a self, _: RegistryCall<'a>) -> BoxFuture<'a, RegistryAnswer> {
        Box::pin(async {
            RegistryAnswer::Answered {
                data: json!({
                    "full_name": "Іваненко Марія Петрівна",
                    "address": "с. Щасливе, вул. Центральна, 5, кв. 12",
                }),
            }
        })
    }
}

/// Registries that time each call of the ones they wrap (the call alone, as the engine waits for
/// it), so that the bench can say what a call costs inside a transition.
struct Timed {
    inner: Arc<dyn Registries>,
    times: Mutex<Vec<Duration>>,
}

impl Timed {
    fn new(inner: Arc<dyn Registries>) -> Timed {
        Timed {
            inner,
            times: Mutex::new(Vec::new()),
        }
    }

    /// The median call since the last take, in ms.
    fn take_median_ms(&self) -> f64 {
        let mut times = std::mem::take(&mut *self.times.lock().unwrap());
        times.sort();
        times
            .get(times.len() / 2)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }
}

impl Registries for Timed {
    fn call<'a>(&'a self, request: RegistryCall<'a>) -> BoxFuture<'a, RegistryAnswer> {
        Box::pin(async move {
            let started = Instant::now();
            let answer = self.inner.call(request).await;
            self.times.lock().unwrap().push(started.elapsed());
            answer
        })
    }
}

struct Knobs {
    seconds: Duration,
    warmup: Duration,
    runs: usize,
    concurrency: Vec<usize>,
}

fn main() {
    let number = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let knobs = Knobs {
        seconds: Duration::from_secs(number("HROMADA_BENCH_SECONDS", 5)),
        warmup: Duration::from_secs(number("HROMADA_BENCH_WARMUP", 1)),
        runs: number("HROMADA_BENCH_RUNS", 3).max(1) as usize,
        concurrency: std::env::var("HROMADA_BENCH_CONCURRENCY")
            .unwrap_or_else(|_| "1,8".into())
            .split(',')
            .map(|n| {
                n.trim()
                    .parse()
                    .expect("HROMADA_BENCH_CONCURRENCY: numbers, `1,8`")
            })
            .collect(),
    };
    let (sqlite, postgres) = match std::env::var("HROMADA_BENCH_STORE").as_deref() {
        Ok("sqlite") => (true, false),
        Ok("postgres") => (false, true),
        Ok("both") | Err(_) => (true, true),
        Ok(other) => {
            panic!("HROMADA_BENCH_STORE is `sqlite`, `postgres` or `both`, not `{other}`")
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let federation = runtime.block_on(federation::Federation::new(dir.path()));
    let (compiled, spec) = trees(&federation);

    println!(
        "| store | registries | concurrent cases | transitions/s (median of {}) | all runs | median latency |",
        knobs.runs
    );
    println!("|---|---|---:|---:|---|---:|");
    if sqlite {
        let url = format!("sqlite://{}/transitions.db", dir.path().display());
        runtime.block_on(measure(
            "SQLite",
            &url,
            &compiled,
            &spec,
            &federation,
            &knobs,
        ));
    }
    if postgres {
        postgres::durable();
        match postgres::available() {
            Ok(()) => {
                let url = postgres::fresh_database_sync();
                runtime.block_on(measure(
                    "PostgreSQL",
                    &url,
                    &compiled,
                    &spec,
                    &federation,
                    &knobs,
                ));
            }
            Err(why) => println!("PostgreSQL skipped: {why}"),
        }
    }
}

/// The federation tree with an agreement for the portal to read the residents register, compiled
/// for node `gw-core`; and the spec the engine runs: the same tree with the bench's workflow and
/// an e-service of it.
fn trees(federation: &federation::Federation) -> (Arc<hromada::compile::Compiled>, Spec) {
    let agreements = federation.root.join("spec/agreements.kdl");
    let mut text = std::fs::read_to_string(&agreements).unwrap();
    text.push_str(
        r#"
// The portal reads an applicant's registration for the transitions bench.
agreement "portal-reads-residents" {
    consumer "council/portal"
    provider "council/residents"
    purpose "Перевірка реєстрації заявника"
    legal-basis "ЗУ «Про адміністративні послуги», ст. 9"
    fields "full_name" "address"
    operation "GET" "/persons/*"
    valid from="2026-01-01" until="2030-12-31"
    notify-subject #true
}
"#,
    );
    std::fs::write(&agreements, text).unwrap();
    let loaded = hromada::spec::load(&federation.root);
    // The checks read (and so name) the certificates a revision references, as serve's do.
    let problems = hromada::check::run(&loaded, Utc::now().date_naive());
    assert!(
        problems
            .iter()
            .all(|d| d.severity != hromada::spec::diagnostics::Severity::Error),
        "the bench's federation tree does not check: {problems:?}"
    );
    let documents = referenced_files(&loaded.sources)
        .into_iter()
        .filter_map(|path| {
            let bytes = std::fs::read(loaded.sources.root.join(&path)).ok()?;
            Some((path, Arc::<[u8]>::from(bytes)))
        })
        .collect();
    let mut spec = loaded.spec.clone();
    let revision = Revision {
        id: "r1".into(),
        content_hash: "0".repeat(64),
    };
    let compiled = Arc::new(
        hromada::compile::compile(loaded.spec, revision, Some("gw-core"), documents).unwrap(),
    );
    let call = json!({"call": {"service": RESIDENTS, "fields": ["full_name"]}});
    let workflow: Workflow = serde_json::from_value(json!({
        "id": WORKFLOW, "title": "Bench", "start": "a",
        "states": [
            {"id": "a", "transitions": [
                {"event": "to-b", "to": "b", "role": "applicant", "actions": [call]}]},
            {"id": "b", "transitions": [
                {"event": "to-a", "to": "a", "role": "applicant", "actions": [call]}]},
            {"id": "done", "outcome": "granted"}
        ]
    }))
    .unwrap();
    let e_service: EService = serde_json::from_value(json!({
        "id": WORKFLOW, "title": "Bench", "form": "none", "workflow": WORKFLOW
    }))
    .unwrap();
    spec.workflows.push(workflow);
    spec.e_services.push(e_service);
    spec.sort();
    (compiled, spec)
}

/// Measures every row of one store: each run goes through both registries and every
/// concurrency in turn, so that the machine's noise falls on all rows alike.
async fn measure(
    store_name: &str,
    url: &str,
    compiled: &Arc<hromada::compile::Compiled>,
    spec: &Spec,
    federation: &federation::Federation,
    knobs: &Knobs,
) {
    let store = Store::connect(url).await.unwrap();
    let gateway = Arc::new(Gateway::new(
        MessageLog::new(store.clone()),
        KeyRing::new(federation.root.join("dev-keys")),
        Limits::default(),
    ));
    let current = compiled.clone();
    let through_gateway = Arc::new(GatewayRegistries::new(InProcess::new(
        gateway,
        Arc::new(move || Some(current.clone())),
    )));
    call_alone(store_name, through_gateway.as_ref(), federation).await;
    let clock: SharedClock = Arc::new(SystemClock);
    let mut engines = Vec::new();
    for (name, registries) in [
        (
            "gateway, loopback HTTP",
            Arc::new(Timed::new(through_gateway)),
        ),
        ("from memory", Arc::new(Timed::new(Arc::new(Memory)))),
    ] {
        let engine = Arc::new(Engine::new(
            store.clone(),
            clock.clone(),
            registries.clone(),
        ));
        engine.apply_revision("r1", spec).await.unwrap();
        engines.push((name, engine, registries));
    }
    let rows: Vec<(usize, usize)> = (0..engines.len())
        .flat_map(|e| knobs.concurrency.iter().map(move |&c| (e, c)))
        .collect();
    let mut rates = vec![Vec::new(); rows.len()];
    let mut latencies = vec![Vec::new(); rows.len()];
    for run in 0..knobs.runs {
        for (row, &(e, concurrency)) in rows.iter().enumerate() {
            let (name, engine, timed) = &engines[e];
            let seen_before = federation.upstream.seen.lock().unwrap().len();
            let (rate, times, moves) = drive(engine, concurrency, run, knobs).await;
            let calls = federation.upstream.seen.lock().unwrap().len() - seen_before;
            if e == 0 {
                // Every start and every transition entered a state whose call reached the upstream.
                assert_eq!(calls, moves, "calls that reached the upstream");
                federation.upstream.seen.lock().unwrap().clear();
            } else {
                assert_eq!(calls, 0, "the memory's rows must not reach the upstream");
            }
            eprintln!(
                "{store_name}, {name}, {concurrency} case(s), run {run}: {rate:.0}/s, median call {:.3} ms",
                timed.take_median_ms()
            );
            rates[row].push(rate);
            latencies[row].extend(times);
        }
    }
    for (row, &(e, concurrency)) in rows.iter().enumerate() {
        let all: Vec<String> = rates[row].iter().map(|r| format!("{r:.0}")).collect();
        let mut sorted = rates[row].clone();
        sorted.sort_by(f64::total_cmp);
        let mut times = std::mem::take(&mut latencies[row]);
        times.sort();
        println!(
            "| {store_name} | {} | {concurrency} | {:.0} | {} | {:.2} ms |",
            engines[e].0,
            sorted[sorted.len() / 2],
            all.join(" / "),
            times[times.len() / 2].as_secs_f64() * 1000.0
        );
    }
}

/// Makes [`ALONE`] calls through `registries` one after the other, with no engine around them,
/// and prints their median and 90th percentile to stderr: what the in-process call costs by
/// itself on this store (its message log commit is on it).
async fn call_alone(
    store_name: &str,
    registries: &dyn Registries,
    federation: &federation::Federation,
) {
    let data = json!({"purpose": "01"});
    let mut times = Vec::with_capacity(ALONE);
    for i in 0..ALONE {
        let case_id = format!("alone-{i}");
        let started = Instant::now();
        let answer = registries
            .call(RegistryCall {
                case_id: &case_id,
                consumer: "council/portal",
                service: RESIDENTS,
                fields: &[],
                subject: SUBJECT,
                data: &data,
            })
            .await;
        times.push(started.elapsed());
        assert!(
            matches!(answer, RegistryAnswer::Answered { .. }),
            "{answer:?}"
        );
    }
    assert_eq!(federation.upstream.seen.lock().unwrap().len(), ALONE);
    federation.upstream.seen.lock().unwrap().clear();
    times.sort();
    eprintln!(
        "{store_name}: {ALONE} gateway calls alone, no engine: median {:.3} ms, p90 {:.3} ms",
        times[ALONE / 2].as_secs_f64() * 1000.0,
        times[ALONE * 9 / 10].as_secs_f64() * 1000.0
    );
}

/// Starts `concurrency` cases and fires their transitions, one task per case, for the warm-up
/// and the measured time; answers the transitions per second measured, their latencies and how
/// many moves (starts and transitions, measured or not) were made.
async fn drive(
    engine: &Arc<Engine>,
    concurrency: usize,
    run: usize,
    knobs: &Knobs,
) -> (f64, Vec<Duration>, usize) {
    let applicant = Applicant {
        id: SUBJECT.into(),
        name: "Тест Тестович".into(),
        email: None,
    };
    let data = json!({"purpose": "01"});
    let mut cases: Vec<String> = Vec::new();
    for task in 0..concurrency {
        let moved = engine
            .start(Start {
                key: &format!("start-{run}-{concurrency}-{task}-{}", uuid::Uuid::now_v7()),
                e_service: WORKFLOW,
                applicant: &applicant,
                data: &data,
                on_behalf: None,
                submitted_by: None,
            })
            .await
            .unwrap();
        assert_eq!(moved.state, "a");
        cases.push(moved.case_id);
    }
    let counted_from = Instant::now() + knobs.warmup;
    let until = counted_from + knobs.seconds;
    let mut tasks = Vec::new();
    for case_id in cases.clone() {
        let engine = engine.clone();
        let actor = Actor::Applicant(applicant.id.clone());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            let mut moves = 1;
            let mut state = "a";
            for n in 0.. {
                let started = Instant::now();
                if started >= until {
                    break;
                }
                let (event, to) = if state == "a" {
                    ("to-b", "b")
                } else {
                    ("to-a", "a")
                };
                let moved = engine
                    .fire(Fire {
                        key: &format!("{case_id}-{n}"),
                        case_id: &case_id,
                        event,
                        actor: &actor,
                        on_behalf: None,
                        seen_state: state,
                    })
                    .await
                    .unwrap_or_else(|e| panic!("{event} on {case_id}: {e}"));
                assert_eq!(moved.state, to);
                state = to;
                moves += 1;
                if started >= counted_from {
                    times.push(started.elapsed());
                }
            }
            (times, moves)
        }));
    }
    let mut times = Vec::new();
    let mut moves = 0;
    let mut first_case_moves = 0;
    for task in tasks {
        let (t, m) = task.await.unwrap();
        if first_case_moves == 0 {
            first_case_moves = m;
        }
        times.extend(t);
        moves += m;
    }
    if run == 0 {
        let events = engine.history(&cases[0]).await.unwrap().len();
        eprintln!(
            "  {events} events in the history of a case started and moved {} times",
            first_case_moves - 1
        );
    }
    // The answer the case keeps is the one the registries gave (projected, for the gateway).
    let case = engine.case(&cases[0]).await.unwrap();
    let residents: &Value = &case.registry["residents"];
    assert_eq!(
        residents["full_name"], "Іваненко Марія Петрівна",
        "{residents}"
    );
    assert!(residents.get("rnokpp").is_none(), "{residents}");
    let rate = times.len() as f64 / knobs.seconds.as_secs_f64();
    (rate, times, moves)
}
