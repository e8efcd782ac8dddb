//! Issuing and sealing results, documents per second (issue 14): the real `issue` of the case
//! engine on a real store — the example city's water certificate rendered from its template,
//! numbered in `vodokanal-outgoing`, given its PDF visual form and verification code, sealed twice
//! (text and PDF, CMS detached, ECDSA P-256 by a development CA's seal), stored with its
//! original's record, and committed. N concurrent issuers (a task each) issue in a loop, each in
//! its own transaction; the numbers of one journal queue on its counter row, as in production.
//! Before the stores' rows, the PDF alone and the seal alone, one after the other, show what the
//! two cost against the store.
//!
//! `cargo bench --bench results`; HROMADA_BENCH_SECONDS (5, per measurement), HROMADA_BENCH_WARMUP
//! (1), HROMADA_BENCH_RUNS (3; the figure is the median), HROMADA_BENCH_CONCURRENCY (`1,8`),
//! HROMADA_BENCH_STORE (`sqlite`, `postgres` or `both`, the default). Figures go to
//! benches/README.md.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use hromada::crypto::dev_ca::{self, LeafProfile, LeafRequest};
use hromada::crypto::{Seal, Validity};
use hromada::spec::Spec;
use hromada::store::Store;
use hromada::workflow::documents::{IssueRequest, issue};
use hromada::workflow::result_pdf::{self, ResultForm};
use serde_json::json;

#[allow(dead_code)]
#[path = "../tests/common/postgres.rs"]
mod postgres;

struct Settings {
    seconds: u64,
    warmup: u64,
    runs: usize,
    concurrency: Vec<usize>,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let settings = Settings {
        seconds: env_or("HROMADA_BENCH_SECONDS", 5),
        warmup: env_or("HROMADA_BENCH_WARMUP", 1),
        runs: env_or("HROMADA_BENCH_RUNS", 3),
        concurrency: std::env::var("HROMADA_BENCH_CONCURRENCY")
            .unwrap_or_else(|_| "1,8".into())
            .split(',')
            .filter_map(|n| n.trim().parse().ok())
            .collect(),
    };
    let (sqlite, postgres) = match std::env::var("HROMADA_BENCH_STORE").as_deref() {
        Ok("sqlite") => (true, false),
        Ok("postgres") => (false, true),
        _ => (true, true),
    };
    let loaded = hromada::spec::load::load(Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let spec = Arc::new(loaded.spec);
    let seal = Arc::new(seal());

    let (pdf_ms, seal_ms, bytes) = parts(&seal);
    eprintln!("the PDF alone: {pdf_ms:.2} ms ({bytes} bytes); one seal over it: {seal_ms:.2} ms");
    println!(
        "| store | concurrent issuers | documents/s (median of {}) | all runs |",
        settings.runs
    );
    println!("|---|---|---|---|");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if sqlite {
        let dir = tempfile::tempdir().unwrap();
        let url = Store::sqlite_url(&dir.path().join("hromada.db"));
        runtime.block_on(rows("SQLite", &url, &settings, &spec, &seal));
    }
    if postgres {
        postgres::durable();
        match postgres::available() {
            Ok(()) => {
                let url = postgres::fresh_database_sync();
                runtime.block_on(rows("PostgreSQL", &url, &settings, &spec, &seal));
            }
            Err(why) => eprintln!("PostgreSQL skipped: {why}"),
        }
    }
}

/// A development CA's seal for `vodokanal`, as `hromada keys dev` makes one.
fn seal() -> Seal {
    let validity = dev_ca::validity_from_now(3650);
    let name = dev_ca::ca_name("Тестовий ЦСК", "Запорізька міська рада").unwrap();
    let ca = dev_ca::self_signed_ca(dev_ca::new_key().unwrap(), &name, &validity).unwrap();
    let key = dev_ca::new_key().unwrap();
    let request = LeafRequest {
        common_name: "Печатка КП «Водоканал»".into(),
        organisation: "Комунальне підприємство «Водоканал»".into(),
        profile: LeafProfile::Seal {
            edrpou: "03327121".into(),
        },
        validity: Validity {
            not_before: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
            not_after: Utc::now() + chrono::Duration::days(365),
        },
    };
    let cert = dev_ca::issue(&ca, &request, &key).unwrap();
    Seal::new("vodokanal", cert, key).unwrap()
}

/// The median time of the PDF alone and of one seal over it, in ms, over 200 of each, and the
/// PDF's size.
fn parts(seal: &Seal) -> (f64, f64, usize) {
    let text = "ДОВІДКА № АВ-1/2026 про відсутність заборгованості\n\n".repeat(12);
    let form = ResultForm {
        title: "Довідка про відсутність заборгованості",
        text: &text,
        issued_at: Utc::now().with_timezone(&chrono_tz::Europe::Kyiv),
        official: None,
        number: Some("АВ-1/2026"),
        sealed_by: "Комунальне підприємство «Водоканал»",
        code: "7K2QF-9XM4B",
        verify_url: "https://portal.example/verify",
    };
    let median = |mut f: Box<dyn FnMut()>| {
        let mut times: Vec<f64> = (0..200)
            .map(|_| {
                let started = Instant::now();
                f();
                started.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        times[times.len() / 2]
    };
    let pdf = result_pdf::render(&form);
    let pdf_ms = median(Box::new(|| {
        std::hint::black_box(result_pdf::render(&form));
    }));
    let seal_ms = median(Box::new(|| {
        std::hint::black_box(seal.sign_detached(&pdf, Utc::now()).unwrap());
    }));
    (pdf_ms, seal_ms, pdf.len())
}

/// One row per concurrency on the store at `url`.
async fn rows(name: &str, url: &str, settings: &Settings, spec: &Arc<Spec>, seal: &Arc<Seal>) {
    let store = Store::connect(url).await.unwrap();
    let serial = Arc::new(AtomicU64::new(0));
    for &n in &settings.concurrency {
        let mut rates: Vec<f64> = Vec::new();
        for _ in 0..settings.runs {
            rates.push(run(&store, n, settings, spec, seal, &serial).await);
        }
        let mut sorted = rates.clone();
        sorted.sort_by(f64::total_cmp);
        let all: Vec<String> = rates.iter().map(|r| format!("{r:.0}")).collect();
        println!(
            "| {name} | {n} | {:.0} | {} |",
            sorted[sorted.len() / 2],
            all.join(", ")
        );
    }
}

/// Documents issued per second by `n` concurrent issuers after the warm-up.
async fn run(
    store: &Store,
    n: usize,
    settings: &Settings,
    spec: &Arc<Spec>,
    seal: &Arc<Seal>,
    serial: &Arc<AtomicU64>,
) -> f64 {
    let counted = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let warm_until = started + Duration::from_secs(settings.warmup);
    let until = warm_until + Duration::from_secs(settings.seconds);
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (store, spec, seal) = (store.clone(), spec.clone(), seal.clone());
        let (serial, counted) = (serial.clone(), counted.clone());
        tasks.push(tokio::spawn(async move {
            let template = spec
                .templates
                .iter()
                .find(|t| t.id == "water-no-debt-certificate")
                .unwrap();
            let journal = spec
                .journals
                .iter()
                .find(|j| j.id == "vodokanal-outgoing")
                .unwrap();
            let context = json!({
                "application": {"registration_number": "ВК-17/2026", "rnokpp": "3184710691",
                    "account_number": "10000001"},
                "applicant": {"name": "Іваненко Марія Петрівна"},
                "registry": {"balance": {"balance_date": "2026-12-01", "debt_uah": 0,
                    "address": {"street": "Соборна", "building": "12"}}},
                "decision": {"date": "07.12.2026"},
            });
            while Instant::now() < until {
                let key = format!("bench/{}", serial.fetch_add(1, Ordering::Relaxed));
                let mut tx = store.begin().await.unwrap();
                issue(
                    &store,
                    &mut tx,
                    IssueRequest {
                        key: &key,
                        case_id: &key,
                        template,
                        journal: Some(journal),
                        filed_in: None,
                        context: &context,
                        seal: &seal,
                        at: Utc::now(),
                        zone: chrono_tz::Europe::Kyiv,
                        official: None,
                        verify_url: "https://portal.example/verify",
                        destination: "3184710691",
                        retention: Some("documents"),
                    },
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
                if Instant::now() >= warm_until {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    counted.load(Ordering::Relaxed) as f64 / settings.seconds as f64
}
