//! A participant's electronic seal for the documents it issues: its certificate and key, checked
//! to belong together, signing CMS SignedData (detached, binary) that `openssl cms -verify`
//! accepts against the trust anchors.

use std::path::Path;

use chrono::{DateTime, Utc};
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::ec::EcKey;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

use super::certs::{Validity, read_certificates};

/// The seal of one participant.
pub struct Seal {
    participant: String,
    certificate: X509,
    key: PKey<Private>,
}

impl std::fmt::Debug for Seal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Seal")
            .field("participant", &self.participant)
            .finish_non_exhaustive()
    }
}

impl Seal {
    /// The seal of `participant`: `certificate` and the private `key` of its public key.
    pub fn new(
        participant: impl Into<String>,
        certificate: X509,
        key: PKey<Private>,
    ) -> Result<Seal, String> {
        let participant = participant.into();
        if !certificate
            .public_key()
            .is_ok_and(|public| public.public_eq(&key))
        {
            return Err(format!(
                "the seal key of participant `{participant}` is not the key of its seal \
                 certificate; issue them again together (in development, `hromada keys dev`)"
            ));
        }
        Ok(Seal {
            participant,
            certificate,
            key,
        })
    }

    /// The seal of `participant` from its certificate file (PEM, the first certificate is the
    /// seal's) and its key (as `gateway::keys::KeyRing::seal_key` reads it).
    pub fn read(participant: &str, cert: &Path, key: EcKey<Private>) -> Result<Seal, String> {
        let certificate = read_certificates(cert)
            .map_err(|e| {
                format!(
                    "cannot read the seal certificate of participant `{participant}` at {}: {e}",
                    cert.display()
                )
            })?
            .into_iter()
            .next()
            .ok_or_else(|| {
                format!(
                    "the seal certificate file of participant `{participant}`, {}, holds no \
                     certificate",
                    cert.display()
                )
            })?;
        let key = PKey::from_ec_key(key)
            .map_err(|e| format!("cannot use the seal key of participant `{participant}`: {e}"))?;
        Seal::new(participant, certificate, key)
    }

    pub fn participant(&self) -> &str {
        &self.participant
    }

    pub fn certificate(&self) -> &X509 {
        &self.certificate
    }

    /// A detached CMS SignedData (DER) over `content`, sealed at `at`, which the certificate
    /// must cover.
    pub fn sign_detached(&self, content: &[u8], at: DateTime<Utc>) -> Result<Vec<u8>, String> {
        let validity = Validity::of(&self.certificate);
        if at < validity.not_before || at > validity.not_after {
            return Err(format!(
                "the seal certificate of participant `{}` is valid from {} to {}, not at {}; \
                 renew it before issuing documents",
                self.participant,
                validity.not_before.to_rfc3339(),
                validity.not_after.to_rfc3339(),
                at.to_rfc3339()
            ));
        }
        CmsContentInfo::sign(
            Some(&self.certificate),
            Some(&self.key),
            None,
            Some(content),
            CMSOptions::BINARY | CMSOptions::DETACHED,
        )
        .and_then(|cms| cms.to_der())
        .map_err(|e| {
            format!(
                "cannot seal a document with the seal of participant `{}`: {e}",
                self.participant
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::dev_ca::{self, LeafProfile, LeafRequest};

    fn issued() -> (dev_ca::Issued, X509, PKey<Private>) {
        let validity = dev_ca::validity_from_now(30);
        let name = dev_ca::ca_name("CA", "Місто").unwrap();
        let ca = dev_ca::self_signed_ca(dev_ca::new_key().unwrap(), &name, &validity).unwrap();
        let key = dev_ca::new_key().unwrap();
        let request = LeafRequest {
            common_name: "Печатка".into(),
            organisation: "Водоканал".into(),
            profile: LeafProfile::Seal {
                edrpou: "03327121".into(),
            },
            validity,
        };
        let cert = dev_ca::issue(&ca, &request, &key).unwrap();
        (ca, cert, key)
    }

    #[test]
    fn a_seal_is_read_from_its_files_and_refuses_a_key_of_another_certificate() {
        let (_ca, cert, key) = issued();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vodokanal.crt");
        std::fs::write(&path, cert.to_pem().unwrap()).unwrap();
        let seal = Seal::read("vodokanal", &path, key.ec_key().unwrap()).unwrap();
        assert_eq!(seal.participant(), "vodokanal");
        let other = dev_ca::new_key().unwrap();
        let error = Seal::read("vodokanal", &path, other.ec_key().unwrap()).unwrap_err();
        assert!(
            error.contains("is not the key of its seal certificate"),
            "{error}"
        );
        let error = Seal::read(
            "vodokanal",
            &dir.path().join("none.crt"),
            key.ec_key().unwrap(),
        )
        .unwrap_err();
        assert!(error.contains("none.crt"), "{error}");
    }

    #[test]
    fn a_certificate_that_does_not_cover_the_moment_does_not_seal() {
        let (_ca, cert, key) = issued();
        let seal = Seal::new("vodokanal", cert, key).unwrap();
        assert!(seal.sign_detached(b"text", Utc::now()).is_ok());
        let later = Utc::now() + chrono::Duration::days(400);
        let error = seal.sign_detached(b"text", later).unwrap_err();
        assert!(error.contains("renew it"), "{error}");
    }
}
