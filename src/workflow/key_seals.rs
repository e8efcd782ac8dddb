//! The seals a node's participants issue documents with: each participant's seal key from the
//! keys folder with the seal certificate of the applied revision (read with the revision, not
//! from the working tree). Serve hands one per revision to the case engine.

use std::sync::Arc;

use openssl::pkey::PKey;
use openssl::x509::X509;

use super::seals::Seals;
use crate::compile::Compiled;
use crate::crypto::Seal;
use crate::gateway::keys::KeyRing;

/// The seals of one revision's participants, their keys read when a document is issued.
pub struct KeyRingSeals {
    keys: KeyRing,
    compiled: Arc<Compiled>,
}

impl KeyRingSeals {
    pub fn new(keys: KeyRing, compiled: Arc<Compiled>) -> KeyRingSeals {
        KeyRingSeals { keys, compiled }
    }
}

impl Seals for KeyRingSeals {
    fn seal(&self, participant: &str) -> Result<Arc<Seal>, String> {
        let declared = self
            .compiled
            .spec
            .participant(participant)
            .ok_or_else(|| format!("participant `{participant}` is not declared"))?;
        let path = &declared.seal.cert;
        let pem = self.compiled.documents.get(path).ok_or_else(|| {
            format!("the seal certificate {path} of participant `{participant}` was not read")
        })?;
        let certificate = X509::from_pem(pem).map_err(|e| {
            format!("the seal certificate {path} of participant `{participant}` is not PEM: {e}")
        })?;
        let key = self.keys.seal_key(participant)?;
        let key = PKey::from_ec_key(key).map_err(|e| e.to_string())?;
        Seal::new(participant, certificate, key).map(Arc::new)
    }
}
