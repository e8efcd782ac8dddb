//! The private keys a node holds, from its keys folder (the layout `hromada keys dev` writes:
//! `nodes/<node>.key`, `seals/<participant>.key`). Keys are read when first needed and again
//! when the file changes; they never enter the spec, the store or a log.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use openssl::pkey::{PKey, Private};

pub struct KeyRing {
    dir: PathBuf,
    cache: Mutex<HashMap<PathBuf, (SystemTime, PKey<Private>)>>,
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

    /// The seal key of `participant`.
    pub fn seal_key(&self, participant: &str) -> Result<PKey<Private>, String> {
        self.read(&self.dir.join("seals").join(format!("{participant}.key")))
            .map_err(|e| format!("cannot use the seal key of participant `{participant}`: {e}"))
    }

    fn read(&self, path: &Path) -> Result<PKey<Private>, String> {
        let modified = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .map_err(|e| {
                format!(
                    "{} cannot be read ({e}); in development, `hromada keys dev` makes it",
                    path.display()
                )
            })?;
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, key)) = cache.get(path)
            && *at == modified
        {
            return Ok(key.clone());
        }
        let pem =
            std::fs::read(path).map_err(|e| format!("{} cannot be read ({e})", path.display()))?;
        let key = PKey::private_key_from_pem(&pem)
            .map_err(|_| format!("{} holds no PEM private key", path.display()))?;
        cache.insert(path.to_path_buf(), (modified, key.clone()));
        Ok(key)
    }
}
