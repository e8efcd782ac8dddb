//! Mutual TLS between gateway nodes on real loopback sockets: only clients with a certificate from
//! a trust anchor get through (and the handler sees which one), clients refuse servers from other
//! CAs, a reload swaps the server's identity and anchors, and bad identities are refused clearly.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::routing::get;
use axum::{Extension, Router};
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use hromada::crypto::dev_ca::{Issued, ca_name, issue, new_key, self_signed_ca, validity_from_now};
use hromada::crypto::{LeafProfile, LeafRequest, Validity};
use hromada::gateway::peer_tls::{
    NodeIdentity, PeerCertificate, client_config, serve_peer, server_config,
};
use hromada::identity::NodeCertificates;
use openssl::x509::X509;

fn ca(name: &str) -> Issued {
    let name = ca_name(name, "Тестова рада").unwrap();
    self_signed_ca(new_key().unwrap(), &name, &validity_from_now(30)).unwrap()
}

fn tls_request(node: &str, validity: Validity) -> LeafRequest {
    LeafRequest {
        common_name: node.into(),
        organisation: "Тестова рада".into(),
        profile: LeafProfile::Tls {
            dns: vec!["localhost".into()],
            ips: vec!["127.0.0.1".parse().unwrap()],
        },
        validity,
    }
}

/// A node's certificate and key as PEM, issued by `ca`.
fn node_pem(ca: &Issued, node: &str) -> (Vec<u8>, Vec<u8>) {
    let key = new_key().unwrap();
    let cert = issue(ca, &tls_request(node, validity_from_now(30)), &key).unwrap();
    (
        cert.to_pem().unwrap(),
        key.private_key_to_pem_pkcs8().unwrap(),
    )
}

fn node(ca: &Issued, node: &str) -> NodeIdentity {
    let (cert, key) = node_pem(ca, node);
    NodeIdentity::from_pem(&cert, &key).unwrap()
}

/// A running peer listener whose one route answers with the length and first bytes of the peer
/// certificate it was handed, counting the requests that reached it.
struct Peer {
    addr: SocketAddr,
    config: RustlsConfig,
    reached: Arc<AtomicUsize>,
    handle: Handle<SocketAddr>,
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

async fn start_peer(identity: &NodeIdentity, anchors: &[X509]) -> Peer {
    let config = RustlsConfig::from_config(server_config(identity, anchors).unwrap());
    let reached = Arc::new(AtomicUsize::new(0));
    let counter = reached.clone();
    let app = Router::new().route(
        "/who",
        get(move |peer: Option<Extension<PeerCertificate>>| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move {
                match peer {
                    Some(Extension(PeerCertificate(der))) => hex(&der),
                    None => "none".to_string(),
                }
            }
        }),
    );
    let handle = Handle::new();
    tokio::spawn(serve_peer(
        "127.0.0.1:0".parse().unwrap(),
        config.clone(),
        app,
        handle.clone(),
    ));
    let addr = handle.listening().await.expect("the peer listener binds");
    Peer {
        addr,
        config,
        reached,
        handle,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn client(tls: rustls::ClientConfig) -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .build()
        .unwrap()
}

async fn who(client: &reqwest::Client, peer: &Peer) -> Result<String, String> {
    let url = format!("https://127.0.0.1:{}/who", peer.addr.port());
    let response = client.get(url).send().await.map_err(chain)?;
    assert_eq!(response.status(), 200);
    response.text().await.map_err(chain)
}

/// An error with all its causes, where rustls says why a handshake failed.
fn chain(e: reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

#[tokio::test]
async fn a_node_from_the_anchor_ca_connects_and_the_handler_sees_its_certificate() {
    let ca = ca("dev CA");
    let anchors = [ca.cert.clone()];
    let (server, caller) = (node(&ca, "gw-core"), node(&ca, "gw-local"));
    let peer = start_peer(&server, &anchors).await;

    let seen = who(&client(client_config(&caller, &anchors).unwrap()), &peer)
        .await
        .unwrap();
    assert_eq!(seen, hex(caller.certificate_der()));

    let nodes = [
        ("gw-core".to_string(), server.certificate().clone()),
        ("gw-local".to_string(), caller.certificate().clone()),
    ];
    assert_eq!(
        node_of(caller.certificate_der(), &nodes).as_deref(),
        Some("gw-local")
    );
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused() {
    let ca = ca("dev CA");
    let anchors = [ca.cert.clone()];
    let peer = start_peer(&node(&ca, "gw-core"), &anchors).await;

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(
            ca.cert.to_der().unwrap(),
        ))
        .unwrap();
    let anonymous = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();

    let refused = who(&client(anonymous), &peer).await.unwrap_err();
    assert!(refused.contains("CertificateRequired"), "{refused}");
    assert_eq!(peer.reached.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_client_from_another_ca_is_refused() {
    let (ca, other) = (ca("dev CA"), ca("other CA"));
    let peer = start_peer(&node(&ca, "gw-core"), std::slice::from_ref(&ca.cert)).await;

    // The stranger trusts the server's CA, so only the server can be the one refusing.
    let stranger = node(&other, "gw-stranger");
    let tls = client_config(&stranger, &[other.cert.clone(), ca.cert.clone()]).unwrap();
    let refused = who(&client(tls), &peer).await.unwrap_err();
    assert!(refused.contains("UnknownCA"), "{refused}");
    assert_eq!(peer.reached.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_client_refuses_a_server_from_another_ca() {
    let (ca, other) = (ca("dev CA"), ca("other CA"));
    // The server would accept the caller; the caller does not trust the server's CA.
    let peer = start_peer(
        &node(&other, "gw-impostor"),
        &[other.cert.clone(), ca.cert.clone()],
    )
    .await;

    let caller = node(&ca, "gw-local");
    let refused = who(
        &client(client_config(&caller, std::slice::from_ref(&ca.cert)).unwrap()),
        &peer,
    )
    .await
    .unwrap_err();
    assert!(refused.contains("UnknownIssuer"), "{refused}");
    assert_eq!(peer.reached.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_reload_swaps_the_server_identity_and_anchors() {
    let (old, new) = (ca("old CA"), ca("new CA"));
    let peer = start_peer(&node(&old, "gw-core"), std::slice::from_ref(&old.cert)).await;
    let old_caller = node(&old, "gw-local");
    let new_caller = node(&new, "gw-local");
    let old_client =
        || client(client_config(&old_caller, std::slice::from_ref(&old.cert)).unwrap());
    let new_client =
        || client(client_config(&new_caller, std::slice::from_ref(&new.cert)).unwrap());

    assert!(who(&old_client(), &peer).await.is_ok());
    assert!(who(&new_client(), &peer).await.is_err());

    let reloaded = server_config(&node(&new, "gw-core"), std::slice::from_ref(&new.cert)).unwrap();
    peer.config.reload_from_config(reloaded);

    assert_eq!(
        who(&new_client(), &peer).await.unwrap(),
        hex(new_caller.certificate_der())
    );
    assert!(who(&old_client(), &peer).await.is_err());
}

#[test]
fn a_key_that_is_not_the_certificates_is_named_with_both_files() {
    let ca = ca("dev CA");
    let (cert, _) = node_pem(&ca, "gw-core");
    let (_, other_key) = node_pem(&ca, "gw-core");
    let err = NodeIdentity::from_pem(&cert, &other_key).unwrap_err();
    assert!(err.contains("is not the key of the certificate"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (
        dir.path().join("gw-core.crt"),
        dir.path().join("gw-core.key"),
    );
    std::fs::write(&cert_path, &cert).unwrap();
    std::fs::write(&key_path, &other_key).unwrap();
    let err = NodeIdentity::from_files(&cert_path, &key_path).unwrap_err();
    assert!(err.contains(&cert_path.display().to_string()), "{err}");
    assert!(err.contains(&key_path.display().to_string()), "{err}");
    assert!(err.contains("hromada keys dev"), "{err}");
}

#[test]
fn a_missing_or_garbled_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (
        dir.path().join("gw-core.crt"),
        dir.path().join("gw-core.key"),
    );
    let err = NodeIdentity::from_files(&cert_path, &key_path).unwrap_err();
    assert!(err.contains(&cert_path.display().to_string()), "{err}");

    let (cert, _) = node_pem(&ca("dev CA"), "gw-core");
    std::fs::write(&cert_path, &cert).unwrap();
    std::fs::write(&key_path, b"not a key").unwrap();
    let err = NodeIdentity::from_files(&cert_path, &key_path).unwrap_err();
    assert!(err.contains(&key_path.display().to_string()), "{err}");
    assert!(err.contains("not a PEM private key"), "{err}");
}

#[test]
fn an_expired_certificate_is_refused_with_its_date() {
    let ca = ca("dev CA");
    let key = new_key().unwrap();
    let past = Validity {
        not_before: chrono::Utc::now() - chrono::Duration::days(40),
        not_after: chrono::Utc::now() - chrono::Duration::days(10),
    };
    let cert = issue(&ca, &tls_request("gw-core", past), &key).unwrap();
    let err = NodeIdentity::from_pem(
        &cert.to_pem().unwrap(),
        &key.private_key_to_pem_pkcs8().unwrap(),
    )
    .unwrap_err();
    assert!(err.contains("expired on"), "{err}");
    assert!(
        err.contains(&past.not_after.format("%Y-%m-%d").to_string()),
        "{err}"
    );
}

#[test]
fn a_sec1_key_and_a_certificate_chain_are_read() {
    let ca = ca("dev CA");
    let key = new_key().unwrap();
    let cert = issue(&ca, &tls_request("gw-core", validity_from_now(30)), &key).unwrap();
    let sec1 = key.ec_key().unwrap().private_key_to_pem().unwrap();
    assert!(String::from_utf8_lossy(&sec1).contains("BEGIN EC PRIVATE KEY"));
    let mut chain = cert.to_pem().unwrap();
    chain.extend(ca.cert.to_pem().unwrap());
    let identity = NodeIdentity::from_pem(&chain, &sec1).unwrap();
    assert_eq!(
        identity.certificate_der(),
        cert.to_der().unwrap().as_slice()
    );
}

#[test]
fn a_non_p256_key_is_refused() {
    let rsa = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    let (cert, _) = node_pem(&ca("dev CA"), "gw-core");
    let err = NodeIdentity::from_pem(&cert, &rsa.private_key_to_pem_pkcs8().unwrap()).unwrap_err();
    assert!(err.contains("P-256"), "{err}");
}

#[test]
fn an_identity_from_another_ca_or_no_anchors_makes_no_config() {
    let (ca, other) = (ca("dev CA"), ca("other CA"));
    let identity = node(&other, "gw-core");
    let err = server_config(&identity, std::slice::from_ref(&ca.cert)).unwrap_err();
    assert!(err.contains("does not chain to any trust anchor"), "{err}");
    let err = client_config(&identity, std::slice::from_ref(&ca.cert)).unwrap_err();
    assert!(err.contains("does not chain to any trust anchor"), "{err}");
    let err = server_config(&identity, &[]).unwrap_err();
    assert!(err.contains("trust-anchor"), "{err}");
}

/// Which of `nodes` presented `der`, as a revision's [`NodeCertificates`] tells.
fn node_of(der: &[u8], nodes: &[(String, X509)]) -> Option<String> {
    NodeCertificates::new(nodes).node_of(der)
}

#[test]
fn node_of_matches_the_exact_certificate_or_else_one_node_with_the_same_key() {
    let ca = ca("dev CA");
    let key = new_key().unwrap();
    let request = tls_request("gw-core", validity_from_now(30));
    let current = issue(&ca, &request, &key).unwrap();
    let renewed = issue(&ca, &request, &key).unwrap();
    let local = node(&ca, "gw-local");
    let mut nodes = vec![
        ("gw-core".to_string(), current.clone()),
        ("gw-local".to_string(), local.certificate().clone()),
    ];

    let der = |c: &X509| c.to_der().unwrap();
    assert_eq!(node_of(&der(&current), &nodes).as_deref(), Some("gw-core"));
    assert_eq!(node_of(&der(&renewed), &nodes).as_deref(), Some("gw-core"));
    assert_eq!(
        node_of(node(&ca, "gw-stranger").certificate_der(), &nodes),
        None
    );
    assert_eq!(node_of(b"not a certificate", &nodes), None);

    // Two nodes on one key: only the exact certificate tells them apart.
    nodes.push(("gw-twin".to_string(), renewed.clone()));
    assert_eq!(node_of(&der(&renewed), &nodes).as_deref(), Some("gw-twin"));
    let third = issue(&ca, &request, &key).unwrap();
    assert_eq!(node_of(&der(&third), &nodes), None);
}

#[tokio::test]
async fn the_files_of_keys_dev_serve_and_call_each_other() {
    let tree = tempfile::tempdir().unwrap();
    for folder in ["spec", "policies"] {
        common::copy_tree(&common::minimal().join(folder), &tree.path().join(folder));
    }
    let made = std::process::Command::new(env!("CARGO_BIN_EXE_hromada"))
        .args(["keys", "dev"])
        .arg(tree.path())
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let root = tree.path();
    let identity = NodeIdentity::from_files(
        &root.join("pki/nodes/gw-core.crt"),
        &root.join("dev-keys/nodes/gw-core.key"),
    )
    .unwrap();
    let anchors = hromada::crypto::read_certificates(&root.join("pki/ca.crt")).unwrap();

    let peer = start_peer(&identity, &anchors).await;
    let seen = who(&client(client_config(&identity, &anchors).unwrap()), &peer)
        .await
        .unwrap();
    assert_eq!(seen, hex(identity.certificate_der()));
}
