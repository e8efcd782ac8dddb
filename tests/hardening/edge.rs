//! The node's edge under attack (issue 11, findings 5, 6, 7, 8, 11): slow and idle clients,
//! request targets and headers the upstream would read differently from the gateway, metrics
//! labels a client chooses, replayed seals and reused message ids, upstream addresses in
//! other spellings and identifiers in log lines.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::attack_http::Recorder;
use crate::common::appliance::Appliance;
use crate::common::federation::Federation;
use crate::common::xroad::{start, wait_for_peer_listener};
use hromada::gateway::replay::Stamp;

/// The longest any bound under test may take to act before the test fails.
const PATIENCE: Duration = Duration::from_secs(30);

/// Starts `hromada serve` on a copy of `examples/minimal` with `extra` options.
pub(crate) fn minimal_node(dir: &std::path::Path, extra: &[&str]) -> Appliance {
    let root = dir.join("tree");
    crate::common::copy_tree(&crate::common::minimal(), &root);
    let node = Appliance::start(&root, &dir.join("data"), extra);
    node.wait_for("a revision applied", |s| {
        s["applied"]["revision"].is_string()
    });
    node
}

/// Whether the server closed `stream` (end of file or reset) before `PATIENCE` ran out; what
/// it wrote before closing is returned.
async fn closed_by_server(stream: &mut TcpStream) -> Option<String> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&seen).into_owned()),
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

/// A slowloris: connects and sends a request head one byte every 500 ms, never finishing it,
/// until the server closes the connection (`true`) or `PATIENCE` runs out (`false`).
async fn trickle_headers(address: String) -> bool {
    let mut stream = TcpStream::connect(&address).await.unwrap();
    let head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ".to_vec();
    let filler = std::iter::repeat(b'a');
    let deadline = Instant::now() + PATIENCE;
    for byte in head.into_iter().chain(filler) {
        if Instant::now() > deadline {
            return false;
        }
        if stream.write_all(&[byte]).await.is_err() {
            return true;
        }
        let mut buf = [0u8; 256];
        match tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // An answer (such as 408) before the close is fine: the connection ends either way.
            Ok(Ok(_)) => {}
            Err(_) => {}
        }
    }
    unreachable!("the filler never ends")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_header_senders_are_cut_off_while_a_normal_client_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let node = minimal_node(dir.path(), &["--header-timeout", "2s"]);
    let slow: Vec<_> = (0..5)
        .map(|_| tokio::spawn(trickle_headers(node.address.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (code, _) = node.get("/healthz");
    assert_eq!(code, 200, "a normal client is served while five trickle");
    for (i, slow) in slow.into_iter().enumerate() {
        assert!(
            slow.await.unwrap(),
            "slow connection {i} was still open after {PATIENCE:?}\n{}",
            node.log()
        );
    }
    let (code, _) = node.get("/healthz");
    assert_eq!(code, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_silent_connections_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let node = minimal_node(dir.path(), &["--header-timeout", "2s"]);
    // Says nothing at all.
    let mut silent = TcpStream::connect(&node.address).await.unwrap();
    // Asks once, then keeps the connection open without a second request.
    let mut idle = TcpStream::connect(&node.address).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let said = closed_by_server(&mut idle)
        .await
        .unwrap_or_else(|| panic!("an idle keep-alive connection stayed open\n{}", node.log()));
    assert!(said.starts_with("HTTP/1.1 200"), "{said}");
    assert!(
        closed_by_server(&mut silent).await.is_some(),
        "a connection that never sent a byte stayed open"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_systems_listener_does_not_hold_http2_connections() {
    let dir = tempfile::tempdir().unwrap();
    let node = minimal_node(dir.path(), &["--header-timeout", "2s"]);
    let mut stream = TcpStream::connect(&node.address).await.unwrap();
    // The HTTP/2 connection preface and an empty SETTINGS frame (prior knowledge, RFC 9113).
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    let said = closed_by_server(&mut stream)
        .await
        .expect("an HTTP/2 connection is closed, not kept");
    let settings = said.as_bytes().get(3) == Some(&4) && said.as_bytes().starts_with(&[0, 0]);
    assert!(!settings, "the listener spoke HTTP/2: {said:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_systems_listener_over_tls_offers_http1_and_bounds_handshakes() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let cert = fed.root.join("pki/nodes/gw-core.crt");
    let key = fed.root.join("dev-keys/nodes/gw-core.key");
    let node = Appliance::start(
        &fed.root,
        &dir.path().join("core"),
        &[
            "--node",
            "gw-core",
            "--header-timeout",
            "2s",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(node.url.starts_with("https://"), "{}", node.url);
    let anchor =
        reqwest::Certificate::from_pem(&std::fs::read(fed.root.join("pki/ca.crt")).unwrap())
            .unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(anchor)
        .use_rustls_tls()
        .build()
        .unwrap();
    let reply = client
        .get(format!("{}/healthz", node.url))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", node.log()));
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.version(), reqwest::Version::HTTP_11);
    let mut silent = TcpStream::connect(&node.address).await.unwrap();
    assert!(
        closed_by_server(&mut silent).await.is_some(),
        "a connection that never starts its TLS handshake stayed open"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_closed_and_slots_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let node = minimal_node(
        dir.path(),
        &["--header-timeout", "5s", "--max-connections", "3"],
    );
    // Three keep-alive connections, each surely holding its slot once it was answered.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(&node.address).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        held.push(stream);
    }
    let mut fourth = TcpStream::connect(&node.address).await.unwrap();
    let _ = fourth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let said = closed_by_server(&mut fourth)
        .await
        .expect("a connection over the cap is closed");
    assert!(
        said.is_empty(),
        "a connection over the cap is not served: {said}"
    );
    for stream in &mut held {
        assert!(closed_by_server(stream).await.is_some());
    }
    let (code, _) = node.get("/healthz");
    assert_eq!(code, 200, "slots are given back when connections close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_body_gets_an_x_road_error_within_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let node = minimal_node(dir.path(), &["--body-timeout", "2s"]);
    let mut stream = TcpStream::connect(&node.address).await.unwrap();
    stream
        .write_all(
            b"POST /r1/i/GOV/1/s/svc/x HTTP/1.1\r\nHost: x\r\nX-Road-Client: i/GOV/1/c\r\n\
              Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
        )
        .await
        .unwrap();
    let writer = tokio::spawn(async move {
        for _ in 0..60 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if stream.write_all(b" ").await.is_err() {
                break;
            }
            let mut buf = [0u8; 4096];
            if let Ok(Ok(n)) =
                tokio::time::timeout(Duration::from_millis(10), stream.read(&mut buf)).await
            {
                let first = String::from_utf8_lossy(&buf[..n]).into_owned();
                let rest = closed_by_server(&mut stream).await.unwrap_or_default();
                return first + &rest;
            }
        }
        String::new()
    });
    let said = writer.await.unwrap();
    assert!(said.starts_with("HTTP/1.1 400"), "{said}\n{}", node.log());
    assert!(
        said.to_ascii_lowercase()
            .contains("x-road-error: client.badrequest"),
        "{said}"
    );
    assert!(said.contains("did not arrive within 2s"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_peer_listener_closes_silent_and_trickling_connections() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let vodokanal = start(
        &fed,
        &dir.path().join("vodokanal"),
        "gw-vodokanal",
        &["--header-timeout", "2s"],
    );
    wait_for_peer_listener(&vodokanal);
    let address = format!("127.0.0.1:{}", fed.vodokanal_peer);
    let mut silent = TcpStream::connect(&address).await.unwrap();
    let slow: Vec<_> = (0..3)
        .map(|_| tokio::spawn(trickle_headers(address.clone())))
        .collect();
    let stamp = Stamp::now("0193a1b2-c3d4-7e5f-8a9b-00000000slow");
    let (status, _, body) = send_to_peer(&fed, &sealed_balance_request(&fed, &stamp).await).await;
    assert_eq!(status, 200, "a node is served while others trickle: {body}");
    assert!(
        closed_by_server(&mut silent).await.is_some(),
        "a connection without a TLS handshake stayed open"
    );
    for slow in slow {
        assert!(slow.await.unwrap(), "a trickling connection stayed open");
    }
}

// ---- What reaches the upstream is what was checked (finding 7) ----

/// The requests for `/persons/…` that reached `recorder`, each exactly as it arrived.
fn persons(recorder: &Recorder) -> Vec<String> {
    recorder
        .requests()
        .into_iter()
        .filter(|r| r.contains("/persons"))
        .collect()
}

/// Writes `request` on a new connection to `node` and returns everything it answers.
async fn raw(node: &Appliance, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(&node.address).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut out))
        .await
        .expect("the node answers")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

/// The federation with the council's residents service pointing at `recorder`'s port.
async fn federation_with_residents_at(dir: &std::path::Path, port: u16) -> Federation {
    let fed = Federation::new(dir).await;
    fed.systems_over_http();
    let path = fed.root.join("spec/council.kdl");
    let text = std::fs::read_to_string(&path).unwrap();
    let upstream = regex::Regex::new(r"http://127\.0\.0\.1:\d+/register").unwrap();
    let text = upstream.replace(&text, format!("http://127.0.0.1:{port}/register"));
    std::fs::write(&path, text.as_ref()).unwrap();
    fed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_path_the_agreement_was_checked_against_reaches_the_upstream() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::default();
    let port = recorder.start().await;
    let fed = federation_with_residents_at(dir.path(), port).await;
    let core = start(&fed, &dir.path().join("core"), "gw-core", &[]);
    let client = fed.registry_client();
    let request = |target: &str, extra: &str| {
        format!(
            "GET {target} HTTP/1.1\r\nHost: x\r\nX-Road-Client: {client}\r\n{extra}Connection: close\r\n\r\n"
        )
        .into_bytes()
    };

    let hostile = [
        "/persons/1%252e%252e",
        "/persons/%252e%252e%252fadmin",
        "/persons/1;jsessionid=x",
        "/persons/..;",
        "/persons/1%3Bx",
        "/persons/%E2%80%A4%E2%80%A4",
        "/persons/%EF%BC%8E%EF%BC%8E",
        "/persons/1%EF%BC%8F..%EF%BC%8Fadmin",
        "/persons/1%3fadmin=1",
        "/persons/1?as_of=1;admin=1",
    ];
    for rest in hostile {
        let said = raw(&core, &request(&fed.residents_path(rest), "")).await;
        assert!(said.starts_with("HTTP/1.1 400"), "{rest}: {said}");
        assert!(
            said.to_ascii_lowercase()
                .contains("x-road-error: client.badrequest"),
            "{rest}: {said}"
        );
    }
    let long = format!("/persons/{}", "1".repeat(20 * 1024));
    let said = raw(&core, &request(&fed.residents_path(&long), "")).await;
    assert!(said.starts_with("HTTP/1.1 413"), "{said}");
    assert!(
        said.contains("Client.RequestTooLarge") && said.contains("path and query"),
        "{said}"
    );
    let big = format!("X-Big: {}\r\n", "b".repeat(420 * 1024));
    let said = raw(&core, &request(&fed.residents_path("/persons/1"), &big)).await;
    assert!(said.starts_with("HTTP/1.1 413"), "{said}");
    assert!(
        said.contains("Client.RequestTooLarge") && said.contains("headers"),
        "{said}"
    );
    // Many small header fields: the HTTP layer alone would answer a bare 431 past 100.
    let many: String = (0..150).map(|n| format!("X-F{n}: v\r\n")).collect();
    let said = raw(&core, &request(&fed.residents_path("/persons/1"), &many)).await;
    assert!(said.starts_with("HTTP/1.1 413"), "{said}");
    assert!(
        said.contains("Client.RequestTooLarge") && said.contains("header fields"),
        "{said}"
    );
    assert_eq!(
        persons(&recorder),
        Vec::<String>::new(),
        "nothing hostile reached the upstream"
    );

    // The control: an ordinary call reaches the upstream with exactly the path checked.
    let said = raw(&core, &request(&fed.residents_path("/persons/1%20a"), "")).await;
    assert!(said.starts_with("HTTP/1.1 200"), "{said}\n{}", core.log());
    let seen = persons(&recorder);
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].starts_with("GET /register/persons/1%20a HTTP/1.1"),
        "{seen:?}"
    );
}

// ---- Metrics labels come from closed sets (finding 6) ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_methods_never_become_metrics_labels() {
    let dir = tempfile::tempdir().unwrap();
    let node = minimal_node(dir.path(), &[]);
    for i in 0..20 {
        for target in ["/healthz", "/r1/i/GOV/1/s/svc/x", "/nowhere"] {
            let request = format!(
                "PERSON-3012345678-{i} {target} HTTP/1.1\r\nHost: x\r\nX-Road-Client: i/GOV/1/c\r\nConnection: close\r\n\r\n"
            );
            let said = raw(&node, request.as_bytes()).await;
            assert!(said.starts_with("HTTP/1.1 "), "{said}");
        }
    }
    let (code, metrics) = node.get("/metrics");
    assert_eq!(code, 200);
    assert!(!metrics.contains("3012345678"), "{metrics}");
    assert!(!metrics.contains("PERSON"), "{metrics}");
    assert!(metrics.contains(r#"method="other""#), "{metrics}");
}

// ---- Replays and reused ids (finding 5) ----

/// A request to the water utility's balance as gw-core seals it for the council, with `stamp`:
/// the headers to send (seal and stamp included).
async fn sealed_balance_request(fed: &Federation, stamp: &Stamp) -> Vec<(&'static str, String)> {
    let request = axum::http::Request::builder()
        .uri(fed.balance_path("/accounts/1/balance"))
        .header("X-Road-Client", fed.registry_client())
        .header("X-Road-Id", "m-sealed")
        .body(axum::body::Body::empty())
        .unwrap();
    let call = hromada::gateway::call::parse(request, &hromada::gateway::Limits::default())
        .await
        .unwrap();
    let key = openssl::pkey::PKey::private_key_from_pem(
        &std::fs::read(fed.root.join("dev-keys/seals/council.key")).unwrap(),
    )
    .unwrap();
    let seal = hromada::crypto::seal::seal(
        &key.ec_key().unwrap(),
        &hromada::gateway::peer::request_text(&call, stamp),
    )
    .unwrap();
    vec![
        ("X-Road-Client", fed.registry_client()),
        ("X-Road-Id", "m-sealed".to_string()),
        ("x-hromada-request-seal", seal),
        ("x-hromada-request-id", stamp.request_id.clone()),
        ("x-hromada-sealed-at", stamp.sealed_at.clone()),
    ]
}

async fn send_to_peer(
    fed: &Federation,
    headers: &[(&'static str, String)],
) -> (u16, Option<String>, String) {
    send_to_peer_at(fed, fed.vodokanal_peer, headers).await
}

async fn send_to_peer_at(
    fed: &Federation,
    port: u16,
    headers: &[(&'static str, String)],
) -> (u16, Option<String>, String) {
    let url = format!(
        "https://127.0.0.1:{port}{}",
        fed.balance_path("/accounts/1/balance")
    );
    let mut request = fed.node_client("gw-core").get(&url);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let error = response
        .headers()
        .get("x-road-error")
        .map(|v| v.to_str().unwrap().to_string());
    (status, error, response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sealed_request_is_served_once_and_only_while_fresh_also_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let data = dir.path().join("vodokanal");
    let vodokanal = start(&fed, &data, "gw-vodokanal", &["--seal-window", "60s"]);
    wait_for_peer_listener(&vodokanal);

    let stamp = Stamp::now("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
    let sealed = sealed_balance_request(&fed, &stamp).await;
    let (status, error, body) = send_to_peer(&fed, &sealed).await;
    assert_eq!((status, error), (200, None), "{body}\n{}", vodokanal.log());
    assert_eq!(fed.upstream.seen.lock().unwrap().len(), 1);

    let (status, error, body) = send_to_peer(&fed, &sealed).await;
    assert_eq!(status, 400, "a replay is refused: {body}");
    assert_eq!(
        error.as_deref(),
        Some("Server.ServerProxy.InvalidSignatureValue")
    );
    assert!(body.contains("already served"), "{body}");

    // Sealed properly, but five minutes ago.
    let old = Stamp {
        request_id: "0193a1b2-c3d4-7e5f-8a9b-00000000old1".into(),
        sealed_at: (chrono::Utc::now() - chrono::Duration::minutes(5))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    };
    let (status, _, body) = send_to_peer(&fed, &sealed_balance_request(&fed, &old).await).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("window"), "{body}");

    // The stamp is under the seal: a fresh time on the old seal does not verify.
    let mut restamped = sealed.clone();
    restamped[4].1 = Stamp::now("x").sealed_at;
    let (status, _, body) = send_to_peer(&fed, &restamped).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("valid seal"), "{body}");

    // A restart within the window still knows the request.
    vodokanal.stop();
    let vodokanal = start(&fed, &data, "gw-vodokanal", &[]);
    wait_for_peer_listener(&vodokanal);
    let (status, _, body) = send_to_peer(&fed, &sealed).await;
    assert_eq!(status, 400, "a replay after a restart is refused: {body}");
    assert!(body.contains("already served"), "{body}");
    assert_eq!(
        fed.upstream.seen.lock().unwrap().len(),
        1,
        "only the first request reached the upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sealed_request_served_by_one_replica_is_refused_by_the_other() {
    let Some(url) = crate::common::postgres::url_or_skip(
        "a_sealed_request_served_by_one_replica_is_refused_by_the_other",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let a = start(
        &fed,
        &dir.path().join("a"),
        "gw-vodokanal",
        &["--database-url", &url],
    );
    let b_port = crate::common::federation::free_port();
    let b_listen = format!("127.0.0.1:{b_port}");
    let b = start(
        &fed,
        &dir.path().join("b"),
        "gw-vodokanal",
        &["--database-url", &url, "--peer-listen", &b_listen],
    );
    wait_for_peer_listener(&a);
    wait_for_peer_listener(&b);
    let stamp = Stamp::now("0193a1b2-c3d4-7e5f-8a9b-0000000replica");
    let sealed = sealed_balance_request(&fed, &stamp).await;
    let (status, _, body) = send_to_peer_at(&fed, fed.vodokanal_peer, &sealed).await;
    assert_eq!(status, 200, "{body}\n{}", a.log());
    let (status, error, body) = send_to_peer_at(&fed, b_port, &sealed).await;
    assert_eq!(status, 400, "the other replica refuses the replay: {body}");
    assert_eq!(
        error.as_deref(),
        Some("Server.ServerProxy.InvalidSignatureValue")
    );
    assert!(body.contains("already served"), "{body}");
    assert_eq!(fed.upstream.seen.lock().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_x_road_id_leaves_two_exchanges_that_export_apart() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let core_data = dir.path().join("core");
    let core = start(&fed, &core_data, "gw-core", &[]);
    let vodokanal = start(&fed, &dir.path().join("vodokanal"), "gw-vodokanal", &[]);
    wait_for_peer_listener(&vodokanal);
    let client = fed.registry_client();
    let mut request_ids = Vec::new();
    for account in ["1", "2"] {
        let reply = crate::common::xroad::call(
            &core,
            "GET",
            &fed.balance_path(&format!("/accounts/{account}/balance")),
            &[("X-Road-Client", &client), ("X-Road-Id", "m-reused")],
            "",
        )
        .await;
        assert_eq!(reply.status, 200, "{}\n{}", reply.body, core.log());
        assert_eq!(reply.header("x-road-id"), Some("m-reused"));
        request_ids.push(reply.header("x-road-request-id").unwrap().to_string());
    }
    assert_ne!(
        request_ids[0], request_ids[1],
        "each exchange has its own id"
    );
    let carried: Vec<String> = fed
        .upstream
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|h| h["x-road-request-id"].to_str().unwrap().to_string())
        .collect();
    assert_eq!(
        carried, request_ids,
        "the provider's node and system see the consumer node's request ids"
    );

    let export = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_hromada"))
            .args(["audit", "export", "m-reused"])
            .arg(&fed.root)
            .arg("--data-dir")
            .arg(&core_data)
            .arg("--out")
            .arg(dir.path().join("export.p7m"))
            .args(extra)
            .output()
            .unwrap()
    };
    let merged = export(&[]);
    let said = String::from_utf8_lossy(&merged.stderr);
    assert!(
        !merged.status.success(),
        "two exchanges are not merged into one export"
    );
    assert!(said.contains("2 exchanges"), "{said}");
    for id in &request_ids {
        assert!(said.contains(id.as_str()), "{said}");
    }
    let one = export(&["--request-id", &request_ids[1]]);
    let said = String::from_utf8_lossy(&one.stdout);
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    assert!(said.contains("1 record(s)"), "{said}");
    drop(vodokanal);
}

// ---- Upstream addresses, identifiers in logs, the read APIs' scheme (finding 8, in part) ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_logs_and_read_apis_leak_no_address_identifier_or_scheme_case() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let council = std::fs::read_to_string(fed.root.join("spec/council.kdl")).unwrap();
    let port = regex::Regex::new(r"http://127\.0\.0\.1:(\d+)/register")
        .unwrap()
        .captures(&council)
        .unwrap()[1]
        .to_string();
    fed.edit(
        "spec/council.kdl",
        "description \"Прізвище, ім'я та адреса зареєстрованої особи за РНОКПП\"",
        &format!(
            "description \"Дзеркала: localhost:{port}/register, HTTP://127.0.0.1:{port}/register/, \
             127.0.0.1:{port} та http://[::1]:{port}\""
        ),
    );
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret-token\n").unwrap();
    let core = start(
        &fed,
        &dir.path().join("core"),
        "gw-core",
        &["--api-token-file", token.to_str().unwrap()],
    );

    for page in ["/api/catalogue", "/catalogue"] {
        let (code, body) = core.get(page);
        assert_eq!(code, 200, "{page}: {body}");
        assert!(
            body.contains("Дзеркала"),
            "{page}: the description is shown"
        );
        assert!(
            !body.contains(&format!(":{port}")),
            "{page} shows the upstream: {body}"
        );
        assert!(
            !body.contains("localhost"),
            "{page} shows the upstream: {body}"
        );
    }

    // The water utility's node is down: the warning names the node, not the account asked for.
    let reply = crate::common::xroad::get(
        &core,
        &fed.balance_path("/accounts/3012345678/balance?as_of=3012345678"),
        &fed.registry_client(),
    )
    .await;
    assert_eq!(
        reply.error_type(),
        Some("Server.ClientProxy.NetworkError"),
        "{}",
        reply.body
    );
    let log = core.log();
    assert!(log.contains("cannot be reached"), "{log}");
    assert!(
        !log.contains("3012345678"),
        "a log line carries the subject's id:\n{log}"
    );

    for scheme in ["Bearer", "bearer", "BEARER"] {
        let reply = crate::common::xroad::call(
            &core,
            "GET",
            "/api/operational",
            &[("Authorization", &format!("{scheme} s3cret-token"))],
            "",
        )
        .await;
        assert_eq!(reply.status, 200, "{scheme}: {}", reply.body);
    }
}

#[test]
fn the_docs_site_refuses_an_upstream_address_in_another_spelling() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("federation");
    crate::common::copy_tree(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/federation"),
        &root,
    );
    let docs = |out: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_hromada"))
            .arg("docs")
            .arg(&root)
            .arg("--out")
            .arg(dir.path().join(out))
            .output()
            .unwrap()
    };
    assert!(docs("before").status.success(), "the example builds");
    let council = root.join("spec/council.kdl");
    let text = std::fs::read_to_string(&council).unwrap();
    let quoted = "description \"Прізвище, ім'я та адреса зареєстрованої особи за РНОКПП\"";
    assert!(text.contains(quoted));
    std::fs::write(
        &council,
        text.replace(quoted, "description \"Дзеркало: localhost:9402/register\""),
    )
    .unwrap();
    let built = docs("after");
    let said = String::from_utf8_lossy(&built.stderr);
    assert!(
        !built.status.success(),
        "the site was built with the address"
    );
    assert!(
        said.contains("internal upstream address of council/residents"),
        "{said}"
    );
}
