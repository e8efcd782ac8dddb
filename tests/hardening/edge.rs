//! The node's edge under attack (issue 11, findings 5, 6, 7, 8, 11): slow and idle clients,
//! request targets and headers the upstream would read differently from the gateway, metrics
//! labels a client chooses, replayed seals and reused message ids, upstream addresses in
//! other spellings and identifiers in log lines.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::appliance::Appliance;

/// The longest any bound under test may take to act before the test fails.
const PATIENCE: Duration = Duration::from_secs(30);

/// Starts `hromada serve` on a copy of `examples/minimal` with `extra` options.
fn minimal_node(dir: &std::path::Path, extra: &[&str]) -> Appliance {
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
async fn connections_beyond_the_cap_are_closed_and_slots_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let node = minimal_node(
        dir.path(),
        &["--header-timeout", "3s", "--max-connections", "3"],
    );
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(&node.address).await.unwrap());
    }
    // Give the server the time to accept the three before the fourth arrives.
    tokio::time::sleep(Duration::from_millis(300)).await;
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
                return String::from_utf8_lossy(&buf[..n]).into_owned();
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
