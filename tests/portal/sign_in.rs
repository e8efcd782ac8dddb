//! Signing in and out against a real OpenID provider (PORTAL-2): the flow, the session cookie,
//! CSRF, sign-out on every device, and each refusal with its security event.

use crate::common::appliance::{Appliance, example_city};
use crate::common::holds_within_30s;
use crate::portal::{CITIZEN, OTHER, Page, Portal};

/// The security events the appliance has recorded, oldest first: (kind, subject, reason).
pub async fn security_events(portal: &Portal) -> Vec<(String, Option<String>, String)> {
    let db = portal.city.dir.path().join("data/hromada.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let rows: Vec<(String, Option<String>, String)> =
        sqlx::query_as("SELECT kind, subject, reason FROM security_events ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    rows
}

/// Waits until an event of `kind` for `subject` is recorded.
async fn wait_for_event(portal: &Portal, kind: &str, subject: Option<&str>) {
    let found = holds_within_30s(|| async {
        security_events(portal)
            .await
            .iter()
            .any(|(k, s, _)| k == kind && s.as_deref() == subject)
    })
    .await;
    assert!(
        found,
        "no `{kind}` event for {subject:?}: {:#?}",
        security_events(portal).await
    );
}

async fn sessions_db(portal: &Portal) -> sqlx::SqlitePool {
    let db = portal.city.dir.path().join("data/hromada.db");
    sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap()
}

/// The sessions' ids in the order they were opened.
async fn session_ids(portal: &Portal) -> Vec<String> {
    let pool = sessions_db(portal).await;
    let ids = sqlx::query_scalar("SELECT id FROM portal_sessions ORDER BY created_at")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    ids
}

async fn ended_why(portal: &Portal) -> Vec<(String, Option<String>)> {
    let pool = sessions_db(portal).await;
    let rows = sqlx::query_as("SELECT id, ended_why FROM portal_sessions")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows
}

/// Changes the store behind the appliance's back.
async fn rewrite(portal: &Portal, sql: &str) {
    let pool = sessions_db(portal).await;
    sqlx::query(sql).execute(&pool).await.unwrap();
    pool.close().await;
}

fn set_cookies(page: &Page) -> Vec<String> {
    page.headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

fn greets(page: &Page, name: &str) -> bool {
    page.body.contains(&format!("Ви увійшли як {name}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_signs_in_with_a_cookie_that_scripts_cannot_read_and_comes_back_where_they_were()
{
    let portal = Portal::start().await;
    let browser = portal.browser();
    let callback = portal
        .authorize_from(
            &browser,
            &CITIZEN,
            "/sign-in?next=%2Fcabinet%3Ftab%3Ddrafts",
        )
        .await;
    let landed = browser.get(&callback).await;
    assert_eq!(landed.status, 303, "{}\n{}", landed.body, portal.app.log());
    assert_eq!(landed.location.as_deref(), Some("/cabinet?tab=drafts"));
    let cookies = set_cookies(&landed);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("hromada="))
        .unwrap_or_else(|| panic!("no session cookie in {cookies:?}"));
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(flag), "{session} lacks {flag}");
    }
    assert!(
        !session.contains("Secure"),
        "plain HTTP gets no Secure: {session}"
    );
    // Only the token's SHA-256 is stored.
    let token = session
        .trim_start_matches("hromada=")
        .split(';')
        .next()
        .unwrap();
    assert_eq!(token.len(), 64);
    let db = portal.city.dir.path().join("data/hromada.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let ids: Vec<(String, String)> = sqlx::query_as("SELECT id, owner FROM portal_sessions")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    let digest = hex::encode(openssl::sha::sha256(token.as_bytes()));
    assert_eq!(ids, vec![(digest, CITIZEN.rnokpp.to_string())]);

    let home = browser.get("/").await;
    assert!(greets(&home, "Іваненко Марія Петрівна"), "{}", home.body);
    assert!(!browser.csrf().is_empty());
    // Signed in, /sign-in goes straight back to `next`.
    let again = browser.get("/sign-in?next=%2Fcabinet").await;
    assert_eq!(again.location.as_deref(), Some("/cabinet"));
    wait_for_event(&portal, "signed-in", Some(CITIZEN.sub)).await;

    // Sessions rewritten in the store as if time had passed: idle, past their lifetime, or with
    // an identity that no longer reads. Each is ended, not honoured.
    let idle = portal.sign_in(&CITIZEN).await;
    let expired = portal.sign_in(&OTHER).await;
    let garbled = portal.sign_in(&CITIZEN).await;
    let sessions = session_ids(&portal).await;
    let [idle_id, expired_id, garbled_id] = &sessions[sessions.len() - 3..] else {
        unreachable!()
    };
    rewrite(
        &portal,
        &format!("UPDATE portal_sessions SET last_seen_at = '2020-01-01T00:00:00.000000000Z' WHERE id = '{idle_id}'"),
    )
    .await;
    rewrite(
        &portal,
        &format!("UPDATE portal_sessions SET expires_at = '2020-01-01T00:00:00.000000000Z' WHERE id = '{expired_id}'"),
    )
    .await;
    rewrite(
        &portal,
        &format!("UPDATE portal_sessions SET claims = 'not json' WHERE id = '{garbled_id}'"),
    )
    .await;
    assert!(!greets(&idle.get("/").await, "Іваненко Марія Петрівна"));
    assert!(!greets(&expired.get("/").await, "Петренко Олег Іванович"));
    assert!(!greets(&garbled.get("/").await, "Іваненко Марія Петрівна"));
    assert!(
        greets(&browser.get("/").await, "Іваненко Марія Петрівна"),
        "others' sessions stay"
    );
    let ended = ended_why(&portal).await;
    for (id, why) in [
        (idle_id, "idle"),
        (expired_id, "expired"),
        (garbled_id, "expired"),
    ] {
        assert!(
            ended.contains(&(id.clone(), Some(why.to_string()))),
            "{id} not ended as {why}: {ended:?}"
        );
    }
    wait_for_event(&portal, "session-ended", Some(OTHER.sub)).await;
    assert!(
        portal.app.log().contains("stored identity does not read"),
        "{}",
        portal.app.log()
    );

    // `next` that leaves the site is dropped: no open redirect.
    for hostile in [
        "https%3A%2F%2Fevil.example%2F",
        "%2F%2Fevil.example",
        "%2F%5Cevil.example",
    ] {
        let other = portal.browser();
        let callback = portal
            .authorize_from(&other, &OTHER, &format!("/sign-in?next={hostile}"))
            .await;
        let landed = other.get(&callback).await;
        assert_eq!(landed.location.as_deref(), Some("/"), "next={hostile}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_replayed_or_misdirected_callback_signs_nobody_in() {
    let portal = Portal::start().await;

    // Wrong `state`: refused, and the real one still works afterwards.
    let browser = portal.browser();
    let callback = portal.authorize(&browser, &CITIZEN).await;
    let url = url::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let state = &pairs.iter().find(|(k, _)| k == "state").unwrap().1;
    let forged = callback.replace(&format!("state={state}"), "state=forged-state-value");
    let refused = browser.get(&forged).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("Вхід не вдався"), "{}", refused.body);
    assert!(
        set_cookies(&refused)
            .iter()
            .all(|c| !c.starts_with("hromada="))
    );
    assert!(!greets(&browser.get("/").await, "Іваненко Марія Петрівна"));

    // The callback in another browser than the one that started the sign-in.
    let thief = portal.browser();
    let stolen = thief.get(&callback).await;
    assert_eq!(stolen.status, 403, "{}", stolen.body);

    // The state was taken by that attempt: even its own browser cannot use it now.
    let replayed = browser.get(&callback).await;
    assert_eq!(replayed.status, 403, "{}", replayed.body);

    // A fresh sign-in works; replaying its callback does not.
    let callback = portal.authorize(&browser, &CITIZEN).await;
    assert_eq!(browser.get(&callback).await.status, 303);
    let replayed = browser.get(&callback).await;
    assert_eq!(replayed.status, 403, "{}", replayed.body);

    // A used code under a new, valid state: the provider refuses it.
    let used_code = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let other = portal.browser();
    let fresh = portal.authorize(&other, &OTHER).await;
    let fresh_code = url::Url::parse(&fresh)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let swapped = fresh.replace(&fresh_code, &used_code);
    let refused = other.get(&swapped).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(!greets(&other.get("/").await, "Петренко Олег Іванович"));

    // An answer that names another issuer (RFC 9207).
    let misdirected = portal.browser();
    let callback = portal.authorize(&misdirected, &OTHER).await;
    let elsewhere = callback.replace(
        &url::form_urlencoded::byte_serialize(portal.provider.issuer.as_bytes())
            .collect::<String>(),
        "http%3A%2F%2F127.0.0.1%3A1",
    );
    assert_ne!(elsewhere, callback, "the provider sends `iss`");
    assert_eq!(misdirected.get(&elsewhere).await.status, 403);

    // The provider's own refusal (the person cancelled).
    let cancelled = portal
        .browser()
        .get("/sign-in/callback?error=access_denied&state=x")
        .await;
    assert_eq!(cancelled.status, 403);
    assert!(
        cancelled.body.contains("Вхід не завершено"),
        "{}",
        cancelled.body
    );

    let events = security_events(&portal).await;
    let failed: Vec<_> = events
        .iter()
        .filter(|(k, _, _)| k == "sign-in-failed")
        .collect();
    assert!(failed.len() >= 6, "{events:#?}");
    assert!(
        failed
            .iter()
            .any(|(_, _, r)| r.contains("unknown or already used")),
        "{events:#?}"
    );
    assert!(
        failed.iter().any(|(_, _, r)| r.contains("another browser")),
        "{events:#?}"
    );
    assert!(
        failed
            .iter()
            .any(|(_, _, r)| r.contains("token endpoint refused")),
        "{events:#?}"
    );
    assert!(
        failed.iter().any(|(_, _, r)| r.contains("another issuer")),
        "{events:#?}"
    );
    assert!(
        failed.iter().any(|(_, _, r)| r.contains("access_denied")),
        "{events:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_without_its_csrf_token_is_refused_and_sign_out_ends_every_device() {
    let portal = Portal::start().await;
    let phone = portal.sign_in(&CITIZEN).await;
    let laptop = portal.sign_in(&CITIZEN).await;
    let neighbour = portal.sign_in(&OTHER).await;
    assert_ne!(
        phone.csrf(),
        laptop.csrf(),
        "each session has its own token"
    );

    // Missing, wrong, and another session's token: 403, nothing ended, a security event.
    let missing = phone.post_form_raw("/sign-out", &[]).await;
    assert_eq!(missing.status, 403, "{}", missing.body);
    assert!(
        missing.body.contains("Форму не прийнято"),
        "{}",
        missing.body
    );
    let wrong = phone.post_form("/sign-out", &[("csrf", "0123abcd")]).await;
    assert_eq!(wrong.status, 403);
    let borrowed = phone
        .post_form("/sign-out", &[("csrf", &neighbour.csrf())])
        .await;
    assert_eq!(borrowed.status, 403);
    assert!(greets(&phone.get("/").await, "Іваненко Марія Петрівна"));
    wait_for_event(&portal, "refused-csrf", Some(CITIZEN.sub)).await;
    let refusals = security_events(&portal)
        .await
        .into_iter()
        .filter(|(k, _, _)| k == "refused-csrf")
        .count();
    let counted = holds_within_30s(|| async {
        security_events(&portal)
            .await
            .iter()
            .filter(|(k, _, _)| k == "refused-csrf")
            .count()
            == 3
    })
    .await;
    assert!(counted, "{refusals} refused-csrf events");

    // Signing out without a session: nothing to end, and the page says so.
    let stranger = portal.browser();
    let anonymous = stranger.post_form_raw("/sign-out", &[("csrf", "x")]).await;
    assert_eq!(anonymous.status, 200, "{}", anonymous.body);
    assert!(anonymous.body.contains("сеанс уже завершився"));

    // Sign-out on the phone ends the laptop's session too, and says so; not the neighbour's.
    let out = phone.post_form("/sign-out", &[]).await;
    assert_eq!(out.status, 200, "{}", out.body);
    assert!(
        out.body.contains("на всіх пристроях") && out.body.contains("завершено сеансів — 2"),
        "{}",
        out.body
    );
    assert!(
        set_cookies(&out)
            .iter()
            .any(|c| c.starts_with("hromada=;") && c.contains("Max-Age=0")),
        "{:?}",
        set_cookies(&out)
    );
    for device in [&phone, &laptop] {
        let page = device.get("/").await;
        assert!(!greets(&page, "Іваненко Марія Петрівна"), "{}", page.body);
        assert!(page.body.contains(r#"href="/sign-in""#));
    }
    assert!(greets(&neighbour.get("/").await, "Петренко Олег Іванович"));
    // The laptop's old form is refused now: its session is gone.
    let stale = laptop.post_form("/sign-out", &[]).await;
    assert!(
        stale.body.contains("сеанс уже завершився"),
        "{}",
        stale.body
    );
    wait_for_event(&portal, "signed-out", Some(CITIZEN.sub)).await;
    let (_, metrics) = portal.app.get("/metrics");
    for kind in ["signed-in", "signed-out", "refused-csrf"] {
        assert!(
            metrics.contains(&format!("hromada_security_events_total{{kind=\"{kind}\"}}")),
            "{kind} is not counted:\n{metrics}"
        );
    }

    // Nothing in the security log or its log lines names a person.
    let events = security_events(&portal).await;
    let personal = [
        CITIZEN.rnokpp,
        CITIZEN.family_name,
        CITIZEN.given_name,
        CITIZEN.email,
        OTHER.rnokpp,
        OTHER.family_name,
        OTHER.email,
    ];
    for (kind, subject, reason) in &events {
        for p in personal {
            assert!(
                !reason.contains(p) && !subject.as_deref().unwrap_or("").contains(p),
                "the security event `{kind}` names a person: {reason}"
            );
        }
        assert!(!reason.contains(&phone.csrf()));
    }
    let log = portal.app.log();
    for line in log.lines().filter(|l| l.contains("security")) {
        for p in personal {
            assert!(
                !line.contains(p),
                "a security log line names a person: {line}"
            );
        }
    }
}

#[test]
fn without_a_sign_in_block_the_portal_says_sign_in_is_not_configured_and_a_dead_provider_is_a_clear_page()
 {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("city");
    example_city(&root);
    let system = root.join("spec/system.kdl");
    let text = std::fs::read_to_string(&system).unwrap();
    let start = text.find("    sign-in {").unwrap();
    let end = start + text[start..].find("\n    }\n").unwrap() + "\n    }\n".len();
    let without = format!("{}{}", &text[..start], &text[end..]);
    std::fs::write(&system, &without).unwrap();
    let app = Appliance::start(&root, &dir.path().join("data"), &[]);
    app.wait_for("the first revision", |s| s["ready"] == true);
    let (status, page) = app.get("/sign-in");
    assert_eq!(status, 503, "{page}");
    assert!(page.contains("Вхід не налаштовано"), "{page}");

    // A provider nobody answers at: a page that says so, and a log line for the operator.
    let first = app.applied();
    let dead = crate::common::federation::free_port();
    std::fs::write(
        &system,
        text.replace(
            r#"issuer "https://id.gov.ua""#,
            &format!(r#"issuer "http://127.0.0.1:{dead}""#),
        ),
    )
    .unwrap();
    app.wait_for("the revision with sign-in", |s| {
        s["ready"] == true && s["applied"]["revision"] != first.as_str()
    });
    let (status, page) = app.get("/sign-in");
    assert_eq!(status, 502, "{page}");
    assert!(page.contains("Сервіс ідентифікації недоступний"), "{page}");
    assert!(
        app.log().contains("cannot read the discovery document"),
        "{}",
        app.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_with_a_bad_signature_audience_issuer_or_expiry_signs_nobody_in() {
    use crate::fake_issuer::{FakeIssuer, Forgery};

    let city = crate::common::city::City::new().await;
    let fake = FakeIssuer::start(crate::portal::CLIENT_ID).await;
    let secret = city.root().join("dev-keys/sign-in/client-secret");
    std::fs::create_dir_all(secret.parent().unwrap()).unwrap();
    std::fs::write(&secret, "fake-issuer-secret").unwrap();
    city.edit(
        "spec/system.kdl",
        r#"issuer "https://id.gov.ua""#,
        &format!(r#"issuer "{}""#, fake.issuer()),
    );
    // The provider sends people back under the public URL, not the listener's address.
    let app = city
        .start_core(
            &city.dir.path().join("data"),
            &["--public-url", "http://portal.invalid:8080/"],
        )
        .await;
    let events = || async {
        let db = city.dir.path().join("data/hromada.db");
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        let rows: Vec<(String, Option<String>, String)> =
            sqlx::query_as("SELECT kind, subject, reason FROM security_events ORDER BY id")
                .fetch_all(&pool)
                .await
                .unwrap();
        pool.close().await;
        rows
    };
    let attempt = |forgery: Forgery| {
        let fake = fake.clone();
        let url = app.url.clone();
        async move {
            fake.forge(forgery);
            let browser = crate::portal::Browser::new(&url);
            let to_provider = browser.get("/sign-in").await;
            assert_eq!(to_provider.status, 303, "{}", to_provider.body);
            let back = browser.get(to_provider.location.as_deref().unwrap()).await;
            let location = back.location.clone().unwrap();
            assert!(
                location.starts_with("http://portal.invalid:8080/sign-in/callback?"),
                "{location}"
            );
            let callback = location.replace("http://portal.invalid:8080", &url);
            let landed = browser.get(&callback).await;
            let signed_in = browser
                .get("/")
                .await
                .body
                .contains("Ви увійшли як Іваненко Марія");
            (landed, signed_in)
        }
    };

    // The genuine token first: the refusals below are the forgeries', not the harness's.
    let (landed, signed_in) = attempt(Forgery::None).await;
    assert_eq!(landed.status, 303, "{}\n{}", landed.body, app.log());
    assert!(signed_in);

    for (forgery, reason) in [
        (Forgery::OtherKey, "Signature verification failed"),
        (Forgery::OtherAudience, "Invalid audiences"),
        (Forgery::Expired, "Expired"),
        (Forgery::OtherIssuer, "Invalid issuer"),
        (Forgery::Unsigned, "the ID token is refused"),
    ] {
        let (landed, signed_in) = attempt(forgery).await;
        assert_eq!(landed.status, 403, "{forgery:?}: {}", landed.body);
        assert!(landed.body.contains("Вхід не вдався"), "{}", landed.body);
        assert!(!signed_in, "{forgery:?} signed someone in");
        let recorded = events().await;
        let (kind, subject, last) = recorded.last().unwrap();
        assert_eq!(kind, "refused-token", "{forgery:?}: {recorded:#?}");
        assert_eq!(subject, &None);
        assert!(last.contains(reason), "{forgery:?}: {last}");
    }

    // A token that passes every check but carries an RNOKPP with a wrong check digit.
    let (landed, signed_in) = attempt(Forgery::BadRnokpp).await;
    assert_eq!(landed.status, 403, "{}", landed.body);
    assert!(!signed_in);
    let recorded = events().await;
    let (kind, subject, reason) = recorded.last().unwrap();
    assert_eq!(kind, "sign-in-failed");
    assert_eq!(subject.as_deref(), Some("fake-subject-1"));
    assert!(reason.contains("not a valid RNOKPP"), "{reason}");
    assert!(!reason.contains("1234567890"), "{reason}");

    // The discovery document (with the keys) was read once, then kept: until a token failed
    // its signature check (another key, then `alg: none`), after which the next sign-in reads
    // the keys again, as a provider that rotated them needs.
    assert_eq!(fake.discoveries(), 3);
    // After a signature failure the keys are read again; a genuine token still works.
    let (landed, signed_in) = attempt(Forgery::None).await;
    assert_eq!(landed.status, 303, "{}", landed.body);
    assert!(signed_in);
    assert_eq!(
        fake.last_redirect_uri().as_deref(),
        Some("http://portal.invalid:8080/sign-in/callback")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_an_https_address_the_cookies_are_secure_and_host_only() {
    let fake = crate::fake_issuer::FakeIssuer::start(crate::portal::CLIENT_ID).await;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("city");
    example_city(&root);
    let system = root.join("spec/system.kdl");
    let text = std::fs::read_to_string(&system).unwrap();
    std::fs::write(
        &system,
        text.replace(
            r#"issuer "https://id.gov.ua""#,
            &format!(r#"issuer "{}""#, fake.issuer()),
        ),
    )
    .unwrap();
    std::fs::create_dir_all(root.join("dev-keys/sign-in")).unwrap();
    std::fs::write(root.join("dev-keys/sign-in/client-secret"), "s3cret").unwrap();
    // A TLS-terminating proxy in front: browsers see https, so the cookies must say Secure.
    let app = Appliance::start(
        &root,
        &dir.path().join("data"),
        &["--public-url", "https://e.city.example"],
    );
    app.wait_for("the first revision", |s| s["ready"] == true);
    let browser = crate::portal::Browser::new(&app.url);
    let to_provider = browser.get("/sign-in").await;
    assert_eq!(
        to_provider.status,
        303,
        "{}\n{}",
        to_provider.body,
        app.log()
    );
    let cookies = set_cookies(&to_provider);
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    let cookie = &cookies[0];
    assert!(cookie.starts_with("__Host-hromada-sign-in="), "{cookie}");
    for flag in ["; Secure", "; HttpOnly", "; SameSite=Lax", "; Path=/"] {
        assert!(cookie.contains(flag), "{cookie} lacks {flag}");
    }
    assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
    let location = to_provider.location.unwrap();
    assert!(
        location.contains("redirect_uri=https%3A%2F%2Fe.city.example%2Fsign-in%2Fcallback"),
        "{location}"
    );
    // PKCE and a nonce go with every request.
    assert!(
        location.contains("code_challenge_method=S256"),
        "{location}"
    );
    assert!(location.contains("nonce="), "{location}");
    assert!(
        location.contains("scope=openid+profile+email")
            || location.contains("scope=openid%20profile%20email"),
        "{location}"
    );
}
