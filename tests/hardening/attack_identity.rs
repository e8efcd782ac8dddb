//! Who a caller is, replays and the message log's evidence, attacked on the merged gateway:
//! another node answering at a node's address, and records whose evidence is removed behind
//! `audit verify`'s back. Real `hromada serve` processes and real loopback servers.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, Uri};
use axum_server::tls_rustls::RustlsConfig;

use crate::common::federation::{Federation, free_port};
use crate::common::xroad::{self, start};

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
    let made = std::process::Command::new(env!("CARGO_BIN_EXE_hromada"))
        .args(["keys", "dev"])
        .arg(&fed.root)
        .output()
        .unwrap();
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
