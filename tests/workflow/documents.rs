//! Issued documents on SQLite and PostgreSQL, with the example city's templates and journals:
//! numbers without gaps or duplicates under concurrency and across two stores, a rolled-back
//! issue giving its number back, a seal `openssl cms -verify` accepts (and refuses for a changed
//! text), the same key giving the same document, and a row rewritten in the database refused.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, TimeZone, Utc};
use hromada::crypto::dev_ca::{self, LeafProfile, LeafRequest};
use hromada::crypto::{Seal, Validity};
use hromada::spec::model::{Journal, Spec, Template};
use hromada::store::{Store, Tx};
use hromada::workflow::documents::{IssueRequest, IssuedDocument, issue};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::both;
use crate::common::db::Db;

/// The example city's spec, loaded once.
fn city() -> &'static Spec {
    static CITY: OnceLock<Spec> = OnceLock::new();
    CITY.get_or_init(|| {
        let loaded = hromada::spec::load::load(Path::new(env!("CARGO_MANIFEST_DIR")));
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        loaded.spec
    })
}

fn template(id: &str) -> &'static Template {
    city().templates.iter().find(|t| t.id == id).unwrap()
}

fn journal(id: &str) -> &'static Journal {
    city().journals.iter().find(|j| j.id == id).unwrap()
}

/// A development CA (its certificate in `ca.crt` of the folder) and seals it issued.
struct Trust {
    dir: TempDir,
    ca: dev_ca::Issued,
}

impl Trust {
    fn new() -> Trust {
        let validity = dev_ca::validity_from_now(3650);
        let name = dev_ca::ca_name("Тестовий ЦСК", "Запорізька міська рада").unwrap();
        let ca = dev_ca::self_signed_ca(dev_ca::new_key().unwrap(), &name, &validity).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.crt"), ca.cert.to_pem().unwrap()).unwrap();
        Trust { dir, ca }
    }

    fn seal(&self, participant: &str) -> Seal {
        let key = dev_ca::new_key().unwrap();
        let request = LeafRequest {
            common_name: format!("Печатка {participant}"),
            organisation: participant.into(),
            profile: LeafProfile::Seal {
                edrpou: "04053915".into(),
            },
            validity: Validity {
                not_before: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
                not_after: Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap(),
            },
        };
        let cert = dev_ca::issue(&self.ca, &request, &key).unwrap();
        Seal::new(participant, cert, key).unwrap()
    }

    /// `openssl cms -verify` of `signature` over `text` against the CA: whether it accepts.
    fn openssl_accepts(&self, text: &str, signature: &[u8]) -> bool {
        let content = self.dir.path().join("doc.txt");
        let sig = self.dir.path().join("doc.p7s");
        std::fs::write(&content, text).unwrap();
        std::fs::write(&sig, signature).unwrap();
        let out = std::process::Command::new("openssl")
            .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
            .arg(&sig)
            .arg("-content")
            .arg(&content)
            .arg("-CAfile")
            .arg(self.dir.path().join("ca.crt"))
            .args(["-out", "/dev/null"])
            .output()
            .expect("openssl is installed");
        out.status.success()
    }
}

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 10, 30, 0).unwrap()
}

fn decision() -> Value {
    // Parsed from text, as the engine receives it, so that the amount keeps its digits.
    serde_json::from_str(
        r#"{
            "application": {
                "registration_number": "ЗМР-0405/17",
                "full_name": "Коваленко Олена Петрівна",
                "submitted_on": "02.03.2026",
                "iban": "UA213223130000026007233566001"
            },
            "applicant": {"name": "Коваленко Олена Петрівна"},
            "registry": {},
            "decision": {"outcome": "granted", "amount": 5000.00, "date": "09.03.2026"}
        }"#,
    )
    .unwrap()
}

/// A certificate of no water debt, numbered `АВ-{seq}/{yyyy}` in `vodokanal-outgoing`.
async fn certificate(
    store: &Store,
    tx: &mut Tx,
    seal: &Seal,
    key: &str,
    when: DateTime<Utc>,
) -> Result<IssuedDocument, String> {
    let context = json!({
        "application": {"rnokpp": "3012345678", "account_number": "1002003"},
        "applicant": {"name": "Олена"},
        "registry": {"balance": {"balance_date": "2026-03-01", "debt": 0,
            "address": {"street": "Соборна", "building": "12"}}},
        "decision": {"date": "09.03.2026"},
    });
    issue(
        store,
        tx,
        IssueRequest {
            key,
            case_id: "case-water",
            template: template("water-no-debt-certificate"),
            journal: Some(journal("vodokanal-outgoing")),
            filed_in: None,
            context: &context,
            seal,
            at: when,
            zone: chrono_tz::Europe::Kyiv,
            official: None,
            verify_url: "https://portal.example/verify",
            destination: "3012345678",
            retention: None,
        },
    )
    .await
}

async fn issue_one(store: &Store, seal: &Seal, key: &str, when: DateTime<Utc>) -> IssuedDocument {
    let mut tx = store.begin().await.unwrap();
    let document = certificate(store, &mut tx, seal, key, when).await.unwrap();
    tx.commit().await.unwrap();
    document
}

both! {
    async fn numbers_have_no_gaps_or_duplicates_under_concurrency(db: Db) {
        let trust = Trust::new();
        let seal = Arc::new(trust.seal("vodokanal"));
        // Two stores on one database: two replicas.
        let replicas = [
            Store::connect(&db.url).await.unwrap(),
            Store::connect(&db.url).await.unwrap(),
        ];
        let tasks: Vec<_> = (0..24)
            .map(|n| {
                let store = replicas[n % 2].clone();
                let seal = seal.clone();
                tokio::spawn(async move {
                    issue_one(&store, &seal, &format!("water/{n}"), at(2026, 3, 9)).await
                })
            })
            .collect();
        let mut numbers = BTreeSet::new();
        for task in tasks {
            let document = task.await.unwrap();
            assert!(numbers.insert(document.number.unwrap()), "a number was given twice");
        }
        let expected: BTreeSet<_> = (1..=24).map(|n| format!("АВ-{n}/2026")).collect();
        assert_eq!(numbers, expected);
        assert_eq!(replicas[0].documents_of_case("case-water").await.unwrap().len(), 24);
    }

    async fn a_rolled_back_issue_gives_its_number_back(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let seal = Trust::new().seal("vodokanal");
        let mut tx = store.begin().await.unwrap();
        let lost = certificate(&store, &mut tx, &seal, "water/a", at(2026, 3, 9)).await.unwrap();
        assert_eq!(lost.number.as_deref(), Some("АВ-1/2026"));
        drop(tx);
        assert!(store.documents_of_case("case-water").await.unwrap().is_empty());
        let kept = issue_one(&store, &seal, "water/a", at(2026, 3, 9)).await;
        assert_eq!(kept.number.as_deref(), Some("АВ-1/2026"));
        assert_ne!(kept.id, lost.id);
        let next = issue_one(&store, &seal, "water/b", at(2026, 3, 9)).await;
        assert_eq!(next.number.as_deref(), Some("АВ-2/2026"));
    }

    async fn numbering_starts_again_each_year(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let seal = Trust::new().seal("vodokanal");
        for (key, when, number) in [
            ("a", at(2026, 12, 30), "АВ-1/2026"),
            ("b", at(2026, 12, 31), "АВ-2/2026"),
            ("c", at(2027, 1, 4), "АВ-1/2027"),
        ] {
            let document = issue_one(&store, &seal, key, when).await;
            assert_eq!(document.number.as_deref(), Some(number), "{key}");
        }
    }

    async fn a_document_issued_after_the_citys_midnight_is_numbered_and_dated_by_the_citys_day(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let seal = Trust::new().seal("vodokanal");
        // 22:30 UTC on 31 December is 00:30 on 1 January in Kyiv: the city's new year.
        for (key, when, number) in [
            ("a", Utc.with_ymd_and_hms(2026, 12, 31, 21, 30, 0).unwrap(), "АВ-1/2026"),
            ("b", Utc.with_ymd_and_hms(2026, 12, 31, 22, 30, 0).unwrap(), "АВ-1/2027"),
        ] {
            let document = issue_one(&store, &seal, key, when).await;
            assert_eq!(document.number.as_deref(), Some(number), "{key}");
        }
    }

    async fn the_seal_verifies_with_openssl_and_a_changed_text_does_not(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let trust = Trust::new();
        let seal = trust.seal("city-council");
        let mut tx = store.begin().await.unwrap();
        let document = issue(&store, &mut tx, IssueRequest {
            key: "aid/granted",
            case_id: "case-aid",
            template: template("material-aid-decision"),
            journal: Some(journal("council-outgoing")),
            filed_in: Some("03-10"),
            context: &decision(),
            seal: &seal,
            at: at(2026, 3, 9),
            zone: chrono_tz::Europe::Kyiv,
            official: None,
            verify_url: "https://portal.example/verify",
            destination: "3012345678",
            retention: None,
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(document.number.as_deref(), Some("03-10/1"));
        assert!(document.text.contains("Коваленко Олена Петрівна"), "{}", document.text);
        assert!(document.text.contains("в сумі 5000.00 грн"), "{}", document.text);
        assert!(trust.openssl_accepts(&document.text, &document.signature));
        let changed = document.text.replace("5000.00", "50000.00");
        assert!(!trust.openssl_accepts(&changed, &document.signature));
        // Another CA's seal over the same text is not accepted either.
        let stranger = Trust::new().seal("city-council");
        let forged = stranger.sign_detached(document.text.as_bytes(), at(2026, 3, 9)).unwrap();
        assert!(!trust.openssl_accepts(&document.text, &forged));
    }

    async fn the_same_key_gives_the_same_document_and_no_new_number(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let seal = Trust::new().seal("vodokanal");
        let first = issue_one(&store, &seal, "water/once", at(2026, 3, 9)).await;
        // The transition is retried a day later (a crash after the issue, before the answer).
        let again = issue_one(&store, &seal, "water/once", at(2026, 3, 10)).await;
        assert_eq!(again, first);
        let next = issue_one(&store, &seal, "water/next", at(2026, 3, 10)).await;
        assert_eq!(next.number.as_deref(), Some("АВ-2/2026"));
        assert_eq!(store.documents_of_case("case-water").await.unwrap().len(), 2);
    }

    async fn a_key_of_another_case_or_a_journal_of_another_participant_is_refused(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let trust = Trust::new();
        let vodokanal = trust.seal("vodokanal");
        issue_one(&store, &vodokanal, "water/1", at(2026, 3, 9)).await;
        let mut tx = store.begin().await.unwrap();
        let context = json!({});
        let error = issue(&store, &mut tx, IssueRequest {
            key: "water/1",
            case_id: "case-other",
            template: template("water-no-debt-certificate"),
            journal: Some(journal("vodokanal-outgoing")),
            filed_in: None,
            context: &context,
            seal: &vodokanal,
            at: at(2026, 3, 9),
            zone: chrono_tz::Europe::Kyiv,
            official: None,
            verify_url: "https://portal.example/verify",
            destination: "3012345678",
            retention: None,
        })
        .await
        .unwrap_err();
        assert!(error.contains("`water/1`") && error.contains("another case"), "{error}");
        let council = trust.seal("city-council");
        let error = certificate(&store, &mut tx, &council, "water/2", at(2026, 3, 9))
            .await
            .unwrap_err();
        assert!(
            error.contains("`vodokanal-outgoing`") && error.contains("`city-council`"),
            "{error}"
        );
        let error = issue(&store, &mut tx, IssueRequest {
            key: "aid/1",
            case_id: "case-aid",
            template: template("material-aid-decision"),
            journal: Some(journal("council-outgoing")),
            filed_in: None,
            context: &decision(),
            seal: &council,
            at: at(2026, 3, 9),
            zone: chrono_tz::Europe::Kyiv,
            official: None,
            verify_url: "https://portal.example/verify",
            destination: "3012345678",
            retention: None,
        })
        .await
        .unwrap_err();
        assert!(error.contains("{case}"), "{error}");
        tx.commit().await.unwrap();
        // Nothing was numbered or stored by the refusals.
        let next = issue_one(&store, &vodokanal, "water/3", at(2026, 3, 9)).await;
        assert_eq!(next.number.as_deref(), Some("АВ-2/2026"));
        assert!(store.documents_of_case("case-aid").await.unwrap().is_empty());
    }

    async fn a_document_without_a_journal_is_sealed_and_unnumbered(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let trust = Trust::new();
        let seal = trust.seal("city-council");
        let mut tx = store.begin().await.unwrap();
        let document = issue(&store, &mut tx, IssueRequest {
            key: "aid/draft",
            case_id: "case-aid",
            template: template("material-aid-decision"),
            journal: None,
            filed_in: None,
            context: &decision(),
            seal: &seal,
            at: at(2026, 3, 9),
            zone: chrono_tz::Europe::Kyiv,
            official: None,
            verify_url: "https://portal.example/verify",
            destination: "3012345678",
            retention: None,
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(document.number, None);
        assert!(trust.openssl_accepts(&document.text, &document.signature));
        let stored = store.documents_of_case("case-aid").await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!((stored[0].journal.as_deref(), stored[0].seq), (None, None));
        assert_eq!(stored[0].sealed_by, "city-council");
    }

    async fn a_document_rewritten_in_the_database_is_refused(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let seal = Trust::new().seal("vodokanal");
        let document = issue_one(&store, &seal, "water/x", at(2026, 3, 9)).await;
        let mut tx = store.begin().await.unwrap();
        let rewrite = "UPDATE documents SET text = text || ' Заборгованість: 0 грн.' WHERE key = 'water/x'";
        match &mut tx {
            Tx::Sqlite(t, _) => sqlx::query(rewrite).execute(&mut **t).await.map(drop),
            Tx::Postgres(t) => sqlx::query(rewrite).execute(&mut **t).await.map(drop),
        }
        .unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let error = certificate(&store, &mut tx, &seal, "water/x", at(2026, 3, 10))
            .await
            .unwrap_err();
        assert!(
            error.contains(&document.id) && error.contains("no longer matches its seal"),
            "{error}"
        );
    }

    async fn a_document_whose_pdf_is_rewritten_in_the_database_is_refused(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let seal = Trust::new().seal("vodokanal");
        let document = issue_one(&store, &seal, "water/pdf", at(2026, 3, 9)).await;
        let pdf = document.pdf.clone().expect("a result has its visual form");
        assert!(pdf.starts_with(b"%PDF-"));
        let mut changed = pdf.clone();
        let middle = changed.len() / 2;
        changed[middle] ^= 0x01;
        let mut tx = store.begin().await.unwrap();
        let rewrite = "UPDATE documents SET pdf = $1 WHERE key = 'water/pdf'";
        match &mut tx {
            Tx::Sqlite(t, _) => sqlx::query(rewrite).bind(&changed).execute(&mut **t).await.map(drop),
            Tx::Postgres(t) => sqlx::query(rewrite).bind(&changed).execute(&mut **t).await.map(drop),
        }
        .unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let error = certificate(&store, &mut tx, &seal, "water/pdf", at(2026, 3, 10))
            .await
            .unwrap_err();
        assert!(
            error.contains(&document.id) && error.contains("no longer matches its seal"),
            "{error}"
        );
    }
}

both! {
    async fn an_issued_document_is_a_registered_card_of_its_journal_and_a_rolled_back_one_is_not(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let seal = Trust::new().seal("vodokanal");
        let mut tx = store.begin().await.unwrap();
        let lost = certificate(&store, &mut tx, &seal, "water/lost", at(2026, 3, 9)).await.unwrap();
        drop(tx);
        assert!(store.card_by_source("engine", &lost.id).await.unwrap().is_none());

        let document = issue_one(&store, &seal, "water/kept", at(2026, 3, 9)).await;
        let card = store.card_by_source("engine", &document.id).await.unwrap().unwrap();
        assert_eq!(card.status, "registered");
        assert_eq!(card.journal, "vodokanal-outgoing");
        assert_eq!(card.participant, "vodokanal");
        assert_eq!(card.kind, "decision");
        assert_eq!(card.reg_number, document.number);
        assert_eq!(card.seq, Some(1));
        assert_eq!(card.reg_date.as_deref(), Some("2026-03-09"));
        let files = store.card_files(&card.id).await.unwrap();
        let roles: Vec<&str> = files.iter().map(|f| f.role.as_str()).collect();
        assert_eq!(roles, ["original", "signature"]);
        assert_eq!(store.blob(&files[0].sha256).await.unwrap(), document.pdf);
        // The same key again: the same document, and no second card.
        let again = issue_one(&store, &seal, "water/kept", at(2026, 3, 9)).await;
        assert_eq!(again.id, document.id);
        assert_eq!(store.card_files(&card.id).await.unwrap().len(), 2);
    }
}
