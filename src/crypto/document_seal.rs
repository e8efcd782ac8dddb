//! A participant's electronic seal for the documents it issues: its certificate and key, checked
//! to belong together, signing CMS SignedData (detached, binary) that `openssl cms -verify`
//! accepts against the trust anchors.

use std::path::Path;

use chrono::{DateTime, Utc};
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::ec::EcKey;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

use super::certs::{Validity, chains_to, read_certificates};

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

/// Checks a detached seal (CMS SignedData, DER) over `content`: made with `certificate`'s key
/// over exactly these bytes, `certificate` chaining to one of `anchors` and valid at `sealed_at`.
/// `Err` says, for a person, which of these fails.
pub fn verify_detached(
    signature: &[u8],
    content: &[u8],
    certificate: &X509,
    anchors: &[X509],
    sealed_at: DateTime<Utc>,
) -> Result<(), String> {
    let mut cms = CmsContentInfo::from_der(signature)
        .map_err(|_| "the seal file is not a CMS signature (DER)".to_string())?;
    let mut signers = openssl::stack::Stack::new().map_err(|e| e.to_string())?;
    signers
        .push(certificate.clone())
        .map_err(|e| e.to_string())?;
    cms.verify(
        Some(&signers),
        None,
        Some(content),
        None,
        CMSOptions::BINARY | CMSOptions::NOINTERN | CMSOptions::NO_SIGNER_CERT_VERIFY,
    )
    .map_err(|_| {
        "the seal does not match: the document was changed, or another key sealed it".to_string()
    })?;
    chains_to(certificate, &[], anchors)
        .map_err(|e| format!("the seal certificate is not issued under a trust anchor: {e}"))?;
    let validity = Validity::of(certificate);
    if sealed_at < validity.not_before || sealed_at > validity.not_after {
        return Err(format!(
            "the seal certificate was not valid when the document was sealed ({})",
            sealed_at.to_rfc3339()
        ));
    }
    Ok(())
}

/// The organisation a certificate's subject names (`O`), else its common name, else `None`.
pub fn organisation(certificate: &X509) -> Option<String> {
    [Nid::ORGANIZATIONNAME, Nid::COMMONNAME]
        .into_iter()
        .find_map(|nid| entry(certificate, nid))
}

/// A certificate's subject as people read it: `CN, O` (or whichever of the two it has).
pub fn subject_line(certificate: &X509) -> String {
    [Nid::COMMONNAME, Nid::ORGANIZATIONNAME]
        .into_iter()
        .filter_map(|nid| entry(certificate, nid))
        .collect::<Vec<_>>()
        .join(", ")
}

fn entry(certificate: &X509, nid: Nid) -> Option<String> {
    certificate
        .subject_name()
        .entries_by_nid(nid)
        .next()
        .and_then(|e| e.data().to_string().ok())
        .map(|s| s.to_string())
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

    #[test]
    fn a_seal_verifies_over_its_own_bytes_under_its_anchor_only() {
        let (ca, cert, key) = issued();
        let other = issued();
        let seal = Seal::new("vodokanal", cert.clone(), key).unwrap();
        let now = Utc::now();
        let signature = seal.sign_detached("Довідка".as_bytes(), now).unwrap();
        let anchors = [ca.cert.clone()];
        verify_detached(&signature, "Довідка".as_bytes(), &cert, &anchors, now).unwrap();
        let changed = verify_detached(&signature, "Довідкa".as_bytes(), &cert, &anchors, now);
        assert!(changed.unwrap_err().contains("was changed"));
        let stranger = verify_detached(&signature, "Довідка".as_bytes(), &other.1, &anchors, now);
        assert!(stranger.unwrap_err().contains("another key"));
        let foreign = verify_detached(
            &signature,
            "Довідка".as_bytes(),
            &cert,
            &[other.0.cert],
            now,
        );
        assert!(foreign.unwrap_err().contains("trust anchor"));
        let late = now + chrono::Duration::days(400);
        let expired = verify_detached(&signature, "Довідка".as_bytes(), &cert, &anchors, late);
        assert!(expired.unwrap_err().contains("not valid"));
        let garbage = verify_detached(b"not cms", b"", &cert, &anchors, now);
        assert!(garbage.unwrap_err().contains("not a CMS"));
    }
}
