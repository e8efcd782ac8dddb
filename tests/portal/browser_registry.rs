//! The document registry in real headless Chromium (issue 15, REG-3): one interface whose
//! functions follow the official's roles, walked from registration to the archive by the
//! officials of the example city, every page audited at 1280 px and 360 px (`tests/js/registry.mjs`).

use serde_json::json;

use crate::browser::audited;
use crate::portal::{BONDAR, KOVAL, LYSENKO, MOROZ, OfficialAccount, Portal, ROMANENKO, SAVCHENKO};

/// The driver's `OFFICIALS`: each role of the scenario, the provider's test login of the
/// official who plays it and their spec id.
fn officials() -> String {
    let who = |o: &OfficialAccount| json!({"login": o.account.sub, "password": "any", "id": o.id});
    json!({
        "registrar": who(&LYSENKO),
        "head": who(&BONDAR),
        "executor": who(&KOVAL),
        "coexecutor": who(&MOROZ),
        "archivist": who(&SAVCHENKO),
        "security": who(&ROMANENKO),
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_a_letter_goes_from_registration_to_the_archive_in_a_browser() {
    let portal = Portal::start().await;
    let Some(pages) = audited(&portal, "registry.mjs", vec![("OFFICIALS", officials())]).await
    else {
        return;
    };
    for page in [
        "/registry",
        "/registry/cards/new",
        "/registry/cards/card-",
        "/resolutions",
        "/registry/tasks",
        "/registry/tasks/",
        "/registry/search",
        "/history",
        "/registry/archive",
    ] {
        assert!(
            pages
                .iter()
                .any(|url| url.starts_with(page) || url.ends_with(page)),
            "no page like {page} was audited: {pages:?}"
        );
    }
}
