//! Copies of applied revisions under the data folder (`revisions/<id>/`), so that the appliance
//! restarts on its last good revision even when the spec folder is broken. A snapshot is written
//! to a temporary folder and renamed into place: it is complete or absent, never half-written.

use std::io;
use std::path::{Path, PathBuf};

use crate::spec::source::SourceSet;

/// How many snapshots are kept; older ones are removed after each new one.
const KEEP: usize = 10;

#[derive(Clone)]
pub struct Snapshots {
    dir: PathBuf,
}

impl Snapshots {
    pub fn new(data_dir: &Path) -> Snapshots {
        Snapshots {
            dir: data_dir.join("revisions"),
        }
    }

    /// The folder holding the snapshot of `revision`, whether or not it exists.
    pub fn path(&self, revision: &str) -> PathBuf {
        self.dir.join(folder_name(revision))
    }

    pub fn exists(&self, revision: &str) -> bool {
        self.path(revision).join("REVISION").is_file()
    }

    /// Writes the sources of a loaded tree and the files it references, unless a snapshot of
    /// the same revision with the same content is already there.
    pub fn save(
        &self,
        revision: &str,
        content_hash: &str,
        sources: &SourceSet,
        referenced: &[String],
    ) -> io::Result<()> {
        let stamp = format!("{revision}\n{content_hash}\n");
        let existing = std::fs::read_to_string(self.path(revision).join("REVISION"));
        if existing.is_ok_and(|text| text == stamp) {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir)?;
        let staging = self.dir.join(format!(
            ".staging-{}-{}",
            folder_name(revision),
            std::process::id()
        ));
        if staging.exists() {
            std::fs::remove_dir_all(&staging)?;
        }
        for file in &sources.files {
            write(&staging.join(&file.path), file.text.as_bytes())?;
        }
        for path in referenced {
            write(
                &staging.join(path),
                &std::fs::read(sources.root.join(path))?,
            )?;
        }
        write(&staging.join("REVISION"), stamp.as_bytes())?;
        let target = self.path(revision);
        if target.exists() {
            std::fs::remove_dir_all(&target)?;
        }
        std::fs::rename(&staging, &target)?;
        self.prune(revision);
        Ok(())
    }

    /// Removes all but the newest snapshots, never the one just written.
    fn prune(&self, keep: &str) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut snapshots: Vec<(std::time::SystemTime, PathBuf)> = entries
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        snapshots.sort_by_key(|s| std::cmp::Reverse(s.0));
        let current = self.path(keep);
        for (_, path) in snapshots.into_iter().skip(KEEP) {
            if path != current {
                let _ = std::fs::remove_dir_all(path);
            }
        }
    }
}

/// A revision id as a folder name: `sha256:ab…` becomes `sha256-ab…`.
fn folder_name(revision: &str) -> String {
    revision
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_holds_the_sources_and_referenced_files_and_old_ones_are_pruned() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("pki")).unwrap();
        std::fs::write(root.path().join("pki/ca.crt"), "PEM").unwrap();
        let sources = SourceSet::from_files(
            root.path().to_path_buf(),
            vec![("spec/system.kdl".into(), "system \"x\"".into())],
        );
        let data = tempfile::tempdir().unwrap();
        let snapshots = Snapshots::new(data.path());
        snapshots
            .save("sha256:abc", "abc", &sources, &["pki/ca.crt".into()])
            .unwrap();
        let dir = snapshots.path("sha256:abc");
        assert!(snapshots.exists("sha256:abc"));
        assert_eq!(
            std::fs::read_to_string(dir.join("pki/ca.crt")).unwrap(),
            "PEM"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("spec/system.kdl")).unwrap(),
            "system \"x\""
        );
        for n in 0..KEEP + 3 {
            snapshots
                .save(&format!("rev{n}"), &format!("{n}"), &sources, &[])
                .unwrap();
        }
        let left = std::fs::read_dir(data.path().join("revisions"))
            .unwrap()
            .count();
        assert_eq!(left, KEEP);
        assert!(snapshots.exists(&format!("rev{}", KEEP + 2)));
    }
}
