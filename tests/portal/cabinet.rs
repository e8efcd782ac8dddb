//! The citizen's cabinet (PORTAL-6, MIN-4): their applications with status, history, notices and
//! documents, withdrawal, and who asked the registries for their data; never another person's.

use serde_json::{Value, json};

use crate::common::city::TOKEN;
use crate::portal::{Browser, CITIZEN, OTHER, Portal};

/// Starts a case through the cases API as the front office would, for `rnokpp`.
async fn start_case(portal: &Portal, rnokpp: &str, key: &str, application: &Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}/api/cases", portal.app.url))
        .bearer_auth(TOKEN)
        .header("X-Hromada-Actor", format!("applicant:{rnokpp}"))
        .header("Idempotency-Key", key)
        .json(application)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body:#}\n{}", portal.app.log());
    body
}

/// A material-aid application of `rnokpp`; starting it asks the residents' register about them.
fn material_aid(rnokpp: &str, name: &str) -> Value {
    json!({
        "e_service": "material-aid",
        "applicant_name": name,
        "data": {
            "rnokpp": rnokpp,
            "full_name": name,
            "birth_date": "1980-04-02",
            "phone": "+380671234567",
            "email": "maria@example.org",
            "district": "03",
            "reason": "02",
            "event_date": "2026-11-20",
            "requested_amount": 12000,
            "monthly_income": 4200,
            "family": [],
            "iban": "UA213223130000026007233566001",
        },
    })
}

/// How many records a "who asked for my data" page lists.
fn records_on(body: &str) -> usize {
    body.matches("<dt>Хто отримав</dt>").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_asked_for_my_data_lists_each_release_about_me_newest_first_paged_and_nobody_elses() {
    let portal = Portal::start().await;
    for i in 0..21 {
        let key = format!("aid-citizen-{i}");
        start_case(
            &portal,
            CITIZEN.rnokpp,
            &key,
            &material_aid(CITIZEN.rnokpp, "Іваненко Марія Петрівна"),
        )
        .await;
    }
    start_case(
        &portal,
        OTHER.rnokpp,
        "aid-other",
        &material_aid(OTHER.rnokpp, "Петренко Олег Іванович"),
    )
    .await;

    let citizen = portal.sign_in(&CITIZEN).await;
    let first = citizen.get("/cabinet/data-requests").await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(records_on(&first.body), 20, "{}", first.body);
    for shown in [
        "Записів: 21",
        "Сторінка 1 з 2",
        // The body and its system, the register, by the names the applied spec gives them.
        "Виконавчий комітет Запорізької міської ради",
        "Портал електронних послуг міста",
        "Департамент реєстраційних послуг Запорізької міської ради",
        "Видача витягу з реєстру територіальної громади",
        "ЗУ «Про свободу пересування",
        "birth_date",
        "href=\"/cabinet/data-requests?page=2\"",
    ] {
        assert!(
            first.body.contains(shown),
            "`{shown}` is not shown:\n{}",
            first.body
        );
    }
    // What was released is named, never shown; nothing of the other person.
    for hidden in ["1980-04-02", "вул. Соборна", OTHER.rnokpp, "Петренко"] {
        assert!(
            !first.body.contains(hidden),
            "`{hidden}` is shown:\n{}",
            first.body
        );
    }
    let second = citizen.get("/cabinet/data-requests?page=2").await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(records_on(&second.body), 1, "{}", second.body);
    assert!(
        second
            .body
            .contains("href=\"/cabinet/data-requests?page=1\"")
    );
    let beyond = citizen.get("/cabinet/data-requests?page=7").await;
    assert_eq!(beyond.status, 200, "{}", beyond.body);
    assert_eq!(records_on(&beyond.body), 0);
    assert!(
        beyond.body.contains("На цій сторінці записів немає"),
        "{}",
        beyond.body
    );
    for wrong in ["0", "-1", "two", "1%3B%20DROP%20TABLE%20subject_uses"] {
        let refused = citizen
            .get(&format!("/cabinet/data-requests?page={wrong}"))
            .await;
        assert_eq!(refused.status, 400, "page={wrong}: {}", refused.body);
        assert!(
            refused
                .body
                .contains("Номер сторінки має бути цілим числом"),
            "{}",
            refused.body
        );
    }

    let other = portal.sign_in(&OTHER).await;
    let theirs = other.get("/cabinet/data-requests").await;
    assert_eq!(theirs.status, 200, "{}", theirs.body);
    assert_eq!(records_on(&theirs.body), 1, "{}", theirs.body);
    assert!(theirs.body.contains("Записів: 1"), "{}", theirs.body);
    assert!(!theirs.body.contains(CITIZEN.rnokpp), "{}", theirs.body);

    // Signed out, the page asks to sign in first.
    let anonymous = portal.browser().get("/cabinet/data-requests").await;
    assert_eq!(anonymous.status, 303);
    assert!(
        anonymous
            .location
            .as_deref()
            .unwrap_or_default()
            .starts_with("/sign-in?next="),
        "{anonymous:?}"
    );
}

/// Applies for `e_service`; the new draft's id.
async fn apply(browser: &Browser, e_service: &str) -> String {
    let started = browser
        .post_form(&format!("/services/{e_service}/apply"), &[])
        .await;
    assert_eq!(started.status, 303, "{}", started.body);
    let location = started.location.unwrap();
    location
        .strip_prefix("/drafts/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("apply went to {location}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cabinet_lists_my_drafts_to_resume_where_i_left_off_or_delete_and_nobody_elses() {
    let portal = Portal::start().await;
    let citizen = portal.sign_in(&CITIZEN).await;
    let aid = apply(&citizen, "material-aid").await;
    let water = apply(&citizen, "water-no-debt").await;
    let saved = citizen
        .post_form(
            &format!("/drafts/{aid}/pages/applicant"),
            &[
                ("f.birth_date", "1980-05-17"),
                ("f.phone", "+380 61 222 33 44"),
                ("f.email", "maria@example.com"),
                ("f.district", "03"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    // The draft resumes at the page last saved.
    let resume = format!("/drafts/{aid}/pages/applicant");

    let cabinet = citizen.get("/cabinet").await;
    assert_eq!(cabinet.status, 200, "{}", cabinet.body);
    for shown in [
        "Надання одноразової матеріальної допомоги",
        "Видача довідки про відсутність заборгованості",
        &format!("href=\"{resume}\""),
        &format!("action=\"/drafts/{aid}/delete\""),
        &format!("action=\"/drafts/{water}/delete\""),
        "Ви ще не подали жодної заяви",
        "Іваненко Марія Петрівна",
    ] {
        assert!(
            cabinet.body.contains(shown),
            "`{shown}` is not in the cabinet:\n{}",
            cabinet.body
        );
    }
    // Resuming from the cabinet opens the page the citizen had saved, answers kept.
    let resumed = citizen.get(&resume).await;
    assert_eq!(resumed.status, 200, "{}", resumed.body);
    assert!(resumed.body.contains("maria@example.com"), "{}", resumed.body);

    // Deleting a draft from the cabinet's own form removes it from the list.
    let deleted = citizen
        .post_form(&format!("/drafts/{water}/delete"), &[])
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert!(deleted.body.contains("Чернетку видалено"), "{}", deleted.body);
    let cabinet = citizen.get("/cabinet").await;
    assert!(!cabinet.body.contains(&water), "{}", cabinet.body);
    assert!(cabinet.body.contains(&aid), "{}", cabinet.body);

    // Another person's cabinet shows none of it.
    let other = portal.sign_in(&OTHER).await;
    let theirs = other.get("/cabinet").await;
    assert_eq!(theirs.status, 200, "{}", theirs.body);
    assert!(!theirs.body.contains(&aid), "{}", theirs.body);
    assert!(theirs.body.contains("Чернеток немає"), "{}", theirs.body);
    assert!(!theirs.body.contains("Іваненко"), "{}", theirs.body);

    let anonymous = portal.browser().get("/cabinet").await;
    assert_eq!(anonymous.status, 303);
    assert_eq!(
        anonymous.location.as_deref(),
        Some("/sign-in?next=%2Fcabinet")
    );
}
