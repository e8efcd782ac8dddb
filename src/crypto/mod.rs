//! X.509 certificates for the system's trust chain: reading and judging PEM certificates
//! (`certs`), issuing the development CA and its leaf certificates (`dev_ca`), making the
//! development keys of a whole spec tree (`dev_keys`), and sealing issued documents
//! (`document_seal`).
//! Everything is built on the `openssl` crate; keys are always ECDSA P-256 with SHA-256.

pub mod certs;
pub mod dev_ca;
pub mod dev_keys;
pub mod document_seal;
pub mod seal;

/// Lowercase hex SHA-256 of `bytes`: the digests the message log, the seals' texts and the
/// reconcile history record.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(openssl::sha::sha256(bytes))
}

pub use certs::{
    CertError, RENEW_WITHIN_DAYS, Validity, chains_to, is_p256, key_description, name_line,
    not_after, not_before, read_certificates,
};
pub use dev_ca::{Issued, LeafProfile, LeafRequest};
pub use document_seal::Seal;
