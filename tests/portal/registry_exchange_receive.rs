//! Receiving documents from another participant's registry (issue 16, 002 §3.4–3.6, КМУ №55
//! п.21–27), on SQLite and PostgreSQL: a signed document is checked and waits for a registrar;
//! each of 002 §3.4's grounds refuses it at once with a refusal notice (validated against
//! `Header.xsd`) and the refused section holding it; a repeat is recognised; taking it makes an
//! incoming card draft and the delivery notice, registering the card the registration notice,
//! once; a registrar refuses only on п.21's grounds; a crash before the commit handles it again.

use std::path::Path;
use std::process::Command;

use chrono::{Duration, NaiveDate, Utc};
use hromada::compile::{Compiled, compile};
use hromada::crypto::Validity;
use hromada::crypto::dev_ca::{self, Issued, LeafProfile, LeafRequest};
use hromada::identity::Revision;
use hromada::registry::cards::numbering::register_in;
use hromada::registry::exchange::receive::grounds::Ground;
use hromada::registry::exchange::receive::notices::{self, Registrar};
use hromada::registry::exchange::receive::refuse::{NotRefused, Refuse, posted_ground, refuse};
use hromada::registry::exchange::receive::take::{NotTaken, Take, take};
use hromada::registry::exchange::receive::{CARD_SOURCE, Receiver, receive_document};
use hromada::registry::exchange::scan::Scanner;
use hromada::registry::exchange::sev::{
    self, AckType, Addressee, AddresseeType, Author, Body, Correspondent, DocTransfer, DocType,
    Document, Edrpou, Envelope, MsgAcknow, MsgType, OfficialPerson, Organization, PersonName,
    Purpose, RegNumber, SevTime, SignInfo,
};
use hromada::store::{CardChange, ReceivedMessage, ReceivedSection, Store};
use openssl::cms::{CMSOptions, CmsContentInfo};
use uuid::Uuid;

use crate::common::clamd;
use crate::common::db::{Db, execute};
use crate::portal::{LYSENKO, Portal, TKACHENKO};

const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/sev/Header.xsd");
/// The receiver (the city council) and the sender (the water utility) of the example city.
const RECEIVER: &str = "city-council";
const RECEIVER_EDRPOU: &str = "43053915";
const SENDER: &str = "vodokanal";
const SENDER_EDRPOU: &str = "35418773";
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n";

/// The example city, its trust anchor a test CA, and the keys the sender signs with.
struct World {
    compiled: Compiled,
    ca: Issued,
    /// The sender's director, Петренко Олена, the document's signer.
    director: Issued,
    /// The sender's seal (EDRPOU in `organizationIdentifier`).
    seal: Issued,
}

fn person(ca: &Issued, surname: &str, given: &str, rnokpp: &str, validity: Validity) -> Issued {
    let key = dev_ca::new_key().unwrap();
    let request = LeafRequest {
        common_name: format!("{surname} {given}"),
        organisation: String::new(),
        profile: LeafProfile::Person {
            rnokpp: rnokpp.into(),
            surname: surname.into(),
            given_name: given.into(),
        },
        validity,
    };
    let cert = dev_ca::issue(ca, &request, &key).unwrap();
    Issued { key, cert }
}

fn new_ca(name: &str) -> Issued {
    let name = dev_ca::ca_name(name, "Тестовий надавач").unwrap();
    dev_ca::self_signed_ca(
        dev_ca::new_key().unwrap(),
        &name,
        &dev_ca::validity_from_now(30),
    )
    .unwrap()
}

fn world() -> World {
    let spec = hromada::spec::load(Path::new(env!("CARGO_MANIFEST_DIR"))).spec;
    let revision = Revision {
        id: "receive".into(),
        content_hash: "hash-receive".into(),
    };
    let mut compiled = compile(spec, revision, None, Default::default()).unwrap();
    let ca = new_ca("Тестовий КНЕДП");
    compiled.gateway.trust.anchors = vec![ca.cert.clone()];
    let director = person(
        &ca,
        "Петренко",
        "Олена",
        "3012345678",
        dev_ca::validity_from_now(30),
    );
    let key = dev_ca::new_key().unwrap();
    let request = LeafRequest {
        common_name: "Печатка водоканалу".into(),
        organisation: "КП Водоканал".into(),
        profile: LeafProfile::Seal {
            edrpou: SENDER_EDRPOU.into(),
        },
        validity: dev_ca::validity_from_now(30),
    };
    let seal = Issued {
        cert: dev_ca::issue(&ca, &request, &key).unwrap(),
        key,
    };
    World {
        compiled,
        ca,
        director,
        seal,
    }
}

fn scanner() -> Scanner {
    Scanner::new(clamd::shared().tcp_address().parse().unwrap())
}

/// A detached CMS signature of `content` by `who`, as `openssl cms -sign -binary` makes it.
fn sign(content: &[u8], who: &Issued) -> Vec<u8> {
    CmsContentInfo::sign(
        Some(&who.cert),
        Some(&who.key),
        None,
        Some(content),
        CMSOptions::BINARY | CMSOptions::DETACHED,
    )
    .unwrap()
    .to_der()
    .unwrap()
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn sender_org() -> Organization {
    Organization {
        fullname: Some("КП «Водоканал»".into()),
        shortname: None,
        ogrn: Edrpou::new(SENDER_EDRPOU).unwrap(),
        address: None,
        econtacts: Vec::new(),
        officials: vec![OfficialPerson {
            name: PersonName {
                text: "Петренко О. І.".into(),
                secname: Some("Петренко".into()),
                firstname: Some("Олена".into()),
                fathersname: Some("Іванівна".into()),
            },
            post: Some("Директор".into()),
            department: None,
            econtacts: Vec::new(),
            sign_date: Some(today()),
        }],
    }
}

/// A letter numbered `number` from the water utility to the council with one PDF, signed by
/// `signer` (its signature made over `signed`, which is the file unless a test says otherwise).
fn letter(number: &str, content: &[u8], signer: &Issued) -> Envelope {
    let file = DocTransfer {
        idnumber: "f1".into(),
        name: "Лист про аварійні роботи.pdf".into(),
        file_type: "pdf".into(),
        content: content.to_vec(),
    };
    let signature = SignInfo {
        doc_transfer_idnumber: "f1".into(),
        certificate: None,
        signing_time: Some(SevTime::utc(Utc::now() - Duration::minutes(1))),
        sign_data: sign(content, signer),
    };
    let reg_number = RegNumber {
        number: number.into(),
        date: today(),
    };
    Envelope {
        time: SevTime::utc(Utc::now()),
        msg_type: MsgType::DOCUMENT,
        msg_id: Uuid::now_v7(),
        msg_acknow: MsgAcknow::ALL,
        from_org_id: SENDER_EDRPOU.into(),
        from_organization: "КП «Водоканал»".into(),
        from_department: None,
        from_sys_id: "vodokanal/registry".into(),
        from_system: "hromada".into(),
        from_system_details: None,
        to_org_id: RECEIVER_EDRPOU.into(),
        to_organization: "Виконавчий комітет міської ради".into(),
        to_department: None,
        to_sys_id: "city-council/registry".into(),
        to_system: "hromada".into(),
        to_system_details: None,
        body: Body::Document(Document {
            idnumber: format!("card-{number}"),
            doc_type: DocType::DOCUMENT,
            kind: Some("Лист".into()),
            title: Some("Про аварійні роботи".into()),
            annotation: Some("Про аварійні роботи на водогоні по вул. Перемоги".into()),
            pages: Some(1),
            purpose: Purpose::Information,
            urgent: false,
            reg_number: reg_number.clone(),
            confidential: false,
            files: vec![file],
            authors: vec![Author {
                who: Some(Correspondent::Organization(sender_org())),
                out_number: Some(reg_number),
            }],
            addressees: vec![Addressee {
                addressee_type: AddresseeType::ORGANISATION,
                who: None,
                referred: Vec::new(),
            }],
            writer: None,
            approval: None,
            tasks: Vec::new(),
            signatures: vec![signature],
        }),
    }
}

fn document_mut(envelope: &mut Envelope) -> &mut Document {
    match &mut envelope.body {
        Body::Document(d) => d,
        Body::Acknowledgement(_) => unreachable!("a letter carries a document"),
    }
}

/// `envelope` stored as received by the council from the water utility, as the exchange
/// endpoint stores it.
async fn arrive(store: &Store, envelope: &Envelope) -> ReceivedMessage {
    let xml = sev::write(envelope);
    xmllint(&xml).unwrap();
    let (id, fresh) = store
        .receive_exchange_message(RECEIVER, SENDER, &envelope.msg_id.to_string(), &xml)
        .await
        .unwrap();
    assert!(fresh);
    store.received_exchange_message(id).await.unwrap().unwrap()
}

async fn receive(store: &Store, w: &World, envelope: Envelope) -> ReceivedMessage {
    let message = arrive(store, &envelope).await;
    receive_document(store, &w.compiled, Some(&scanner()), &message, envelope)
        .await
        .unwrap();
    message
}

fn xmllint(xml: &[u8]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("message.xml");
    std::fs::write(&file, xml).unwrap();
    let output = Command::new("xmllint")
        .args(["--noout", "--schema", SCHEMA])
        .arg(&file)
        .output()
        .expect("xmllint runs (Debian's libxml2-utils)");
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// The notices queued since the last call, each valid against the schema, addressed back to
/// the water utility.
async fn notices_queued(store: &Store) -> Vec<Envelope> {
    let now = Utc::now() + Duration::seconds(1);
    let leased = store
        .lease_exchange_messages("test", now, now + Duration::minutes(5), 100)
        .await
        .unwrap();
    leased
        .iter()
        .map(|m| {
            assert_eq!(
                (m.message.from.as_str(), m.message.to.as_str()),
                (RECEIVER, SENDER)
            );
            xmllint(&m.message.xml).unwrap_or_else(|e| panic!("a notice is not valid: {e}"));
            let notice = sev::read(&m.message.xml).unwrap();
            assert_eq!(notice.to_org_id, SENDER_EDRPOU);
            assert_eq!(notice.from_org_id, RECEIVER_EDRPOU);
            assert_eq!(m.message.msg_id, notice.msg_id.to_string());
            notice
        })
        .collect()
}

async fn finished(store: &Store, message: &ReceivedMessage) -> bool {
    let handling = store.received_message_handling(message.id).await.unwrap();
    handling.unwrap().finished_at.is_some()
}

async fn cards_from_exchange(db: &Db) -> i64 {
    let store = Store::connect(&db.url).await.unwrap();
    let journal = store
        .exchange_received_journal(RECEIVER, ReceivedSection::Received, 0)
        .await
        .unwrap();
    let mut n = 0;
    for row in journal {
        if let Some(card) = row.card_id {
            let card = store.card(&card).await.unwrap().unwrap();
            assert_eq!(card.source, CARD_SOURCE);
            n += 1;
        }
    }
    n
}

/// `envelope` is refused at once on `ground`: not waiting, not registered, handled, one refusal
/// notice with the ground's code and words, and the refused section holds it.
async fn assert_refused_at_once(db: &Db, w: &World, envelope: Envelope, ground: Ground) {
    let store = Store::connect(&db.url).await.unwrap();
    let msg_id = envelope.msg_id;
    let message = receive(&store, w, envelope).await;
    assert!(finished(&store, &message).await, "the message is handled");
    let row = store.received_document(message.id).await.unwrap().unwrap();
    assert_eq!(row.status, "refused");
    assert_eq!(row.ground_code, Some(ground.code()));
    assert_eq!(row.refused_by.as_deref(), Some("system"));
    let refused = store
        .exchange_received_journal(RECEIVER, ReceivedSection::Refused, 0)
        .await
        .unwrap();
    assert!(refused.iter().any(|r| r.id == message.id));
    let waiting = store
        .exchange_received_journal(RECEIVER, ReceivedSection::Waiting, 0)
        .await
        .unwrap();
    assert!(waiting.iter().all(|r| r.id != message.id));
    assert!(store.received_files(message.id).await.unwrap().is_empty());
    assert_eq!(cards_from_exchange(db).await, 0, "nothing is registered");
    let notices = notices_queued(&store).await;
    assert_eq!(notices.len(), 1, "one refusal notice");
    let ack = notices[0].body.acknowledgement().unwrap();
    assert_eq!(ack.ack_type, AckType::Refused);
    assert_eq!(ack.msg_id, msg_id);
    assert_eq!(ack.results[0].errorcode, ground.code());
    assert_eq!(ack.results[0].errortext, ground.text());
}

crate::both! {
    async fn registry_exchange_receive_take_and_register_send_delivery_then_registration_once(db: Db) {
        let w = world();
        let store = Store::connect(&db.url).await.unwrap();
        let message = receive(&store, &w, letter("01-12/345", PDF, &w.director)).await;
        assert!(finished(&store, &message).await);
        let row = store.received_document(message.id).await.unwrap().unwrap();
        assert_eq!(row.status, "received");
        assert_eq!((row.out_number.as_str(), row.sender.as_str()), ("01-12/345", SENDER));
        let waiting = store
            .exchange_received_journal(RECEIVER, ReceivedSection::Waiting, 0)
            .await
            .unwrap();
        assert_eq!(waiting.iter().map(|r| r.id).collect::<Vec<_>>(), vec![message.id]);
        // Not delivered until a registrar takes it (002 §3.6): no notice yet.
        assert!(notices_queued(&store).await.is_empty());
        let files = store.received_files(message.id).await.unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].media_type, "application/pdf");

        let journal = w.compiled.spec.journals.iter().find(|j| j.id == "council-incoming").unwrap();
        let kind = w.compiled.spec.document_kinds.iter().find(|k| k.id == "letter").unwrap();
        let at = Utc::now();
        let card = take(&store, &Take { id: message.id, journal, kind, by: "lysenko-t", at })
            .await
            .unwrap();
        assert_eq!(card.status, "draft");
        assert_eq!(card.direction, "incoming");
        assert_eq!(card.correspondent.as_deref(), Some("КП «Водоканал»"));
        assert_eq!(card.correspondent_number.as_deref(), Some("01-12/345"));
        assert_eq!(card.correspondent_date, Some(today().to_string()));
        assert_eq!(card.summary, "Про аварійні роботи на водогоні по вул. Перемоги");
        assert_eq!(card.source_ref, Some(message.id.to_string()));
        let card_files = store.card_files(&card.id).await.unwrap();
        let roles: Vec<&str> = card_files.iter().map(|f| f.role.as_str()).collect();
        assert_eq!(roles, ["original", "signature"]);
        assert_eq!(store.blob(&card_files[0].sha256).await.unwrap().unwrap(), PDF);
        let delivered = notices_queued(&store).await;
        assert_eq!(delivered.len(), 1);
        let ack = delivered[0].body.acknowledgement().unwrap();
        assert_eq!((ack.ack_type, ack.msg_id), (AckType::Delivered, message_guid(&message)));

        // A second registrar finds it taken; nothing more is queued.
        let again = take(&store, &Take { id: message.id, journal, kind, by: "other", at }).await;
        assert!(matches!(again, Err(NotTaken::Decided(_))), "{again:?}");
        assert!(notices_queued(&store).await.is_empty());

        // Registered: the registration notice with our number, in the registering transaction.
        let zone = chrono_tz::Europe::Kyiv;
        let mut tx = store.begin().await.unwrap();
        let current = store.card_in(&mut tx, &card.id).await.unwrap().unwrap();
        let after = register_in(&store, &mut tx, journal, &current, at, zone).await.unwrap();
        assert!(store
            .write_card(&mut tx, &CardChange {
                before: Some(&current), after: &after, actor: "official:lysenko-t",
                on_behalf: None, kind: "registered", note: serde_json::json!(null), at,
            })
            .await
            .unwrap());
        tx.commit().await.unwrap();
        let registered = notices_queued(&store).await;
        assert_eq!(registered.len(), 1);
        let ack = registered[0].body.acknowledgement().unwrap();
        assert_eq!(ack.ack_type, AckType::Registered);
        let number = ack.reg_number.as_ref().unwrap();
        assert_eq!(Some(number.number.clone()), after.reg_number);
        assert_eq!(Some(number.date.to_string()), after.reg_date);
        let section = store
            .exchange_received_journal(RECEIVER, ReceivedSection::Registered, 0)
            .await
            .unwrap();
        assert_eq!(section.len(), 1);
        assert_eq!(section[0].reg_number, after.reg_number);
        // Once: the hook run again in another transaction queues nothing.
        let mut tx = store.begin().await.unwrap();
        notices::on_registered(&store, &mut tx, &after).await.unwrap();
        tx.commit().await.unwrap();
        assert!(notices_queued(&store).await.is_empty());
        // A registrar's refusal of a taken document is refused.
        let registrar = Registrar { name: "Лисенко Т.".into(), phone: None };
        let late = refuse(&store, &Refuse {
            id: message.id, participant: RECEIVER, ground: Ground::NotOurs,
            registrar: &registrar, by: "lysenko-t", at,
        }).await;
        assert!(matches!(late, Err(NotRefused::Decided(_))), "{late:?}");
    }

    async fn registry_exchange_receive_refuses_a_document_not_addressed_to_us(db: Db) {
        let w = world();
        let mut envelope = letter("01-12/1", PDF, &w.director);
        envelope.to_org_id = "26341023".into();
        assert_refused_at_once(&db, &w, envelope, Ground::NotAddressed).await;
    }

    async fn registry_exchange_receive_refuses_an_infected_file(db: Db) {
        let w = world();
        let mut content = PDF.to_vec();
        content.extend_from_slice(clamd::MARKER);
        assert_refused_at_once(&db, &w, letter("01-12/2", &content, &w.director), Ground::Infected)
            .await;
    }

    async fn registry_exchange_receive_refuses_a_file_changed_after_signing(db: Db) {
        let w = world();
        let mut envelope = letter("01-12/3", PDF, &w.director);
        document_mut(&mut envelope).files[0].content[10] ^= 1;
        assert_refused_at_once(&db, &w, envelope, Ground::Integrity).await;
    }

    async fn registry_exchange_receive_refuses_a_signature_of_an_untrusted_provider(db: Db) {
        let w = world();
        let stranger = new_ca("Чужий надавач");
        let forged = person(&stranger, "Петренко", "Олена", "3012345678", dev_ca::validity_from_now(30));
        assert_refused_at_once(&db, &w, letter("01-12/4", PDF, &forged), Ground::Signature).await;
    }

    async fn registry_exchange_receive_refuses_a_document_signed_by_someone_else(db: Db) {
        let w = world();
        let other = person(&w.ca, "Іваненко", "Петро", "3098765432", dev_ca::validity_from_now(30));
        assert_refused_at_once(&db, &w, letter("01-12/5", PDF, &other), Ground::Signature).await;
    }

    async fn registry_exchange_receive_refuses_a_certificate_expired_when_signing(db: Db) {
        let w = world();
        let now = Utc::now();
        let expired = person(&w.ca, "Петренко", "Олена", "3012345678", Validity {
            not_before: now - Duration::days(60),
            not_after: now - Duration::days(30),
        });
        assert_refused_at_once(&db, &w, letter("01-12/6", PDF, &expired), Ground::Signature).await;
    }

    async fn registry_exchange_receive_refuses_a_format_the_journals_do_not_take(db: Db) {
        let w = world();
        let program = b"MZ\x90\x00\x03\x00\x00\x00 not a document".to_vec();
        let mut envelope = letter("01-12/7", &program, &w.director);
        let file = &mut document_mut(&mut envelope).files[0];
        file.name = "Лист.exe".into();
        file.file_type = "exe".into();
        assert_refused_at_once(&db, &w, envelope, Ground::Format).await;
        // A PDF by name whose bytes are a PNG is refused the same way.
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        assert_refused_at_once(&db, &w, letter("01-12/8", &png, &w.director), Ground::Format).await;
    }

    async fn registry_exchange_receive_accepts_the_senders_seal(db: Db) {
        let w = world();
        let store = Store::connect(&db.url).await.unwrap();
        let message = receive(&store, &w, letter("01-12/9", PDF, &w.seal)).await;
        let row = store.received_document(message.id).await.unwrap().unwrap();
        assert_eq!(row.status, "received", "{:?}", row.refusal_detail);
        // Another organisation's seal is not the author's.
        let key = dev_ca::new_key().unwrap();
        let request = LeafRequest {
            common_name: "Печатка".into(),
            organisation: "Інше КП".into(),
            profile: LeafProfile::Seal { edrpou: "26341023".into() },
            validity: dev_ca::validity_from_now(30),
        };
        let other = Issued { cert: dev_ca::issue(&w.ca, &request, &key).unwrap(), key };
        assert_refused_at_once(&db, &w, letter("01-12/10", PDF, &other), Ground::Signature).await;
    }

    async fn registry_exchange_receive_recognises_the_same_document_sent_again(db: Db) {
        let w = world();
        let store = Store::connect(&db.url).await.unwrap();
        let first = receive(&store, &w, letter("01-12/11", PDF, &w.director)).await;
        // The same number and files under a new msg_id (T's endpoint dedups the same msg_id).
        let again = letter("01-12/11", PDF, &w.director);
        assert_refused_at_once(&db, &w, again, Ground::ReceivedAgain).await;
        let row = store.received_document(first.id).await.unwrap().unwrap();
        assert_eq!(row.status, "received", "the first stays as it was");
        // Another number with the same files is another document.
        let other = receive(&store, &w, letter("01-12/12", PDF, &w.director)).await;
        let row = store.received_document(other.id).await.unwrap().unwrap();
        assert_eq!(row.status, "received");
    }

    async fn registry_exchange_receive_a_registrar_refuses_only_on_a_listed_ground(db: Db) {
        let w = world();
        let store = Store::connect(&db.url).await.unwrap();
        let registrar = Registrar {
            name: "Лисенко Тетяна Петрівна".into(),
            phone: Some("+380 61 239 01 20".into()),
        };
        for (i, ground) in Ground::MANUAL.iter().enumerate() {
            let message = receive(&store, &w, letter(&format!("02-{i}"), PDF, &w.director)).await;
            let at = Utc::now();
            let refused = refuse(&store, &Refuse {
                id: message.id, participant: RECEIVER, ground: *ground,
                registrar: &registrar, by: "lysenko-t", at,
            })
            .await
            .unwrap();
            assert_eq!(refused.ground_code, Some(ground.code()));
            assert_eq!(refused.refused_by.as_deref(), Some("official:lysenko-t"));
            let notices = notices_queued(&store).await;
            assert_eq!(notices.len(), 1, "{ground:?}");
            let ack = notices[0].body.acknowledgement().unwrap();
            assert_eq!(ack.ack_type, AckType::Refused);
            assert_eq!((ack.results[0].errorcode, ack.results[0].errortext.as_str()),
                       (ground.code(), ground.text()));
            assert_eq!(ack.results[1].errortext,
                       "Відхилив: Лисенко Тетяна Петрівна, тел. +380 61 239 01 20");
            let section = store
                .exchange_received_journal(RECEIVER, ReceivedSection::Refused, 0)
                .await
                .unwrap();
            assert!(section.iter().any(|r| r.id == message.id));
            // Refused once: a second refusal is refused and queues nothing.
            let twice = refuse(&store, &Refuse {
                id: message.id, participant: RECEIVER, ground: *ground,
                registrar: &registrar, by: "lysenko-t", at,
            }).await;
            assert!(matches!(twice, Err(NotRefused::Decided(_))));
            assert!(notices_queued(&store).await.is_empty());
        }
        // Refused by hand, still in the received section (it was received); none registered.
        let received = store
            .exchange_received_journal(RECEIVER, ReceivedSection::Received, 0)
            .await
            .unwrap();
        assert_eq!(received.len(), Ground::MANUAL.len());
        assert_eq!(cards_from_exchange(&db).await, 0);

        // A form's ground is only a п.21 code: none, an automatic one, a made-up one, text.
        for forged in [None, Some(""), Some("101"), Some("999"), Some("203; DROP"), Some("ground")] {
            assert_eq!(posted_ground(forged), None, "{forged:?}");
        }
        assert_eq!(posted_ground(Some("203")), Some(Ground::ReceivedAgain));
        // An automatic ground is not the registrar's to pick.
        let message = receive(&store, &w, letter("02-x", PDF, &w.director)).await;
        let not_listed = refuse(&store, &Refuse {
            id: message.id, participant: RECEIVER, ground: Ground::Infected,
            registrar: &registrar, by: "lysenko-t", at: Utc::now(),
        }).await;
        assert!(matches!(not_listed, Err(NotRefused::NotListed)));
        // Nor another participant's document.
        let foreign = refuse(&store, &Refuse {
            id: message.id, participant: SENDER, ground: Ground::NotOurs,
            registrar: &registrar, by: "lysenko-t", at: Utc::now(),
        }).await;
        assert!(matches!(foreign, Err(NotRefused::Missing)));
        let row = store.received_document(message.id).await.unwrap().unwrap();
        assert_eq!(row.status, "received");
        assert!(notices_queued(&store).await.is_empty());
    }

    async fn registry_exchange_receive_a_waiting_documents_files_are_kept_and_checked_when_taken(db: Db) {
        let w = world();
        let store = Store::connect(&db.url).await.unwrap();
        let kept = receive(&store, &w, letter("06-1", PDF, &w.director)).await;
        // The store's sweep of unused contents keeps what a registrar has yet to take.
        store.remove_unused_blobs().await.unwrap();
        let journal = w.compiled.spec.journals.iter().find(|j| j.id == "council-incoming").unwrap();
        let kind = w.compiled.spec.document_kinds.iter().find(|k| k.id == "letter").unwrap();
        let at = Utc::now();
        take(&store, &Take { id: kept.id, journal, kind, by: "lysenko-t", at }).await.unwrap();
        notices_queued(&store).await;

        // A file rewritten in the database past hromada is not taken: a clear error, nothing
        // changed, nothing sent.
        let mut content = PDF.to_vec();
        content.extend_from_slice(b"% another revision\n");
        let changed = receive(&store, &w, letter("06-2", &content, &w.director)).await;
        let file = &store.received_files(changed.id).await.unwrap()[0];
        let sql = format!(
            "UPDATE attachment_blobs SET content = {} WHERE sha256 = '{}'",
            if db.url.starts_with("sqlite") { "X'00'" } else { "'\\x00'::bytea" },
            file.sha256
        );
        execute(&db.url, &sql).await;
        let refused = take(&store, &Take { id: changed.id, journal, kind, by: "lysenko-t", at }).await;
        let Err(NotTaken::Store(e)) = refused else { panic!("taken: {refused:?}") };
        assert!(e.to_string().contains("changed") && e.to_string().contains(&file.sha256), "{e}");
        let row = store.received_document(changed.id).await.unwrap().unwrap();
        assert_eq!((row.status.as_str(), row.card_id), ("received", None));
        assert!(notices_queued(&store).await.is_empty());
        // A journal of another participant takes nothing.
        let foreign = w.compiled.spec.journals.iter().find(|j| j.id == "vodokanal-incoming").unwrap();
        let other = receive(&store, &w, letter("06-3", PDF, &w.director)).await;
        let missing = take(&store, &Take { id: other.id, journal: foreign, kind, by: "x", at }).await;
        assert!(matches!(missing, Err(NotTaken::Missing)), "{missing:?}");
        // A journal that does not take the file's format is named.
        let mut narrow = journal.clone();
        narrow.formats = vec!["odt".into()];
        let format = take(&store, &Take { id: other.id, journal: &narrow, kind, by: "x", at }).await;
        let Err(NotTaken::Format(message)) = format else { panic!("taken: {format:?}") };
        assert!(message.contains("Лист про аварійні роботи.pdf"), "{message}");
    }

    async fn registry_exchange_receive_the_receiver_waits_for_a_revision_then_receives(db: Db) {
        let w = world();
        let store = Store::connect(&db.url).await.unwrap();
        let (publisher, current) = hromada::compile::current::channel();
        let receiver = Receiver { store: store.clone(), current, scanner: Some(scanner()) };
        let envelope = letter("07-1", PDF, &w.director);
        let message = arrive(&store, &envelope).await;
        let early = receiver.document(&message, envelope.clone()).await.unwrap_err();
        assert!(early.to_string().contains("no revision"), "{early}");
        assert!(!finished(&store, &message).await);
        publisher.publish(world().compiled);
        // The published city trusts another test CA: the director's signature is not trusted.
        receiver.document(&message, envelope).await.unwrap();
        let row = store.received_document(message.id).await.unwrap().unwrap();
        assert_eq!(row.ground_code, Some(Ground::Signature.code()));
    }

    async fn registry_exchange_receive_without_a_scanner_leaves_the_document_for_later(db: Db) {
        let w = world();
        let store = Store::connect(&db.url).await.unwrap();
        let envelope = letter("03-1", PDF, &w.director);
        let message = arrive(&store, &envelope).await;
        let none = receive_document(&store, &w.compiled, None, &message, envelope.clone()).await;
        assert!(none.unwrap_err().to_string().contains("--clamd"));
        let gone = Scanner::new("127.0.0.1:1".parse().unwrap());
        let unreachable =
            receive_document(&store, &w.compiled, Some(&gone), &message, envelope.clone()).await;
        assert!(unreachable.unwrap_err().to_string().contains("127.0.0.1:1"));
        assert!(!finished(&store, &message).await);
        assert_eq!(store.received_document(message.id).await.unwrap(), None);
        assert!(notices_queued(&store).await.is_empty());
        // With the scanner back, it is handled.
        receive_document(&store, &w.compiled, Some(&scanner()), &message, envelope).await.unwrap();
        assert!(finished(&store, &message).await);
    }

    async fn registry_exchange_receive_a_crash_before_the_commit_handles_it_again_once(db: Db) {
        let w = world();
        let store = Store::connect(&db.url).await.unwrap();
        // A refused document: its row and notice are written, then finishing the message fails
        // as a crash would cut it, so the transaction is dropped.
        let mut refused = letter("04-1", PDF, &w.director);
        refused.to_org_id = "26341023".into();
        let accepted = letter("04-2", PDF, &w.director);
        let messages = [arrive(&store, &refused).await, arrive(&store, &accepted).await];
        cut_power(&db, true).await;
        for (message, envelope) in messages.iter().zip([&refused, &accepted]) {
            let cut = receive_document(
                &store, &w.compiled, Some(&scanner()), message, envelope.clone(),
            ).await;
            assert!(cut.is_err());
            assert!(!finished(&store, message).await);
            assert_eq!(store.received_document(message.id).await.unwrap(), None);
        }
        assert!(notices_queued(&store).await.is_empty());
        cut_power(&db, false).await;
        for (message, envelope) in messages.iter().zip([&refused, &accepted]) {
            receive_document(&store, &w.compiled, Some(&scanner()), message, envelope.clone())
                .await
                .unwrap();
            assert!(finished(&store, message).await);
            // Handed over again after it was handled, it changes nothing.
            let twice = receive_document(
                &store, &w.compiled, Some(&scanner()), message, envelope.clone(),
            ).await;
            assert!(twice.is_err());
        }
        let notices = notices_queued(&store).await;
        assert_eq!(notices.len(), 1, "one refusal notice, once");
        assert_eq!(store.received_document(messages[0].id).await.unwrap().unwrap().status, "refused");
        assert_eq!(store.received_document(messages[1].id).await.unwrap().unwrap().status, "received");
        assert_eq!(store.received_files(messages[1].id).await.unwrap().len(), 1);
    }
}

fn message_guid(message: &ReceivedMessage) -> Uuid {
    Uuid::parse_str(&message.msg_id).unwrap()
}

/// Makes finishing a received message fail (`on`), as a crash before the commit would, or work
/// again.
async fn cut_power(db: &Db, on: bool) {
    let sqlite = db.url.starts_with("sqlite");
    let statements: &[&str] = match (on, sqlite) {
        (true, true) => &["CREATE TRIGGER power_cut BEFORE UPDATE OF finished_at ON \
             exchange_post_in BEGIN SELECT RAISE(ABORT, 'power cut'); END"],
        (false, true) => &["DROP TRIGGER power_cut"],
        (true, false) => &[
            "CREATE OR REPLACE FUNCTION power_cut() RETURNS trigger AS $$ BEGIN \
             RAISE EXCEPTION 'power cut'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER power_cut BEFORE UPDATE OF finished_at ON exchange_post_in \
             FOR EACH ROW EXECUTE FUNCTION power_cut()",
        ],
        (false, false) => &["DROP TRIGGER power_cut ON exchange_post_in"],
    };
    for sql in statements {
        execute(&db.url, sql).await;
    }
}

/// The registrar's pages over HTTP: the list, a document with its requisites, files and
/// signatures, downloads, a refusal without a listed ground or with a forged one refused by
/// name, a take that opens the card made, a refusal on a п.21 ground, and who may see them.
#[tokio::test]
async fn registry_exchange_receive_pages_list_show_take_and_refuse() {
    let portal = Portal::start().await;
    let store = portal.store().await;
    let w = world();
    let first = receive(&store, &w, letter("05-1", PDF, &w.director)).await;
    let second = receive(&store, &w, letter("05-2", PDF, &w.director)).await;
    let lysenko = portal
        .sign_in_official_to(&LYSENKO, "/registry/exchange/received")
        .await;

    let home = lysenko.get("/registry").await;
    assert!(
        home.body.contains("href=\"/registry/exchange/received\""),
        "{}",
        home.body
    );
    let list = lysenko.get("/registry/exchange/received").await;
    assert_eq!(list.status, 200, "{}", list.body);
    for number in ["05-1", "05-2"] {
        assert!(list.body.contains(number), "{}", list.body);
    }
    let path = format!("/registry/exchange/received/{}", first.id);
    let page = lysenko.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for shown in [
        "Про аварійні роботи на водогоні по вул. Перемоги",
        "КП «Водоканал»",
        "Лист про аварійні роботи.pdf",
        "Підпис чинний",
        "Петренко Олена",
        "Документ надійшов повторно",
    ] {
        assert!(
            page.body.contains(shown),
            "{shown} is not shown: {}",
            page.body
        );
    }
    let (status, _, bytes) = lysenko.get_bytes(&format!("{path}/files/1")).await;
    assert_eq!((status, bytes.as_slice()), (200, PDF));
    let (status, _, der) = lysenko
        .get_bytes(&format!("{path}/files/1/signatures/1"))
        .await;
    assert_eq!(status, 200);
    let letter_signature = &document_of(&first).signatures[0].sign_data;
    assert_eq!(&der, letter_signature);
    assert_eq!(lysenko.get(&format!("{path}/files/2")).await.status, 404);

    // No ground, an automatic one, a made-up one: refused, naming the ground field.
    for ground in ["", "102", "999"] {
        let refused = lysenko
            .post_form(&format!("{path}/refuse"), &[("ground", ground)])
            .await;
        assert_eq!(refused.status, 422, "{ground}: {}", refused.body);
        assert!(
            refused.body.contains("href=\"#ground\""),
            "{}",
            refused.body
        );
        assert!(refused.body.contains("п. 21"), "{}", refused.body);
    }
    // A forged POST without the session's CSRF token does nothing.
    let forged = lysenko
        .post_form_raw(&format!("{path}/refuse"), &[("ground", "202")])
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    let row = store.received_document(first.id).await.unwrap().unwrap();
    assert_eq!(row.status, "received");

    // Without a journal picked, take is refused; with one, the card is made.
    let no_journal = lysenko.post_form(&format!("{path}/take"), &[]).await;
    assert_eq!(no_journal.status, 422, "{}", no_journal.body);
    let taken = lysenko
        .post_form(
            &format!("{path}/take"),
            &[("journal", "council-incoming"), ("kind", "letter")],
        )
        .await;
    assert_eq!(taken.status, 303, "{}", taken.body);
    let card_path = taken.location.clone().unwrap();
    let row = store.received_document(first.id).await.unwrap().unwrap();
    assert_eq!(
        Some(card_path.clone()),
        row.card_id.map(|c| format!("/registry/cards/{c}"))
    );
    let card = lysenko.get(&card_path).await;
    assert_eq!(card.status, 200, "{}", card.body);
    assert!(card.body.contains("05-1"), "{}", card.body);
    let again = lysenko
        .post_form(
            &format!("{path}/take"),
            &[("journal", "council-incoming"), ("kind", "letter")],
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    // Registered through the card's page: our number recorded with the received document.
    let card_id = card_path.trim_start_matches("/registry/cards/");
    let registered = crate::registry_cards::register(&lysenko, card_id).await;
    assert_eq!(registered.status, 303, "{}", registered.body);
    let card = store.card(card_id).await.unwrap().unwrap();
    let row = store.received_document(first.id).await.unwrap().unwrap();
    assert!(card.reg_number.is_some());
    assert_eq!(row.reg_number, card.reg_number);
    let section = lysenko
        .get("/registry/exchange/received?section=registered")
        .await;
    assert!(
        section.body.contains(card.reg_number.as_deref().unwrap()),
        "{}",
        section.body
    );

    let second_path = format!("/registry/exchange/received/{}", second.id);
    let refused = lysenko
        .post_form(&format!("{second_path}/refuse"), &[("ground", "202")])
        .await;
    assert_eq!(refused.status, 303, "{}", refused.body);
    let shown = lysenko.get(&second_path).await;
    assert!(
        shown.body.contains("Документ надійшов не за належністю"),
        "{}",
        shown.body
    );
    assert!(
        shown
            .body
            .contains("Відхилив: Лисенко Тетяна Володимирівна, тел. +380 61 239 01 17")
    );
    let section = lysenko
        .get("/registry/exchange/received?section=refused")
        .await;
    assert!(
        section.body.contains("05-2") && !section.body.contains("05-1"),
        "{}",
        section.body
    );

    // An official without `documents-exchange` is refused the pages.
    let tkachenko = portal
        .sign_in_official_to(&TKACHENKO, "/registry/exchange/received")
        .await;
    assert_eq!(
        tkachenko.get("/registry/exchange/received").await.status,
        403
    );
    assert_eq!(tkachenko.get(&path).await.status, 403);
    assert_eq!(
        lysenko
            .get("/registry/exchange/received/424242")
            .await
            .status,
        404
    );
}

fn document_of(message: &ReceivedMessage) -> Document {
    match sev::read(&message.xml).unwrap().body {
        Body::Document(document) => document,
        Body::Acknowledgement(_) => unreachable!("a letter carries a document"),
    }
}
