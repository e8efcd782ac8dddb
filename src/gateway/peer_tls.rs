//! Mutually authenticated TLS between gateway nodes (rustls, ring): a node's identity from its PEM
//! certificate and key, server and client configurations that accept only peers chained to the
//! spec's trust anchors, and the peer listener that hands every request the peer's certificate.
//! A peer connection never completes without a client certificate the anchors vouch for.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_server::Handle;
use axum_server::tls::TlsInfo;
use axum_server::tls_rustls::RustlsConfig;
use chrono::Utc;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::connections::ConnectionLimits;
use crate::crypto::certs::{self, Validity, chains_to, key_description, name_line};
use crate::identity::NodeCertificates;

/// What to do about a node certificate or key, in development.
const DEV_HINT: &str = "`hromada keys dev` makes the development ones";

/// The DER leaf certificate the peer presented on this connection; the peer listener puts it
/// into every request's extensions (`Option<Extension<PeerCertificate>>` in a handler).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerCertificate(pub Arc<[u8]>);

/// A gateway node's TLS identity: its certificate (leaf first, then any intermediates) and the
/// ECDSA P-256 private key the leaf was issued for, checked to belong together and to be valid now.
pub struct NodeIdentity {
    leaf: X509,
    intermediates: Vec<X509>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivatePkcs8KeyDer<'static>,
    /// Where the certificate came from, for messages: a file path or "the node certificate".
    cert_source: String,
}

impl fmt::Debug for NodeIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeIdentity")
            .field("subject", &name_line(self.leaf.subject_name()))
            .field("certificate", &self.cert_source)
            .finish_non_exhaustive()
    }
}

impl Clone for NodeIdentity {
    fn clone(&self) -> Self {
        NodeIdentity {
            leaf: self.leaf.clone(),
            intermediates: self.intermediates.clone(),
            chain: self.chain.clone(),
            key: self.key.clone_key(),
            cert_source: self.cert_source.clone(),
        }
    }
}

impl NodeIdentity {
    /// Reads an identity from PEM text: `cert` holds the leaf first and may go on with its
    /// intermediates; `key` is the leaf's EC P-256 key, PKCS#8 (`BEGIN PRIVATE KEY`) or SEC1
    /// (`BEGIN EC PRIVATE KEY`).
    pub fn from_pem(cert: &[u8], key: &[u8]) -> Result<NodeIdentity, String> {
        Self::read(cert, key, "the node certificate", "the node key")
    }

    /// Reads an identity from a certificate file and a key file; messages name the files.
    pub fn from_files(cert: &Path, key: &Path) -> Result<NodeIdentity, String> {
        let read = |path: &Path, what: &str| {
            std::fs::read(path).map_err(|e| {
                format!(
                    "cannot read the node {what} {}: {e}; {DEV_HINT}",
                    path.display()
                )
            })
        };
        let (cert_pem, key_pem) = (read(cert, "certificate")?, read(key, "key")?);
        Self::read(
            &cert_pem,
            &key_pem,
            &cert.display().to_string(),
            &key.display().to_string(),
        )
    }

    fn read(
        cert: &[u8],
        key: &[u8],
        cert_source: &str,
        key_source: &str,
    ) -> Result<NodeIdentity, String> {
        let mut certs = certs::parse_certificates(cert)
            .map_err(|e| format!("{cert_source}: {e}; {DEV_HINT}"))?;
        let leaf = certs.remove(0);
        let key = PKey::private_key_from_pem(key).map_err(|e| {
            format!(
                "{key_source}: not a PEM private key (PKCS#8 `BEGIN PRIVATE KEY` or SEC1 \
                 `BEGIN EC PRIVATE KEY` expected): {e}"
            )
        })?;
        if !is_p256_key(&key) {
            return Err(format!(
                "{key_source}: gateway node keys are ECDSA P-256, this is another kind of key; {DEV_HINT}"
            ));
        }
        if !certs::is_p256(&leaf) {
            return Err(format!(
                "{cert_source}: the certificate's key is {}, gateway node certificates are ECDSA P-256; {DEV_HINT}",
                key_description(&leaf)
            ));
        }
        let leaf_key = leaf.public_key().map_err(|e| {
            format!("{cert_source}: the certificate's public key is unreadable: {e}")
        })?;
        if !leaf_key.public_eq(&key) {
            return Err(format!(
                "{key_source} is not the key of the certificate {cert_source} ({}): use the key \
                 the certificate was issued for, or issue the certificate again for this key; \
                 {DEV_HINT}",
                name_line(leaf.subject_name())
            ));
        }
        let pkcs8 = key
            .private_key_to_pkcs8()
            .map_err(|e| format!("{key_source}: the key cannot be re-encoded as PKCS#8: {e}"))?;
        let mut chain = Vec::with_capacity(certs.len() + 1);
        for c in std::iter::once(&leaf).chain(&certs) {
            let der = c
                .to_der()
                .map_err(|e| format!("{cert_source}: a certificate cannot be encoded: {e}"))?;
            chain.push(CertificateDer::from(der));
        }
        let identity = NodeIdentity {
            leaf,
            intermediates: certs,
            chain,
            key: PrivatePkcs8KeyDer::from(pkcs8),
            cert_source: cert_source.to_string(),
        };
        identity.check_current()?;
        Ok(identity)
    }

    /// The leaf certificate.
    pub fn certificate(&self) -> &X509 {
        &self.leaf
    }

    /// The leaf certificate, DER-encoded, as peers see it.
    pub fn certificate_der(&self) -> &[u8] {
        self.chain[0].as_ref()
    }

    fn check_current(&self) -> Result<(), String> {
        let validity = Validity::of(&self.leaf);
        let now = Utc::now();
        if validity.not_after < now {
            return Err(format!(
                "{}: the certificate expired on {}; renew it ({DEV_HINT})",
                self.cert_source,
                validity.not_after.format("%Y-%m-%d %H:%M UTC")
            ));
        }
        if validity.not_before > now {
            return Err(format!(
                "{}: the certificate is not valid before {}; check this machine's clock or the \
                 certificate's dates",
                self.cert_source,
                validity.not_before.format("%Y-%m-%d %H:%M UTC")
            ));
        }
        Ok(())
    }

    /// Whether this identity chains to the anchors, so peers trusting them will accept it.
    fn check_chains(&self, anchors: &[X509]) -> Result<(), String> {
        chains_to(&self.leaf, &self.intermediates, anchors).map_err(|why| {
            format!(
                "{} ({}) does not chain to any trust anchor of the spec ({why}): peers would \
                 refuse this node; issue it from the CA of a `trust-anchor` ({DEV_HINT})",
                self.cert_source,
                name_line(self.leaf.subject_name())
            )
        })
    }

    fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key.clone_key())
    }
}

fn is_p256_key(key: &PKey<Private>) -> bool {
    key.ec_key()
        .is_ok_and(|k| k.group().curve_name() == Some(Nid::X9_62_PRIME256V1))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn root_store(anchors: &[X509]) -> Result<Arc<RootCertStore>, String> {
    if anchors.is_empty() {
        return Err(
            "no trust anchors to verify peer nodes against: the spec's `system` needs a \
             `trust-anchor` naming the CA certificate"
                .into(),
        );
    }
    let mut roots = RootCertStore::empty();
    for anchor in anchors {
        let der = anchor.to_der().map_err(|e| {
            format!(
                "trust anchor {} cannot be encoded: {e}",
                name_line(anchor.subject_name())
            )
        })?;
        roots.add(CertificateDer::from(der)).map_err(|e| {
            format!(
                "trust anchor {} cannot be used to verify peers: {e}",
                name_line(anchor.subject_name())
            )
        })?;
    }
    Ok(Arc::new(roots))
}

/// The peer listener's configuration: serves `identity`, requires every client to present a
/// certificate chained to `anchors`, TLS 1.3 only, ALPN `http/1.1` only (the nodes' client speaks
/// nothing else, and an HTTP/2 connection answering pings would stay open beyond every bound).
pub fn server_config(
    identity: &NodeIdentity,
    anchors: &[X509],
) -> Result<Arc<rustls::ServerConfig>, String> {
    identity.check_current()?;
    identity.check_chains(anchors)?;
    let provider = provider();
    let verifier =
        WebPkiClientVerifier::builder_with_provider(root_store(anchors)?, provider.clone())
            .build()
            .map_err(|e| {
                format!("cannot verify client certificates against the trust anchors: {e}")
            })?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| format!("TLS 1.3 is not available: {e}"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(identity.chain.clone(), identity.key_der())
        .map_err(|e| format!("{} cannot serve TLS: {e}", identity.cert_source))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The configuration for calling other nodes: presents `identity` and accepts only servers whose
/// certificate chains to `anchors` and names the host being called (the dev certificates carry
/// IP addresses such as 127.0.0.1). TLS 1.3 only, ALPN `http/1.1`. Pass it to
/// `reqwest::ClientBuilder::use_preconfigured_tls`.
pub fn client_config(
    identity: &NodeIdentity,
    anchors: &[X509],
) -> Result<rustls::ClientConfig, String> {
    identity.check_current()?;
    identity.check_chains(anchors)?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| format!("TLS 1.3 is not available: {e}"))?
        .with_root_certificates(root_store(anchors)?)
        .with_client_auth_cert(identity.chain.clone(), identity.key_der())
        .map_err(|e| format!("{} cannot be presented to peers: {e}", identity.cert_source))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// [`client_config`] for calling node `node` only: the server must also present that node's
/// certificate (as `nodes` of the revision tell it), not merely one chained to `anchors` for
/// the host, which every other node's certificate is as well.
pub fn node_client_config(
    identity: &NodeIdentity,
    anchors: &[X509],
    node: &str,
    nodes: Arc<NodeCertificates>,
) -> Result<rustls::ClientConfig, String> {
    let mut config = client_config(identity, anchors)?;
    let webpki = WebPkiServerVerifier::builder_with_provider(root_store(anchors)?, provider())
        .build()
        .map_err(|e| format!("cannot verify peer certificates against the trust anchors: {e}"))?;
    config
        .dangerous()
        .set_certificate_verifier(Arc::new(TheNode {
            webpki,
            node: node.to_string(),
            nodes,
        }));
    Ok(config)
}

/// A server certificate verifier that accepts only the certificate of one node.
#[derive(Debug)]
struct TheNode {
    webpki: Arc<WebPkiServerVerifier>,
    node: String,
    nodes: Arc<NodeCertificates>,
}

impl ServerCertVerifier for TheNode {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        let node = &self.node;
        match self.nodes.node_of(end_entity.as_ref()) {
            Some(presented) if presented == *node => Ok(verified),
            Some(other) => Err(rustls::Error::General(format!(
                "the server at the address of node `{node}` presented the certificate of node \
                 `{other}`, so the call is not sent; check the address the spec gives `{node}` \
                 and the network between the nodes"
            ))),
            None => Err(rustls::Error::General(format!(
                "the server at the address of node `{node}` presented a certificate the spec gives \
                 no node, so the call is not sent; check the address the spec gives `{node}` and \
                 that it runs with the certificate the spec names"
            ))),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// Serves `app` on `listen` to peer nodes until `handle` shuts it down. Every request carries
/// the client's leaf certificate as a [`PeerCertificate`] extension. `config` comes from
/// `RustlsConfig::from_config(server_config(..)?)`; keep a clone and call `reload_from_config`
/// when a revision changes the anchors or this node's certificate: connections made after the
/// reload use the new configuration, open ones keep theirs.
pub async fn serve_peer(
    listen: SocketAddr,
    config: RustlsConfig,
    app: Router,
    handle: Handle<SocketAddr>,
) -> Result<(), String> {
    serve_peer_bounded(listen, config, app, handle, ConnectionLimits::default()).await
}

/// [`serve_peer`] within `limits` (connections open at once, handshake and header deadlines).
pub async fn serve_peer_bounded(
    listen: SocketAddr,
    config: RustlsConfig,
    app: Router,
    handle: Handle<SocketAddr>,
    limits: ConnectionLimits,
) -> Result<(), String> {
    let app = app.layer(axum::middleware::from_fn(attach_peer_certificate));
    let server = axum_server::bind_rustls(listen, config)
        .http1_only()
        .map(|tls| tls.handshake_timeout(limits.header_timeout));
    limits
        .apply(server, "peers")
        .handle(handle)
        .serve(app.into_make_service_with_connect_info::<SocketAddr>())
        .await
        .map_err(|e| format!("cannot serve peer nodes on {listen}: {e}"))
}

/// Copies the leaf certificate the TLS handshake verified (axum-server's `TlsInfo`, filled from
/// rustls' `peer_certificates()` once the handshake is done) into a [`PeerCertificate`].
async fn attach_peer_certificate(mut request: Request, next: Next) -> Response {
    match presented_certificate(&request) {
        Some(leaf) => {
            request.extensions_mut().insert(leaf);
            next.run(request).await
        }
        // Unreachable with `server_config`, which refuses the handshake without a certificate.
        None => (
            StatusCode::FORBIDDEN,
            "this listener serves only gateway nodes presenting a client certificate",
        )
            .into_response(),
    }
}

/// The leaf certificate the client presented in the TLS handshake of `request`'s connection,
/// when it came over TLS with one.
pub fn presented_certificate<B>(request: &axum::http::Request<B>) -> Option<PeerCertificate> {
    request
        .extensions()
        .get::<Arc<TlsInfo>>()
        .and_then(|info| info.peer_certificates.first())
        .map(|der| PeerCertificate(Arc::from(der.as_slice())))
}
