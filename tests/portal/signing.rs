//! Check your answers → signing → registration → case (PORTAL-4; 003 §5.4, §5.10): the
//! application's canonical document, its registration in the provider's incoming journal on
//! both databases, and the refusals of the sign page.

use std::path::Path;

use chrono::{TimeZone, Utc};
use hromada::portal::application::{Document, Identity, Parts};
use hromada::portal::registration::{NewApplication, register};
use hromada::spec::Spec;
use hromada::store::Store;
use serde_json::json;

use crate::both;
use crate::common::db::Db;

fn city_spec() -> Spec {
    let loaded = hromada::spec::load(Path::new(env!("CARGO_MANIFEST_DIR")));
    loaded.spec
}

fn document(spec: &Spec, draft: &str) -> Document {
    let service = spec
        .e_services
        .iter()
        .find(|e| e.id == "material-aid")
        .unwrap();
    let form = spec.form(&service.form).unwrap();
    Document::of(&Parts {
        draft_id: draft,
        e_service: service,
        form,
        revision: "r1",
        applicant: &Identity {
            rnokpp: Some("3184710691".into()),
            family_name: Some("Петренко".into()),
            given_name: Some("Олена".into()),
            ..Identity::default()
        },
        data: &json!({"reason": "лікування"}),
        attachments: &[],
        consents: &json!({}),
    })
}

async fn registered(
    store: &Store,
    spec: &Spec,
    owner: &str,
    draft: &str,
    day: u32,
) -> (String, String) {
    let service = spec
        .e_services
        .iter()
        .find(|e| e.id == "material-aid")
        .unwrap();
    let journal = service.incoming_journal(spec).unwrap();
    let doc = document(spec, draft);
    let mut tx = store.begin().await.unwrap();
    let row = register(
        store,
        &mut tx,
        NewApplication {
            owner,
            draft_id: draft,
            e_service: service,
            journal,
            document: &doc,
            signature: Some(vec![0x30, 0x03]),
            at: Utc.with_ymd_and_hms(2026, 12, day, 9, 0, 0).unwrap(),
            zone: chrono_tz::Europe::Kyiv,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (row.id, row.number)
}

both! {
    async fn applications_are_numbered_in_the_incoming_journal_once_per_draft(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let spec = city_spec();
        let (first, number) = registered(&store, &spec, "3184710691", "d1", 21).await;
        assert_eq!(number, "Ж-1/26", "material-aid registers in the citizens' appeals journal");
        let (again, number_again) = registered(&store, &spec, "3184710691", "d1", 22).await;
        assert_eq!((again.as_str(), number_again.as_str()), (first.as_str(), "Ж-1/26"),
            "a second signing of the same draft answers the first application");

        // A registration rolled back gives its number back.
        let service = spec.e_services.iter().find(|e| e.id == "material-aid").unwrap();
        let doc = document(&spec, "d2");
        let mut tx = store.begin().await.unwrap();
        register(&store, &mut tx, NewApplication {
            owner: "3184710691", draft_id: "d2", e_service: service,
            journal: service.incoming_journal(&spec).unwrap(), document: &doc, signature: None,
            at: Utc::now(), zone: chrono_tz::Europe::Kyiv,
        }).await.unwrap();
        drop(tx);
        let (second, number) = registered(&store, &spec, "3184710691", "d2", 23).await;
        assert_eq!(number, "Ж-2/26");

        let mine = store.applications_of("3184710691").await.unwrap();
        assert_eq!(mine.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), [second.as_str(), first.as_str()]);
        assert_eq!(mine[1].document, document(&spec, "d1").json);
        assert_eq!(mine[1].signature.as_deref(), Some(&[0x30, 0x03][..]));
        assert!(store.application("2945012349", &first).await.unwrap().is_none(),
            "another person's application is not found");
        assert!(store.applications_of("2945012349").await.unwrap().is_empty());

        let waiting = store.applications_without_case(10).await.unwrap();
        assert_eq!(waiting.len(), 2);
        store.set_application_case(&first, "case-1").await.unwrap();
        store.set_application_case(&first, "case-2").await.unwrap();
        let row = store.application("3184710691", &first).await.unwrap().unwrap();
        assert_eq!(row.case_id.as_deref(), Some("case-1"), "a recorded case stays");
        let waiting = store.applications_without_case(10).await.unwrap();
        assert_eq!(waiting.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), [second.as_str()]);
    }
}

#[test]
fn the_document_is_canonical_json_that_names_what_was_applied_for_and_by_whom() {
    let spec = city_spec();
    let doc = document(&spec, "d1");
    assert_eq!(
        doc,
        document(&spec, "d1"),
        "the same draft gives the same bytes"
    );
    assert_ne!(
        doc.json,
        document(&spec, "d2").json,
        "another draft is another document"
    );
    assert!(
        !doc.json.contains(": ") && !doc.json.contains('\n'),
        "{}",
        doc.json
    );
    let value: serde_json::Value = serde_json::from_str(&doc.json).unwrap();
    assert_eq!(value["e-service"]["id"], "material-aid");
    assert_eq!(value["applicant"]["rnokpp"], "3184710691");
    assert_eq!(value["signature"], "qualified");
    assert_eq!(doc.sha256, hromada::crypto::sha256_hex(doc.json.as_bytes()));
    let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
}
