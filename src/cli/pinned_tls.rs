//! TLS for `hromada status` and `plan --against` towards an appliance serving HTTPS: the server
//! is trusted when it presents exactly the certificate `serve --tls-cert` was given (pinned), so
//! a container can check itself at 127.0.0.1; or when a private CA (`--cacert`) issued it.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, Error, SignatureScheme};

#[derive(Debug)]
struct Pinned {
    leaf: Vec<u8>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        if end_entity.as_ref() == self.leaf {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(Error::General(
                "the server's certificate is not the one --tls-cert names".into(),
            ))
        }
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

/// A client configuration trusting only the first certificate of the PEM file `cert`.
pub fn client_config(cert: &Path) -> Result<ClientConfig, String> {
    let pem = std::fs::read(cert)
        .map_err(|e| format!("cannot read the TLS certificate {}: {e}", cert.display()))?;
    let leaf = crate::crypto::certs::parse_certificates(&pem)
        .map_err(|e| format!("{}: {e}", cert.display()))?
        .remove(0)
        .to_der()
        .map_err(|e| format!("{}: the certificate cannot be encoded: {e}", cert.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Pinned {
        leaf,
        algorithms: provider.signature_verification_algorithms,
    };
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("no TLS protocol version is available: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

/// The TLS configuration for reaching an appliance: pinned to `tls_cert` when given (it wins:
/// `SSL_CERT_FILE` may be set for the whole container), else trusting only the CA certificates
/// of `cacert`; `None` for the system's roots.
pub fn server_trust(
    tls_cert: Option<&Path>,
    cacert: Option<&Path>,
) -> Result<Option<ClientConfig>, String> {
    match (tls_cert, cacert) {
        (Some(cert), _) => client_config(cert).map(Some),
        (None, Some(ca)) => ca_config(ca).map(Some),
        (None, None) => Ok(None),
    }
}

/// A client configuration trusting the CA certificates of the PEM file `cacert`, checking the
/// server's name as usual.
fn ca_config(cacert: &Path) -> Result<ClientConfig, String> {
    let pem = std::fs::read(cacert)
        .map_err(|e| format!("cannot read the CA certificate {}: {e}", cacert.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in crate::crypto::certs::parse_certificates(&pem)
        .map_err(|e| format!("{}: {e}", cacert.display()))?
    {
        let der = cert
            .to_der()
            .map_err(|e| format!("{}: a certificate cannot be encoded: {e}", cacert.display()))?;
        roots.add(CertificateDer::from(der)).map_err(|e| {
            format!(
                "{}: a certificate cannot be trusted as a CA: {e}",
                cacert.display()
            )
        })?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("no TLS protocol version is available: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
