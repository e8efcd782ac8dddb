//! Pull mode: keeps a checkout of a Git remote's branch in the spec root, with the `git` CLI as
//! Argo CD's repo server does. The checkout belongs to the appliance: each pull resets it hard to
//! the remote branch, so local edits there never block an update.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::process::Command;
use tokio::sync::mpsc;

use super::control::{Control, Target};

#[derive(Debug, Clone)]
pub struct Remote {
    pub url: String,
    pub branch: String,
    pub interval: Duration,
    pub checkout: PathBuf,
    /// Held by every git command sequence in the checkout: pulls and pin look-ups never overlap.
    pub lock: Arc<tokio::sync::Mutex<()>>,
}

/// Where a pull left things: the commit checked out and the followed branch's fetched head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synced {
    pub checkout: String,
    pub fetched: String,
}

/// The branch as fetched into the checkout.
fn tracking(branch: &str) -> String {
    format!("refs/remotes/hromada/{branch}")
}

impl Remote {
    /// The URL without any password or token it carries, for logs and the status page.
    pub fn display_url(&self) -> String {
        redact(&self.url)
    }

    /// Clones the remote when the checkout folder is absent or empty, then fetches the branch (and
    /// tags) and moves the checkout to `target`. A folder that holds files but is not a checkout
    /// of its own is never touched: Git would otherwise act on whatever repository encloses it.
    pub async fn sync(&self, target: &Target) -> Result<Synced, String> {
        let _one_at_a_time = self.lock.lock().await;
        let empty = std::fs::read_dir(&self.checkout)
            .map(|mut entries| entries.next().is_none())
            .unwrap_or(true);
        if empty {
            std::fs::create_dir_all(&self.checkout).map_err(|e| {
                format!(
                    "cannot create the checkout folder {}: {e}",
                    self.checkout.display()
                )
            })?;
            run(
                Command::from(crate::git::anywhere())
                    .args(["clone", "--quiet", "--single-branch", "--branch"])
                    .arg(&self.branch)
                    .arg("--")
                    .arg(&self.url)
                    .arg(&self.checkout),
                &format!("clone {} (branch {})", self.display_url(), self.branch),
            )
            .await?;
            if let Target::Pin(commit) = target {
                self.fetch().await?;
                self.move_to(commit).await?;
            }
        } else {
            self.fetch().await?;
            match target {
                Target::Follow => self.move_to(&tracking(&self.branch)).await?,
                Target::Hold => {}
                Target::Pin(commit) => self.move_to(commit).await?,
            }
        }
        let checkout = self.rev_parse("HEAD").await?;
        let fetched = match self.rev_parse(&tracking(&self.branch)).await {
            Ok(fetched) => fetched,
            // Right after a clone the branch is only the checkout's own.
            Err(_) => {
                self.rev_parse(&format!("refs/heads/{}", self.branch))
                    .await?
            }
        };
        Ok(Synced { checkout, fetched })
    }

    /// The commit a tag or a (possibly short) commit id names in the remote, fetched now.
    pub async fn resolve(&self, reference: &str) -> Result<String, String> {
        let valid = !reference.is_empty()
            && reference.len() <= 200
            && !reference.starts_with(['-', '/', '.'])
            && !reference.contains("..")
            && reference
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c));
        if !valid {
            return Err(format!(
                "`{reference}` is not a tag name or commit id (letters, digits, `.`, `_`, `/` and \
                 `-` only)"
            ));
        }
        let _one_at_a_time = self.lock.lock().await;
        if !self.checkout.join(".git").exists() {
            return Err(format!(
                "the checkout {} is not cloned yet; try again once the first pull is done",
                self.checkout.display()
            ));
        }
        self.fetch().await?;
        if let Ok(commit) = self
            .rev_parse(&format!("refs/tags/{reference}^{{commit}}"))
            .await
        {
            return Ok(commit);
        }
        let hex = reference.len() >= 7 && reference.chars().all(|c| c.is_ascii_hexdigit());
        match hex {
            true => self
                .rev_parse(&format!("{reference}^{{commit}}"))
                .await
                .map_err(|_| {
                    format!(
                        "no commit {reference} in what was fetched from {}",
                        self.display_url()
                    )
                }),
            false => Err(format!(
                "{} has no tag `{reference}`; pin a tag or a commit id",
                self.display_url()
            )),
        }
    }

    async fn rev_parse(&self, name: &str) -> Result<String, String> {
        run(
            self.git()
                .args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
                .arg(name),
            &format!("find {name} in the checkout"),
        )
        .await
        .map(|out| out.trim().to_string())
    }

    /// Fetches the followed branch and the tags into the checkout.
    async fn fetch(&self) -> Result<(), String> {
        self.own_checkout().await?;
        self.remove_stale_locks();
        run(
            self.git()
                // Maintenance after the fetch stays in the foreground: nothing of git's
                // may outlive the pull and hold a lock in the checkout.
                .args([
                    "-c",
                    "gc.autoDetach=false",
                    "-c",
                    "maintenance.autoDetach=false",
                ])
                .args(["fetch", "--quiet", "--", &self.url])
                .arg(format!(
                    "+refs/heads/{0}:{1}",
                    self.branch,
                    tracking(&self.branch)
                ))
                .arg("+refs/tags/*:refs/tags/*"),
            &format!("fetch branch {} from {}", self.branch, self.display_url()),
        )
        .await
        .map(drop)
    }

    /// Moves the checkout hard to `commit` and removes untracked files: hand edits never stay.
    async fn move_to(&self, commit: &str) -> Result<(), String> {
        run(
            self.git()
                .args(["reset", "--quiet", "--hard", "--end-of-options"])
                .arg(commit),
            &format!("move the checkout {} to {commit}", self.checkout.display()),
        )
        .await?;
        run(
            self.git().args(["clean", "--quiet", "-ffd"]),
            &format!(
                "remove untracked files from the checkout {}",
                self.checkout.display()
            ),
        )
        .await
        .map(drop)
    }

    /// At start-up: the checkout folder is absent, empty, or a checkout of its own.
    pub async fn check_folder(&self) -> Result<(), String> {
        let empty = std::fs::read_dir(&self.checkout)
            .map(|mut entries| entries.next().is_none())
            .unwrap_or(true);
        if empty {
            Ok(())
        } else {
            self.own_checkout().await
        }
    }

    /// Checks that the checkout folder is the top of a Git work tree of its own.
    async fn own_checkout(&self) -> Result<(), String> {
        let not_ours = || {
            format!(
                "{} holds files but is not a Git checkout of its own; with --git, pass an empty or absent folder to clone into (and keep --data-dir outside it)",
                self.checkout.display()
            )
        };
        if !self.checkout.join(".git").exists() {
            return Err(not_ours());
        }
        let top = run(
            self.git().args(["rev-parse", "--show-toplevel"]),
            "find the checkout's top",
        )
        .await
        .map_err(|_| not_ours())?;
        let top = Path::new(top.trim())
            .canonicalize()
            .map_err(|_| not_ours())?;
        if Some(top) != self.checkout.canonicalize().ok() {
            return Err(not_ours());
        }
        Ok(())
    }

    /// Removes the lock files a git command leaves behind when it is killed: by the appliance's
    /// shutdown or [`GIT_TIMEOUT`] mid-pull. Pulls run one at a time, their maintenance in the
    /// foreground, and the reconciler's `git status` takes no optional locks, so a lock found
    /// before a pull starts is stale; left there, every later pull would fail.
    fn remove_stale_locks(&self) {
        let git_dir = self.checkout.join(".git");
        let top = [
            "index.lock",
            "HEAD.lock",
            "packed-refs.lock",
            "shallow.lock",
            "config.lock",
        ]
        .map(|name| git_dir.join(name));
        let refs = walkdir::WalkDir::new(git_dir.join("refs"))
            .into_iter()
            .filter_map(Result::ok)
            .map(walkdir::DirEntry::into_path);
        for lock in top.into_iter().chain(refs) {
            if lock.extension().is_some_and(|e| e == "lock") && lock.is_file() {
                match std::fs::remove_file(&lock) {
                    Ok(()) => tracing::warn!(
                        "removed {}, left by a git command that was stopped mid-pull",
                        lock.display()
                    ),
                    Err(e) => tracing::error!(
                        "cannot remove the stale git lock {} ({e}); pulls fail until it is removed",
                        lock.display()
                    ),
                }
            }
        }
    }

    /// `git -C CHECKOUT`, never looking above the checkout for a repository.
    fn git(&self) -> Command {
        Command::from(crate::git::confined(&self.checkout))
    }

    /// Pulls every interval, or at once when `control.wake` rings (a webhook, an operator's
    /// act), moving the checkout where the node's latest act says; sends `Ok(synced)` after each
    /// successful pull and `Err(message)` after a failed one. Ends when the receiver is gone.
    pub async fn poll(
        self,
        control: Arc<Control>,
        tx: mpsc::UnboundedSender<Result<Synced, String>>,
    ) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.interval) => {}
                _ = control.wake.notified() => {}
            }
            let (target, _) = control.refresh().await;
            let synced = self.sync(&target).await;
            if let Ok(synced) = &synced {
                control.set_fetched(&synced.fetched);
            }
            if tx.send(synced).is_err() {
                return;
            }
        }
    }
}

/// The longest one git command may take; a hung fetch must not stop pulling for good.
const GIT_TIMEOUT: Duration = Duration::from_secs(300);

async fn run(command: &mut Command, what: &str) -> Result<String, String> {
    command.kill_on_drop(true);
    let out = tokio::time::timeout(GIT_TIMEOUT, command.output())
        .await
        .map_err(|_| {
            format!(
                "git took more than {}s to {what}; gave up",
                GIT_TIMEOUT.as_secs()
            )
        })?
        .map_err(|e| format!("cannot run git to {what}: {e}; is git installed?"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "git failed to {what}: {}",
            redact_all(String::from_utf8_lossy(&out.stderr).trim())
        ))
    }
}

/// `https://user:secret@host/repo` or `https://token@host/repo` → `https://***@host/repo`.
pub fn redact(url: &str) -> String {
    redact_all(url)
}

/// Hides the credentials (user and password, or a token) of every URL inside a text.
fn redact_all(text: &str) -> String {
    static CREDENTIALS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@").expect("valid regex")
    });
    CREDENTIALS.replace_all(text, "${1}***@").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_remote_urls_are_hidden() {
        assert_eq!(
            redact("https://ci:s3cret@git.example/city/spec.git"),
            "https://***@git.example/city/spec.git"
        );
        assert_eq!(
            redact("https://ghp_t0ken@git.example/city/spec.git"),
            "https://***@git.example/city/spec.git"
        );
        assert_eq!(redact("/srv/git/spec.git"), "/srv/git/spec.git");
        assert_eq!(
            redact_all("fatal: unable to access 'https://a:b@h/r': refused"),
            "fatal: unable to access 'https://***@h/r': refused"
        );
    }
}
