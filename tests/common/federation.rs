//! The `examples/federation` tree in a temporary folder, on free loopback ports, with its
//! development keys made, and real upstream HTTP servers standing in for the registries'
//! systems: they answer with more personal data than any agreement grants.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

/// A personal field no agreement grants: it must never reach a consumer.
pub const UNGRANTED_RNOKPP: &str = "3012345678";
/// An extra field the provider adds: it must never reach a consumer either.
pub const UNGRANTED_NOTE: &str = "SECRET-EXTRA-NOTE";

pub struct Federation {
    pub root: PathBuf,
    pub core_peer: u16,
    pub vodokanal_peer: u16,
    pub instance: &'static str,
    pub upstream: Upstream,
}

/// What the upstream servers saw.
#[derive(Clone, Default)]
pub struct Upstream {
    pub seen: Arc<Mutex<Vec<HeaderMap>>>,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Federation {
    /// Copies the tree into `dir`, moves it onto free ports, makes its keys and starts the
    /// upstreams (inside the current Tokio runtime).
    pub async fn new(dir: &Path) -> Federation {
        let root = dir.join("federation");
        super::copy_tree(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/federation"),
            &root,
        );
        let upstream = Upstream::default();
        let balance = serve(upstream.clone()).await;
        let register = serve(upstream.clone()).await;
        let core_peer = free_port();
        let vodokanal_peer = free_port();
        for (from, to) in [
            ("127.0.0.1:8443", core_peer),
            ("127.0.0.1:8444", vodokanal_peer),
            ("127.0.0.1:9401", balance),
            ("127.0.0.1:9402", register),
        ] {
            for file in ["spec/system.kdl", "spec/council.kdl", "spec/vodokanal.kdl"] {
                let path = root.join(file);
                let text = std::fs::read_to_string(&path).unwrap();
                std::fs::write(&path, text.replace(from, &format!("127.0.0.1:{to}"))).unwrap();
            }
        }
        let made = Command::new(env!("CARGO_BIN_EXE_hromada"))
            .args(["keys", "dev"])
            .arg(&root)
            .output()
            .unwrap();
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        Federation {
            root,
            core_peer,
            vodokanal_peer,
            instance: "hromada-federation",
            upstream,
        }
    }

    pub fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.root.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has no `{from}`");
        // Whole or not at all: the watcher must never read a half-written file.
        let staging = path.with_extension("kdl.new");
        std::fs::write(&staging, text.replacen(from, to, 1)).unwrap();
        std::fs::rename(&staging, &path).unwrap();
    }

    /// `X-Road-Client` of the council's registry subsystem.
    pub fn registry_client(&self) -> String {
        format!("{}/GOV/04363395/registry", self.instance)
    }

    /// The path of the water utility's balance service.
    pub fn balance_path(&self, rest: &str) -> String {
        format!("/r1/{}/COM/35418773/billing/balance{rest}", self.instance)
    }

    /// The path of the council's residents service.
    pub fn residents_path(&self, rest: &str) -> String {
        format!(
            "/r1/{}/GOV/04363395/registry/residents{rest}",
            self.instance
        )
    }
}

async fn serve(upstream: Upstream) -> u16 {
    let app = Router::new()
        .route("/abonents/accounts/{account}/balance", get(balance))
        .route("/register/persons/{id}", get(person))
        .route("/abonents/health", get(|| async { "ok" }))
        .route("/register/health", get(|| async { "ok" }))
        .with_state(upstream);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

async fn balance(
    State(upstream): State<Upstream>,
    UrlPath(account): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    upstream.seen.lock().unwrap().push(headers);
    match account.as_str() {
        "slow" => {
            tokio::time::sleep(Duration::from_secs(20)).await;
            StatusCode::OK.into_response()
        }
        "unhurried" => {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            account_json(&account)
        }
        "pdf" => (
            [(header::CONTENT_TYPE, "application/pdf")],
            "%PDF-1.7 secret",
        )
            .into_response(),
        "missing" => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"error":"no such account"}"#,
        )
            .into_response(),
        "moved" => (
            StatusCode::FOUND,
            [(header::LOCATION, "/abonents/accounts/other/balance")],
        )
            .into_response(),
        _ => account_json(&account),
    }
}

fn account_json(account: &str) -> Response {
    axum::Json(json!({
        "account_number": account,
        "holder_name": "Іваненко Марія Петрівна",
        "holder_rnokpp": UNGRANTED_RNOKPP,
        "address": {"street": "вул. Центральна", "building": "5", "apartment": "12"},
        "debt_uah": "0.00",
        "balance_date": "2026-11-01",
        "note": UNGRANTED_NOTE,
    }))
    .into_response()
}

async fn person(
    State(upstream): State<Upstream>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    upstream.seen.lock().unwrap().push(headers);
    axum::Json(json!({
        "full_name": "Іваненко Марія Петрівна",
        "address": "с. Щасливе, вул. Центральна, 5, кв. 12",
        "registered_since": "2001-05-14",
        "rnokpp": id,
        "note": UNGRANTED_NOTE,
    }))
    .into_response()
}

impl Federation {
    /// Lets the council's systems call their node over plain HTTP from this host (`connection
    /// "http"`), for tests about something other than how systems authenticate: the example
    /// declares HTTPS with client certificates, which `tests/hardening/systems.rs` exercises.
    pub fn systems_over_http(&self) {
        for subsystem in ["portal", "registry"] {
            self.edit(
                "spec/council.kdl",
                &format!(
                    "connection \"https\" {{\n            client cert=\"pki/systems/council-{subsystem}.crt\"\n        }}"
                ),
                "connection \"http\"",
            );
        }
    }
}

/// Serves `app` on a free loopback port, as a stand-in upstream of a test; answers the port.
pub async fn serve_on_loopback(app: Router) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

impl Federation {
    /// The TLS client configuration of gateway node `node` (its certificate and development key,
    /// the federation's CA as anchor), as it calls another node.
    pub fn node_tls(&self, node: &str) -> rustls::ClientConfig {
        use hromada::gateway::peer_tls::{NodeIdentity, client_config};
        let cert = std::fs::read(self.root.join(format!("pki/nodes/{node}.crt"))).unwrap();
        let key = std::fs::read(self.root.join(format!("dev-keys/nodes/{node}.key"))).unwrap();
        let anchor = hromada::crypto::read_certificates(&self.root.join("pki/ca.crt")).unwrap();
        client_config(&NodeIdentity::from_pem(&cert, &key).unwrap(), &anchor).unwrap()
    }

    /// An HTTP client presenting node `node`'s certificate, as that node calls another.
    pub fn node_client(&self, node: &str) -> reqwest::Client {
        reqwest::Client::builder()
            .use_preconfigured_tls(self.node_tls(node))
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    }
}
