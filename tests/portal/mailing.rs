//! Mailing (PORTAL-11): on both databases, a typed address is mailed only once its link confirmed
//! it, a change of an e-service and a registry's outage reach each subscriber once with a
//! one-click unsubscribe link, replicas queue a change once, and a rewritten row is named;
//! through `hromada serve` with a real SMTP server, the citizen's page, the mails and their
//! `List-Unsubscribe` headers, the one-click POST, and refused input that changes nothing.

use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use hromada::compile::{Compiled, compile};
use hromada::identity::Revision;
use hromada::portal::notices::Notices;
use hromada::portal::session::digest;
use hromada::store::{
    ANY_E_SERVICE, HealthResult, LeasedMail, NewMail, Store, SubscriberChange, Topic,
};

use crate::common::db::{Db, execute};
use crate::common::smtp::SmtpServer;
use crate::portal::{Browser, CITIZEN, OTHER, Portal};

const PUBLIC: &str = "https://portal.city.example";

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_796_000_000 + seconds, 0).unwrap()
}

fn city() -> Compiled {
    let spec = hromada::spec::load(Path::new(env!("CARGO_MANIFEST_DIR"))).spec;
    let revision = Revision {
        id: "r1".into(),
        content_hash: "hash-r1".into(),
    };
    compile(spec, revision, None, Default::default()).expect("the example city compiles")
}

/// Saves `owner`'s settings with an address the identity provider gave (confirmed at once).
async fn subscribe(store: &Store, owner: &str, topics: &[(Topic, &str)]) {
    let address = format!("{owner}@city.example");
    let topics: Vec<(Topic, String)> = topics.iter().map(|(t, s)| (*t, s.to_string())).collect();
    store
        .save_subscriber(&SubscriberChange {
            owner,
            address: &address,
            confirmed: true,
            confirm_digest: None,
            confirmation: None,
            topics: &topics,
            now: at(0),
        })
        .await
        .unwrap();
}

/// Every mail queued and due, leased (so each is read once).
async fn queued(store: &Store) -> Vec<LeasedMail> {
    store
        .lease_mail(
            "test",
            Utc::now(),
            Utc::now() + chrono::Duration::minutes(5),
            1000,
        )
        .await
        .unwrap()
}

fn recipients(mails: &[LeasedMail]) -> Vec<&str> {
    let mut to: Vec<&str> = mails.iter().map(|m| m.to.as_str()).collect();
    to.sort();
    to
}

fn check(service: &str, ok: bool, seconds: i64) -> HealthResult {
    HealthResult {
        service: service.into(),
        node: "gw-core".into(),
        checked_at: at(seconds),
        ok,
        status_code: Some(if ok { 200 } else { 503 }),
        latency_ms: 3,
        error: None,
    }
}

/// The token of a mail's one-click link.
fn token_of(mail: &LeasedMail) -> String {
    let link = mail.list_unsubscribe.as_deref().expect("a list's mail");
    let token = link
        .strip_prefix(&format!("{PUBLIC}/unsubscribe/"))
        .unwrap_or_else(|| panic!("{link} is not the portal's unsubscribe link"));
    assert!(mail.body.contains(link), "{}", mail.body);
    token.to_string()
}

crate::both! {
    async fn a_typed_address_is_mailed_only_once_its_link_confirmed_it(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let topics = vec![(Topic::EService, "material-aid".to_string())];
        let confirmation = NewMail {
            key: "confirm-1".into(),
            to: "maria@example.org".into(),
            subject: "Підтвердьте адресу".into(),
            body: "посилання".into(),
            case_id: None,
        };
        store.save_subscriber(&SubscriberChange {
            owner: "3184710691",
            address: "maria@example.org",
            confirmed: false,
            confirm_digest: Some("d1"),
            confirmation: Some(&confirmation),
            topics: &topics,
            now: at(1),
        }).await.unwrap();
        let saved = store.subscriber("3184710691").await.unwrap().unwrap();
        assert!(!saved.confirmed);
        assert_eq!(saved.confirm_sent_at, Some(at(1)));
        assert_eq!(saved.topics, topics);
        assert_eq!(store.mail_status("confirm-1").await.unwrap().unwrap().to, "maria@example.org");
        assert!(store.recipients(Topic::EService).await.unwrap().is_empty(), "not confirmed yet");

        assert!(!store.confirm_subscriber("d-wrong", at(2)).await.unwrap());
        assert!(store.confirm_subscriber("d1", at(2)).await.unwrap());
        assert!(!store.confirm_subscriber("d1", at(3)).await.unwrap(), "a link confirms once");
        let told = store.recipients(Topic::EService).await.unwrap();
        assert_eq!(told.len(), 1);
        assert_eq!((told[0].address.as_str(), told[0].target.as_str()), ("maria@example.org", "material-aid"));

        // Saving the topics with the same address keeps its confirmation …
        let more = vec![(Topic::EService, ANY_E_SERVICE.to_string()), (Topic::Outages, "vodokanal".to_string())];
        store.save_subscriber(&SubscriberChange {
            owner: "3184710691", address: "maria@example.org", confirmed: false,
            confirm_digest: None, confirmation: None, topics: &more, now: at(4),
        }).await.unwrap();
        let saved = store.subscriber("3184710691").await.unwrap().unwrap();
        assert!(saved.confirmed);
        assert_eq!(saved.topics, more, "material-aid ended, the others started");
        // … another address needs its own link.
        store.save_subscriber(&SubscriberChange {
            owner: "3184710691", address: "other@example.org", confirmed: false,
            confirm_digest: Some("d2"), confirmation: None, topics: &more, now: at(5),
        }).await.unwrap();
        assert!(!store.subscriber("3184710691").await.unwrap().unwrap().confirmed);
        assert!(store.recipients(Topic::Outages).await.unwrap().is_empty());
        assert!(!store.confirm_subscriber("d1", at(6)).await.unwrap(), "the old link is dead");
        assert_eq!(store.subscriber("2745031282").await.unwrap(), None);
    }

    async fn a_change_and_an_outage_reach_each_subscriber_once_with_a_link_that_unsubscribes(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let compiled = city();
        let notices = Notices { store: &store, compiled: &compiled, public: PUBLIC };
        subscribe(&store, "any", &[(Topic::EService, ANY_E_SERVICE)]).await;
        subscribe(&store, "aid", &[(Topic::EService, "material-aid")]).await;
        subscribe(&store, "water", &[(Topic::EService, "water-no-debt")]).await;
        subscribe(&store, "register", &[(Topic::Outages, "registration-dept")]).await;
        // What was recorded before mailing started is not mailed.
        store.record_procedure("water-no-debt", "w1", "r0", at(0)).await.unwrap();
        store.record_procedure("water-no-debt", "w2", "r0", at(0)).await.unwrap();
        assert!(!notices.procedures(at(1)).await.unwrap());
        assert!(queued(&store).await.is_empty());

        store.record_procedure("material-aid", "a", "r1", at(10)).await.unwrap();
        notices.procedures(at(11)).await.unwrap();
        assert!(queued(&store).await.is_empty(), "an e-service's first procedure is no change");

        store.record_procedure("material-aid", "b", "r2", at(20)).await.unwrap();
        notices.procedures(at(21)).await.unwrap();
        notices.procedures(at(22)).await.unwrap();
        let mails = queued(&store).await;
        assert_eq!(recipients(&mails), ["aid@city.example", "any@city.example"]);
        for mail in &mails {
            assert!(mail.subject.contains("Змінився порядок надання послуги «Надання одноразової"), "{}", mail.subject);
            assert!(mail.body.contains(&format!("{PUBLIC}/services/material-aid")), "{}", mail.body);
        }
        let aid = mails.iter().find(|m| m.to == "aid@city.example").unwrap();
        let aid_token = token_of(aid);
        assert_ne!(aid_token, token_of(mails.iter().find(|m| m.to == "any@city.example").unwrap()));

        // Outages: a service first seen up is no news; down and back up are, once each.
        let residents = "registration-dept/residents";
        notices.outages(at(29)).await.unwrap();
        for (ok, second) in [(true, 30), (false, 31), (false, 32), (true, 33)] {
            store.record_health(&check(residents, ok, second)).await.unwrap();
        }
        store.record_health(&check("vodokanal/balance", false, 34)).await.unwrap();
        notices.outages(at(35)).await.unwrap();
        let mails = queued(&store).await;
        let subjects: Vec<&str> = mails.iter().map(|m| m.subject.as_str()).collect();
        assert_eq!(subjects, [
            "Перерва в роботі: Відомості про зареєстроване місце проживання особи",
            "Роботу відновлено: Відомості про зареєстроване місце проживання особи",
        ]);
        assert!(mails.iter().all(|m| m.to == "register@city.example"));
        assert!(mails[0].body.contains("Департамент реєстраційних послуг"), "{}", mails[0].body);
        let outages = store.service_outages().await.unwrap();
        assert_eq!(outages.get(residents), Some(&true));
        assert_eq!(outages.get("vodokanal/balance"), Some(&false));

        // One click ends the subscription the mail came for, once; a wrong token changes nothing.
        assert_eq!(store.unsubscribe(&digest("f".repeat(64).as_str()), at(40)).await.unwrap(), None);
        let ended = store.unsubscribe(&digest(&aid_token), at(40)).await.unwrap().unwrap();
        assert_eq!((ended.topic, ended.target.as_str(), ended.already), (Topic::EService, "material-aid", false));
        let again = store.unsubscribe(&digest(&aid_token), at(41)).await.unwrap().unwrap();
        assert!(again.already);
        assert!(store.subscriber("aid").await.unwrap().unwrap().topics.is_empty());
        store.record_procedure("material-aid", "c", "r3", at(50)).await.unwrap();
        notices.procedures(at(51)).await.unwrap();
        assert_eq!(recipients(&queued(&store).await), ["any@city.example"]);
    }

    async fn replicas_queue_the_notices_of_a_change_once(db: Db) {
        let one = Store::connect(&db.url).await.unwrap();
        let two = Store::connect(&db.url).await.unwrap();
        let compiled = city();
        subscribe(&one, "any", &[(Topic::EService, ANY_E_SERVICE)]).await;
        let first = Notices { store: &one, compiled: &compiled, public: PUBLIC };
        let second = Notices { store: &two, compiled: &compiled, public: PUBLIC };
        first.procedures(at(0)).await.unwrap();
        one.record_procedure("material-aid", "a", "r1", at(1)).await.unwrap();
        one.record_procedure("material-aid", "b", "r2", at(2)).await.unwrap();
        let (a, b) = tokio::join!(first.procedures(at(3)), second.procedures(at(3)));
        a.unwrap();
        b.unwrap();
        assert_eq!(queued(&one).await.len(), 1, "one mail for one change and one subscriber");
    }

    async fn a_subscription_rewritten_outside_hromada_is_named(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        subscribe(&store, "any", &[(Topic::EService, ANY_E_SERVICE)]).await;
        execute(&db.url, "UPDATE mail_subscribers SET confirm_sent_at = 'yesterday'").await;
        let error = store.subscriber("any").await.unwrap_err().to_string();
        for part in ["mail subscriber 1", "confirmation time `yesterday`", "changed outside hromada"] {
            assert!(error.contains(part), "{error}");
        }
    }
}

/// A form's fields as posted.
type Fields<'a> = &'a [(&'a str, &'a str)];

/// The portal with mail going to `smtp`.
async fn portal_mailing(smtp: &SmtpServer) -> Portal {
    Portal::start_with(&["--smtp", &smtp.url(), "--mail-from", "portal@city.example"]).await
}

/// Waits for the `n`-th mail (from 1) and returns all so far.
async fn mails(smtp: &SmtpServer, n: usize, portal: &Portal) -> Vec<crate::common::smtp::Received> {
    let arrived = crate::common::holds_within_30s(|| async { smtp.received().len() >= n }).await;
    assert!(
        arrived,
        "{} mails arrived, {n} awaited: {:#?}\n{}",
        smtp.received().len(),
        smtp.received(),
        portal.app.log()
    );
    smtp.received()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The `https://…/{token}` of a `<…>` header value.
fn link_in(value: &str) -> String {
    value
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_of_an_e_service_mails_its_subscribers_once_and_one_click_unsubscribes() {
    let smtp = SmtpServer::start_keeping_headers();
    let portal = portal_mailing(&smtp).await;
    let maria = portal.sign_in(&CITIZEN).await;
    let page = maria.get("/cabinet/subscriptions").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(CITIZEN.email), "{}", page.body);
    let saved = maria
        .post_form(
            "/cabinet/subscriptions",
            &[
                ("address", "idp"),
                ("services", "chosen"),
                ("service", "material-aid"),
                ("other_address", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let page = maria.follow(saved).await;
    assert!(
        page.body.contains("Налаштування збережено"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(r#"value="material-aid" checked"#),
        "{}",
        page.body
    );
    // Oleg gives another address: nothing but its confirmation link goes there until he uses it.
    let oleg = portal.sign_in(&OTHER).await;
    let saved = oleg
        .post_form(
            "/cabinet/subscriptions",
            &[
                ("address", "other"),
                ("other_address", "oleg@example.org"),
                ("services", "all"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let confirmation = &mails(&smtp, 1, &portal).await[0];
    assert_eq!(confirmation.rcpt_tos, ["oleg@example.org"]);
    assert!(
        header(&smtp.headers()[0], "List-Unsubscribe").is_none(),
        "a confirmation is no list's mail"
    );
    let confirm_link = confirmation
        .body
        .split_whitespace()
        .find(|w| w.contains("/subscriptions/confirm/"))
        .unwrap()
        .to_string();

    portal.city.edit(
        "spec/e-services/material-aid.kdl",
        "term 20 counting=\"working\"",
        "term 15 counting=\"working\"",
    );
    let received = mails(&smtp, 2, &portal).await;
    let notice = &received[1];
    assert_eq!(notice.rcpt_tos, [CITIZEN.email], "{received:#?}");
    assert!(
        notice.subject.contains("Змінився порядок надання послуги"),
        "{notice:?}"
    );
    assert!(notice.body.contains("/services/material-aid"), "{notice:?}");
    let headers = &smtp.headers()[1];
    let unsubscribe = link_in(header(headers, "List-Unsubscribe").unwrap());
    assert!(
        unsubscribe.starts_with(&format!("{}/unsubscribe/", portal.app.url)),
        "{unsubscribe}"
    );
    assert_eq!(
        header(headers, "List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );

    // Oleg confirms through the page's button (the link alone confirms nothing).
    let anyone = portal.browser();
    let page = anyone.get(&confirm_link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Підтвердити адресу"), "{}", page.body);
    let confirmed = anyone.post_form_raw(&confirm_link, &[]).await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    assert!(confirmed.body.contains("Адресу підтверджено"));
    assert_eq!(anyone.post_form_raw(&confirm_link, &[]).await.status, 404);

    // A wrong token: 404, and Maria still gets the next notice …
    let token = unsubscribe.rsplit('/').next().unwrap().to_string();
    let wrong = format!(
        "{}{}",
        &token[..63],
        if token.ends_with('0') { "1" } else { "0" }
    );
    for path in [
        format!("/unsubscribe/{wrong}"),
        "/unsubscribe/nonsense".into(),
    ] {
        let refused = anyone
            .post_form_raw(&path, &[("List-Unsubscribe", "One-Click")])
            .await;
        assert_eq!(refused.status, 404, "{}", refused.body);
        assert_eq!(anyone.get(&path).await.status, 404);
    }
    portal.city.edit(
        "spec/e-services/material-aid.kdl",
        "term 15 counting=\"working\"",
        "term 14 counting=\"working\"",
    );
    let received = mails(&smtp, 4, &portal).await;
    let mut to: Vec<&str> = received[2..]
        .iter()
        .map(|m| m.rcpt_tos[0].as_str())
        .collect();
    to.sort();
    assert_eq!(to, [CITIZEN.email, "oleg@example.org"], "{received:#?}");

    // … until her mail client unsubscribes in one click, signed in to nothing.
    let page = anyone.get(&unsubscribe).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains("зміни в порядку надання послуги «Надання одноразової"),
        "{}",
        page.body
    );
    let done = reqwest::Client::new()
        .post(&unsubscribe)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let again = anyone
        .post_form_raw(&unsubscribe, &[("List-Unsubscribe", "One-Click")])
        .await;
    assert_eq!(again.status, 200, "a second click is no error");
    assert!(again.body.contains("Ви відписалися"), "{}", again.body);
    let page = maria.get("/cabinet/subscriptions").await;
    assert!(
        page.body.contains(r#"value="none" checked"#),
        "{}",
        page.body
    );

    portal.city.edit(
        "spec/e-services/material-aid.kdl",
        "term 14 counting=\"working\"",
        "term 13 counting=\"working\"",
    );
    // Both notices of one change are queued together, Maria's (the older subscriber) first,
    // and sent in that order: once Oleg's arrived, hers would have.
    let received = mails(&smtp, 5, &portal).await;
    assert_eq!(received[4].rcpt_tos, ["oleg@example.org"], "{received:#?}");
    assert_eq!(received.len(), 5, "{received:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_going_down_and_coming_back_is_mailed_to_its_subscribers() {
    let smtp = SmtpServer::start_keeping_headers();
    let portal = portal_mailing(&smtp).await;
    let maria = portal.sign_in(&CITIZEN).await;
    let saved = maria
        .post_form(
            "/cabinet/subscriptions",
            &[
                ("address", "idp"),
                ("services", "none"),
                ("registry", "registration-dept"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    portal.city.edit(
        "spec/participants/registration-dept.kdl",
        r#"health path="/health" every="30s" timeout="2s""#,
        r#"health path="/gone" every="1s" timeout="2s""#,
    );
    let down = &mails(&smtp, 1, &portal).await[0];
    assert_eq!(down.rcpt_tos, [CITIZEN.email]);
    assert_eq!(
        down.subject,
        "Перерва в роботі: Відомості про зареєстроване місце проживання особи"
    );
    assert!(
        header(&smtp.headers()[0], "List-Unsubscribe").is_some(),
        "{:?}",
        smtp.headers()
    );
    portal.city.edit(
        "spec/participants/registration-dept.kdl",
        r#"health path="/gone" every="1s""#,
        r#"health path="/health" every="1s""#,
    );
    let up = &mails(&smtp, 2, &portal).await[1];
    assert_eq!(
        up.subject,
        "Роботу відновлено: Відомості про зареєстроване місце проживання особи"
    );
    for hidden in ["/api/v1", "/gone", "/health"] {
        assert!(!up.body.contains(hidden), "the upstream shows: {}", up.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_form_with_bad_input_is_refused_and_changes_nothing() {
    let portal = Portal::start().await;
    let maria = portal.sign_in(&CITIZEN).await;
    let saved = maria
        .post_form(
            "/cabinet/subscriptions",
            &[("address", "idp"), ("services", "all")],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let before = maria.get("/cabinet/subscriptions").await.body;
    assert!(before.contains(r#"value="all" checked"#), "{before}");

    let refusals: &[(Fields, u16, &str)] = &[
        (
            &[
                ("address", "other"),
                ("other_address", "not-an-address"),
                ("services", "none"),
            ],
            400,
            "name@example.com",
        ),
        (
            &[
                ("address", "other"),
                ("other_address", ""),
                ("services", "none"),
            ],
            400,
            "Введіть адресу",
        ),
        (
            &[("address", "idp"), ("services", "chosen")],
            400,
            "Позначте послуги",
        ),
        (
            &[
                ("address", "idp"),
                ("services", "chosen"),
                ("service", "no-such-service"),
            ],
            400,
            "«no-such-service»",
        ),
        (
            &[("address", "idp"), ("services", "some")],
            400,
            "«services»",
        ),
        (
            &[("address", "idp"), ("registry", "city-council")],
            400,
            "«registry»",
        ),
    ];
    for (fields, status, says) in refusals {
        let page = maria.post_form("/cabinet/subscriptions", fields).await;
        assert_eq!(page.status, *status, "{fields:?}: {}", page.body);
        assert!(
            page.body.contains(says),
            "{fields:?}: `{says}` missing\n{}",
            page.body
        );
    }
    let forged = maria
        .post_form(
            "/cabinet/subscriptions",
            &[("csrf", "forged"), ("address", "idp"), ("services", "none")],
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    let signed_out = Browser::new(&portal.app.url)
        .post_form_raw("/cabinet/subscriptions", &[("address", "idp")])
        .await;
    assert_eq!(signed_out.status, 401);
    assert_eq!(
        maria.get("/cabinet/subscriptions").await.body,
        before,
        "nothing refused was saved"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_a_notices_links_open_pass_the_accessibility_audit() {
    if !crate::browser::browser_available() {
        return;
    }
    let smtp = SmtpServer::start();
    let portal = portal_mailing(&smtp).await;
    let oleg = portal.sign_in(&OTHER).await;
    let typed = [
        ("address", "other"),
        ("other_address", "oleg@example.org"),
        ("services", "all"),
    ];
    assert_eq!(
        oleg.post_form("/cabinet/subscriptions", &typed)
            .await
            .status,
        303
    );
    let maria = portal.sign_in(&CITIZEN).await;
    let idp = [("address", "idp"), ("services", "all")];
    assert_eq!(
        maria.post_form("/cabinet/subscriptions", &idp).await.status,
        303
    );
    portal.city.edit(
        "spec/e-services/material-aid.kdl",
        "term 20 counting=\"working\"",
        "term 15 counting=\"working\"",
    );
    let received = mails(&smtp, 2, &portal).await;
    let link = |to: &str, path: &str| {
        let mail = received.iter().find(|m| m.rcpt_tos == [to]).unwrap();
        mail.body
            .split_whitespace()
            .find(|w| w.contains(path))
            .unwrap_or_else(|| panic!("no {path} link in {mail:?}"))
            .to_string()
    };
    let env = [
        (
            "CONFIRM_URL",
            link("oleg@example.org", "/subscriptions/confirm/"),
        ),
        ("UNSUBSCRIBE_URL", link(CITIZEN.email, "/unsubscribe/")),
    ];
    let url = portal.app.url.clone();
    let report = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        crate::browser::run("mailing.mjs", &url, &env)
    })
    .await
    .unwrap();
    crate::browser::assert_clean(&report);
    assert_eq!(report.pages.len(), 8, "four pages at two widths each");
}
