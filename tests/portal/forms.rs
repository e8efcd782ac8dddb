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

    // The required documents, the consent and the declaration are asked for; then on to
    // signing.
    let refused = browser
        .post_form(&format!("/drafts/{draft}/check"), &[])
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        summary(&refused),
        [
            "attachment-income-statement",
            "attachment-damage-act",
            "consent-personal-data",
            "declaration"
        ]
    );
    has(&refused, "Не додано");
    let store = hromada::store::Store::connect(&database(&portal))
        .await
        .unwrap();
    for (attachment, file_name) in [
        ("income-statement", "dovidka.pdf"),
        ("damage-act", "akt.pdf"),
    ] {
        let added = store
            .add_attachment(&hromada::store::NewAttachment {
                owner: APPLICANT,
                draft_id: &draft,
                attachment,
                file_name,
                media_type: "application/pdf",
                content: format!("%PDF-1.7 {file_name}").as_bytes(),
                max_files: 5,
                now: chrono::Utc::now(),
            })
            .await
            .unwrap();
        assert!(
            matches!(added, hromada::store::AttachmentChange::Added(_)),
            "{added:?}"
        );
    }
    let check = browser.get(&format!("/drafts/{draft}/check")).await;
    has(&check, "dovidka.pdf");
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

/// The SQLite database of the portal's appliance, for what a tamperer (or time) does to a row.
fn database(portal: &Portal) -> String {
    format!(
        "sqlite://{}",
        portal.city.dir.path().join("data/hromada.db").display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_resumes_on_another_device_and_is_deleted_after_a_confirmation() {
    let portal = Portal::start().await;
    let phone = portal.sign_in(&CITIZEN).await;
    let draft = apply(&phone).await;
    let pages = format!("/drafts/{draft}/pages");
    let saved = phone
        .post_form(&format!("{pages}/applicant"), APPLICANT_PAGE)
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);

    // Another device, signed in as the same person: the answers are there, and its own
    // answers are seen back on the first.
    let laptop = portal.sign_in(&CITIZEN).await;
    let resumed = laptop.get(&format!("{pages}/applicant")).await;
    assert_eq!(resumed.status, 200, "{}", resumed.body);
    has(&resumed, r#"value="+380 61 222 33 44""#);
    has(&resumed, r#"<option value="03" selected>"#);
    let next = laptop
        .post_form(
            &format!("{pages}/reason"),
            &[
                ("f.reason", "02"),
                ("f.event_date", "2026-11-02"),
                ("f.requested_amount", "1200"),
            ],
        )
        .await;
    assert_eq!(next.status, 303, "{}", next.body);
    let back = phone.get(&format!("{pages}/reason")).await;
    has(&back, r#"value="1200""#);

    // Deleting asks first; without the CSRF token nothing is deleted.
    let confirm = phone.get(&format!("/drafts/{draft}/delete")).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    has(&confirm, "Так, видалити чернетку");
    let forged = phone
        .post_form_raw(&format!("/drafts/{draft}/delete"), &[])
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert_eq!(laptop.get(&format!("{pages}/reason")).await.status, 200);
    let deleted = phone
        .post_form(&format!("/drafts/{draft}/delete"), &[])
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    has(&deleted, "Чернетку видалено");
    let gone = laptop.get(&format!("{pages}/reason")).await;
    assert_eq!(gone.status, 404, "{}", gone.body);
    assert!(!gone.body.contains("1200"), "{}", gone.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_change_nothing_and_say_what_is_wrong() {
    let portal = Portal::start().await;
    let citizen = portal.sign_in(&CITIZEN).await;
    let draft = apply(&citizen).await;
    let pages = format!("/drafts/{draft}/pages");
    let applicant = format!("{pages}/applicant");
    citizen.post_form(&applicant, APPLICANT_PAGE).await;
    let unchanged = |page: Page| {
        assert_eq!(page.status, 200, "{}", page.body);
        has(&page, r#"value="+380 61 222 33 44""#);
    };

    // Nobody signed in: a page sends to sign-in, a POST is refused.
    let anonymous = portal.browser();
    let page = anonymous.get(&applicant).await;
    assert_eq!(page.status, 303);
    assert!(
        page.location
            .as_deref()
            .unwrap()
            .starts_with("/sign-in?next="),
        "{:?}",
        page.location
    );
    let post = anonymous
        .post_form_raw("/services/material-aid/apply", &[("csrf", "x")])
        .await;
    assert_eq!(post.status, 401, "{}", post.body);

    // Someone else: not found, never a word of the draft, nothing changed or deleted.
    let other = portal.sign_in(&OTHER).await;
    for path in [
        applicant.clone(),
        format!("/drafts/{draft}/check"),
        format!("/drafts/{draft}/delete"),
    ] {
        let page = other.get(&path).await;
        assert_eq!(page.status, 404, "{path}: {}", page.body);
        assert!(!page.body.contains("222 33 44"), "{}", page.body);
    }
    let post = other
        .post_form(&applicant, &[("f.phone", "+380 44 000 00 00")])
        .await;
    assert_eq!(post.status, 404, "{}", post.body);
    let post = other
        .post_form(&format!("/drafts/{draft}/delete"), &[])
        .await;
    assert_eq!(post.status, 404, "{}", post.body);
    unchanged(citizen.get(&applicant).await);

    // No CSRF token, or another session's.
    let post = citizen
        .post_form_raw(&applicant, &[("f.phone", "+380 44 000 00 00")])
        .await;
    assert_eq!(post.status, 403, "{}", post.body);
    let post = citizen
        .post_form(
            &applicant,
            &[("f.phone", "+380 44 000 00 00"), ("csrf", &other.csrf())],
        )
        .await;
    assert_eq!(post.status, 403, "{}", post.body);
    unchanged(citizen.get(&applicant).await);

    // Tampered forms: a page, a field, a group entry or a button the form does not have.
    for (path, fields) in [
        (format!("{pages}/nope"), vec![("f.phone", "1")]),
        (applicant.clone(), vec![("f.iban", "UA00")]),
        (applicant.clone(), vec![("page", "payment")]),
        (
            format!("{pages}/household"),
            vec![("g.family.3.member_name", "X")],
        ),
        (
            format!("{pages}/household"),
            vec![("action", "remove:family:5")],
        ),
    ] {
        let page = citizen.post_form(&path, &fields).await;
        assert_eq!(page.status, 400, "{path} {fields:?}: {}", page.body);
        has(&page, "Форму надіслано зі зміненими полями");
    }
    unchanged(citizen.get(&applicant).await);

    // A body far larger than any page is refused before it is read.
    let huge = "x".repeat(400 * 1024);
    let page = citizen.post_form(&applicant, &[("f.phone", &huge)]).await;
    assert_eq!(page.status, 413, "{}", page.body);
    unchanged(citizen.get(&applicant).await);

    // A signed draft refuses every change.
    crate::common::db::execute(
        &database(&portal),
        &format!(
            "UPDATE drafts SET submitted_at = '2026-12-07T10:00:00.000000000Z' WHERE id = '{draft}'"
        ),
    )
    .await;
    for page in [
        citizen.get(&applicant).await,
        citizen.post_form(&applicant, APPLICANT_PAGE).await,
        citizen.get(&format!("/drafts/{draft}/check")).await,
        citizen
            .post_form(&format!("/drafts/{draft}/delete"), &[])
            .await,
    ] {
        assert_eq!(page.status, 409, "{}: {}", page.url, page.body);
        has(&page, "Заяву вже підписано");
    }

    // A draft whose retention ended is removed when it is opened.
    let old = apply(&citizen).await;
    crate::common::db::execute(
        &database(&portal),
        &format!(
            "UPDATE drafts SET expires_at = '2026-01-01T00:00:00.000000000Z' WHERE id = '{old}'"
        ),
    )
    .await;
    let expired = citizen.get(&format!("/drafts/{old}/pages/applicant")).await;
    assert_eq!(expired.status, 404, "{}", expired.body);
    has(&expired, "Строк зберігання чернетки минув");
    let gone = citizen.get(&format!("/drafts/{old}/pages/applicant")).await;
    has(&gone, "Чернетку не знайдено");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registries_fill_a_page_and_refuse_what_they_do_not_confirm() {
    let portal = Portal::start().await;
    let _teplo = portal
        .city
        .start_teplo(&portal.city.dir.path().join("teplo"));

    // The account's holder comes from the heating network's register, shown on the page.
    let citizen = portal.sign_in(&CITIZEN).await;
    let started = citizen
        .post_form("/services/heating-recalculation/apply", &[])
        .await;
    let account = started.location.unwrap();
    let page = citizen.get(&account).await;
    assert_eq!(page.status, 200, "{}\n{}", page.body, portal.app.log());
    has(&page, r#"value="Іваненко Марія Петрівна""#);
    let next = citizen
        .post_form(
            &account,
            &[
                ("f.heat_account", "123456789"),
                ("f.holder_name", "Іваненко Марія Петрівна"),
            ],
        )
        .await;
    assert_eq!(next.status, 303, "{}", next.body);
    assert!(next.location.unwrap().ends_with("/pages/periods"));

    // Someone who does not hold the account sees what the register filled, and is then stopped
    // with the spec's message on the field the register does not confirm.
    let other = portal.sign_in(&OTHER).await;
    let started = other
        .post_form("/services/heating-recalculation/apply", &[])
        .await;
    let account = started.location.unwrap();
    let first = other
        .post_form(&account, &[("f.heat_account", "123456789")])
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    has(&first, "заповнено з відомостей реєстру");
    let refused = other
        .post_form(
            &account,
            &[
                ("f.heat_account", "123456789"),
                ("f.holder_name", "Іваненко Марія Петрівна"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(summary(&refused), ["f-rnokpp"]);
    has(&refused, "Ви не є власником цього особового рахунку");
}
