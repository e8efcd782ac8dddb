//! Who a caller is, replays and the message log's evidence, attacked on the merged gateway:
//! another node answering at a node's address, a node flooding or passing off checkpoints or
//! holding HTTP/2 connections, bodies removed behind `audit verify`'s back. Real `hromada serve`
//! processes and real loopback servers.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, Uri};
use axum_server::tls_rustls::RustlsConfig;
use hromada::store::{Checkpoint, PeerCheckpoint, Store};

use crate::common::appliance::Appliance;
use crate::common::federation::{Federation, free_port};
use crate::common::xroad::{self, start};
use crate::common::{holds_within_30s, hromada};

/// A TLS server holding the certificate and key of node `gw-third`, recording every request it
/// is sent (path and query, headers).
async fn hostile_node(fed: &Federation, port: u16) -> Arc<Mutex<Vec<(String, HeaderMap)>>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = RustlsConfig::from_pem_file(
        fed.root.join("pki/nodes/gw-third.crt"),
        fed.root.join("dev-keys/nodes/gw-third.key"),
    )
    .await
    .unwrap();
    let seen: Arc<Mutex<Vec<(String, HeaderMap)>>> = Arc::default();
    let recorded = seen.clone();
    let app = Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
        let recorded = recorded.clone();
        async move {
            recorded.lock().unwrap().push((uri.to_string(), headers));
            "{}"
        }
    });
    let listen: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    tokio::spawn(axum_server::bind_rustls(listen, config).serve(app.into_make_service()));
    seen
}

/// A third node joins the system (its certificate issued by the system's CA, as the others'),
/// and the traffic meant for `gw-vodokanal` reaches a server holding gw-third's key (a moved
/// address, a poisoned name, a hostile network): gw-core must not hand it a call for the water
/// utility, with its account number and the user's id, because that server is not gw-vodokanal.
#[tokio::test(flavor = "multi_thread")]
async fn a_call_is_forwarded_only_to_the_node_that_serves_the_provider() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let hostile_port = free_port();
    fed.edit(
        "spec/system.kdl",
        &format!(
            "node \"gw-vodokanal\" address=\"https://127.0.0.1:{}\"",
            fed.vodokanal_peer
        ),
        &format!("node \"gw-vodokanal\" address=\"https://127.0.0.1:{hostile_port}\""),
    );
    fed.edit(
        "spec/system.kdl",
        "trust-anchor",
        &format!(
            "node \"gw-third\" address=\"https://127.0.0.1:{}\" cert=\"pki/nodes/gw-third.crt\"\n    trust-anchor",
            free_port()
        ),
    );
    let made = hromada(&["keys".as_ref(), "dev".as_ref(), fed.root.as_os_str()]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let seen = hostile_node(&fed, hostile_port).await;
    let core = start(&fed, &dir.path().join("core"), "gw-core", &[]);

    let reply = xroad::call(
        &core,
        "GET",
        &fed.balance_path("/accounts/120045/balance"),
        &[
            ("X-Road-Client", &fed.registry_client()),
            ("X-Road-UserId", "UA3012345678"),
        ],
        "",
    )
    .await;

    let leaked = seen.lock().unwrap().clone();
    assert!(
        leaked.is_empty(),
        "a server holding gw-third's key received the call meant for gw-vodokanal: {:?}",
        leaked.iter().map(|(uri, _)| uri).collect::<Vec<_>>()
    );
    assert_eq!(reply.status, 502, "{}", reply.body);
    assert_eq!(
        reply.error_type(),
        Some("Server.ClientProxy.NetworkError"),
        "{}",
        reply.body
    );
    let log = core.log();
    assert!(
        log.contains("gw-third") && log.contains("gw-vodokanal"),
        "the log names the node expected and the one that answered:\n{log}"
    );
}

/// A node may send its latest signed checkpoint with every message, but a node that signs a new
/// one for every message (here: fifty garbage requests, each with the next seq, each properly
/// signed by gw-core's key) must not make the other node verify, countersign and store one row
/// per message: what it keeps grows with time, not with the requests sent.
#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_signed_checkpoints_is_not_kept_one_per_message() {
    use hromada::gateway::anchor;
    use hromada::gateway::keys::KeyRing;
    use hromada::store::LogHead;

    let dir = tempfile::tempdir().unwrap();
    let (fed, data, vodokanal) = vodokanal_alone(dir.path()).await;
    let key = KeyRing::new(fed.root.join("dev-keys"))
        .node_key("gw-core")
        .unwrap();
    let client = fed.node_client("gw-core");
    let url = vodokanal_peer_url(&fed);
    const SENT: i64 = 50;
    let started = std::time::Instant::now();
    for seq in 1..=SENT {
        let head = LogHead {
            node: "gw-core".into(),
            seq,
            hash: format!("{seq:064x}"),
        };
        let checkpoint = anchor::sign(&key, &head, chrono::Utc::now()).unwrap();
        let response = client
            .get(&url)
            .header("x-hromada-checkpoint", checkpoint_header(&checkpoint))
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_client_error(),
            "an unsealed request is refused"
        );
    }
    let elapsed = started.elapsed();
    // What was queued is kept shortly; wait until the first copy is there.
    let (store, kept) = kept_of_gw_core(&data).await;
    let kept = kept.len();
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let kept = kept.max(store.peer_checkpoints("gw-core").await.unwrap().len());
    assert!(
        kept >= 1,
        "a checkpoint of gw-core is kept:\n{}",
        vodokanal.log()
    );
    // One a second at most, counted generously over the time the flood took.
    let bound = elapsed.as_secs() as usize + 2;
    assert!(
        kept <= bound,
        "gw-vodokanal kept {kept} of the {SENT} checkpoints sent within {elapsed:?} (at most \
         {bound} expected)"
    );
}

/// The federation with gw-vodokanal alone running, its data folder and the node.
async fn vodokanal_alone(dir: &Path) -> (Federation, PathBuf, Appliance) {
    let fed = Federation::new(dir).await;
    fed.systems_over_http();
    let data = dir.join("vodokanal");
    let vodokanal = start(&fed, &data, "gw-vodokanal", &[]);
    xroad::wait_for_peer_listener(&vodokanal);
    (fed, data, vodokanal)
}

/// A call of gw-vodokanal's balance service at its peer listener.
fn vodokanal_peer_url(fed: &Federation) -> String {
    format!(
        "https://127.0.0.1:{}{}",
        fed.vodokanal_peer,
        fed.balance_path("/accounts/1/balance")
    )
}

/// `checkpoint` as it travels in the `x-hromada-checkpoint` header.
fn checkpoint_header(checkpoint: &Checkpoint) -> String {
    openssl::base64::encode_block(&serde_json::to_vec(checkpoint).unwrap())
}

/// The store in `data` and the copies of gw-core's checkpoints it keeps, once there is one (or
/// 30 s have passed).
async fn kept_of_gw_core(data: &Path) -> (Store, Vec<PeerCheckpoint>) {
    let store = Store::connect(&Store::sqlite_url(&data.join("hromada.db")))
        .await
        .unwrap();
    holds_within_30s(|| async { !store.peer_checkpoints("gw-core").await.unwrap().is_empty() })
        .await;
    let kept = store.peer_checkpoints("gw-core").await.unwrap();
    (store, kept)
}

/// `hromada audit verify ROOT --data-dir DATA`: its exit code and what it printed.
fn audit_verify(fed: &Federation, data: &Path) -> (Option<i32>, String) {
    let out = hromada(&[
        "audit".as_ref(),
        "verify".as_ref(),
        fed.root.as_os_str(),
        "--data-dir".as_ref(),
        data.as_os_str(),
    ]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

async fn on_sqlite(data: &Path, sql: &str) {
    let url = format!("sqlite://{}", data.join("hromada.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query(sql).execute(&pool).await.unwrap();
    pool.close().await;
}

/// The bodies of a record may leave the log only by retention: removing those of a recent record
/// (the answer about a person, say), with or without marking them disposed of, leaves the chain's
/// hashes intact, and `audit verify` must still name the record and say what is gone.
#[tokio::test(flavor = "multi_thread")]
async fn bodies_removed_outside_retention_are_named_by_audit_verify() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let data = dir.path().join("core");
    let core = start(&fed, &data, "gw-core", &[]);
    for id in ["2900000001", "2900000002", "2900000003"] {
        let reply = xroad::get(
            &core,
            &fed.residents_path(&format!("/persons/{id}")),
            &fed.registry_client(),
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    core.stop();
    let store = Store::connect(&Store::sqlite_url(&data.join("hromada.db")))
        .await
        .unwrap();
    let records = store.message_log("gw-core", 0, 100).await.unwrap();
    store.close().await;
    assert_eq!(records.len(), 3);
    assert!(
        records.iter().all(|r| r.bodies.is_some()),
        "the spec keeps bodies for 3 years"
    );
    let (code, out) = audit_verify(&fed, &data);
    assert_eq!(code, Some(0), "{out}");

    on_sqlite(
        &data,
        "UPDATE message_log SET bodies = NULL WHERE node = 'gw-core' AND seq = 2",
    )
    .await;
    let (code, out) = audit_verify(&fed, &data);
    assert_eq!(
        code,
        Some(1),
        "bodies removed without a disposal pass: {out}"
    );
    assert!(
        out.contains("bodies of record 2") && out.contains("no disposal"),
        "{out}"
    );

    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    on_sqlite(
        &data,
        &format!("UPDATE message_log SET disposed_at = '{now}' WHERE node = 'gw-core' AND seq = 2"),
    )
    .await;
    let (code, out) = audit_verify(&fed, &data);
    assert_eq!(
        code,
        Some(1),
        "bodies marked disposed of a day early pass: {out}"
    );
    assert!(
        out.contains("bodies of record 2") && out.contains("`message-log`") && out.contains("3y"),
        "the verdict names the retention rule that keeps them: {out}"
    );

    // Nor does a disposal hide other bodies put in their place: their digest is hashed.
    on_sqlite(
        &data,
        r#"UPDATE message_log SET bodies = '{"response_body":"e30="}' WHERE node = 'gw-core' AND seq = 2"#,
    )
    .await;
    let (code, out) = audit_verify(&fed, &data);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("record 2 (message id ") && out.contains("was altered"),
        "{out}"
    );
}

/// Sends gw-core's next message to gw-vodokanal's peer listener carrying `checkpoint`, once the
/// interval in which gw-vodokanal looks at one new checkpoint header of a node has passed.
async fn send_checkpoint(fed: &Federation, checkpoint: &Checkpoint) {
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    fed.node_client("gw-core")
        .get(vodokanal_peer_url(fed))
        .header("x-hromada-checkpoint", checkpoint_header(checkpoint))
        .send()
        .await
        .unwrap();
}

/// A node countersigns and keeps only the sender's own checkpoints, signed by the sender's key:
/// gw-core passing off a checkpoint of gw-vodokanal's own chain, or one of its own chain signed
/// by another key, is refused and nothing is kept; its genuine one is kept.
#[tokio::test(flavor = "multi_thread")]
async fn a_node_keeps_only_the_senders_own_checkpoints_under_its_key() {
    use hromada::gateway::anchor;
    use hromada::gateway::keys::KeyRing;
    use hromada::store::LogHead;

    let dir = tempfile::tempdir().unwrap();
    let (fed, data, vodokanal) = vodokanal_alone(dir.path()).await;
    let keys = KeyRing::new(fed.root.join("dev-keys"));
    let (core_key, vodokanal_key) = (
        keys.node_key("gw-core").unwrap(),
        keys.node_key("gw-vodokanal").unwrap(),
    );
    let head = |node: &str, seq: i64| LogHead {
        node: node.into(),
        seq,
        hash: "ab".repeat(32),
    };
    let now = chrono::Utc::now;

    let about_the_receiver = anchor::sign(&core_key, &head("gw-vodokanal", 7), now()).unwrap();
    send_checkpoint(&fed, &about_the_receiver).await;
    let under_another_key = anchor::sign(&vodokanal_key, &head("gw-core", 8), now()).unwrap();
    send_checkpoint(&fed, &under_another_key).await;
    let genuine = anchor::sign(&core_key, &head("gw-core", 9), now()).unwrap();
    send_checkpoint(&fed, &genuine).await;

    let (store, kept) = kept_of_gw_core(&data).await;
    let seqs: Vec<i64> = kept.iter().map(|k| k.checkpoint.seq).collect();
    assert_eq!(
        seqs,
        [9],
        "only the genuine checkpoint is kept\n{}",
        vodokanal.log()
    );
    assert!(
        store
            .peer_checkpoints("gw-vodokanal")
            .await
            .unwrap()
            .is_empty(),
        "gw-core cannot vouch for gw-vodokanal's own chain"
    );
    let log = vodokanal.log();
    assert!(
        log.contains("the checkpoint 7 node `gw-core` sent is not kept: it is a checkpoint of node `gw-vodokanal`"),
        "{log}"
    );
    assert!(
        log.contains("the checkpoint 8 node `gw-core` sent is not kept"),
        "{log}"
    );
    let (_, metrics) = vodokanal.get("/metrics");
    assert!(
        metrics.contains("hromada_peer_checkpoints_total{outcome=\"refused\"} 2"),
        "{metrics}"
    );
}

/// What gw-core, offering `alpn`, is answered by gw-vodokanal's peer listener after the HTTP/2
/// preface and an empty SETTINGS frame: the protocol agreed, and the bytes until the server
/// closes (or 30 s).
fn http2_to_the_peer_listener(fed: &Federation, alpn: &[&[u8]]) -> (Option<Vec<u8>>, Vec<u8>) {
    use std::io::{Read, Write};

    let mut config = fed.node_tls("gw-core");
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let connection = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let socket = std::net::TcpStream::connect(("127.0.0.1", fed.vodokanal_peer)).unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut tls = rustls::StreamOwned::new(connection, socket);
    let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";
    if tls.write_all(preface).is_err() {
        // The handshake failed: no protocol in common.
        return (None, Vec::new());
    }
    let alpn = tls.conn.alpn_protocol().map(<[u8]>::to_vec);
    let mut said = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tls.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => said.extend_from_slice(&buffer[..n]),
        }
    }
    (alpn, said)
}

/// Only nodes reach the peer listener, but one hostile node must not hold its connections open
/// without bound: HTTP/2 answers pings and keeps idle connections beyond the header deadline
/// (as on the systems' listener), and the nodes' own client speaks HTTP/1.1 only.
#[tokio::test(flavor = "multi_thread")]
async fn the_peer_listener_speaks_http1_only() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let vodokanal = start(&fed, &dir.path().join("vodokanal"), "gw-vodokanal", &[]);
    xroad::wait_for_peer_listener(&vodokanal);
    let fed = Arc::new(fed);
    // Asked for in ALPN, and with prior knowledge (no ALPN at all).
    const H2: &[&[u8]] = &[b"h2"];
    for offered in [H2, &[]] {
        let asked = fed.clone();
        let (alpn, said) =
            tokio::task::spawn_blocking(move || http2_to_the_peer_listener(&asked, offered))
                .await
                .unwrap();
        assert_ne!(
            alpn.as_deref(),
            Some(&b"h2"[..]),
            "the peer listener agreed to HTTP/2"
        );
        let settings = said.get(3) == Some(&4) && said.starts_with(&[0, 0]);
        assert!(
            !settings,
            "the peer listener spoke HTTP/2 ({offered:?} offered): {said:?}"
        );
    }
}
