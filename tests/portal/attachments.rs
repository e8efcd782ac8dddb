//! A draft's files through the real appliance (PORTAL-3): uploaded as the form's attachments
//! with their formats judged by content (a program renamed `.pdf` refused), size and count
//! limits, one stored content however often it is attached, removal, download; and the
//! refusals: someone else's draft (404, none of its files), no CSRF token, no session, a
//! tampered attachment id, a file over the portal's ceiling. On SQLite and PostgreSQL.

use crate::common::postgres::url_or_skip;
use crate::portal::{Browser, CITIZEN, OTHER, Page, Portal};

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
const EXE: &[u8] = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0This program cannot be run in DOS mode.";

/// Applies for `material-aid` (income statement: PDF; damage act: PDF, JPEG, PNG); the draft.
async fn apply(browser: &Browser) -> String {
    browser.get("/").await;
    let started = browser.post_form("/services/material-aid/apply", &[]).await;
    assert_eq!(started.status, 303, "{}", started.body);
    let location = started.location.unwrap();
    location
        .strip_prefix("/drafts/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("apply went to {location}"))
        .to_string()
}

async fn upload(browser: &Browser, draft: &str, attachment: &str, name: &str, bytes: &[u8]) -> Page {
    browser
        .post_multipart(
            &format!("/drafts/{draft}/attachments"),
            &[("attachment", attachment)],
            &[("file", name, "application/octet-stream", bytes.to_vec())],
        )
        .await
}

fn has(page: &Page, text: &str) {
    assert!(
        page.body.contains(text),
        "the page ({}) lacks {text}:\n{}",
        page.status,
        page.body
    );
}

/// A refusal on the attachments page: 422, the message, the summary linking to the input.
fn refused(page: &Page, attachment: &str, says: &str) {
    assert_eq!(page.status, 422, "{}", page.body);
    has(page, says);
    has(page, &format!(r##"<a href="#file-{attachment}">"##));
    has(page, r#"class="error-summary""#);
}

/// (blobs, attachment rows) in the appliance's database.
async fn counts(url: &str) -> (i64, i64) {
    let sql = "SELECT (SELECT COUNT(*) FROM attachment_blobs), (SELECT COUNT(*) FROM draft_attachments)";
    if url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let n = sqlx::query_as(sql).fetch_one(&pool).await.unwrap();
        pool.close().await;
        n
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let n = sqlx::query_as(sql).fetch_one(&pool).await.unwrap();
        pool.close().await;
        n
    }
}

fn sqlite_url(portal: &Portal) -> String {
    format!(
        "sqlite://{}",
        portal.city.dir.path().join("data/hromada.db").display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_judged_by_content_limited_and_stored_once() {
    let portal = Portal::start().await;
    let db = sqlite_url(&portal);
    let browser = portal.sign_in(&CITIZEN).await;
    let draft = apply(&browser).await;
    let files = format!("/drafts/{draft}/attachments");

    let page = browser.get(&files).await;
    assert_eq!(page.status, 200, "{}", page.body);
    has(&page, "Довідка про доходи членів сім'ї за останні 6 місяців");
    has(&page, r#"<label for="file-income-statement">"#);
    has(&page, r#"accept=".pdf""#);
    has(&page, "Формат PDF, до 10 МБ");
    has(&page, r#"accept=".pdf,.jpg,.png""#);

    // A PDF, then the same bytes as another attachment: two files, one stored content.
    let added = upload(&browser, &draft, "income-statement", "довідка.pdf", PDF).await;
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(added.location.as_deref(), Some(files.as_str()));
    let again = upload(&browser, &draft, "damage-act", "акт.PDF", PDF).await;
    assert_eq!(again.status, 303, "{}", again.body);
    assert_eq!(counts(&db).await, (1, 2));
    let page = browser.get(&files).await;
    has(&page, "довідка.pdf");
    has(&page, "акт.PDF");
    has(&page, &format!(r#"action="/drafts/{draft}/attachments/1/remove""#));

    // The citizen's own file comes back as stored, never sniffed or run by the browser.
    let got = browser.get(&format!("{files}/1")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body.as_bytes(), PDF);
    assert_eq!(got.headers["content-type"], "application/pdf");
    assert_eq!(got.headers["x-content-type-options"], "nosniff");
    assert!(got.headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));

    // Every kind of refusal: nothing of it is kept.
    let exe = upload(&browser, &draft, "income-statement", "довідка.pdf", EXE).await;
    refused(&exe, "income-statement", "є програмою, а не документом");
    let text = upload(&browser, &draft, "income-statement", "scan.pdf", b"not a pdf at all").await;
    refused(&text, "income-statement", "не є документом PDF");
    let png = upload(&browser, &draft, "income-statement", "scan.png", PNG).await;
    refused(&png, "income-statement", "тут не приймається. Додайте файл у форматі PDF");
    let png_as_jpg = upload(&browser, &draft, "damage-act", "photo.jpg", PNG).await;
    refused(&png_as_jpg, "damage-act", "не є документом JPEG");
    let big = [PDF, &vec![b' '; 10 * 1024 * 1024]].concat();
    let oversized = upload(&browser, &draft, "income-statement", "big.pdf", &big).await;
    refused(&oversized, "income-statement", "завеликий. Найбільший розмір файлу — 10 МБ");
    let nothing = upload(&browser, &draft, "income-statement", "", b"").await;
    refused(&nothing, "income-statement", "Виберіть файл");
    let huge = [PDF, &vec![b' '; 26 * 1024 * 1024]].concat();
    let over_ceiling = upload(&browser, &draft, "income-statement", "huge.pdf", &huge).await;
    refused(&over_ceiling, "income-statement", "завеликий");
    let tampered = upload(&browser, &draft, "passport", "a.pdf", PDF).await;
    assert_eq!(tampered.status, 400, "{}", tampered.body);
    assert_eq!(counts(&db).await, (1, 2), "a refused file is not kept");

    // The count limit (5 by default): the damage act holds one; four more, then no more.
    for i in 0..4 {
        let bytes = [PDF, format!("% {i}").as_bytes()].concat();
        let page = upload(&browser, &draft, "damage-act", &format!("{i}.pdf"), &bytes).await;
        assert_eq!(page.status, 303, "{}", page.body);
    }
    let sixth = upload(&browser, &draft, "damage-act", "6.png", PNG).await;
    refused(&sixth, "damage-act", "не більше файлів, ніж 5");
    has(&browser.get(&files).await, "Додано найбільшу кількість файлів (5)");

    // Removal needs the session's token; then the file is gone.
    let remove = format!("{files}/1/remove");
    let forged = browser.post_form_raw(&remove, &[]).await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert_eq!(counts(&db).await.1, 6);
    let removed = browser.post_form(&remove, &[]).await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    assert_eq!(counts(&db).await, (5, 5));
    assert_eq!(browser.get(&format!("{files}/1")).await.status, 404);
    let twice = browser.post_form(&remove, &[]).await;
    assert_eq!(twice.status, 404, "{}", twice.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_else_reaches_a_drafts_files() {
    let portal = Portal::start().await;
    let db = sqlite_url(&portal);
    let citizen = portal.sign_in(&CITIZEN).await;
    let draft = apply(&citizen).await;
    let files = format!("/drafts/{draft}/attachments");
    let added = upload(&citizen, &draft, "income-statement", "таємна-довідка.pdf", PDF).await;
    assert_eq!(added.status, 303, "{}", added.body);

    // Another signed-in person: not found, and not a word of the file.
    let other = portal.sign_in(&OTHER).await;
    for page in [
        other.get(&files).await,
        other.get(&format!("{files}/1")).await,
        upload(&other, &draft, "income-statement", "чуже.pdf", PNG).await,
        other.post_form(&format!("{files}/1/remove"), &[]).await,
    ] {
        assert_eq!(page.status, 404, "{}: {}", page.url, page.body);
        assert!(!page.body.contains("таємна-довідка"), "{}", page.body);
    }

    // The owner without the session's token: refused, nothing stored.
    let no_token = citizen
        .post_multipart(
            &files,
            &[("attachment", "income-statement"), ("csrf", "")],
            &[("file", "b.pdf", "application/pdf", b"%PDF-1 other".to_vec())],
        )
        .await;
    assert_eq!(no_token.status, 403, "{}", no_token.body);
    let wrong_token = citizen
        .post_multipart(
            &files,
            &[("attachment", "income-statement"), ("csrf", "not-the-token")],
            &[("file", "b.pdf", "application/pdf", b"%PDF-1 other".to_vec())],
        )
        .await;
    assert_eq!(wrong_token.status, 403, "{}", wrong_token.body);

    // No session at all: a GET goes to sign-in, a POST is refused.
    let stranger = portal.browser();
    let get = stranger.get(&files).await;
    assert_eq!(get.status, 303);
    assert!(get.location.unwrap().starts_with("/sign-in?next="));
    let post = stranger
        .post_multipart(
            &files,
            &[("attachment", "income-statement"), ("csrf", "x")],
            &[("file", "b.pdf", "application/pdf", PDF.to_vec())],
        )
        .await;
    assert_eq!(post.status, 401, "{}", post.body);

    assert_eq!(counts(&db).await, (1, 1));
    let page = citizen.get(&files).await;
    has(&page, "таємна-довідка.pdf");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_files_are_stored_once_on_postgres() {
    let Some(url) = url_or_skip("identical_files_are_stored_once_on_postgres") else {
        return;
    };
    let portal = Portal::start_with(&["--database-url", &url]).await;
    let browser = portal.sign_in(&CITIZEN).await;
    let first = apply(&browser).await;
    let second = apply(&browser).await;
    for draft in [&first, &second] {
        let page = upload(&browser, draft, "income-statement", "довідка.pdf", PDF).await;
        assert_eq!(page.status, 303, "{}", page.body);
    }
    let exe = upload(&browser, &first, "damage-act", "фото.png", EXE).await;
    refused(&exe, "damage-act", "є програмою");
    assert_eq!(counts(&url).await, (1, 2));
    let page = browser.get(&format!("/drafts/{second}/attachments/1")).await;
    assert_eq!(page.body.as_bytes(), PDF);
    let removed = browser
        .post_form(&format!("/drafts/{first}/attachments/1/remove"), &[])
        .await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    assert_eq!(counts(&url).await, (1, 1), "the other draft still attaches it");
}
