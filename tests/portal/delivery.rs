//! Providers with their own system (003 §5.4, PORTAL-7): a heating-recalculation application is
//! delivered through the gateway (the portal's node, then the heating network's) to a real
//! system on loopback, retried while that system is down, and the system's sealed reports move
//! the case; reports of another participant, forged seals, tampered results and replays are
//! refused or answered once. The deliveries' store on SQLite and PostgreSQL.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use chrono::{TimeZone, Utc};
use hromada::store::{ApplicationRow, DeliveryOutcome, NewDelivery, ProviderReportRow, Store};
use serde_json::{Value, json};

use crate::both;
use crate::common::city::APPLICANT;
use crate::common::db::Db;
use crate::common::federation::serve_on_loopback;
use crate::portal::{Browser, CITIZEN, Portal};
use crate::signing::{document_of, openssl, openssl_sign, store_of, upload};

/// The heating network's billing system «ЗБУТ» as the tests play it: it takes applications
/// (once per delivery id), or answers 503 while `down`.
#[derive(Clone, Default)]
struct Zbut {
    down: Arc<AtomicBool>,
    /// Every application body it took, in order; a delivery id seen before is not added again.
    taken: Arc<Mutex<Vec<Value>>>,
    /// How many requests reached it, taken or not.
    asked: Arc<Mutex<usize>>,
}

async fn take(State(zbut): State<Zbut>, axum::Json(body): axum::Json<Value>) -> Response {
    *zbut.asked.lock().unwrap() += 1;
    if zbut.down.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "maintenance").into_response();
    }
    let mut taken = zbut.taken.lock().unwrap();
    let position = match taken
        .iter()
        .position(|b| b["delivery_id"] == body["delivery_id"])
    {
        Some(seen) => seen,
        None => {
            taken.push(body);
            taken.len() - 1
        }
    };
    axum::Json(json!({"reference": format!("ЗБУТ-{}", position + 1)})).into_response()
}

impl Zbut {
    /// Starts it on loopback and points the spec's `teplomerezhi/applications` at it.
    async fn start(portal: &Portal) -> Zbut {
        let zbut = Zbut::default();
        let app = Router::new()
            .route("/zbut/api/applications", post(take))
            .with_state(zbut.clone());
        let port = serve_on_loopback(app).await;
        let before = portal.app.applied();
        let file = portal
            .city
            .root()
            .join("spec/participants/teplomerezhi.kdl");
        let text = std::fs::read_to_string(&file).unwrap();
        let (head, tail) = text.split_at(text.find(r#"service "applications""#).unwrap());
        let start = tail.find("upstream \"").unwrap();
        let end = start + tail[start..].find('\n').unwrap();
        let moved = format!(
            "{head}{}upstream \"http://127.0.0.1:{port}/zbut/api\"{}",
            &tail[..start],
            &tail[end..]
        );
        let staging = file.with_extension("kdl.new");
        std::fs::write(&staging, moved).unwrap();
        std::fs::rename(&staging, &file).unwrap();
        portal.app.wait_for("the moved upstream applied", |s| {
            s["applied"]["revision"]
                .as_str()
                .is_some_and(|r| r != before)
        });
        zbut
    }

    fn taken(&self) -> Vec<Value> {
        self.taken.lock().unwrap().clone()
    }
}

/// The city's portal, the heating network's node, and its system on loopback.
async fn city() -> (Portal, crate::common::appliance::Appliance, Zbut) {
    city_with(&[]).await
}

/// As [`city`], with more `serve` arguments for the portal's node.
async fn city_with(extra: &[&str]) -> (Portal, crate::common::appliance::Appliance, Zbut) {
    let portal = Portal::start_with(extra).await;
    let zbut = Zbut::start(&portal).await;
    let teplo = portal
        .city
        .start_teplo(&portal.city.dir.path().join("teplo"));
    (portal, teplo, zbut)
}

/// A heating-recalculation application signed by the citizen: (its id, the bytes signed).
async fn signed_application(portal: &Portal, citizen: &Browser) -> (String, Vec<u8>) {
    let started = citizen
        .post_form("/services/heating-recalculation/apply", &[])
        .await;
    assert_eq!(started.status, 303, "{}", started.body);
    let account = started.location.unwrap();
    let draft = account
        .split("/drafts/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_string();
    citizen.get(&account).await;
    let next = citizen
        .post_form(
            &account,
            &[
                ("f.heat_account", "123456789"),
                ("f.holder_name", "Іваненко Марія Петрівна"),
            ],
        )
        .await;
    assert_eq!(next.status, 303, "{}\n{}", next.body, portal.app.log());
    let periods = format!("/drafts/{draft}/pages/periods");
    citizen.get(&periods).await;
    let next = citizen
        .post_form(
            &periods,
            &[
                ("f.problem", "01"),
                ("g.periods.0.period_from", "2026-11-02"),
                ("g.periods.0.period_to", "2026-11-09"),
            ],
        )
        .await;
    assert_eq!(next.status, 303, "{}", next.body);
    citizen.get(&format!("/drafts/{draft}/check")).await;
    let checked = citizen
        .post_form(&format!("/drafts/{draft}/check"), &[("declaration", "yes")])
        .await;
    assert_eq!(
        checked.location.as_deref(),
        Some(format!("/drafts/{draft}/sign").as_str()),
        "{}",
        checked.body
    );
    let json = document_of(citizen, &draft).await;
    let signature = openssl_sign(&portal.city.root(), APPLICANT, &json);
    let signed = upload(citizen, &draft, signature).await;
    assert_eq!(signed.status, 303, "{}\n{}", signed.body, portal.app.log());
    let id = signed
        .location
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    (id, json)
}

/// Waits until `zbut` took `n` applications.
async fn taken(portal: &Portal, zbut: &Zbut, n: usize) -> Vec<Value> {
    let arrived = crate::common::holds_within_30s(|| async { zbut.taken().len() >= n }).await;
    assert!(
        arrived,
        "no application reached the system\n{}",
        portal.app.log()
    );
    zbut.taken()
}

/// A detached CMS seal (DER) over `content` with `participant`'s development seal key.
pub(crate) fn seal(root: &Path, participant: &str, content: &[u8]) -> Vec<u8> {
    sign_with(
        content,
        &root.join(format!("pki/seals/{participant}.crt")),
        &root.join(format!("dev-keys/seals/{participant}.key")),
    )
}

fn sign_with(content: &[u8], cert: &Path, key: &Path) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in"), dir.path().join("out.p7s"));
    std::fs::write(&input, content).unwrap();
    openssl(&[
        "cms".as_ref(),
        "-sign".as_ref(),
        "-binary".as_ref(),
        "-outform".as_ref(),
        "DER".as_ref(),
        "-in".as_ref(),
        input.as_os_str(),
        "-signer".as_ref(),
        cert.as_os_str(),
        "-inkey".as_ref(),
        key.as_os_str(),
        "-out".as_ref(),
        output.as_os_str(),
    ]);
    std::fs::read(output).unwrap()
}

/// A certificate and key that name the heating network as its seal does, made by no one the
/// city trusts.
fn forged_seal(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("forged.crt"), dir.join("forged.key"));
    openssl(&[
        "req".as_ref(),
        "-x509".as_ref(),
        "-newkey".as_ref(),
        "ec".as_ref(),
        "-pkeyopt".as_ref(),
        "ec_paramgen_curve:P-256".as_ref(),
        "-nodes".as_ref(),
        "-days".as_ref(),
        "3650".as_ref(),
        "-subj".as_ref(),
        "/C=UA/O=Концерн «Міські теплові мережі»/CN=Концерн «Міські теплові мережі»/organizationIdentifier=NTRUA-26112038".as_ref(),
        "-keyout".as_ref(),
        key.as_os_str(),
        "-out".as_ref(),
        cert.as_os_str(),
    ]);
    (cert, key)
}

/// A one-page PDF with a line of text.
fn result_pdf(text: &str) -> Vec<u8> {
    format!(
        "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n\
         3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>endobj\n\
         4 0 obj<</Length {}>>stream\nBT /F1 12 Tf 72 770 Td ({text}) Tj ET\nendstream endobj\n\
         5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
        text.len() + 35
    )
    .into_bytes()
}

/// One report as the system posts it: the parts and their bytes.
struct Report {
    report: Vec<u8>,
    seal: Vec<u8>,
    result: Option<(Vec<u8>, Vec<u8>)>,
}

impl Report {
    fn sealed(root: &Path, by: &str, report: Value) -> Report {
        let report = serde_json::to_vec(&report).unwrap();
        Report {
            seal: seal(root, by, &report),
            report,
            result: None,
        }
    }
}

/// Posts `report` to `…/{delivery}/{kind}`: status and JSON answer.
async fn post_report(portal: &Portal, delivery: &str, kind: &str, report: &Report) -> (u16, Value) {
    let part = |bytes: &[u8], name: &str, media: &str| {
        reqwest::multipart::Part::bytes(bytes.to_vec())
            .file_name(name.to_string())
            .mime_str(media)
            .unwrap()
    };
    let mut form = reqwest::multipart::Form::new()
        .part(
            "report",
            part(&report.report, "report.json", "application/json"),
        )
        .part(
            "seal",
            part(
                &report.seal,
                "report.json.p7s",
                "application/pkcs7-signature",
            ),
        );
    if let Some((pdf, pdf_seal)) = &report.result {
        form = form
            .part("result", part(pdf, "result.pdf", "application/pdf"))
            .part(
                "result_seal",
                part(pdf_seal, "result.pdf.p7s", "application/pkcs7-signature"),
            );
    }
    let response = reqwest::Client::new()
        .post(format!(
            "{}/api/providers/cases/{delivery}/{kind}",
            portal.app.url
        ))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or_else(|_| json!({"raw": body})),
    )
}

/// The properties the OpenAPI document (`docs/api/providers.openapi.json`) gives `schema`.
fn declared(schema: &str) -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/api/providers.openapi.json"
    );
    let document: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut keys: Vec<String> = document["components"]["schemas"][schema]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

/// The state of `application`'s case and how many events its history holds.
async fn case_of(store: &Store, application: &str) -> (String, usize) {
    let row = store.application_by_id(application).await.unwrap().unwrap();
    let case = store
        .case(row.case_id.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    let events = store.case_events(&case.id).await.unwrap().len();
    (case.state, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signed_application_reaches_the_providers_system_and_its_sealed_reports_move_the_case()
{
    let (portal, _teplo, zbut) = city().await;
    let root = portal.city.root();
    let citizen = portal.sign_in(&CITIZEN).await;
    let (application, signed) = signed_application(&portal, &citizen).await;

    // The system receives the application exactly as signed, with the applicant's signature.
    let body = taken(&portal, &zbut, 1).await.remove(0);
    assert_eq!(keys(&body), declared("Delivery"), "{body}");
    let document = body["document"].as_str().unwrap();
    assert_eq!(document.as_bytes(), signed.as_slice(), "{body}");
    assert_eq!(body["e_service"], "heating-recalculation");
    assert!(
        body["number"].as_str().is_some_and(|n| !n.is_empty()),
        "{body}"
    );
    let signature = base64::engine::general_purpose::STANDARD
        .decode(body["signature"].as_str().unwrap())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (content, p7s) = (
        dir.path().join("application.json"),
        dir.path().join("a.p7s"),
    );
    std::fs::write(&content, document).unwrap();
    std::fs::write(&p7s, &signature).unwrap();
    openssl(&[
        "cms".as_ref(),
        "-verify".as_ref(),
        "-binary".as_ref(),
        "-inform".as_ref(),
        "DER".as_ref(),
        "-in".as_ref(),
        p7s.as_os_str(),
        "-content".as_ref(),
        content.as_os_str(),
        "-CAfile".as_ref(),
        root.join("pki/ca.crt").as_os_str(),
        "-purpose".as_ref(),
        "any".as_ref(),
        "-out".as_ref(),
        dir.path().join("verified").as_os_str(),
    ]);

    // The delivery is recorded with the system's reference, and the exchange in the message log.
    let store = store_of(&portal).await;
    let delivery_id = body["delivery_id"].as_str().unwrap().to_string();
    let delivered = crate::common::holds_within_30s(|| async {
        store
            .delivery(&delivery_id)
            .await
            .unwrap()
            .is_some_and(|d| d.status == "delivered")
    })
    .await;
    assert!(delivered, "{}", portal.app.log());
    let delivery = store.delivery(&delivery_id).await.unwrap().unwrap();
    assert_eq!(delivery.provider_reference.as_deref(), Some("ЗБУТ-1"));
    assert_eq!(delivery.subsystem, "teplomerezhi/zbut");
    assert_eq!(delivery.application_id, application);
    let uses = store.subject_uses(APPLICANT, 1, 100).await.unwrap().uses;
    let logged = uses
        .iter()
        .find(|u| u.provider == "teplomerezhi/applications")
        .expect("the delivery is in the applicant's data-use records");
    assert_eq!(logged.action, "POST /applications");
    assert_eq!(logged.agreement, "portal-delivers-heating-applications");
    assert_eq!(logged.receiver_system, "city-council/portal");
    assert!(
        !store
            .message_by_id(&logged.message_id)
            .await
            .unwrap()
            .is_empty(),
        "the delivery's exchange is in the message log"
    );

    // The system takes the application into work: the cabinet shows the new state.
    let (before, _) = case_of(&store, &application).await;
    assert_eq!(before, "received");
    let accepted = json!({"report_id": "r-1", "delivery_id": delivery_id, "event": "accepted"});
    let report = Report::sealed(&root, "teplomerezhi", accepted.clone());
    let (status, answer) = post_report(&portal, &delivery_id, "status", &report).await;
    assert_eq!(status, 200, "{answer}\n{}", portal.app.log());
    assert_eq!(answer["state"], "calculating");
    assert_eq!(keys(&answer), declared("ReportAccepted"), "{answer}");
    let page = citizen
        .get(&format!("/cabinet/applications/{application}"))
        .await;
    assert!(page.body.contains("Перерахунок"), "{}", page.body);
    assert!(
        page.body.contains("АІС нарахувань та білінгу «ЗБУТ»")
            && page.body.contains("номер у системі — ЗБУТ-1"),
        "the cabinet says where the application went:\n{}",
        page.body
    );
    assert!(
        page.body.contains("Інформаційна система надавача послуги"),
        "the history names who moved the case:\n{}",
        page.body
    );

    // A replay of the same report moves nothing and answers the same.
    let (_, events) = case_of(&store, &application).await;
    let (status, again) = post_report(&portal, &delivery_id, "status", &report).await;
    assert_eq!((status, &again), (200, &answer));
    assert_eq!(
        case_of(&store, &application).await,
        ("calculating".into(), events)
    );

    // The same report id with other content is refused.
    let other = Report::sealed(
        &root,
        "teplomerezhi",
        json!({"report_id": "r-1", "delivery_id": delivery_id, "event": "declined"}),
    );
    let (status, refused) = post_report(&portal, &delivery_id, "status", &other).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["type"], "report_id_reused");

    // The result: a PDF sealed by the heating network; the cabinet lists it, seal checked.
    let pdf = result_pdf("Akt pererakhunku 77");
    let mut completed = Report::sealed(
        &root,
        "teplomerezhi",
        json!({"report_id": "r-2", "delivery_id": delivery_id, "event": "completed", "result_number": "ПР-77/2026"}),
    );
    completed.result = Some((pdf.clone(), seal(&root, "teplomerezhi", &pdf)));
    let (status, answer) = post_report(&portal, &delivery_id, "results", &completed).await;
    assert_eq!(status, 200, "{answer}\n{}", portal.app.log());
    assert_eq!(answer["state"], "recalculated");
    let page = citizen
        .get(&format!("/cabinet/applications/{application}"))
        .await;
    assert!(page.body.contains("ПР-77/2026"), "{}", page.body);
    assert!(page.body.contains("Печатку перевірено"), "{}", page.body);
    let link = format!("/cabinet/applications/{application}/provider-results/r-2");
    let (status, headers, bytes) = citizen.get_bytes(&format!("{link}.pdf")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/pdf");
    assert_eq!(bytes, pdf);
    let (status, _, kept_seal) = citizen.get_bytes(&format!("{link}.pdf.p7s")).await;
    assert_eq!(status, 200);
    assert_eq!(kept_seal, completed.result.as_ref().unwrap().1);

    // A result changed in the database afterwards is shown as not confirmed.
    let database = Store::sqlite_url(&portal.city.dir.path().join("data/hromada.db"));
    crate::common::db::execute(
        &database,
        "UPDATE provider_reports SET result_pdf = X'255044462D312E340A' WHERE report_id = 'r-2'",
    )
    .await;
    let page = citizen
        .get(&format!("/cabinet/applications/{application}"))
        .await;
    assert!(
        page.body.contains("не вдалося підтвердити"),
        "{}",
        page.body
    );

    // Nobody else sees it.
    let other = portal.sign_in(&crate::portal::OTHER).await;
    let (status, _, _) = other.get_bytes(&format!("{link}.pdf")).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_of_another_participant_forged_seals_and_tampered_results_are_refused() {
    let (portal, _teplo, zbut) = city().await;
    let root = portal.city.root();
    let citizen = portal.sign_in(&CITIZEN).await;
    let (application, _) = signed_application(&portal, &citizen).await;
    let body = taken(&portal, &zbut, 1).await.remove(0);
    let delivery = body["delivery_id"].as_str().unwrap().to_string();
    let store = store_of(&portal).await;
    let untouched = case_of(&store, &application).await;
    let report =
        |id: &str, event: &str| json!({"report_id": id, "delivery_id": delivery, "event": event});

    // Sealed by the water utility, which the application was not delivered to.
    let theirs = Report::sealed(&root, "vodokanal", report("x-1", "declined"));
    let (status, refused) = post_report(&portal, &delivery, "status", &theirs).await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["type"], "seal_refused");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("teplomerezhi"),
        "{refused}"
    );

    // A seal made with a key and certificate that only claim to be the heating network's.
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = forged_seal(dir.path());
    let text = serde_json::to_vec(&report("x-2", "declined")).unwrap();
    let forged = Report {
        seal: sign_with(&text, &cert, &key),
        report: text,
        result: None,
    };
    let (status, refused) = post_report(&portal, &delivery, "status", &forged).await;
    assert_eq!(status, 403, "{refused}");

    // A genuine seal over other bytes: the report was changed after sealing.
    let mut changed = Report::sealed(&root, "teplomerezhi", report("x-3", "accepted"));
    changed.report = serde_json::to_vec(&report("x-3", "declined")).unwrap();
    let (status, refused) = post_report(&portal, &delivery, "status", &changed).await;
    assert_eq!(status, 403, "{refused}");

    // A result PDF changed by one byte after it was sealed.
    let pdf = result_pdf("Vidmova");
    let pdf_seal = seal(&root, "teplomerezhi", &pdf);
    let mut tampered = pdf.clone();
    let at = tampered.len() - 20;
    tampered[at] ^= 1;
    let mut with_result = Report::sealed(&root, "teplomerezhi", report("x-4", "declined"));
    with_result.result = Some((tampered, pdf_seal));
    let (status, refused) = post_report(&portal, &delivery, "results", &with_result).await;
    assert_eq!(status, 403, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("result document"),
        "{refused}"
    );

    // A report on another delivery's id, an unknown delivery, a malformed report, a transition
    // only an official fires, and a part missing.
    let elsewhere = Report::sealed(
        &root,
        "teplomerezhi",
        json!({"report_id": "x-5", "delivery_id": "someone-else", "event": "declined"}),
    );
    let (status, refused) = post_report(&portal, &delivery, "status", &elsewhere).await;
    assert_eq!(status, 400, "{refused}");
    let (status, _) = post_report(&portal, "no-such-delivery", "status", &elsewhere).await;
    assert_eq!(status, 404);
    let malformed = Report {
        seal: seal(&root, "teplomerezhi", b"{not json"),
        report: b"{not json".to_vec(),
        result: None,
    };
    let (status, refused) = post_report(&portal, &delivery, "status", &malformed).await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["message"].as_str().unwrap().contains("report"),
        "{refused}"
    );
    let officials = Report::sealed(&root, "teplomerezhi", report("x-6", "refuse"));
    let (status, refused) = post_report(&portal, &delivery, "status", &officials).await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["type"], "not-allowed");
    let no_result = Report::sealed(&root, "teplomerezhi", report("x-7", "declined"));
    let (status, refused) = post_report(&portal, &delivery, "results", &no_result).await;
    assert_eq!(status, 400, "{refused}");

    // A delivery row rewritten to name the water utility's system does not let it in.
    let database = Store::sqlite_url(&portal.city.dir.path().join("data/hromada.db"));
    crate::common::db::execute(
        &database,
        &format!("UPDATE deliveries SET subsystem = 'vodokanal/billing' WHERE id = '{delivery}'"),
    )
    .await;
    let theirs = Report::sealed(&root, "vodokanal", report("x-8", "declined"));
    let (status, refused) = post_report(&portal, &delivery, "status", &theirs).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["type"], "delivery_inconsistent");

    // Nothing of these moved the case or was kept.
    assert_eq!(case_of(&store, &application).await, untouched);
    let case = store
        .application_by_id(&application)
        .await
        .unwrap()
        .unwrap()
        .case_id
        .unwrap();
    assert!(
        store
            .provider_reports_of_case(&case)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_providers_system_is_down_the_delivery_is_retried_and_delivered_later() {
    let (portal, _teplo, zbut) = city().await;
    zbut.down.store(true, Ordering::SeqCst);
    let citizen = portal.sign_in(&CITIZEN).await;
    let (application, _) = signed_application(&portal, &citizen).await;
    let store = store_of(&portal).await;

    // The attempt fails, is recorded with its reason, and waits for its retry.
    let failed = crate::common::holds_within_30s(|| async {
        match store.delivery_of_application(&application).await.unwrap() {
            Some(d) => d.attempts >= 1,
            None => false,
        }
    })
    .await;
    assert!(failed, "{}", portal.app.log());
    let delivery = store
        .delivery_of_application(&application)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(delivery.status, "pending");
    let reason = delivery.last_error.clone().unwrap();
    assert!(reason.contains("503"), "{reason}");
    let attempts = store.delivery_attempts(&delivery.id).await.unwrap();
    assert_eq!(attempts[0].outcome, "failed");
    assert!(zbut.taken().is_empty());
    let page = citizen
        .get(&format!("/cabinet/applications/{application}"))
        .await;
    assert!(
        page.body.contains("заява чекає на передавання"),
        "{}",
        page.body
    );

    // A delivery row rewritten to send the application elsewhere is held, not sent there.
    let database = Store::sqlite_url(&portal.city.dir.path().join("data/hromada.db"));
    let set_service = |service: &str| {
        format!(
            "UPDATE deliveries SET service = '{service}' WHERE id = '{}'",
            delivery.id
        )
    };
    crate::common::db::execute(&database, &set_service("vodokanal/balance")).await;
    zbut.down.store(false, Ordering::SeqCst);
    portal.city.set_time("2026-12-21T10:00:00Z");
    let held = crate::common::holds_within_30s(|| async {
        store
            .delivery(&delivery.id)
            .await
            .unwrap()
            .is_some_and(|d| d.attempts >= 2)
    })
    .await;
    assert!(held, "{}", portal.app.log());
    let row = store.delivery(&delivery.id).await.unwrap().unwrap();
    assert_eq!(row.status, "pending");
    assert!(
        row.last_error
            .as_deref()
            .unwrap()
            .contains("held until an administrator"),
        "{row:?}"
    );
    assert!(zbut.taken().is_empty());

    // Restored, and once the retry is due the application is delivered, once.
    crate::common::db::execute(&database, &set_service("teplomerezhi/applications")).await;
    portal.city.set_time("2026-12-21T12:00:00Z");
    let body = taken(&portal, &zbut, 1).await.remove(0);
    assert_eq!(body["delivery_id"], delivery.id);
    let delivered = crate::common::holds_within_30s(|| async {
        store
            .delivery(&delivery.id)
            .await
            .unwrap()
            .is_some_and(|d| d.status == "delivered")
    })
    .await;
    assert!(delivered, "{}", portal.app.log());
    let attempts = store.delivery_attempts(&delivery.id).await.unwrap();
    let outcomes: Vec<&str> = attempts.iter().map(|a| a.outcome.as_str()).collect();
    assert_eq!(outcomes.last(), Some(&"delivered"), "{attempts:?}");
    assert!(
        outcomes[..outcomes.len() - 1]
            .iter()
            .all(|o| *o == "failed")
    );
    assert_eq!(zbut.taken().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_the_application_is_delivered_and_a_report_moves_its_case() {
    let Some(url) = crate::common::postgres::url_or_skip(
        "on_postgresql_the_application_is_delivered_and_a_report_moves_its_case",
    ) else {
        return;
    };
    let (portal, _teplo, zbut) = city_with(&["--database-url", &url]).await;
    let citizen = portal.sign_in(&CITIZEN).await;
    let (application, signed) = signed_application(&portal, &citizen).await;
    let body = taken(&portal, &zbut, 1).await.remove(0);
    assert_eq!(
        body["document"].as_str().unwrap().as_bytes(),
        signed.as_slice()
    );
    let delivery = body["delivery_id"].as_str().unwrap().to_string();
    let store = Store::connect(&url).await.unwrap();
    let delivered = crate::common::holds_within_30s(|| async {
        store
            .delivery(&delivery)
            .await
            .unwrap()
            .is_some_and(|d| d.status == "delivered")
    })
    .await;
    assert!(delivered, "{}", portal.app.log());
    let report = Report::sealed(
        &portal.city.root(),
        "teplomerezhi",
        json!({"report_id": "pg-1", "delivery_id": delivery, "event": "declined"}),
    );
    let (status, answer) = post_report(&portal, &delivery, "status", &report).await;
    assert_eq!(status, 200, "{answer}\n{}", portal.app.log());
    assert_eq!(answer["state"], "refused");
    let (status, again) = post_report(&portal, &delivery, "status", &report).await;
    assert_eq!((status, again), (200, answer));
    assert_eq!(case_of(&store, &application).await.0, "refused");
}

/// A registered application of `e_service` as the store keeps it.
fn application(id: &str, case: &str) -> ApplicationRow {
    ApplicationRow {
        id: id.into(),
        owner: APPLICANT.into(),
        draft_id: format!("draft-{id}"),
        e_service: "heating-recalculation".into(),
        journal: "teplo-incoming".into(),
        period: "2026".into(),
        seq: id.len() as i64,
        number: format!("ТМ-{id}"),
        received_at: "2026-12-21T09:00:00.000000000Z".into(),
        case_id: Some(case.into()),
        document: "{}".into(),
        signature: Some(vec![0x30, 0x03]),
    }
}

both! {
    async fn deliveries_are_leased_retried_and_reports_kept_once(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let at = Utc.with_ymd_and_hms(2026, 12, 21, 9, 0, 0).unwrap();
        let mut tx = store.begin().await.unwrap();
        store.insert_application(&mut tx, &application("a1", "c1")).await.unwrap();
        tx.commit().await.unwrap();
        let new = NewDelivery {
            id: "d1",
            application_id: "a1",
            case_id: "c1",
            e_service: "heating-recalculation",
            subsystem: "teplomerezhi/zbut",
            service: "teplomerezhi/applications",
            at,
        };
        assert!(store.insert_delivery(&new).await.unwrap());
        assert!(
            !store.insert_delivery(&NewDelivery { id: "d2", ..new.clone() }).await.unwrap(),
            "one delivery per application"
        );
        assert_eq!(store.application_by_id("a1").await.unwrap().unwrap().number, "ТМ-a1");

        // One runner holds it; another finds nothing until the lease ends.
        let lease = chrono::Duration::minutes(5);
        let first = store.lease_deliveries("r1", at, at + lease, 10).await.unwrap();
        assert_eq!(first.len(), 1);
        assert!(store.lease_deliveries("r2", at, at + lease, 10).await.unwrap().is_empty());
        let retry = DeliveryOutcome::Retry {
            at: at + chrono::Duration::seconds(30),
            reason: "the service answered with status 503".into(),
        };
        assert!(!store.finish_delivery("d1", "r2", at, &retry).await.unwrap(), "not r2's");
        assert!(store.finish_delivery("d1", "r1", at, &retry).await.unwrap());
        assert!(store.lease_deliveries("r1", at, at + lease, 10).await.unwrap().is_empty());
        let later = at + chrono::Duration::seconds(31);
        let again = store.lease_deliveries("r2", later, later + lease, 10).await.unwrap();
        assert_eq!(again[0].attempts, 1);
        let done = DeliveryOutcome::Delivered { reference: Some("ЗБУТ-9".into()) };
        assert!(store.finish_delivery("d1", "r2", later, &done).await.unwrap());
        let row = store.delivery("d1").await.unwrap().unwrap();
        assert_eq!((row.status.as_str(), row.attempts), ("delivered", 2));
        assert_eq!(row.provider_reference.as_deref(), Some("ЗБУТ-9"));
        assert_eq!(row.last_error, None);
        let attempts = store.delivery_attempts("d1").await.unwrap();
        assert_eq!(attempts.len(), 2);
        assert_eq!((attempts[0].n, attempts[0].outcome.as_str()), (1, "failed"));
        assert_eq!(attempts[0].reason.as_deref(), Some("the service answered with status 503"));
        assert_eq!((attempts[1].n, attempts[1].outcome.as_str()), (2, "delivered"));
        let later = later + chrono::Duration::hours(2);
        assert!(store.lease_deliveries("r1", later, later + lease, 10).await.unwrap().is_empty());

        // The runner's look for open cases left without a delivery: a1 has one, a333's is closed.
        let mut tx = store.begin().await.unwrap();
        store.insert_application(&mut tx, &application("a22", "c2")).await.unwrap();
        store.insert_application(&mut tx, &application("a333", "c3")).await.unwrap();
        tx.commit().await.unwrap();
        for (case, outcome) in [("c1", "NULL"), ("c2", "NULL"), ("c3", "'granted'")] {
            crate::common::db::execute(
                &db.url,
                &format!(
                    "INSERT INTO cases (id, workflow, revision, e_service, state, outcome, \
                     applicant, applicant_name, data, registry, version, created_at, updated_at, \
                     state_entered_at) VALUES ('{case}', 'heating-recalculation', 'r1', \
                     'heating-recalculation', 'received', {outcome}, '{APPLICANT}', 'І. М.', '{{}}', \
                     '{{}}', 1, 't', 't', 't')"
                ),
            )
            .await;
        }
        let waiting = store.applications_awaiting_delivery("heating-recalculation", 10).await.unwrap();
        assert_eq!(waiting.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["a22"]);
        assert!(store.applications_awaiting_delivery("material-aid", 10).await.unwrap().is_empty());

        // A report is kept once; the same id again finds the first.
        let report = ProviderReportRow {
            delivery_id: "d1".into(),
            report_id: "r-1".into(),
            case_id: "c1".into(),
            participant: "teplomerezhi".into(),
            event: "accepted".into(),
            report: "{\"event\":\"accepted\"}".into(),
            seal: vec![1, 2, 3],
            result_number: None,
            result_pdf: Some(b"%PDF-1.4".to_vec()),
            result_seal: Some(vec![4, 5]),
            state_after: "calculating".into(),
            received_at: "2026-12-21T09:05:00.000000000Z".into(),
        };
        assert_eq!(store.insert_provider_report(&report).await.unwrap(), None);
        let replay = ProviderReportRow { event: "declined".into(), ..report.clone() };
        assert_eq!(store.insert_provider_report(&replay).await.unwrap(), Some(report.clone()));
        assert_eq!(store.provider_reports_of_case("c1").await.unwrap(), vec![report]);
    }
}
