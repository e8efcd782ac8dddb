//! Signing in and out against a real OpenID provider (PORTAL-2): the flow, the session cookie,
//! CSRF, sign-out on every device, and each refusal with its security event.

use crate::portal::{CITIZEN, Portal};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_signs_in_through_the_provider_and_is_greeted_by_name() {
    let portal = Portal::start().await;
    let browser = portal.sign_in(&CITIZEN).await;
    let home = browser.get("/").await;
    assert!(
        home.body.contains("Іваненко Марія Петрівна"),
        "{}",
        home.body
    );
}
