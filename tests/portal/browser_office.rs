//! The officials' side of the portal in real headless Chromium (issue 14, Proof): an official
//! takes a citizen's material-aid case, asks for documents, the citizen adds them, the official
//! decides, the citizen downloads the sealed result and verifies it; a blocked official is
//! refused at the next click; every page passes axe-core at 1280 px and 360 px
//! (`tests/js/office.mjs`).

use crate::browser::{Report, assert_clean, browser_available, citizen_env, run};
use crate::cabinet::apply;
use crate::portal::{Browser, CITIZEN, KOVAL, OfficialAccount, Portal, ROMANENKO, TKACHENKO};

/// A scanned document as the citizen's phone would send it.
const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n";

/// Applies for `material-aid` as the signed-in CITIZEN over HTTP (issue 13's browser proof
/// walks these pages): every page answered, both documents attached, signed with the citizen's
/// development key and submitted. The application's id.
async fn submit_material_aid(portal: &Portal, citizen: &Browser) -> String {
    let draft = apply(citizen, "material-aid").await;
    let pages: [(&str, &[(&str, &str)]); 4] = [
        (
            "applicant",
            &[
                ("f.birth_date", "1980-04-02"),
                ("f.phone", "+380671234567"),
                ("f.email", "maria@example.org"),
                ("f.district", "03"),
            ],
        ),
        (
            "reason",
            &[
                ("f.reason", "02"),
                ("f.event_date", "2026-11-20"),
                ("f.requested_amount", "12000"),
            ],
        ),
        ("household", &[("f.monthly_income", "4200")]),
        ("payment", &[("f.iban", "UA213223130000026007233566001")]),
    ];
    for (page, fields) in pages {
        let path = format!("/drafts/{draft}/pages/{page}");
        citizen.get(&path).await;
        let mut answers: Vec<(&str, &str)> = fields.to_vec();
        if page == "applicant" {
            answers.extend([
                ("f.rnokpp", CITIZEN.rnokpp),
                ("f.full_name", "Іваненко Марія Петрівна"),
            ]);
        }
        let saved = citizen.post_form(&path, &answers).await;
        assert_eq!(saved.status, 303, "page {page}: {}", saved.body);
    }
    for (attachment, name) in [
        ("income-statement", "dovidka.pdf"),
        ("damage-act", "akt.pdf"),
    ] {
        let added = citizen
            .post_multipart(
                &format!("/drafts/{draft}/attachments"),
                &[("attachment", attachment)],
                &[("file", name, "application/pdf", PDF.to_vec())],
            )
            .await;
        assert_eq!(added.status, 303, "{attachment}: {}", added.body);
    }
    citizen.get(&format!("/drafts/{draft}/check")).await;
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
    let signature = crate::cabinet::sign_as(portal, CITIZEN.rnokpp, document.body.as_bytes());
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
    let location = signed.location.unwrap();
    location
        .strip_prefix("/cabinet/applications/")
        .unwrap_or_else(|| panic!("signing went to {location}"))
        .to_string()
}

/// The spec id and the provider's test login of `official` for the driver, under `prefix`.
fn official_env(prefix: &str, official: &OfficialAccount) -> [(String, String); 3] {
    [
        (format!("{prefix}_ID"), official.id.to_string()),
        (format!("{prefix}_LOGIN"), official.account.sub.to_string()),
        (format!("{prefix}_PASSWORD"), "any".to_string()),
    ]
}

/// Runs `tests/js/office.mjs` off the runtime's threads with the citizen's and `more` accounts.
async fn run_office(portal: &Portal, more: Vec<(String, String)>) -> Report {
    let url = portal.app.url.clone();
    let mut env: Vec<(String, String)> = citizen_env(portal)
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    env.extend(more);
    let report = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run("office.mjs", &url, &env)
    })
    .await
    .unwrap();
    if report.failure.is_some() {
        eprintln!("the appliance's log:\n{}", portal.app.log());
    }
    assert_clean(&report);
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_official_handles_a_material_aid_case_in_a_browser_and_the_citizen_verifies_the_result()
{
    if !browser_available() {
        return;
    }
    let portal = Portal::start().await;
    let citizen = portal.sign_in(&CITIZEN).await;
    let application = submit_material_aid(&portal, &citizen).await;
    let ca = portal.city.root().join("pki/ca.crt");
    let mut env = vec![
        ("APPLICATION".to_string(), application),
        ("CITY_CA".to_string(), ca.to_string_lossy().into_owned()),
    ];
    env.extend(official_env("CLERK", &KOVAL));
    env.extend(official_env("HEAD", &TKACHENKO));
    env.extend(official_env("SECURITY", &ROMANENKO));
    let report = run_office(&portal, env).await;
    for step in [
        "the citizen adds the documents",
        "the result verified on the public page",
        "the clerk is blocked and refused at the next click",
    ] {
        assert!(
            report.steps.iter().any(|s| s == step),
            "the scenario skipped «{step}»: {:?}",
            report.steps
        );
    }
    let audited: Vec<&str> = report.pages.iter().map(|p| p.url.as_str()).collect();
    for page in [
        "/cabinet/subscriptions",
        "/office",
        "/office/cases/",
        "/documents-upload",
        "/view",
        "/verify",
        "/office/users",
        "/block",
    ] {
        assert!(
            audited.iter().any(|url| url.contains(page)),
            "no page like {page} was audited: {audited:?}"
        );
    }
}
