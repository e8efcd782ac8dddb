//! Results (PORTAL-8): an issued document as a sealed PDF with a text layer, viewed, printed and
//! downloaded from the cabinet with the original signed application, verified by anyone (by
//! number and code, or by the file), and originals kept byte for byte: a stored byte changed
//! outside hromada is refused, never handed out.

use std::path::Path;

use hromada::store::{OriginalKind, Store, original_digest};
use serde_json::{Value, json};

use crate::cabinet::submit_water;
use crate::common::city::{NO_DEBT, TOKEN};
use crate::portal::{Browser, CITIZEN, KOVAL, OTHER, Portal, ROMANENKO, TKACHENKO};

/// The portal's `serve` arguments for a store on `database_url` (SQLite when none).
fn on(database_url: &Option<String>) -> Vec<&str> {
    match database_url {
        Some(url) => vec!["--database-url", url],
        None => vec![],
    }
}

/// The store the portal runs on, opened beside it (as an operator's tool would).
async fn store_of(portal: &Portal, database_url: &Option<String>) -> (Store, String) {
    let url = database_url
        .clone()
        .unwrap_or_else(|| Store::sqlite_url(&portal.city.dir.path().join("data/hromada.db")));
    (Store::connect(&url).await.unwrap(), url)
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

/// The one link of `links` ending with `suffix`.
fn ending(links: &[String], suffix: &str) -> String {
    let found: Vec<_> = links.iter().filter(|l| l.ends_with(suffix)).collect();
    assert_eq!(found.len(), 1, "{suffix}: {links:?}");
    found[0].clone()
}

/// The text layer of a PDF, as `pdftotext` (poppler-utils) extracts it.
fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("result.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Asserts that poppler draws every page of `pdf` without a complaint about it or its font.
fn renders_cleanly(pdf: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("result.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new("pdftoppm")
        .args(["-r", "50", "-gray", "-f", "1", "-l", "1", "-singlefile"])
        .arg(&file)
        .arg(dir.path().join("page"))
        .output()
        .expect("pdftoppm (poppler-utils) runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.trim().is_empty(), "{stderr}");
    // The glyphs are drawn, not only in the text layer: the page has ink (a PGM's dark pixels).
    let page = std::fs::read(dir.path().join("page.pgm")).unwrap();
    let ink = page
        .iter()
        .rev()
        .take(page.len() - 20)
        .filter(|b| **b < 128)
        .count();
    assert!(
        ink > 1_000,
        "the first page is nearly blank: {ink} dark pixels"
    );
    let fonts = std::process::Command::new("pdffonts")
        .arg(&file)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&fonts.stdout);
    assert!(
        listed.contains("DejaVuSans") && listed.contains("yes"),
        "{listed}"
    );
}

/// `openssl cms -verify -binary` of `seal` over `content` against the city's CA: its stderr
/// when it fails.
fn openssl_verifies(ca: &Path, content: &[u8], seal: &[u8]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let (content_file, seal_file) = (dir.path().join("result.pdf"), dir.path().join("result.p7s"));
    std::fs::write(&content_file, content).unwrap();
    std::fs::write(&seal_file, seal).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["cms", "-verify", "-binary", "-content"])
        .arg(&content_file)
        .args(["-inform", "DER", "-in"])
        .arg(&seal_file)
        .arg("-CAfile")
        .arg(ca)
        .args(["-purpose", "any", "-out", "/dev/null"])
        .output()
        .expect("openssl runs");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// A value of the `<dd>` after `<dt>{label}</dt>` on a page.
fn described(body: &str, label: &str) -> Option<String> {
    let after = body.split(&format!("<dt>{label}</dt><dd>")).nth(1)?;
    after.split("</dd>").next().map(str::to_string)
}

/// The answer part of a `/verify` page (what it says of the document), without the forms.
fn verdict(body: &str) -> String {
    let start = body
        .find("<h1>Перевірка документа</h1>")
        .expect("a verify page");
    let end = body.find("<h2>За номером і кодом перевірки</h2>").unwrap();
    body[start..end].to_string()
}

/// Submits a water certificate application that the engine decides automatically; the cabinet
/// address of the application and the links of its one result.
async fn certificate(portal: &Portal, citizen: &Browser) -> (String, Vec<String>) {
    let id = submit_water(
        portal,
        citizen,
        CITIZEN.rnokpp,
        NO_DEBT,
        "maria@example.org",
        false,
    )
    .await;
    let address = format!("/cabinet/applications/{id}");
    let page = citizen.get(&address).await;
    assert_eq!(page.status, 200, "{}", page.body);
    (
        id.clone(),
        links(&page.body, &format!("{address}/documents/")),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_is_a_sealed_pdf_that_openssl_and_anyone_on_the_verify_page_accept() {
    sealed_pdf_verified(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_is_a_sealed_pdf_verified_on_postgresql() {
    if let Some(url) = crate::common::postgres::url_or_skip("results verified on PostgreSQL") {
        sealed_pdf_verified(Some(url)).await;
    }
}

async fn sealed_pdf_verified(database_url: Option<String>) {
    let portal = Portal::start_with(&on(&database_url)).await;
    let vodokanal_data = tempfile::tempdir().unwrap();
    let _vodokanal = portal.city.start_vodokanal(vodokanal_data.path());
    let citizen = portal.sign_in(&CITIZEN).await;
    let (_, documents) = certificate(&portal, &citizen).await;
    let (pdf_link, seal_link) = (ending(&documents, ".pdf"), ending(&documents, ".pdf.p7s"));

    // The PDF: the certificate's text, then when, by whom (automatically), its number, who
    // sealed it, its code and where to verify it, all in the text layer.
    let (status, headers, pdf) = citizen.get_bytes(&pdf_link).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&pdf));
    assert_eq!(headers["content-type"], "application/pdf");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert!(pdf.starts_with(b"%PDF-"));
    // The font is cut to the glyphs used: a stored result weighs kilobytes, and renders clean.
    assert!(pdf.len() < 80_000, "{} bytes", pdf.len());
    renders_cleanly(&pdf);
    let text = pdf_text(&pdf);
    for shown in [
        "Довідка про відсутність заборгованості",
        "заборгованість за послуги централізованого",
        "Дата і час формування:",
        "Сформовано автоматично, без участі посадової особи",
        "Реєстраційний номер: АВ-1/2026",
        "Засвідчено електронною печаткою:",
        "Код перевірки:",
        &format!("{}/verify", portal.app.url),
    ] {
        assert!(
            text.contains(shown),
            "`{shown}` is not in the PDF's text:\n{text}"
        );
    }
    let code = text
        .split("Код перевірки: ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .to_string();
    assert_eq!(code.len(), 11, "10 characters of base32, 50 bits: {code}");

    // The pair verifies with openssl against the city's CA; a byte changed does not.
    let (status, headers, seal) = citizen.get_bytes(&seal_link).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/pkcs7-signature");
    let ca = portal.city.root().join("pki/ca.crt");
    openssl_verifies(&ca, &pdf, &seal).unwrap();
    let mut tampered = pdf.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x01;
    assert!(openssl_verifies(&ca, &tampered, &seal).is_err());

    // The page to view and print: the text, who and when, the code; it prints as the document
    // alone (the stylesheet hides the rest), and nothing is styled inline.
    let view = citizen.get(&ending(&documents, "/view")).await;
    assert_eq!(view.status, 200, "{}", view.body);
    for shown in [
        "ДОВІДКА № ",
        "Сформовано автоматично",
        &code,
        "АВ-1/2026",
        "class=\"no-print\"",
    ] {
        assert!(
            view.body.contains(shown),
            "`{shown}` is not on the page:\n{}",
            view.body
        );
    }
    assert!(!view.body.contains("style="), "{}", view.body);
    let css = citizen.get("/assets/portal.css").await;
    assert!(css.body.contains("@media print"), "{}", css.body);

    // Anyone, signed in or not, verifies it by number and code.
    let anyone = portal.browser();
    let verified = anyone
        .get(&format!("/verify?number=%D0%90%D0%92-1%2F2026&code={code}"))
        .await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    let answer = verdict(&verified.body);
    for shown in [
        "Документ дійсний",
        "Комунальне підприємство «Водоканал»",
        "Довідка про відсутність заборгованості",
        "Сформовано автоматично",
    ] {
        assert!(
            answer.contains(shown),
            "`{shown}` is not in the answer:\n{answer}"
        );
    }
    assert!(
        described(&answer, "Сертифікат печатки").is_some_and(|s| !s.is_empty()),
        "{answer}"
    );
    assert!(
        described(&answer, "Дата і час засвідчення").is_some(),
        "{answer}"
    );
    // The code is read however a person types it.
    let typed = anyone
        .get(&format!(
            "/verify/%D0%90%D0%92-1%2F2026?code={}",
            code.to_lowercase().replace('-', "+")
        ))
        .await;
    assert!(
        verdict(&typed.body).contains("Документ дійсний"),
        "{}",
        typed.body
    );

    // A wrong code is answered exactly as a wrong number: nothing says the number exists.
    let mut wrong = code.clone().into_bytes();
    wrong[0] = if wrong[0] == b'A' { b'B' } else { b'A' };
    let wrong = String::from_utf8(wrong).unwrap();
    let wrong_code = anyone
        .get(&format!(
            "/verify?number=%D0%90%D0%92-1%2F2026&code={wrong}"
        ))
        .await;
    let wrong_number = anyone
        .get(&format!("/verify?number=%D0%90%D0%92-9%2F2026&code={code}"))
        .await;
    assert_eq!(wrong_code.status, 200);
    assert_eq!(verdict(&wrong_code.body), verdict(&wrong_number.body));
    assert!(verdict(&wrong_code.body).contains("Документ не знайдено"));
    for hidden in ["Водоканал", "Іваненко", CITIZEN.rnokpp, "ДОВІДКА"] {
        assert!(
            !wrong_code.body.contains(hidden),
            "`{hidden}`:\n{}",
            wrong_code.body
        );
    }
    // Malformed input is named, not looked up.
    let malformed = anyone.get("/verify?number=&code=%3Cscript%3E").await;
    assert_eq!(malformed.status, 400, "{}", malformed.body);
    for said in ["Введіть реєстраційний номер", "10 латинських літер і цифр"]
    {
        assert!(malformed.body.contains(said), "{}", malformed.body);
    }
    assert!(!malformed.body.contains("<script>"), "{}", malformed.body);

    // By the file: the PDF alone (against the original kept), and with its seal.
    let upload = |file: Vec<u8>, seal: Option<Vec<u8>>| {
        let anyone = &anyone;
        async move {
            let mut files = vec![("file", "result.pdf", "application/pdf", file)];
            if let Some(seal) = seal {
                files.push((
                    "seal",
                    "result.pdf.p7s",
                    "application/pkcs7-signature",
                    seal,
                ));
            }
            let page = anyone
                .post_multipart("/verify", &[("csrf", "")], &files)
                .await;
            assert_eq!(page.status, 200, "{}", page.body);
            verdict(&page.body)
        }
    };
    for seal in [None, Some(seal.clone())] {
        let answer = upload(pdf.clone(), seal).await;
        assert!(answer.contains("Документ дійсний"), "{answer}");
        assert!(answer.contains("АВ-1/2026"), "{answer}");
    }
    // One byte changed: not valid, with or without the seal, and nothing of it shown.
    for seal in [None, Some(seal.clone())] {
        let answer = upload(tampered.clone(), seal).await;
        assert!(answer.contains("Документ не дійсний"), "{answer}");
        assert!(!answer.contains("АВ-1/2026"), "{answer}");
    }
    // The text's own seal is checked too: valid, and whose it is.
    let text_link = documents
        .iter()
        .find(|l| !l.rsplit('/').next().unwrap().contains('.') && !l.ends_with("/view"))
        .unwrap();
    let (_, _, text_seal) = citizen.get_bytes(&format!("{text_link}.p7s")).await;
    let (_, _, text_bytes) = citizen.get_bytes(text_link).await;
    let mut files = vec![("file", "result.txt", "text/plain", text_bytes)];
    files.push((
        "seal",
        "result.txt.p7s",
        "application/pkcs7-signature",
        text_seal,
    ));
    let page = anyone
        .post_multipart("/verify", &[("csrf", "")], &files)
        .await;
    let answer = verdict(&page.body);
    assert!(answer.contains("Печатка дійсна"), "{answer}");
    assert!(
        answer.contains("Комунальне підприємство «Водоканал»"),
        "{answer}"
    );
    // No file at all is named as such.
    let none = anyone.post_multipart("/verify", &[("csrf", "")], &[]).await;
    assert_eq!(none.status, 400, "{}", none.body);
    assert!(
        none.body.contains("Виберіть файл документа"),
        "{}",
        none.body
    );
    // Nor does a file far larger than any document reach the lookup.
    let huge = vec![b'%'; 5 * 1024 * 1024];
    let files = [("file", "huge.pdf", "application/pdf", huge)];
    let refused = anyone
        .post_multipart("/verify", &[("csrf", "")], &files)
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("Файл завеликий"), "{}", refused.body);

    // Another person gets neither the PDF, its seal nor its page.
    let other = portal.sign_in(&OTHER).await;
    for path in &documents {
        let theirs = other.get(path).await;
        assert_eq!(theirs.status, 404, "{path}: {}", theirs.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn originals_are_kept_byte_for_byte_and_a_rewritten_byte_is_refused() {
    originals_kept(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn originals_are_kept_and_refused_when_rewritten_on_postgresql() {
    if let Some(url) = crate::common::postgres::url_or_skip("results' originals on PostgreSQL") {
        originals_kept(Some(url)).await;
    }
}

async fn originals_kept(database_url: Option<String>) {
    let portal = Portal::start_with(&on(&database_url)).await;
    let vodokanal_data = tempfile::tempdir().unwrap();
    let _vodokanal = portal.city.start_vodokanal(vodokanal_data.path());
    let citizen = portal.sign_in(&CITIZEN).await;
    let (id, documents) = certificate(&portal, &citizen).await;
    let address = format!("/cabinet/applications/{id}");
    let (store, url) = store_of(&portal, &database_url).await;

    // The original application: the canonical JSON exactly as signed, and the applicant's
    // signature, which still verifies over the bytes handed back.
    let (status, headers, json_bytes) = citizen.get_bytes(&format!("{address}/original")).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&json_bytes));
    assert_eq!(headers["content-type"], "application/json");
    let (status, _, p7s) = citizen.get_bytes(&format!("{address}/original.p7s")).await;
    assert_eq!(status, 200);
    let signed = serde_json::from_slice::<Value>(&json_bytes).unwrap();
    assert_eq!(
        signed["e-service"]["id"],
        json!("water-no-debt"),
        "{signed:#}"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("application.json"), &json_bytes).unwrap();
    std::fs::write(dir.path().join("application.json.p7s"), &p7s).unwrap();
    let out = std::process::Command::new("openssl")
        .args([
            "cms",
            "-verify",
            "-binary",
            "-noverify",
            "-inform",
            "DER",
            "-in",
        ])
        .arg(dir.path().join("application.json.p7s"))
        .arg("-content")
        .arg(dir.path().join("application.json"))
        .args(["-out", "/dev/null"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Its record: the digest of those bytes, from the applicant to the provider, received and
    // delivered when registered, kept by the policy's rule for applications.
    let application = store
        .original(OriginalKind::Application, &id)
        .await
        .unwrap()
        .expect("the application's original is recorded");
    assert_eq!(application.digest, original_digest(&json_bytes));
    assert_eq!(application.media_type, "application/json");
    assert_eq!(application.origin, format!("applicant:{}", CITIZEN.rnokpp));
    assert_eq!(application.destination, "participant:vodokanal");
    assert_eq!(
        application.delivered_at.as_deref(),
        Some(application.created_at.as_str())
    );
    assert_eq!(application.retention.as_deref(), Some("applications"));

    // The result's PDF written out is the stored original, byte for byte; downloading it
    // delivers it to the applicant.
    let pdf_link = ending(&documents, ".pdf");
    let doc_id = pdf_link
        .rsplit('/')
        .next()
        .and_then(|f| f.strip_suffix(".pdf"))
        .unwrap()
        .to_string();
    let before = store
        .original(OriginalKind::Document, &doc_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before.delivered_at, None);
    let (_, _, pdf) = citizen.get_bytes(&pdf_link).await;
    let restored = dir.path().join("restored.pdf");
    std::fs::write(&restored, &pdf).unwrap();
    let stored = store.document(&doc_id).await.unwrap().unwrap();
    assert_eq!(
        std::fs::read(&restored).unwrap(),
        stored.pdf.clone().unwrap()
    );
    let kept = store
        .original(OriginalKind::Document, &doc_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.digest, original_digest(&pdf));
    assert_eq!(kept.media_type, "application/pdf");
    assert_eq!(kept.origin, "participant:vodokanal");
    assert_eq!(kept.destination, format!("applicant:{}", CITIZEN.rnokpp));
    assert_eq!(kept.created_at, stored.issued_at);
    assert!(kept.delivered_at.is_some(), "{kept:?}");
    assert_eq!(kept.retention.as_deref(), Some("documents"));
    let code = stored.code.clone().unwrap();

    // One byte of the stored PDF rewritten outside hromada: refused everywhere, never handed out.
    let mut rewritten = stored.pdf.clone().unwrap();
    let middle = rewritten.len() / 2;
    rewritten[middle] ^= 0x01;
    rewrite(
        &url,
        "UPDATE documents SET pdf = $1 WHERE id = $2",
        rewritten,
        &doc_id,
    )
    .await;
    for path in &documents {
        let refused = citizen.get(path).await;
        assert_eq!(refused.status, 409, "{path}: {}", refused.body);
        assert!(
            refused.body.contains("Документ не можна видати"),
            "{}",
            refused.body
        );
        assert!(!refused.body.contains("ДОВІДКА"), "{}", refused.body);
    }
    let page = citizen.get(&address).await;
    assert!(
        page.body.contains("не вдалося підтвердити"),
        "{}",
        page.body
    );
    assert!(
        links(&page.body, &format!("{address}/documents/")).is_empty(),
        "{}",
        page.body
    );
    let verified = portal
        .browser()
        .get(&format!("/verify?number=%D0%90%D0%92-1%2F2026&code={code}"))
        .await;
    assert!(
        verdict(&verified.body).contains("Документ не дійсний"),
        "{}",
        verified.body
    );
    assert!(
        portal.app.log_shows("is not intact"),
        "{}",
        portal.app.log()
    );

    // One byte of the stored application rewritten: refused too.
    let mut changed = json_bytes.clone();
    let at = changed.iter().position(|b| *b == b'0').unwrap();
    changed[at] = b'1';
    rewrite(
        &url,
        "UPDATE applications SET document = $1 WHERE id = $2",
        String::from_utf8(changed).unwrap(),
        &id,
    )
    .await;
    for path in [
        format!("{address}/original"),
        format!("{address}/original.p7s"),
    ] {
        let refused = citizen.get(&path).await;
        assert_eq!(refused.status, 409, "{path}: {}", refused.body);
    }
    // Another person gets none of the originals.
    let other = portal.sign_in(&OTHER).await;
    let theirs = other.get(&format!("{address}/original")).await;
    assert_eq!(theirs.status, 404, "{}", theirs.body);
}

/// Runs `sql` with `value` and `id` on the database behind `url`, past the store's API.
async fn rewrite<T>(url: &str, sql: &str, value: T, id: &str)
where
    T: for<'q> sqlx::Encode<'q, sqlx::Sqlite>
        + sqlx::Type<sqlx::Sqlite>
        + for<'q> sqlx::Encode<'q, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>
        + Send
        + Clone,
{
    if url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let done = sqlx::query(sql)
            .bind(value)
            .bind(id)
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 1);
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let done = sqlx::query(sql)
            .bind(value)
            .bind(id)
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 1);
        pool.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_an_official_issues_names_them_by_name_and_position() {
    let portal = Portal::start().await;
    let vodokanal_data = tempfile::tempdir().unwrap();
    let _vodokanal = portal.city.start_vodokanal(vodokanal_data.path());
    let citizen = portal.sign_in(&CITIZEN).await;
    // The billing stops answering: the case goes to the subscriber department's clerk.
    let id = submit_water(
        &portal,
        &citizen,
        CITIZEN.rnokpp,
        NO_DEBT,
        "maria@example.org",
        true,
    )
    .await;
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
            "{}/api/cases/{case}/transitions/issue",
            portal.app.url
        ))
        .bearer_auth(TOKEN)
        .header("X-Hromada-Actor", clerk)
        .header("Idempotency-Key", "clerk-issues-1")
        .json(&json!({"seen_state": "manual-review"}))
        .send()
        .await
        .unwrap();
    assert_eq!(fired.status(), 200, "{}", fired.text().await.unwrap());

    let address = format!("/cabinet/applications/{id}");
    let page = citizen.get(&address).await;
    let documents = links(&page.body, &format!("{address}/documents/"));
    let (status, _, pdf) = citizen.get_bytes(&ending(&documents, ".pdf")).await;
    assert_eq!(status, 200);
    let text = pdf_text(&pdf);
    assert!(
        text.contains("Сформував: Гончаренко Наталія Іванівна, Начальник абонентського відділу"),
        "{text}"
    );
    assert!(!text.contains("автоматично"), "{text}");
    let view = citizen.get(&ending(&documents, "/view")).await;
    assert!(
        view.body
            .contains("Гончаренко Наталія Іванівна, Начальник абонентського відділу"),
        "{}",
        view.body
    );
    // Nothing of the official beyond name and position.
    for hidden in ["honcharenko", "3182736456", "+380 61 787 20 31"] {
        assert!(
            !text.contains(hidden) && !view.body.contains(hidden),
            "{hidden}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_and_its_verification_pass_the_accessibility_audit_and_print_as_the_document() {
    let portal = Portal::start().await;
    let vodokanal_data = tempfile::tempdir().unwrap();
    let _vodokanal = portal.city.start_vodokanal(vodokanal_data.path());
    let citizen = portal.sign_in(&CITIZEN).await;
    let (id, documents) = certificate(&portal, &citizen).await;
    let (_, _, pdf) = citizen.get_bytes(&ending(&documents, ".pdf")).await;
    let text = pdf_text(&pdf);
    let code = text
        .split("Код перевірки: ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .to_string();
    let Some(audited) = crate::browser::audited(
        &portal,
        "results.mjs",
        vec![
            ("RESULT_APPLICATION", format!("/cabinet/applications/{id}")),
            ("RESULT_NUMBER", "АВ-1/2026".to_string()),
            ("RESULT_CODE", code),
        ],
    )
    .await
    else {
        return;
    };
    for page in ["/cabinet/applications/", "/view", "/verify"] {
        assert!(
            audited.iter().any(|u| u.contains(page)),
            "{page} was not audited: {audited:?}"
        );
    }
}

/// Fires `event` on `case` through the cases API as `official` (as the office would).
async fn fire(portal: &Portal, case: &str, official: &str, event: &str, seen: &str) {
    let fired = reqwest::Client::new()
        .post(format!(
            "{}/api/cases/{case}/transitions/{event}",
            portal.app.url
        ))
        .bearer_auth(TOKEN)
        .header("X-Hromada-Actor", format!("official:{official}"))
        .header("Idempotency-Key", format!("{case}/{event}"))
        .json(&json!({"seen_state": seen}))
        .send()
        .await
        .unwrap();
    let status = fired.status();
    assert_eq!(status, 200, "{event}: {}", fired.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_official_of_the_provider_revokes_a_document_once_and_everyone_sees_it() {
    revocation(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_is_revoked_on_postgresql() {
    if let Some(url) = crate::common::postgres::url_or_skip("results' revocation on PostgreSQL") {
        revocation(Some(url)).await;
    }
}

async fn revocation(database_url: Option<String>) {
    let portal = Portal::start_with(&on(&database_url)).await;
    let vodokanal_data = tempfile::tempdir().unwrap();
    let _vodokanal = portal.city.start_vodokanal(vodokanal_data.path());
    let (store, _) = store_of(&portal, &database_url).await;

    // A material-aid decision of the city council, granted by the head of the department.
    let case = crate::cabinet::start_case(
        &portal,
        CITIZEN.rnokpp,
        "aid-revoked",
        &crate::cabinet::material_aid(CITIZEN.rnokpp, "Іваненко Марія Петрівна"),
    )
    .await;
    let case = case["id"].as_str().unwrap().to_string();
    fire(&portal, &case, KOVAL.id, "to-commission", "received").await;
    fire(&portal, &case, TKACHENKO.id, "grant", "commission").await;
    let decision = store.documents_of_case(&case).await.unwrap().remove(0);
    assert_eq!(decision.sealed_by, "city-council");
    assert_eq!(
        decision.official_name.as_deref(),
        Some("Ткаченко Олена Миколаївна"),
        "the official who fired `grant` issued it"
    );
    let code = decision.code.clone().unwrap();
    let number = decision.number.clone().unwrap();
    let revoke = format!("/office/documents/{}/revoke", decision.id);
    let verify = format!(
        "/verify?number={}&code={code}",
        url::form_urlencoded::byte_serialize(number.as_bytes()).collect::<String>()
    );

    // Without `applications-decide`: refused, nothing recorded.
    let security = portal
        .sign_in_official_to(&ROMANENKO, "/office/audit")
        .await;
    assert_eq!(security.get(&revoke).await.status, 403);
    let refused = security
        .post_form(&revoke, &[("ground", "error"), ("reason", "Помилка")])
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    // Another provider's document (the water certificate vodokanal sealed) is not found.
    let citizen = portal.sign_in(&CITIZEN).await;
    let (application, documents) = certificate(&portal, &citizen).await;
    let water = ending(&documents, ".pdf");
    let water_id = water.rsplit('/').next().unwrap().trim_end_matches(".pdf");
    let clerk = portal.sign_in_official_to(&KOVAL, &revoke).await;
    let foreign = clerk
        .post_form(
            &format!("/office/documents/{water_id}/revoke"),
            &[("ground", "error"), ("reason", "Помилка")],
        )
        .await;
    assert_eq!(foreign.status, 404, "{}", foreign.body);
    let nothing = clerk
        .post_form(
            "/office/documents/no-such-document/revoke",
            &[("ground", "error"), ("reason", "x")],
        )
        .await;
    assert_eq!(nothing.status, 404, "{}", nothing.body);

    // A forged or missing token, an unknown ground, no reason: refused, named, nothing recorded.
    let forged = clerk
        .post_form(
            &revoke,
            &[("csrf", "forged"), ("ground", "error"), ("reason", "x")],
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    let bad = clerk
        .post_form(&revoke, &[("ground", "because"), ("reason", "  ")])
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    for said in [
        "Виберіть підставу відкликання",
        "Напишіть, чому документ відкликано",
    ] {
        assert!(bad.body.contains(said), "{}", bad.body);
    }
    let long = "я".repeat(1001);
    let too_long = clerk
        .post_form(&revoke, &[("ground", "error"), ("reason", long.as_str())])
        .await;
    assert_eq!(too_long.status, 400, "{}", too_long.body);
    assert_eq!(store.revocation(&decision.id).await.unwrap(), None);
    let before = portal.browser().get(&verify).await;
    assert!(
        verdict(&before.body).contains("Документ дійсний"),
        "{}",
        before.body
    );

    // Revoked once: recorded with who and when; a second revocation changes nothing.
    let reason = "У рішенні помилково зазначено суму допомоги";
    let done = clerk
        .post_form(&revoke, &[("ground", "error"), ("reason", reason)])
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Документ відкликано"), "{}", done.body);
    let again = clerk
        .post_form(&revoke, &[("ground", "request"), ("reason", "Інше")])
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    let recorded = store.revocation(&decision.id).await.unwrap().unwrap();
    assert_eq!(
        (
            recorded.revoked_by.as_str(),
            recorded.ground.as_str(),
            recorded.reason.as_str()
        ),
        (KOVAL.id, "error", reason)
    );
    let (logged, _) = store
        .official_access(
            &hromada::store::AccessFilter {
                official: Some(KOVAL.id.into()),
                case_id: Some(case.clone()),
            },
            50,
            0,
        )
        .await
        .unwrap();
    let actions: Vec<&str> = logged.iter().map(|r| r.entry.action.as_str()).collect();
    assert!(
        actions.contains(&"revoke") && actions.contains(&"revoke-form"),
        "{actions:?}"
    );

    // Anyone verifying it sees the seal holds, that it was revoked, when, and on which ground in
    // general words; never the official's own reason.
    let after = portal.browser().get(&verify).await;
    let answer = verdict(&after.body);
    for shown in [
        "Печатка дійсна, але документ відкликано",
        "у документі виявлено помилку",
    ] {
        assert!(answer.contains(shown), "`{shown}`:\n{answer}");
    }
    assert!(!after.body.contains(reason), "{}", after.body);

    // In the applicant's cabinet a revoked document says so, with the reason.
    store
        .revoke_document(&hromada::store::RevocationRow {
            document_id: water_id.to_string(),
            revoked_at: "2026-12-22T10:00:00.000000000Z".into(),
            revoked_by: "honcharenko-n".into(),
            ground: "replaced".into(),
            reason: "Видано нову довідку з уточненою адресою".into(),
        })
        .await
        .unwrap();
    let page = citizen
        .get(&format!("/cabinet/applications/{application}"))
        .await;
    for shown in [
        "Документ відкликано",
        "замість нього видано інший документ",
        "Видано нову довідку з уточненою адресою",
    ] {
        assert!(page.body.contains(shown), "`{shown}`:\n{}", page.body);
    }
    let view = citizen.get(&ending(&documents, "/view")).await;
    assert!(view.body.contains("Документ відкликано"), "{}", view.body);
}
