//! The application form through the real appliance (PORTAL-3): `material-aid` page by page with
//! every kind of error, repeat groups added and removed without JavaScript, `visible-if` dropping
//! values, check your answers, a draft resumed on another signed-in client and deleted, and the
//! refusals: someone else's draft, a tampered form, no CSRF token, a signed draft, a huge body.

use crate::common::city::APPLICANT;
use crate::portal::{Browser, CITIZEN, OTHER, Page, Portal};

/// Applies for `material-aid`; the new draft's id.
async fn apply(browser: &Browser) -> String {
    let started = browser.post_form("/services/material-aid/apply", &[]).await;
    assert_eq!(started.status, 303, "{}", started.body);
    let location = started.location.unwrap();
    let id = location
        .strip_prefix("/drafts/")
        .and_then(|rest| rest.strip_suffix("/pages/applicant"))
        .unwrap_or_else(|| panic!("apply went to {location}"));
    id.to_string()
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

fn has(page: &Page, text: &str) {
    assert!(
        page.body.contains(text),
        "the page ({}) lacks {text}:\n{}",
        page.status,
        page.body
    );
}

const APPLICANT_PAGE: &[(&str, &str)] = &[
    ("f.birth_date", "1980-05-17"),
    ("f.phone", "+380 61 222 33 44"),
    ("f.email", "maria@example.com"),
    ("f.district", "03"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn material_aid_page_by_page_with_every_kind_of_error() {
    let portal = Portal::start().await;
    let browser = portal.sign_in(&CITIZEN).await;
    let draft = apply(&browser).await;
    let pages = format!("/drafts/{draft}/pages");

    // The applicant page: the bound identity shown read-only, every input labelled.
    let first = browser.get(&format!("{pages}/applicant")).await;
    assert_eq!(first.status, 200, "{}", first.body);
    has(&first, &format!(r#"value="{APPLICANT}""#));
    has(&first, r#"value="Іваненко Марія Петрівна""#);
    has(&first, r#"<label for="f-birth_date">"#);
    has(&first, r#"aria-describedby="f-birth_date-hint""#);
    has(&first, r#"<option value="03">"#);

    // Every kind of error at once, each in the summary linking to its input, the text kept; a
    // value posted for a bound field is ignored.
    let refused = browser
        .post_form(
            &format!("{pages}/applicant"),
            &[
                ("f.rnokpp", "2745031282"),
                ("f.birth_date", "1980-02-30"),
                ("f.phone", "12"),
                ("f.email", "maria-at-example"),
                ("f.benefit", "no-such-item"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        summary(&refused),
        [
            "f-birth_date",
            "f-phone",
            "f-email",
            "f-benefit",
            "f-district"
        ]
    );
    has(&refused, "введіть дату у форматі РРРР-ММ-ДД");
    has(&refused, "введіть номер телефону");
    has(&refused, "введіть адресу електронної пошти");
    has(&refused, "оберіть значення зі списку");
    has(&refused, "Оберіть «Район проживання»");
    has(&refused, r#"value="maria-at-example""#);
    has(
        &refused,
        r#"aria-describedby="f-phone-hint f-phone-error" aria-invalid="true""#,
    );
    has(&refused, &format!(r#"value="{APPLICANT}""#));
    assert!(!refused.body.contains("2745031282"), "{}", refused.body);

    let next = browser
        .post_form(&format!("{pages}/applicant"), APPLICANT_PAGE)
        .await;
    assert_eq!(next.status, 303, "{}", next.body);
    assert_eq!(next.location.as_deref(), Some(&*format!("{pages}/reason")));

    // Required after a choice, a bound broken; then a hidden field's value dropped.
    let refused = browser
        .post_form(
            &format!("{pages}/reason"),
            &[
                ("f.reason", "09"),
                ("f.event_date", "2026-11-02"),
                ("f.requested_amount", "60 000"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        summary(&refused),
        ["f-reason_details", "f-requested_amount"]
    );
    has(&refused, "Заповніть поле «Опишіть обставини»");
    has(&refused, "значення має бути не більше 50000");
    let short = browser
        .post_form(
            &format!("{pages}/reason"),
            &[
                ("f.reason", "09"),
                ("f.reason_details", "Пожежа"),
                ("f.event_date", "2026-11-02"),
                ("f.requested_amount", "2500,50"),
            ],
        )
        .await;
    assert_eq!(summary(&short), ["f-reason_details"]);
    has(&short, "введіть щонайменше 20 символів");
    let next = browser
        .post_form(
            &format!("{pages}/reason"),
            &[
                ("f.reason", "09"),
                ("f.reason_details", "Пожежа в під'їзді пошкодила квартиру"),
                ("f.event_date", "2026-11-02"),
                ("f.requested_amount", "2500,50"),
            ],
        )
        .await;
    assert_eq!(
        next.location.as_deref(),
        Some(&*format!("{pages}/household"))
    );

    // The household: a repeat group grows and shrinks with buttons, its entries judged.
    let household = browser.get(&format!("{pages}/household")).await;
    has(&household, "Ще нікого не додано.");
    has(&household, r#"value="add:family""#);
    let one = browser
        .post_form(
            &format!("{pages}/household"),
            &[("f.monthly_income", "-5"), ("action", "add:family")],
        )
        .await;
    assert_eq!(one.status, 200, "{}", one.body);
    has(&one, r#"name="g.family.0.member_name""#);
    has(&one, r#"value="-5""#);
    let two = browser
        .post_form(
            &format!("{pages}/household"),
            &[
                ("f.monthly_income", "8000"),
                ("g.family.0.member_name", "Іваненко Петро"),
                ("action", "add:family"),
            ],
        )
        .await;
    has(&two, r#"name="g.family.1.member_name""#);
    has(&two, r#"value="Іваненко Петро""#);
    let removed = browser
        .post_form(
            &format!("{pages}/household"),
            &[
                ("f.monthly_income", "8000"),
                ("g.family.0.member_name", "Іваненко Петро"),
                ("g.family.1.member_name", "Іваненко Ольга"),
                ("action", "remove:family:0"),
            ],
        )
        .await;
    assert!(!removed.body.contains("g.family.1."), "{}", removed.body);
    has(&removed, r#"value="Іваненко Ольга""#);
    assert!(!removed.body.contains("Іваненко Петро"), "{}", removed.body);
    let refused = browser
        .post_form(
            &format!("{pages}/household"),
            &[
                ("f.monthly_income", "-5"),
                ("g.family.0.member_name", "Іваненко Ольга"),
                ("g.family.0.member_birth_date", "12.03.2010"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        summary(&refused),
        [
            "f-monthly_income",
            "g-family-0-member_birth_date",
            "g-family-0-member_relation"
        ]
    );
    has(&refused, "значення має бути не менше 0");
    has(
        &refused,
        "Члени сім&#39;ї, які проживають разом із заявником 1: ",
    );
    let next = browser
        .post_form(
            &format!("{pages}/household"),
            &[
                ("f.monthly_income", "8000"),
                ("g.family.0.member_name", "Іваненко Ольга"),
                ("g.family.0.member_birth_date", "2010-03-12"),
                ("g.family.0.member_relation", "03"),
            ],
        )
        .await;
    assert_eq!(next.location.as_deref(), Some(&*format!("{pages}/payment")));

    // A pattern's refusal says the field's hint; the last page goes on to the attachments.
    let refused = browser
        .post_form(&format!("{pages}/payment"), &[("f.iban", "UA12")])
        .await;
    assert_eq!(summary(&refused), ["f-iban"]);
    has(&refused, "29 символів, починається з UA");
    let next = browser
        .post_form(
            &format!("{pages}/payment"),
            &[("f.iban", "UA213223130000026007233566001")],
        )
        .await;
    assert_eq!(
        next.location.as_deref(),
        Some(&*format!("/drafts/{draft}/attachments"))
    );

    // Check your answers: each answer with its change link, a classifier's label, the group.
    let check = browser.get(&format!("/drafts/{draft}/check")).await;
    assert_eq!(check.status, 200, "{}", check.body);
    has(&check, "Інші складні життєві обставини");
    has(&check, "2500,50");
    has(&check, "Іваненко Ольга");
    has(
        &check,
        &format!(r##"href="/drafts/{draft}/pages/reason?from=check#f-reason""##),
    );
    has(&check, r#"name="consent.personal-data""#);

    // Changing the reason from check your answers drops the details it no longer shows.
    let changed = browser
        .post_form(
            &format!("{pages}/reason?from=check"),
            &[
                ("f.reason", "02"),
                ("f.reason_details", "Пожежа в під'їзді пошкодила квартиру"),
                ("f.event_date", "2026-11-02"),
                ("f.requested_amount", "2500,50"),
            ],
        )
        .await;
    assert_eq!(
        changed.location.as_deref(),
        Some(&*format!("/drafts/{draft}/check"))
    );
    let check = browser.get(&format!("/drafts/{draft}/check")).await;
    has(&check, "Тривале лікування або операція");
    assert!(!check.body.contains("Пожежа в під"), "{}", check.body);

    // The consent and the declaration are asked for; then on to signing.
    let refused = browser
        .post_form(&format!("/drafts/{draft}/check"), &[])
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(summary(&refused), ["consent-personal-data", "declaration"]);
    let signed = browser
        .post_form(
            &format!("/drafts/{draft}/check"),
            &[("consent.personal-data", "yes"), ("declaration", "yes")],
        )
        .await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    assert_eq!(
        signed.location.as_deref(),
        Some(&*format!("/drafts/{draft}/sign"))
    );
    let check = browser.get(&format!("/drafts/{draft}/check")).await;
    has(&check, r#"value="yes" checked"#);
}
