//! Paying a fee (PORTAL-9; 001 §2.1.5; 003 §2.2(12), §4.6(6)) against a payment-provider double
//! on loopback speaking LiqPay's protocol: the hand-over form, the signed callback, signing
//! refused while unpaid, the result withheld while unpaid, the cabinet's history; and the
//! hostile callbacks: forged, replayed, for another amount or currency, late, for no order.

use chrono::{Duration, TimeZone, Utc};
use hromada::store::{
    ApplicationRow, NewPayment, PaymentCallback, PaymentStatus, Recorded, Settlement, Store,
};

use crate::both;
use crate::cabinet::{fill_water, sign_draft, submit_water};
use crate::common::city::MONDAY;
use crate::common::db::{Db, execute};
use crate::payment_double::{PRIVATE_KEY, PaymentDouble, Said, sign};
use crate::portal::{Browser, CITIZEN, OTHER, Page, Portal};

const BEFORE_SUBMISSION: &str = "before-submission";
const BEFORE_RESULT: &str = "before-result";

/// The portal, with the payment double as its provider (its key under the keys folder) and
/// the water certificate made a paid service (45.50 UAH) paid `when`, once that revision is
/// applied; the water utility's node started for the certificate.
struct Paid {
    portal: Portal,
    double: PaymentDouble,
    _vodokanal: (tempfile::TempDir, crate::common::appliance::Appliance),
    store: Store,
}

async fn paid(when: &str, database_url: Option<String>) -> Paid {
    let args: Vec<&str> = match &database_url {
        Some(url) => vec!["--database-url", url],
        None => vec![],
    };
    let portal = Portal::start_with(&args).await;
    let double = PaymentDouble::start().await;
    let key = portal
        .city
        .root()
        .join("dev-keys/payments/liqpay-private-key");
    std::fs::create_dir_all(key.parent().unwrap()).unwrap();
    std::fs::write(&key, format!("{PRIVATE_KEY}\n")).unwrap();
    portal.city.edit(
        "spec/system.kdl",
        r#"checkout-url "https://www.liqpay.ua/api/3/checkout""#,
        &format!(r#"checkout-url "{}""#, double.checkout_url()),
    );
    portal.city.edit(
        "spec/e-services/water-no-debt.kdl",
        r#"fee "free""#,
        &format!(
            r#"fee "paid" amount="45.50" {{
        pay "{when}"
        payment recipient="КП «Водоканал»" edrpou="03341305" iban="UA213223130000026007233566001" purpose="Довідка про відсутність заборгованості"
    }}"#
        ),
    );
    let client = reqwest::Client::new();
    let url = format!("{}/services/water-no-debt", portal.app.url);
    let applied = crate::common::holds_within_30s(|| async {
        match client.get(&url).send().await {
            Ok(r) => r.text().await.unwrap_or_default().contains("45,50 грн"),
            Err(_) => false,
        }
    })
    .await;
    assert!(
        applied,
        "the paid revision was not applied\n{}",
        portal.app.log()
    );
    let vodokanal_data = tempfile::tempdir().unwrap();
    let vodokanal = portal.city.start_vodokanal(vodokanal_data.path());
    let store_url = database_url.unwrap_or_else(|| {
        format!(
            "sqlite://{}",
            portal.city.dir.path().join("data/hromada.db").display()
        )
    });
    let store = Store::connect(&store_url).await.unwrap();
    Paid {
        portal,
        double,
        _vodokanal: (vodokanal_data, vodokanal),
        store,
    }
}

/// The hidden inputs of the form on `page` that posts to `action`.
fn hand_over(page: &Page, action: &str) -> Vec<(String, String)> {
    let form = page
        .body
        .split(&format!(r#"action="{action}""#))
        .nth(1)
        .unwrap_or_else(|| panic!("no form to {action}:\n{}", page.body));
    let form = form.split("</form>").next().unwrap();
    form.split("<input type=\"hidden\" ")
        .skip(1)
        .map(|input| {
            let attr = |name: &str| {
                input
                    .split(&format!("{name}=\""))
                    .nth(1)
                    .and_then(|s| s.split('"').next())
                    .unwrap()
                    .to_string()
            };
            (attr("name"), unescape(&attr("value")))
        })
        .collect()
}

/// An attribute's value as the browser reads it.
fn unescape(value: &str) -> String {
    value
        .replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Starts a payment of `draft` as `browser` and takes the hand-over form to the provider, as
/// the browser would; the order id.
async fn start_payment(paid: &Paid, browser: &Browser, draft: &str) -> String {
    let checkout = browser
        .post_form(&format!("/drafts/{draft}/pay"), &[])
        .await;
    assert_eq!(checkout.status, 200, "{}", checkout.body);
    let action = paid.double.checkout_url();
    let csp = checkout.headers["content-security-policy"]
        .to_str()
        .unwrap();
    let origin = action.trim_end_matches("/api/3/checkout");
    assert!(
        csp.contains(&format!("form-action 'self' {origin}")),
        "the page's policy must let its form go to the provider only: {csp}"
    );
    assert!(
        !checkout.body.contains("<script"),
        "the hand-over needs no JavaScript"
    );
    let fields = hand_over(&checkout, &action);
    let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["data", "signature"], "{}", checkout.body);
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let shown = browser.post_form_raw(&action, &pairs).await;
    assert_eq!(
        shown.status, 200,
        "the provider refused the order: {}",
        shown.body
    );
    assert_eq!(
        paid.double.refused(),
        0,
        "every order carried the merchant's signature"
    );
    let id = shown
        .body
        .split(r#"name="order_id" value=""#)
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let order = paid.double.order(&id).unwrap();
    assert_eq!(order["amount"].to_string(), "45.50");
    assert_eq!(order["currency"], "UAH");
    assert_eq!(
        order["server_url"],
        format!("{}/payments/callback/liqpay", paid.portal.app.url)
    );
    assert_eq!(
        order["result_url"],
        format!("{}/payments/{id}/return", paid.portal.app.url)
    );
    id
}

async fn status_of(store: &Store, id: &str) -> PaymentStatus {
    store.payment(id).await.unwrap().unwrap().status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fee_due_before_submission_is_paid_through_the_provider_then_the_application_is_signed() {
    before_submission(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fee_due_before_submission_on_postgresql() {
    if let Some(url) = crate::common::postgres::url_or_skip("payments before submission") {
        before_submission(Some(url)).await;
    }
}

async fn before_submission(database_url: Option<String>) {
    let paid = paid(BEFORE_SUBMISSION, database_url).await;
    let citizen = paid.portal.sign_in(&CITIZEN).await;
    let service = citizen.get("/services/water-no-debt").await;
    assert!(
        service
            .body
            .contains("Збір можна сплатити карткою на порталі перед поданням заяви"),
        "{}",
        service.body
    );
    let draft = fill_water(&citizen, crate::common::city::NO_DEBT, "maria@example.org").await;

    // Unpaid: the sign page sends the applicant to pay, and a signature posted anyway is refused.
    let sign_page = citizen.get(&format!("/drafts/{draft}/sign")).await;
    assert_eq!(sign_page.status, 303);
    assert_eq!(
        sign_page.location.as_deref(),
        Some(format!("/drafts/{draft}/pay").as_str())
    );
    let refused = sign_draft(&paid.portal, &citizen, CITIZEN.rnokpp, &draft).await;
    assert_eq!(refused.status, 402, "{}", refused.body);
    assert!(
        refused.body.contains("Спершу сплатіть збір"),
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains(&format!(r#"href="/drafts/{draft}/pay""#)),
        "{}",
        refused.body
    );
    assert!(
        paid.store
            .applications_of(CITIZEN.rnokpp)
            .await
            .unwrap()
            .is_empty(),
        "nothing was registered"
    );

    let pay = citizen.get(&format!("/drafts/{draft}/pay")).await;
    assert_eq!(pay.status, 200, "{}", pay.body);
    for shown in ["45,50 грн", "КП «Водоканал»", "Перейти до оплати 45,50 грн"]
    {
        assert!(pay.body.contains(shown), "`{shown}`:\n{}", pay.body);
    }
    // Another person neither sees nor starts a payment of this draft.
    let other = paid.portal.sign_in(&OTHER).await;
    assert_eq!(other.get(&format!("/drafts/{draft}/pay")).await.status, 404);
    assert_eq!(
        other
            .post_form(&format!("/drafts/{draft}/pay"), &[])
            .await
            .status,
        404
    );
    // A POST without the session's token starts nothing.
    let forged = citizen
        .post_form(&format!("/drafts/{draft}/pay"), &[("csrf", "forged")])
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(
        paid.store
            .payments_of_draft(&draft)
            .await
            .unwrap()
            .is_empty()
    );

    let order = start_payment(&paid, &citizen, &draft).await;
    // Starting again while it is open hands over the same order, not a second one.
    let again = citizen
        .post_form(&format!("/drafts/{draft}/pay"), &[])
        .await;
    assert!(again.body.contains("name=\"data\""), "{}", again.body);
    assert_eq!(paid.store.payments_of_draft(&draft).await.unwrap().len(), 1);

    // The applicant pays on the provider's page; the provider calls back, then sends them back.
    let back = citizen
        .post_form_raw(&paid.double.pay_url(), &[("order_id", &order)])
        .await;
    assert_eq!(back.status, 303, "{}", back.body);
    let returned = citizen.follow(back).await;
    assert_eq!(returned.status, 200, "{}", returned.body);
    assert!(returned.body.contains("Сплачено"), "{}", returned.body);
    assert!(returned.body.contains("45,50 грн"), "{}", returned.body);
    // The return page is the payer's only.
    assert_eq!(
        other.get(&format!("/payments/{order}/return")).await.status,
        404
    );

    let signed = sign_draft(&paid.portal, &citizen, CITIZEN.rnokpp, &draft).await;
    assert_eq!(
        signed.status,
        303,
        "{}\n{}",
        signed.body,
        paid.portal.app.log()
    );
    let application = signed
        .location
        .unwrap()
        .trim_start_matches("/cabinet/applications/")
        .to_string();

    // The payment, its history and its receipt belong to the case.
    let row = paid
        .store
        .application(CITIZEN.rnokpp, &application)
        .await
        .unwrap()
        .unwrap();
    let case = row.case_id.expect("the case was started");
    let of_case = paid.store.payments_of_case(&case).await.unwrap();
    assert_eq!(of_case.len(), 1);
    assert_eq!(of_case[0].id, order);
    assert_eq!(of_case[0].status, PaymentStatus::Paid);
    let receipt = of_case[0].receipt.clone().expect("a receipt");
    assert_eq!((receipt.amount, receipt.currency.as_str()), (4550, "UAH"));
    assert!(paid.store.payment_settled(&case).await.unwrap());
    let history = paid.store.payment_events(&order).await.unwrap();
    let said: Vec<(&str, &str)> = history
        .iter()
        .map(|e| (e.provider_status.as_str(), e.status.as_str()))
        .collect();
    assert_eq!(said, [("created", "pending"), ("success", "paid")]);

    let cabinet = citizen.get("/cabinet/payments").await;
    assert_eq!(cabinet.status, 200, "{}", cabinet.body);
    for shown in [
        "Видача довідки про відсутність заборгованості",
        "45,50 грн",
        "Сплачено",
        &format!("транзакція {}", receipt.transaction_id),
        &format!("/cabinet/applications/{application}"),
    ] {
        assert!(cabinet.body.contains(shown), "`{shown}`:\n{}", cabinet.body);
    }
    let theirs = other.get("/cabinet/payments").await;
    assert!(theirs.body.contains("Платежів немає"), "{}", theirs.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_replayed_wrong_and_unknown_callbacks_settle_nothing() {
    let paid = paid(BEFORE_SUBMISSION, None).await;
    let citizen = paid.portal.sign_in(&CITIZEN).await;
    let draft = fill_water(&citizen, crate::common::city::NO_DEBT, "maria@example.org").await;
    let order = start_payment(&paid, &citizen, &draft).await;
    let callback_url = format!("{}/payments/callback/liqpay", paid.portal.app.url);

    // Forged: a success signed with another key, and a genuine signature over altered data.
    let success = paid.double.callback_data(&order, &Said::status("success"));
    let forged = paid
        .double
        .send_to(&callback_url, &success, &sign("not-the-merchant", &success))
        .await;
    assert_eq!(forged.status, 400, "{}", forged.body);
    assert!(forged.body.contains("bad-signature"), "{}", forged.body);
    let genuine = paid.double.callback_data(
        &order,
        &Said {
            status: "failure",
            amount: None,
            currency: None,
        },
    );
    let altered = paid
        .double
        .send_to(&callback_url, &success, &sign(PRIVATE_KEY, &genuine))
        .await;
    assert_eq!(altered.status, 400, "{}", altered.body);
    let events = paid.store.security_events(10).await.unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.event.kind == "forged-payment-callback")
            .count(),
        2
    );
    assert_eq!(status_of(&paid.store, &order).await, PaymentStatus::Pending);
    assert_eq!(paid.store.payment_events(&order).await.unwrap().len(), 1);
    let log = paid.portal.app.log();
    assert!(
        !log.contains(PRIVATE_KEY),
        "the log holds the merchant's key:\n{log}"
    );

    // Malformed: not a form, a field missing, a provider this portal does not use.
    let client = reqwest::Client::new();
    let empty = client.post(&callback_url).body("").send().await.unwrap();
    assert_eq!(empty.status().as_u16(), 400);
    let lone = client
        .post(&callback_url)
        .form(&[("data", success.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(lone.status().as_u16(), 400);
    assert!(lone.text().await.unwrap().contains("signature"));
    let other_provider = paid
        .double
        .send_to(
            &format!("{}/payments/callback/fondy", paid.portal.app.url),
            &success,
            &sign(PRIVATE_KEY, &success),
        )
        .await;
    assert_eq!(other_provider.status, 404);

    // An order this portal never made.
    let unknown = base64_json(&serde_json::json!({
        "public_key": crate::payment_double::PUBLIC_KEY, "order_id": "no-such-order",
        "status": "success", "amount": 45.5, "currency": "UAH", "transaction_id": 1,
    }));
    let sent = paid
        .double
        .send_to(&callback_url, &unknown, &sign(PRIVATE_KEY, &unknown))
        .await;
    assert_eq!(sent.status, 404, "{}", sent.body);

    // A success for another amount, or in another currency: recorded as a mismatch, not settled.
    for said in [
        Said {
            status: "success",
            amount: Some("4.55"),
            currency: None,
        },
        Said {
            status: "success",
            amount: None,
            currency: Some("USD"),
        },
    ] {
        let sent = paid.double.callback(&order, &said).await;
        assert_eq!(sent.status, 200, "{}", sent.body);
        assert_eq!(
            status_of(&paid.store, &order).await,
            PaymentStatus::Mismatch
        );
    }
    let notes: Vec<String> = paid
        .store
        .payment_events(&order)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.note)
        .collect();
    assert!(
        notes[1].contains("4,55 грн") && notes[1].contains("45,50 грн"),
        "{notes:?}"
    );
    assert!(notes[2].contains("USD"), "{notes:?}");
    let refused = sign_draft(&paid.portal, &citizen, CITIZEN.rnokpp, &draft).await;
    assert_eq!(refused.status, 402, "a mismatch does not pay the fee");
    let page = citizen.get(&format!("/drafts/{draft}/pay")).await;
    assert!(
        page.body
            .contains("Сума платежу не збігається із сумою збору"),
        "{}",
        page.body
    );

    // The exact success settles; the same callback again changes nothing.
    let settled = paid.double.callback(&order, &Said::status("success")).await;
    assert_eq!(settled.status, 200, "{}", settled.body);
    let after = paid.store.payment(&order).await.unwrap().unwrap();
    assert_eq!(after.status, PaymentStatus::Paid);
    let history = paid.store.payment_events(&order).await.unwrap().len();
    for _ in 0..3 {
        let replay = paid
            .double
            .send(&order, &settled.data, &settled.signature)
            .await;
        assert_eq!(replay.status, 200, "{}", replay.body);
    }
    assert_eq!(paid.store.payment(&order).await.unwrap().unwrap(), after);
    assert_eq!(
        paid.store.payment_events(&order).await.unwrap().len(),
        history
    );
    assert_eq!(paid.store.payments_of_draft(&draft).await.unwrap().len(), 1);
    // A later failure or intermediate status does not undo it.
    paid.double.callback(&order, &Said::status("failure")).await;
    paid.double
        .callback(&order, &Said::status("wait_secure"))
        .await;
    assert_eq!(status_of(&paid.store, &order).await, PaymentStatus::Paid);

    let signed = sign_draft(&paid.portal, &citizen, CITIZEN.rnokpp, &draft).await;
    assert_eq!(signed.status, 303, "{}", signed.body);

    let (_, metrics) = paid.portal.app.get("/metrics");
    for (outcome, count) in [
        ("forged", 2),
        ("malformed", 2),
        ("unknown-order", 1),
        ("replay", 3),
        ("recorded", 5),
    ] {
        let line = format!("hromada_payment_callbacks_total{{outcome=\"{outcome}\"}} {count}");
        assert!(metrics.contains(&line), "`{line}` is not in:\n{metrics}");
    }
}

fn base64_json(value: &serde_json::Value) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(value.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_success_after_a_timeout_settles_and_a_second_payment_is_flagged_for_refund() {
    let paid = paid(BEFORE_SUBMISSION, None).await;
    let citizen = paid.portal.sign_in(&CITIZEN).await;
    let draft = fill_water(&citizen, crate::common::city::NO_DEBT, "maria@example.org").await;
    let first = start_payment(&paid, &citizen, &draft).await;

    // Nothing comes back within the window: the payment times out, and a new one may start.
    let monday = chrono::DateTime::parse_from_rfc3339(MONDAY).unwrap();
    paid.portal
        .city
        .set_time(&(monday + Duration::minutes(31)).to_rfc3339());
    let page = citizen.get(&format!("/drafts/{draft}/pay")).await;
    assert!(page.body.contains("Час на оплату минув"), "{}", page.body);
    assert_eq!(status_of(&paid.store, &first).await, PaymentStatus::Expired);
    let second = start_payment(&paid, &citizen, &draft).await;
    assert_ne!(first, second);
    let failed = paid
        .double
        .callback(&second, &Said::status("failure"))
        .await;
    assert_eq!(failed.status, 200);
    assert_eq!(status_of(&paid.store, &second).await, PaymentStatus::Failed);

    // The first one's success arrives late: the money was taken for it, so it settles.
    let late = paid.double.callback(&first, &Said::status("success")).await;
    assert_eq!(late.status, 200, "{}", late.body);
    assert_eq!(status_of(&paid.store, &first).await, PaymentStatus::Paid);
    let note = paid
        .store
        .payment_events(&first)
        .await
        .unwrap()
        .pop()
        .unwrap()
        .note;
    assert!(
        note.contains("late success after the payment was expired"),
        "{note}"
    );

    // The failed second one succeeds after all: the fee was paid already, so it is refunded.
    let twice = paid
        .double
        .callback(&second, &Said::status("success"))
        .await;
    assert_eq!(twice.status, 200);
    let second_row = paid.store.payment(&second).await.unwrap().unwrap();
    assert_eq!(second_row.status, PaymentStatus::RefundDue);
    assert!(
        second_row.receipt.is_some(),
        "its receipt is kept for the refund"
    );
    let cabinet = citizen.get("/cabinet/payments").await;
    assert!(
        cabinet
            .body
            .contains("Сплачено вдруге, кошти буде повернуто"),
        "{}",
        cabinet.body
    );

    let signed = sign_draft(&paid.portal, &citizen, CITIZEN.rnokpp, &draft).await;
    assert_eq!(signed.status, 303, "{}", signed.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fee_due_before_the_result_withholds_the_result_until_paid() {
    let paid = paid(BEFORE_RESULT, None).await;
    let citizen = paid.portal.sign_in(&CITIZEN).await;
    let application = submit_water(
        &paid.portal,
        &citizen,
        CITIZEN.rnokpp,
        crate::common::city::NO_DEBT,
        "maria@example.org",
        false,
    )
    .await;
    let row = paid
        .store
        .application(CITIZEN.rnokpp, &application)
        .await
        .unwrap()
        .unwrap();
    let case = row.case_id.clone().unwrap();
    let issued = paid.store.documents_of_case(&case).await.unwrap();
    assert!(!issued.is_empty(), "the certificate is issued at once");
    let document = format!(
        "/cabinet/applications/{application}/documents/{}",
        issued[0].id
    );

    let page = citizen
        .get(&format!("/cabinet/applications/{application}"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains("Результат буде доступний після сплати адміністративного збору"),
        "{}",
        page.body
    );
    assert!(!page.body.contains(&document), "{}", page.body);
    for path in [document.clone(), format!("{document}.p7s")] {
        let (status, _, body) = citizen.get_bytes(&path).await;
        assert_eq!(status, 402, "{path}");
        assert!(!String::from_utf8_lossy(&body).contains("ДОВІДКА"));
    }

    let order = start_payment(&paid, &citizen, &row.draft_id).await;
    let back = citizen
        .post_form_raw(&paid.double.pay_url(), &[("order_id", &order)])
        .await;
    assert_eq!(back.status, 303, "{}", back.body);
    assert!(paid.store.payment_settled(&case).await.unwrap());
    let page = citizen
        .get(&format!("/cabinet/applications/{application}"))
        .await;
    assert!(page.body.contains(&document), "{}", page.body);
    let text = citizen.get(&document).await;
    assert_eq!(text.status, 200);
    assert!(text.body.contains("ДОВІДКА"), "{}", text.body);

    // Reversed by the provider: withheld again.
    paid.double
        .callback(&order, &Said::status("reversed"))
        .await;
    assert_eq!(citizen.get(&document).await.status, 402);
}

fn application_row(id: &str, draft: &str, case: Option<&str>) -> ApplicationRow {
    ApplicationRow {
        id: id.into(),
        owner: "3184710691".into(),
        draft_id: draft.into(),
        e_service: "address-assignment".into(),
        journal: "in".into(),
        period: "2026".into(),
        seq: id.len() as i64,
        number: id.into(),
        received_at: "2026-12-21T09:00:00.000000000Z".into(),
        case_id: case.map(str::to_string),
        document: "{}".into(),
        signature: None,
    }
}

both! {
    async fn payments_their_history_and_the_case_they_belong_to(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let at = Utc.with_ymd_and_hms(2026, 12, 21, 9, 0, 0).unwrap();
        let new = |id: &str, draft: &str, at: chrono::DateTime<Utc>| NewPayment {
            id: id.into(),
            owner: "3184710691".into(),
            draft_id: draft.into(),
            e_service: "address-assignment".into(),
            provider: "liqpay".into(),
            amount: 33280,
            currency: "UAH".into(),
            at,
            expires_at: at + Duration::minutes(30),
        };
        let first = store.open_or_create_payment(&new("p1", "d1", at)).await.unwrap();
        assert_eq!(first.status, PaymentStatus::Pending);
        // While it is open, starting again hands over the same order.
        let again = store.open_or_create_payment(&new("p1b", "d1", at + Duration::minutes(5))).await.unwrap();
        assert_eq!(again, first);
        assert!(store.payment("p1b").await.unwrap().is_none());
        // Past its window, a new one.
        let late = at + Duration::minutes(31);
        assert_eq!(store.open_or_create_payment(&new("p2", "d1", late)).await.unwrap().id, "p2");
        store.open_or_create_payment(&new("p3", "d2", at)).await.unwrap();

        let callback = |id: &str, digest: &str| PaymentCallback {
            payment_id: id.into(),
            at: at + Duration::minutes(1),
            provider_status: "success".into(),
            amount: Some(33280),
            currency: Some("UAH".into()),
            transaction_id: Some(format!("t-{digest}")),
            digest: digest.into(),
        };
        let pay = |_: &hromada::store::PaymentRow, other_paid: bool| Settlement {
            status: if other_paid { PaymentStatus::RefundDue } else { PaymentStatus::Paid },
            receipt: true,
            note: "paid".into(),
        };
        match store.record_payment_callback(&callback("p1", "aa"), pay).await.unwrap() {
            Recorded::Applied { before, after } => {
                assert_eq!(before.status, PaymentStatus::Pending);
                assert_eq!(after.status, PaymentStatus::Paid);
                let receipt = after.receipt.unwrap();
                assert_eq!((receipt.transaction_id.as_str(), receipt.amount), ("t-aa", 33280));
            }
            other => panic!("{other:?}"),
        }
        // The same data again is a replay, whatever the decision would be.
        assert!(matches!(
            store.record_payment_callback(&callback("p1", "aa"), |_, _| unreachable!()).await.unwrap(),
            Recorded::Replay(_)
        ));
        // Another payment of the same draft sees the fee paid.
        match store.record_payment_callback(&callback("p2", "bb"), pay).await.unwrap() {
            Recorded::Applied { after, .. } => assert_eq!(after.status, PaymentStatus::RefundDue),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            store.record_payment_callback(&callback("nope", "cc"), pay).await.unwrap(),
            Recorded::Unknown
        );
        assert_eq!(store.payment_events("p1").await.unwrap().len(), 2);

        // Settled by draft, then by case once its application has one.
        assert!(store.payment_settled("d1").await.unwrap());
        assert!(!store.payment_settled("d2").await.unwrap());
        let mut tx = store.begin().await.unwrap();
        store.insert_application(&mut tx, &application_row("a1", "d1", None)).await.unwrap();
        tx.commit().await.unwrap();
        assert!(store.payments_of_case("case-1").await.unwrap().is_empty());
        store.set_application_case("a1", "case-1").await.unwrap();
        let of_case: Vec<String> =
            store.payments_of_case("case-1").await.unwrap().into_iter().map(|p| p.id).collect();
        assert_eq!(of_case.len(), 2);
        assert!(of_case.contains(&"p1".to_string()) && of_case.contains(&"p2".to_string()));
        assert!(store.payment_settled("case-1").await.unwrap());
        assert_eq!(store.payments_of_owner("3184710691").await.unwrap().len(), 3);
        assert!(store.payment_of("2745031282", "p1").await.unwrap().is_none());

        // Open payments past their window expire, once, with an event; settled ones stay.
        assert_eq!(store.expire_payments("d2", at + Duration::minutes(29)).await.unwrap(), 0);
        assert_eq!(store.expire_payments("d2", at + Duration::minutes(30)).await.unwrap(), 1);
        assert_eq!(store.expire_payments("d2", at + Duration::hours(2)).await.unwrap(), 0);
        assert_eq!(store.payment("p3").await.unwrap().unwrap().status, PaymentStatus::Expired);
        assert_eq!(store.expire_payments("d1", at + Duration::hours(2)).await.unwrap(), 0);

        // A fee paid for a draft removed unsigned is flagged for refund, once.
        store.open_or_create_payment(&new("p9", "d9", at)).await.unwrap();
        store.record_payment_callback(&callback("p9", "dd"), pay).await.unwrap();
        assert_eq!(store.flag_orphaned_payments(at + Duration::hours(1)).await.unwrap(), 1);
        assert_eq!(store.flag_orphaned_payments(at + Duration::hours(2)).await.unwrap(), 0);
        assert_eq!(store.payment("p9").await.unwrap().unwrap().status, PaymentStatus::RefundDue);
        assert_eq!(store.payment_events("p9").await.unwrap().last().unwrap().provider_status, "draft-removed");
        assert_eq!(store.payment("p1").await.unwrap().unwrap().status, PaymentStatus::Paid,
            "a fee whose draft became an application stays paid");

        // A row rewritten outside hromada is refused with its name, not read as something else.
        execute(&db.url, "UPDATE payments SET status = 'settled-by-hand' WHERE id = 'p3'").await;
        let error = store.payment("p3").await.unwrap_err().to_string();
        assert!(error.contains("payment p3") && error.contains("settled-by-hand"), "{error}");
        assert!(!store.payment_settled("d2").await.unwrap());
        execute(&db.url, "UPDATE payments SET paid_at = NULL WHERE id = 'p1'").await;
        let error = store.payment("p1").await.unwrap_err().to_string();
        assert!(error.contains("payment p1") && error.contains("receipt"), "{error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_pays_in_a_browser_through_the_providers_page_without_javascript() {
    if !crate::browser::browser_available() {
        return;
    }
    let paid = paid(BEFORE_SUBMISSION, None).await;
    let citizen = paid.portal.sign_in(&CITIZEN).await;
    let draft = fill_water(&citizen, crate::common::city::NO_DEBT, "maria@example.org").await;
    let report = crate::browser::run_against(&paid.portal, "payments.mjs").await;
    assert_eq!(
        report.steps.last().map(String::as_str),
        Some("the sign page, paid"),
        "the scenario stopped early: {:?}",
        report.steps
    );
    let payments = paid.store.payments_of_draft(&draft).await.unwrap();
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0].status, PaymentStatus::Paid);
}
