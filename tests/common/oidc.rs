//! A real OpenID provider on loopback for the portal's tests: `tests/js/oidc-provider.mjs`
//! (the `oidc-provider` npm package) started with node, with test accounts and one client,
//! killed when dropped. Its stderr is kept, so that a failing test shows what it said.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// A person the provider knows, with the claims a national identity broker gives.
#[derive(Debug, Clone, Copy)]
pub struct Account {
    /// The pseudonymous subject (`sub`).
    pub sub: &'static str,
    /// RNOKPP (`drfocode`).
    pub rnokpp: &'static str,
    pub family_name: &'static str,
    pub given_name: &'static str,
    pub middle_name: &'static str,
    pub email: &'static str,
}

impl Account {
    /// The claims the provider puts in this account's ID token.
    pub fn claims(&self) -> Value {
        json!({
            "drfocode": self.rnokpp,
            "lastname": self.family_name,
            "givenname": self.given_name,
            "middlename": self.middle_name,
            "email": self.email,
        })
    }
}

/// A client registered with the provider.
pub struct Client {
    pub id: String,
    pub secret: String,
    pub redirect_uris: Vec<String>,
}

pub struct Provider {
    child: Child,
    /// `http://127.0.0.1:PORT`, as its discovery document names it.
    pub issuer: String,
    log: Arc<Mutex<String>>,
}

impl Provider {
    /// Starts the provider on `port` with `accounts` and `clients`; returns once it listens.
    pub fn start(port: u16, accounts: &[Account], clients: &[Client]) -> Provider {
        let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
        assert!(
            js.join("node_modules/oidc-provider").is_dir(),
            "tests/js/node_modules lacks oidc-provider: run `npm ci` in tests/js (.ci/run does)"
        );
        let accounts: serde_json::Map<String, Value> = accounts
            .iter()
            .map(|a| (a.sub.to_string(), a.claims()))
            .collect();
        let clients: Vec<Value> = clients
            .iter()
            .map(|c| {
                json!({
                    "client_id": c.id,
                    "client_secret": c.secret,
                    "redirect_uris": c.redirect_uris,
                })
            })
            .collect();
        let mut child = Command::new("node")
            .arg(js.join("oidc-provider.mjs"))
            .arg(port.to_string())
            .current_dir(&js)
            .env("OIDC_ACCOUNTS", Value::Object(accounts).to_string())
            .env("OIDC_CLIENTS", Value::Array(clients).to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node starts (install nodejs; .ci/run does)");
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let issuer = first.trim().to_string();
        if !issuer.starts_with("http://127.0.0.1:") {
            let _ = child.kill();
            let _ = child.wait();
            std::thread::sleep(std::time::Duration::from_millis(200));
            panic!(
                "the OpenID provider did not start (said `{issuer}`):\n{}",
                log.lock().unwrap()
            );
        }
        std::thread::spawn(move || for _ in stdout.lines() {});
        Provider { child, issuer, log }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
