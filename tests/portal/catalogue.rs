//! The public pages through `hromada serve` (PORTAL-1; 003 §7.2–7.6): the catalogue's search and
//! filters, an e-service's page with every item of 003 Annex 1 in order, since when its
//! procedure applies, and what the pages never show.

use std::path::Path;

use hromada::html::escape_html;

use crate::common::appliance::{Appliance, example_city};
use crate::common::city::City;
use crate::portal::{CITIZEN, Portal};

/// The example city served from a temporary folder, after `prepare` edits its tree.
fn serve_city(dir: &Path, prepare: impl FnOnce(&Path)) -> Appliance {
    let root = dir.join("city");
    example_city(&root);
    prepare(&root);
    let appliance = Appliance::start(&root, &dir.join("data"), &[]);
    appliance.wait_for("the first revision", |s| s["ready"] == true);
    appliance
}

/// Replaces `from` by `to` in the file `file` of the tree at `root`.
fn edit(root: &Path, file: &str, from: &str, to: &str) {
    let path = root.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} has no `{from}`");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// `GET path` that must answer 200.
fn page(appliance: &Appliance, path: &str) -> String {
    let (status, body) = appliance.get(path);
    assert_eq!(status, 200, "GET {path}:\n{body}");
    body
}

/// `/?key=value&…` with the values encoded.
fn catalogue(pairs: &[(&str, &str)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        query.append_pair(k, v);
    }
    format!("/?{}", query.finish())
}

/// The links to e-service pages on a page, in order.
fn services_listed(body: &str) -> Vec<String> {
    body.split("href=\"/services/")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_string())
        .collect()
}

/// Asserts that `texts` appear in `body` in this order (each after the one before it); where
/// the last one is.
fn in_order(body: &str, texts: &[&str]) -> usize {
    let mut at = 0;
    let mut previous = "the start of the page";
    for text in texts {
        let escaped = escape_html(text);
        let found = body[at..]
            .find(&escaped)
            .unwrap_or_else(|| panic!("the page lacks `{escaped}` after `{previous}`:\n{body}"));
        at += found + escaped.len();
        previous = text;
    }
    at
}

/// The machine-readable moment since which the page's procedure applies.
fn since(body: &str) -> Option<String> {
    let at = body.find("id=\"since\"")?;
    let rest = &body[at..];
    let start = rest.find("datetime=\"")? + "datetime=\"".len();
    Some(rest[start..].split('"').next()?.to_string())
}

#[test]
fn the_material_aid_page_shows_every_annex_1_item_in_order_and_who_is_responsible() {
    let dir = tempfile::tempdir().unwrap();
    let appliance = serve_city(dir.path(), |_| {});
    let body = page(&appliance, "/services/material-aid");
    assert!(body.contains("<html lang=\"uk\">"));
    // 003 Annex 1, items 1–5, each in its order.
    let annex_1 = [
        "Надавач послуги",
        "Вид надавача",
        "орган місцевого самоврядування",
        "Найменування та код ЄДРПОУ",
        "Виконавчий комітет Запорізької міської ради, код ЄДРПОУ 43053915",
        "Місцезнаходження",
        "69105, м. Запоріжжя, пр. Соборний, 206",
        "+380 61 239 01 01",
        "https://zp.city.example",
        "zmr@zp.city.example",
        "Режим роботи",
        "пн–чт 08:00–17:00",
        "Хто може отримати послугу",
        "фізичні особи",
        "Назва та код послуги",
        "ЗМР-0405",
        "Правові підстави, умови та випадки надання",
        "Закон України «Про соціальні послуги»",
        "Поширені питання",
        "Яку суму допомоги можуть призначити?",
        "Необхідні документи",
        "Довідка про доходи членів сім'ї за останні 6 місяців",
        "Акт обстеження пошкодженого житла",
        "Способи подання заяви",
        "в електронній формі через Портал послуг",
        "Строк надання послуги",
        "Не більше ніж 20 робочих днів",
        "Підстави для відмови",
        "Отримання допомоги з тієї самої підстави протягом останніх 12 місяців",
        "Порядок оскарження",
        "до виконавчого комітету Запорізької міської ради протягом 30 днів",
        "Вартість",
        "Послуга безоплатна",
        "Результат і як його отримати",
        "Рішення про надання або відмову у наданні матеріальної допомоги",
        "в електронному кабінеті на Порталі послуг",
    ];
    let annex_end = in_order(&body, &annex_1);
    // The applicant's way through, then Annex 2: the provider's unit and its responsible official
    // with work contacts only.
    in_order(
        &body[annex_end..],
        &[
            "Як розглядається заява",
            "Заяву отримано",
            "строк — 5 робочих днів",
            "Розгляд комісією",
            "Можливі результати: послугу надано; у наданні відмовлено",
            "ви можете відкликати заяву",
            "Відповідальна особа",
            "Відділ адресної соціальної допомоги департаменту соціального захисту населення",
            "Ткаченко Олена Миколаївна, начальник відділу адресної соціальної допомоги",
            "+380 61 239 03 40",
            "tkachenko.o@zp.city.example",
        ],
    );
    assert!(
        !body.contains("3351209842"),
        "an official's RNOKPP is never shown"
    );
    // Signed out, the button leads to the sign-in and back.
    assert!(
        body.contains("href=\"/sign-in?next=/services/material-aid\">Подати заяву онлайн</a>"),
        "{body}"
    );
}

#[test]
fn a_paid_service_shows_its_fee_with_the_payment_details() {
    let dir = tempfile::tempdir().unwrap();
    let appliance = serve_city(dir.path(), |_| {});
    let body = page(&appliance, "/services/address-assignment");
    in_order(
        &body,
        &[
            "Послуга платна: 332,80 грн.",
            "ГУК у Запорізькій обл./м. Запоріжжя/22012500",
            "44721530",
            "UA978999980334109879000008019",
            "плата за присвоєння адреси об'єкту нерухомого майна",
        ],
    );
}

#[test]
fn the_search_finds_by_a_word_and_by_code_and_says_when_it_finds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let appliance = serve_city(dir.path(), |_| {});
    // A word in another case, with a typographic apostrophe where the spec has a plain one.
    let body = page(&appliance, &catalogue(&[("q", "ЧЛЕНА сім’ї")]));
    assert_eq!(services_listed(&body), ["material-aid"], "{body}");
    assert!(body.contains("Знайдено послуг: 1"), "{body}");
    assert!(
        body.contains("value=\"ЧЛЕНА сім’ї\""),
        "the search stays in its field"
    );
    let body = page(&appliance, &catalogue(&[("q", "змр-0301")]));
    assert_eq!(services_listed(&body), ["water-no-debt"], "{body}");
    let body = page(&appliance, &catalogue(&[("q", "довідка")]));
    let found = services_listed(&body);
    assert!(found.contains(&"water-no-debt".to_string()), "{found:?}");
    assert!(!found.contains(&"material-aid".to_string()), "{found:?}");
    let body = page(&appliance, &catalogue(&[("q", "квдлорпмж")]));
    assert!(services_listed(&body).is_empty(), "{body}");
    assert!(
        body.contains("Нічого не знайдено за запитом «квдлорпмж»"),
        "{body}"
    );
    // A search too long is named against its field, with the catalogue still there.
    let (status, body) = appliance.get(&catalogue(&[("q", &"д".repeat(201))]));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("href=\"#q\""), "{body}");
    assert!(
        body.contains("<title>Помилка: "),
        "the title says so too:\n{body}"
    );
    assert!(body.contains("скоротіть його до 200 символів"), "{body}");
}

#[test]
fn a_category_or_a_user_category_narrows_the_catalogue() {
    let dir = tempfile::tempdir().unwrap();
    let appliance = serve_city(dir.path(), |_| {});
    let home = page(&appliance, "/");
    assert_eq!(services_listed(&home).len(), 6, "{home}");
    let housing = catalogue(&[("category", "Житлово-комунальні послуги")]);
    assert!(
        home.contains(&format!("href=\"{housing}\"")),
        "the category is a link:\n{home}"
    );
    let body = page(&appliance, &housing);
    assert_eq!(
        services_listed(&body),
        ["heating-recalculation", "water-no-debt"],
        "{body}"
    );
    assert!(body.contains("<option value=\"Житлово-комунальні послуги\" selected>"));
    let body = page(&appliance, &catalogue(&[("user", "legal-entity")]));
    assert_eq!(
        services_listed(&body),
        [
            "address-assignment",
            "heating-recalculation",
            "parking-fine-appeal"
        ],
        "{body}"
    );
    let body = page(
        &appliance,
        &catalogue(&[("category", "Соціальний захист"), ("user", "legal-entity")]),
    );
    assert!(services_listed(&body).is_empty(), "{body}");
    assert!(body.contains("Нічого не знайдено у категорії «Соціальний захист»"));
    let (status, body) = appliance.get(&catalogue(&[("user", "martians")]));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("href=\"#user\""), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_e_service_is_live_after_the_next_reconcile_with_a_newer_since_date() {
    let city = City::new().await;
    let data = city.dir.path().join("data");
    let appliance = Appliance::start(&city.root(), &data, &[]);
    appliance.wait_for("the first revision", |s| s["ready"] == true);
    let dated = |id: &str| {
        let path = format!("/services/{id}");
        let mut found = None;
        for _ in 0..300 {
            let (status, body) = appliance.get(&path);
            assert_eq!(status, 200, "{body}");
            if let Some(since) = since(&body) {
                found = Some((since, body));
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        found.unwrap_or_else(|| panic!("{path} shows no date within 30 s\n{}", appliance.log()))
    };
    let (aid_since, _) = dated("material-aid");
    let (water_since, _) = dated("water-no-debt");
    let first = appliance.applied();

    city.edit(
        "spec/e-services/material-aid.kdl",
        "term 20 counting=\"working\"",
        "term 15 counting=\"working\"",
    );
    appliance.wait_for("the edit applied", |s| {
        s["applied"]["revision"]
            .as_str()
            .is_some_and(|r| r != first)
    });
    let mut edited = None;
    for _ in 0..300 {
        let (since, body) = dated("material-aid");
        if since != aid_since {
            edited = Some((since, body));
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (new_since, body) =
        edited.unwrap_or_else(|| panic!("the date did not change\n{}", appliance.log()));
    assert!(body.contains("Не більше ніж 15 робочих днів"), "{body}");
    let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap();
    assert!(
        parse(&new_since) > parse(&aid_since),
        "{new_since} is not after {aid_since}"
    );
    assert_eq!(
        dated("water-no-debt").0,
        water_since,
        "water-no-debt did not change"
    );

    // A restart applies the same procedures: no date moves.
    assert!(appliance.stop().success());
    let appliance = Appliance::start(&city.root(), &data, &[]);
    appliance.wait_for("the revision applied", |s| s["ready"] == true);
    for (id, expected) in [
        ("material-aid", &new_since),
        ("water-no-debt", &water_since),
    ] {
        let (_, body) = appliance.get(&format!("/services/{id}"));
        assert_eq!(since(&body).as_ref(), Some(expected), "{id}:\n{body}");
    }
}

#[test]
fn an_unknown_service_is_a_404_page_in_the_layout() {
    let dir = tempfile::tempdir().unwrap();
    let appliance = serve_city(dir.path(), |_| {});
    let (status, body) = appliance.get("/services/no-such-service");
    assert_eq!(status, 404, "{body}");
    assert!(
        body.starts_with("<!DOCTYPE html>"),
        "an HTML page, not JSON:\n{body}"
    );
    assert!(body.contains("Такої послуги немає"), "{body}");
    assert!(
        body.contains("href=\"/\""),
        "it leads back to the catalogue:\n{body}"
    );
    assert!(
        !body.contains("no-such-service"),
        "the request is not echoed:\n{body}"
    );
}

#[test]
fn hostile_text_in_the_spec_is_escaped_and_no_upstream_address_is_shown() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = r#"<script>alert('x')</script> & "лапки""#;
    let appliance = serve_city(dir.path(), |root| {
        edit(
            root,
            "spec/e-services/material-aid.kdl",
            "title \"Надання одноразової",
            r#"title "<script>alert('x')</script> & \"лапки\" Надання одноразової"#,
        );
        edit(
            root,
            "spec/e-services/material-aid.kdl",
            "не частіше одного разу на рік",
            "не частіше одного разу на рік; дані — з http://127.0.0.1:9103/abonents",
        );
    });
    let escaped = escape_html(hostile);
    for path in ["/", "/services/material-aid", &catalogue(&[("q", "лапки")])] {
        let body = page(&appliance, path);
        assert!(!body.contains("<script>"), "{path}:\n{body}");
        assert!(body.contains(&escaped), "{path} lacks `{escaped}`:\n{body}");
        assert!(!body.contains("127.0.0.1:9103"), "{path}:\n{body}");
    }
    let body = page(&appliance, "/services/material-aid");
    assert!(body.contains("дані — з [адресу приховано]"), "{body}");
}

#[test]
fn a_suspended_provider_or_a_service_not_offered_online_takes_no_applications() {
    let dir = tempfile::tempdir().unwrap();
    let appliance = serve_city(dir.path(), |root| {
        edit(
            root,
            "spec/participants/vodokanal.kdl",
            "    class \"COM\"\n",
            "    class \"COM\"\n    status \"suspended\"\n",
        );
        edit(
            root,
            "spec/e-services/heating-recalculation.kdl",
            "submission \"portal\" \"cnap\" \"mail\"",
            "submission \"cnap\" \"mail\"",
        );
    });
    let body = page(&appliance, "/services/water-no-debt");
    assert!(
        body.contains("Надавач тимчасово не приймає заяви через портал"),
        "{body}"
    );
    assert!(!body.contains("Подати заяву онлайн"), "{body}");
    let home = page(&appliance, "/");
    assert!(home.contains("Надавач тимчасово не приймає заяви через портал."));
    let other = page(&appliance, "/services/material-aid");
    assert!(other.contains("Подати заяву онлайн"));
    let offline = page(&appliance, "/services/heating-recalculation");
    assert!(
        offline.contains("Подати заяву на цю послугу онлайн не можна"),
        "{offline}"
    );
    assert!(!offline.contains("Подати заяву онлайн"), "{offline}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_in_the_apply_button_posts_with_the_sessions_csrf_token() {
    let portal = Portal::start().await;
    let browser = portal.sign_in(&CITIZEN).await;
    let page = browser.get("/services/material-aid").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Іваненко Марія Петрівна"),
        "{}",
        page.body
    );
    let form = r#"<form method="post" action="/services/material-aid/apply">"#;
    let at = page
        .body
        .find(form)
        .unwrap_or_else(|| panic!("no apply form:\n{}", page.body));
    let token = format!(
        r#"<input type="hidden" name="csrf" value="{}">"#,
        browser.csrf()
    );
    assert!(page.body[at..].contains(&token), "{}", page.body);
    assert!(!page.body.contains("/sign-in?next="), "{}", page.body);
}
