//! The registries' exchange end to end (issue 16): two real `hromada serve` nodes of
//! `examples/federation` (release under `cargo bench`), a real clamd given to the receiving node,
//! N registered outgoing letters on gw-core each with a 1 MB PDF signed (detached CMS) by its
//! signer; then senders post the send form, registrars on gw-vodokanal take and register each
//! document as soon as it waits, until every sender's card holds the registration notice.
//!
//! Reported: documents per second (first send to the last registration notice at the sender),
//! per document the time from the send POST to the notice (median, p99), the send POST itself,
//! and each stage's time read from both nodes' exchange tables.
//!
//! `cargo bench --bench exchange`; HROMADA_BENCH_DOCS (200), HROMADA_BENCH_SENDERS (4 clients
//! sending at once), HROMADA_BENCH_REGISTRARS (3 clients polling the waiting list),
//! HROMADA_BENCH_PDF_KB (1024), HROMADA_BENCH_STORE (`sqlite`, the default, or `postgres`).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hromada::store::{NewOfficeSession, Store, parse_time};
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

#[path = "../tests/common/mod.rs"]
mod common;

#[path = "support/mod.rs"]
mod support;

use common::appliance::Appliance;
use common::federation::Federation;
use common::xroad::{start, wait_for_peer_listener};
use support::{env_usize, ms, quantile};

/// The office's session cookie on plain HTTP.
const COOKIE: &str = "hromada-office";
/// The council's registrar, who signs the letters and sends them (gw-core).
const SIGNER: &str = "shevchenko-o";
const SIGNER_SUBJECT: &str =
    "/C=UA/CN=Шевченко Ольга Іванівна/SN=Шевченко/GN=Ольга/serialNumber=TINUA-3241567899";
/// The water utility's registrar, who takes and registers them (gw-vodokanal).
const REGISTRAR: &str = "melnyk-p";

/// What the example federation lacks for an exchange of letters, added to the bench's copy
/// when absent: a document kind for both journals, case indexes and the exchange permission of
/// registrars.
const LETTER: &str = "\ndocument-kind \"letter\" {\n    title \"Лист\"\n    \
                      directions \"incoming\" \"outgoing\"\n}\n";
/// The case of the letters in both participants' case indexes.
const CASE: &str = "01-25";
const PERMISSIONS: &str = "permissions \"documents-register\" \"documents-read\"";

struct Settings {
    docs: usize,
    senders: usize,
    registrars: usize,
    pdf_kb: usize,
    postgres: bool,
}

/// One office client: the node's address, a session of `official`, its CSRF token.
#[derive(Clone)]
struct Office {
    url: String,
    client: reqwest::Client,
    token: String,
    csrf: String,
}

/// An answer as a client reads it.
struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Office {
    async fn open(url: &str, store: &Store, official: &str, n: usize) -> Office {
        let now = Utc::now();
        let token = hromada::portal::session::random_token();
        let csrf = hromada::portal::session::random_token();
        store
            .open_office_session(&NewOfficeSession {
                id: hromada::portal::session::digest(&token),
                official: official.into(),
                subject: format!("bench-{official}-{n}"),
                csrf: csrf.clone(),
                created_at: now,
                expires_at: now + chrono::Duration::hours(12),
            })
            .await
            .unwrap();
        Office {
            url: url.into(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap(),
            token,
            csrf,
        }
    }

    async fn send(&self, what: &str, request: reqwest::RequestBuilder) -> Result<Answer, String> {
        let r = request
            .header("Cookie", format!("{COOKIE}={}", self.token))
            .send()
            .await
            .map_err(|e| format!("{what}: {e}"))?;
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = r.text().await.map_err(|e| format!("{what}: body: {e}"))?;
        Ok(Answer {
            status,
            location,
            body,
        })
    }

    async fn get(&self, path: &str) -> Result<Answer, String> {
        let request = self.client.get(format!("{}{path}", self.url));
        self.send(&format!("GET {path}"), request).await
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Result<Answer, String> {
        let mut form = fields.to_vec();
        form.push(("csrf", &self.csrf));
        let request = self.client.post(format!("{}{path}", self.url)).form(&form);
        self.send(&format!("POST {path}"), request).await
    }

    async fn post_file(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        part: (&str, &str, &str, Vec<u8>),
    ) -> Result<Answer, String> {
        let mut form = reqwest::multipart::Form::new().text("csrf", self.csrf.clone());
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        let (field, name, media, bytes) = part;
        form = form.part(
            field.to_string(),
            reqwest::multipart::Part::bytes(bytes)
                .file_name(name.to_string())
                .mime_str(media)
                .unwrap(),
        );
        let request = self
            .client
            .post(format!("{}{path}", self.url))
            .multipart(form);
        self.send(&format!("POST {path}"), request).await
    }

    /// The card's page and the version its forms carry.
    async fn version(&self, card: &str) -> Result<String, String> {
        let page = expect(self.get(card).await, 200, card)?;
        version_on(&page.body).ok_or_else(|| format!("{card} shows no version"))
    }
}

/// `answer` when its status is `status`, else what went wrong, with the page's gist.
fn expect(answer: Result<Answer, String>, status: u16, what: &str) -> Result<Answer, String> {
    let answer = answer?;
    if answer.status == status {
        return Ok(answer);
    }
    let main = answer.body.split("<main").nth(1).unwrap_or(&answer.body);
    let gist: String = strip_tags(main).chars().take(400).collect();
    Err(format!(
        "{what} answered {} (expected {status}): {}",
        answer.status,
        gist.split_whitespace().collect::<Vec<_>>().join(" ")
    ))
}

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

fn version_on(body: &str) -> Option<String> {
    let marker = r#"name="version" value=""#;
    let rest = &body[body.find(marker)? + marker.len()..];
    rest.split('"').next().map(str::to_string)
}

/// Each `/registry/exchange/received/{id}` the page links, in order.
fn received_ids(body: &str) -> Vec<String> {
    let marker = "/registry/exchange/received/";
    let mut ids = Vec::new();
    for piece in body.split(marker).skip(1) {
        let id: String = piece.chars().take_while(char::is_ascii_digit).collect();
        if !id.is_empty() && !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// A PDF/A of about `kb` KiB, different for each `n`: a content stream of text lines.
fn pdf(n: usize, kb: usize) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n1 0 obj\n<< /Type /Metadata /Subtype /XML >>\nstream\n<x:xmpmeta \
         xmlns:x=\"adobe:ns:meta/\"><rdf:Description pdfaid:part=\"2\" \
         pdfaid:conformance=\"B\"/></x:xmpmeta>\nendstream\nendobj\n2 0 obj\n<< >>\nstream\n"
        .to_vec();
    let mut line = 0usize;
    while out.len() < kb * 1024 {
        out.extend_from_slice(
            format!("BT /F1 10 Tf 40 {} Td (Lyst {n}, ryadok {line}: pro pidhotovku do opaliuvalnoho sezonu) Tj ET\n", 800 - line % 760)
                .as_bytes(),
        );
        line += 1;
    }
    out.extend_from_slice(b"endstream\nendobj\n%%EOF\n");
    out
}

/// The signer's key and certificate, issued by the federation's development CA.
fn signer(root: &Path) -> (PKey<Private>, X509) {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let (key, csr, crt, ext) = (path("s.key"), path("s.csr"), path("s.crt"), path("ext"));
    run(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-utf8",
        "-subj",
        SIGNER_SUBJECT,
        "-keyout",
        &key,
        "-out",
        &csr,
    ]);
    std::fs::write(
        &ext,
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n",
    )
    .unwrap();
    let ca = root.join("pki/ca.crt").display().to_string();
    let ca_key = root.join("dev-keys/ca.key").display().to_string();
    run(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-days",
        "30",
        "-extfile",
        &ext,
        "-out",
        &crt,
    ]);
    let key = PKey::private_key_from_pem(&std::fs::read(&key).unwrap()).unwrap();
    let cert = X509::from_pem(&std::fs::read(&crt).unwrap()).unwrap();
    (key, cert)
}

/// A detached CMS signature of `content`, as `openssl cms -sign -binary` makes it.
fn sign(content: &[u8], key: &PKey<Private>, cert: &X509) -> Vec<u8> {
    CmsContentInfo::sign(
        Some(cert),
        Some(key),
        None,
        Some(content),
        CMSOptions::BINARY | CMSOptions::DETACHED,
    )
    .unwrap()
    .to_der()
    .unwrap()
}

/// Adds what the federation lacks for exchanging letters (see [`LETTER`]) to the copy at `root`.
fn ready_for_letters(root: &Path) {
    let path = root.join("spec/registry.kdl");
    let mut text = std::fs::read_to_string(&path).unwrap();
    if !text.contains("document-kind") {
        text.push_str(LETTER);
    }
    if !text.contains("case-index") {
        let year = Utc::now().format("%Y");
        for participant in ["council", "vodokanal"] {
            text.push_str(&format!(
                "\ncase-index \"{participant}-{year}\" {{\n    participant \"{participant}\"\n    \
                 year {year}\n    case \"{CASE}\" title=\"Листування з підприємствами\" \
                 retention=\"5y\"\n}}\n"
            ));
        }
    }
    if !text.contains("documents-exchange") {
        assert!(text.contains(PERMISSIONS), "the registrar role changed");
        text = text.replacen(
            PERMISSIONS,
            &format!("{PERMISSIONS} \"documents-exchange\""),
            1,
        );
    }
    std::fs::write(&path, text).unwrap();
}

/// A node's store, to open sessions and read the exchange tables.
async fn store_at(url: &str) -> Store {
    Store::connect(url).await.unwrap()
}

/// A plain connection for the exchange tables' times (both backends).
enum Tables {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

type Row = Vec<Option<String>>;

impl Tables {
    async fn connect(url: &str) -> Tables {
        if url.starts_with("sqlite") {
            Tables::Sqlite(sqlx::SqlitePool::connect(url).await.unwrap())
        } else {
            Tables::Postgres(sqlx::PgPool::connect(url).await.unwrap())
        }
    }

    /// The rows of `sql`, whose columns are all text.
    async fn rows(&self, sql: &str) -> Vec<Row> {
        use sqlx::Row as _;
        match self {
            Tables::Sqlite(pool) => sqlx::query(sql)
                .fetch_all(pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .iter()
                .map(|r| (0..r.len()).map(|i| r.get(i)).collect())
                .collect(),
            Tables::Postgres(pool) => sqlx::query(sql)
                .fetch_all(pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .iter()
                .map(|r| (0..r.len()).map(|i| r.get(i)).collect())
                .collect(),
        }
    }

    /// `column 0 → column 1` of `sql`, as times.
    async fn times(&self, sql: &str) -> BTreeMap<String, Vec<Option<DateTime<Utc>>>> {
        self.rows(sql)
            .await
            .into_iter()
            .filter_map(|row| {
                let key = row.first().cloned().flatten()?;
                let times = row[1..]
                    .iter()
                    .map(|t| t.as_deref().and_then(parse_time))
                    .collect();
                Some((key, times))
            })
            .collect()
    }
}

/// A card ready to send: its page and its version.
struct Ready {
    card: String,
    version: String,
}

/// One letter: drafted, its PDF added, signed by its signer (which registers it).
async fn prepare(
    office: &Office,
    n: usize,
    kb: usize,
    signer: &(PKey<Private>, X509),
) -> Result<Ready, String> {
    let summary = format!("Лист {n} про підготовку до опалювального сезону");
    let created = office
        .post(
            "/registry/cards",
            &[
                ("journal", "council-outgoing"),
                ("kind", "letter"),
                ("summary", &summary),
                ("signer", SIGNER),
                ("case_code", CASE),
                ("addressees", "КП «Водоканал»"),
                ("pages", "1"),
            ],
        )
        .await;
    let card = expect(created, 303, "draft")?
        .location
        .ok_or("the draft answered without its address")?;
    let content = pdf(n, kb);
    let signature = sign(&content, &signer.0, &signer.1);
    let version = office.version(&card).await?;
    let added = office
        .post_file(
            &format!("{card}/files"),
            &[("role", "original"), ("version", &version)],
            ("file", "лист.pdf", "application/pdf", content),
        )
        .await;
    expect(added, 303, "the original")?;
    let version = office.version(&format!("{card}/sign")).await?;
    let signed = office
        .post_file(
            &format!("{card}/sign"),
            &[("version", &version)],
            (
                "signature",
                "лист.pdf.p7s",
                "application/pkcs7-signature",
                signature,
            ),
        )
        .await;
    expect(signed, 303, "the signature")?;
    let version = office.version(&card).await?;
    Ok(Ready { card, version })
}

/// What a sender saw of one send.
struct Sent {
    card: String,
    at: DateTime<Utc>,
    took: Duration,
}

/// A registrar's loop: the waiting list, each document waiting taken and its card registered.
async fn registrar(
    office: Office,
    claimed: Arc<Mutex<HashSet<String>>>,
    done: Arc<AtomicBool>,
    errors: Arc<Mutex<Vec<String>>>,
) -> Vec<Duration> {
    let mut took = Vec::new();
    while !done.load(Ordering::SeqCst) {
        let ids = match expect(
            office.get("/registry/exchange/received").await,
            200,
            "waiting",
        ) {
            Ok(page) => received_ids(&page.body),
            Err(e) => {
                errors.lock().unwrap().push(e);
                Vec::new()
            }
        };
        let mine: Vec<String> = {
            let mut claimed = claimed.lock().unwrap();
            ids.into_iter()
                .filter(|id| claimed.insert(id.clone()))
                .collect()
        };
        if mine.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        for id in mine {
            let started = Instant::now();
            if let Err(e) = take_and_register(&office, &id).await {
                errors.lock().unwrap().push(e);
                continue;
            }
            took.push(started.elapsed());
        }
    }
    took
}

async fn take_and_register(office: &Office, id: &str) -> Result<(), String> {
    let taken = office
        .post(
            &format!("/registry/exchange/received/{id}/take"),
            &[("journal", "vodokanal-incoming"), ("kind", "letter")],
        )
        .await;
    let card = expect(taken, 303, "take")?
        .location
        .ok_or("take answered without the card's address")?;
    let version = office.version(&card).await?;
    let registered = office
        .post(&format!("{card}/register"), &[("version", &version)])
        .await;
    expect(registered, 303, "register").map(drop)
}

/// The figures of one run.
struct Run {
    store: &'static str,
    prepared: Duration,
    wall: Duration,
    total: Vec<Duration>,
    posts: Vec<Duration>,
    registering: Vec<Duration>,
    stages: Vec<(&'static str, Vec<Duration>)>,
    errors: Vec<String>,
    server: Vec<(&'static str, Vec<support::ServerTime>)>,
}

async fn run(store_name: &'static str, urls: Option<(String, String)>, s: &Settings) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    ready_for_letters(&fed.root);
    let scanner = common::clamd::shared();
    let (core_data, vodokanal_data) = (dir.path().join("core"), dir.path().join("vodokanal"));
    let (core_url, vodokanal_url) = urls.unwrap_or_else(|| {
        (
            Store::sqlite_url(&core_data.join("hromada.db")),
            Store::sqlite_url(&vodokanal_data.join("hromada.db")),
        )
    });
    let clamd = scanner.tcp_address();
    let database = |url: &str| {
        if s.postgres {
            vec!["--database-url".to_string(), url.to_string()]
        } else {
            Vec::new()
        }
    };
    let mut args = vec!["--clamd".to_string(), clamd];
    args.extend(database(&vodokanal_url));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let vodokanal = start(&fed, &vodokanal_data, "gw-vodokanal", &args);
    wait_for_peer_listener(&vodokanal);
    let args = database(&core_url);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let core = start(&fed, &core_data, "gw-core", &args);
    wait_for_peer_listener(&core);

    let (core_store, vodokanal_store) = (store_at(&core_url).await, store_at(&vodokanal_url).await);
    let mut senders = Vec::new();
    for n in 0..s.senders {
        senders.push(Office::open(&core.url, &core_store, SIGNER, n).await);
    }
    let mut registrars = Vec::new();
    for n in 0..s.registrars {
        registrars.push(Office::open(&vodokanal.url, &vodokanal_store, REGISTRAR, n).await);
    }
    core_store.close().await;
    vodokanal_store.close().await;

    // The letters, prepared by the senders' sessions at once.
    let key = Arc::new(signer(&fed.root));
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = senders
        .iter()
        .cloned()
        .map(|office| {
            let (next, key, docs, kb) = (next.clone(), key.clone(), s.docs, s.pdf_kb);
            tokio::spawn(async move {
                let mut ready = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if n >= docs {
                        return ready;
                    }
                    match prepare(&office, n, kb, &key).await {
                        Ok(r) => ready.push(r),
                        Err(e) => panic!("preparing letter {n} failed: {e}"),
                    }
                }
            })
        })
        .collect();
    let mut cards = Vec::new();
    for task in tasks {
        cards.extend(task.await.unwrap());
    }
    let prepared = started.elapsed();
    eprintln!(
        "{store_name}: {} letters registered on gw-core in {:.1} s",
        cards.len(),
        prepared.as_secs_f64()
    );

    // The run: registrars poll, senders send, the sender's table is watched for the notices.
    let done = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(Mutex::new(Vec::new()));
    let claimed = Arc::new(Mutex::new(HashSet::new()));
    let registrar_tasks: Vec<_> = registrars
        .into_iter()
        .map(|office| {
            tokio::spawn(registrar(
                office,
                claimed.clone(),
                done.clone(),
                errors.clone(),
            ))
        })
        .collect();
    let queue = Arc::new(Mutex::new(cards));
    let first_send = Utc::now();
    let sender_tasks: Vec<_> = senders
        .into_iter()
        .map(|office| {
            let (queue, errors) = (queue.clone(), errors.clone());
            tokio::spawn(async move {
                let mut sent = Vec::new();
                loop {
                    let Some(ready) = queue.lock().unwrap().pop() else {
                        return sent;
                    };
                    let (at, started) = (Utc::now(), Instant::now());
                    let answer = office
                        .post(
                            &format!("{}/send", ready.card),
                            &[
                                ("version", &ready.version),
                                ("purpose", "execution"),
                                ("addressee", "vodokanal"),
                            ],
                        )
                        .await;
                    let took = started.elapsed();
                    match expect(answer, 303, "send") {
                        Ok(_) => sent.push(Sent {
                            card: ready.card,
                            at,
                            took,
                        }),
                        Err(e) => errors.lock().unwrap().push(e),
                    }
                }
            })
        })
        .collect();
    let mut sent = Vec::new();
    for task in sender_tasks {
        sent.extend(task.await.unwrap());
    }
    let core_tables = Tables::connect(&core_url).await;
    let deadline = Instant::now() + Duration::from_secs(120 + 2 * s.docs as u64);
    loop {
        let rows = core_tables
            .rows(
                "SELECT status FROM exchange_sent WHERE status <> 'sent' AND status <> 'delivered'",
            )
            .await;
        if rows.len() >= sent.len() {
            break;
        }
        if Instant::now() > deadline {
            errors.lock().unwrap().push(format!(
                "only {} of {} sent letters came to an end within the deadline",
                rows.len(),
                sent.len()
            ));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    done.store(true, Ordering::SeqCst);
    let mut registering = Vec::new();
    for task in registrar_tasks {
        registering.extend(task.await.unwrap());
    }

    // Per document, from the send POST to the registration notice applied at the sender.
    let vodokanal_tables = Tables::connect(&vodokanal_url).await;
    let notices = core_tables
        .times("SELECT card_id, registered_at FROM exchange_sent WHERE status = 'registered'")
        .await;
    let mut total = Vec::new();
    let mut last = first_send;
    for s in &sent {
        let id = s.card.trim_start_matches("/registry/cards/");
        match notices.get(id).and_then(|t| t[0]) {
            Some(at) => {
                total.push((at - s.at).to_std().unwrap_or_default());
                last = last.max(at);
            }
            None => errors
                .lock()
                .unwrap()
                .push(format!("{id}: no registration notice")),
        }
    }
    let wall = (last - first_send).to_std().unwrap_or_default();
    let stages = stages(&core_tables, &vodokanal_tables).await;
    // What the sender's official sees: the card's page names the addressee's number.
    let shown = core_tables
        .rows("SELECT card_id, registered_number FROM exchange_sent WHERE status = 'registered'")
        .await;
    let viewer = Office::open(&core.url, &store_at(&core_url).await, SIGNER, 99).await;
    for row in shown {
        let (card, number) = (row[0].clone().unwrap(), row[1].clone().unwrap_or_default());
        let page = viewer.get(&format!("/registry/cards/{card}")).await;
        match page {
            Ok(p) if p.body.contains(&number) && !number.is_empty() => {}
            _ => errors.lock().unwrap().push(format!(
                "card {card} does not show the registration number {number}"
            )),
        }
    }
    let server = vec![
        ("gw-core", registry_times(&core)),
        ("gw-vodokanal", registry_times(&vodokanal)),
    ];
    let errors = errors.lock().unwrap().clone();
    if !errors.is_empty() {
        for (name, node) in [("gw-core", &core), ("gw-vodokanal", &vodokanal)] {
            let log = node.log();
            let lines: Vec<&str> = log.lines().collect();
            eprintln!(
                "{name}'s log ends:\n{}",
                lines[lines.len().saturating_sub(30)..].join("\n")
            );
        }
    }
    assert!(core.stop().success());
    assert!(vodokanal.stop().success());
    Run {
        store: store_name,
        prepared,
        wall,
        total,
        posts: sent.iter().map(|s| s.took).collect(),
        registering,
        stages,
        errors,
        server,
    }
}

fn registry_times(node: &Appliance) -> Vec<support::ServerTime> {
    support::server_times(node)
        .into_iter()
        .filter(|t| t.route.starts_with("/registry"))
        .collect()
}

/// Each stage of every document, from the two nodes' exchange tables.
async fn stages(core: &Tables, vodokanal: &Tables) -> Vec<(&'static str, Vec<Duration>)> {
    let queued = core
        .times("SELECT msg_id, queued_at, posted_at FROM exchange_post_out WHERE kind = 'document'")
        .await;
    let stored = vodokanal
        .times("SELECT msg_id, received_at, finished_at FROM exchange_post_in")
        .await;
    let received = vodokanal
        .times("SELECT msg_id, received_at, taken_at, registered_at FROM exchange_received")
        .await;
    let about = core
        .rows("SELECT about_msg_id, notice_msg_id FROM exchange_sent_notices WHERE ack_type = 3")
        .await;
    let notice_out = vodokanal
        .times("SELECT msg_id, queued_at, posted_at FROM exchange_post_out WHERE kind = 'notice'")
        .await;
    let notice_in = core
        .times("SELECT msg_id, received_at, finished_at FROM exchange_post_in")
        .await;
    let span = |from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>| {
        Some((to? - from?).to_std().unwrap_or_default())
    };
    let mut out: Vec<(&'static str, Vec<Duration>)> = [
        "gw-core: queued → posted (poster's poll, the post through both gateways)",
        "gw-vodokanal: stored → handling starts (its poster's poll)",
        "gw-vodokanal: automatic checks (clamd, signatures, formats) and storing",
        "gw-vodokanal: waiting → taken (registrars' poll and take)",
        "gw-vodokanal: taken → registered (the card's page and registration)",
        "gw-vodokanal: notice queued → posted",
        "gw-core: notice stored → applied to the card",
    ]
    .into_iter()
    .map(|name| (name, Vec::new()))
    .collect();
    for row in about {
        let (Some(msg), Some(notice)) = (&row[0], &row[1]) else {
            continue;
        };
        let q = queued.get(msg);
        let st = stored.get(msg);
        let r = received.get(msg);
        let no = notice_out.get(notice);
        let ni = notice_in.get(notice);
        let at = |m: Option<&Vec<Option<DateTime<Utc>>>>, i: usize| m.and_then(|v| v[i]);
        let spans = [
            span(at(q, 0), at(q, 1)),
            span(at(st, 0), at(r, 0)),
            span(at(r, 0), at(st, 1)),
            span(at(st, 1), at(r, 1)),
            span(at(r, 1), at(r, 2)),
            span(at(no, 0), at(no, 1)),
            span(at(ni, 0), at(ni, 1)),
        ];
        for (k, d) in spans.into_iter().enumerate() {
            if let Some(d) = d {
                out[k].1.push(d);
            }
        }
    }
    out
}

fn line(name: &str, times: &mut [Duration]) {
    times.sort();
    if times.is_empty() {
        println!("| {name} | 0 | – | – | – |");
        return;
    }
    println!(
        "| {name} | {} | {} | {} | {} |",
        times.len(),
        ms(quantile(times, 0.5)),
        ms(quantile(times, 0.99)),
        ms(*times.last().unwrap())
    );
}

fn report(run: &mut Run, s: &Settings) {
    println!(
        "\n{}: {} letters of {} KiB prepared (drafted, PDF added, signed) in {:.1} s; sent by {} \
         clients, taken and registered by {}",
        run.store,
        s.docs,
        s.pdf_kb,
        run.prepared.as_secs_f64(),
        s.senders,
        s.registrars
    );
    println!(
        "**{:.2} documents/s** sent → registration notice at the sender ({} in {:.1} s)",
        run.total.len() as f64 / run.wall.as_secs_f64().max(1e-9),
        run.total.len(),
        run.wall.as_secs_f64()
    );
    println!("| per document | count | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|");
    line(
        "**send POST → registration notice at the sender**",
        &mut run.total,
    );
    line("send POST (the form, client's time)", &mut run.posts);
    line(
        "take + register (registrar's client, per document)",
        &mut run.registering,
    );
    for (name, times) in &mut run.stages {
        line(name, times);
    }
    for (n, e) in run.errors.iter().enumerate().take(8) {
        println!("  error {}: {e}", n + 1);
    }
    if run.errors.len() > 8 {
        println!("  … {} errors in all", run.errors.len());
    }
    for (node, times) in &run.server {
        println!("\n{node}:");
        support::print_server_times(times);
    }
}

fn main() {
    let settings = Settings {
        docs: env_usize("HROMADA_BENCH_DOCS", 200),
        senders: env_usize("HROMADA_BENCH_SENDERS", 4).max(1),
        registrars: env_usize("HROMADA_BENCH_REGISTRARS", 3).max(1),
        pdf_kb: env_usize("HROMADA_BENCH_PDF_KB", 1024),
        postgres: match std::env::var("HROMADA_BENCH_STORE").as_deref() {
            Ok("sqlite") | Err(_) => false,
            Ok("postgres") => true,
            Ok(other) => panic!("HROMADA_BENCH_STORE is `sqlite` or `postgres`, not `{other}`"),
        },
    };
    let (name, urls) = if settings.postgres {
        common::postgres::durable();
        if let Err(why) = common::postgres::available() {
            println!("PostgreSQL is not available: {why}");
            return;
        }
        let urls = (
            common::postgres::fresh_database_sync(),
            common::postgres::fresh_database_sync(),
        );
        ("PostgreSQL", Some(urls))
    } else {
        ("SQLite", None)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut run = runtime.block_on(run(name, urls, &settings));
    println!(
        "\nexchange: {} letters with a {} KiB signed PDF each, gw-core → gw-vodokanal (clamd), \
         {name}; machine: {}",
        settings.docs,
        settings.pdf_kb,
        support::machine()
    );
    report(&mut run, &settings);
}
