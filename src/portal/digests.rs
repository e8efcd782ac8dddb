//! The portal's keyed digests (HMAC-SHA-256): a rating is kept under a digest of its application
//! and a poll's voter under a digest of the person and the poll, never the application id or the
//! RNOKPP, so a copy of the database alone cannot tell whose they are.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;

/// The key file, under the keys folder (`serve --keys`).
pub const KEY_FILE: &str = "portal/digest.key";

/// The digest key, or why there is none (then ratings and poll answers are refused).
pub struct Digests {
    /// Where the key is read (or made) at its first use; `None` for a key given outright.
    path: Option<PathBuf>,
    key: OnceLock<Result<Vec<u8>, String>>,
}

impl Digests {
    /// The key of `keys`/[`KEY_FILE`] (64 hex digits), read at its first use and made then with
    /// 32 random bytes when the file does not exist. A key that cannot be read or made is logged
    /// and leaves the features that need it unavailable, the rest of the portal unaffected.
    pub fn load_or_create(keys: &Path) -> Digests {
        Digests {
            path: Some(keys.join(KEY_FILE)),
            key: OnceLock::new(),
        }
    }

    /// Digests made under `key` (tests).
    pub fn with_key(key: &[u8]) -> Digests {
        Digests {
            path: None,
            key: OnceLock::from(Ok(key.to_vec())),
        }
    }

    /// The digest a rating of application `id` is kept under.
    pub fn application(&self, id: &str) -> Result<String, String> {
        self.digest(&["rating", id])
    }

    /// The digest `owner`'s answer to poll `poll` is kept under.
    pub fn voter(&self, poll: &str, owner: &str) -> Result<String, String> {
        self.digest(&["poll", poll, owner])
    }

    /// The bucket a sender's messages to the administrator are limited by (an address or a
    /// session), so that no address is stored.
    pub fn sender(&self, who: &str) -> Result<String, String> {
        self.digest(&["feedback", who])
    }

    /// The key, read or made at its first use rather than at start: a node that clones its spec
    /// (`serve --git`) must find its checkout's folder empty, keys folder included.
    fn key(&self) -> &Result<Vec<u8>, String> {
        self.key.get_or_init(|| {
            let Some(path) = &self.path else {
                return Err("no digest key was given".into());
            };
            let key = read(path).or_else(|missing| {
                if path.exists() {
                    return Err(missing);
                }
                create(path)
            });
            if let Err(e) = &key {
                tracing::error!(
                    "{e}; ratings and poll answers are refused until the key can be read"
                );
            }
            key
        })
    }

    fn digest(&self, parts: &[&str]) -> Result<String, String> {
        let key = self.key().as_ref().map_err(Clone::clone)?;
        let failed = |e: openssl::error::ErrorStack| format!("cannot make a keyed digest: {e}");
        let pkey = PKey::hmac(key).map_err(failed)?;
        let mut signer = Signer::new(MessageDigest::sha256(), &pkey).map_err(failed)?;
        for part in parts {
            // Each part with its length, so that no two lists of parts read the same.
            signer
                .update(&(part.len() as u64).to_be_bytes())
                .map_err(failed)?;
            signer.update(part.as_bytes()).map_err(failed)?;
        }
        Ok(hex::encode(signer.sign_to_vec().map_err(failed)?))
    }
}

fn read(path: &PathBuf) -> Result<Vec<u8>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read the portal's digest key {}: {e}",
            path.display()
        )
    })?;
    match hex::decode(text.trim()) {
        Ok(key) if key.len() >= 32 => Ok(key),
        _ => Err(format!(
            "the portal's digest key {} is not 64 hexadecimal digits; restore it from a backup \
             (a new key would let everyone answer each poll again)",
            path.display()
        )),
    }
}

fn create(path: &PathBuf) -> Result<Vec<u8>, String> {
    let mut key = vec![0u8; 32];
    openssl::rand::rand_bytes(&mut key)
        .map_err(|e| format!("cannot make the portal's digest key: {e}"))?;
    let cannot = |e: std::io::Error| {
        format!(
            "cannot write the portal's digest key {}: {e}; make the keys folder writable once, \
             or write 64 random hexadecimal digits into that file",
            path.display()
        )
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(cannot)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(cannot)?;
    std::io::Write::write_all(&mut file, format!("{}\n", hex::encode(&key)).as_bytes())
        .map_err(cannot)?;
    tracing::warn!(
        "made the portal's digest key {}; every replica of this node must use the same file, \
         and it belongs in the keys' backup",
        path.display()
    );
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_made_once_and_read_back_and_its_digests_keep_their_parts_apart() {
        let dir = tempfile::tempdir().unwrap();
        let first = Digests::load_or_create(dir.path());
        let again = Digests::load_or_create(dir.path());
        let voter = first.voter("park", "3184710691").unwrap();
        assert_eq!(voter, again.voter("park", "3184710691").unwrap());
        assert!(!voter.contains("3184710691"));
        assert_ne!(voter, first.voter("park2", "3184710691").unwrap());
        assert_ne!(
            first.voter("a", "bc").unwrap(),
            first.voter("ab", "c").unwrap()
        );
        assert_ne!(first.application("x").unwrap(), first.sender("x").unwrap());
        let other = Digests::with_key(&[7; 32]);
        assert_ne!(voter, other.voter("park", "3184710691").unwrap());
    }

    #[test]
    fn a_damaged_key_refuses_digests_and_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "not a key").unwrap();
        let digests = Digests::load_or_create(dir.path());
        let error = digests.voter("park", "x").unwrap_err();
        assert!(error.contains("not 64 hexadecimal digits"), "{error}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not a key");
    }
}
