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
    hex::encode(sha256(bytes))
}

/// SHA-256 of `bytes`, through OpenSSL's streaming context: OpenSSL 3's one-shot `SHA256()`
/// fetches the algorithm from its provider on every call, a lookup under a lock that cost the
/// gateway several per cent of its CPU per exchange.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut hasher = openssl::sha::Sha256::new();
    hasher.update(bytes);
    hasher.finish()
}

/// SHA-512 of `bytes`, as [`sha256`].
pub fn sha512(bytes: &[u8]) -> [u8; 64] {
    let mut hasher = openssl::sha::Sha512::new();
    hasher.update(bytes);
    hasher.finish()
}

pub use certs::{
    CertError, RENEW_WITHIN_DAYS, Validity, chains_to, is_p256, key_description, name_line,
    not_after, not_before, read_certificates,
};
pub use dev_ca::{Issued, LeafProfile, LeafRequest};
pub use document_seal::Seal;
