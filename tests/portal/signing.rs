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
            family_name: Some("Іваненко".into()),
            given_name: Some("Марія".into()),
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

/// What a citizen runs to sign `document` with the key `keys dev` made for `rnokpp` (as the
/// sign page shows it): `openssl cms -sign -binary -outform DER`, the detached signature's bytes.
fn openssl_sign(root: &Path, rnokpp: &str, document: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("application.json");
    let output = dir.path().join("application.p7s");
    std::fs::write(&input, document).unwrap();
    let keys = root.join("dev-keys/citizens");
    openssl(&[
        "cms".as_ref(),
        "-sign".as_ref(),
        "-binary".as_ref(),
        "-outform".as_ref(),
        "DER".as_ref(),
        "-in".as_ref(),
        input.as_os_str(),
        "-signer".as_ref(),
        keys.join(format!("{rnokpp}.crt")).as_os_str(),
        "-inkey".as_ref(),
        keys.join(format!("{rnokpp}.key")).as_os_str(),
        "-out".as_ref(),
        output.as_os_str(),
    ]);
    std::fs::read(output).unwrap()
}

/// A key and a self-made certificate naming `rnokpp` as Ukrainian qualified certificates do,
/// from no provider the system trusts: (certificate, key) files in `dir`.
fn self_made_certificate(dir: &Path, rnokpp: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (dir.join("self.crt"), dir.join("self.key"));
    openssl(&[
        "req".as_ref(),
        "-x509".as_ref(),
        "-newkey".as_ref(),
        "ec".as_ref(),
        "-pkeyopt".as_ref(),
        "ec_paramgen_curve:P-256".as_ref(),
        "-nodes".as_ref(),
        "-days".as_ref(),
        "30".as_ref(),
        "-subj".as_ref(),
        format!("/C=UA/CN=Self Made/serialNumber=TINUA-{rnokpp}").as_ref(),
        "-keyout".as_ref(),
        key.as_os_str(),
        "-out".as_ref(),
        cert.as_os_str(),
    ]);
    (cert, key)
}

fn openssl(args: &[&std::ffi::OsStr]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The text layer of a PDF, as `pdftotext` (poppler-utils) extracts it.
fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("application.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg("-enc")
        .arg("UTF-8")
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_visual_form_has_a_text_layer_with_the_answers_and_the_documents_digest() {
    let spec = city_spec();
    let doc = document(&spec, "d1");
    let pdf = hromada::portal::application::visual_form(&spec, &doc).unwrap();
    let text = pdf_text(&pdf);
    for expected in [
        "Надання одноразової матеріальної допомоги",
        "Іваненко Марія",
        "3184710691",
        "Підстава: лікування",
        doc.sha256.as_str(),
    ] {
        assert!(
            text.contains(expected),
            "the PDF's text lacks `{expected}`:\n{text}"
        );
    }
}
