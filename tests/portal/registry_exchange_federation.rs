//! The exchange end to end on two real nodes of `examples/federation`, driven over HTTP as the
//! registrars work (sign-in, forms with CSRF), with a real clamd on both nodes: a signed letter
//! sent, taken and registered; each automatic refusal ground; a refusal by hand; a crash.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use hromada::registry::exchange::receive::grounds::Ground;
use hromada::registry::exchange::sev::{
    self, AckType, Acknowledgement, Body, Document, Envelope, RegNumber,
};
use hromada::store::{MessageKind, OutgoingMessage, ReceivedRow, ReceivedSection, SentRow, Store};

use crate::common::appliance::Appliance;
use crate::common::clamd;
use crate::common::federation::Federation;
use crate::common::oidc::{Account, Client, Provider};
use crate::common::xroad::{start, wait_for_peer_listener};
use crate::portal::{Browser, OfficialAccount, Page, sign_in_official_at};
use crate::registry_cards::{add_file, card_of, pdf_a, register, upload_signature, version_on};

const CLIENT_ID: &str = "federation-registries";
const CLIENT_SECRET: &str = "federation-registries-secret-5c1e";
const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/sev/Header.xsd");

/// The council's registrar (examples/federation's `shevchenko-o`), who also signs its letters.
const SHEVCHENKO: OfficialAccount = OfficialAccount {
    id: "shevchenko-o",
    account: Account {
        sub: "shevchenko-fed-41c2",
        rnokpp: "3241567899",
        family_name: "Шевченко",
        given_name: "Ольга",
        middle_name: "Іванівна",
        email: "shevchenko.o@shchaslyve.example",
    },
};

/// The water utility's registrar (`melnyk-p`).
const MELNYK: OfficialAccount = OfficialAccount {
    id: "melnyk-p",
    account: Account {
        sub: "melnyk-fed-93ad",
        rnokpp: "2987654320",
        family_name: "Мельник",
        given_name: "Петро",
        middle_name: "Андрійович",
        email: "melnyk.p@vodokanal.shchaslyve.example",
    },
};

/// Both nodes with sign-in pointed at a real OpenID provider and clamd given by `--clamd`.
struct Nodes {
    dir: tempfile::TempDir,
    fed: Federation,
    core: Option<Appliance>,
    vodokanal: Option<Appliance>,
    provider: Provider,
}

impl Nodes {
    async fn start() -> Nodes {
        Nodes::start_with(&clamd::shared().tcp_address()).await
    }

    /// As [`start`](Self::start), gw-vodokanal given `vodokanal_clamd` as its scanner.
    async fn start_with(vodokanal_clamd: &str) -> Nodes {
        let clamd = clamd::shared().tcp_address();
        let dir = tempfile::tempdir().unwrap();
        let fed = Federation::new(dir.path()).await;
        // The nodes run on the real clock: the example's nomenclature moved to this year.
        let year = chrono::Datelike::year(&chrono::Utc::now());
        for participant in ["council", "vodokanal"] {
            let index = format!("    participant \"{participant}\"\n    year ");
            fed.edit(
                "spec/registry.kdl",
                &format!("{index}2026\n"),
                &format!("{index}{year}\n"),
            );
        }
        let reserved = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = reserved.local_addr().unwrap().port();
        let secret = fed.root.join("dev-keys/sign-in/client-secret");
        std::fs::create_dir_all(secret.parent().unwrap()).unwrap();
        std::fs::write(&secret, CLIENT_SECRET).unwrap();
        fed.edit(
            "spec/system.kdl",
            "    trust-anchor \"dev-ca\" cert=\"pki/ca.crt\"\n",
            &format!(
                "    trust-anchor \"dev-ca\" cert=\"pki/ca.crt\"\n    sign-in {{\n        \
                 issuer \"http://127.0.0.1:{port}\"\n        client-id \"{CLIENT_ID}\"\n        \
                 client-secret-file \"sign-in/client-secret\"\n        claims rnokpp=\"drfocode\" \
                 edrpou=\"edrpoucode\" family-name=\"lastname\" given-name=\"givenname\" \
                 middle-name=\"middlename\" email=\"email\"\n    }}\n"
            ),
        );
        let vodokanal = start(
            &fed,
            &dir.path().join("vodokanal"),
            "gw-vodokanal",
            &["--clamd", vodokanal_clamd],
        );
        wait_for_peer_listener(&vodokanal);
        let core = start(
            &fed,
            &dir.path().join("core"),
            "gw-core",
            &["--clamd", &clamd],
        );
        wait_for_peer_listener(&core);
        drop(reserved);
        let provider = Provider::start(
            port,
            &[SHEVCHENKO.account, MELNYK.account],
            &[Client {
                id: CLIENT_ID.into(),
                secret: CLIENT_SECRET.into(),
                redirect_uris: [&core, &vodokanal]
                    .map(|n| format!("{}/sign-in/callback", n.url))
                    .to_vec(),
            }],
        );
        Nodes {
            dir,
            fed,
            core: Some(core),
            vodokanal: Some(vodokanal),
            provider,
        }
    }

    fn core(&self) -> &Appliance {
        self.core.as_ref().expect("gw-core runs")
    }

    /// Starts node `node` again on its data, after a stop or a crash.
    fn restart(&mut self, node: &str) {
        let (data, name, clamd) = (self.data(node), format!("gw-{node}"), clamd::shared());
        let appliance = start(&self.fed, &data, &name, &["--clamd", &clamd.tcp_address()]);
        wait_for_peer_listener(&appliance);
        *if node == "core" {
            &mut self.core
        } else {
            &mut self.vodokanal
        } = Some(appliance);
    }

    fn vodokanal(&self) -> &Appliance {
        self.vodokanal.as_ref().expect("gw-vodokanal runs")
    }

    fn data(&self, node: &str) -> PathBuf {
        self.dir.path().join(node)
    }

    async fn store(&self, node: &str) -> Store {
        Store::connect(&Store::sqlite_url(&self.data(node).join("hromada.db")))
            .await
            .unwrap()
    }

    async fn shevchenko(&self) -> Browser {
        sign_in_official_at(self.core(), &self.provider, &SHEVCHENKO, "/registry").await
    }

    async fn melnyk(&self) -> Browser {
        sign_in_official_at(self.vodokanal(), &self.provider, &MELNYK, "/registry").await
    }

    fn logs(&self) -> String {
        let log = |n: &Option<Appliance>| n.as_ref().map(|n| n.log()).unwrap_or_default();
        format!(
            "--- gw-core:\n{}\n--- gw-vodokanal:\n{}",
            log(&self.core),
            log(&self.vodokanal)
        )
    }
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

/// A key and certificate for `rnokpp` issued by the federation's CA (or, `untrusted`, by
/// itself), as `(key, cert)` files in `dir`.
fn signer(fed: &Federation, dir: &Path, rnokpp: &str, untrusted: bool) -> (PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let (key, csr, crt) = (dir.join("o.key"), dir.join("o.csr"), dir.join("o.crt"));
    let s = |p: &Path| p.display().to_string();
    let (key_s, csr_s, crt_s) = (s(&key), s(&csr), s(&crt));
    let subject = format!(
        "/C=UA/CN=Шевченко Ольга Іванівна/SN=Шевченко/GN=Ольга/serialNumber=TINUA-{rnokpp}"
    );
    let new_key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-utf8",
        "-subj",
        &subject,
        "-keyout",
    ];
    if untrusted {
        let mut args = vec!["req", "-x509", "-days", "30"];
        args.extend(new_key);
        args.extend([key_s.as_str(), "-out", crt_s.as_str()]);
        run(&args);
        return (key, crt);
    }
    let mut args = vec!["req", "-new"];
    args.extend(new_key);
    args.extend([key_s.as_str(), "-out", csr_s.as_str()]);
    run(&args);
    let ext = dir.join("ext.cnf");
    std::fs::write(
        &ext,
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        &s(&csr),
        "-CA",
        &s(&fed.root.join("pki/ca.crt")),
        "-CAkey",
        &s(&fed.root.join("dev-keys/ca.key")),
        "-CAcreateserial",
        "-days",
        "30",
        "-extfile",
        &s(&ext),
        "-out",
        &s(&crt),
    ]);
    (key, crt)
}

/// A detached DER CMS signature of `content` by the signer `(key, cert)`.
fn sign(content: &[u8], (key, crt): &(PathBuf, PathBuf)) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("doc"), dir.path().join("doc.p7s"));
    std::fs::write(&input, content).unwrap();
    let out = Command::new("openssl")
        .args(["cms", "-sign", "-binary", "-outform", "DER", "-in"])
        .arg(&input)
        .arg("-signer")
        .arg(crt)
        .arg("-inkey")
        .arg(key)
        .arg("-out")
        .arg(&output)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(output).unwrap()
}

/// Whether `openssl cms -verify -binary -content` accepts `signature` over `content` under the
/// federation's CA.
fn cms_verifies(fed: &Federation, signature: &[u8], content: &[u8]) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let (sig, doc) = (dir.path().join("doc.p7s"), dir.path().join("doc"));
    std::fs::write(&sig, signature).unwrap();
    std::fs::write(&doc, content).unwrap();
    Command::new("openssl")
        .args([
            "cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any",
        ])
        .arg("-in")
        .arg(&sig)
        .arg("-content")
        .arg(&doc)
        .arg("-CAfile")
        .arg(fed.root.join("pki/ca.crt"))
        .arg("-out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap()
        .status
        .success()
}

/// `xml` checked by xmllint against СЕВ ОВВ's schema, in place.
fn valid_against_schema(what: &str, xml: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("message.xml");
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("xmllint")
        .args(["--noout", "--schema", SCHEMA])
        .arg(&file)
        .output()
        .expect("xmllint runs (Debian's libxml2-utils)");
    assert!(
        out.status.success(),
        "{what} does not validate against Header.xsd: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every message a node queued or received, as `(msg_id, xml)`.
async fn messages(data: &Path) -> Vec<(String, Vec<u8>)> {
    let url = Store::sqlite_url(&data.join("hromada.db"));
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let mut all: Vec<(String, Vec<u8>)> =
        sqlx::query_as("SELECT msg_id, xml FROM exchange_post_out")
            .fetch_all(&pool)
            .await
            .unwrap();
    let received: Vec<(String, Vec<u8>)> =
        sqlx::query_as("SELECT msg_id, xml FROM exchange_post_in")
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    all.extend(received);
    all
}

/// Polls `check` every 100 ms until it answers Some, for at most 30 s.
async fn within_30s<T, F, Fut>(what: &str, nodes: &Nodes, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{what}: not within 30 s\n{}",
            nodes.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An outgoing letter to the water utility drafted by Shevchenko, `content` added as its
/// original, signed by her and so registered: its id.
async fn registered_letter(
    nodes: &Nodes,
    shevchenko: &Browser,
    who: &(PathBuf, PathBuf),
    summary: &str,
    content: &[u8],
) -> String {
    let letter = shevchenko
        .post_form(
            "/registry/cards",
            &[
                ("journal", "council-outgoing"),
                ("kind", "letter"),
                ("summary", summary),
                ("case_code", "01-25"),
                ("signer", SHEVCHENKO.id),
                ("addressees", "Комунальне підприємство «Водоканал»"),
                ("pages", "1"),
            ],
        )
        .await;
    assert_eq!(letter.status, 303, "{}\n{}", letter.body, nodes.logs());
    let id = card_of(&letter);
    let added = add_file(shevchenko, &id, "original", "лист.pdf", content.to_vec()).await;
    assert_eq!(added.status, 303, "{}", added.body);
    let signed = upload_signature(shevchenko, &id, sign(content, who)).await;
    assert_eq!(signed.status, 303, "{}\n{}", signed.body, nodes.logs());
    id
}

/// Sends card `id` to the water utility through the card's form: the message's id.
async fn send(nodes: &Nodes, shevchenko: &Browser, id: &str) -> String {
    let card = shevchenko.get(&format!("/registry/cards/{id}")).await;
    let version = version_on(&card);
    let sent = shevchenko
        .post_form(
            &format!("/registry/cards/{id}/send"),
            &[
                ("version", version.as_str()),
                ("purpose", "information"),
                ("addressee", "vodokanal"),
            ],
        )
        .await;
    assert_eq!(sent.status, 303, "{}\n{}", sent.body, nodes.logs());
    let store = nodes.store("core").await;
    let rows = store.exchange_sent_of_card(id).await.unwrap();
    store.close().await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    rows[0].msg_id.clone()
}

/// The received document `msg_id` on gw-vodokanal once its automatic checks are done.
async fn received_there(nodes: &Nodes, msg_id: &str) -> ReceivedRow {
    let store = nodes.store("vodokanal").await;
    let row = within_30s("the document handled on gw-vodokanal", nodes, || async {
        let message = store
            .received_exchange_message_by("vodokanal", "council", msg_id)
            .await
            .unwrap()?;
        let handling = store.received_message_handling(message.id).await.unwrap()?;
        handling.finished_at?;
        store.received_document(message.id).await.unwrap()
    })
    .await;
    store.close().await;
    row
}

/// The council's row of `msg_id` once its status is `status`.
async fn sent_status(nodes: &Nodes, card: &str, msg_id: &str, status: &str) -> SentRow {
    let store = nodes.store("core").await;
    let row = within_30s(&format!("{msg_id} {status} on gw-core"), nodes, || async {
        store
            .exchange_sent_of_card(card)
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.msg_id == msg_id && r.status == status)
    })
    .await;
    store.close().await;
    row
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_exchange_federation_a_signed_letter_is_sent_delivered_and_registered() {
    let nodes = Nodes::start().await;
    let keys = tempfile::tempdir().unwrap();
    let who = signer(&nodes.fed, keys.path(), SHEVCHENKO.account.rnokpp, false);
    let shevchenko = nodes.shevchenko().await;
    let pdf = pdf_a();
    let id = registered_letter(
        &nodes,
        &shevchenko,
        &who,
        "Про графік промивання мереж",
        &pdf,
    )
    .await;
    let msg_id = send(&nodes, &shevchenko, &id).await;

    // On gw-vodokanal it waits among the received documents.
    let row = received_there(&nodes, &msg_id).await;
    assert_eq!(row.status, "received", "{row:?}");
    let melnyk = nodes.melnyk().await;
    let list = melnyk.get("/registry/exchange/received").await;
    assert_eq!(list.status, 200, "{}", list.body);
    has(&list, "Про графік промивання мереж");
    let path = format!("/registry/exchange/received/{}", row.id);
    let page = melnyk.get(&path).await;
    has(&page, "Підпис чинний");

    // The file as received: its signature verifies with openssl, and fails with a byte flipped.
    let there = nodes.store("vodokanal").await;
    let message = there
        .received_exchange_message_by("vodokanal", "council", &msg_id)
        .await
        .unwrap()
        .unwrap();
    let Body::Document(document) = sev::read(&message.xml).unwrap().body else {
        panic!("not a document");
    };
    let file = &document.files[0];
    assert_eq!(file.content, pdf);
    let signature = document.signatures_of(&file.idnumber).next().unwrap();
    assert!(cms_verifies(
        &nodes.fed,
        &signature.sign_data,
        &file.content
    ));
    let mut flipped = file.content.clone();
    flipped[20] ^= 0x01;
    assert!(!cms_verifies(&nodes.fed, &signature.sign_data, &flipped));
    // The same as the registrar downloads them.
    let (status, _, downloaded) = melnyk.get_bytes(&format!("{path}/files/1")).await;
    assert_eq!((status, &downloaded), (200, &pdf));
    let (status, _, der) = melnyk
        .get_bytes(&format!("{path}/files/1/signatures/1"))
        .await;
    assert_eq!(status, 200);
    assert!(cms_verifies(&nodes.fed, &der, &downloaded));

    // Taken: the council's card shows it delivered, with a time.
    let taken = melnyk
        .post_form(
            &format!("{path}/take"),
            &[("journal", "vodokanal-incoming"), ("kind", "letter")],
        )
        .await;
    assert_eq!(taken.status, 303, "{}\n{}", taken.body, nodes.logs());
    let delivered = sent_status(&nodes, &id, &msg_id, "delivered").await;
    assert!(delivered.delivered_at.is_some(), "{delivered:?}");
    let card = shevchenko.get(&format!("/registry/cards/{id}")).await;
    has(&card, "Доставлено ");
    // Taken again (a double submit): refused, no second card, no second delivery notice.
    let again = melnyk
        .post_form(
            &format!("{path}/take"),
            &[("journal", "vodokanal-incoming"), ("kind", "letter")],
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.body);

    // Registered: the utility's number and date on the council's card.
    let incoming = taken.location.clone().unwrap();
    let incoming_id = incoming.trim_start_matches("/registry/cards/");
    let registered = register(&melnyk, incoming_id).await;
    assert_eq!(
        registered.status,
        303,
        "{}\n{}",
        registered.body,
        nodes.logs()
    );
    let ours = there.card(incoming_id).await.unwrap().unwrap();
    let number = ours.reg_number.clone().unwrap();
    assert!(number.starts_with("В-"), "{number}");
    let row = sent_status(&nodes, &id, &msg_id, "registered").await;
    assert_eq!(row.registered_number.as_deref(), Some(number.as_str()));
    assert_eq!(row.registered_date, ours.reg_date);
    let card = shevchenko.get(&format!("/registry/cards/{id}")).await;
    has(
        &card,
        &format!("Зареєстровано адресатом за № {number} від "),
    );
    there.close().await;
    has(
        &melnyk
            .get("/registry/exchange/received?section=registered")
            .await,
        &number,
    );
    let journal = shevchenko.get("/registry/exchange").await;
    assert_eq!(journal.status, 200, "{}", journal.body);
    has(&journal, &format!("№ {number}"));

    // Every message that crossed, on both sides, is valid СЕВ ОВВ: the document and its
    // delivery and registration notices.
    let mut kinds = Vec::new();
    for node in ["core", "vodokanal"] {
        for (msg, xml) in messages(&nodes.data(node)).await {
            valid_against_schema(&format!("{msg} on {node}"), &xml);
            let envelope: Envelope = sev::read(&xml).unwrap();
            kinds.push(envelope.body.acknowledgement().map(|a| a.ack_type));
        }
    }
    for wanted in [None, Some(AckType::Delivered), Some(AckType::Registered)] {
        assert_eq!(
            kinds.iter().filter(|k| **k == wanted).count(),
            2,
            "each message once on each side: {kinds:?}"
        );
    }

    // Both nodes' message logs hold the exchanges: the document one way, two notices back.
    for (node, name) in [("core", "gw-core"), ("vodokanal", "gw-vodokanal")] {
        let store = nodes.store(node).await;
        let records = store.message_log(name, 0, 10_000).await.unwrap();
        store.close().await;
        let exchanges: Vec<_> = records
            .iter()
            .map(|r| hromada::store::Exchange::from_log_entry(&r.entry).unwrap())
            .filter(|e| e.provider.as_deref().is_some_and(|p| p.ends_with("/sev")))
            .collect();
        assert_eq!(exchanges.len(), 3, "{name}: {exchanges:?}");
        assert!(
            exchanges
                .iter()
                .any(|e| e.issue.as_deref() == Some(msg_id.as_str())),
            "{name}: {exchanges:?}"
        );
    }

    // The same letter again under a new message id (booked by the council against another
    // card, as a sender's faulty system might): recognised as received again and refused at
    // once on that ground; the council's first message stays registered.
    let mut repeated = queued_envelope(&nodes, &msg_id).await;
    repeated.msg_id = uuid::Uuid::now_v7();
    let other = registered_letter(&nodes, &shevchenko, &who, "Інший лист", &pdf).await;
    queue_by_hand(&nodes, &other, &repeated).await;
    let repeated_id = repeated.msg_id.to_string();
    let row = received_there(&nodes, &repeated_id).await;
    assert_eq!(row.status, "refused", "{row:?}");
    assert_eq!(row.ground_code, Some(Ground::ReceivedAgain.code()));
    assert_eq!(row.card_id, None);
    sent_status(&nodes, &other, &repeated_id, "refused").await;
    let store = nodes.store("core").await;
    let rows = store.exchange_sent_of_card(&id).await.unwrap();
    store.close().await;
    let first = rows.iter().find(|r| r.msg_id == msg_id).unwrap();
    assert_eq!(first.status, "registered", "{rows:?}");
    assert_eq!(first.registered_number.as_deref(), Some(number.as_str()));
}

/// Queues on gw-core, for card `card`, a document message to the water utility as the sending
/// side does (its row and the message in one transaction).
async fn queue_by_hand(nodes: &Nodes, card: &str, envelope: &Envelope) {
    let store = nodes.store("core").await;
    let xml = sev::write(envelope);
    valid_against_schema("the message made by hand", &xml);
    let mut tx = store.begin().await.unwrap();
    let row = SentRow {
        msg_id: envelope.msg_id.to_string(),
        card_id: card.into(),
        participant: "council".into(),
        addressee: "vodokanal".into(),
        purpose: "information".into(),
        status: "sent".into(),
        sent_at: chrono::Utc::now().to_rfc3339(),
        sent_by: format!("official:{}", SHEVCHENKO.id),
        delivered_at: None,
        registered_number: None,
        registered_date: None,
        registered_at: None,
        refused_at: None,
        refused_ground: None,
        refused_by: None,
        refused_phone: None,
        not_received_at: None,
    };
    store.insert_exchange_sent(&mut tx, &row).await.unwrap();
    let message = OutgoingMessage {
        msg_id: row.msg_id.clone(),
        from: "council".into(),
        to: "vodokanal".into(),
        kind: MessageKind::Document,
        card_id: Some(card.into()),
        xml,
    };
    store
        .queue_exchange_message(&mut tx, &message)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    store.close().await;
}

/// The card's document message as gw-core queued it.
async fn queued_envelope(nodes: &Nodes, msg_id: &str) -> Envelope {
    messages(&nodes.data("core"))
        .await
        .into_iter()
        .find(|(m, _)| m == msg_id)
        .map(|(_, xml)| sev::read(&xml).unwrap())
        .unwrap_or_else(|| panic!("{msg_id} is not queued on gw-core"))
}

fn document_mut(envelope: &mut Envelope) -> &mut Document {
    match &mut envelope.body {
        Body::Document(d) => d,
        Body::Acknowledgement(_) => unreachable!("a letter carries a document"),
    }
}

/// `template` made card `card`'s message under a new id: its number and date, its own file.
async fn made_for(nodes: &Nodes, template: &Envelope, card: &str) -> Envelope {
    let store = nodes.store("core").await;
    let row = store.card(card).await.unwrap().unwrap();
    store.close().await;
    let mut envelope = template.clone();
    envelope.msg_id = uuid::Uuid::now_v7();
    let number = RegNumber {
        number: row.reg_number.unwrap(),
        date: chrono::NaiveDate::parse_from_str(row.reg_date.as_deref().unwrap(), "%Y-%m-%d")
            .unwrap(),
    };
    let document = document_mut(&mut envelope);
    document.idnumber = card.into();
    document.reg_number = number.clone();
    for author in &mut document.authors {
        author.out_number = Some(number.clone());
    }
    envelope
}

/// The refusal notice about `msg_id` that reached gw-core: valid against the schema, once.
async fn refusal_at_core(nodes: &Nodes, msg_id: &str) -> Acknowledgement {
    let about: uuid::Uuid = msg_id.parse().unwrap();
    let mut acks: Vec<Acknowledgement> = Vec::new();
    for (id, xml) in messages(&nodes.data("core")).await {
        let envelope = sev::read(&xml).unwrap();
        if let Some(ack) = envelope.body.acknowledgement()
            && ack.msg_id == about
        {
            valid_against_schema(&format!("notice {id}"), &xml);
            acks.push(ack.clone());
        }
    }
    assert_eq!(acks.len(), 1, "one notice about {msg_id}: {acks:?}");
    acks.remove(0)
}

/// Document `msg_id` of card `card` was refused on gw-vodokanal on `ground` and not registered,
/// its refusal (ack_type 4 with the ground) reached gw-core and the card shows it.
async fn refused_on(
    nodes: &Nodes,
    shevchenko: &Browser,
    melnyk: &Browser,
    card: &str,
    msg_id: &str,
    ground: Ground,
) {
    let row = received_there(nodes, msg_id).await;
    assert_eq!(row.status, "refused", "{ground:?}: {row:?}");
    assert_eq!(row.ground_code, Some(ground.code()), "{row:?}");
    assert_eq!(row.refused_by.as_deref(), Some("system"));
    assert_eq!(
        (row.card_id, row.reg_number),
        (None, None),
        "not registered"
    );
    let there = nodes.store("vodokanal").await;
    let refused = there
        .exchange_received_journal("vodokanal", ReceivedSection::Refused, 0)
        .await
        .unwrap();
    assert!(refused.iter().any(|r| r.id == row.id), "{ground:?}");
    let registered = there
        .exchange_received_journal("vodokanal", ReceivedSection::Registered, 0)
        .await
        .unwrap();
    assert!(registered.iter().all(|r| r.id != row.id));
    there.close().await;
    let section = melnyk
        .get("/registry/exchange/received?section=refused")
        .await;
    has(&section, &row.out_number);

    let sent = sent_status(nodes, card, msg_id, "refused").await;
    let said = sent.refused_ground.clone().unwrap_or_default();
    assert!(said.starts_with(ground.text()), "{ground:?}: {sent:?}");
    let ack = refusal_at_core(nodes, msg_id).await;
    assert_eq!(ack.ack_type, AckType::Refused);
    assert_eq!(ack.results[0].errorcode, ground.code());
    let page = shevchenko.get(&format!("/registry/cards/{card}")).await;
    has(&page, "Відхилено ");
    has(&page, ground.text());
}

/// Each of 002 §3.4's grounds over the two nodes: the sending side's own checks would stop
/// these documents, so each is made by hand from a real message and queued on gw-core as the
/// sending side queues one, crossing both gateways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_exchange_federation_each_automatic_ground_refuses_and_tells_the_sender() {
    let nodes = Nodes::start().await;
    let keys = tempfile::tempdir().unwrap();
    let dir = |name: &str| {
        let d = keys.path().join(name);
        std::fs::create_dir(&d).unwrap();
        d
    };
    let who = signer(&nodes.fed, &dir("author"), SHEVCHENKO.account.rnokpp, false);
    let stranger = signer(
        &nodes.fed,
        &dir("stranger"),
        SHEVCHENKO.account.rnokpp,
        true,
    );
    let other = signer(&nodes.fed, &dir("other"), "3098765432", false);
    let shevchenko = nodes.shevchenko().await;
    let melnyk = nodes.melnyk().await;
    let pdf = pdf_a();
    let first = registered_letter(&nodes, &shevchenko, &who, "Про зразок", &pdf).await;
    let first_msg = send(&nodes, &shevchenko, &first).await;
    let template = queued_envelope(&nodes, &first_msg).await;

    let mut infected = pdf.clone();
    infected.extend_from_slice(clamd::MARKER);
    type Tweak = Box<dyn Fn(&mut Envelope)>;
    let resigned = |content: Vec<u8>, by: &(PathBuf, PathBuf)| -> Tweak {
        let signature = sign(&content, by);
        Box::new(move |e: &mut Envelope| {
            let d = document_mut(e);
            d.files[0].content = content.clone();
            d.signatures[0].sign_data = signature.clone();
        })
    };
    let program = b"MZ\x90\x00\x03\x00\x00\x00 not a document".to_vec();
    let as_program = resigned(program, &who);
    let cases: Vec<(&str, Ground, Tweak)> = vec![
        (
            "not addressed to the utility",
            Ground::NotAddressed,
            Box::new(|e: &mut Envelope| e.to_org_id = "26341023".into()),
        ),
        ("infected", Ground::Infected, resigned(infected, &who)),
        (
            "changed after signing",
            Ground::Integrity,
            Box::new(|e: &mut Envelope| document_mut(e).files[0].content[20] ^= 0x01),
        ),
        (
            "signed under an untrusted CA",
            Ground::Signature,
            resigned(pdf.clone(), &stranger),
        ),
        (
            "signed by someone not the author",
            Ground::Signature,
            resigned(pdf.clone(), &other),
        ),
        (
            "a program, not a document",
            Ground::Format,
            Box::new(move |e: &mut Envelope| {
                as_program(e);
                let file = &mut document_mut(e).files[0];
                file.name = "лист.exe".into();
                file.file_type = "exe".into();
            }),
        ),
    ];
    for (what, ground, tweak) in cases {
        let card = registered_letter(&nodes, &shevchenko, &who, what, &pdf).await;
        let mut envelope = made_for(&nodes, &template, &card).await;
        tweak(&mut envelope);
        queue_by_hand(&nodes, &card, &envelope).await;
        let msg_id = envelope.msg_id.to_string();
        refused_on(&nodes, &shevchenko, &melnyk, &card, &msg_id, ground).await;
    }
    // The real one waits, untouched by the others' refusals.
    assert_eq!(received_there(&nodes, &first_msg).await.status, "received");
}

/// A registrar's refusal on п.21's ground reaches the sender with the registrar's name and
/// phone (п.28).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_exchange_federation_a_refusal_by_hand_names_the_registrar() {
    let nodes = Nodes::start().await;
    let keys = tempfile::tempdir().unwrap();
    let who = signer(&nodes.fed, keys.path(), SHEVCHENKO.account.rnokpp, false);
    let shevchenko = nodes.shevchenko().await;
    let id = registered_letter(&nodes, &shevchenko, &who, "Про ремонт колодязів", &pdf_a()).await;
    let msg_id = send(&nodes, &shevchenko, &id).await;
    let row = received_there(&nodes, &msg_id).await;
    assert_eq!(row.status, "received");

    let melnyk = nodes.melnyk().await;
    let path = format!("/registry/exchange/received/{}", row.id);
    let refused = melnyk
        .post_form(&format!("{path}/refuse"), &[("ground", "202")])
        .await;
    assert_eq!(refused.status, 303, "{}\n{}", refused.body, nodes.logs());
    let sent = sent_status(&nodes, &id, &msg_id, "refused").await;
    assert_eq!(sent.refused_ground.as_deref(), Some(Ground::NotOurs.text()));
    assert_eq!(sent.refused_by.as_deref(), Some("Мельник Петро Андрійович"));
    assert_eq!(sent.refused_phone.as_deref(), Some("+380 44 000 00 11"));
    let ack = refusal_at_core(&nodes, &msg_id).await;
    assert_eq!(ack.results[0].errorcode, Ground::NotOurs.code());
    let card = shevchenko.get(&format!("/registry/cards/{id}")).await;
    has(&card, "Мельник Петро Андрійович");
    has(&card, "+380 44 000 00 11");
    let there = nodes.store("vodokanal").await;
    let row = there.received_document(row.id).await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.card_id), ("refused", None));
    there.close().await;
}

/// Nothing received is lost: gw-vodokanal stores two documents while its scanner is not
/// reachable, is killed with SIGKILL before handling them, and once restarted with its scanner
/// handles each once: the letter waits for the registrar, the infected one is refused; killed
/// again while gw-core is down and the refusal notice unposted, it sends that notice once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_exchange_federation_a_crash_before_handling_loses_nothing() {
    let nowhere = format!("127.0.0.1:{}", crate::common::federation::free_port());
    let mut nodes = Nodes::start_with(&nowhere).await;
    let keys = tempfile::tempdir().unwrap();
    let who = signer(&nodes.fed, keys.path(), SHEVCHENKO.account.rnokpp, false);
    let shevchenko = nodes.shevchenko().await;
    let pdf = pdf_a();
    let letter = registered_letter(&nodes, &shevchenko, &who, "Про опломбування", &pdf).await;
    let letter_msg = send(&nodes, &shevchenko, &letter).await;
    let infected = registered_letter(&nodes, &shevchenko, &who, "Про заражений", &pdf).await;
    let mut envelope = made_for(
        &nodes,
        &queued_envelope(&nodes, &letter_msg).await,
        &infected,
    )
    .await;
    let mut content = pdf.clone();
    content.extend_from_slice(clamd::MARKER);
    let document = document_mut(&mut envelope);
    document.signatures[0].sign_data = sign(&content, &who);
    document.files[0].content = content;
    queue_by_hand(&nodes, &infected, &envelope).await;
    let infected_msg = envelope.msg_id.to_string();

    // Both stored on gw-vodokanal, both tried and left unhandled: the scanner is not there.
    let there = nodes.store("vodokanal").await;
    for msg_id in [&letter_msg, &infected_msg] {
        let handling = within_30s("a handling tried without the scanner", &nodes, || async {
            let message = there
                .received_exchange_message_by("vodokanal", "council", msg_id)
                .await
                .unwrap()?;
            let handling = there.received_message_handling(message.id).await.unwrap()?;
            (handling.attempts > 0).then_some(handling)
        })
        .await;
        assert_eq!(handling.finished_at, None, "{handling:?}");
        assert!(handling.last_error.is_some(), "{handling:?}");
    }
    there.close().await;
    // The council's node goes down too, so that the refusal notice cannot leave at once.
    nodes.vodokanal.take().unwrap().kill_hard();
    nodes.core.take().unwrap().kill_hard();
    nodes.restart("vodokanal");
    assert_eq!(received_there(&nodes, &letter_msg).await.status, "received");
    let refused = received_there(&nodes, &infected_msg).await;
    assert_eq!(refused.ground_code, Some(Ground::Infected.code()));
    let notice_id = within_30s("the refusal notice tried", &nodes, || async {
        let store = nodes.store("vodokanal").await;
        let mut tried = None;
        for (id, xml) in messages(&nodes.data("vodokanal")).await {
            if sev::read(&xml).unwrap().body.acknowledgement().is_some() {
                let status = store.exchange_post_status(&id).await.unwrap().unwrap();
                assert_eq!(status.posted_at, None, "gw-core is down: {status:?}");
                tried = (status.attempts > 0).then_some(id);
            }
        }
        store.close().await;
        tried
    })
    .await;
    // Killed again with the notice unposted; both nodes back: it arrives, once.
    nodes.vodokanal.take().unwrap().kill_hard();
    nodes.restart("core");
    nodes.restart("vodokanal");
    wait_posted(&nodes, &notice_id).await;
    sent_status(&nodes, &infected, &infected_msg, "refused").await;
    sent_status(&nodes, &letter, &letter_msg, "sent").await;
    let ack = refusal_at_core(&nodes, &infected_msg).await;
    assert_eq!(ack.ack_type, AckType::Refused);

    // Each handled once: one document row each, one notice queued on gw-vodokanal in all.
    let there = nodes.store("vodokanal").await;
    let received = there
        .exchange_received_journal("vodokanal", ReceivedSection::Received, 0)
        .await
        .unwrap();
    let refused_rows = there
        .exchange_received_journal("vodokanal", ReceivedSection::Refused, 0)
        .await
        .unwrap();
    there.close().await;
    assert_eq!((received.len(), refused_rows.len()), (1, 1));
    let notices: Vec<Envelope> = messages(&nodes.data("vodokanal"))
        .await
        .into_iter()
        .map(|(_, xml)| sev::read(&xml).unwrap())
        .filter(|e| e.body.acknowledgement().is_some())
        .collect();
    assert_eq!(notices.len(), 1, "{notices:?}");
}

/// Waits until gw-vodokanal has posted its message `msg_id`.
async fn wait_posted(nodes: &Nodes, msg_id: &str) {
    let store = nodes.store("vodokanal").await;
    within_30s(&format!("{msg_id} posted"), nodes, || async {
        store.exchange_message_posted(msg_id).await.unwrap()
    })
    .await;
    store.close().await;
}
