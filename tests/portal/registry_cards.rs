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

    // The kind's own fields: a choice outside its classifier, a value its rule refuses.
    let appeal = bondar
        .post_form(
            "/registry/cards",
            &[
                ("journal", "council-citizens"),
                ("kind", "appeal"),
                ("summary", "Про ремонт освітлення"),
                ("x-category", "999"),
                ("x-appeal-type", "прохання"),
                ("x-repeated", "-1"),
            ],
        )
        .await;
    assert_eq!(appeal.status, 400, "{}", appeal.body);
    for field in ["x-category", "x-appeal-type", "x-repeated"] {
        assert!(
            appeal.body.contains(&format!(r##"href="#{field}""##)),
            "{field}: {}",
            appeal.body
        );
    }
    assert!(
        appeal.body.contains("пропозиція, заява або скарга"),
        "{}",
        appeal.body
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
    assert_eq!(romanenko.get("/registry/journals").await.status, 403);
    assert_eq!(
        romanenko
            .get("/registry/journals/council-internal")
            .await
            .status,
        403
    );
    assert_eq!(
        romanenko.get(&format!("/registry/cards/{id}")).await.status,
        403
    );
}

/// A certificate for `rnokpp` issued by the city's development CA (the trust anchor), or, with
/// `forged`, a self-signed one naming the same person; and `content` signed with it (detached
/// CMS, DER).
pub fn official_signature(portal: &Portal, rnokpp: &str, forged: bool, content: &[u8]) -> Vec<u8> {
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
    let subject = format!(
        "/C=UA/CN=Бондар Андрій Сергійович/SN=Бондар/GN=Андрій/serialNumber=TINUA-{rnokpp}"
    );
    let (key, csr, crt) = (path("o.key"), path("o.csr"), path("o.crt"));
    if forged {
        run(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "30",
            "-utf8",
            "-subj",
            &subject,
            "-keyout",
            &key,
            "-out",
            &crt,
        ]);
    } else {
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
            &subject,
            "-keyout",
            &key,
            "-out",
            &csr,
        ]);
        let root = portal.city.root();
        let ca = root.join("pki/ca.crt").display().to_string();
        let ca_key = root.join("dev-keys/ca.key").display().to_string();
        let ext = path("ext.cnf");
        std::fs::write(
            &ext,
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n",
        )
        .unwrap();
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
    }
    let (input, output) = (path("doc"), path("doc.p7s"));
    std::fs::write(&input, content).unwrap();
    run(&[
        "cms", "-sign", "-binary", "-outform", "DER", "-in", &input, "-signer", &crt, "-inkey",
        &key, "-out", &output,
    ]);
    std::fs::read(output).unwrap()
}

pub async fn upload_signature(browser: &Browser, id: &str, signature: Vec<u8>) -> Page {
    let page = browser.get(&format!("/registry/cards/{id}/sign")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let version = version_on(&page);
    browser
        .post_multipart(
            &format!("/registry/cards/{id}/sign"),
            &[("version", &version)],
            &[(
                "signature",
                "doc.p7s",
                "application/pkcs7-signature",
                signature,
            )],
        )
        .await
}

#[tokio::test]
async fn registry_cards_an_outgoing_letter_is_registered_only_by_its_signers_own_signature() {
    let portal = Portal::start().await;
    let store = store_of(&portal).await;
    let bondar = portal
        .sign_in_official_to(&BONDAR, "/registry/cards/new")
        .await;
    let letter = bondar
        .post_form(
            "/registry/cards",
            &[
                ("journal", "council-outgoing"),
                ("kind", "letter"),
                ("summary", "Про надання інформації щодо ремонту доріг"),
                ("case_code", "01-25"),
                ("signer", "bondar-a"),
                (
                    "addressees",
                    "Служба автомобільних доріг у Запорізькій області",
                ),
                ("pages", "1"),
            ],
        )
        .await;
    let id = card_of(&letter);
    assert_eq!(
        add_file(&bondar, &id, "original", "лист.pdf", pdf_a())
            .await
            .status,
        303
    );

    // Not by the register button: only a signature registers it.
    let refused = register(&bondar, &id).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(
        refused.body.contains("після підписання"),
        "{}",
        refused.body
    );

    let someone_else = crate::cabinet::sign_as(&portal, crate::portal::CITIZEN.rnokpp, &pdf_a());
    let page = upload_signature(&bondar, &id, someone_else).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("не тієї особи"), "{}", page.body);

    let forged = official_signature(&portal, "3224567810", true, &pdf_a());
    let page = upload_signature(&bondar, &id, forged).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("не довіряє"), "{}", page.body);

    let other_bytes =
        official_signature(&portal, "3224567810", false, b"%PDF-1.7 another document");
    let page = upload_signature(&bondar, &id, other_bytes).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("підписано інший"), "{}", page.body);

    let garbage = upload_signature(&bondar, &id, b"not a signature".to_vec()).await;
    assert_eq!(garbage.status, 422, "{}", garbage.body);
    let row = store.card(&id).await.unwrap().unwrap();
    assert_eq!(
        (row.status.as_str(), row.reg_number.as_ref()),
        ("draft", None)
    );
    assert_eq!(store.card_files(&id).await.unwrap().len(), 1);

    let signed = official_signature(&portal, "3224567810", false, &pdf_a());
    let page = upload_signature(&bondar, &id, signed).await;
    assert_eq!(page.status, 303, "{}\n{}", page.body, portal.app.log());
    let row = store.card(&id).await.unwrap().unwrap();
    assert_eq!(row.status, "registered");
    assert_eq!(row.reg_number.as_deref(), Some("01-25/1"), "{row:?}");
    assert_eq!(
        row.reg_date.as_deref(),
        Some("2026-12-21"),
        "the system's date in Kyiv"
    );
    let files = store.card_files(&id).await.unwrap();
    assert_eq!(
        files.iter().map(|f| f.role.as_str()).collect::<Vec<_>>(),
        ["original", "signature"]
    );
    // Signed and registered: a second signature is refused, the number stays.
    let again = bondar.get(&format!("/registry/cards/{id}/sign")).await;
    assert_eq!(again.status, 409, "{}", again.body);
}

/// `n` memos drafted with their files, ready to register: their ids.
async fn ready_memos(browser: &Browser, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let id = draft_memo(browser, &format!("Службова записка {i}")).await;
        assert_eq!(
            add_file(browser, &id, "original", "записка.pdf", pdf_a())
                .await
                .status,
            303
        );
        ids.push(id);
    }
    ids
}

async fn concurrent_numbers(database_url: Option<String>) {
    let portal = Portal::start_with(&crate::cabinet::on(&database_url)).await;
    let url = database_url
        .clone()
        .unwrap_or_else(|| Store::sqlite_url(&portal.city.dir.path().join("data/hromada.db")));
    let store = Store::connect(&url).await.unwrap();
    let bondar = portal
        .sign_in_official_to(&BONDAR, "/registry/cards/new")
        .await;
    let ids = ready_memos(&bondar, 20).await;
    let csrf = bondar.csrf();
    let mut tasks = tokio::task::JoinSet::new();
    for id in ids.clone() {
        let browser = bondar.moved_to(&portal.app.url);
        let csrf = csrf.clone();
        tasks.spawn(async move {
            browser
                .post_form(
                    &format!("/registry/cards/{id}/register"),
                    &[("csrf", &csrf), ("version", "2")],
                )
                .await
                .status
        });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), 303, "{}", portal.app.log());
    }
    let mut seqs = Vec::new();
    for id in &ids {
        let row = store.card(id).await.unwrap().unwrap();
        assert_eq!(
            row.reg_number,
            Some(format!("СЗ-{}/2026", row.seq.unwrap()))
        );
        seqs.push(row.seq.unwrap());
    }
    seqs.sort();
    assert_eq!(seqs, (1..=20).collect::<Vec<i64>>(), "no gap, no duplicate");

    // The journal lists them in number order.
    let journal = bondar
        .get("/registry/journals/council-internal?year=2026")
        .await;
    assert_eq!(journal.status, 200, "{}", journal.body);
    let order: Vec<usize> = (1..=20)
        .map(|n| {
            journal
                .body
                .find(&format!(">СЗ-{n}/2026<"))
                .unwrap_or_else(|| panic!("СЗ-{n}/2026 missing"))
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "not in number order");

    // Over New Year the journal starts again from 1 (reset "yearly"), in the city's zone.
    portal.city.set_time("2026-12-31T22:30:00Z");
    let new_year = ready_memos(&bondar, 1).await;
    assert_eq!(register(&bondar, &new_year[0]).await.status, 303);
    let row = store.card(&new_year[0]).await.unwrap().unwrap();
    assert_eq!(row.reg_number.as_deref(), Some("СЗ-1/2027"), "{row:?}");
    assert_eq!(row.reg_date.as_deref(), Some("2027-01-01"));
    let year = bondar
        .get("/registry/journals/council-internal?year=2027")
        .await;
    assert!(
        year.body.contains(">СЗ-1/2027<") && !year.body.contains(">СЗ-2/2026<"),
        "{}",
        year.body
    );

    // A paper letter: its card carries a QR code with its number and date.
    let letter = bondar
        .post_form(
            "/registry/cards",
            &[
                ("journal", "council-incoming"),
                ("kind", "letter"),
                ("summary", "Про погодження маршруту"),
                ("correspondent", "Управління Укртрансбезпеки"),
                ("correspondent_number", "12/4-77"),
                ("correspondent_date", "2026-12-28"),
                ("pages", "2"),
                ("paper", "1"),
            ],
        )
        .await;
    let id = card_of(&letter);
    let none = register(&bondar, &id).await;
    assert_eq!(none.status, 422, "{}", none.body);
    assert!(none.body.contains("скан-копію"), "{}", none.body);
    assert_eq!(
        add_file(&bondar, &id, "scan", "скан.pdf", pdf_a())
            .await
            .status,
        303
    );
    assert_eq!(register(&bondar, &id).await.status, 303);
    let card = bondar.get(&format!("/registry/cards/{id}")).await;
    assert!(
        card.body.contains(&format!("/registry/cards/{id}/qr.svg")),
        "{}",
        card.body
    );
    let (status, headers, svg) = bondar
        .get_bytes(&format!("/registry/cards/{id}/qr.svg"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/svg+xml");
    let expected = hromada::registry::cards::qr::svg_of("№ 1/01-2027 від 2027-01-01").unwrap();
    assert_eq!(String::from_utf8(svg).unwrap(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_cards_twenty_at_once_are_numbered_1_to_20_and_the_year_restarts() {
    concurrent_numbers(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_cards_twenty_at_once_on_postgresql() {
    if let Some(url) =
        crate::common::postgres::url_or_skip("registry_cards_twenty_at_once_on_postgresql")
    {
        concurrent_numbers(Some(url)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_cards_the_portal_s_applications_are_cards_in_their_journal() {
    let portal = Portal::start().await;
    let store = store_of(&portal).await;
    let citizen = portal.sign_in(&crate::portal::CITIZEN).await;
    let first = crate::office_cases::submit_material_aid(&portal, &citizen).await;
    let card = store
        .card_by_source("portal", &first)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(card.status, "registered");
    assert_eq!(card.kind, "application");
    assert_eq!(card.journal, "council-citizens");
    assert_eq!(card.reg_number.as_deref(), Some("Ж-1/26"));
    let files = store.card_files(&card.id).await.unwrap();
    assert_eq!(
        files.iter().map(|f| f.role.as_str()).collect::<Vec<_>>(),
        ["original", "signature"]
    );

    let bondar = portal
        .sign_in_official_to(&BONDAR, "/registry/journals")
        .await;
    let journal = bondar.get("/registry/journals/council-citizens").await;
    assert_eq!(journal.status, 200, "{}", journal.body);
    assert!(journal.body.contains(">Ж-1/26<"), "{}", journal.body);
    let page = bondar.get(&format!("/registry/cards/{}", card.id)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Заява з порталу"), "{}", page.body);
}
