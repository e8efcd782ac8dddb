//! `/registry/search` through the real appliance (REG-3): cards written to its store are found
//! within seconds by words in any case form, in the card and in its PDF, ODT, DOCX and TXT, and
//! by requisites; another participant's card never, even with the same words; an executor
//! finds what concerns them; a search is logged by its count, never by its words.

use std::io::Write;

use hromada::store::{AccessFilter, Store};

use crate::portal::{BONDAR, Browser, KOVAL, LYSENKO, Page, Portal, ROMANENKO};
use crate::registry_cards::{card_of, register, version_on};
use crate::registry_search_store::{card, id, put};

/// A zip of `parts`, the `mimetype` first and stored as ODF asks.
fn zip_of(parts: &[(&str, &str)]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    for (name, content) in parts {
        let method = if *name == "mimetype" {
            zip::CompressionMethod::Stored
        } else {
            zip::CompressionMethod::Deflated
        };
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        zip.start_file(*name, options).unwrap();
        zip.write_all(content.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    out.into_inner()
}

fn odt(text: &str) -> Vec<u8> {
    zip_of(&[
        ("mimetype", "application/vnd.oasis.opendocument.text"),
        (
            "content.xml",
            &format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text><text:p>{text}</text:p></office:text></office:body></office:document-content>"#
            ),
        ),
    ])
}

fn docx(text: &str) -> Vec<u8> {
    zip_of(&[(
        "word/document.xml",
        &format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>"#
        ),
    )])
}

fn query(pairs: &[(&str, &str)]) -> String {
    let encoded: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
            )
        })
        .collect();
    format!("/registry/search?{}", encoded.join("&"))
}

fn link(n: u32) -> String {
    format!("/registry/cards/{}", id(n))
}

/// The cards `pairs` finds for `browser`, once the page lists `expected` (polled: the index
/// follows a card within seconds); the page.
async fn search_until(browser: &Browser, pairs: &[(&str, &str)], expected: u32) -> Page {
    let path = query(pairs);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let page = loop {
        let page = browser.get(&path).await;
        if (page.status == 200 && page.body.contains(&link(expected)))
            || std::time::Instant::now() > deadline
        {
            break page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(
        page.status == 200 && page.body.contains(&link(expected)),
        "{path} did not find card {expected} within 30 s:\n{}",
        page.body
    );
    page
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registry_search_finds_by_words_in_cards_and_files_and_only_what_may_be_read() {
    let portal = Portal::start().await;
    let database = portal.city.dir.path().join("data/hromada.db");
    let store = Store::connect(&Store::sqlite_url(&database)).await.unwrap();

    let mut aid = card(
        1,
        "city-council",
        "01-12/7",
        "Звернення щодо матеріальної допомоги",
        10,
    );
    aid.journal = "council-incoming".into();
    aid.correspondent = Some("Пенсійний фонд України".into());
    let pdf = hromada::workflow::pdf::render(
        "Лист",
        &[hromada::workflow::pdf::Line::new(
            hromada::workflow::pdf::Style::Body,
            "Просимо відремонтувати дах школи",
        )],
    );
    let odt = odt("Освітлення вулиці Шевченка");
    let docx = docx("Вивезення сміття з кварталу");
    put(
        &store,
        &aid,
        &[
            ("лист.pdf", "application/pdf", &pdf),
            (
                "додаток.odt",
                "application/vnd.oasis.opendocument.text",
                &odt,
            ),
            (
                "додаток.docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                &docx,
            ),
            ("примітка.txt", "text/plain", "Прибирання парку".as_bytes()),
        ],
        &[],
    )
    .await;
    // The same words in another participant's journal; one of its cards concerns koval-o.
    let mut theirs = card(
        2,
        "registration-dept",
        "Р-7",
        "Звернення щодо матеріальної допомоги",
        20,
    );
    theirs.journal = "registration-outgoing".into();
    put(
        &store,
        &theirs,
        &[("лист.pdf", "application/pdf", &pdf)],
        &[],
    )
    .await;
    let mut given = card(3, "registration-dept", "Р-8", "Доручення щодо допомоги", 30);
    given.journal = "registration-outgoing".into();
    put(&store, &given, &[], &[("koval-o", "executor")]).await;

    let bondar = portal
        .sign_in_official_to(&BONDAR, "/registry/search")
        .await;
    // A word of the card in another case form, and one of each file's.
    for words in [
        "допомогою",
        "школі",
        "вулицею",
        "сміттям",
        "парку",
        "ДОПОМОГА звернення",
    ] {
        let page = search_until(&bondar, &[("q", words)], 1).await;
        assert!(
            !page.body.contains(&link(2)),
            "{words}: another participant's card:\n{}",
            page.body
        );
        assert!(
            !page.body.contains(&link(3)),
            "{words}: another participant's card"
        );
        assert!(page.body.contains("01-12/7") && page.body.contains("Пенсійний фонд України"));
    }
    // Requisites alone, and with words.
    for pairs in [
        vec![("number", "01-12/7")],
        vec![("number", "01-12")],
        vec![("correspondent", "пенсійного фонду")],
        vec![("journal", "council-incoming"), ("status", "registered")],
        vec![("case", "01-12"), ("q", "допомоги")],
    ] {
        search_until(&bondar, &pairs, 1).await;
    }
    let none = bondar
        .get(&query(&[("q", "допомога"), ("status", "archived")]))
        .await;
    assert_eq!(none.status, 200);
    assert!(none.body.contains("Нічого не знайдено"), "{}", none.body);
    assert!(!none.body.contains(&link(1)));
    // Bad filters: 400 naming the field, nothing searched.
    let bad = bondar
        .get(&query(&[
            ("from", "07.12.2026"),
            ("journal", "registration-outgoing"),
        ]))
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(
        bad.body.contains("Дата реєстрації з: введіть дату"),
        "{}",
        bad.body
    );
    assert!(
        bad.body.contains("Журнал: виберіть журнал зі списку"),
        "{}",
        bad.body
    );

    // koval-o reads the council's cards and the one a resolution gave them, not the others.
    let koval = portal.sign_in_official_to(&KOVAL, "/registry/search").await;
    let page = search_until(&koval, &[("q", "допомога")], 3).await;
    assert!(page.body.contains(&link(1)));
    assert!(!page.body.contains(&link(2)), "{}", page.body);
    // Without a documents role: refused.
    let romanenko = portal.sign_in_official_to(&ROMANENKO, "/office").await;
    assert_eq!(
        romanenko.get(&query(&[("q", "допомога")])).await.status,
        403
    );

    // The access log counts the results and never holds the words.
    let (entries, _) = store
        .official_access(
            &AccessFilter {
                official: Some("bondar-a".into()),
                case_id: None,
            },
            1000,
            0,
        )
        .await
        .unwrap();
    let searches: Vec<&str> = entries
        .iter()
        .filter(|e| e.entry.action == "registry-search")
        .map(|e| e.entry.detail.as_str())
        .collect();
    assert!(searches.contains(&"searched, 1 results"), "{searches:?}");
    assert!(searches.contains(&"searched, 0 results"), "{searches:?}");
    assert!(
        searches
            .iter()
            .all(|d| !d.contains("допомог") && !d.contains("пенсій"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registry_search_finds_a_card_registered_through_the_registry_by_its_files() {
    let portal = Portal::start().await;
    let lysenko = portal
        .sign_in_official_to(&LYSENKO, "/registry/cards/new")
        .await;
    let created = lysenko
        .post_form(
            "/registry/cards",
            &[
                ("journal", "council-incoming"),
                ("kind", "letter"),
                ("summary", "Лист щодо благоустрою скверу"),
                ("correspondent", "Управління освіти міської ради"),
                ("correspondent_number", "15/3"),
                ("correspondent_date", "2026-12-01"),
                ("pages", "3"),
            ],
        )
        .await;
    let card = card_of(&created);
    let pdf = hromada::workflow::pdf::render(
        "Лист",
        &[hromada::workflow::pdf::Line::new(
            hromada::workflow::pdf::Style::Body,
            "Просимо висадити каштани біля гімназії",
        )],
    );
    for (role, name, content) in [
        ("original", "лист.pdf", pdf),
        ("annex", "план.odt", odt("Схема розміщення фонтану")),
        (
            "annex",
            "кошторис.docx",
            docx("Кошторис робіт з озеленення"),
        ),
    ] {
        let page = lysenko.get(&format!("/registry/cards/{card}")).await;
        let added = lysenko
            .post_multipart(
                &format!("/registry/cards/{card}/files"),
                &[("role", role), ("version", &version_on(&page))],
                &[("file", name, "application/octet-stream", content)],
            )
            .await;
        assert_eq!(added.status, 303, "{name}: {}", added.body);
    }
    let registered = register(&lysenko, &card).await;
    assert_eq!(registered.status, 303, "{}", registered.body);
    let href = format!("/registry/cards/{card}");
    let bondar = portal
        .sign_in_official_to(&BONDAR, "/registry/search")
        .await;
    // Found within seconds by a word of each file, in another case form, and by the summary.
    for words in [
        "каштанів",
        "гімназії",
        "фонтаном",
        "озелененням",
        "скверу благоустрій",
    ] {
        let path = query(&[("q", words)]);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let page = loop {
            let page = bondar.get(&path).await;
            if page.body.contains(&href) || std::time::Instant::now() > deadline {
                break page;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        };
        assert!(
            page.body.contains(&href),
            "{words} did not find the card:\n{}",
            page.body
        );
    }
    // By its registration number, as the card page shows it.
    let store = Store::connect(&Store::sqlite_url(
        &portal.city.dir.path().join("data/hromada.db"),
    ))
    .await
    .unwrap();
    let row = store.card(&card).await.unwrap().unwrap();
    let number = row.reg_number.clone().unwrap();
    let by_number = bondar.get(&query(&[("number", &number)])).await;
    assert!(by_number.body.contains(&href), "{}", by_number.body);
    let by_status = bondar
        .get(&query(&[("status", "draft"), ("q", "каштани")]))
        .await;
    assert!(
        by_status.body.contains("Нічого не знайдено"),
        "{}",
        by_status.body
    );
    // The files' text was read once and kept with them.
    let files = store.card_files(&card).await.unwrap();
    assert!(
        files
            .iter()
            .all(|f| f.text.as_deref().is_some_and(|t| !t.is_empty())),
        "{files:?}"
    );
    assert_eq!(
        store.indexed_version(&card).await.unwrap(),
        Some(row.version)
    );
}
