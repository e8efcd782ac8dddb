//! Drift: a hand edit inside the `--git` checkout (a file changed, added or removed, or a local
//! commit) found before anything is applied. It is logged by file name (never content), counted
//! in `hromada_source_drift_total` and kept for the status; the pull then resets the checkout.

use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::process::Command;

use crate::spec::source::SPEC_FOLDERS;

/// The latest drift found in the checkout, as the status shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    pub detected_at: DateTime<Utc>,
    /// The commit the checkout was reset to: the one the appliance had checked out.
    pub reset_to: String,
    /// Where HEAD was when it had moved (a local commit, another commit checked out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
    /// The files that differed, relative to the checkout; at most [`MAX_FILES`].
    pub files: Vec<String>,
    /// How many more files differed than are listed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub more_files: usize,
    /// How many times drift was found since the appliance started.
    pub count: u64,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// How many file names a drift report lists.
pub const MAX_FILES: usize = 50;

/// What differs in a checkout from the commit it should be at.
#[derive(Debug, PartialEq, Eq)]
pub struct Found {
    pub head: Option<String>,
    pub files: Vec<String>,
}

/// The drift found in one checkout, shared by its pulls and the status. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct DriftLog(Arc<Mutex<Option<Drift>>>);

impl DriftLog {
    pub fn latest(&self) -> Option<Drift> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Logs, counts and keeps what was found in `checkout`, which was reset to `reset_to`.
    pub fn record(&self, checkout: &Path, found: Found, reset_to: &str) {
        let mut latest = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let count = latest.as_ref().map_or(0, |d| d.count) + 1;
        let more_files = found.files.len().saturating_sub(MAX_FILES);
        let mut files = found.files;
        files.truncate(MAX_FILES);
        let moved = match &found.head {
            Some(head) if head != reset_to => format!(
                "HEAD was moved to {} (a local commit or another checkout); ",
                crate::identity::short(head)
            ),
            None => "HEAD was removed; ".into(),
            _ => String::new(),
        };
        let listed = if files.is_empty() {
            "no file differs".to_string()
        } else {
            format!(
                "{} file(s) differ: {}{}",
                files.len() + more_files,
                files.join(", "),
                if more_files > 0 {
                    format!(" and {more_files} more")
                } else {
                    String::new()
                }
            )
        };
        tracing::warn!(
            checkout = %checkout.display(),
            reset_to = %reset_to,
            "the Git checkout {} was changed by hand, which is never applied: {moved}{listed}; it is reset to {}, the commit pulled from the remote. Change the spec through the remote instead.",
            checkout.display(),
            crate::identity::short(reset_to)
        );
        metrics::counter!("hromada_source_drift_total").increment(1);
        *latest = Some(Drift {
            detected_at: Utc::now(),
            reset_to: reset_to.to_string(),
            head: found.head.filter(|h| h != reset_to),
            files,
            more_files,
            count,
        });
    }
}

/// What in `checkout` differs from the commit `expected`, or `None` when nothing does.
pub async fn detect(checkout: &Path, expected: &str) -> Result<Option<Found>, String> {
    let git = |args: &[&str], what: &str| {
        let mut command = Command::from(crate::git::confined(checkout));
        command.args(args);
        let what = what.to_string();
        async move { super::pull::run(&mut command, &what).await }
    };
    let status = ["status", "--porcelain=v1", "-z", "--untracked-files=all"];
    let mut files = paths(&git(&status, "list the checkout's changed files").await?);
    // Ignored files count too where the spec is read from: the loader reads every `.kdl` there.
    let ignored: Vec<&str> = status
        .into_iter()
        .chain(["--ignored=matching", "--"])
        .chain(SPEC_FOLDERS)
        .collect();
    files.extend(paths(
        &git(&ignored, "list the ignored files of the spec folders").await?,
    ));
    // HEAD last: a local commit made while the files were listed shows in them (its tree against
    // the index) and must be named too, not only its files.
    let head = git(&["rev-parse", "--verify", "--quiet", "HEAD"], "read HEAD")
        .await
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty());
    if let Some(head) = head.as_deref().filter(|h| *h != expected) {
        let diff = ["diff", "--name-only", "-z", expected, head];
        if let Ok(out) = git(&diff, "list the files a local commit changed").await {
            files.extend(out.split('\0').filter(|p| !p.is_empty()).map(String::from));
        }
    }
    files.sort();
    files.dedup();
    if head.as_deref() == Some(expected) && files.is_empty() {
        return Ok(None);
    }
    Ok(Some(Found { head, files }))
}

/// The paths of `git status --porcelain=v1 -z` output; a rename's source path is listed too.
fn paths(status: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut entries = status.split('\0').filter(|e| !e.is_empty());
    while let Some(entry) = entries.next() {
        let Some(path) = entry.get(3..) else {
            continue;
        };
        out.push(path.to_string());
        if (entry.starts_with('R') || entry.starts_with('C'))
            && let Some(from) = entries.next()
        {
            out.push(from.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn porcelain_entries_give_every_path_named() {
        let status = " M spec/a.kdl\0?? spec/new file.kdl\0R  spec/b.kdl\0spec/old.kdl\0 D pki/ca.crt\0!! spec/x.kdl\0";
        assert_eq!(
            paths(status),
            [
                "spec/a.kdl",
                "spec/new file.kdl",
                "spec/b.kdl",
                "spec/old.kdl",
                "pki/ca.crt",
                "spec/x.kdl"
            ]
        );
        assert!(paths("").is_empty());
    }

    #[test]
    fn drift_is_counted_and_only_file_names_are_kept() {
        let log = DriftLog::default();
        let files: Vec<String> = (0..60).map(|i| format!("spec/{i}.kdl")).collect();
        log.record(
            Path::new("/c"),
            Found {
                head: Some("b".repeat(40)),
                files,
            },
            &"a".repeat(40),
        );
        log.record(
            Path::new("/c"),
            Found {
                head: Some("a".repeat(40)),
                files: vec!["spec/x.kdl".into()],
            },
            &"a".repeat(40),
        );
        let latest = log.latest().unwrap();
        assert_eq!(latest.count, 2);
        assert_eq!(latest.files, ["spec/x.kdl"]);
        assert_eq!(latest.more_files, 0);
    }
}
