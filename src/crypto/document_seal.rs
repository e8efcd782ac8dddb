//! A participant's electronic seal for the documents it issues: its certificate and key, checked
//! to belong together, signing CMS SignedData (detached, binary) that `openssl cms -verify`
//! accepts against the trust anchors.

use chrono::{DateTime, Utc};
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

use super::certs::Validity;

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
