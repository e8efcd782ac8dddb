//! The private keys a node holds, from its keys folder (the layout `hromada keys dev` writes:
//! `nodes/<node>.key`, `seals/<participant>.key`). Seal keys are read when first needed and
//! again when the file changes (looked at no more than once per [`RECHECK`]); keys never enter
//! the spec, the store or a log.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use openssl::ec::EcKey;
use openssl::pkey::{PKey, Private};

/// How long a seal key is used before its file is looked at again for a change.
pub const RECHECK: Duration = Duration::from_secs(1);

/// A seal key as read, with the file's modification time and when that was last looked at.
struct Held {
    modified: SystemTime,
    checked: Instant,
    key: EcKey<Private>,
}

pub struct KeyRing {
    dir: PathBuf,
    cache: Mutex<HashMap<PathBuf, Held>>,
}

impl KeyRing {
    pub fn new(dir: PathBuf) -> KeyRing {
        KeyRing {
            dir,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file holding the TLS key of `node`.
    pub fn node_key_path(&self, node: &str) -> PathBuf {
        self.dir.join("nodes").join(format!("{node}.key"))
    }

    /// The file holding the seal key of `participant`.
    pub fn seal_key_path(&self, participant: &str) -> PathBuf {
        self.dir.join("seals").join(format!("{participant}.key"))
    }

    /// The key of `node` (EC P-256): its TLS key, which also signs its message log checkpoints.
    pub fn node_key(&self, node: &str) -> Result<EcKey<Private>, String> {
        self.read(&self.node_key_path(node))
            .map_err(|e| format!("cannot use the key of gateway node `{node}`: {e}"))
    }

    /// The seal key of `participant` (EC P-256).
    pub fn seal_key(&self, participant: &str) -> Result<EcKey<Private>, String> {
        self.read(&self.seal_key_path(participant))
            .map_err(|e| format!("cannot use the seal key of participant `{participant}`: {e}"))
    }

    fn read(&self, path: &Path) -> Result<EcKey<Private>, String> {
        let now = Instant::now();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(held) = cache.get(path)
            && now.duration_since(held.checked) < RECHECK
        {
            return Ok(held.key.clone());
        }
        let modified = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .map_err(|e| {
                cache.remove(path);
                format!(
                    "{} cannot be read ({e}); in development, `hromada keys dev` makes it",
                    path.display()
                )
            })?;
        if let Some(held) = cache.get_mut(path)
            && held.modified == modified
        {
            held.checked = now;
            return Ok(held.key.clone());
        }
        let pem =
            std::fs::read(path).map_err(|e| format!("{} cannot be read ({e})", path.display()))?;
        let key = PKey::private_key_from_pem(&pem)
            .map_err(|_| format!("{} holds no PEM private key", path.display()))?
            .ec_key()
            .map_err(|_| format!("{} holds no EC P-256 private key", path.display()))?;
        cache.insert(
            path.to_path_buf(),
            Held {
                modified,
                checked: now,
                key: key.clone(),
            },
        );
        Ok(key)
    }
}
