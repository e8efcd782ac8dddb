//! REG-7: registrations under load survive a SIGKILL. Officials register cards concurrently over
//! HTTP against the real `hromada serve`; the process is killed mid-load and started again on
//! the same database. Every registration acknowledged (303 to the card) is there with the number
//! its page showed; each journal's numbers in each period run 1..N with no gap and no duplicate;
//! a card whose registration was cut has no number; the history chain holds every card's row.
//! The same with two replicas on one PostgreSQL, one killed while both register.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::appliance::Appliance;
use common::city::City;
use hromada::store::{NewOfficeSession, Store};

/// The office's session cookie on plain HTTP.
const COOKIE: &str = "hromada-office";
/// The registrars of the example city (documents-register for city-council).
const REGISTRARS: &[&str] = &["lysenko-t", "bondar-a"];
/// Clients registering at once, per appliance.
const CLIENTS: usize = 8;
/// The journals the clients register in, taking turns.
const JOURNALS: &[&str] = &["council-incoming", "council-internal"];

/// A registrar's session, opened in the store as the office's sign-in opens one.
#[derive(Clone)]
struct Session {
    token: String,
    csrf: String,
}

async fn sessions(store: &Store, n: usize) -> Vec<Session> {
    let now = Utc::now();
    let mut out = Vec::new();
    for i in 0..n {
        let token = hromada::portal::session::random_token();
        let csrf = hromada::portal::session::random_token();
        store
            .open_office_session(&NewOfficeSession {
                id: hromada::portal::session::digest(&token),
                official: REGISTRARS[i % REGISTRARS.len()].into(),
                subject: format!("crash-test-{i}"),
                csrf: csrf.clone(),
                created_at: now,
                expires_at: now + chrono::Duration::hours(12),
            })
            .await
            .unwrap();
        out.push(Session { token, csrf });
    }
    out
}

/// A registration the appliance acknowledged: the card and, when the client read it before
/// the kill, the card's page.
#[derive(Debug, Clone)]
struct Acked {
    card: String,
    page: Option<String>,
}

/// What the clients saw.
#[derive(Default)]
struct Seen {
    acked: Mutex<Vec<Acked>>,
    /// Cards whose registration was sent and got no answer (cut by the kill).
    cut: Mutex<Vec<String>>,
    /// Answers that were neither an acknowledgement nor a cut connection.
    refused: Mutex<Vec<String>>,
}

/// The fields of a complete draft: an incoming letter, or an internal memo.
fn draft(journal: &str, n: usize) -> Vec<(String, String)> {
    let mut fields = vec![
        ("journal", journal.to_string()),
        ("summary", format!("Про ремонт покрівлі школи №{n}")),
        ("pages", "1".to_string()),
    ];
    if journal == "council-internal" {
        fields.extend([
            ("kind", "memo".to_string()),
            ("case_code", "01-05".to_string()),
            ("signer", "Бондар А. С.".to_string()),
            ("addressees", "Ткаченко О. М.".to_string()),
        ]);
    } else {
        fields.extend([
            ("kind", "letter".to_string()),
            ("correspondent", "КП «Теплоенерго»".to_string()),
            ("correspondent_number", format!("{n}/12")),
            ("correspondent_date", "2026-12-18".to_string()),
        ]);
    }
    fields
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// A PDF/A the registry takes as a card's original.
fn pdf_a() -> Vec<u8> {
    b"%PDF-1.7\n1 0 obj\n<< /Type /Metadata /Subtype /XML >>\nstream\n<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:Description pdfaid:part=\"2\" pdfaid:conformance=\"B\"/></x:xmpmeta>\nendstream\nendobj\n%%EOF\n".to_vec()
}

/// One client: drafts and registers cards on `url` until its connection fails (the kill),
/// `stop` is set, or `limit` cards are acknowledged.
async fn client(
    url: String,
    session: Session,
    seen: Arc<Seen>,
    stop: Arc<AtomicBool>,
    limit: usize,
    n: usize,
) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let cookie = format!("{COOKIE}={}", session.token);
    // Each turn of the loop ends with an acknowledged card (any failure returns).
    for k in 0.. {
        if stop.load(Ordering::SeqCst) || k >= limit {
            return;
        }
        let journal = JOURNALS[(n + k) % JOURNALS.len()];
        let mut fields = draft(journal, n * 10_000 + k);
        fields.push(("csrf".into(), session.csrf.clone()));
        let Ok(answer) = http
            .post(format!("{url}/registry/cards"))
            .header("Cookie", &cookie)
            .form(&fields)
            .send()
            .await
        else {
            return;
        };
        let status = answer.status().as_u16();
        let created = location(&answer);
        let body = answer.text().await.unwrap_or_default();
        let Some(card) = created.filter(|_| status == 303) else {
            seen.refused
                .lock()
                .unwrap()
                .push(format!("POST /registry/cards answered {status}: {body}"));
            return;
        };
        let card = card.trim_start_matches(&url).to_string();
        let file = reqwest::multipart::Form::new()
            .text("csrf", session.csrf.clone())
            .text("role", "original")
            .text("version", "1")
            .part(
                "file",
                reqwest::multipart::Part::bytes(pdf_a())
                    .file_name("лист.pdf")
                    .mime_str("application/pdf")
                    .unwrap(),
            );
        let Ok(answer) = http
            .post(format!("{url}{card}/files"))
            .header("Cookie", &cookie)
            .multipart(file)
            .send()
            .await
        else {
            return;
        };
        if answer.status().as_u16() != 303 {
            let status = answer.status().as_u16();
            let body = answer.text().await.unwrap_or_default();
            seen.refused
                .lock()
                .unwrap()
                .push(format!("POST {card}/files answered {status}: {body}"));
            return;
        }
        let sent = http
            .post(format!("{url}{card}/register"))
            .header("Cookie", &cookie)
            .form(&[("csrf", session.csrf.as_str()), ("version", "2")])
            .send()
            .await;
        let answer = match sent {
            Ok(answer) => answer,
            Err(_) => {
                seen.cut.lock().unwrap().push(card_id(&card));
                return;
            }
        };
        let status = answer.status().as_u16();
        let registered = location(&answer);
        if status != 303 {
            let body = answer.text().await.unwrap_or_default();
            seen.refused.lock().unwrap().push(format!(
                "POST {card}/register answered {status}: {}",
                body.chars().take(2000).collect::<String>()
            ));
            return;
        }
        let to = registered.unwrap_or_default();
        assert!(
            to.ends_with(&card),
            "the registration of {card} led to {to}, not the card"
        );
        let page = match http
            .get(format!("{url}{card}"))
            .header("Cookie", &cookie)
            .send()
            .await
        {
            Ok(r) if r.status().as_u16() == 200 => r.text().await.ok(),
            _ => None,
        };
        seen.acked.lock().unwrap().push(Acked {
            card: card_id(&card),
            page,
        });
    }
}

fn location(answer: &reqwest::Response) -> Option<String> {
    answer
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// `card-…` of `/registry/cards/card-…`.
fn card_id(path: &str) -> String {
    path.rsplit('/').next().unwrap_or_default().to_string()
}

/// Starts `clients` clients on `url`; their tasks.
fn load(
    url: &str,
    sessions: &[Session],
    seen: &Arc<Seen>,
    stop: &Arc<AtomicBool>,
    limit: usize,
    first: usize,
) -> Vec<tokio::task::JoinHandle<()>> {
    sessions
        .iter()
        .enumerate()
        .map(|(i, s)| {
            tokio::spawn(client(
                url.to_string(),
                s.clone(),
                seen.clone(),
                stop.clone(),
                limit,
                first + i,
            ))
        })
        .collect()
}

/// Waits until at least `n` registrations were acknowledged (or fails after 120 s, showing
/// what the clients were told).
async fn until_acked(seen: &Seen, n: usize, app: &Appliance) {
    let start = Instant::now();
    while seen.acked.lock().unwrap().len() < n {
        let refused = seen.refused.lock().unwrap().clone();
        assert!(
            refused.is_empty(),
            "the appliance refused registrations: {refused:#?}\n{}",
            app.log()
        );
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "only {} registrations in 120 s\n{}",
            seen.acked.lock().unwrap().len(),
            app.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn join(tasks: Vec<tokio::task::JoinHandle<()>>) {
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(60), t)
            .await
            .expect("a client ends within 60 s of the kill")
            .expect("a client does not panic");
    }
}

/// What the store holds after the restart, held to what the clients were told.
async fn check(store: &Store, seen: &Seen) {
    let acked = seen.acked.lock().unwrap().clone();
    let mut numbers: BTreeMap<(String, String), Vec<i64>> = BTreeMap::new();
    let mut reg_numbers: BTreeMap<String, String> = BTreeMap::new();
    for a in &acked {
        let card = store
            .card(&a.card)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged card {} is lost after the kill", a.card));
        assert_eq!(
            card.status, "registered",
            "acknowledged card {} is `{}` after the kill",
            a.card, card.status
        );
        let number = card
            .reg_number
            .clone()
            .unwrap_or_else(|| panic!("acknowledged card {} has no number", a.card));
        if let Some(page) = &a.page {
            assert!(
                page.contains(&number) || page.contains(&number.replace('/', "&#x2f;")),
                "card {}'s page showed another number than the store's `{number}` after the \
                 restart:\n{page}",
                a.card
            );
        }
    }
    let cut_short = seen.cut.lock().unwrap().clone();
    for cut in &cut_short {
        let card = store
            .card(cut)
            .await
            .unwrap()
            .expect("a drafted card stays");
        assert!(
            (card.status == "draft" && card.seq.is_none() && card.reg_number.is_none())
                || (card.status == "registered" && card.seq.is_some()),
            "card {cut}, whose registration was cut, is {card:?}"
        );
    }
    for card in all_cards(store).await {
        let events = store.case_events(&card.id).await.unwrap();
        let last = events
            .last()
            .unwrap_or_else(|| panic!("card {} has no history", card.id));
        let detail: serde_json::Value = serde_json::from_str(&last.detail).unwrap();
        assert_eq!(
            (last.to_state.as_deref(), detail["version"].as_i64()),
            (Some(card.status.as_str()), Some(card.version)),
            "card {}'s history does not lead to its row",
            card.id
        );
        assert_eq!(
            events.len() as i64,
            card.version,
            "card {} has {} events for version {}",
            card.id,
            events.len(),
            card.version
        );
        match (&card.period, card.seq, &card.reg_number) {
            (Some(period), Some(seq), Some(number)) => {
                numbers
                    .entry((card.journal.clone(), period.clone()))
                    .or_default()
                    .push(seq);
                if let Some(other) = reg_numbers.insert(number.clone(), card.id.clone()) {
                    panic!("number {number} is given to both {other} and {}", card.id);
                }
            }
            (None, None, None) => assert_eq!(card.status, "draft", "{card:?}"),
            _ => panic!("card {} is half numbered: {card:?}", card.id),
        }
    }
    assert!(!numbers.is_empty(), "nothing was registered");
    for ((journal, period), mut seqs) in numbers {
        seqs.sort();
        let expected: Vec<i64> = (1..=seqs.len() as i64).collect();
        assert_eq!(
            seqs, expected,
            "journal {journal} in {period}: numbers with a gap or a duplicate"
        );
    }
    let report = hromada::workflow::history::verify(store).await.unwrap();
    assert!(
        report.intact(),
        "the history chain or a card's row is broken: {:#?}",
        report.problems
    );
}

async fn all_cards(store: &Store) -> Vec<hromada::store::CardRow> {
    let ids: Vec<String> = {
        let mut out = Vec::new();
        for e in store.case_event_page(0, i64::MAX).await.unwrap() {
            if e.case_id.starts_with("card-") && !out.contains(&e.case_id) {
                out.push(e.case_id);
            }
        }
        out
    };
    let mut cards = Vec::new();
    for id in ids {
        cards.push(
            store
                .card(&id)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("card {id} has history but no row")),
        );
    }
    cards
}

/// A registration sent again for cards already registered (a browser's resubmit after the
/// restart): no answer gives a card a second number; `check` then finds every number as it was.
async fn replay(url: &str, session: &Session, seen: &Seen) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let acked: Vec<Acked> = seen.acked.lock().unwrap().iter().take(3).cloned().collect();
    for a in acked {
        let answer = http
            .post(format!("{url}/registry/cards/{}/register", a.card))
            .header("Cookie", format!("{COOKIE}={}", session.token))
            .form(&[("csrf", session.csrf.as_str()), ("version", "2")])
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        assert!(
            status < 500,
            "registering card {} again answered {status}: {}",
            a.card,
            answer.text().await.unwrap_or_default()
        );
    }
}

fn sqlite_url(data: &Path) -> String {
    Store::sqlite_url(&data.join("hromada.db"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_registrations_loses_no_acknowledged_number_on_sqlite() {
    let city = City::new().await;
    let data = city.dir.path().join("data");
    let url = sqlite_url(&data);
    let app = city.start_core(&data, &["--database-url", &url]).await;
    let store = Store::connect(&url).await.unwrap();
    let clerks = sessions(&store, CLIENTS).await;
    let seen = Arc::new(Seen::default());
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = load(&app.url, &clerks, &seen, &stop, usize::MAX, 0);
    until_acked(&seen, 40, &app).await;
    app.kill_hard();
    join(tasks).await;
    let before = seen.acked.lock().unwrap().len();

    let app = city.start_core(&data, &["--database-url", &url]).await;
    check(&store, &seen).await;
    replay(&app.url, &clerks[0], &seen).await;
    check(&store, &seen).await;
    // Numbering goes on after the restart from where the acknowledged ones stopped.
    let tasks = load(&app.url, &clerks[..2], &seen, &stop, 5, 100);
    join(tasks).await;
    assert_eq!(
        seen.acked.lock().unwrap().len(),
        before + 10,
        "{}",
        app.log()
    );
    check(&store, &seen).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_on_one_postgresql_one_killed_keep_numbers_gapless() {
    let Some(url) = common::postgres::url_or_skip(
        "two_replicas_on_one_postgresql_one_killed_keep_numbers_gapless",
    ) else {
        return;
    };
    let city = City::new().await;
    let (a_data, b_data) = (city.dir.path().join("a"), city.dir.path().join("b"));
    let a = city.start_core(&a_data, &["--database-url", &url]).await;
    let b = city.start_core(&b_data, &["--database-url", &url]).await;
    let store = Store::connect(&url).await.unwrap();
    let clerks = sessions(&store, 2 * CLIENTS).await;
    let seen = Arc::new(Seen::default());
    let stop = Arc::new(AtomicBool::new(false));
    let on_a = load(&a.url, &clerks[..CLIENTS], &seen, &stop, usize::MAX, 0);
    let on_b = load(
        &b.url,
        &clerks[CLIENTS..],
        &seen,
        &stop,
        usize::MAX,
        CLIENTS,
    );
    until_acked(&seen, 40, &b).await;
    a.kill_hard();
    join(on_a).await;
    // The other replica goes on registering while the first is down.
    let at_kill = seen.acked.lock().unwrap().len();
    until_acked(&seen, at_kill + 20, &b).await;
    stop.store(true, Ordering::SeqCst);
    join(on_b).await;

    let a = city.start_core(&a_data, &["--database-url", &url]).await;
    check(&store, &seen).await;
    let before = seen.acked.lock().unwrap().len();
    let again = Arc::new(AtomicBool::new(false));
    let mut tasks = load(&a.url, &clerks[..2], &seen, &again, 5, 200);
    tasks.extend(load(
        &b.url,
        &clerks[CLIENTS..CLIENTS + 2],
        &seen,
        &again,
        5,
        300,
    ));
    join(tasks).await;
    assert_eq!(
        seen.acked.lock().unwrap().len(),
        before + 20,
        "{}\n{}",
        a.log(),
        b.log()
    );
    check(&store, &seen).await;
}
