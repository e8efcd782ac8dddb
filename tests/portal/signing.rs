//! Check your answers → signing → registration → case (PORTAL-4; 003 §5.4, §5.10): the
//! application's canonical document, its registration in the provider's incoming journal on
//! both databases, and the refusals of the sign page.

use std::path::Path;

use chrono::{TimeZone, Utc};
use hromada::portal::application::{Attached, Document, Identity, Parts};
use hromada::portal::registration::{NewApplication, register};
use hromada::spec::Spec;
use hromada::store::{DraftWrite, NewDraft, Store};
use serde_json::json;

use crate::both;
use crate::common::city::{APPLICANT, TOKEN};
use crate::common::db::Db;
use crate::portal::{Browser, CITIZEN, OTHER, Page, Portal};

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
            retention: None,
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
            at: Utc::now(), zone: chrono_tz::Europe::Kyiv, retention: None,
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

both! {
    async fn the_draft_is_locked_and_its_application_registered_in_one_transaction(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let spec = city_spec();
        let service = spec.e_services.iter().find(|e| e.id == "material-aid").unwrap();
        let journal = service.incoming_journal(&spec).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 12, 21, 9, 0, 0).unwrap();
        let draft = store
            .create_draft(&NewDraft {
                owner: APPLICANT.into(),
                e_service: service.id.clone(),
                form: service.form.clone(),
                revision: "r1".into(),
                data: "{}".into(),
                page: "applicant".into(),
                now,
                expires_at: now + chrono::Duration::days(30),
            })
            .await
            .unwrap();
        let doc = document(&spec, &draft.id);
        let new = || NewApplication {
            owner: APPLICANT, draft_id: &draft.id, e_service: service, journal,
            document: &doc, signature: None, at: now, zone: chrono_tz::Europe::Kyiv, retention: None,
        };

        // Rolled back (a crash before the commit): the draft stays open, nothing is registered.
        let mut tx = store.begin().await.unwrap();
        assert_eq!(store.lock_draft(&mut tx, APPLICANT, &draft.id).await.unwrap(), DraftWrite::Done);
        register(&store, &mut tx, new()).await.unwrap();
        drop(tx);
        assert!(!store.draft(APPLICANT, &draft.id).await.unwrap().unwrap().locked());
        assert!(store.applications_of(APPLICANT).await.unwrap().is_empty());

        let mut tx = store.begin().await.unwrap();
        assert_eq!(store.lock_draft(&mut tx, APPLICANT, &draft.id).await.unwrap(), DraftWrite::Done);
        let row = register(&store, &mut tx, new()).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(row.number, "Ж-1/26", "the rolled-back number is given again");
        assert!(store.draft(APPLICANT, &draft.id).await.unwrap().unwrap().locked());
        assert_eq!(
            store.application_for_draft(APPLICANT, &draft.id).await.unwrap().map(|a| a.id),
            Some(row.id.clone())
        );
        assert_eq!(store.application_for_draft(OTHER.rnokpp, &draft.id).await.unwrap(), None);

        // A second submission finds the draft locked; a change to it is refused.
        let mut tx = store.begin().await.unwrap();
        assert_eq!(store.lock_draft(&mut tx, APPLICANT, &draft.id).await.unwrap(), DraftWrite::Locked);
        drop(tx);
        let edit = store
            .save_draft(APPLICANT, &draft.id, r#"{"x":1}"#, "{}", "applicant", now)
            .await
            .unwrap();
        assert_eq!(edit, DraftWrite::Locked);
        assert_eq!(store.applications_of(APPLICANT).await.unwrap().len(), 1);
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
pub(crate) fn openssl_sign(root: &Path, rnokpp: &str, document: &[u8]) -> Vec<u8> {
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

pub(crate) fn openssl(args: &[&std::ffi::OsStr]) {
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

/// The data folder of `portal`'s appliance, and its store.
pub(crate) async fn store_of(portal: &Portal) -> Store {
    let db = portal.city.dir.path().join("data/hromada.db");
    Store::connect(&Store::sqlite_url(&db)).await.unwrap()
}

/// A `residence-extract` draft of the signed-in `browser`, filled and through "check your
/// answers": its id.
async fn draft_ready_to_sign(browser: &Browser) -> String {
    let applied = browser
        .post_form("/services/residence-extract/apply", &[])
        .await;
    assert_eq!(applied.status, 303, "{}", applied.body);
    let first = applied.location.clone().unwrap();
    let draft = first
        .split("/drafts/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_string();
    browser.get(&first).await;
    let page = browser
        .post_form(
            &format!("/drafts/{draft}/pages/applicant"),
            &[
                ("f.last_name", "Іваненко"),
                ("f.first_name", "Марія"),
                ("f.patronymic", "Петрівна"),
                ("f.birth_date", "1980-04-02"),
                ("f.relation", "01"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    browser.get(&format!("/drafts/{draft}/check")).await;
    let checked = browser
        .post_form(&format!("/drafts/{draft}/check"), &[("declaration", "yes")])
        .await;
    assert_eq!(
        checked.location.as_deref(),
        Some(format!("/drafts/{draft}/sign").as_str()),
        "{}",
        checked.body
    );
    draft
}

/// The sign page of `draft`, read so that the browser holds its CSRF token, and the document.
pub(crate) async fn document_of(browser: &Browser, draft: &str) -> Vec<u8> {
    let page = browser.get(&format!("/drafts/{draft}/sign")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let json = browser
        .get(&format!("/drafts/{draft}/application.json"))
        .await;
    assert_eq!(json.status, 200, "{}", json.body);
    assert_eq!(json.headers["content-type"], "application/json");
    json.body.into_bytes()
}

/// Case `id` as the cases API shows it to its applicant.
async fn case_json(portal: &Portal, id: &str) -> serde_json::Value {
    reqwest::Client::new()
        .get(format!("{}/api/cases/{id}", portal.app.url))
        .bearer_auth(TOKEN)
        .header("X-Hromada-Actor", format!("applicant:{APPLICANT}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub(crate) async fn upload(browser: &Browser, draft: &str, signature: Vec<u8>) -> Page {
    browser
        .post_multipart(
            &format!("/drafts/{draft}/sign"),
            &[],
            &[(
                "signature",
                "application.p7s",
                "application/pkcs7-signature",
                signature,
            )],
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_application_is_registered_in_the_incoming_journal_and_started_as_a_case() {
    let portal = Portal::start().await;
    let root = portal.city.root();
    let browser = portal.sign_in(&CITIZEN).await;
    let draft = draft_ready_to_sign(&browser).await;

    let page = browser.get(&format!("/drafts/{draft}/sign")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let json = document_of(&browser, &draft).await;
    let digest = hromada::crypto::sha256_hex(&json);
    assert!(
        page.body.contains(&digest),
        "the page shows the document's digest"
    );
    assert!(
        page.body.contains("openssl cms -sign -binary -outform DER")
            && page.body.contains("dev-keys/citizens/3184710691.crt"),
        "a development system shows the signing command:\n{}",
        page.body
    );
    let document: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(document["applicant"]["rnokpp"], APPLICANT);
    assert_eq!(document["data"]["relation"], "01");
    assert_eq!(document["e-service"]["id"], "residence-extract");
    let pdf = browser
        .get(&format!("/drafts/{draft}/application.pdf"))
        .await;
    assert_eq!(pdf.status, 200);
    assert_eq!(pdf.headers["content-type"], "application/pdf");
    assert!(pdf.body.starts_with("%PDF-"));

    let signature = openssl_sign(&root, APPLICANT, &json);
    let signed = upload(&browser, &draft, signature.clone()).await;
    assert_eq!(signed.status, 303, "{}\n{}", signed.body, portal.app.log());
    let location = signed.location.clone().unwrap();
    assert!(location.starts_with("/cabinet/applications/"), "{location}");

    // A double submission makes one application.
    let again = upload(&browser, &draft, signature).await;
    assert_eq!(again.location.as_deref(), Some(location.as_str()));

    let store = store_of(&portal).await;
    let mine = store.applications_of(APPLICANT).await.unwrap();
    assert_eq!(mine.len(), 1, "{mine:?}");
    let application = &mine[0];
    assert_eq!(
        location,
        format!("/cabinet/applications/{}", application.id)
    );
    assert_eq!(application.journal, "registration-incoming");
    assert!(
        application.number.starts_with("ВР-1/"),
        "{}",
        application.number
    );
    assert_eq!(
        application.document.as_bytes(),
        json.as_slice(),
        "exactly the bytes signed"
    );
    let case = application.case_id.clone().expect("the case was started");
    let started = case_json(&portal, &case).await;
    assert_eq!(started["applicant"], APPLICANT, "{started}");
    assert_eq!(
        started["applicant_name"], "Іваненко Марія Петрівна",
        "{started}"
    );
    assert_eq!(started["data"]["relation"], "01", "{started}");
    assert_eq!(
        started["outcome"], "granted",
        "a resident's own extract is issued automatically: {started}"
    );

    // Once signed the draft takes no change, and its downloads are what was signed.
    let edit = browser
        .post_form(
            &format!("/drafts/{draft}/pages/applicant"),
            &[
                ("f.last_name", "Інша"),
                ("f.first_name", "Марія"),
                ("f.birth_date", "1980-04-02"),
                ("f.relation", "01"),
            ],
        )
        .await;
    assert_eq!(edit.status, 409, "{}", edit.body);
    assert_eq!(
        browser
            .get(&format!("/drafts/{draft}/sign"))
            .await
            .location
            .as_deref(),
        Some(location.as_str())
    );
    let kept = browser
        .get(&format!("/drafts/{draft}/application.json"))
        .await;
    assert_eq!(kept.body.as_bytes(), json.as_slice());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_by_someone_else_over_other_bytes_from_an_untrusted_provider_or_garbage_are_refused()
 {
    let portal = Portal::start().await;
    let root = portal.city.root();
    let browser = portal.sign_in(&CITIZEN).await;
    let draft = draft_ready_to_sign(&browser).await;
    let json = document_of(&browser, &draft).await;
    let dir = tempfile::tempdir().unwrap();
    let (self_cert, self_key) = self_made_certificate(dir.path(), APPLICANT);
    let untrusted = {
        let input = dir.path().join("application.json");
        std::fs::write(&input, &json).unwrap();
        let output = dir.path().join("self.p7s");
        openssl(&[
            "cms".as_ref(),
            "-sign".as_ref(),
            "-binary".as_ref(),
            "-outform".as_ref(),
            "PEM".as_ref(),
            "-in".as_ref(),
            input.as_os_str(),
            "-signer".as_ref(),
            self_cert.as_os_str(),
            "-inkey".as_ref(),
            self_key.as_os_str(),
            "-out".as_ref(),
            output.as_os_str(),
        ]);
        std::fs::read(output).unwrap()
    };
    let mut other_bytes = json.clone();
    other_bytes.splice(0..0, b" ".iter().copied());
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "another citizen's key",
            openssl_sign(&root, OTHER.rnokpp, &json),
            "іншої особи",
        ),
        (
            "other bytes",
            openssl_sign(&root, APPLICANT, &other_bytes),
            "не відповідає цій заяві",
        ),
        (
            "a provider the system does not trust",
            untrusted,
            "не довіряє",
        ),
        (
            "garbage",
            b"%PDF-1.7 this is not a signature".to_vec(),
            "не є підписом CMS",
        ),
        ("no file", Vec::new(), "Завантажте файл підпису"),
    ];
    for (what, signature, message) in cases {
        let refused = upload(&browser, &draft, signature).await;
        assert_eq!(refused.status, 422, "{what}: {}", refused.body);
        assert!(
            refused.body.contains(message),
            "{what}: no `{message}` in\n{}",
            refused.body
        );
        assert!(
            refused.body.contains(r##"href="#signature""##),
            "{what}: the error links to the field"
        );
    }
    // A draft not through "check your answers" goes back there, to be signed only after.
    let unchecked = browser
        .post_form("/services/residence-extract/apply", &[])
        .await;
    let unchecked = unchecked.location.unwrap();
    let unchecked = unchecked.split('/').nth(2).unwrap().to_string();
    let back = format!("/drafts/{unchecked}/check");
    let sign = browser.get(&format!("/drafts/{unchecked}/sign")).await;
    assert_eq!(
        sign.location.as_deref(),
        Some(back.as_str()),
        "{}",
        sign.body
    );
    browser.get(&format!("/drafts/{draft}/sign")).await;
    let early = upload(&browser, &unchecked, openssl_sign(&root, APPLICANT, &json)).await;
    assert_eq!(
        early.location.as_deref(),
        Some(back.as_str()),
        "{}",
        early.body
    );

    let oversized = upload(&browser, &draft, vec![0x30; 400 * 1024]).await;
    assert!(
        [400, 413].contains(&oversized.status),
        "an oversized upload: {} {}",
        oversized.status,
        oversized.body
    );
    let store = store_of(&portal).await;
    assert!(store.applications_of(APPLICANT).await.unwrap().is_empty());
    let draft_row = store.draft(APPLICANT, &draft).await.unwrap().unwrap();
    assert!(
        !draft_row.locked(),
        "a refused signature leaves the draft open"
    );

    // Without the CSRF token nothing is taken either.
    let forged = browser
        .post_multipart(
            &format!("/drafts/{draft}/sign"),
            &[("csrf", "forged")],
            &[(
                "signature",
                "a.p7s",
                "application/pkcs7-signature",
                openssl_sign(&root, APPLICANT, &json),
            )],
        )
        .await;
    assert_ne!(forged.status, 303, "{}", forged.body);
    assert!(store.applications_of(APPLICANT).await.unwrap().is_empty());

    // Another citizen sees nothing of the draft and cannot sign it.
    let other = portal.sign_in(&OTHER).await;
    for path in ["sign", "application.json", "application.pdf"] {
        let seen = other.get(&format!("/drafts/{draft}/{path}")).await;
        assert_eq!(seen.status, 404, "{path}");
        assert!(
            !seen.body.contains("1980-04-02") && !seen.body.contains(APPLICANT),
            "{path}"
        );
    }
    let theirs = upload(&other, &draft, openssl_sign(&root, OTHER.rnokpp, &json)).await;
    assert_eq!(theirs.status, 404, "{}", theirs.body);
    assert!(
        store
            .applications_of(OTHER.rnokpp)
            .await
            .unwrap()
            .is_empty()
    );

    // The applicant's own signature still goes through, once, however many times it is sent
    // at the same moment.
    let signature = openssl_sign(&root, APPLICANT, &json);
    let (a, b) = tokio::join!(
        upload(&browser, &draft, signature.clone()),
        upload(&browser, &draft, signature)
    );
    assert_eq!((a.status, b.status), (303, 303), "{}\n{}", a.body, b.body);
    assert_eq!(a.location, b.location);
    assert_eq!(store.applications_of(APPLICANT).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_signature_the_button_submits_and_a_case_lost_in_a_crash_is_started_at_restart() {
    let portal = Portal::start().await;
    let before = portal.app.applied();
    portal.city.edit(
        "spec/forms/residence-extract.kdl",
        r#"signature "qualified""#,
        r#"signature "none""#,
    );
    portal
        .app
        .wait_for("the form without a signature applied", |s| {
            s["applied"]["revision"]
                .as_str()
                .is_some_and(|r| r != before)
        });
    let browser = portal.sign_in(&CITIZEN).await;
    let draft = draft_ready_to_sign(&browser).await;
    let page = browser.get(&format!("/drafts/{draft}/sign")).await;
    assert!(
        page.body.contains("не потребує електронного підпису"),
        "{}",
        page.body
    );
    assert!(!page.body.contains(r#"type="file""#), "{}", page.body);
    let submitted = browser
        .post_multipart(&format!("/drafts/{draft}/sign"), &[], &[])
        .await;
    assert_eq!(submitted.status, 303, "{}", submitted.body);

    let store = store_of(&portal).await;
    let application = store.applications_of(APPLICANT).await.unwrap().remove(0);
    assert_eq!(application.signature, None);
    let case = application.case_id.clone().expect("the case was started");

    // A crash between the registration and the case: the restarted appliance starts it, and
    // the engine, keyed by the application, gives the same case rather than a second one.
    let Portal {
        city,
        app,
        provider,
    } = portal;
    app.stop();
    crate::common::db::execute(
        &Store::sqlite_url(&city.dir.path().join("data/hromada.db")),
        "UPDATE applications SET case_id = NULL",
    )
    .await;
    let app = city.start_core(&city.dir.path().join("data"), &[]).await;
    let healed = crate::common::holds_within_30s(|| async {
        store
            .application(APPLICANT, &application.id)
            .await
            .unwrap()
            .and_then(|a| a.case_id)
            .is_some()
    })
    .await;
    assert!(healed, "the sweep did not start the case\n{}", app.log());
    let row = store
        .application(APPLICANT, &application.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.case_id.as_deref(), Some(case.as_str()));

    // A row rewritten in the database is not started as something else: the sweep says which
    // application and what to do, and the appliance goes on serving.
    app.stop();
    crate::common::db::execute(
        &Store::sqlite_url(&city.dir.path().join("data/hromada.db")),
        "UPDATE applications SET case_id = NULL, document = 'rewritten'",
    )
    .await;
    let app = city.start_core(&city.dir.path().join("data"), &[]).await;
    let said = crate::common::holds_within_30s(|| async {
        app.log().contains(&format!(
            "application {} (number {}) holds a document that is not JSON",
            application.id, application.number
        ))
    })
    .await;
    assert!(said, "{}", app.log());
    let row = store
        .application(APPLICANT, &application.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.case_id, None);
    assert_eq!(app.get("/").0, 200);
    drop(provider);
}

#[test]
fn attached_files_and_consents_are_named_in_the_document_and_its_pdf() {
    let spec = city_spec();
    let service = spec
        .e_services
        .iter()
        .find(|e| e.id == "water-no-debt")
        .unwrap();
    let form = spec.form(&service.form).unwrap();
    let files = [Attached {
        attachment: "receipt".into(),
        file_name: "квитанція.pdf".into(),
        media_type: "application/pdf".into(),
        size: 1234,
        sha256: "ab".repeat(32),
    }];
    let doc = Document::of(&Parts {
        draft_id: "d9",
        e_service: service,
        form,
        revision: "r1",
        applicant: &Identity {
            rnokpp: Some(APPLICANT.into()),
            ..Identity::default()
        },
        data: &json!({"account_number": "10000001"}),
        attachments: &files,
        consents: &json!({"personal-data": true}),
    });
    let value: serde_json::Value = serde_json::from_str(&doc.json).unwrap();
    assert_eq!(value["attachments"][0]["file-name"], "квитанція.pdf");
    assert_eq!(value["attachments"][0]["sha256"], "ab".repeat(32));
    assert_eq!(value["consents"][0]["id"], "personal-data");
    assert_eq!(value["consents"][0]["given"], true);
    assert!(
        value["declaration"]
            .as_str()
            .unwrap()
            .starts_with("Підтверджую")
    );
    let text = pdf_text(&hromada::portal::application::visual_form(&spec, &doc).unwrap());
    for expected in [
        "квитанція.pdf",
        "Номер особового рахунку: 10000001",
        "Даю згоду",
        "Підтверджую",
    ] {
        assert!(
            text.contains(expected),
            "the PDF's text lacks `{expected}`:\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_simultaneous_submissions_make_one_registered_application_with_its_case() {
    let Some(url) = crate::common::postgres::url_or_skip("signing on PostgreSQL") else {
        return;
    };
    let portal = Portal::start_with(&["--database-url", &url]).await;
    let browser = portal.sign_in(&CITIZEN).await;
    let draft = draft_ready_to_sign(&browser).await;
    let json = document_of(&browser, &draft).await;
    let signature = openssl_sign(&portal.city.root(), APPLICANT, &json);
    let (a, b) = tokio::join!(
        upload(&browser, &draft, signature.clone()),
        upload(&browser, &draft, signature)
    );
    assert_eq!((a.status, b.status), (303, 303), "{}\n{}", a.body, b.body);
    assert_eq!(a.location, b.location);
    let store = Store::connect(&url).await.unwrap();
    let mine = store.applications_of(APPLICANT).await.unwrap();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0].journal, "registration-incoming");
    assert!(mine[0].case_id.is_some(), "the case was started");
}
