//! Officials in the office through `hromada serve` (PORTAL-7; 003 §6.3–6.11): they sign in
//! through the citizens' identity provider and are matched by RNOKPP to the spec's officials;
//! their session is not a citizen's; those with `users-manage` block, unblock and annul them
//! (effective at the next request, kept over a restart, ended at the day it names); the spec may
//! block them too; and every view and action is in an access log only `audit-read` reads.

use hromada::store::{AccessFilter, Store};

use crate::common::holds_within_30s;
use crate::portal::{
    Browser, CITIZEN, KOVAL, MOROZ, OfficialAccount, Page, Portal, ROMANENKO, TKACHENKO,
};

async fn store_of(portal: &Portal) -> Store {
    let db = portal.city.dir.path().join("data/hromada.db");
    Store::connect(&Store::sqlite_url(&db)).await.unwrap()
}

/// Whether a `kind` security event names `subject`, waiting for it (some are written later).
async fn has_event(portal: &Portal, kind: &str, subject: &str) -> bool {
    let store = store_of(portal).await;
    holds_within_30s(|| async {
        store
            .security_events(1000)
            .await
            .unwrap()
            .iter()
            .any(|e| e.event.kind == kind && e.event.subject.as_deref() == Some(subject))
    })
    .await
}

/// `official` signed in and landed on a page of the office that every official opens with a
/// CSRF token: ROMANENKO on `/office/users`, the others refused `/office/audit` (403, but in
/// their session).
async fn office(portal: &Portal, official: &OfficialAccount) -> Browser {
    let next = if official.id == ROMANENKO.id {
        "/office/users"
    } else {
        "/office/audit"
    };
    portal.sign_in_official_to(official, next).await
}

/// Whether `page` is the refusal of a signed-in official who lacks a permission.
fn lacks_permission(page: &Page) -> bool {
    page.status == 403 && page.body.contains("Немає доступу")
}

/// Whether `page` is the refusal of a blocked or annulled official.
fn blocked(page: &Page) -> bool {
    page.status == 403 && page.body.contains("Доступ до кабінету закрито")
}

fn to_office_sign_in(page: &Page) -> bool {
    page.status == 303
        && page
            .location
            .as_deref()
            .is_some_and(|l| l.starts_with("/office/sign-in?next="))
}

async fn change(
    admin: &Browser,
    official: &OfficialAccount,
    action: &str,
    until: &str,
    reason: &str,
) -> Page {
    admin
        .post_form(
            &format!("/office/users/{}/block", official.id),
            &[("action", action), ("until", until), ("reason", reason)],
        )
        .await
}

/// The callback of a sign-in to the office as `account`, visited: the page and its cookies.
async fn office_callback(
    portal: &Portal,
    browser: &Browser,
    account: &crate::common::oidc::Account,
) -> Page {
    let callback = portal
        .authorize_from(browser, account, "/office/sign-in")
        .await;
    browser.get(&callback).await
}

fn set_cookies(page: &Page) -> Vec<String> {
    page.headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_official_signs_in_by_the_rnokpp_the_spec_names_into_a_session_of_their_own() {
    let portal = Portal::start().await;
    let browser = portal.browser();
    let landed = office_callback(&portal, &browser, &ROMANENKO.account).await;
    assert_eq!(landed.status, 303, "{}\n{}", landed.body, portal.app.log());
    assert_eq!(landed.location.as_deref(), Some("/office"));
    let cookies = set_cookies(&landed);
    let office_cookie = cookies
        .iter()
        .find(|c| c.starts_with("hromada-office="))
        .unwrap_or_else(|| panic!("no office cookie: {cookies:?}"));
    assert!(office_cookie.contains("HttpOnly"), "{office_cookie}");
    assert!(
        !cookies.iter().any(|c| c.starts_with("hromada=")),
        "an official's sign-in set a citizen's cookie: {cookies:?}"
    );
    let users = browser.get("/office/users").await;
    assert_eq!(users.status, 200, "{}", users.body);
    assert!(
        users.body.contains("Романенко Юлія Олександрівна"),
        "{}",
        users.body
    );
    assert!(
        users.body.contains("Коваль Оксана Миколаївна"),
        "{}",
        users.body
    );
    assert!(
        users.body.contains(r#"action="/office/sign-out""#),
        "{}",
        users.body
    );
    assert!(has_event(&portal, "signed-in", ROMANENKO.account.sub).await);

    // KOVAL is an official too: in the office, though without users-manage.
    let koval = office(&portal, &KOVAL).await;
    let page = koval.get("/office/users").await;
    assert!(lacks_permission(&page), "{} {}", page.status, page.body);
    assert!(
        page.body.contains("Коваль Оксана Миколаївна"),
        "{}",
        page.body
    );

    // Sign-out ends the office session: the next page asks to sign in again.
    let out = koval.post_form("/office/sign-out", &[]).await;
    assert_eq!(out.status, 200, "{}", out.body);
    assert!(out.body.contains("/office/sign-in"), "{}", out.body);
    assert!(to_office_sign_in(&koval.get("/office/users").await));
    assert!(has_event(&portal, "signed-out", KOVAL.account.sub).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_who_is_no_official_is_refused_the_office_and_gets_no_session() {
    let portal = Portal::start().await;
    let browser = portal.browser();
    let refused = office_callback(&portal, &browser, &CITIZEN).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("Вхід до кабінету посадової особи не дозволено"),
        "{}",
        refused.body
    );
    assert!(
        !set_cookies(&refused)
            .iter()
            .any(|c| c.starts_with("hromada-office=") && !c.contains("Max-Age=0")),
        "a refused sign-in set an office cookie"
    );
    assert!(to_office_sign_in(&browser.get("/office/users").await));
    assert!(has_event(&portal, "refused-official", CITIZEN.sub).await);
    // A `next` off this site is never followed: the office's inbox instead.
    let browser = portal.browser();
    let callback = portal
        .authorize_from(
            &browser,
            &MOROZ.account,
            "/office/sign-in?next=https%3A%2F%2Fevil.example%2F",
        )
        .await;
    let landed = browser.get(&callback).await;
    assert_eq!(landed.status, 303, "{}", landed.body);
    assert_eq!(landed.location.as_deref(), Some("/office"));
    // Nothing in the log names the person beyond the provider's subject.
    assert!(!portal.app.log().contains(CITIZEN.rnokpp));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizens_session_is_no_office_session_nor_the_other_way_round() {
    let portal = Portal::start().await;
    let citizen = portal.sign_in(&CITIZEN).await;
    assert!(to_office_sign_in(&citizen.get("/office/users").await));
    let post = citizen
        .post_form(
            "/office/users/koval-o/block",
            &[("action", "annul"), ("reason", "x")],
        )
        .await;
    assert_eq!(post.status, 401, "{}", post.body);

    let official = office(&portal, &ROMANENKO).await;
    let cabinet = official.get("/cabinet").await;
    assert_eq!(cabinet.status, 303, "{}", cabinet.body);
    assert!(cabinet.location.unwrap().starts_with("/sign-in?next="));

    // An office token sent as a citizen's cookie, or a citizen's as an office one, opens nothing.
    let browser = portal.browser();
    let landed = office_callback(&portal, &browser, &MOROZ.account).await;
    let token = set_cookies(&landed)
        .into_iter()
        .find_map(|c| {
            c.strip_prefix("hromada-office=")
                .map(|rest| rest.split(';').next().unwrap().to_string())
        })
        .unwrap();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let as_citizen = client
        .get(format!("{}/cabinet", portal.app.url))
        .header("Cookie", format!("hromada={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(as_citizen.status().as_u16(), 303);
    let as_official = client
        .get(format!("{}/office/audit", portal.app.url))
        .header("Cookie", format!("hromada-office={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        as_official.status().as_u16(),
        403,
        "MOROZ's own token works"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_takes_effect_at_the_next_request_and_survives_a_restart() {
    let portal = Portal::start().await;
    let admin = office(&portal, &ROMANENKO).await;
    let koval = office(&portal, &KOVAL).await;
    assert!(lacks_permission(&koval.get("/office/audit").await));

    let done = change(&admin, &KOVAL, "block", "", "Службове розслідування").await;
    assert_eq!(done.status, 303, "{}", done.body);
    let users = admin.follow(done).await;
    assert!(
        users
            .body
            .contains("Доступ змінено: Коваль Оксана Миколаївна"),
        "{}",
        users.body
    );
    assert!(
        users.body.contains("Заблоковано безстроково"),
        "{}",
        users.body
    );
    assert!(
        users.body.contains("Службове розслідування"),
        "{}",
        users.body
    );

    // KOVAL's very next request is refused, and her session is over.
    let next = koval.get("/office/audit").await;
    assert!(blocked(&next), "{} {}", next.status, next.body);
    assert!(to_office_sign_in(&koval.get("/office/audit").await));
    assert!(has_event(&portal, "refused-official", KOVAL.account.sub).await);
    assert!(has_event(&portal, "account-changed", ROMANENKO.account.sub).await);
    // Signing in again is refused too.
    let again = office_callback(&portal, &portal.browser(), &KOVAL.account).await;
    assert!(blocked(&again), "{} {}", again.status, again.body);

    // MOROZ, blocked now, is refused after a restart with her session still open.
    let moroz = office(&portal, &MOROZ).await;
    let done = change(&admin, &MOROZ, "block", "2027-03-01", "Відпустка").await;
    assert_eq!(done.status, 303, "{}", done.body);
    let portal = portal.restart().await;
    let moroz = moroz.moved_to(&portal.app.url);
    let after = moroz.get("/office/audit").await;
    assert!(blocked(&after), "{} {}", after.status, after.body);
    let store = store_of(&portal).await;
    let blocks = store.official_blocks().await.unwrap();
    assert_eq!(
        blocks
            .iter()
            .map(|b| b.official.as_str())
            .collect::<Vec<_>>(),
        ["koval-o", "moroz-v"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_for_a_time_ends_after_its_day_and_unblocking_lets_back_in() {
    let portal = Portal::start().await;
    let admin = office(&portal, &ROMANENKO).await;
    // The city's clock stands at Monday 21 December 2026.
    let done = change(&admin, &MOROZ, "block", "2026-12-23", "Відрядження").await;
    assert_eq!(done.status, 303, "{}", done.body);
    let page = admin.get("/office/users").await;
    assert!(
        page.body.contains("Заблоковано до 23.12.2026 включно"),
        "{}",
        page.body
    );

    // 23:30 in Kyiv on the last day: still blocked.
    portal.city.set_time("2026-12-23T21:30:00Z");
    let refused = office_callback(&portal, &portal.browser(), &MOROZ.account).await;
    assert!(blocked(&refused), "{} {}", refused.status, refused.body);
    // The day after: in again, with nothing changed by anyone.
    portal.city.set_time("2026-12-24T07:00:00Z");
    let moroz = office(&portal, &MOROZ).await;
    assert!(lacks_permission(&moroz.get("/office/audit").await));

    // Blocked for good, then unblocked: in again.
    let done = change(&admin, &MOROZ, "block", "", "Перевірка").await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(blocked(&moroz.get("/office/audit").await));
    let done = change(&admin, &MOROZ, "unblock", "", "Перевірку завершено").await;
    assert_eq!(done.status, 303, "{}", done.body);
    let moroz = office(&portal, &MOROZ).await;
    assert!(lacks_permission(&moroz.get("/office/audit").await));
    let page = admin.get("/office/users").await;
    for shown in [
        "Розблоковано",
        "Перевірку завершено",
        "Заблоковано безстроково",
        "Відрядження",
    ] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_annulled_account_stays_annulled() {
    let portal = Portal::start().await;
    let admin = office(&portal, &ROMANENKO).await;
    let done = change(&admin, &TKACHENKO, "annul", "", "Звільнення").await;
    assert_eq!(done.status, 303, "{}", done.body);
    for (action, until) in [("unblock", ""), ("block", "2027-01-31")] {
        let refused = change(&admin, &TKACHENKO, action, until, "Спроба").await;
        assert_eq!(refused.status, 409, "{action}: {}", refused.body);
        assert!(refused.body.contains("анульовано"), "{}", refused.body);
    }
    let refused = office_callback(&portal, &portal.browser(), &TKACHENKO.account).await;
    assert!(blocked(&refused), "{} {}", refused.status, refused.body);
    let store = store_of(&portal).await;
    let changes = store.official_account_changes(10).await.unwrap();
    assert_eq!(
        changes.len(),
        1,
        "a refused change was recorded: {changes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_users_manage_changes_access_with_the_form_and_a_reason_and_never_ones_own() {
    let portal = Portal::start().await;
    let koval = office(&portal, &KOVAL).await;
    assert!(lacks_permission(&koval.get("/office/users").await));
    assert!(lacks_permission(
        &koval.get("/office/users/moroz-v/block").await
    ));
    let post = change(&koval, &MOROZ, "block", "", "Не моя справа").await;
    assert!(lacks_permission(&post), "{} {}", post.status, post.body);

    let admin = office(&portal, &ROMANENKO).await;
    // Without the CSRF token, or with another session's.
    let bare = admin
        .post_form_raw(
            "/office/users/moroz-v/block",
            &[("action", "block"), ("reason", "Без токена")],
        )
        .await;
    assert_eq!(bare.status, 403, "{}", bare.body);
    assert!(bare.body.contains("Форму не прийнято"), "{}", bare.body);
    let forged = admin
        .post_form(
            "/office/users/moroz-v/block",
            &[
                ("action", "block"),
                ("reason", "x"),
                ("csrf", &koval.csrf()),
            ],
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(has_event(&portal, "refused-csrf", ROMANENKO.account.sub).await);

    let no_reason = change(&admin, &MOROZ, "block", "", "  ").await;
    assert_eq!(no_reason.status, 400, "{}", no_reason.body);
    assert!(
        no_reason.body.contains("Вкажіть причину"),
        "{}",
        no_reason.body
    );
    let past = change(&admin, &MOROZ, "block", "2026-12-01", "Минуле").await;
    assert_eq!(past.status, 400, "{}", past.body);
    let garbled = change(&admin, &MOROZ, "block", "31.12.2026", "Формат").await;
    assert_eq!(garbled.status, 400, "{}", garbled.body);
    assert!(garbled.body.contains("РРРР-ММ-ДД"), "{}", garbled.body);
    assert!(garbled.body.contains(r#"value="Формат""#) || garbled.body.contains(">Формат<"));
    let own = change(&admin, &ROMANENKO, "block", "", "Сама себе").await;
    assert_eq!(own.status, 400, "{}", own.body);
    let nobody = change(
        &admin,
        &OfficialAccount {
            id: "nobody-x",
            account: CITIZEN,
        },
        "block",
        "",
        "Нема такого",
    )
    .await;
    assert_eq!(nobody.status, 404, "{}", nobody.body);
    let unblock = change(&admin, &MOROZ, "unblock", "", "Не заблоковано").await;
    assert_eq!(unblock.status, 409, "{}", unblock.body);

    let store = store_of(&portal).await;
    assert!(store.official_blocks().await.unwrap().is_empty());
    assert!(store.official_account_changes(10).await.unwrap().is_empty());
    let moroz = office(&portal, &MOROZ).await;
    assert!(lacks_permission(&moroz.get("/office/audit").await));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spec_blocks_an_official_whatever_the_store_says() {
    let portal = Portal::start().await;
    let admin = office(&portal, &ROMANENKO).await;
    let koval = office(&portal, &KOVAL).await;
    // The store knows KOVAL as blocked once and unblocked since.
    assert_eq!(
        change(&admin, &KOVAL, "block", "", "Перевірка")
            .await
            .status,
        303
    );
    assert!(blocked(&koval.get("/office/audit").await));
    assert_eq!(
        change(&admin, &KOVAL, "unblock", "", "Готово").await.status,
        303
    );
    let koval = office(&portal, &KOVAL).await;
    assert!(lacks_permission(&koval.get("/office/audit").await));
    let before = portal.app.applied();
    portal.city.edit(
        "spec/registry/officials.kdl",
        "    rnokpp \"2876541207\"\n}",
        "    rnokpp \"2876541207\"\n    blocked reason=\"Звільнення за наказом\"\n}",
    );
    portal.app.wait_for("the spec's block applied", |s| {
        s["applied"]["revision"]
            .as_str()
            .is_some_and(|r| r != before)
    });
    let refused = koval.get("/office/audit").await;
    assert!(blocked(&refused), "{} {}", refused.status, refused.body);
    let page = admin.get("/office/users").await;
    assert!(page.body.contains("(у специфікації)"), "{}", page.body);
    assert!(page.body.contains("Звільнення за наказом"), "{}", page.body);
    // Unblocking in the office does not lift the spec's block.
    let unblock = change(&admin, &KOVAL, "unblock", "", "Спроба").await;
    assert_eq!(unblock.status, 409, "{}", unblock.body);
    let again = office_callback(&portal, &portal.browser(), &KOVAL.account).await;
    assert!(blocked(&again), "{} {}", again.status, again.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_access_log_shows_views_and_actions_newest_first_to_audit_read_only() {
    let portal = Portal::start().await;
    let koval = office(&portal, &KOVAL).await;
    let refused = koval.get("/office/audit").await;
    assert!(lacks_permission(&refused));
    let admin = office(&portal, &ROMANENKO).await;
    assert_eq!(
        change(&admin, &MOROZ, "block", "", "Перевірка")
            .await
            .status,
        303
    );

    let log = admin.get("/office/audit").await;
    assert_eq!(log.status, 200, "{}", log.body);
    // Newest first: this very read, the block, the users page, the sign-ins.
    let order: Vec<usize> = [
        "read the access log",
        "official moroz-v blocked for good",
        "signed in",
    ]
    .iter()
    .map(|s| {
        log.body
            .find(s)
            .unwrap_or_else(|| panic!("{s} not shown: {}", log.body))
    })
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    assert!(
        log.body.contains("Коваль Оксана Миколаївна"),
        "{}",
        log.body
    );
    assert!(
        log.body.contains("21.12.2026"),
        "the engine's time: {}",
        log.body
    );

    // By official: KOVAL's sign-in and her two refusals only.
    let koval_only = admin.get("/office/audit?official=koval-o").await;
    assert_eq!(koval_only.status, 200);
    assert!(
        koval_only.body.contains("Записів: 3."),
        "{}",
        koval_only.body
    );
    assert!(
        !koval_only.body.contains("blocked for good"),
        "{}",
        koval_only.body
    );
    // By case: a read of the log for a case is itself found by that case.
    let by_case = admin.get("/office/audit?case=CASE-77").await;
    assert!(by_case.body.contains("Записів: 1."), "{}", by_case.body);
    let store = store_of(&portal).await;
    let (reads, total) = store
        .official_access(
            &AccessFilter {
                official: Some("romanenko-y".into()),
                case_id: None,
            },
            100,
            0,
        )
        .await
        .unwrap();
    assert_eq!(
        reads.iter().filter(|r| r.entry.action == "audit").count(),
        3,
        "each read of the log is logged: {reads:?}"
    );
    assert_eq!(total, 6, "sign-in, users, block and three reads: {reads:?}");
    // A hostile page number or filter is read as the first page, not an error.
    let odd = admin.get("/office/audit?page=-3&official=%27%3B--").await;
    assert_eq!(odd.status, 200, "{}", odd.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_official_gone_from_the_spec_or_with_a_rewritten_block_is_not_let_in() {
    let portal = Portal::start().await;
    let moroz = office(&portal, &MOROZ).await;
    let koval = office(&portal, &KOVAL).await;

    // A block row rewritten outside hromada fails closed: KOVAL is not let in, and told why
    // in the log for the operator, not on the page.
    let db = portal.city.dir.path().join("data/hromada.db");
    crate::common::db::execute(
        &Store::sqlite_url(&db),
        "INSERT INTO official_blocks (official, state, until, reason, by_official, at) \
         VALUES ('koval-o', 'frozen', NULL, 'x', 'nobody', '2026-12-21T09:00:00Z')",
    )
    .await;
    let page = koval.get("/office/audit").await;
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(!page.body.contains("frozen"), "{}", page.body);
    assert!(
        holds_within_30s(|| async { portal.app.log().contains("frozen") }).await,
        "the operator is not told what is wrong: {}",
        portal.app.log()
    );

    let before = portal.app.applied();
    portal.city.edit(
        "spec/registry/officials.kdl",
        r#"official "moroz-v" {"#,
        r#"official "moroz-v-retired" {"#,
    );
    portal.app.wait_for("MOROZ's new id applied", |s| {
        s["applied"]["revision"]
            .as_str()
            .is_some_and(|r| r != before)
    });
    let refused = moroz.get("/office/audit").await;
    assert!(blocked(&refused), "{} {}", refused.status, refused.body);
    assert!(refused.body.contains("більше немає"), "{}", refused.body);
    assert!(to_office_sign_in(&moroz.get("/office/audit").await));
}
