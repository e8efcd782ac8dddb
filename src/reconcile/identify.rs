//! Which revision a loaded tree is ([`Revision`], in `crate::identity`): the Git commit when the
//! spec root is a clean checkout, or a content hash of the files the spec consists of (its KDL
//! sources and the files they reference) when it is not. The content hash is always computed: it
//! is how the reconciler tells change.

use std::path::Path;

use crate::identity::revision::Revision;
use crate::spec::source::{SPEC_FOLDERS, SourceSet};

/// The files of a loaded tree beyond its KDL sources, relative to the root: what the checks
/// resolved (certificates, OpenAPI documents), where they exist.
pub fn referenced_files(sources: &SourceSet) -> Vec<String> {
    sources
        .referenced()
        .into_iter()
        .filter(|p| sources.root.join(p).is_file())
        .collect()
}

/// Identifies the revision of a tree that was loaded from `sources.root`, given the files it
/// references (`referenced_files`) and the HEAD commit read before loading: a checkout that moved meanwhile is identified by content, so that a
/// commit id never names content it does not hold.
pub fn identify(
    sources: &SourceSet,
    referenced: &[String],
    head_before_load: Option<&str>,
) -> Revision {
    let content_hash = content_hash(sources, referenced);
    let id = match clean_commit(&sources.root, referenced) {
        Some(commit) if Some(commit.as_str()) == head_before_load => commit,
        _ => format!("sha256:{}", &content_hash[..16]),
    };
    Revision { id, content_hash }
}

/// The HEAD commit of the repository holding `root`, if any.
pub fn head(root: &Path) -> Option<String> {
    crate::git::head(root)
}

fn content_hash(sources: &SourceSet, referenced: &[String]) -> String {
    let mut files: Vec<(&str, Vec<u8>)> = sources
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.text.as_bytes().to_vec()))
        .collect();
    for path in referenced {
        if let Ok(bytes) = std::fs::read(sources.root.join(path)) {
            files.push((path.as_str(), bytes));
        }
    }
    files.sort_by(|a, b| a.0.cmp(b.0));
    let mut hasher = openssl::sha::Sha256::new();
    for (path, bytes) in files {
        hasher.update(path.as_bytes());
        hasher.update(&[0]);
        hasher.update(&(bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    hex::encode(hasher.finish())
}

/// The HEAD commit when `root` is inside a Git checkout and none of the spec's files differ
/// from it (modified, staged, untracked or ignored); `None` otherwise, or without `git`.
fn clean_commit(root: &Path, referenced: &[String]) -> Option<String> {
    let commit = head(root)?;
    let paths = SPEC_FOLDERS
        .iter()
        .copied()
        .chain(referenced.iter().map(String::as_str));
    crate::git::unchanged(root, paths)?.then_some(commit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(files: &[(&str, &str)]) -> SourceSet {
        SourceSet::from_files(
            std::env::temp_dir().join("hromada-no-such-root"),
            files
                .iter()
                .map(|(p, t)| (p.to_string(), t.to_string()))
                .collect(),
        )
    }

    #[test]
    fn the_content_hash_follows_content_and_paths_not_order() {
        let a = identify(
            &set(&[("spec/a.kdl", "x 1"), ("spec/b.kdl", "y 2")]),
            &[],
            None,
        );
        let b = identify(
            &set(&[("spec/b.kdl", "y 2"), ("spec/a.kdl", "x 1")]),
            &[],
            None,
        );
        assert_eq!(a, b);
        assert!(a.id.starts_with("sha256:") && a.id.len() == 7 + 16);
        let edited = identify(
            &set(&[("spec/a.kdl", "x 2"), ("spec/b.kdl", "y 2")]),
            &[],
            None,
        );
        assert_ne!(a.content_hash, edited.content_hash);
        let moved = identify(
            &set(&[("spec/c.kdl", "x 1"), ("spec/b.kdl", "y 2")]),
            &[],
            None,
        );
        assert_ne!(a.content_hash, moved.content_hash);
        let joined = identify(&set(&[("spec/a.kdl", "x 1y 2")]), &[], None);
        assert_ne!(a.content_hash, joined.content_hash);
    }
}
