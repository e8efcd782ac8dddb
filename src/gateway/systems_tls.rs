//! TLS of the listener for information systems: it asks every client for a certificate but lets
//! one without connect (health probes, the catalogue). A certificate presented is only proven to
//! be held by the caller here; the gateway compares it with those the spec pins for a subsystem.

use std::sync::Arc;

use rustls::DistinguishedName;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{
    CryptoProvider, WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature,
};
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, Error, ServerConfig, SignatureScheme};

/// Accepts any client certificate whose holder proves its key in the handshake; which
/// certificates count is the gateway's decision (`systems::authenticate`), not the TLS layer's.
#[derive(Debug)]
struct PinnedByTheGateway {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for PinnedByTheGateway {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// `served` (the listener's certificate and ALPN, as read from `--tls-cert`/`--tls-key`) with
/// client certificates requested but optional.
pub fn server_config(served: &ServerConfig) -> Result<Arc<ServerConfig>, String> {
    let provider: Arc<CryptoProvider> = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = PinnedByTheGateway {
        algorithms: provider.signature_verification_algorithms,
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("no TLS protocol version is available: {e}"))?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_cert_resolver(served.cert_resolver.clone());
    config.alpn_protocols = served.alpn_protocols.clone();
    Ok(Arc::new(config))
}
