//! Electronic seals on gateway messages: an ECDSA P-256 signature over the SHA-256 of a
//! canonical text, carried as base64 of the DER signature, verified against the sealing
//! participant's certificate from the spec. The text to seal is the caller's to define.

use std::fmt;

use crate::crypto::sha256;
use openssl::ec::{EcKey, EcKeyRef};
use openssl::ecdsa::EcdsaSig;
use openssl::pkey::{Private, Public};
use openssl::x509::X509Ref;

/// Why a seal was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealError {
    /// Not base64 of a DER ECDSA signature.
    Malformed,
    /// The certificate holds no EC public key.
    NotEcCertificate,
    /// The signature does not match the sealed text under the certificate's key.
    Mismatch,
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SealError::Malformed => "the seal is not base64 of a DER-encoded ECDSA signature",
            SealError::NotEcCertificate => "the sealing certificate holds no EC P-256 public key",
            SealError::Mismatch => {
                "the seal does not match the message under the participant's certificate"
            }
        })
    }
}

impl std::error::Error for SealError {}

/// Seals `text` with `key` (EC P-256): base64 of the DER ECDSA signature over SHA-256(text).
pub fn seal(key: &EcKeyRef<Private>, text: &[u8]) -> Result<String, openssl::error::ErrorStack> {
    let signature = EcdsaSig::sign(&sha256(text), key)?;
    Ok(openssl::base64::encode_block(&signature.to_der()?))
}

/// The public key seals of `cert` are verified with; taken once per certificate, not per seal.
pub fn public_key(cert: &X509Ref) -> Result<EcKey<Public>, SealError> {
    cert.public_key()
        .and_then(|k| k.ec_key())
        .map_err(|_| SealError::NotEcCertificate)
}

/// Verifies a seal made by [`seal`] against `key`, a sealing certificate's [`public_key`].
pub fn verify(key: &EcKeyRef<Public>, text: &[u8], seal: &str) -> Result<(), SealError> {
    let der = openssl::base64::decode_block(seal.trim()).map_err(|_| SealError::Malformed)?;
    let signature = EcdsaSig::from_der(&der).map_err(|_| SealError::Malformed)?;
    match signature.verify(&sha256(text), key) {
        Ok(true) => Ok(()),
        _ => Err(SealError::Mismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::dev_ca::{self, LeafProfile, LeafRequest};

    fn sealer() -> (EcKey<Private>, EcKey<Public>) {
        let validity = dev_ca::validity_from_now(30);
        let ca_name = dev_ca::ca_name("test CA", "test").unwrap();
        let ca = dev_ca::self_signed_ca(dev_ca::new_key().unwrap(), &ca_name, &validity).unwrap();
        let key = dev_ca::new_key().unwrap();
        let request = LeafRequest {
            common_name: "КП «Водоканал»".into(),
            organisation: "КП «Водоканал»".into(),
            profile: LeafProfile::Seal {
                edrpou: "03327121".into(),
            },
            validity,
        };
        let cert = dev_ca::issue(&ca, &request, &key).unwrap();
        (key.ec_key().unwrap(), public_key(&cert).unwrap())
    }

    #[test]
    fn a_seal_verifies_only_the_text_it_sealed_under_its_own_certificate() {
        let (key, cert) = sealer();
        let (_, other) = sealer();
        let s = seal(&key, b"request\nid-1").unwrap();
        assert_eq!(verify(&cert, b"request\nid-1", &s), Ok(()));
        assert_eq!(
            verify(&cert, b"request\nid-2", &s),
            Err(SealError::Mismatch)
        );
        assert_eq!(
            verify(&other, b"request\nid-1", &s),
            Err(SealError::Mismatch)
        );
    }

    #[test]
    fn garbage_is_a_malformed_seal_not_a_panic() {
        let (_, cert) = sealer();
        assert_eq!(
            verify(&cert, b"x", "not base64!"),
            Err(SealError::Malformed)
        );
        assert_eq!(verify(&cert, b"x", "AAAA"), Err(SealError::Malformed));
    }
}
