//! Registration-control cards through `hromada serve` (REG-1; КМУ №55 п.41–59): a registrar
//! drafts a card, adds its files (formats judged by their bytes), is told which requisite is
//! missing, and registers it under its journal's next number; a stale form, another
//! participant's card and an official without a documents role are refused.

use hromada::store::Store;

use crate::portal::{BONDAR, Browser, LYSENKO, Page, Portal, ROMANENKO};

/// A PDF that declares itself PDF/A-2b in its XMP metadata.
pub fn pdf_a() -> Vec<u8> {
    b"%PDF-1.7\n1 0 obj\n<< /Type /Metadata /Subtype /XML >>\nstream\n<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:Description pdfaid:part=\"2\" pdfaid:conformance=\"B\"/></x:xmpmeta>\nendstream\nendobj\n%%EOF\n".to_vec()
}

async fn store_of(portal: &Portal) -> Store {
    let db = portal.city.dir.path().join("data/hromada.db");
    Store::connect(&Store::sqlite_url(&db)).await.unwrap()
}

/// The card id a `POST /registry/cards` answered with (303 to the card).
pub fn card_of(page: &Page) -> String {
    assert_eq!(page.status, 303, "the card was not created: {}", page.body);
    let location = page.location.clone().unwrap();
    location
        .strip_prefix("/registry/cards/")
        .unwrap_or_else(|| panic!("not a card's address: {location}"))
        .to_string()
}

/// The version a card's page carries in its forms.
pub fn version_on(page: &Page) -> String {
    let at = page
        .body
        .find(r#"name="version" value=""#)
        .unwrap_or_else(|| panic!("the page has no version: {}", page.body));
    let rest = &page.body[at + r#"name="version" value=""#.len()..];
    rest.split('"').next().unwrap().to_string()
}

/// Drafts a memo in the council's internal journal with every requisite but files: its id.
pub async fn draft_memo(browser: &Browser, summary: &str) -> String {
    let page = browser
        .post_form(
            "/registry/cards",
            &[
                ("journal", "council-internal"),
                ("kind", "memo"),
                ("summary", summary),
                ("case_code", "01-05"),
                ("signer", "Бондар А. С."),
                ("addressees", "Ткаченко О. М.\nКоваль О. М."),
                ("pages", "2"),
                ("x-annexes", "1"),
            ],
        )
        .await;
    card_of(&page)
}

/// Adds `content` as file `name` with `role` to card `id`: the answer.
pub async fn add_file(
    browser: &Browser,
    id: &str,
    role: &str,
    name: &str,
    content: Vec<u8>,
) -> Page {
    let card = browser.get(&format!("/registry/cards/{id}")).await;
    let version = version_on(&card);
    browser
        .post_multipart(
            &format!("/registry/cards/{id}/files"),
            &[("role", role), ("version", &version)],
            &[("file", name, "application/pdf", content)],
        )
        .await
}

/// Registers card `id` at its current version: the answer.
pub async fn register(browser: &Browser, id: &str) -> Page {
    let card = browser.get(&format!("/registry/cards/{id}")).await;
    let version = version_on(&card);
    browser
        .post_form(
            &format!("/registry/cards/{id}/register"),
            &[("version", &version)],
        )
        .await
}

#[tokio::test]
async fn registry_cards_a_memo_is_drafted_completed_and_registered_under_the_journal_pattern() {
    let portal = Portal::start().await;
    let bondar = portal
        .sign_in_official_to(&BONDAR, "/registry/cards/new")
        .await;

    let picker = bondar.get("/registry/cards/new").await;
    assert_eq!(picker.status, 200, "{}", picker.body);
    assert!(picker.body.contains("Службова записка"), "{}", picker.body);
    assert!(
        !picker.body.contains("registration-outgoing"),
        "another participant's journal is offered: {}",
        picker.body
    );
    let form = bondar
        .get("/registry/cards/new?journal=council-internal&kind=memo")
        .await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(
        form.body.contains("Кількість аркушів додатків"),
        "{}",
        form.body
    );

    // A kind the journal does not register, or a journal of another participant: refused.
    let wrong = bondar
        .post_form(
            "/registry/cards",
            &[
                ("journal", "council-internal"),
                ("kind", "appeal"),
                ("summary", "x"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    let foreign = bondar
        .post_form(
            "/registry/cards",
            &[
                ("journal", "registration-outgoing"),
                ("kind", "decision"),
                ("summary", "x"),
            ],
        )
        .await;
    assert_eq!(foreign.status, 400, "{}", foreign.body);

    // A bad date is named, and nothing is made.
    let bad = bondar
        .post_form(
            "/registry/cards",
            &[
                ("journal", "council-internal"),
                ("kind", "memo"),
                ("summary", "Про графік відпусток"),
                ("deadline", "31.12.2026"),
            ],
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains(r##"href="#deadline""##), "{}", bad.body);
    assert!(
        bad.body.contains("Строк виконання: введіть дату"),
        "{}",
        bad.body
    );

    let id = draft_memo(&bondar, "Про графік відпусток на 2027 рік").await;
    assert!(id.starts_with("card-") && id.len() == 37, "{id}");
    let card = bondar.get(&format!("/registry/cards/{id}")).await;
    assert_eq!(card.status, 200, "{}", card.body);
    assert!(card.body.contains("Чернетка"), "{}", card.body);
    assert!(
        card.body.contains("Про графік відпусток на 2027 рік"),
        "{}",
        card.body
    );

    // Without its file the card is not registered, and the error names what is missing.
    let incomplete = register(&bondar, &id).await;
    assert_eq!(incomplete.status, 422, "{}", incomplete.body);
    assert!(
        incomplete.body.contains(r##"href="#file""##),
        "{}",
        incomplete.body
    );
    assert!(
        incomplete.body.contains("Додайте файл документа"),
        "{}",
        incomplete.body
    );
    let store = store_of(&portal).await;
    let row = store.card(&id).await.unwrap().unwrap();
    assert_eq!(row.status, "draft");
    assert_eq!(row.reg_number, None);

    // A program renamed .pdf is refused by its bytes, naming the file; nothing is added.
    let exe = add_file(
        &bondar,
        &id,
        "original",
        "графік.pdf",
        b"MZ\x90\0\x03\0\0\0program".to_vec(),
    )
    .await;
    assert_eq!(exe.status, 422, "{}", exe.body);
    assert!(
        exe.body.contains("Файл «графік.pdf» є програмою"),
        "{}",
        exe.body
    );
    // A plain PDF where the journal takes PDF/A (and ODT) only: refused too.
    let plain = add_file(
        &bondar,
        &id,
        "original",
        "графік.pdf",
        b"%PDF-1.7\n1 0 obj\n%%EOF".to_vec(),
    )
    .await;
    assert_eq!(plain.status, 422, "{}", plain.body);
    assert!(plain.body.contains("не PDF/A"), "{}", plain.body);
    assert!(store.card_files(&id).await.unwrap().is_empty());

    let added = add_file(&bondar, &id, "original", "графік.pdf", pdf_a()).await;
    assert_eq!(added.status, 303, "{}", added.body);
    let files = store.card_files(&id).await.unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].media_type, "application/pdf");
    let (status, headers, bytes) = bondar
        .get_bytes(&format!("/registry/cards/{id}/files/1"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(bytes, pdf_a());
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment;"), "{disposition}");

    // A stale form (made before the file was added) changes nothing.
    let stale = bondar
        .post_form(
            &format!("/registry/cards/{id}/edit"),
            &[("version", "1"), ("summary", "Інший зміст"), ("pages", "3")],
        )
        .await;
    assert_eq!(stale.status, 409, "{}", stale.body);
    assert_eq!(
        store.card(&id).await.unwrap().unwrap().summary,
        "Про графік відпусток на 2027 рік"
    );

    let registered = register(&bondar, &id).await;
    assert_eq!(registered.status, 303, "{}", registered.body);
    let row = store.card(&id).await.unwrap().unwrap();
    assert_eq!(row.status, "registered");
    assert_eq!(row.reg_number.as_deref(), Some("СЗ-1/2026"), "{row:?}");
    assert_eq!(row.seq, Some(1));
    assert!(row.reg_date.is_some());
    let card = bondar.get(&format!("/registry/cards/{id}")).await;
    assert!(card.body.contains("СЗ-1/2026"), "{}", card.body);

    // Registering twice does not number twice.
    let again = bondar
        .post_form(
            &format!("/registry/cards/{id}/register"),
            &[("version", &row.version.to_string())],
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(
        store
            .card(&id)
            .await
            .unwrap()
            .unwrap()
            .reg_number
            .as_deref(),
        Some("СЗ-1/2026")
    );

    // The next memo, by another registrar, gets the next number.
    let lysenko = portal
        .sign_in_official_to(&LYSENKO, "/registry/cards/new")
        .await;
    let second = draft_memo(&lysenko, "Про чергування у святкові дні").await;
    assert_eq!(
        add_file(&lysenko, &second, "original", "чергування.pdf", pdf_a())
            .await
            .status,
        303
    );
    assert_eq!(register(&lysenko, &second).await.status, 303);
    let row = store.card(&second).await.unwrap().unwrap();
    assert_eq!(row.reg_number.as_deref(), Some("СЗ-2/2026"));

    // Another participant's card is not there for them: 404, nothing of it shown.
    let mut foreign = store.card(&second).await.unwrap().unwrap();
    foreign.id = "card-0123456789abcdef0123456789abcdef".into();
    foreign.participant = "registration-dept".into();
    foreign.journal = "registration-outgoing".into();
    foreign.summary = "Витяг для іншої установи".into();
    foreign.period = None;
    foreign.seq = None;
    foreign.version = 1;
    let mut tx = store.begin().await.unwrap();
    assert!(
        store
            .write_card(
                &mut tx,
                &hromada::store::CardChange {
                    before: None,
                    after: &foreign,
                    actor: "official:kravchenko-s",
                    on_behalf: None,
                    kind: "created",
                    note: serde_json::Value::Null,
                    at: chrono::Utc::now(),
                },
            )
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let hidden = bondar.get(&format!("/registry/cards/{}", foreign.id)).await;
    assert_eq!(hidden.status, 404, "{}", hidden.body);
    assert!(!hidden.body.contains("Витяг для іншої установи"));
    let file = bondar
        .get_bytes(&format!("/registry/cards/{}/files/1", foreign.id))
        .await;
    assert_eq!(file.0, 404);

    // An official without a documents role is refused; the card page too.
    let romanenko = portal
        .sign_in_official_to(&ROMANENKO, "/office/users")
        .await;
    assert_eq!(romanenko.get("/registry/cards/new").await.status, 403);
    assert_eq!(
        romanenko.get(&format!("/registry/cards/{id}")).await.status,
        403
    );
}
