//! The document registry's speed (REG-7, seed 004 §4.1–4.6): a store of 1,000,000 cards of the
//! city council's journals over eight years (numbers, requisites, executors, one history event
//! each) seeded in bulk, the real `hromada serve` (release under `cargo bench`) on it, and 2,500
//! simulated officials — registrars, heads, executors — each with an office session of their
//! own, thinking between steps as people do: register (a draft card, then its registration),
//! resolve (a resolution on a registered card), search (words and filters), open a card.
//!
//! Every request is timed from the client, to the last byte of the answer; the appliance's own
//! time per route comes from its `/metrics`. A step whose first request finds no page on this
//! binary (404 or 405 in a probe before the run) is left out and said so.
//!
//! `cargo bench --bench registry`; HROMADA_BENCH_CARDS (1000000), HROMADA_BENCH_USERS (2500),
//! HROMADA_BENCH_STEPS (steps per user, 4), HROMADA_BENCH_THINK_MS (mean think time between a
//! user's steps, 20000), HROMADA_BENCH_STORE (`sqlite`, `postgres` or `both`, the default);
//! HROMADA_BENCH_QUICK=1 for a smoke run (20,000 cards, 100 users, 2 steps, 200 ms);
//! HROMADA_BENCH_BINARIES (`hromada` builds, comma-separated, measured in turn on the one seeded
//! store: an A/B). The appliance's log is kept under the target's `tmp` folder. The figures go
//! to benches/README.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use hromada::registry::search::indexer::card_words;
use hromada::store::{
    Backend, CardRow, GENESIS_HASH, NewCaseEvent, NewOfficeSession, Store, Tx, case_event_hash,
};

#[path = "../tests/common/mod.rs"]
mod common;

#[path = "support/mod.rs"]
mod support;

use common::appliance::Appliance;
use common::city::City;
use support::{ServerTime, env_usize, ms, quantile, server_times};

/// The office's session cookie on plain HTTP.
const COOKIE: &str = "hromada-office";
/// How many error messages of a run are printed.
const SAMPLES: usize = 8;
/// A PDF/A the registry takes as a card's original.
const PDF_A: &[u8] = b"%PDF-1.7\n1 0 obj\n<< /Type /Metadata /Subtype /XML >>\nstream\n<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:Description pdfaid:part=\"2\" pdfaid:conformance=\"B\"/></x:xmpmeta>\nendstream\nendobj\n%%EOF\n";
/// Rows per INSERT while seeding.
const BATCH: usize = 500;
/// Rows per transaction while seeding.
const COMMIT_EVERY: usize = 50_000;

/// The city council's journals: id, direction, share of the cards (per cent), number pattern.
const JOURNALS: &[(&str, &str, usize, &str)] = &[
    ("council-incoming", "incoming", 45, "{seq}/01-{yyyy}"),
    ("council-citizens", "incoming", 25, "Ж-{seq}/{yy}"),
    ("council-outgoing", "outgoing", 15, "01-25/{seq}"),
    ("council-internal", "internal", 15, "СЗ-{seq}/{yyyy}"),
];

/// Words the summaries are made of, and the searches look for.
const WORDS: &[&str] = &[
    "ремонт",
    "дороги",
    "водопостачання",
    "опалення",
    "заява",
    "скарга",
    "благоустрій",
    "освітлення",
    "земельної",
    "ділянки",
    "дозвіл",
    "будівництво",
    "школи",
    "дитячого",
    "садка",
    "транспорту",
    "маршруту",
    "тарифів",
    "субсидії",
    "допомоги",
    "паркування",
    "сміття",
    "вивезення",
    "договору",
    "оренди",
    "приміщення",
    "бюджету",
    "програми",
    "звернення",
    "депутата",
    "запит",
    "інформації",
    "перевірки",
    "пожежної",
    "безпеки",
    "укриття",
    "тепломережі",
    "аварії",
    "каналізації",
    "зеленого",
    "господарства",
    "вулиці",
    "Соборної",
    "Шевченка",
    "Дніпровської",
    "пільг",
    "ветеранів",
    "медичної",
    "закладу",
    "культури",
];

const CORRESPONDENTS: &[&str] = &[
    "Обласна державна адміністрація",
    "Головне управління ДСНС в області",
    "КП «Водоканал»",
    "КП «Теплоенерго»",
    "Управління соціального захисту населення",
    "Головне управління Держгеокадастру",
    "Прокуратура області",
    "ТОВ «Будсервіс»",
    "ОСББ «Світанок»",
    "Міністерство розвитку громад",
    "Громадянин",
    "Депутат міської ради",
];

/// One kind of request an official makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Create,
    File,
    Register,
    Resolve,
    Search,
    Open,
    /// A user whose client failed outside any step (a dropped connection).
    Transport,
}

impl Step {
    fn label(self) -> &'static str {
        match self {
            Step::Create => "register: POST /registry/cards (draft)",
            Step::File => "register: POST /registry/cards/{id}/files (its PDF/A)",
            Step::Register => "register: POST /registry/cards/{id}/register",
            Step::Resolve => "resolve: POST /registry/cards/{id}/resolutions",
            Step::Search => "search: GET /registry/search?q=…&journal=…",
            Step::Open => "open: GET /registry/cards/{id}",
            Step::Transport => "(client failed)",
        }
    }
}

/// The three kinds of simulated user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Registrar,
    Head,
    Executor,
}

/// The example city's officials the users sign in as, by role.
fn official_of(role: Role, n: usize) -> &'static str {
    match role {
        Role::Registrar => ["lysenko-t", "bondar-a"][n % 2],
        Role::Head => ["bondar-a", "tkachenko-o"][n % 2],
        Role::Executor => ["koval-o", "moroz-v"][n % 2],
    }
}

/// What a run measured: times and errors per step, and the first error messages.
#[derive(Default)]
struct Tally {
    times: BTreeMap<Step, Vec<Duration>>,
    errors: BTreeMap<Step, usize>,
    samples: Vec<String>,
}

impl Tally {
    fn error(&mut self, step: Step, message: String) {
        *self.errors.entry(step).or_default() += 1;
        if self.samples.len() < SAMPLES {
            self.samples.push(message);
        }
    }

    fn merge(&mut self, other: Tally) {
        for (step, times) in other.times {
            self.times.entry(step).or_default().extend(times);
        }
        for (step, n) in other.errors {
            *self.errors.entry(step).or_default() += n;
        }
        for sample in other.samples {
            if self.samples.len() < SAMPLES {
                self.samples.push(sample);
            }
        }
    }
}

/// A small deterministic generator (xorshift), so every run seeds the same store.
#[derive(Clone)]
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
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

/// What the seeding leaves for the users to work on.
#[derive(Clone)]
struct Seeded {
    /// Registered cards of this year, not yet resolved: what the heads resolve.
    to_resolve: Vec<String>,
    /// A sample of every card, for opening.
    any: Vec<String>,
    /// Cards each executor is the executor of.
    executors: BTreeMap<&'static str, Vec<String>>,
}

/// A text value as an SQL literal (both databases).
fn lit(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn opt(text: &Option<String>) -> String {
    text.as_deref().map_or("NULL".into(), lit)
}

fn num(n: Option<i64>) -> String {
    n.map_or("NULL".into(), |n| n.to_string())
}

async fn execute(tx: &mut Tx, sql: &str) {
    match tx {
        Tx::Sqlite(t, _) => sqlx::raw_sql(sql).execute(&mut **t).await.map(drop),
        Tx::Postgres(t) => sqlx::raw_sql(sql).execute(&mut **t).await.map(drop),
    }
    .unwrap_or_else(|e| panic!("seeding failed: {e}"));
}

const CARD_COLUMNS: &str = "id, participant, journal, direction, kind, status, period, seq, \
     reg_number, reg_date, registered_at, case_code, summary, correspondent, \
     correspondent_number, correspondent_date, signer, addressees, unit, executor, deadline, \
     interim_deadline, control, execution_mark, executed_at, pages, paper, related, extra, \
     source, source_ref, archived_at, version, created_at, created_by, updated_at";

/// `card`'s values in `CARD_COLUMNS` order, as SQL.
fn card_values(c: &CardRow) -> String {
    [
        lit(&c.id),
        lit(&c.participant),
        lit(&c.journal),
        lit(&c.direction),
        lit(&c.kind),
        lit(&c.status),
        opt(&c.period),
        num(c.seq),
        opt(&c.reg_number),
        opt(&c.reg_date),
        opt(&c.registered_at),
        opt(&c.case_code),
        lit(&c.summary),
        opt(&c.correspondent),
        opt(&c.correspondent_number),
        opt(&c.correspondent_date),
        opt(&c.signer),
        lit(&c.addressees),
        opt(&c.unit),
        opt(&c.executor),
        opt(&c.deadline),
        opt(&c.interim_deadline),
        lit(&c.control),
        opt(&c.execution_mark),
        opt(&c.executed_at),
        num(c.pages),
        c.paper.to_string(),
        lit(&c.related),
        lit(&c.extra),
        lit(&c.source),
        opt(&c.source_ref),
        opt(&c.archived_at),
        c.version.to_string(),
        lit(&c.created_at),
        lit(&c.created_by),
        lit(&c.updated_at),
    ]
    .join(", ")
}

/// Rows of each table a batch of seeded cards goes to.
#[derive(Default)]
struct Batch {
    cards: Vec<String>,
    people: Vec<String>,
    events: Vec<String>,
    search: Vec<String>,
    words: Vec<String>,
}

impl Batch {
    async fn write(&mut self, tx: &mut Tx) {
        let tables = [
            (format!("cards ({CARD_COLUMNS})"), &mut self.cards),
            (
                "card_people (card_id, official, relation, order_key)".into(),
                &mut self.people,
            ),
            (
                "case_events (seq, case_id, at, actor, on_behalf, kind, event, from_state, \
                 to_state, detail, prev_hash, hash)"
                    .into(),
                &mut self.events,
            ),
            (
                if self.words.is_empty() {
                    "card_search (card_id, version, indexed_at, order_key, words, correspondent, signer)"
                } else {
                    "card_search (rowid, card_id, version, indexed_at)"
                }
                .into(),
                &mut self.search,
            ),
            (
                "card_words (rowid, card_id, words, correspondent, signer)".into(),
                &mut self.words,
            ),
        ];
        for (table, rows) in tables {
            if !rows.is_empty() {
                execute(
                    tx,
                    &format!("INSERT INTO {table} VALUES {}", rows.join(", ")),
                )
                .await;
                rows.clear();
            }
        }
    }
}

/// Seeds `n` cards of the city council in bulk, with their executors, one history event each
/// chained after what the case history holds, and their search index as the indexer writes it;
/// the journals' counters moved past them.
async fn seed(store: &Store, database: &str, n: usize) -> Seeded {
    let postgres = store.backend() == Backend::Postgres;
    // A store that grew over eight years has a short write-ahead log: each bulk commit's pages
    // are copied into the file and the log cut back at once, not left (17 GB of it) for the
    // appliance's background checkpoints to copy while the officials work.
    let mut wal = match postgres {
        true => None,
        false => Some(
            <sqlx::SqliteConnection as sqlx::Connection>::connect(database)
                .await
                .unwrap(),
        ),
    };
    let mut dice = Dice(0x2545_f491_4f6c_dd1d);
    let (mut seq_head, mut prev) = store.case_events_head().await.unwrap();
    assert_eq!(prev, GENESIS_HASH, "the bench seeds a fresh store");
    let mut counters: BTreeMap<(&str, i32), i64> = BTreeMap::new();
    let mut seeded = Seeded {
        to_resolve: Vec::new(),
        any: Vec::new(),
        executors: BTreeMap::new(),
    };
    let mut batch = Batch::default();
    let mut orders = std::collections::HashSet::new();
    let mut tx = store.begin().await.unwrap();
    for i in 0..n {
        let id = format!(
            "card-{:032x}",
            (i as u128 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
        );
        let mut share = dice.below(100);
        let &(journal, direction, _, pattern) = JOURNALS
            .iter()
            .find(|j| {
                if share < j.2 {
                    true
                } else {
                    share -= j.2;
                    false
                }
            })
            .unwrap();
        let year = 2019 + dice.below(8) as i32;
        let day = chrono::NaiveDate::from_ymd_opt(year, 1, 1).unwrap()
            + chrono::Duration::days(dice.below(if year == 2026 { 330 } else { 365 }) as i64);
        let seq = {
            let c = counters.entry((journal, year)).or_default();
            *c += 1;
            *c
        };
        let status = match (year, dice.below(10)) {
            (2026, 0..=4) => "registered",
            (2026, 5..=8) => "executed",
            (_, 0) => "registered",
            (_, 1 | 2) => "filed",
            _ => "executed",
        };
        let executor = match dice.below(1000) {
            0 => "koval-o".to_string(),
            1 => "moroz-v".to_string(),
            k => format!("bench-exec-{}", k % 400),
        };
        let summary: Vec<&str> = (0..6 + dice.below(6)).map(|_| dice.pick(WORDS)).collect();
        let correspondent =
            (direction != "internal").then(|| dice.pick(CORRESPONDENTS).to_string());
        let date = day.format("%Y-%m-%d").to_string();
        let at = format!("{date}T09:{:02}:{:02}Z", dice.below(60), dice.below(60));
        let card = CardRow {
            id: id.clone(),
            participant: "city-council".into(),
            journal: journal.into(),
            direction: direction.into(),
            kind: match journal {
                "council-citizens" => "appeal",
                "council-internal" => "memo",
                _ => "letter",
            }
            .into(),
            status: status.into(),
            period: Some(year.to_string()),
            seq: Some(seq),
            reg_number: Some(
                pattern
                    .replace("{seq}", &seq.to_string())
                    .replace("{yyyy}", &year.to_string())
                    .replace("{yy}", &format!("{:02}", year % 100)),
            ),
            reg_date: Some(date.clone()),
            registered_at: Some(at.clone()),
            case_code: Some("01-25".into()),
            summary: summary.join(" "),
            correspondent_number: correspondent
                .as_ref()
                .map(|_| format!("{}-{year}", dice.below(9000) + 100)),
            correspondent_date: correspondent.as_ref().map(|_| date.clone()),
            correspondent,
            signer: Some("Бондар А. С.".into()),
            addressees: "[]".into(),
            unit: Some("city-council/general".into()),
            executor: Some(executor.clone()),
            deadline: Some(
                (day + chrono::Duration::days(30))
                    .format("%Y-%m-%d")
                    .to_string(),
            ),
            interim_deadline: None,
            control: if status == "registered" { "on" } else { "none" }.into(),
            execution_mark: (status == "executed").then(|| "виконано".into()),
            executed_at: (status == "executed").then(|| at.clone()),
            pages: Some(1 + dice.below(5) as i64),
            paper: 0,
            related: "[]".into(),
            extra: "{}".into(),
            source: "registry".into(),
            source_ref: None,
            archived_at: None,
            version: 1,
            created_at: at.clone(),
            created_by: "official:lysenko-t".into(),
            updated_at: at.clone(),
        };
        batch.cards.push(format!("({})", card_values(&card)));
        seq_head += 1;
        let event = NewCaseEvent {
            case_id: id.clone(),
            at: at.clone(),
            actor: "official:lysenko-t".into(),
            on_behalf: None,
            kind: "registered".into(),
            event: None,
            from_state: None,
            to_state: Some(status.into()),
            detail: serde_json::json!({"version": 1, "changes": [], "note": "seeded by the bench"})
                .to_string(),
        };
        let hash = case_event_hash(&prev, seq_head, &event);
        batch.events.push(format!(
            "({seq_head}, {}, {}, {}, NULL, {}, NULL, NULL, {}, {}, {}, {})",
            lit(&event.case_id),
            lit(&event.at),
            lit(&event.actor),
            lit(&event.kind),
            opt(&event.to_state),
            lit(&event.detail),
            lit(&prev),
            lit(&hash),
        ));
        prev = hash;
        let words = card_words(&card, &[]);
        // As the indexer keys it: the card's order, moved to the next free slot if taken.
        let mut order = words.order;
        while !orders.insert(order) {
            order += 1;
        }
        batch.people.push(format!(
            "({}, {}, 'executor', {order})",
            lit(&id),
            lit(&executor)
        ));
        if postgres {
            let vector = |text: &str| format!("strip(to_tsvector('simple', {}))", lit(text));
            batch.search.push(format!(
                "({}, 1, {}, {order}, {}, {}, {})",
                lit(&id),
                lit(&at),
                vector(&words.words),
                vector(&words.correspondent),
                vector(&words.signer)
            ));
        } else {
            batch
                .search
                .push(format!("({order}, {}, 1, {})", lit(&id), lit(&at)));
            batch.words.push(format!(
                "({order}, {}, {}, {}, {})",
                lit(&id),
                lit(&words.words),
                lit(&words.correspondent),
                lit(&words.signer)
            ));
        }
        // The outgoing journal names no execution workflow: its documents take no resolution.
        if status == "registered"
            && year == 2026
            && journal != "council-outgoing"
            && seeded.to_resolve.len() < 200_000
        {
            seeded.to_resolve.push(id.clone());
        }
        if i % 97 == 0 {
            seeded.any.push(id.clone());
        }
        if !executor.starts_with("bench-") {
            let who = if executor == "koval-o" {
                "koval-o"
            } else {
                "moroz-v"
            };
            seeded.executors.entry(who).or_default().push(id.clone());
        }
        if batch.cards.len() == BATCH || i + 1 == n {
            batch.write(&mut tx).await;
        }
        if (i + 1) % COMMIT_EVERY == 0 || i + 1 == n {
            execute(
                &mut tx,
                &format!(
                    "UPDATE case_events_head SET seq = {seq_head}, hash = {} WHERE singleton = 1",
                    lit(&prev)
                ),
            )
            .await;
            tx.commit().await.unwrap();
            if let Some(connection) = &mut wal {
                truncate_wal(connection).await;
            }
            tx = store.begin().await.unwrap();
        }
    }
    for ((journal, year), last) in &counters {
        execute(
            &mut tx,
            &format!(
                "INSERT INTO journal_counters (journal, period, last) VALUES ({}, '{year}', {last}) \
                 ON CONFLICT (journal, period) DO UPDATE SET last = excluded.last",
                lit(journal)
            ),
        )
        .await;
    }
    tx.commit().await.unwrap();
    if let Some(connection) = &mut wal {
        truncate_wal(connection).await;
    }
    if postgres {
        // As an operator would after a bulk load: the planner's statistics of the new rows.
        let mut tx = store.begin().await.unwrap();
        execute(&mut tx, "ANALYZE").await;
        tx.commit().await.unwrap();
    }
    seeded
}

/// Copies a SQLite file's whole write-ahead log into the database and empties it.
/// The store's own background checkpoint may hold it up for a moment; then it is tried again.
async fn truncate_wal(connection: &mut sqlx::SqliteConnection) {
    for _ in 0..50 {
        let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&mut *connection)
            .await
            .unwrap_or_else(|e| {
                panic!("seeding failed: the write-ahead log cannot be checkpointed: {e}")
            });
        if busy == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("seeding: the write-ahead log stayed busy for 5 s and could not be emptied");
}

/// How the store runs the bench's searches, for a registrar and for an executor.
async fn print_plans(store: &Store) {
    use hromada::registry::access::Reader;
    use hromada::store::{CardQuery, Visibility};
    let stems = hromada::registry::search::words::words;
    let words = CardQuery {
        words: stems("ремонт"),
        page: 1,
        per_page: 20,
        ..CardQuery::default()
    };
    let queries = [
        words.clone(),
        CardQuery {
            journal: Some("council-incoming".into()),
            ..words.clone()
        },
        CardQuery {
            from: Some("2026-01-01".into()),
            to: Some("2026-12-31".into()),
            status: Some("registered".into()),
            ..words.clone()
        },
        CardQuery {
            words: Vec::new(),
            correspondent: stems(CORRESPONDENTS[2]),
            ..words.clone()
        },
    ];
    for (who, reads_all) in [("lysenko-t", 1), ("koval-o", 0)] {
        let visible = Visibility {
            sql: Reader::visible_sql,
            binds: (
                "city-council".into(),
                reads_all,
                who.into(),
                "2026-12-07".into(),
            ),
        };
        for query in &queries {
            let plan = store.search_plan(query, &visible).await.unwrap();
            eprintln!("plan for {who}, {query:?}:\n{plan}\n");
        }
    }
}

/// An office session for each user, as the sign-in opens one: (cookie token, CSRF token).
async fn sessions(store: &Store, users: &[(Role, &'static str)]) -> Vec<(String, String)> {
    let now = Utc::now();
    let mut out = Vec::with_capacity(users.len());
    for (n, (_, official)) in users.iter().enumerate() {
        let token = hromada::portal::session::random_token();
        let csrf = hromada::portal::session::random_token();
        store
            .open_office_session(&NewOfficeSession {
                id: hromada::portal::session::digest(&token),
                official: official.to_string(),
                subject: format!("bench-user-{n}"),
                csrf: csrf.clone(),
                created_at: now,
                expires_at: now + chrono::Duration::hours(12),
            })
            .await
            .unwrap();
        out.push((token, csrf));
    }
    out
}

/// One answer as a user reads it.
struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

/// Everything the users share.
struct Office {
    url: String,
    client: reqwest::Client,
    seeded: Seeded,
    next_resolve: AtomicUsize,
    /// Cards the registrars registered in the run (resolved by heads once the seeded run out).
    steps: Vec<Step>,
}

/// One simulated official.
struct User<'a> {
    office: &'a Office,
    role: Role,
    official: &'static str,
    token: String,
    csrf: String,
    dice: Dice,
    tally: Tally,
}

impl User<'_> {
    async fn send(&mut self, step: Step, request: reqwest::RequestBuilder) -> Option<Answer> {
        let started = Instant::now();
        let sent = request
            .header("Cookie", format!("{COOKIE}={}", self.token))
            .send()
            .await;
        let answer = match sent {
            Ok(r) => {
                let status = r.status().as_u16();
                let location = r
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                match r.text().await {
                    Ok(body) => Some(Answer {
                        status,
                        location,
                        body,
                    }),
                    Err(e) => {
                        self.tally
                            .error(step, format!("{}: body: {e}", step.label()));
                        None
                    }
                }
            }
            Err(e) => {
                self.tally.error(step, format!("{}: {e}", step.label()));
                None
            }
        };
        self.tally
            .times
            .entry(step)
            .or_default()
            .push(started.elapsed());
        answer
    }

    async fn get(&mut self, step: Step, path: &str) -> Option<Answer> {
        let request = self.office.client.get(format!("{}{path}", self.office.url));
        self.send(step, request).await
    }

    async fn post(&mut self, step: Step, path: &str, fields: &[(&str, &str)]) -> Option<Answer> {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        let csrf = self.csrf.clone();
        form.push(("csrf", &csrf));
        let request = self
            .office
            .client
            .post(format!("{}{path}", self.office.url))
            .form(&form);
        self.send(step, request).await
    }

    /// The answer when its status is `status`, else an error of `step`.
    fn expect(&mut self, step: Step, answer: Option<Answer>, status: u16) -> Option<Answer> {
        let answer = answer?;
        if answer.status == status {
            return Some(answer);
        }
        let main = answer.body.split("<main").nth(1).unwrap_or(&answer.body);
        let gist: String = strip_tags(main).chars().take(300).collect();
        self.tally.error(
            step,
            format!(
                "{} answered {} (expected {status}) as {}: {}",
                step.label(),
                answer.status,
                self.official,
                gist.split_whitespace().collect::<Vec<_>>().join(" ")
            ),
        );
        None
    }

    fn has(&self, step: Step) -> bool {
        self.office.steps.contains(&step)
    }

    /// A draft card of an incoming letter, then its registration; the card's page address.
    async fn register(&mut self) -> Option<String> {
        let summary: Vec<&str> = (0..8).map(|_| self.dice.pick(WORDS)).collect();
        let summary = summary.join(" ");
        let correspondent = self.dice.pick(CORRESPONDENTS);
        let number = format!("{}-{}", self.dice.below(9000) + 100, 2026);
        let answer = self
            .post(
                Step::Create,
                "/registry/cards",
                &[
                    ("journal", "council-incoming"),
                    ("kind", "letter"),
                    ("summary", &summary),
                    ("correspondent", correspondent),
                    ("correspondent_number", &number),
                    ("correspondent_date", "2026-12-01"),
                    ("pages", "2"),
                ],
            )
            .await;
        let card = self.expect(Step::Create, answer, 303)?.location?;
        if !self.has(Step::Register) {
            return Some(card);
        }
        let form = reqwest::multipart::Form::new()
            .text("csrf", self.csrf.clone())
            .text("role", "original")
            .text("version", "1")
            .part(
                "file",
                reqwest::multipart::Part::bytes(PDF_A.to_vec())
                    .file_name("лист.pdf")
                    .mime_str("application/pdf")
                    .unwrap(),
            );
        let request = self
            .office
            .client
            .post(format!("{}{card}/files", self.office.url))
            .multipart(form);
        let answer = self.send(Step::File, request).await;
        self.expect(Step::File, answer, 303)?;
        let answer = self
            .post(
                Step::Register,
                &format!("{card}/register"),
                &[("version", "2")],
            )
            .await;
        self.expect(Step::Register, answer, 303)?;
        Some(card)
    }

    /// A resolution on a registered card of this year: the executor, the task, the deadline.
    async fn resolve(&mut self) -> Option<()> {
        let pool = &self.office.seeded.to_resolve;
        let k = self.office.next_resolve.fetch_add(1, Ordering::SeqCst);
        let card = pool.get(k % pool.len().max(1))?.clone();
        let executor = ["koval-o", "moroz-v"][k % 2];
        let answer = self
            .post(
                Step::Resolve,
                &format!("/registry/cards/{card}/resolutions"),
                &[
                    ("key", &format!("bench-{k}")),
                    ("main", executor),
                    ("task", "Розглянути та підготувати відповідь"),
                    ("deadline", "2027-01-29"),
                ],
            )
            .await;
        self.expect(Step::Resolve, answer, 303).map(drop)
    }

    async fn search(&mut self) -> Option<()> {
        let word = self.dice.pick(WORDS);
        let query = match self.dice.below(4) {
            0 => format!("/registry/search?q={word}"),
            1 => format!("/registry/search?q={word}&journal=council-incoming"),
            2 => {
                format!("/registry/search?q={word}&from=2026-01-01&to=2026-12-31&status=registered")
            }
            _ => format!(
                "/registry/search?correspondent={}",
                url::form_urlencoded::byte_serialize(self.dice.pick(CORRESPONDENTS).as_bytes())
                    .collect::<String>()
            ),
        };
        let answer = self.get(Step::Search, &query).await;
        self.expect(Step::Search, answer, 200).map(drop)
    }

    async fn open(&mut self, card: Option<String>) -> Option<()> {
        let card = match card {
            Some(card) => card,
            None => {
                let seeded = &self.office.seeded;
                let pool = match self.role {
                    Role::Executor => seeded.executors.get(self.official)?,
                    _ => &seeded.any,
                };
                if pool.is_empty() {
                    return None;
                }
                format!("/registry/cards/{}", pool[self.dice.below(pool.len())])
            }
        };
        let answer = self.get(Step::Open, &card).await;
        self.expect(Step::Open, answer, 200).map(drop)
    }

    /// One step of this user's work, as their role does it.
    async fn step(&mut self) {
        match (self.role, self.dice.below(3)) {
            (Role::Registrar, 0 | 1) if self.has(Step::Create) => {
                if let Some(card) = self.register().await
                    && self.has(Step::Open)
                {
                    self.open(Some(card)).await;
                }
            }
            (Role::Head, 0 | 1) if self.has(Step::Resolve) => {
                self.resolve().await;
            }
            (_, 0) if self.has(Step::Search) => {
                self.search().await;
            }
            _ if self.has(Step::Open) => {
                self.open(None).await;
            }
            _ if self.has(Step::Search) => {
                self.search().await;
            }
            _ => {}
        }
    }
}

/// The text of `html` without its tags.
fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in html.chars() {
        match c {
            '<' => inside = true,
            '>' => {
                inside = false;
                out.push(' ');
            }
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out
}

/// The steps this binary has: each one's first request in a probe; a 404 or 405 leaves it out.
async fn probe(office: &mut Office, token: &(String, String)) -> Vec<String> {
    let mut present: Vec<Step> = Vec::new();
    let mut left_out = Vec::new();
    for step in [
        Step::Create,
        Step::Register,
        Step::Resolve,
        Step::Search,
        Step::Open,
    ] {
        office.steps = present.clone();
        office.steps.push(step);
        let mut user = User {
            office,
            role: Role::Head,
            official: "bondar-a",
            token: token.0.clone(),
            csrf: token.1.clone(),
            dice: Dice(7),
            tally: Tally::default(),
        };
        let ok = match step {
            Step::Create | Step::Register => user.register().await.is_some(),
            Step::Resolve => user.resolve().await.is_some(),
            Step::Search => user.search().await.is_some(),
            _ => user.open(None).await.is_some(),
        };
        let said = user.tally.samples.join("; ");
        let absent = !ok && (said.contains(" answered 404") || said.contains(" answered 405"));
        if absent {
            left_out.push(format!("{}: {said}", step.label()));
        } else {
            present.push(step);
            if !ok {
                left_out.push(format!("probe error (the step is kept in the run): {said}"));
            }
        }
    }
    office.steps = present;
    left_out
}

/// The figures of one store's run (of one binary, when several are measured in turn).
struct Run {
    store: String,
    tally: Tally,
    wall: Duration,
    left_out: Vec<String>,
    server: Vec<ServerTime>,
    seeding: Duration,
}

struct Settings {
    cards: usize,
    users: usize,
    steps: usize,
    think: Duration,
}

/// The appliances to measure in turn on one seeded store: HROMADA_BENCH_BINARIES (paths,
/// comma-separated: an A/B of two builds on the same data and minutes apart), or this build's.
fn binaries() -> Vec<Option<PathBuf>> {
    match std::env::var("HROMADA_BENCH_BINARIES") {
        Ok(list) if !list.trim().is_empty() => list
            .split(',')
            .map(|path| Some(PathBuf::from(path.trim())))
            .collect(),
        _ => vec![None],
    }
}

async fn run(store_name: &'static str, database: String, settings: &Settings) -> Vec<Run> {
    let started = Instant::now();
    let store = Store::connect(&database).await.unwrap();
    let seeded = seed(&store, &database, settings.cards).await;
    let seeding = started.elapsed();
    eprintln!(
        "{store_name}: {} cards seeded in {:.1} s",
        settings.cards,
        seeding.as_secs_f64()
    );
    if std::env::var("HROMADA_BENCH_SEED_ONLY").is_ok_and(|v| v == "1") {
        if std::env::var("HROMADA_BENCH_PLANS").is_ok_and(|v| v == "1") {
            print_plans(&store).await;
        }
        store.close().await;
        // The store stays until the bench is stopped (a PostgreSQL cluster goes with it).
        eprintln!("{store_name}: seeded only, in {database}; stop the bench to remove it");
        loop {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    }
    let users: Vec<(Role, &'static str)> = (0..settings.users)
        .map(|n| {
            let role = match n % 5 {
                0 | 1 => Role::Registrar,
                2 => Role::Head,
                _ => Role::Executor,
            };
            (role, official_of(role, n / 5))
        })
        .collect();
    if std::env::var("HROMADA_BENCH_PLANS").is_ok_and(|v| v == "1") {
        print_plans(&store).await;
    }
    let tokens = sessions(&store, &users).await;
    let probe_token = sessions(&store, &[(Role::Head, "bondar-a")])
        .await
        .remove(0);
    store.close().await;
    let city = City::new().await;
    // Moroz reads only the cards that concern her (execution alone), as most executors in a
    // city do: her searches take the people's way alone, where Koval's read the whole council's.
    city.edit(
        "spec/registry/roles.kdl",
        "role \"registrar\" {",
        "role \"executor\" {\n    title \"Виконавець документів\"\n    permissions \"documents-execute\"\n}\nrole \"registrar\" {",
    );
    city.edit(
        "spec/registry/officials.kdl",
        "roles \"social-clerk\"\n    email \"moroz.v",
        "roles \"executor\"\n    email \"moroz.v",
    );
    let mut runs = Vec::new();
    let mut next_resolve = 0;
    for binary in binaries() {
        let store_name = match &binary {
            Some(path) => format!("{store_name} ({})", path.display()),
            None => store_name.to_string(),
        };
        // As `City::start_core`, without its test clock (`--clock-file` is in debug builds only).
        let app = Appliance::start_binary(
            binary.as_deref(),
            &city.root(),
            &city.dir.path().join("data"),
            &[
                "--api-token-file",
                city.token_file.to_str().unwrap(),
                "--database-url",
                &database,
            ],
        );
        app.wait_for("a revision applied", |s| s["ready"] == true);
        let mut office = Office {
            url: app.url.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .pool_max_idle_per_host(256)
                .build()
                .unwrap(),
            seeded: seeded.clone(),
            next_resolve: AtomicUsize::new(next_resolve),
            steps: Vec::new(),
        };
        let left_out = probe(&mut office, &probe_token).await;
        eprintln!(
            "{store_name}: {} users, {} steps each, think {} ms; steps {:?}",
            settings.users,
            settings.steps,
            settings.think.as_millis(),
            office.steps
        );
        let office = Arc::new(office);
        let started = Instant::now();
        let tasks: Vec<_> = users
            .iter()
            .copied()
            .zip(tokens.iter().cloned())
            .enumerate()
            .map(|(n, ((role, official), (token, csrf)))| {
                let office = office.clone();
                let (steps, think) = (settings.steps, settings.think);
                tokio::spawn(async move {
                    let mut user = User {
                        office: &office,
                        role,
                        official,
                        token,
                        csrf,
                        dice: Dice(0x9e37_79b9 + n as u64 * 7_919),
                        tally: Tally::default(),
                    };
                    for _ in 0..steps {
                        // Think time: uniform over twice the mean, so users do not move in step.
                        let pause = think.mul_f64(user.dice.below(2_000) as f64 / 1_000.0);
                        tokio::time::sleep(pause).await;
                        user.step().await;
                    }
                    user.tally
                })
            })
            .collect();
        let mut tally = Tally::default();
        for task in tasks {
            match task.await {
                Ok(t) => tally.merge(t),
                Err(e) => tally.error(Step::Transport, format!("a user's client failed: {e}")),
            }
        }
        let wall = started.elapsed();
        let server = server_times(&app)
            .into_iter()
            .filter(|t| t.route.starts_with("/registry"))
            .collect();
        let log = app.log();
        if tally.errors.values().sum::<usize>() > 0 {
            let lines: Vec<&str> = log.lines().collect();
            eprintln!(
                "{store_name}: the appliance's log ends:\n{}",
                lines[lines.len().saturating_sub(30)..].join("\n")
            );
        }
        let file: String = store_name
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { '-' })
            .collect();
        let kept = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("registry-{file}.log"));
        match std::fs::write(&kept, &log) {
            Ok(()) => eprintln!(
                "{store_name}: the appliance's whole log is in {}",
                kept.display()
            ),
            Err(e) => eprintln!("{store_name}: the appliance's log could not be kept: {e}"),
        }
        drop(app);
        next_resolve = office.next_resolve.load(Ordering::Relaxed);
        runs.push(Run {
            store: store_name,
            tally,
            wall,
            left_out,
            server,
            seeding,
        });
    }
    runs
}

fn report(run: &mut Run, settings: &Settings) {
    let requests: usize = run.tally.times.values().map(Vec::len).sum();
    println!(
        "\n{}: {} cards seeded in {:.0} s; {requests} requests in {:.1} s ({:.1}/s)",
        run.store,
        settings.cards,
        run.seeding.as_secs_f64(),
        run.wall.as_secs_f64(),
        requests as f64 / run.wall.as_secs_f64()
    );
    for line in &run.left_out {
        println!("  not measured — {line}");
    }
    println!(
        "| step | count | p50 ms | p99 ms | max ms | errors | p99 < 50 ms |\n|---|---:|---:|---:|---:|---:|---|"
    );
    let mut steps: Vec<Step> = run.tally.times.keys().copied().collect();
    steps.extend(run.tally.errors.keys().copied());
    steps.sort();
    steps.dedup();
    for step in steps {
        let times = run.tally.times.entry(step).or_default();
        times.sort();
        let errors = run.tally.errors.get(&step).copied().unwrap_or(0);
        let (p50, p99, max) = if times.is_empty() {
            ("–".into(), "–".into(), "–".into())
        } else {
            (
                ms(quantile(times, 0.5)),
                ms(quantile(times, 0.99)),
                ms(*times.last().unwrap()),
            )
        };
        let met = match times.last() {
            None => "",
            Some(_) if quantile(times, 0.99) < Duration::from_millis(50) => "yes",
            _ => "**no**",
        };
        println!(
            "| {} | {} | {p50} | {p99} | {max} | {errors} | {met} |",
            step.label(),
            times.len()
        );
    }
    for sample in &run.tally.samples {
        println!("  error: {sample}");
    }
    support::print_server_times(&run.server);
}

fn main() {
    let quick = std::env::var("HROMADA_BENCH_QUICK").is_ok_and(|v| v == "1");
    let settings = Settings {
        cards: env_usize(
            "HROMADA_BENCH_CARDS",
            if quick { 20_000 } else { 1_000_000 },
        ),
        users: env_usize("HROMADA_BENCH_USERS", if quick { 100 } else { 2_500 }),
        steps: env_usize("HROMADA_BENCH_STEPS", if quick { 2 } else { 4 }),
        think: Duration::from_millis(env_usize(
            "HROMADA_BENCH_THINK_MS",
            if quick { 200 } else { 20_000 },
        ) as u64),
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
    let mut runs = Vec::new();
    if sqlite {
        // HROMADA_BENCH_SEED_ONLY=1 keeps the seeded file, to study plans on it.
        let url = match std::env::var("HROMADA_BENCH_SEED_ONLY").as_deref() {
            Ok("1") => Store::sqlite_url(&dir.keep().join("registry.db")),
            _ => Store::sqlite_url(&dir.path().join("registry.db")),
        };
        runs.extend(runtime.block_on(run("SQLite", url, &settings)));
    }
    if postgres {
        common::postgres::durable();
        match common::postgres::available() {
            Ok(()) => {
                let url = common::postgres::fresh_database_sync();
                runs.extend(runtime.block_on(run("PostgreSQL", url, &settings)));
            }
            Err(why) => println!("PostgreSQL skipped: {why}"),
        }
    }
    println!(
        "\nregistry: {} cards, {} users × {} steps, think {} ms mean; machine: {}",
        settings.cards,
        settings.users,
        settings.steps,
        settings.think.as_millis(),
        support::machine()
    );
    for run in &mut runs {
        report(run, &settings);
    }
}
