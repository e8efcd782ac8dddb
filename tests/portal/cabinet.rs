//! The citizen's cabinet (PORTAL-6, MIN-4): their applications with status, history, notices and
//! documents, withdrawal, and who asked the registries for their data; never another person's.

use serde_json::{Value, json};

use crate::common::city::{IN_DEBT, NO_DEBT, TOKEN};
use crate::portal::{Browser, CITIZEN, OTHER, Page, Portal};

/// Starts a case through the cases API as the front office would, for `rnokpp`.
pub(crate) async fn start_case(
    portal: &Portal,
    rnokpp: &str,
    key: &str,
    application: &Value,
) -> Value {
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
pub(crate) fn material_aid(rnokpp: &str, name: &str) -> Value {
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
pub(crate) async fn apply(browser: &Browser, e_service: &str) -> String {
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
    assert!(
        resumed.body.contains("maria@example.com"),
        "{}",
        resumed.body
    );

    // Deleting a draft from the cabinet's own form removes it from the list.
    let deleted = citizen
        .post_form(&format!("/drafts/{water}/delete"), &[])
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert!(
        deleted.body.contains("Чернетку видалено"),
        "{}",
        deleted.body
    );
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

/// What a citizen runs to sign `document` with the key `keys dev` made for `rnokpp`:
/// `openssl cms -sign -binary -outform DER`, the detached signature's bytes.
pub(crate) fn sign_as(portal: &Portal, rnokpp: &str, document: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("a.json"), dir.path().join("a.p7s"));
    std::fs::write(&input, document).unwrap();
    let keys = portal.city.root().join("dev-keys/citizens");
    let signed = std::process::Command::new("openssl")
        .args(["cms", "-sign", "-binary", "-outform", "DER", "-in"])
        .arg(&input)
        .arg("-signer")
        .arg(keys.join(format!("{rnokpp}.crt")))
        .arg("-inkey")
        .arg(keys.join(format!("{rnokpp}.key")))
        .arg("-out")
        .arg(&output)
        .output()
        .expect("openssl runs");
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    std::fs::read(output).unwrap()
}

/// Applies for `water-no-debt` on `account`, answering every page, agreeing, signing and
/// submitting as `rnokpp`; the application's id from the cabinet address it lands on.
pub(crate) async fn submit_water(
    portal: &Portal,
    browser: &Browser,
    rnokpp: &str,
    account: &str,
    email: &str,
    billing_down_once_filled: bool,
) -> String {
    let draft = fill_water(browser, account, email).await;
    if billing_down_once_filled {
        // The billing stops answering after the form was checked against it: the case cannot
        // decide by itself and goes to the subscriber department's clerk.
        portal
            .city
            .registries
            .billing_down
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
    let sign_page = browser.get(&format!("/drafts/{draft}/sign")).await;
    assert_eq!(sign_page.status, 200, "{}", sign_page.body);
    let signed = sign_draft(portal, browser, rnokpp, &draft).await;
    assert_eq!(signed.status, 303, "{}\n{}", signed.body, portal.app.log());
    let location = signed.location.unwrap();
    location
        .strip_prefix("/cabinet/applications/")
        .unwrap_or_else(|| panic!("signing went to {location}"))
        .to_string()
}

/// Applies for `water-no-debt` on `account`, answering every page and agreeing up to the sign
/// page; the draft's id.
pub(crate) async fn fill_water(browser: &Browser, account: &str, email: &str) -> String {
    let draft = apply(browser, "water-no-debt").await;
    for (page, fields) in [
        ("account", vec![("f.account_number", account)]),
        ("purpose", vec![("f.purpose", "01"), ("f.email", email)]),
    ] {
        let path = format!("/drafts/{draft}/pages/{page}");
        let mut saved = browser.post_form(&path, &fields).await;
        // A page the registry has just filled is shown again for the citizen to see; they go on.
        if saved.status == 200 && saved.body.contains("заповнено з відомостей реєстру")
        {
            let filled = prefilled(&saved.body);
            let mut answers: Vec<(&str, &str)> = fields.clone();
            answers.extend(
                filled
                    .iter()
                    .filter(|(k, _)| !fields.iter().any(|(name, _)| name == k))
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            );
            saved = browser.post_form(&path, &answers).await;
        }
        assert_eq!(saved.status, 303, "page {page}: {}", saved.body);
    }
    let checked = browser
        .post_form(
            &format!("/drafts/{draft}/check"),
            &[("consent.personal-data", "yes"), ("declaration", "yes")],
        )
        .await;
    assert_eq!(checked.status, 303, "{}", checked.body);
    draft
}

/// Signs draft `draft` as `rnokpp` and posts the signature: the sign POST's answer.
pub(crate) async fn sign_draft(
    portal: &Portal,
    browser: &Browser,
    rnokpp: &str,
    draft: &str,
) -> Page {
    let document = browser
        .get(&format!("/drafts/{draft}/application.json"))
        .await;
    assert_eq!(document.status, 200, "{}", document.body);
    let signature = sign_as(portal, rnokpp, document.body.as_bytes());
    browser
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
        .await
}

/// The `href`s on a page that start with `prefix`.
fn links(body: &str, prefix: &str) -> Vec<String> {
    body.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|h| h.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

/// The portal's `serve` arguments for a store on `database_url` (SQLite when none).
pub(crate) fn on(database_url: &Option<String>) -> Vec<&str> {
    match database_url {
        Some(url) => vec!["--database-url", url],
        None => vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_water_certificate_is_in_the_cabinet_as_soon_as_it_is_signed_sealed_by_the_utility() {
    water_certificate(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_water_certificate_is_in_the_cabinet_on_postgresql() {
    if let Some(url) = crate::common::postgres::url_or_skip("cabinet water on PostgreSQL") {
        water_certificate(Some(url)).await;
    }
}

async fn water_certificate(database_url: Option<String>) {
    let portal = Portal::start_with(&on(&database_url)).await;
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

    // Decided in the request that submitted it: the certificate is there on the first look.
    let page = citizen.get(&format!("/cabinet/applications/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for shown in [
        "Розглянуто</span>: послугу надано",
        "Документ видано",
        "За даними водоканалу заборгованість за особовим рахунком відсутня",
        "АВ-1/2026",
        "Засвідчено кваліфікованою електронною печаткою: Комунальне підприємство «Водоканал»",
        "Печатку перевірено",
        "Довідку про відсутність заборгованості сформовано і підписано печаткою",
        "Заяву зареєстровано",
    ] {
        assert!(
            page.body.contains(shown),
            "`{shown}` is not shown:\n{}",
            page.body
        );
    }
    assert!(
        !page.body.contains("/withdraw"),
        "a decided application offers no withdrawal"
    );
    let documents = links(
        &page.body,
        &format!("/cabinet/applications/{id}/documents/"),
    );
    // The page to view and print, the PDF and its seal, the text and its seal.
    assert_eq!(documents.len(), 5, "{documents:?}");
    let documents = &documents[3..];
    let number = page
        .body
        .split("<h1>Заява № ")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap();
    let text = citizen.get(&documents[0]).await;
    assert_eq!(text.status, 200);
    // The certificate quotes the application's number in the incoming journal.
    assert!(
        text.body.contains(&format!("ДОВІДКА № {number} від")),
        "{}",
        text.body
    );
    assert!(text.body.contains(
        "заборгованість за послуги централізованого водопостачання та водовідведення відсутня"
    ));
    assert!(
        text.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let anonymous = portal.browser().get(&documents[1]).await;
    assert_eq!(
        anonymous.status, 303,
        "the seal is not given without a session"
    );

    // The text and its seal verify with openssl against the city's trust anchor, as anyone
    // holding them can check.
    let dir = tempfile::tempdir().unwrap();
    let (status, headers, seal_bytes) = citizen.get_bytes(&documents[1]).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/pkcs7-signature");
    std::fs::write(dir.path().join("doc.txt"), text.body.as_bytes()).unwrap();
    std::fs::write(dir.path().join("doc.p7s"), &seal_bytes).unwrap();
    let verified = std::process::Command::new("openssl")
        .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
        .arg(dir.path().join("doc.p7s"))
        .arg("-content")
        .arg(dir.path().join("doc.txt"))
        .arg("-CAfile")
        .arg(portal.city.root().join("pki/ca.crt"))
        .args(["-out", "/dev/null"])
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );

    // Another person gets neither the document nor its seal.
    let other = portal.sign_in(&OTHER).await;
    for path in documents {
        let theirs = other.get(path).await;
        assert_eq!(theirs.status, 404, "{path}: {}", theirs.body);
        assert!(!theirs.body.contains("ДОВІДКА"), "{}", theirs.body);
    }

    // The cabinet lists it, decided.
    let cabinet = citizen.get("/cabinet").await;
    assert!(
        cabinet
            .body
            .contains(&format!("/cabinet/applications/{id}")),
        "{}",
        cabinet.body
    );
    assert!(cabinet.body.contains("послугу надано"), "{}", cabinet.body);
}

/// How many history lines of a page say `what`.
fn told(body: &str, what: &str) -> usize {
    body.matches(what).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_applicant_withdraws_with_a_confirmation_once_and_nobody_else_can() {
    withdrawal(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_applicant_withdraws_on_postgresql() {
    if let Some(url) = crate::common::postgres::url_or_skip("cabinet withdrawal on PostgreSQL") {
        withdrawal(Some(url)).await;
    }
}

async fn withdrawal(database_url: Option<String>) {
    let portal = Portal::start_with(&on(&database_url)).await;
    let vodokanal_data = tempfile::tempdir().unwrap();
    let _vodokanal = portal.city.start_vodokanal(vodokanal_data.path());
    let citizen = portal.sign_in(&CITIZEN).await;
    let id = submit_water(
        &portal,
        &citizen,
        CITIZEN.rnokpp,
        NO_DEBT,
        "maria@example.org",
        true,
    )
    .await;
    let address = format!("/cabinet/applications/{id}");
    let withdraw = format!("{address}/withdraw");

    let page = citizen.get(&address).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for shown in [
        "Розглядається",
        "Розгляд посадовою особою",
        &format!("href=\"{withdraw}\""),
    ] {
        assert!(
            page.body.contains(shown),
            "`{shown}` is not shown:\n{}",
            page.body
        );
    }
    let number = page
        .body
        .split("<h1>Заява № ")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap()
        .to_string();

    // Another person: not found, nothing of the application, and no withdrawal.
    let other = portal.sign_in(&OTHER).await;
    for path in [&address, &withdraw] {
        let theirs = other.get(path).await;
        assert_eq!(theirs.status, 404, "{path}: {}", theirs.body);
        for hidden in [&number, "Іваненко", "Розгляд посадовою особою"]
        {
            assert!(
                !theirs.body.contains(hidden),
                "`{hidden}` shown to another:\n{}",
                theirs.body
            );
        }
    }
    let refused = other
        .post_form(&withdraw, &[("state", "manual-review")])
        .await;
    assert_eq!(refused.status, 404, "{}", refused.body);

    // No CSRF token, or another session's: refused, nothing moved.
    let no_token = citizen
        .post_form_raw(&withdraw, &[("state", "manual-review")])
        .await;
    assert_eq!(no_token.status, 403, "{}", no_token.body);
    let foreign_token = citizen
        .post_form(
            &withdraw,
            &[("state", "manual-review"), ("csrf", &other.csrf())],
        )
        .await;
    assert_eq!(foreign_token.status, 403, "{}", foreign_token.body);
    // The state it was seen in is missing, or not the case's state any more.
    let unseen = citizen.post_form(&withdraw, &[]).await;
    assert_eq!(unseen.status, 400, "{}", unseen.body);
    let stale = citizen.post_form(&withdraw, &[("state", "checking")]).await;
    assert_eq!(stale.status, 409, "{}", stale.body);
    assert!(stale.body.contains("Стан заяви змінився"), "{}", stale.body);
    let page = citizen.get(&address).await;
    assert!(
        page.body.contains("Розглядається"),
        "nothing moved:\n{}",
        page.body
    );

    // The confirm page, then the withdrawal; the same POST again withdraws nothing more.
    let confirm = citizen.get(&withdraw).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(
        confirm
            .body
            .contains("name=\"state\" value=\"manual-review\""),
        "{}",
        confirm.body
    );
    for _ in 0..2 {
        let done = citizen
            .post_form(&withdraw, &[("state", "manual-review")])
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert_eq!(done.location.as_deref(), Some(address.as_str()));
    }
    let page = citizen.get(&address).await;
    assert!(page.body.contains("заяву відкликано"), "{}", page.body);
    assert_eq!(
        told(
            &page.body,
            "Відкликати заяву. Новий стан: «Заяву відкликано»"
        ),
        1,
        "{}",
        page.body
    );
    assert!(
        page.body.contains(
            "— Відкликати заяву. Новий стан: «Заяву відкликано» <span class=\"hint\">Ви</span>"
        ),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains(&format!("href=\"{withdraw}\"")),
        "{}",
        page.body
    );
    let again = citizen.get(&withdraw).await;
    assert_eq!(
        again.status, 409,
        "a decided application cannot be withdrawn: {}",
        again.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_shows_its_reason_and_notices_reach_the_email_the_application_gives() {
    let smtp = crate::common::smtp::SmtpServer::start();
    let url = smtp.url();
    let portal = Portal::start_with(&["--smtp", &url, "--mail-from", "portal@city.example"]).await;
    let vodokanal_data = tempfile::tempdir().unwrap();
    let _vodokanal = portal.city.start_vodokanal(vodokanal_data.path());
    let citizen = portal.sign_in(&CITIZEN).await;
    let id = submit_water(
        &portal,
        &citizen,
        CITIZEN.rnokpp,
        IN_DEBT,
        "certificates@example.org",
        false,
    )
    .await;

    let page = citizen.get(&format!("/cabinet/applications/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for shown in [
        "у наданні послуги відмовлено",
        "За особовим рахунком є заборгованість; довідку буде видано після її погашення",
        "Довідку не видано: за вашим особовим рахунком є заборгованість",
        "Документів за цією заявою ще не видано",
    ] {
        assert!(
            page.body.contains(shown),
            "`{shown}` is not shown:\n{}",
            page.body
        );
    }

    // The notice goes by e-mail through the engine's outbox to the address the form asked for.
    let arrived = crate::common::holds_within_30s(|| async { !smtp.received().is_empty() }).await;
    assert!(arrived, "no mail arrived\n{}", portal.app.log());
    let mail = &smtp.received()[0];
    assert_eq!(mail.rcpt_tos, ["certificates@example.org"], "{mail:?}");
    assert!(mail.body.contains("Довідку не видано"), "{mail:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officials_decision_reads_in_plain_words_naming_them_by_name_and_position_only() {
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
        true,
    )
    .await;

    // The subscriber department's clerk refuses it through the cases API.
    let clerk = "official:honcharenko-n";
    let http = reqwest::Client::new();
    let listed: Value = http
        .get(format!("{}/api/cases?state=manual-review", portal.app.url))
        .bearer_auth(TOKEN)
        .header("X-Hromada-Actor", clerk)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let case = listed["cases"][0]["id"].as_str().unwrap().to_string();
    let fired = http
        .post(format!(
            "{}/api/cases/{case}/transitions/refuse",
            portal.app.url
        ))
        .bearer_auth(TOKEN)
        .header("X-Hromada-Actor", clerk)
        .header("Idempotency-Key", "clerk-refuses-1")
        .json(&json!({"seen_state": "manual-review"}))
        .send()
        .await
        .unwrap();
    assert_eq!(fired.status(), 200, "{}", fired.text().await.unwrap());

    let page = citizen.get(&format!("/cabinet/applications/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for shown in [
        "у наданні послуги відмовлено",
        "Відмовити. Новий стан: «У наданні відмовлено»",
        "Гончаренко Наталія Іванівна, Начальник абонентського відділу",
        "У видачі довідки відмовлено: за особовим рахунком є заборгованість",
    ] {
        assert!(
            page.body.contains(shown),
            "`{shown}` is not shown:\n{}",
            page.body
        );
    }
    // Nothing of the official beyond name and position, nothing of the engine's internals.
    for hidden in [
        "honcharenko",
        "+380 61 787 20 31",
        "3182736456",
        "registry-unavailable",
        "water-clerk",
    ] {
        assert!(
            !page.body.contains(hidden),
            "`{hidden}` is shown:\n{}",
            page.body
        );
    }
}

/// The values a page shows in its editable text inputs (what the registry filled in), as the
/// browser would post them back.
fn prefilled(page: &str) -> Vec<(String, String)> {
    let input =
        regex::Regex::new(r#"<input id="[^"]*" name="(f\.[^"]+)" type="text" value="([^"]*)""#)
            .unwrap();
    input
        .captures_iter(page)
        .filter(|c| !c[0].contains("readonly"))
        .map(|c| {
            (
                c[1].to_string(),
                c[2].replace("&#39;", "'")
                    .replace("&quot;", "\"")
                    .replace("&amp;", "&"),
            )
        })
        .collect()
}
