//! The example city on loopback for the case engine's proofs: a copy of the repository's tree
//! with its development keys, its gateway nodes moved onto free ports, and real upstream HTTP
//! servers standing in for the water utility's billing and the residents' register.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::common::appliance::{Appliance, example_city};
use crate::common::federation::{free_port, serve_on_loopback};

/// The applicant of the tests (a valid RNOKPP, owner of every water account below).
pub const APPLICANT: &str = "3184710691";
/// A water account with nothing owed.
pub const NO_DEBT: &str = "10000001";
/// A water account that owes 1,250.40 UAH.
pub const IN_DEBT: &str = "10000002";
/// A water account with nothing owed, the amount sent as a decimal numeral in a string
/// (`"0.00"`), which the service's `decimal` field allows.
pub const NO_DEBT_AS_TEXT: &str = "10000003";
/// The bearer token of the cases API in these tests.
pub const TOKEN: &str = "cases-test-token-0123456789abcdef";
/// Where the tests' time starts: a Monday, three working days before Christmas (a holiday).
pub const MONDAY: &str = "2026-12-21T09:00:00Z";

/// What the registries' systems do; shared with their handlers.
#[derive(Clone, Default)]
pub struct Registries {
    /// The water utility's billing does not answer (HTTP 503) while set.
    pub billing_down: Arc<AtomicBool>,
    /// The residents' register holds its answers (for a minute) while set.
    pub register_slow: Arc<AtomicBool>,
    /// How many residence requests the register has received.
    pub register_asked: Arc<AtomicUsize>,
}

pub struct City {
    pub dir: tempfile::TempDir,
    pub registries: Registries,
    pub token_file: PathBuf,
    pub clock_file: PathBuf,
}

impl City {
    /// The city in a temporary folder, its upstreams started in the current Tokio runtime.
    pub async fn new() -> City {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("city");
        example_city(&root);
        let registries = Registries::default();
        let billing = serve_on_loopback(billing(registries.clone())).await;
        let register = serve_on_loopback(register(registries.clone())).await;
        let parking = serve_on_loopback(parking()).await;
        let addresses = serve_on_loopback(addresses()).await;
        let heating = serve_on_loopback(heating()).await;
        let mut moves = vec![
            ("127.0.0.1:9103".to_string(), format!("127.0.0.1:{billing}")),
            ("127.0.0.1:9106".to_string(), format!("127.0.0.1:{parking}")),
            (
                "127.0.0.1:9102".to_string(),
                format!("127.0.0.1:{addresses}"),
            ),
            ("127.0.0.1:9104".to_string(), format!("127.0.0.1:{heating}")),
            (
                "127.0.0.1:9101".to_string(),
                format!("127.0.0.1:{register}"),
            ),
        ];
        for port in [8443, 8444, 8445] {
            moves.push((
                format!("127.0.0.1:{port}"),
                format!("127.0.0.1:{}", free_port()),
            ));
        }
        for entry in walkdir::WalkDir::new(root.join("spec")) {
            let entry = entry.unwrap();
            if entry.path().extension().is_some_and(|e| e == "kdl") {
                let text = std::fs::read_to_string(entry.path()).unwrap();
                let moved = moves
                    .iter()
                    .fold(text.clone(), |t, (from, to)| t.replace(from, to));
                if moved != text {
                    std::fs::write(entry.path(), moved).unwrap();
                }
            }
        }
        let made = crate::common::hromada(&["keys".as_ref(), "dev".as_ref(), root.as_os_str()]);
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        let token_file = dir.path().join("api-token");
        std::fs::write(&token_file, TOKEN).unwrap();
        let clock_file = dir.path().join("clock");
        std::fs::write(&clock_file, MONDAY).unwrap();
        City {
            dir,
            registries,
            token_file,
            clock_file,
        }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("city")
    }

    /// Moves the engine's clock of every appliance started with `start_core`.
    pub fn set_time(&self, rfc3339: &str) {
        let staging = self.clock_file.with_extension("new");
        std::fs::write(&staging, rfc3339).unwrap();
        std::fs::rename(&staging, &self.clock_file).unwrap();
    }

    /// The portal's node (`gw-core`), with the cases API and the tests' clock, on `data`, once
    /// its engine has taken the applied revision.
    pub async fn start_core(&self, data: &Path, extra: &[&str]) -> Appliance {
        let mut args = vec![
            "--api-token-file",
            self.token_file.to_str().unwrap(),
            "--clock-file",
            self.clock_file.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let app = Appliance::start(&self.root(), data, &args);
        app.wait_for("a revision applied", |s| s["ready"] == true);
        let client = reqwest::Client::new();
        let taken = crate::common::holds_within_30s(|| async {
            client
                .get(format!("{}/api/cases", app.url))
                .bearer_auth(TOKEN)
                .header("X-Hromada-Actor", format!("applicant:{APPLICANT}"))
                .send()
                .await
                .is_ok_and(|r| r.status().as_u16() == 200)
        })
        .await;
        assert!(taken, "the cases API did not become ready\n{}", app.log());
        app
    }

    /// The heating network's node (`gw-teplo`), which its accounts service is provided on.
    pub fn start_teplo(&self, data: &Path) -> Appliance {
        let app = Appliance::start(&self.root(), data, &["--node", "gw-teplo"]);
        app.wait_for("a revision applied", |s| s["ready"] == true);
        crate::common::xroad::wait_for_peer_listener(&app);
        app
    }

    /// The water utility's node (`gw-vodokanal`), which the balance service is provided on.
    pub fn start_vodokanal(&self, data: &Path) -> Appliance {
        let app = Appliance::start(&self.root(), data, &["--node", "gw-vodokanal"]);
        app.wait_for("a revision applied", |s| s["ready"] == true);
        crate::common::xroad::wait_for_peer_listener(&app);
        app
    }

    /// Replaces text in a file of the tree atomically, as `git` does on a merge.
    pub fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.root().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has no `{from}`");
        let staging = path.with_extension("kdl.new");
        std::fs::write(&staging, text.replacen(from, to, 1)).unwrap();
        std::fs::rename(&staging, &path).unwrap();
    }
}

fn billing(registries: Registries) -> Router {
    Router::new()
        .route("/abonents/accounts/{account}/balance", get(balance))
        .route("/abonents/health", get(|| async { "ok" }))
        .with_state(registries)
}

async fn balance(
    State(registries): State<Registries>,
    UrlPath(account): UrlPath<String>,
) -> Response {
    if registries.billing_down.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "maintenance").into_response();
    }
    // The amount as the billing writes it: a JSON number with its exact digits, or a string.
    let debt = match account.as_str() {
        NO_DEBT => "0.00",
        IN_DEBT => "1250.40",
        NO_DEBT_AS_TEXT => r#""0.00""#,
        _ => {
            return (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"error": "no such account"})),
            )
                .into_response();
        }
    };
    let mut answer = json!({
        "account_number": account,
        "holder_name": "Іваненко Марія Петрівна",
        "holder_rnokpp": APPLICANT,
        "address": {"address_id": "A-1", "street": "вул. Соборна", "building": "5", "apartment": "12"},
        "registered_persons": 2,
        "meter_installed": true,
        "balance_date": "2026-12-01",
    })
    .to_string();
    answer.insert_str(answer.len() - 1, &format!(r#","debt_uah":{debt}"#));
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        answer,
    )
        .into_response()
}

fn register(registries: Registries) -> Router {
    Router::new()
        .route("/api/v1/persons/{id}/residence", get(residence))
        .route("/api/v1/health", get(|| async { "ok" }))
        .with_state(registries)
}

async fn residence(State(registries): State<Registries>, UrlPath(id): UrlPath<String>) -> Response {
    registries.register_asked.fetch_add(1, Ordering::SeqCst);
    if registries.register_slow.load(Ordering::SeqCst) {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    }
    axum::Json(json!({
        "rnokpp": id,
        "last_name": "Іваненко",
        "first_name": "Марія",
        "patronymic": "Петрівна",
        "birth_date": "1980-04-02",
        "registered": true,
        "registration_date": "2001-05-14",
        "address": {"address_id": "A-1", "district": "03", "street": "вул. Соборна", "building": "5", "apartment": "12"},
    }))
    .into_response()
}

/// The parking control department's register of fines (`legal-dept/fines`).
fn parking() -> Router {
    Router::new()
        .route("/parking/v2/fines/{number}", get(fine))
        .route("/parking/v2/health", get(|| async { "ok" }))
}

async fn fine(UrlPath(number): UrlPath<String>) -> Response {
    axum::Json(json!({
        "resolution_number": number,
        "issued_at": "2026-11-15T10:20:00+02:00",
        "plate_number": "AP1234BC",
        "violation_article": "152-1",
        "location": "просп. Соборний, 150",
        "amount_uah": 340,
        "status": "не сплачено",
        "due_date": "2026-12-01",
    }))
    .into_response()
}

/// The architecture department's address register (`architecture-dept/addresses`): the
/// address asked for is reserved, not yet in force.
fn addresses() -> Router {
    let address = || {
        axum::Json(json!({
            "address_id": "A-77",
            "district": "03",
            "street_code": "S-12",
            "street_name": "вулиця Соборна",
            "building": "150",
            "postal_code": "69063",
            "status": "зарезервована",
        }))
    };
    Router::new()
        .route("/addresses", get(move || async move { address() }))
        .route("/addresses/{id}", get(move || async move { address() }))
        .route("/status", get(|| async { "ok" }))
}

/// The heating network's accounts (`teplomerezhi/accounts`).
fn heating() -> Router {
    Router::new()
        .route("/zbut/api/accounts/{account}", get(heat_account))
        .route("/zbut/api/ping", get(|| async { "ok" }))
}

async fn heat_account(UrlPath(account): UrlPath<String>) -> Response {
    axum::Json(json!({
        "account_number": account,
        "holder_name": "Іваненко Марія Петрівна",
        "holder_rnokpp": APPLICANT,
        "heated_area_m2": 54.2,
        "heating_connected": true,
        "charges": [{"period": "2026-11", "amount_uah": 2140.5, "paid_uah": 2140.5}],
    }))
    .into_response()
}
