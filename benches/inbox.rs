//! The officials' inbox at scale (issue 14): 100,000 open cases of the example city's six
//! e-services in their workflows' open states, with applications and some escalations, and 200
//! officials, each of one provider with one of its workflows' roles (a tenth of the cases
//! assigned to one of them). Each request is what `GET /office` does past the session and the
//! access log: the store's one inbox query (`Store::inbox`), the rows in words
//! (`portal::office::inbox::rows`: state titles, deadlines in working days, assignees) and the
//! page rendered (`office/inbox.html`). Officials take turns; filters vary as people use them
//! (none, due today, overdue, escalated, one e-service, a later page).
//!
//! `cargo bench --bench inbox`; HROMADA_BENCH_CASES (100000), HROMADA_BENCH_OFFICIALS (200),
//! HROMADA_BENCH_REQUESTS (2000 per store), HROMADA_BENCH_CONCURRENCY (`1,8`),
//! HROMADA_BENCH_STORE (`sqlite`, `postgres` or `both`, the default; PostgreSQL a throwaway
//! PostgreSQL 15 cluster with durable settings). The figures go to benches/README.md.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use hromada::portal::office::{deadlines, inbox};
use hromada::portal::pages::{Chrome, Pages};
use hromada::spec::Spec;
use hromada::store::{ApplicationRow, CaseRow, Due, InboxQuery, NewCaseEvent, Store, time_text};
use hromada::workflow::calls::{BoxFuture, Registries, RegistryAnswer, RegistryCall};
use hromada::workflow::clock::{SharedClock, SystemClock};
use hromada::workflow::engine::Engine;
use serde_json::json;

#[allow(dead_code)]
#[path = "../tests/common/postgres.rs"]
mod postgres;

const REVISION: &str = "bench-r1";

/// Registries that are never called: the bench starts no case through the engine.
struct Unused;

impl Registries for Unused {
    fn call<'a>(&'a self, _: RegistryCall<'a>) -> BoxFuture<'a, RegistryAnswer> {
        Box::pin(async {
            RegistryAnswer::Failed {
                reason: "the inbox bench calls no registry".into(),
            }
        })
    }
}

/// An e-service, its workflow, its provider and its open states with their roles.
type Service = (String, String, String, Vec<(String, String)>);

/// One of the bench's officials.
struct Official {
    id: String,
    role: String,
    e_services: Vec<String>,
}

/// A small deterministic generator (xorshift), so every run fills the same store.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn main() {
    let number = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let cases = number("HROMADA_BENCH_CASES", 100_000);
    let officials = number("HROMADA_BENCH_OFFICIALS", 200);
    let requests = number("HROMADA_BENCH_REQUESTS", 2_000);
    let concurrency: Vec<usize> = std::env::var("HROMADA_BENCH_CONCURRENCY")
        .unwrap_or_else(|_| "1,8".into())
        .split(',')
        .map(|n| {
            n.trim()
                .parse()
                .expect("HROMADA_BENCH_CONCURRENCY: numbers, `1,8`")
        })
        .collect();
    let (sqlite, postgres) = match std::env::var("HROMADA_BENCH_STORE").as_deref() {
        Ok("sqlite") => (true, false),
        Ok("postgres") => (false, true),
        Ok("both") | Err(_) => (true, true),
        Ok(other) => panic!("HROMADA_BENCH_STORE is `sqlite`, `postgres` or `both`, not `{other}`"),
    };
    let spec = hromada::spec::load(Path::new(env!("CARGO_MANIFEST_DIR"))).spec;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    println!(
        "| store | open cases | officials | in flight | requests | p50 | p95 | p99 | max | rows/page (mean) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut stores: Vec<(&str, String)> = Vec::new();
    if sqlite {
        stores.push((
            "SQLite",
            format!("sqlite://{}/inbox.db", dir.path().display()),
        ));
    }
    if postgres {
        postgres::durable();
        match postgres::available() {
            Ok(()) => stores.push(("PostgreSQL", postgres::fresh_database_sync())),
            Err(why) => eprintln!("PostgreSQL skipped: {why}"),
        }
    }
    for (name, url) in stores {
        runtime.block_on(async {
            let store = Store::connect(&url).await.unwrap();
            let engine = Arc::new(Engine::new(
                store.clone(),
                Arc::new(SystemClock) as SharedClock,
                Arc::new(Unused),
            ));
            engine.apply_revision(REVISION, &spec).await.unwrap();
            let started = Instant::now();
            let people = fill(&store, &spec, cases, officials).await;
            eprintln!(
                "{name}: {cases} open cases, {officials} officials stored in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            let pages = Arc::new(Pages::new().unwrap());
            let people = Arc::new(people);
            let spec = Arc::new(spec.clone());
            for &c in &concurrency {
                let (mut times, rows) =
                    measure(&store, &engine, &pages, &spec, &people, requests, c).await;
                times.sort();
                let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
                let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
                println!(
                    "| {name} | {cases} | {officials} | {c} | {requests} | {} | {} | {} | {} | {:.1} |",
                    ms(at(0.50)),
                    ms(at(0.95)),
                    ms(at(0.99)),
                    ms(*times.last().unwrap()),
                    rows as f64 / requests as f64
                );
            }
        });
    }
}

/// Stores `n` open cases, each with an application, one in fifty escalated in its state, a
/// tenth assigned; the officials, each of one provider and one role its workflow uses.
async fn fill(store: &Store, spec: &Spec, n: usize, officials: usize) -> Vec<Official> {
    // (e-service, workflow, provider, [(state, role)]) for each e-service with a workflow.
    let services: Vec<Service> = spec
        .e_services
        .iter()
        .filter_map(|s| {
            let w = spec.workflows.iter().find(|w| w.id == s.workflow)?;
            let states: Vec<(String, String)> = w
                .states
                .iter()
                .filter(|st| st.outcome.is_none())
                .filter_map(|st| Some((st.id.clone(), st.role.clone()?)))
                .collect();
            let provider = s.provider.as_ref()?.participant.clone();
            (!states.is_empty()).then(|| (s.id.clone(), w.id.clone(), provider, states))
        })
        .collect();
    let mut dice = Dice(0x9e37_79b9_7f4a_7c15);
    let people: Vec<Official> = (0..officials)
        .map(|i| {
            let (_, _, provider, states) = &services[i % services.len()];
            let role = states[dice.below(states.len())].1.clone();
            Official {
                id: format!("bench-official-{i}"),
                role,
                e_services: services
                    .iter()
                    .filter(|(_, _, p, _)| p == provider)
                    .map(|(s, _, _, _)| s.clone())
                    .collect(),
            }
        })
        .collect();
    let now = Utc::now();
    let mut tx = store.begin().await.unwrap();
    for i in 0..n {
        let (e_service, workflow, _, states) = &services[dice.below(services.len())];
        let (state, role) = &states[dice.below(states.len())];
        let hours = dice.below(24 * 40) as i64 - 24 * 10;
        let entered = now - chrono::Duration::hours(dice.below(24 * 20) as i64);
        let id = format!("case-{i:06}");
        let assignee = (dice.below(10) == 0).then(|| people[dice.below(people.len())].id.clone());
        let row = CaseRow {
            id: id.clone(),
            workflow: workflow.clone(),
            revision: REVISION.into(),
            e_service: e_service.clone(),
            state: state.clone(),
            outcome: None,
            applicant: format!("{:010}", 3_000_000_000u64 + i as u64),
            applicant_name: "Заявник Бенчмарку".into(),
            applicant_email: None,
            assignee,
            role: Some(role.clone()),
            data: "{}".into(),
            registry: "{}".into(),
            decision: None,
            deadline_at: Some(time_text(&(now + chrono::Duration::hours(hours)))),
            version: 1,
            created_at: time_text(&(entered - chrono::Duration::hours(1))),
            updated_at: time_text(&entered),
            state_entered_at: time_text(&entered),
        };
        store.insert_case(&mut tx, &row).await.unwrap();
        let application = ApplicationRow {
            id: format!("app-{i:06}"),
            owner: row.applicant.clone(),
            draft_id: format!("draft-{i:06}"),
            e_service: e_service.clone(),
            journal: "bench-incoming".into(),
            period: "2026".into(),
            seq: i as i64 + 1,
            number: format!("ВХ-{}/2026", i + 1),
            received_at: row.created_at.clone(),
            case_id: Some(id.clone()),
            document: "{}".into(),
            signature: None,
        };
        store
            .insert_application(&mut tx, &application)
            .await
            .unwrap();
        if dice.below(50) == 0 {
            let e = NewCaseEvent {
                case_id: id,
                at: time_text(&(entered + chrono::Duration::hours(1))),
                actor: "timer".into(),
                on_behalf: None,
                kind: "escalated".into(),
                event: None,
                from_state: None,
                to_state: Some(state.clone()),
                detail: json!({"role": role}).to_string(),
            };
            store.append_case_event(&mut tx, &e).await.unwrap();
        }
        if i % 5_000 == 4_999 {
            tx.commit().await.unwrap();
            tx = store.begin().await.unwrap();
        }
    }
    tx.commit().await.unwrap();
    people
}

/// `requests` inbox pages by officials in turn, `concurrency` at a time; each one's time, and
/// the rows shown in all.
async fn measure(
    store: &Store,
    engine: &Arc<Engine>,
    pages: &Arc<Pages>,
    spec: &Arc<Spec>,
    people: &Arc<Vec<Official>>,
    requests: usize,
    concurrency: usize,
) -> (Vec<Duration>, usize) {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (store, engine, pages, spec, people, next) = (
            store.clone(),
            engine.clone(),
            pages.clone(),
            spec.clone(),
            people.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            let mut rows = 0;
            loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if k >= requests {
                    return (times, rows);
                }
                let started = Instant::now();
                rows += page(&store, &engine, &pages, &spec, &people[k % people.len()], k).await;
                times.push(started.elapsed());
            }
        }));
    }
    let mut times = Vec::new();
    let mut rows = 0;
    for t in tasks {
        let (mine, shown) = t.await.unwrap();
        times.extend(mine);
        rows += shown;
    }
    (times, rows)
}

/// One inbox page for `official`, its filters chosen by `k`; the rows shown.
async fn page(
    store: &Store,
    engine: &Engine,
    pages: &Pages,
    spec: &Spec,
    official: &Official,
    k: usize,
) -> usize {
    let now: DateTime<Utc> = Utc::now();
    let zone = chrono_tz::Europe::Kyiv;
    let (due, e_service, page) = match k % 20 {
        0..=11 => (None, None, 1),
        12 | 13 => (Some(Due::Today), None, 1),
        14 | 15 => (Some(Due::Overdue), None, 1),
        16 => (Some(Due::Escalated), None, 1),
        17 | 18 => (None, official.e_services.first().cloned(), 1),
        _ => (None, None, 3),
    };
    let query = InboxQuery {
        official: official.id.clone(),
        roles: vec![official.role.clone()],
        e_services: official.e_services.clone(),
        e_service,
        state: None,
        due,
        now,
        end_of_today: deadlines::end_of_today(zone, now),
        page,
        per_page: inbox::PER_PAGE,
    };
    let found = store.inbox(&query).await.unwrap();
    let rows = inbox::rows(engine, spec, &official.id, &found.cases, zone, now)
        .await
        .unwrap();
    let shown = rows.len();
    let view = json!({
        "name": official.id, "cases": rows, "total": found.total, "page": page, "pages": 10,
        "previous": null, "next": "/office?page=2", "first": "/office?page=1",
        "filters": {"provider": null, "state": null, "due": ""},
        "services": [], "states": [], "dues": [],
    });
    let chrome = Chrome {
        site_title: "Бенчмарк".into(),
        signed_in_as: Some(official.id.clone()),
        csrf: Some("token".into()),
        ..Chrome::default()
    };
    let response = pages.render(StatusCode::OK, "office/inbox.html", &chrome, view);
    assert_eq!(response.status(), StatusCode::OK);
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    assert!(body.len() > 1000);
    shown
}
