//! An information system's side of the X-Road REST protocol for the gateway tests: requests as
//! an HTTP client sends them (or written raw on the socket), the reply, starting a node of a
//! federation and the shape every refusal must have.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::appliance::Appliance;
use super::federation::Federation;

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn error_type(&self) -> Option<&str> {
        self.header("x-road-error")
    }
}

pub async fn call(
    node: &Appliance,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut request = http().request(method.parse().unwrap(), format!("{}{path}", node.url));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request
        .body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}\n{}", node.log()));
    Reply {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

/// A GET written on the socket as given: an HTTP client would resolve `..` before sending.
pub async fn raw_get(node: &Appliance, path: &str, client: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(&node.address).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nX-Road-Client: {client}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).await.unwrap();
    out
}

pub async fn get(node: &Appliance, path: &str, client: &str) -> Reply {
    call(node, "GET", path, &[("X-Road-Client", client)], "").await
}

pub fn start(fed: &Federation, data: &std::path::Path, node: &str, extra: &[&str]) -> Appliance {
    let mut args = vec!["--node", node];
    args.extend_from_slice(extra);
    let appliance = Appliance::start(&fed.root, data, &args);
    appliance.wait_for("a revision applied", |s| {
        s["applied"]["revision"].is_string()
    });
    appliance
}

/// Waits until the node logs that it listens for other nodes.
pub fn wait_for_peer_listener(node: &Appliance) {
    let start = Instant::now();
    while !node.log().contains("listening for other gateway nodes") {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no peer listener:\n{}",
            node.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn assert_refused(reply: &Reply, status: u16, kind: &str, mentions: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.error_type(), Some(kind), "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["type"], kind);
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(mentions),
        "the message `{message}` should mention `{mentions}`"
    );
    assert_eq!(
        body["detail"].as_str(),
        reply.header("x-road-id"),
        "detail names the log entry"
    );
}

/// The message log entries of `message_id` in the SQLite store under `data`.
pub async fn logged_exchanges(
    data: &std::path::Path,
    message_id: &str,
) -> Vec<hromada::store::Exchange> {
    let store = hromada::store::Store::connect(&hromada::store::Store::sqlite_url(
        &data.join("hromada.db"),
    ))
    .await
    .unwrap();
    let records = store.message_by_id(message_id).await.unwrap();
    store.close().await;
    records
        .iter()
        .map(|r| hromada::store::Exchange::from_log_entry(&r.entry).unwrap())
        .collect()
}
