//! Polls (PORTAL-11; 003 §2.2(10)): the example city's park poll answered once per signed-in
//! person, refused outside its period, a second time, without the form's token or without a
//! session; results shown only after the close, with counts and percentages.

use crate::common::holds_within_30s;
use crate::portal::{CITIZEN, OTHER, Portal};

const POLL: &str = "/polls/park-renewal";

/// Adds `file` to the city's spec and waits until `/polls` shows `question`.
async fn add_poll(portal: &Portal, file: &str, text: &str, question: &str) {
    let path = portal.city.root().join("spec/polls").join(file);
    std::fs::write(&path, text).unwrap();
    let browser = portal.sign_in(&CITIZEN).await;
    assert!(
        holds_within_30s(|| async { browser.get("/polls").await.body.contains(question) }).await,
        "the poll in {file} was not applied:\n{}",
        portal.app.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_answer_per_person_in_the_period_and_results_only_after_the_close() {
    one_answer_per_person(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_answer_per_person_on_postgresql() {
    if let Some(url) = crate::common::postgres::url_or_skip("polls on PostgreSQL") {
        one_answer_per_person(Some(url)).await;
    }
}

async fn one_answer_per_person(database_url: Option<String>) {
    let serve: Vec<&str> = match &database_url {
        Some(url) => vec!["--database-url", url],
        None => vec![],
    };
    let portal = Portal::start_with(&serve).await;

    // Anyone sees the open poll and its options, and is asked to sign in to answer.
    let anonymous = portal.browser();
    let list = anonymous.get("/polls").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(
        list.body.contains(&format!("href=\"{POLL}\"")),
        "{}",
        list.body
    );
    let shown = anonymous.get(POLL).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert!(shown.body.contains("Освітлити алеї"), "{}", shown.body);
    assert!(
        shown.body.contains("Увійти, щоб відповісти"),
        "{}",
        shown.body
    );
    assert!(!shown.body.contains("<form method=\"post\" action=\"/polls"));
    let unsigned = anonymous.post_form_raw(POLL, &[("choice", "trees")]).await;
    assert_eq!(unsigned.status, 303, "{}", unsigned.body);
    assert_eq!(
        unsigned.location.as_deref(),
        Some("/sign-in?next=%2Fpolls%2Fpark-renewal")
    );

    let citizen = portal.sign_in(&CITIZEN).await;
    let form = citizen.get(POLL).await;
    assert!(
        form.body
            .contains(&format!("<form method=\"post\" action=\"{POLL}\"")),
        "{}",
        form.body
    );
    let forged = citizen
        .post_form_raw(POLL, &[("choice", "trees"), ("csrf", "forged")])
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    let unknown = citizen.post_form(POLL, &[("choice", "casino")]).await;
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    assert!(
        unknown.body.contains("Оберіть одну з відповідей"),
        "{}",
        unknown.body
    );

    let answered = citizen.post_form(POLL, &[("choice", "trees")]).await;
    assert_eq!(answered.status, 303, "{}", answered.body);
    let thanks = citizen.follow(answered).await;
    assert!(
        thanks.body.contains("Вашу відповідь враховано"),
        "{}",
        thanks.body
    );
    assert!(thanks.body.contains("Ви вже відповіли"), "{}", thanks.body);

    // A second answer, even for another option, is refused and not counted.
    let twice = citizen.post_form(POLL, &[("choice", "benches")]).await;
    assert_eq!(twice.status, 409, "{}", twice.body);
    assert!(
        twice.body.contains("Ви вже відповіли на це опитування"),
        "{}",
        twice.body
    );

    let other = portal.sign_in(&OTHER).await;
    other.get(POLL).await;
    let theirs = other.post_form(POLL, &[("choice", "benches")]).await;
    assert_eq!(theirs.status, 303, "{}", theirs.body);

    // Before the close nobody sees how many chose what.
    for browser in [&anonymous, &citizen, &other] {
        let page = browser.get(POLL).await;
        assert!(
            !page.body.contains("<h2>Результати</h2>") && !page.body.contains(" %</td>"),
            "{}",
            page.body
        );
    }

    // After the last day: no more answers, and the results for everyone.
    portal.city.set_time("2027-02-01T08:00:00Z");
    let late = other.post_form(POLL, &[("choice", "lighting")]).await;
    assert_eq!(late.status, 409, "{}", late.body);
    assert!(late.body.contains("Опитування завершено"), "{}", late.body);
    let results = anonymous.get(POLL).await;
    assert_eq!(results.status, 200, "{}", results.body);
    for shown in [
        "Відповіді: 2",
        "<th scope=\"row\">Висадити дерева й кущі</th><td>1</td><td>50,0 %</td>",
        "<th scope=\"row\">Встановити лавки та альтанки</th><td>1</td><td>50,0 %</td>",
        "<th scope=\"row\">Освітлити алеї</th><td>0</td><td>0,0 %</td>",
    ] {
        assert!(results.body.contains(shown), "{shown}:\n{}", results.body);
    }
    let list = anonymous.get("/polls").await;
    assert!(list.body.contains("— результати"), "{}", list.body);

    // Counts rewritten in the database behind hromada's back are not shown as results.
    let url = database_url.clone().unwrap_or_else(|| {
        format!(
            "sqlite://{}",
            portal.city.dir.path().join("data/hromada.db").display()
        )
    });
    crate::common::db::execute(
        &url,
        "UPDATE poll_counts SET answers = 500 WHERE choice = 'trees'",
    )
    .await;
    let tampered = anonymous.get(POLL).await;
    assert_eq!(tampered.status, 503, "{}", tampered.body);
    assert!(!tampered.body.contains("500"), "{}", tampered.body);
    assert!(
        portal.app.log_shows("count 501 answers for 2 people"),
        "{}",
        portal.app.log()
    );
    crate::common::db::execute(
        &url,
        "UPDATE poll_counts SET answers = 1 WHERE choice = 'trees'",
    )
    .await;

    // Before the first day, answers are refused too.
    portal.city.set_time("2026-11-20T08:00:00Z");
    let early = citizen.get(POLL).await;
    assert!(
        early.body.contains("Опитування ще не почалося"),
        "{}",
        early.body
    );
    let refused = other.post_form(POLL, &[("choice", "lighting")]).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.body.contains("з 01.12.2026"), "{}", refused.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_for_signed_in_people_or_one_category_is_kept_from_others() {
    let portal = Portal::start().await;
    add_poll(
        &portal,
        "entrepreneurs.kdl",
        r#"poll "market-hours" {
    question "Коли відкривати ринок на Соборній?"
    audience "entrepreneur"
    period from="2026-12-01" until="2026-12-31"
    option "seven" "О 7:00"
    option "eight" "О 8:00"
}
poll "residents-only" {
    question "Чи потрібна нова зупинка біля школи № 5?"
    audience "signed-in"
    period from="2026-12-01" until="2026-12-31"
    option "yes" "Так"
    option "no" "Ні"
}
"#,
        "Коли відкривати ринок",
    )
    .await;

    // Nobody signed in sees neither question; opening one asks to sign in.
    let anonymous = portal.browser();
    let list = anonymous.get("/polls").await;
    assert!(
        !list.body.contains("Коли відкривати ринок") && !list.body.contains("нова зупинка"),
        "{}",
        list.body
    );
    let hidden = anonymous.get("/polls/residents-only").await;
    assert_eq!(hidden.status, 303);
    assert_eq!(
        hidden.location.as_deref(),
        Some("/sign-in?next=%2Fpolls%2Fresidents-only")
    );

    // A signed-in individual answers the residents' poll, but not the entrepreneurs'.
    let citizen = portal.sign_in(&CITIZEN).await;
    citizen.get("/polls/residents-only").await;
    let answered = citizen
        .post_form("/polls/residents-only", &[("choice", "yes")])
        .await;
    assert_eq!(answered.status, 303, "{}", answered.body);
    let page = citizen.get("/polls/market-hours").await;
    assert!(
        page.body.contains("ви не можете на нього відповісти"),
        "{}",
        page.body
    );
    let refused = citizen
        .post_form("/polls/market-hours", &[("choice", "seven")])
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("фізичні особи — підприємці"),
        "{}",
        refused.body
    );

    let missing = citizen.get("/polls/no-such-poll").await;
    assert_eq!(missing.status, 404, "{}", missing.body);

    // The store keeps who answered only as digests, and what was chosen only as counts.
    let url = format!(
        "sqlite://{}",
        portal.city.dir.path().join("data/hromada.db").display()
    );
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let voters: Vec<(String, String)> = sqlx::query_as("SELECT poll, voter FROM poll_voters")
        .fetch_all(&pool)
        .await
        .unwrap();
    let counts: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT poll, choice, answers FROM poll_counts")
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    assert_eq!(voters.len(), 1, "{voters:?}");
    assert!(!voters[0].1.contains(CITIZEN.rnokpp), "{voters:?}");
    assert_eq!(
        counts,
        vec![("residents-only".to_string(), "yes".to_string(), 1)]
    );
}
