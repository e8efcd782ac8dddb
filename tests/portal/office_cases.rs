//! The officials' inbox and their work on a case (PORTAL-7; 003 §5.6, §6.3) through the real
//! appliance: a citizen signs a material-aid application, the clerk finds it in the inbox, takes
//! it, asks for documents, the citizen adds one, the clerk passes it to the commission and the
//! head grants it with an amount. And the refusals: outside one's roles, another provider's
//! case (404, none of its data), a stale form, no CSRF token; hostile inbox filters.

use serde_json::{Value, json};

use crate::cabinet::{on, sign_as, start_case};
use crate::common::city::TOKEN;
use crate::common::postgres::url_or_skip;
use crate::portal::{Browser, CITIZEN, KOVAL, MOROZ, Page, Portal, TKACHENKO};

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0 scan";

fn has(page: &Page, text: &str) {
    assert!(
        page.body.contains(text),
        "the page ({} {}) lacks `{text}`:\n{}",
        page.status,
        page.url,
        page.body
    );
}

fn lacks(page: &Page, text: &str) {
    assert!(
        !page.body.contains(text),
        "the page ({} {}) shows `{text}`:\n{}",
        page.status,
        page.url,
        page.body
    );
}

/// The value of the hidden input `name` in the form whose action is `action`.
fn hidden(page: &Page, action: &str, name: &str) -> String {
    let form = page
        .body
        .split(&format!(r#"action="{action}""#))
        .nth(1)
        .unwrap_or_else(|| panic!("no form to {action}:\n{}", page.body));
    let form = form.split("</form>").next().unwrap();
    form.split(&format!(r#"name="{name}" value=""#))
        .nth(1)
        .and_then(|v| v.split('"').next())
        .unwrap_or_else(|| panic!("no `{name}` in the form to {action}:\n{form}"))
        .to_string()
}

/// Posts the form to `action` on `page` with its hidden fields and `fields`.
async fn submit(browser: &Browser, page: &Page, action: &str, fields: &[(&str, &str)]) -> Page {
    let mut all: Vec<(String, String)> = ["state", "version", "key"]
        .iter()
        .filter(|n| !fields.iter().any(|(k, _)| k == *n))
        .filter(|n| {
            page.body
                .split(&format!(r#"action="{action}""#))
                .nth(1)
                .and_then(|f| f.split("</form>").next())
                .is_some_and(|f| f.contains(&format!(r#"name="{n}""#)))
        })
        .map(|n| (n.to_string(), hidden(page, action, n)))
        .collect();
    all.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let pairs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    browser.post_form(action, &pairs).await
}

/// Applies for material aid as `CITIZEN`, answering every page, attaching both documents,
/// agreeing and signing; the application's id.
pub(crate) async fn submit_material_aid(portal: &Portal, citizen: &Browser) -> String {
    citizen.get("/").await;
    let started = citizen.post_form("/services/material-aid/apply", &[]).await;
    assert_eq!(started.status, 303, "{}", started.body);
    let draft = started
        .location
        .unwrap()
        .strip_prefix("/drafts/")
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_string();
    for (page, fields) in [
        (
            "applicant",
            vec![
                ("f.birth_date", "1980-04-02"),
                ("f.phone", "+380671234567"),
                ("f.district", "01"),
            ],
        ),
        (
            "reason",
            vec![
                ("f.reason", "02"),
                ("f.event_date", "2026-11-20"),
                ("f.requested_amount", "12000"),
            ],
        ),
        ("household", vec![("f.monthly_income", "4200")]),
        ("payment", vec![("f.iban", "UA213223130000026007233566001")]),
    ] {
        let saved = citizen
            .post_form(&format!("/drafts/{draft}/pages/{page}"), &fields)
            .await;
        assert_eq!(saved.status, 303, "page {page}: {}", saved.body);
    }
    for (attachment, name) in [
        ("income-statement", "довідка.pdf"),
        ("damage-act", "акт.pdf"),
    ] {
        let added = citizen
            .post_multipart(
                &format!("/drafts/{draft}/attachments"),
                &[("attachment", attachment)],
                &[("file", name, "application/pdf", PDF.to_vec())],
            )
            .await;
        assert_eq!(added.status, 303, "{}", added.body);
    }
    let checked = citizen
        .post_form(
            &format!("/drafts/{draft}/check"),
            &[("consent.personal-data", "yes"), ("declaration", "yes")],
        )
        .await;
    assert_eq!(checked.status, 303, "{}", checked.body);
    let document = citizen
        .get(&format!("/drafts/{draft}/application.json"))
        .await;
    assert_eq!(document.status, 200, "{}", document.body);
    let signature = sign_as(portal, CITIZEN.rnokpp, document.body.as_bytes());
    citizen.get(&format!("/drafts/{draft}/sign")).await;
    let signed = citizen
        .post_multipart(
            &format!("/drafts/{draft}/sign"),
            &[],
            &[(
                "signature",
                "application.json.p7s",
                "application/pkcs7-signature",
                signature,
            )],
        )
        .await;
    assert_eq!(signed.status, 303, "{}\n{}", signed.body, portal.app.log());
    signed
        .location
        .unwrap()
        .strip_prefix("/cabinet/applications/")
        .unwrap()
        .to_string()
}

/// The case id behind the inbox row that shows `number`.
fn case_of(inbox: &Page, number: &str) -> String {
    let row = inbox
        .body
        .split("<tr>")
        .find(|r| r.contains(&format!(">{number}</a>")))
        .unwrap_or_else(|| panic!("{number} is not in the inbox:\n{}", inbox.body));
    row.split(r#"href="/office/cases/"#)
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string()
}

/// The case as the cases API tells it, its `state` the state's id.
async fn state_of(portal: &Portal, case: &str) -> Value {
    let mut case: Value = reqwest::Client::new()
        .get(format!("{}/api/cases/{case}", portal.app.url))
        .bearer_auth(TOKEN)
        .header("X-Hromada-Actor", "official:tkachenko-o")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    case["state"] = case["state"]["id"].clone();
    case
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_material_aid_application_goes_from_the_inbox_through_a_request_for_documents_to_a_grant()
{
    from_inbox_to_grant(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_the_inbox_to_a_grant_on_postgresql() {
    if let Some(url) = url_or_skip("office_cases::from_the_inbox_to_a_grant_on_postgresql") {
        from_inbox_to_grant(Some(url)).await;
    }
}

async fn from_inbox_to_grant(database_url: Option<String>) {
    let portal = Portal::start_with(&on(&database_url)).await;
    let citizen = portal.sign_in(&CITIZEN).await;
    let application = submit_material_aid(&portal, &citizen).await;
    let mine = citizen
        .get(&format!("/cabinet/applications/{application}"))
        .await;
    let number = mine
        .body
        .split("<h1>Заява № ")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap()
        .to_string();

    // The clerk's inbox: the new application, due in working days, nobody's yet.
    let koval = portal.sign_in_official(&KOVAL).await;
    let inbox = koval.get("/office").await;
    assert_eq!(inbox.status, 200, "{}", inbox.body);
    has(&inbox, &number);
    has(&inbox, "Надання одноразової матеріальної допомоги");
    has(&inbox, "Заяву отримано");
    has(&inbox, "ще 5 робочих днів");
    has(&inbox, "не призначено");
    let case = case_of(&inbox, &number);
    let address = format!("/office/cases/{case}");

    // The case: the application by its labels, its files, the registry's answer, the history.
    let page = koval.get(&address).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for shown in [
        "Іваненко Марія Петрівна",
        "<dt>Контактний телефон</dt><dd>+380671234567</dd>",
        "<dt>Сума, яку просите, грн</dt><dd>12000</dd>",
        "Довідка про доходи членів сім&#39;ї за останні 6 місяців",
        "довідка.pdf",
        "registration-dept/residents",
        "Справу розпочато",
        "Взяти справу в роботу",
        "Передати на комісію",
        "Запитати документи",
    ] {
        has(&page, shown);
    }
    lacks(&page, "Надати послугу");
    let (status, _, bytes) = koval.get_bytes(&format!("{address}/attachments/1")).await;
    assert_eq!((status, bytes.as_slice()), (200, PDF));

    // She takes it; the inbox says it is hers.
    let taken = submit(&koval, &page, &format!("{address}/take"), &[]).await;
    assert_eq!(taken.status, 303, "{}", taken.body);
    let page = koval.get(&address).await;
    has(&page, "<dd>Ви</dd>");
    lacks(&page, "Взяти справу в роботу");
    has(&koval.get("/office").await, "<td>Ви</td>");

    // A request for documents must say what is needed; then it goes to the applicant.
    let action = format!("{address}/transitions/request-documents");
    let empty = submit(&koval, &page, &action, &[("documents_requested", " ")]).await;
    assert_eq!(empty.status, 422, "{}", empty.body);
    has(&empty, "Заповніть поле «Які документи потрібні»");
    has(&empty, "href=\"#request-documents-documents_requested\"");
    let asked = submit(
        &koval,
        &page,
        &action,
        &[("documents_requested", "Медичний висновок про лікування")],
    )
    .await;
    assert_eq!(asked.status, 303, "{}", asked.body);
    assert_eq!(
        state_of(&portal, &case).await["state"],
        "awaiting-documents"
    );

    // The citizen sees what is asked and adds a scan; the step fires as hers.
    let mine = citizen
        .get(&format!("/cabinet/applications/{application}"))
        .await;
    has(&mine, "Медичний висновок про лікування");
    let upload = format!("/cabinet/applications/{application}/documents-upload");
    has(&mine, &format!("href=\"{upload}\""));
    let form = citizen.get(&upload).await;
    assert_eq!(form.status, 200, "{}", form.body);
    has(&form, "Медичний висновок про лікування");
    let (state, key) = (
        hidden(&form, &upload, "state"),
        hidden(&form, &upload, "key"),
    );
    let refused = citizen
        .post_multipart(
            &upload,
            &[("state", &state), ("key", &key)],
            &[(
                "file",
                "висновок.exe",
                "application/octet-stream",
                b"MZ\x90\0program".to_vec(),
            )],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    has(&refused, "є програмою, а не документом");
    for _ in 0..2 {
        // A double click sends the same form twice: one file, one step.
        let sent = citizen
            .post_multipart(
                &upload,
                &[("state", &state), ("key", &key)],
                &[("file", "висновок.png", "image/png", PNG.to_vec())],
            )
            .await;
        assert_eq!(sent.status, 303, "{}\n{}", sent.body, portal.app.log());
    }
    assert_eq!(state_of(&portal, &case).await["state"], "received");
    let again = citizen.get(&upload).await;
    assert_eq!(again.status, 409, "{}", again.body);

    // The clerk sees the added file and passes the case to the commission.
    let page = koval.get(&address).await;
    has(&page, "Додано заявником після подання");
    assert_eq!(
        page.body.matches("висновок.png").count(),
        1,
        "{}",
        page.body
    );
    let (status, _, bytes) = koval.get_bytes(&format!("{address}/attachments/3")).await;
    assert_eq!((status, bytes.as_slice()), (200, PNG));
    has(
        &page,
        "Які документи потрібні: Медичний висновок про лікування",
    );
    let passed = submit(
        &koval,
        &page,
        &format!("{address}/transitions/to-commission"),
        &[("reason", "Документи повні")],
    )
    .await;
    assert_eq!(passed.status, 303, "{}", passed.body);
    assert_eq!(state_of(&portal, &case).await["state"], "commission");

    // The head grants it with an amount; the decision is issued and the citizen told.
    let head = portal.sign_in_official(&TKACHENKO).await;
    let inbox = head.get("/office?due=&state=commission").await;
    assert_eq!(case_of(&inbox, &number), case);
    let page = head.get(&address).await;
    has(&page, "Надати послугу");
    has(&page, "Сума, грн");
    let grant = format!("{address}/transitions/grant");
    let no_amount = submit(&head, &page, &grant, &[("decision.amount", "")]).await;
    assert_eq!(no_amount.status, 422, "{}", no_amount.body);
    has(&no_amount, "Заповніть поле «Сума, грн»");
    let granted = submit(
        &head,
        &page,
        &grant,
        &[
            ("decision.amount", "8000"),
            ("reason", "Рішення комісії № 12"),
        ],
    )
    .await;
    assert_eq!(
        granted.status,
        303,
        "{}\n{}",
        granted.body,
        portal.app.log()
    );
    let decided = state_of(&portal, &case).await;
    assert_eq!(
        (&decided["state"], &decided["outcome"]),
        (&json!("granted"), &json!("granted"))
    );
    assert_eq!(decided["decision"]["amount"], json!(8000));
    let mine = citizen
        .get(&format!("/cabinet/applications/{application}"))
        .await;
    has(&mine, "послугу надано");
    has(
        &mine,
        "Рішення щодо надання одноразової матеріальної допомоги",
    );
    // The decision's document reads the amount and the outcome the head gave.
    let link = mine
        .body
        .split(&format!(
            "href=\"/cabinet/applications/{application}/documents/"
        ))
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no document link:\n{}", mine.body))
        .to_string();
    let text = citizen
        .get(&format!(
            "/cabinet/applications/{application}/documents/{link}"
        ))
        .await;
    assert_eq!(text.status, 200, "{}", text.body);
    has(
        &text,
        "призначити одноразову матеріальну допомогу в сумі 8000 грн",
    );
    // The head's case page lists the issued decision with the way to revoke it.
    let closed = head.get(&address).await;
    has(&closed, "Видані документи");
    has(
        &closed,
        "Рішення щодо надання одноразової матеріальної допомоги",
    );
    let revoke = format!(
        "/office/documents/{}/revoke",
        link.trim_end_matches("/view")
    );
    has(&closed, &revoke);
    // Closed, it leaves the inbox.
    let inbox = head.get("/office").await;
    lacks(&inbox, &number);
}

/// A material-aid case of `CITIZEN` started through the cases API (as a front office would).
async fn aid_case(portal: &Portal, key: &str) -> String {
    let started = start_case(
        portal,
        CITIZEN.rnokpp,
        key,
        &crate::cabinet::material_aid(CITIZEN.rnokpp, "Іваненко Марія Петрівна"),
    )
    .await;
    started["case_id"]
        .as_str()
        .or_else(|| started["id"].as_str())
        .unwrap_or_else(|| panic!("no case id in {started:#}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officials_are_refused_outside_their_roles_on_a_changed_case_and_without_their_token() {
    let portal = Portal::start().await;
    let (first, second) = (
        aid_case(&portal, "aid-first").await,
        aid_case(&portal, "aid-second").await,
    );
    let koval = portal.sign_in_official(&KOVAL).await;
    let moroz = portal.sign_in_official(&MOROZ).await;

    // KOVAL's page of the first case, then she passes it to the commission.
    let first_page = koval.get(&format!("/office/cases/{first}")).await;
    assert_eq!(first_page.status, 200, "{}", first_page.body);
    let to_commission = format!("/office/cases/{first}/transitions/to-commission");
    let passed = submit(&koval, &first_page, &to_commission, &[]).await;
    assert_eq!(passed.status, 303, "{}", passed.body);
    let before = state_of(&portal, &first).await;
    assert_eq!(before["state"], "commission");

    // The same form sent again (a double click) answers as the first did; another action from
    // the same page (stale: the case moved on) changes nothing.
    let again = submit(&koval, &first_page, &to_commission, &[]).await;
    assert_eq!(again.status, 303, "{}", again.body);
    let fresh_key = [("key", "another-attempt")];
    let stale = submit(&koval, &first_page, &to_commission, &fresh_key).await;
    assert_eq!(stale.status, 409, "{}", stale.body);
    has(&stale, "Справа змінилася");
    has(&stale, "Розгляд комісією");

    // MOROZ, a clerk too, sees the commission's case but may not decide it: no form, and a
    // forged one is refused by the engine, naming why; nothing changes.
    let seen = moroz.get(&format!("/office/cases/{first}")).await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    lacks(&seen, "Надати послугу");
    let version = before["version"].to_string();
    let forged = moroz
        .post_form(
            &format!("/office/cases/{first}/transitions/grant"),
            &[
                ("state", "commission"),
                ("version", &version),
                ("key", "moroz-grants"),
                ("decision.amount", "50000"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    has(&forged, "Ця дія не у ваших повноваженнях");
    let after = state_of(&portal, &first).await;
    assert_eq!(
        (&after["state"], &after["version"]),
        (&before["state"], &before["version"])
    );

    // A stale version: MOROZ takes the second case after KOVAL opened it; KOVAL's request for
    // documents from her older page is refused.
    let koval_page = koval.get(&format!("/office/cases/{second}")).await;
    let moroz_page = moroz.get(&format!("/office/cases/{second}")).await;
    let taken = submit(
        &moroz,
        &moroz_page,
        &format!("/office/cases/{second}/take"),
        &[],
    )
    .await;
    assert_eq!(taken.status, 303, "{}", taken.body);
    let late = submit(
        &koval,
        &koval_page,
        &format!("/office/cases/{second}/transitions/request-documents"),
        &[("documents_requested", "Довідка")],
    )
    .await;
    assert_eq!(late.status, 409, "{}", late.body);
    assert_eq!(state_of(&portal, &second).await["state"], "received");

    // Without the session's CSRF token, or with a form the page never had: refused.
    let no_token = koval
        .post_form_raw(
            &format!("/office/cases/{second}/take"),
            &[("version", "2"), ("key", "k")],
        )
        .await;
    assert_eq!(no_token.status, 403, "{}", no_token.body);
    let odd = koval
        .post_form(
            &format!("/office/cases/{second}/transitions/request-documents"),
            &[
                ("state", "received"),
                ("version", "2"),
                ("key", "k2"),
                ("decision.outcome", "granted"),
            ],
        )
        .await;
    assert_eq!(odd.status, 400, "{}", odd.body);
    let unchanged = state_of(&portal, &second).await;
    assert_eq!(
        (&unchanged["state"], &unchanged["assignee"]),
        (&json!("received"), &json!("moroz-v"))
    );

    // Filters that are not the inbox's are refused, naming what is wrong.
    for (query, says) in [
        ("?due=soon", "Фільтр строку"),
        ("?page=two", "Номер сторінки"),
        ("?provider=water-no-debt", "Серед послуг вашої установи"),
        ("?state=%27%20OR%201%3D1", "Вибраного стану"),
    ] {
        let refused = koval.get(&format!("/office{query}")).await;
        assert_eq!(refused.status, 400, "{query}: {}", refused.body);
        has(&refused, says);
    }

    // MOROZ moves to the water utility: the council's cases are not found for her (404, none of
    // their data), not in her inbox, and nothing she posts reaches them.
    let before = portal.app.applied();
    portal.city.edit(
        "spec/registry/officials.kdl",
        "    unit \"city-council/social-aid\"\n    roles \"social-clerk\"\n    email \"moroz.v",
        "    unit \"vodokanal/abonent\"\n    roles \"water-clerk\"\n    email \"moroz.v",
    );
    portal.app.wait_for("MOROZ's move applied", |s| {
        s["applied"]["revision"]
            .as_str()
            .is_some_and(|r| r != before)
    });
    let moroz = portal.sign_in_official(&MOROZ).await;
    for path in [
        format!("/office/cases/{second}"),
        format!("/office/cases/{second}/attachments/1"),
        "/office/cases/no-such-case".to_string(),
    ] {
        let hidden = moroz.get(&path).await;
        assert_eq!(hidden.status, 404, "{path}: {}", hidden.body);
        has(&hidden, "Справу не знайдено");
        lacks(&hidden, "Іваненко");
        lacks(&hidden, "Заяву отримано");
    }
    let inbox = moroz.get("/office").await;
    assert_eq!(inbox.status, 200, "{}", inbox.body);
    lacks(&inbox, &second);
    has(&inbox, "Справ, що відповідають вибраним умовам, немає");
    let version = state_of(&portal, &second).await["version"].to_string();
    let reached = moroz
        .post_form(
            &format!("/office/cases/{second}/take"),
            &[("version", &version), ("key", "moroz-takes-back")],
        )
        .await;
    assert_eq!(reached.status, 404, "{}", reached.body);
    lacks(&reached, "Іваненко");

    let overdue = koval.get("/office?due=overdue").await;
    assert_eq!(overdue.status, 200, "{}", overdue.body);
    has(&overdue, "Справ, що відповідають вибраним умовам, немає");
    portal.city.set_time("2027-01-12T09:00:00Z");
    let overdue = koval.get("/office?due=overdue").await;
    has(&overdue, "прострочено на");
}
