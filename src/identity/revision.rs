//! What names a revision of the spec: the Git commit when the spec root is a clean checkout, or
//! a content hash of its files when it is not (`reconcile::identify` decides which), and the
//! files a revision references, read together with it.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

/// The files a revision references (certificates, OpenAPI documents), by the path the spec
/// writes, as read together with the revision.
pub type Documents = BTreeMap<String, Arc<[u8]>>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revision {
    /// The commit id, or `sha256:` and the first 16 hex digits of the content hash.
    pub id: String,
    /// SHA-256 over every file of the revision, in path order, hex.
    pub content_hash: String,
}

impl Revision {
    /// A short form for logs and tables.
    pub fn short(&self) -> &str {
        short(&self.id)
    }
}

/// A revision id's short form: 12 hex digits of a commit, or `sha256:` and 12 of a content hash.
pub fn short(id: &str) -> &str {
    let len = if id.starts_with("sha256:") {
        7 + 12
    } else {
        12
    };
    &id[..id.len().min(len)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_keep_their_kind() {
        assert_eq!(short("0123456789abcdef0123"), "0123456789ab");
        assert_eq!(short("sha256:0123456789abcdef"), "sha256:0123456789ab");
        assert_eq!(short("abc"), "abc");
    }
}
