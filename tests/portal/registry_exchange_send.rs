//! Sending a registered outgoing document to other participants' registries through `hromada
//! serve` (issue 16; 002 §3.1–3.3; КМУ №55 п.22–28): one СЕВ ОВВ message per addressee, each
//! valid against `Header.xsd` with every file's signature checked by `openssl cms`; refusals
//! of what may not be sent; the addressees' notices on the card; п.24's 6 hours on a moved
//! clock. The notices are stored as the transport stores them and applied by `apply_notice`.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use hromada::compile::{Compiled, compile};
use hromada::identity::Revision;
use hromada::registry::exchange::send::notices::apply_notice;
use hromada::registry::exchange::sev::{
    self, AckResult, AckType, Acknowledgement, Body, Envelope, Purpose, RegNumber, SevTime,
};
use hromada::store::{CardChange, CardRow, SentRow, Store};
use serde_json::Value;
use uuid::Uuid;

use crate::common::city::City;
use crate::portal::{BONDAR, Browser, LYSENKO, Page, Portal, SAVCHENKO};
use crate::registry_cards::{
    add_file, card_of, official_signature, pdf_a, upload_signature, version_on,
};

/// An exchange service received by the registry's subsystem (no upstream: the registry on the
/// participant's node stores what is posted to it).
const EXCHANGE_SERVICE: &str = r#"
    service "sev" subsystem="registry" exchange="sev" {
        title "Обмін електронними документами"
        description "Приймання документів і сповіщень про них від реєстрів інших учасників"
        operation "POST" "/messages"
        response {
            field "msg_id" type="string"
            field "received_at" type="string"
        }
    }
"#;

/// `text` put before the last closing brace of `file` in the city's tree.
fn append_to(city: &City, file: &str, text: &str) {
    let path = city.root().join(file);
    let before = std::fs::read_to_string(&path).unwrap();
    let end = before.rfind('}').unwrap();
    std::fs::write(&path, format!("{}{text}{}", &before[..end], &before[end..])).unwrap();
}

/// The city where the council (the sender), the water utility and the heating company (the
/// addressees, each with a registry of its own on its node) publish exchange services; the
/// legal department, served by the council's registry, publishes none.
fn with_exchange(city: &City) {
    city.edit(
        "spec/system.kdl",
        r#"registry node="gw-core" subsystem="city-council/registry""#,
        "registry node=\"gw-core\" subsystem=\"city-council/registry\"\n    \
         registry node=\"gw-vodokanal\" subsystem=\"vodokanal/registry\"\n    \
         registry node=\"gw-teplo\" subsystem=\"teplomerezhi/registry\"",
    );
    for (file, service, subsystem) in [
        ("spec/participants/vodokanal.kdl", "balance", "billing"),
        ("spec/participants/vodokanal.kdl", "outages", "billing"),
        ("spec/participants/teplomerezhi.kdl", "accounts", "zbut"),
    ] {
        city.edit(
            file,
            &format!("service \"{service}\" {{"),
            &format!("service \"{service}\" subsystem=\"{subsystem}\" {{"),
        );
    }
    append_to(city, "spec/participants/city-council.kdl", EXCHANGE_SERVICE);
    for file in [
        "spec/participants/vodokanal.kdl",
        "spec/participants/teplomerezhi.kdl",
    ] {
        let registry = "\n    subsystem \"registry\" title=\"Система документообігу\"\n";
        append_to(city, file, &format!("{registry}{EXCHANGE_SERVICE}"));
    }
}

fn compiled(root: &Path) -> Compiled {
    let loaded = hromada::spec::load(root);
    let revision = Revision {
        id: "r1".into(),
        content_hash: "hash-r1".into(),
    };
    compile(loaded.spec, revision, None, Default::default()).expect("the city compiles")
}

async fn start(database_url: &Option<String>) -> (Portal, Store) {
    let portal = Portal::start_prepared(&crate::cabinet::on(database_url), with_exchange).await;
    let url = database_url.clone().unwrap_or_else(|| portal.store_url());
    let store = Store::connect(&url).await.unwrap();
    (portal, store)
}

fn has(page: &Page, text: &str) {
    assert!(
        page.body.contains(text),
        "`{text}` is not on {} ({}):\n{}",
        page.url,
        page.status,
        page.body
    );
}

/// An outgoing letter drafted, its original added, signed by Bondar and so registered: its id.
async fn signed_letter(portal: &Portal, bondar: &Browser) -> String {
    let letter = bondar
        .post_form(
            "/registry/cards",
            &[
                ("journal", "council-outgoing"),
                ("kind", "letter"),
                ("summary", "Про підготовку до опалювального сезону"),
                ("case_code", "01-25"),
                ("signer", "bondar-a"),
                (
                    "addressees",
                    "Комунальне підприємство «Водоканал» Запорізької міської ради",
                ),
                ("pages", "1"),
                ("deadline", "2027-01-15"),
            ],
        )
        .await;
    let id = card_of(&letter);
    let added = add_file(bondar, &id, "original", "лист.pdf", pdf_a()).await;
    assert_eq!(added.status, 303, "{}", added.body);
    let signed = official_signature(portal, "3224567810", false, &pdf_a());
    let page = upload_signature(bondar, &id, signed).await;
    assert_eq!(page.status, 303, "{}\n{}", page.body, portal.app.log());
    id
}

async fn send(browser: &Browser, id: &str, to: &[&str], purpose: &str) -> Page {
    let card = browser.get(&format!("/registry/cards/{id}")).await;
    let version = version_on(&card);
    let mut fields = vec![("version", version.as_str()), ("purpose", purpose)];
    fields.extend(to.iter().map(|a| ("addressee", *a)));
    browser
        .post_form(&format!("/registry/cards/{id}/send"), &fields)
        .await
}

/// The messages queued for the transport, as `(msg_id, addressee, xml)`, in queued order.
async fn queued(url: &str) -> Vec<(String, String, Vec<u8>)> {
    let sql = "SELECT msg_id, addressee, xml FROM exchange_post_out ORDER BY id";
    if url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let rows = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let rows = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows
    }
}

fn schema() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/sev/Header.xsd")
}

/// `xml` checked by xmllint against СЕВ ОВВ's schema.
fn valid_against_schema(xml: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("message.xml");
    std::fs::write(&file, xml).unwrap();
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(schema())
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the message does not validate against Header.xsd: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether `openssl cms -verify -binary -content` accepts `signature` over `content` under
/// the city's CA.
fn cms_verifies(portal: &Portal, signature: &[u8], content: &[u8]) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let (sig, doc) = (dir.path().join("doc.p7s"), dir.path().join("doc"));
    std::fs::write(&sig, signature).unwrap();
    std::fs::write(&doc, content).unwrap();
    let ca = portal.city.root().join("pki/ca.crt");
    std::process::Command::new("openssl")
        .args([
            "cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any",
        ])
        .arg("-in")
        .arg(&sig)
        .arg("-content")
        .arg(&doc)
        .arg("-CAfile")
        .arg(&ca)
        .arg("-out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap()
        .status
        .success()
}

/// A notice `ack` from `sender` about `about` stored as the transport stores it, then handled
/// by the appliance's poster, as in production: the received message's id. (Applying it here as
/// well would race the poster, which looks every second.)
async fn notice(
    store: &Store,
    sender: &str,
    about: &Envelope,
    ack: Acknowledgement,
    at: DateTime<Utc>,
) -> i64 {
    let msg_id = Uuid::now_v7();
    let envelope = Envelope::acknowledging(about, ack, msg_id, SevTime::utc(at));
    let xml = sev::write(&envelope);
    let (id, fresh) = store
        .receive_exchange_message("city-council", sender, &msg_id.to_string(), &xml)
        .await
        .unwrap();
    assert!(fresh);
    let mut handling = None;
    for _ in 0..300 {
        handling = store.received_message_handling(id).await.unwrap();
        if handling.as_ref().is_some_and(|h| h.finished_at.is_some()) {
            return id;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the poster did not handle received notice {id} within 30 s: {handling:?}");
}

async fn apply(store: &Store, compiled: &Compiled, id: i64) -> Result<(), String> {
    let message = store.received_exchange_message(id).await.unwrap().unwrap();
    let envelope = sev::read(&message.xml).unwrap();
    apply_notice(store, compiled, &message, envelope)
        .await
        .map_err(|e| e.to_string())
}

fn ack(msg_id: Uuid, ack_type: AckType) -> Acknowledgement {
    Acknowledgement {
        msg_id,
        ack_type,
        reg_number: None,
        results: vec![AckResult {
            errorcode: 0,
            errortext: String::new(),
        }],
        file: None,
    }
}

fn row_to<'a>(rows: &'a [SentRow], addressee: &str) -> &'a SentRow {
    rows.iter()
        .rev()
        .find(|r| r.addressee == addressee)
        .unwrap_or_else(|| panic!("nothing sent to {addressee}: {rows:?}"))
}

async fn sent_and_notices(database_url: Option<String>) {
    let (portal, store) = start(&database_url).await;
    let url = database_url.clone().unwrap_or_else(|| portal.store_url());
    let compiled = compiled(&portal.city.root());
    let bondar = portal.sign_in_official_to(&BONDAR, "/registry").await;
    let id = signed_letter(&portal, &bondar).await;

    // The card offers the form: the participants with an exchange service, the one the card
    // names ticked; not the council itself, not the legal department (no exchange service).
    let card = bondar.get(&format!("/registry/cards/{id}")).await;
    has(&card, "Надсилання");
    has(
        &card,
        r#"id="to-vodokanal" name="addressee" value="vodokanal" checked"#,
    );
    has(&card, r#"value="teplomerezhi">"#);
    assert!(
        !card.body.contains(r#"value="legal-dept""#),
        "{}",
        card.body
    );
    assert!(
        !card.body.contains(r#"value="city-council""#),
        "{}",
        card.body
    );

    let sent = send(&bondar, &id, &["vodokanal", "teplomerezhi"], "execution").await;
    assert_eq!(sent.status, 303, "{}\n{}", sent.body, portal.app.log());
    let messages = queued(&url).await;
    assert_eq!(messages.len(), 2, "one message per addressee");
    let rows = store.exchange_sent_of_card(&id).await.unwrap();
    assert_eq!(rows.len(), 2);
    let card_row = store.card(&id).await.unwrap().unwrap();
    let mut envelopes = Vec::new();
    for (msg_id, addressee, xml) in &messages {
        valid_against_schema(xml);
        let envelope = sev::read(xml).unwrap();
        assert_eq!(envelope.msg_id.to_string(), *msg_id);
        let to = compiled.spec.participant(addressee).unwrap();
        assert_eq!(envelope.to_org_id, to.edrpou);
        assert_eq!(
            envelope.from_org_id,
            compiled.spec.participant("city-council").unwrap().edrpou
        );
        assert_eq!(envelope.from_sys_id, "city-council/registry");
        let Body::Document(document) = &envelope.body else {
            panic!("not a document: {envelope:?}");
        };
        assert_eq!(document.purpose, Purpose::Execution);
        assert_eq!(
            document.reg_number,
            RegNumber {
                number: card_row.reg_number.clone().unwrap(),
                date: NaiveDate::parse_from_str(card_row.reg_date.as_deref().unwrap(), "%Y-%m-%d")
                    .unwrap()
            }
        );
        assert_eq!(
            document.tasks.len(),
            1,
            "sent for execution with a deadline"
        );
        assert_eq!(
            document.tasks[0].executors[0].organization.ogrn.as_str(),
            to.edrpou
        );
        assert_eq!(document.files.len(), 1);
        let file = &document.files[0];
        assert_eq!(file.content, pdf_a());
        let signature = document.signatures_of(&file.idnumber).next().unwrap();
        assert!(cms_verifies(&portal, &signature.sign_data, &file.content));
        let mut flipped = file.content.clone();
        flipped[20] ^= 0x01;
        assert!(
            !cms_verifies(&portal, &signature.sign_data, &flipped),
            "one byte changed must fail the signature"
        );
        envelopes.push((addressee.clone(), envelope));
    }
    assert_ne!(envelopes[0].1.msg_id, envelopes[1].1.msg_id);
    let card = bondar.get(&format!("/registry/cards/{id}")).await;
    has(&card, "Надіслано, очікується сповіщення про доставку");
    has(&card, "на виконання");
    let history = bondar.get(&format!("/registry/cards/{id}/history")).await;
    has(&history, "Надіслано іншому учаснику");

    // The same card to the same addressee again: refused, nothing queued.
    let again = send(&bondar, &id, &["vodokanal"], "information").await;
    assert_eq!(again.status, 409, "{}", again.body);
    has(
        &again,
        "уже надіслано до «Комунальне підприємство «Водоканал»",
    );
    assert_eq!(queued(&url).await.len(), 2);

    let water = &envelopes.iter().find(|(a, _)| a == "vodokanal").unwrap().1;
    let teplo = &envelopes
        .iter()
        .find(|(a, _)| a == "teplomerezhi")
        .unwrap()
        .1;
    let at = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc);

    // Delivered, then registered by the water utility.
    notice(
        &store,
        "vodokanal",
        water,
        ack(water.msg_id, AckType::Delivered),
        at("2026-12-21T10:15:00Z"),
    )
    .await;
    let rows = store.exchange_sent_of_card(&id).await.unwrap();
    assert_eq!(row_to(&rows, "vodokanal").status, "delivered");
    let card = bondar.get(&format!("/registry/cards/{id}")).await;
    has(&card, "Доставлено 21.12.2026 12:15");
    let mut registered = ack(water.msg_id, AckType::Registered);
    registered.reg_number = Some(RegNumber {
        number: "15/207".into(),
        date: NaiveDate::from_ymd_opt(2026, 12, 21).unwrap(),
    });
    notice(
        &store,
        "vodokanal",
        water,
        registered,
        at("2026-12-21T11:00:00Z"),
    )
    .await;
    let card = bondar.get(&format!("/registry/cards/{id}")).await;
    has(&card, "Зареєстровано адресатом за № 15/207 від 21.12.2026");

    // A delivery notice again (another notice, another time): nothing changes.
    let before = store.exchange_sent_of_card(&id).await.unwrap();
    let version = store.card(&id).await.unwrap().unwrap().version;
    let replay = notice(
        &store,
        "vodokanal",
        water,
        ack(water.msg_id, AckType::Delivered),
        at("2026-12-22T08:00:00Z"),
    )
    .await;
    assert_eq!(store.exchange_sent_of_card(&id).await.unwrap(), before);
    assert_eq!(store.card(&id).await.unwrap().unwrap().version, version);
    // The same received notice handed over again: refused by the store, nothing changed.
    assert!(apply(&store, &compiled, replay).await.is_err());
    assert_eq!(store.exchange_sent_of_card(&id).await.unwrap(), before);

    // A notice about a message the council never sent to its sender: ignored and finished.
    let stray = notice(
        &store,
        "teplomerezhi",
        teplo,
        ack(water.msg_id, AckType::Refused),
        at("2026-12-21T11:30:00Z"),
    )
    .await;
    assert_eq!(store.exchange_sent_of_card(&id).await.unwrap(), before);
    let handled = store
        .received_message_handling(stray)
        .await
        .unwrap()
        .unwrap();
    assert!(handled.finished_at.is_some(), "{handled:?}");

    // Refused by the heating company, with its ground, registrar and phone (п.28).
    let mut refused = ack(teplo.msg_id, AckType::Refused);
    refused.results = vec![AckResult {
        errorcode: 0,
        errortext: "Документ надійшов не за належністю\nВідхилив: Ковальчук Ірина Петрівна, тел. +380 61 222 33 44".into(),
    }];
    notice(
        &store,
        "teplomerezhi",
        teplo,
        refused,
        at("2026-12-21T12:05:00Z"),
    )
    .await;
    let card = bondar.get(&format!("/registry/cards/{id}")).await;
    has(&card, "Відхилено 21.12.2026 14:05");
    has(&card, "Підстава: Документ надійшов не за належністю");
    has(
        &card,
        "Відхилив: Ковальчук Ірина Петрівна, тел. +380 61 222 33 44",
    );
    let told = store.case_notices(&id).await.unwrap();
    assert!(
        told.iter()
            .any(|n| n.recipient == "bondar-a" && n.message.contains("відхилив")),
        "{told:?}"
    );

    // After a refusal the card may go to that addressee again: a new message.
    let resent = send(&bondar, &id, &["teplomerezhi"], "information").await;
    assert_eq!(resent.status, 303, "{}", resent.body);
    let messages = queued(&url).await;
    assert_eq!(messages.len(), 3);
    assert_ne!(messages[2].0, teplo.msg_id.to_string());

    // The journal's sent section lists every message with its status.
    let journal = bondar.get("/registry/exchange").await;
    assert_eq!(journal.status, 200, "{}", journal.body);
    has(&journal, "Усього: 3");
    has(&journal, "Зареєстровано адресатом за № 15/207");
    has(&journal, "Підстава: Документ надійшов не за належністю");
    has(&journal, "Концерн «Міські теплові мережі»");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_exchange_send_a_signed_card_goes_to_two_addressees_and_shows_their_notices() {
    sent_and_notices(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_exchange_send_a_signed_card_goes_to_two_addressees_on_postgresql() {
    if let Some(url) = crate::common::postgres::url_or_skip(
        "registry_exchange_send_a_signed_card_goes_to_two_addressees_on_postgresql",
    ) {
        sent_and_notices(Some(url)).await;
    }
}

/// An incoming letter registered in the council's incoming journal: its id.
async fn incoming(store: &Store) -> String {
    let now = Utc::now();
    let id = format!("card-{}", Uuid::now_v7().simple());
    let card = CardRow {
        status: "registered".into(),
        period: Some("2026".into()),
        seq: Some(900),
        reg_number: Some("900".into()),
        reg_date: Some("2026-12-21".into()),
        summary: "Лист про ремонт покрівлі".into(),
        correspondent: Some("ОСББ «Затишок»".into()),
        ..CardRow::draft(
            &id,
            ("city-council", "council-incoming", "incoming"),
            "letter",
            "official:lysenko-t",
            &now,
        )
    };
    let mut tx = store.begin().await.unwrap();
    let change = CardChange {
        before: None,
        after: &card,
        actor: "official:lysenko-t",
        on_behalf: None,
        kind: "registered",
        note: Value::Null,
        at: now,
    };
    assert!(store.write_card(&mut tx, &change).await.unwrap());
    tx.commit().await.unwrap();
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_exchange_send_refuses_what_may_not_be_sent_and_queues_nothing() {
    let (portal, store) = start(&None).await;
    let url = portal.store_url();
    let bondar = portal.sign_in_official_to(&BONDAR, "/registry").await;
    let nothing_sent = |store: Store, url: String| async move {
        assert!(queued(&url).await.is_empty(), "a message was queued");
        let (rows, total) = store
            .exchange_sent_journal("city-council", 0)
            .await
            .unwrap();
        assert_eq!((rows.len(), total), (0, 0));
    };

    // Not registered: a draft outgoing letter.
    let draft = card_of(
        &bondar
            .post_form(
                "/registry/cards",
                &[
                    ("journal", "council-outgoing"),
                    ("kind", "letter"),
                    ("summary", "Чернетка листа"),
                    ("case_code", "01-25"),
                    ("signer", "bondar-a"),
                    ("addressees", "Концерн"),
                    ("pages", "1"),
                ],
            )
            .await,
    );
    let card = bondar.get(&format!("/registry/cards/{draft}")).await;
    assert!(
        !card.body.contains("/send\""),
        "a draft offers no send form"
    );
    let page = send(&bondar, &draft, &["teplomerezhi"], "information").await;
    assert_eq!(page.status, 409, "{}", page.body);
    has(&page, "ще не зареєстровано");

    // Incoming: not ours to send.
    let letter = incoming(&store).await;
    let page = send(&bondar, &letter, &["teplomerezhi"], "information").await;
    assert_eq!(page.status, 409, "{}", page.body);
    has(&page, "лише вихідний документ");

    // Registered and signed, but an annex added after signing carries no signature.
    let id = signed_letter(&portal, &bondar).await;
    let mut other_pdf = pdf_a();
    other_pdf.extend_from_slice(b"% annex\n");
    let annex = add_file(&bondar, &id, "annex", "додаток.pdf", other_pdf).await;
    assert_eq!(annex.status, 303, "{}", annex.body);
    let page = send(&bondar, &id, &["teplomerezhi"], "information").await;
    assert_eq!(page.status, 422, "{}", page.body);
    has(
        &page,
        "Файл «додаток.pdf»: файл не має підпису підписувача чи печатки установи",
    );
    nothing_sent(store.clone(), url.clone()).await;

    // Signed by someone the card does not name: a tamperer rewrote the signer.
    let other = signed_letter(&portal, &bondar).await;
    crate::common::db::execute(
        &url,
        &format!("UPDATE cards SET signer = 'lysenko-t' WHERE id = '{other}'"),
    )
    .await;
    let page = send(&bondar, &other, &["teplomerezhi"], "information").await;
    assert_eq!(page.status, 422, "{}", page.body);
    has(
        &page,
        "Файл «лист.pdf»: підпис «лист.pdf.p7s» зроблено не підписувачем",
    );

    // Addressees: none, one without an exchange service, the council itself, no purpose.
    let fine = signed_letter(&portal, &bondar).await;
    let page = send(&bondar, &fine, &[], "information").await;
    assert_eq!(page.status, 422, "{}", page.body);
    has(&page, "Позначте хоча б одного адресата");
    let page = send(&bondar, &fine, &["legal-dept"], "information").await;
    assert_eq!(page.status, 422, "{}", page.body);
    has(&page, "«legal-dept» не є учасником, що приймає документи");
    let page = send(&bondar, &fine, &["city-council"], "information").await;
    assert_eq!(page.status, 422, "{}", page.body);
    has(&page, "сама собі");
    let page = send(&bondar, &fine, &["teplomerezhi"], "gossip").await;
    assert_eq!(page.status, 422, "{}", page.body);
    has(&page, "Виберіть, для чого надсилається документ");
    nothing_sent(store.clone(), url.clone()).await;

    // An official of the council without the exchange permission may not send; the records
    // clerk, who has it, may.
    let savchenko = portal.sign_in_official_to(&SAVCHENKO, "/registry").await;
    let version = store
        .card(&fine)
        .await
        .unwrap()
        .unwrap()
        .version
        .to_string();
    let page = savchenko
        .post_form(
            &format!("/registry/cards/{fine}/send"),
            &[
                ("version", &version),
                ("purpose", "information"),
                ("addressee", "teplomerezhi"),
            ],
        )
        .await;
    assert_eq!(page.status, 403, "{}", page.body);
    nothing_sent(store.clone(), url.clone()).await;
    let lysenko = portal.sign_in_official_to(&LYSENKO, "/registry").await;
    let page = send(&lysenko, &fine, &["teplomerezhi"], "information").await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(queued(&url).await.len(), 1);
}

async fn not_received(database_url: Option<String>) {
    let (portal, store) = start(&database_url).await;
    let url = database_url.clone().unwrap_or_else(|| portal.store_url());
    let bondar = portal.sign_in_official_to(&BONDAR, "/registry").await;
    let id = signed_letter(&portal, &bondar).await;
    let sent = send(&bondar, &id, &["vodokanal", "teplomerezhi"], "information").await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let rows = store.exchange_sent_of_card(&id).await.unwrap();
    let water = row_to(&rows, "vodokanal").clone();
    let teplo = row_to(&rows, "teplomerezhi").clone();
    // The transport posted the water utility's message an hour later; the heating
    // company's was never posted (counted from its sending).
    crate::common::db::execute(
        &url,
        &format!(
            "UPDATE exchange_post_out SET posted_at = '2026-12-21T10:00:00.000000000Z' \
             WHERE msg_id = '{}'",
            water.msg_id
        ),
    )
    .await;

    // 6 h 30 min after sending: the heating company's counts as not received, the water
    // utility's (posted 5 h 30 min ago) does not, in the same sweep.
    portal.city.set_time("2026-12-21T15:30:00Z");
    wait_for_status(&store, &id, &teplo.msg_id, "not-received").await;
    assert_eq!(
        row_to(
            &store.exchange_sent_of_card(&id).await.unwrap(),
            "vodokanal"
        )
        .status,
        "sent"
    );
    let card = bondar.get(&format!("/registry/cards/{id}")).await;
    has(
        &card,
        "Не отримано: сповіщення про доставку не надійшло протягом 6 годин",
    );
    let told = store.case_notices(&id).await.unwrap();
    assert!(
        told.iter()
            .any(|n| n.recipient == "bondar-a" && n.message.contains("вважається не отриманим")),
        "{told:?}"
    );
    let mail = store
        .mail_status(&format!(
            "registry:exchange/{}/not-received/official:bondar-a",
            teplo.msg_id
        ))
        .await
        .unwrap();
    assert!(mail.is_some(), "the sender gets a mail too");
    let history = bondar.get(&format!("/registry/cards/{id}/history")).await;
    has(&history, "Не отримано адресатом (п.24)");

    // Past 6 hours of its posting, the water utility's too.
    portal.city.set_time("2026-12-21T16:01:00Z");
    wait_for_status(&store, &id, &water.msg_id, "not-received").await;

    // A delivery notice that comes late still counts: the document was delivered.
    let envelope = sev::read(
        &queued(&url)
            .await
            .into_iter()
            .find(|(m, _, _)| *m == water.msg_id)
            .unwrap()
            .2,
    )
    .unwrap();
    let at = DateTime::parse_from_rfc3339("2026-12-21T16:30:00Z")
        .unwrap()
        .with_timezone(&Utc);
    notice(
        &store,
        "vodokanal",
        &envelope,
        ack(envelope.msg_id, AckType::Delivered),
        at,
    )
    .await;
    assert_eq!(
        row_to(
            &store.exchange_sent_of_card(&id).await.unwrap(),
            "vodokanal"
        )
        .status,
        "delivered"
    );
}

async fn wait_for_status(store: &Store, card: &str, msg_id: &str, status: &str) {
    for _ in 0..300 {
        let rows = store.exchange_sent_of_card(card).await.unwrap();
        if rows
            .iter()
            .any(|r| r.msg_id == msg_id && r.status == status)
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "message {msg_id} did not become {status} within 30 s: {:?}",
        store.exchange_sent_of_card(card).await.unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_exchange_send_without_a_delivery_notice_in_6_hours_it_is_not_received() {
    not_received(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_exchange_send_not_received_on_postgresql() {
    if let Some(url) =
        crate::common::postgres::url_or_skip("registry_exchange_send_not_received_on_postgresql")
    {
        not_received(Some(url)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_exchange_send_the_form_and_statuses_in_a_browser() {
    let (portal, store) = start(&None).await;
    let bondar = portal.sign_in_official_to(&BONDAR, "/registry").await;
    let id = signed_letter(&portal, &bondar).await;
    let sent = send(&bondar, &id, &["teplomerezhi"], "information").await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let (_, _, xml) = queued(&portal.store_url()).await.remove(0);
    let envelope = sev::read(&xml).unwrap();
    let mut refused = ack(envelope.msg_id, AckType::Refused);
    refused.results[0].errortext = "Документ надійшов не за належністю\nВідхилив: Ковальчук Ірина \
                                    Петрівна, тел. +380 61 222 33 44"
        .into();
    notice(&store, "teplomerezhi", &envelope, refused, Utc::now()).await;
    let official = serde_json::json!({
        "login": BONDAR.account.sub, "password": "any", "id": BONDAR.id,
    });
    let Some(pages) = crate::browser::audited(
        &portal,
        "registry-exchange.mjs",
        vec![("OFFICIAL", official.to_string()), ("CARD", id.clone())],
    )
    .await
    else {
        return;
    };
    assert!(
        pages.iter().any(|p| p.ends_with("/registry/exchange")),
        "the journal was not audited: {pages:?}"
    );
}

/// A decision the engine issued and sealed with `sealer`'s seal, registered in the council's
/// outgoing journal as the engine writes such cards: its id.
async fn sealed_decision(portal: &Portal, store: &Store, sealer: &str, seq: i64) -> String {
    let now = Utc::now();
    let id = format!("card-{}", Uuid::now_v7().simple());
    let pdf = pdf_a();
    let seal = crate::delivery::seal(&portal.city.root(), sealer, &pdf);
    let card = CardRow {
        status: "registered".into(),
        period: Some("2026".into()),
        seq: Some(seq),
        reg_number: Some(format!("01-25/{seq}")),
        reg_date: Some("2026-12-21".into()),
        summary: "Рішення про надання матеріальної допомоги".into(),
        signer: Some("Виконавчий комітет (автоматично)".into()),
        source: "engine".into(),
        ..CardRow::draft(
            &id,
            ("city-council", "council-outgoing", "outgoing"),
            "decision",
            "engine",
            &now,
        )
    };
    let mut tx = store.begin().await.unwrap();
    let change = CardChange {
        before: None,
        after: &card,
        actor: "engine",
        on_behalf: None,
        kind: "registered",
        note: Value::Null,
        at: now,
    };
    assert!(store.write_card(&mut tx, &change).await.unwrap());
    for (role, name, media, content) in [
        ("original", "рішення.pdf", "application/pdf", &pdf),
        (
            "signature",
            "рішення.pdf.p7s",
            "application/pkcs7-signature",
            &seal,
        ),
    ] {
        let file = hromada::store::NewCardFile {
            role,
            file_name: name,
            media_type: media,
            content,
        };
        store
            .add_card_file(&mut tx, &id, &file, "engine", now)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_exchange_send_a_document_sealed_by_its_participant_goes_with_its_seal() {
    let (portal, store) = start(&None).await;
    let url = portal.store_url();
    let bondar = portal.sign_in_official_to(&BONDAR, "/registry").await;

    // Sealed by another participant's seal: not the council's, refused.
    let foreign = sealed_decision(&portal, &store, "vodokanal", 700).await;
    let page = send(&bondar, &foreign, &["teplomerezhi"], "information").await;
    assert_eq!(page.status, 422, "{}", page.body);
    has(
        &page,
        "Файл «рішення.pdf»: файл не має підпису підписувача чи печатки установи",
    );
    assert!(queued(&url).await.is_empty());

    let id = sealed_decision(&portal, &store, "city-council", 701).await;
    let page = send(&bondar, &id, &["teplomerezhi"], "information").await;
    assert_eq!(page.status, 303, "{}", page.body);
    let (_, _, xml) = queued(&url).await.remove(0);
    valid_against_schema(&xml);
    let envelope = sev::read(&xml).unwrap();
    let Body::Document(document) = &envelope.body else {
        panic!("not a document");
    };
    assert_eq!(document.purpose, Purpose::Information);
    assert!(
        document.tasks.is_empty(),
        "no tasks when sent for information"
    );
    let file = &document.files[0];
    let signature = document.signatures_of(&file.idnumber).next().unwrap();
    let seal_cert = std::fs::read(portal.city.root().join("pki/seals/city-council.crt")).unwrap();
    let pem = openssl::x509::X509::from_pem(&seal_cert).unwrap();
    assert_eq!(
        signature.certificate.as_deref(),
        Some(pem.to_der().unwrap().as_slice()),
        "the seal's certificate travels beside it"
    );
    assert!(cms_verifies(&portal, &signature.sign_data, &file.content));
}
