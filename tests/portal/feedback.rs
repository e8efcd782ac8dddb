//! What citizens tell the city (PORTAL-11): a decided application rated once, kept by
//! e-service and month without the person; feedback, proposals and complaints to the
//! administrator from any page, signed in or not, anonymous senders limited.

use crate::cabinet::submit_water;
use crate::common::city::NO_DEBT;
use crate::portal::{CITIZEN, KOVAL, OTHER, Portal, ROMANENKO};

/// The portal's SQLite store, read past the appliance as an auditor would.
async fn store(portal: &Portal) -> sqlx::SqlitePool {
    let url = format!(
        "sqlite://{}",
        portal.city.dir.path().join("data/hromada.db").display()
    );
    sqlx::SqlitePool::connect(&url).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decided_application_is_rated_once_and_kept_by_service_and_month_without_the_person() {
    let portal = Portal::start().await;
    let vodokanal_data = tempfile::tempdir().unwrap();
    let _vodokanal = portal.city.start_vodokanal(vodokanal_data.path());
    let citizen = portal.sign_in(&CITIZEN).await;
    let id = submit_water(
        &portal,
        &citizen,
        CITIZEN.rnokpp,
        NO_DEBT,
        "maria@example.org",
        false,
    )
    .await;
    let path = format!("/cabinet/applications/{id}");
    let rating = format!("{path}/rating");

    let page = citizen.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains(&format!("action=\"{rating}\"")),
        "a decided application offers its rating:\n{}",
        page.body
    );

    // Without the session's token, the rating is refused and nothing is kept.
    let forged = citizen
        .post_form_raw(&rating, &[("stars", "1"), ("csrf", "forged")])
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    let malformed = citizen.post_form_raw(&rating, &[("stars", "%%%")]).await;
    assert_eq!(malformed.status, 403, "{}", malformed.body);

    // Stars outside 1–5 or an overlong comment: the form again, saying what is wrong.
    let nine = citizen
        .post_form(&rating, &[("stars", "9"), ("comment", "Добре")])
        .await;
    assert_eq!(nine.status, 400, "{}", nine.body);
    assert!(
        nine.body.contains("Оберіть оцінку від 1 до 5"),
        "{}",
        nine.body
    );
    assert!(
        nine.body.contains(">Добре</textarea>"),
        "the comment is kept: {}",
        nine.body
    );
    let long = "а".repeat(2001);
    let overlong = citizen
        .post_form(&rating, &[("stars", "3"), ("comment", &long)])
        .await;
    assert_eq!(overlong.status, 400, "{}", overlong.body);
    assert!(
        overlong
            .body
            .contains("Скоротіть коментар до 2000 символів")
    );

    // Another person cannot rate it, nor learn that it exists.
    let other = portal.sign_in(&OTHER).await;
    let theirs = other.post_form(&rating, &[("stars", "1")]).await;
    assert_eq!(theirs.status, 404, "{}", theirs.body);

    let rated = citizen
        .post_form(&rating, &[("stars", "4"), ("comment", "Швидко і зручно")])
        .await;
    assert_eq!(rated.status, 303, "{}", rated.body);
    assert_eq!(rated.location.as_deref(), Some(&*format!("{path}#rating")));
    let page = citizen.get(&path).await;
    assert!(
        page.body.contains("Ваша оцінка: 4 з 5") && page.body.contains("«Швидко і зручно»"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains(&format!("action=\"{rating}\"")),
        "no second form"
    );

    // A second rating (a double submit, or a change of mind) is refused; the first stays.
    let again = citizen.post_form(&rating, &[("stars", "1")]).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(
        again.body.contains("Ви вже оцінили цю послугу"),
        "{}",
        again.body
    );
    assert!(citizen.get(&path).await.body.contains("Ваша оцінка: 4 з 5"));

    // The store keeps the e-service, the month and the stars; not the person, not the
    // application's id.
    let pool = store(&portal).await;
    let kept: Vec<(String, String, String, i64, Option<String>)> =
        sqlx::query_as("SELECT application_key, e_service, month, stars, comment FROM ratings")
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    assert_eq!(kept.len(), 1, "{kept:?}");
    let (key, e_service, month, stars, comment) = &kept[0];
    assert_eq!(
        (
            e_service.as_str(),
            month.as_str(),
            *stars,
            comment.as_deref()
        ),
        (
            "water-no-debt",
            "2026-12-01T00:00:00.000000000Z",
            4,
            Some("Швидко і зручно")
        )
    );
    assert!(!key.contains(&id) && !key.contains(CITIZEN.rnokpp), "{key}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_still_under_consideration_cannot_be_rated() {
    let portal = Portal::start().await;
    let vodokanal_data = tempfile::tempdir().unwrap();
    let _vodokanal = portal.city.start_vodokanal(vodokanal_data.path());
    let citizen = portal.sign_in(&CITIZEN).await;
    // The billing stops answering: the case waits for the clerk, undecided.
    let id = submit_water(
        &portal,
        &citizen,
        CITIZEN.rnokpp,
        NO_DEBT,
        "maria@example.org",
        true,
    )
    .await;
    let path = format!("/cabinet/applications/{id}");
    let page = citizen.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("Оцініть послугу"), "{}", page.body);
    let early = citizen
        .post_form(&format!("{path}/rating"), &[("stars", "5")])
        .await;
    assert_eq!(early.status, 409, "{}", early.body);
    assert!(early.body.contains("Оцінити ще не можна"), "{}", early.body);
    let pool = store(&portal).await;
    let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ratings")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(kept, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anyone_writes_to_the_administrator_from_any_page_and_anonymous_senders_are_limited() {
    let portal = Portal::start().await;
    let anonymous = portal.browser();

    // Every page's footer leads to the form.
    for page in ["/", "/services/water-no-debt", "/polls"] {
        let shown = anonymous.get(page).await;
        assert_eq!(shown.status, 200, "{page}: {}", shown.body);
        assert!(
            shown.body.contains("href=\"/feedback\""),
            "{page}: {}",
            shown.body
        );
    }

    // The page it came from is taken from the browser's Referer, from this portal only.
    let referred = reqwest::Client::new()
        .get(format!("{}/feedback", portal.app.url))
        .header(
            "Referer",
            format!("{}/services/water-no-debt?x=1", portal.app.url),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        referred.contains(r#"name="page" value="/services/water-no-debt?x=1""#),
        "{referred}"
    );
    let foreign = reqwest::Client::new()
        .get(format!("{}/feedback", portal.app.url))
        .header("Referer", "https://evil.example/phish")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(foreign.contains(r#"name="page" value="""#), "{foreign}");

    let form = anonymous.get("/feedback").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let token = anonymous.csrf();

    // A form posted from elsewhere (no token, or another token) is refused.
    let forged = anonymous
        .post_form_raw("/feedback", &[("kind", "complaint"), ("text", "Спам")])
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    let stranger = portal.browser();
    let elsewhere = stranger
        .post_form_raw(
            "/feedback",
            &[("kind", "complaint"), ("text", "Спам"), ("csrf", &token)],
        )
        .await;
    assert_eq!(
        elsewhere.status, 403,
        "another browser's token: {}",
        elsewhere.body
    );
    assert!(
        portal
            .app
            .log()
            .contains("a message to the administrator was sent without its token"),
        "the refusal is not a security event:\n{}",
        portal.app.log()
    );

    // What is wrong is said, and what was written is kept.
    let wrong = anonymous
        .post_form(
            "/feedback",
            &[
                ("kind", "spam"),
                ("text", "Довгий текст"),
                ("email", "not an address"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    for said in [
        "Оберіть, що ви надсилаєте",
        "Введіть адресу електронної пошти",
        ">Довгий текст</textarea>",
        "value=\"not an address\"",
        // Beside the field too, tied to it for screen readers.
        "aria-describedby=\"feedback-email-error\" aria-invalid=\"true\"",
    ] {
        assert!(wrong.body.contains(said), "{said}: {}", wrong.body);
    }
    let hostile_page = anonymous
        .post_form(
            "/feedback",
            &[
                ("kind", "feedback"),
                ("text", "Текст"),
                ("page", "//evil.example/x"),
            ],
        )
        .await;
    assert_eq!(hostile_page.status, 400, "{}", hostile_page.body);
    assert!(hostile_page.body.contains("адресу сторінки цього порталу"));

    let sent = anonymous
        .post_form(
            "/feedback",
            &[
                ("kind", "proposal"),
                ("page", "/services/water-no-debt"),
                ("text", "Додайте, будь ласка, оплату карткою"),
                ("email", "olena@example.org"),
            ],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let thanks = anonymous.follow(sent).await;
    assert!(
        thanks.body.contains("Повідомлення надіслано"),
        "{}",
        thanks.body
    );

    // Four more go through; the sixth within the quarter hour is refused, and not kept.
    for n in 0..4 {
        anonymous.get("/feedback").await;
        let more = anonymous
            .post_form(
                "/feedback",
                &[("kind", "feedback"), ("text", &format!("Відгук {n}"))],
            )
            .await;
        assert_eq!(more.status, 303, "message {n}: {}", more.body);
    }
    let sixth = anonymous
        .post_form("/feedback", &[("kind", "feedback"), ("text", "Ще один")])
        .await;
    assert_eq!(sixth.status, 429, "{}", sixth.body);
    assert!(
        sixth.body.contains("кілька повідомлень поспіль"),
        "{}",
        sixth.body
    );

    // A signed-in person writes with their session's token and their own allowance.
    let citizen = portal.sign_in(&CITIZEN).await;
    citizen.get("/feedback").await;
    let complaint = citizen
        .post_form(
            "/feedback",
            &[
                ("kind", "complaint"),
                ("text", "Сторінка послуги не відкривається"),
            ],
        )
        .await;
    assert_eq!(complaint.status, 303, "{}", complaint.body);

    let pool = store(&portal).await;
    let kept: Vec<(String, String, String, Option<String>, bool)> = sqlx::query_as(
        "SELECT kind, page, body, email, signed_in FROM feedback ORDER BY received_at, id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let buckets: Vec<(String,)> =
        sqlx::query_as("SELECT agreement FROM rate_buckets WHERE node = 'portal-feedback'")
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    assert_eq!(kept.len(), 6, "{kept:#?}");
    assert_eq!(
        kept[0],
        (
            "proposal".to_string(),
            "/services/water-no-debt".to_string(),
            "Додайте, будь ласка, оплату карткою".to_string(),
            Some("olena@example.org".to_string()),
            false
        )
    );
    let last = &kept[5];
    assert_eq!((last.0.as_str(), last.4), ("complaint", true));
    assert!(
        kept.iter()
            .all(|row| !format!("{row:?}").contains(CITIZEN.rnokpp)),
        "{kept:?}"
    );
    // The buckets name no address.
    assert_eq!(buckets.len(), 2, "{buckets:?}");
    assert!(
        buckets.iter().all(|(b,)| !b.contains("127.0.0.1")),
        "{buckets:?}"
    );

    // The administrator (`audit-read`) reads them in the office, and the read is logged.
    let office = portal.browser().get("/office/feedback").await;
    assert_eq!(office.status, 303, "{}", office.body);
    assert!(
        office
            .location
            .as_deref()
            .is_some_and(|l| l.starts_with("/office/sign-in")),
        "{:?}",
        office.location
    );
    let administrator = portal
        .sign_in_official_to(&ROMANENKO, "/office/feedback")
        .await;
    let read = administrator.get("/office/feedback").await;
    assert_eq!(read.status, 200, "{}", read.body);
    for shown in [
        "Звернень: 6.",
        "Пропозиція",
        "Скарга",
        "Додайте, будь ласка, оплату карткою",
        "mailto:olena@example.org",
        "Зі сторінки /services/water-no-debt",
        "(надіслано після входу на портал)",
    ] {
        assert!(read.body.contains(shown), "{shown}:\n{}", read.body);
    }
    let newest = read.body.find("Сторінка послуги не відкривається").unwrap();
    assert!(newest < read.body.find("Відгук 0").unwrap(), "newest first");
    let clerk = portal.sign_in_official_to(&KOVAL, "/office/feedback").await;
    let refused = clerk.get("/office/feedback").await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(!refused.body.contains("оплату карткою"));
    let pool = store(&portal).await;
    let logged: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM official_access WHERE official = 'romanenko-y' AND action = 'feedback'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert!(
        logged >= 1,
        "the administrator's read is not in the access log"
    );
}
