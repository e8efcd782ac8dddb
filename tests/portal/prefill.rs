//! Prefill and cross-checks through the real appliance (003 §5.2): the city's registers on
//! loopback, asked through the gateway as the portal's subsystem, so that the citizen's
//! data-subject record shows each read; a register on another node (the water utility's)
//! reached over the federation; a register that does not answer or holds no such record is a
//! message on the page, never a crash, and never lets an unconfirmed value through.

use std::sync::atomic::Ordering;

use serde_json::Value;

use crate::common::city::{APPLICANT, IN_DEBT, NO_DEBT, TOKEN};
use crate::portal::{Browser, CITIZEN, OTHER, Page, Portal};

async fn apply(browser: &Browser, service: &str) -> String {
    browser.get("/").await;
    let started = browser
        .post_form(&format!("/services/{service}/apply"), &[])
        .await;
    assert_eq!(started.status, 303, "{}", started.body);
    started.location.unwrap()
}

fn has(page: &Page, text: &str) {
    assert!(
        page.body.contains(text),
        "the page ({}) lacks {text}:\n{}",
        page.status,
        page.body
    );
}

/// The `href`s of a page's error summary, in order.
fn summary(page: &Page) -> Vec<String> {
    let Some(start) = page.body.find(r#"class="error-summary""#) else {
        return Vec::new();
    };
    let end = page.body[start..].find("</div>").unwrap() + start;
    page.body[start..end]
        .split(r##"<a href="#"##)
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .collect()
}

async fn usage(portal: &Portal, subject: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{}/api/subjects/{subject}/usage", portal.app.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_register_fills_names_and_confirms_the_birth_date_as_the_portal() {
    let portal = Portal::start().await;
    let citizen = portal.sign_in(&CITIZEN).await;
    let page = apply(&citizen, "residence-extract").await;

    // The names come from the residents' register, asked with the citizen's own RNOKPP.
    let shown = citizen.get(&page).await;
    assert_eq!(shown.status, 200, "{}\n{}", shown.body, portal.app.log());
    has(&shown, r#"value="Іваненко""#);
    has(&shown, r#"value="Марія""#);
    has(&shown, r#"value="Петрівна""#);
    has(&shown, &format!(r#"value="{APPLICANT}""#));

    // A birth date the register does not hold stops the page with the spec's message there.
    let answers = |birth: &'static str| {
        vec![
            ("f.last_name", "Іваненко"),
            ("f.first_name", "Марія"),
            ("f.patronymic", "Петрівна"),
            ("f.birth_date", birth),
            ("f.relation", "01"),
        ]
    };
    let refused = citizen.post_form(&page, &answers("1980-04-03")).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(summary(&refused), ["f-birth_date"]);
    has(&refused, "Дата народження не збігається з даними реєстру");
    let confirmed = citizen.post_form(&page, &answers("1980-04-02")).await;
    assert_eq!(confirmed.status, 303, "{}", confirmed.body);

    // Each read is in the citizen's record of who received their data: the portal's
    // subsystem, under its agreement, with the fields but never the values.
    let record = usage(&portal, APPLICANT).await;
    let reads: Vec<&Value> = record["usage"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["agreement"] == "portal-reads-residents")
        .collect();
    assert!(reads.len() >= 2, "{record}");
    for read in &reads {
        assert_eq!(read["receiverSystem"], "city-council/portal", "{read}");
        assert_eq!(read["action"], "GET /persons/*/residence", "{read}");
    }
    assert!(
        reads.iter().any(|r| r["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "last_name")),
        "{record}"
    );
    assert!(
        !record.to_string().contains("Іваненко"),
        "the data itself is never in the record: {record}"
    );

    // Someone else's session asks about themselves only.
    let other = portal.sign_in(&OTHER).await;
    let theirs = apply(&other, "residence-extract").await;
    let shown = other.get(&theirs).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    let record = usage(&portal, OTHER.rnokpp).await;
    assert!(record["total"].as_i64().unwrap() >= 1, "{record}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_water_register_on_its_own_node_fills_checks_and_fails_plainly() {
    let portal = Portal::start().await;
    let _vodokanal = portal
        .city
        .start_vodokanal(&portal.city.dir.path().join("vodokanal"));
    let citizen = portal.sign_in(&CITIZEN).await;
    let page = apply(&citizen, "water-no-debt").await;

    // Nothing to ask before the account is named; then the holder comes from the billing.
    let shown = citizen.get(&page).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert!(!shown.body.contains(r#"value="Іваненко Марія Петрівна""#));
    let filled = citizen
        .post_form(&page, &[("f.account_number", NO_DEBT)])
        .await;
    assert_eq!(filled.status, 200, "{}\n{}", filled.body, portal.app.log());
    has(&filled, r#"value="Іваненко Марія Петрівна""#);
    let on = citizen
        .post_form(
            &page,
            &[
                ("f.account_number", NO_DEBT),
                ("f.holder_name", "Іваненко Марія Петрівна"),
            ],
        )
        .await;
    assert_eq!(on.status, 303, "{}", on.body);

    // An account the billing does not know: the spec's message on the RNOKPP, not "try later".
    let unknown = citizen
        .post_form(
            &page,
            &[
                ("f.account_number", "10009999"),
                ("f.holder_name", "Іваненко Марія Петрівна"),
            ],
        )
        .await;
    assert_eq!(unknown.status, 422, "{}", unknown.body);
    assert_eq!(summary(&unknown), ["f-rnokpp"]);
    has(&unknown, "Ви не є власником цього особового рахунку");

    // The billing down: the page says so and lets nothing unconfirmed through.
    portal
        .city
        .registries
        .billing_down
        .store(true, Ordering::SeqCst);
    let silent = citizen
        .post_form(
            &page,
            &[
                ("f.account_number", IN_DEBT),
                ("f.holder_name", "Іваненко Марія Петрівна"),
            ],
        )
        .await;
    assert_eq!(silent.status, 422, "{}", silent.body);
    assert_eq!(summary(&silent), ["f-rnokpp"]);
    has(&silent, "зараз не відповідає. Спробуйте пізніше.");
    let other = portal.sign_in(&OTHER).await;
    let theirs = apply(&other, "water-no-debt").await;
    let notice = other
        .post_form(&theirs, &[("f.account_number", NO_DEBT)])
        .await;
    assert!(notice.status < 500, "{}", notice.body);
    has(&notice, "Реєстр «");
    has(&notice, "зараз не відповідає");
    assert!(!notice.body.contains("Іваненко"), "{}", notice.body);
    assert!(
        !portal.app.log().contains("panicked"),
        "{}",
        portal.app.log()
    );
}
