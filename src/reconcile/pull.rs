//! Pull mode: keeps a checkout of a Git remote's branch in the spec root, with the `git` CLI as
//! Argo CD's repo server does. The checkout belongs to the appliance: each pull resets it hard to
//! where the operators' acts say (`control`: the branch's head, a pinned commit, or where it is
//! while suspended), so local edits there never block an update, and none is ever applied
//! (`drift`). The remote's credentials are never written into the checkout (`git::credentials`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::process::Command;
use tokio::sync::mpsc;

use super::control::{Control, Target};
use super::drift::{self, DriftLog};
use crate::git::credentials;

/// The ref in the checkout naming the commit the appliance last moved it to: what a hand edit
/// is measured against, and reset to.
const CHECKED_OUT: &str = "refs/hromada/checkout";

#[derive(Debug, Clone)]
pub struct Remote {
    pub url: String,
    pub branch: String,
    pub interval: Duration,
    pub checkout: PathBuf,
    /// One git writer in the checkout at a time: a pull, a pin's look-up, or the reconciler
    /// settling drift and reading the tree.
    lock: Arc<tokio::sync::Mutex<()>>,
    drift: DriftLog,
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
    pub fn new(url: String, branch: String, interval: Duration, checkout: PathBuf) -> Remote {
        Remote {
            url,
            branch,
            interval,
            checkout,
            lock: Arc::default(),
            drift: DriftLog::default(),
        }
    }

    /// The URL without any password or token it carries, for logs and the status page.
    pub fn display_url(&self) -> String {
        redact(&self.url)
    }

    /// The drift found in the checkout, for the status.
    pub fn drift(&self) -> &DriftLog {
        &self.drift
    }

    /// Creates the checkout when its folder is absent or empty, then fetches the branch (and
    /// tags) and moves the checkout to `target`; a hand edit found there is reported
    /// ([`drift`]) and reset first. A folder that holds files but is not a checkout of its own is never
    /// touched: Git would otherwise act on whatever repository encloses it.
    pub async fn sync(&self, target: &Target) -> Result<Synced, String> {
        let _writing = self.lock.lock().await;
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
                self.git()
                    .args(["init", "--quiet", "--initial-branch"])
                    .arg(&self.branch),
                &format!("create a repository in {}", self.checkout.display()),
            )
            .await?;
        } else {
            self.prepare().await?;
        }
        let fetched = self.fetch().await;
        // After the fetch, even a failed one: a hand edit made while fetching is reported too.
        if !empty {
            self.reset_drift().await?;
        }
        fetched?;
        let checkout = match target {
            Target::Follow => self.move_to_commit(&tracking(&self.branch)).await?,
            Target::Hold => match self.rev_parse("HEAD").await {
                Ok(commit) => commit,
                // A new checkout has nothing to hold yet: it starts at the branch's head.
                Err(_) => self.move_to_commit(&tracking(&self.branch)).await?,
            },
            Target::Pin(commit) => {
                if self
                    .rev_parse(&format!("{commit}^{{commit}}"))
                    .await
                    .is_err()
                {
                    return Err(format!(
                        "the pinned commit {} is not in what was fetched from {}; pin another \
                         or resume following the branch",
                        crate::identity::short(commit),
                        self.display_url()
                    ));
                }
                self.move_to_commit(commit).await?
            }
        };
        let fetched = self.rev_parse(&tracking(&self.branch)).await?;
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
        let _writing = self.lock.lock().await;
        if !self.checkout.join(".git").exists() {
            return Err(format!(
                "the checkout {} holds no repository yet; try again once the first pull is done",
                self.checkout.display()
            ));
        }
        self.prepare().await?;
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

    /// Before git writes in an existing checkout: it is a checkout of its own, no lock of a
    /// killed git command is left, and no credentials of an older version are kept in it.
    async fn prepare(&self) -> Result<(), String> {
        self.own_checkout().await?;
        self.remove_stale_locks();
        self.scrub_credentials();
        Ok(())
    }

    /// Fetches the followed branch and the tags into the checkout, the token given to this git
    /// call only.
    async fn fetch(&self) -> Result<(), String> {
        let remote = credentials::Remote::parse(&self.url);
        let mut fetch = self.git();
        remote.authorise(fetch.as_std_mut());
        run(
            // Maintenance after the fetch stays in the foreground: nothing of git's may outlive
            // the pull and hold a lock in the checkout.
            fetch
                .args([
                    "-c",
                    "gc.autoDetach=false",
                    "-c",
                    "maintenance.autoDetach=false",
                ])
                .args(["fetch", "--quiet", "--", &remote.url])
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

    /// Waits for any pull to finish and keeps the checkout as it is until the returned guard is
    /// dropped: the reconciler reads the tree under it, between calls to [`Remote::undrift`].
    pub async fn hold(&self) -> Held<'_> {
        Held {
            _writing: self.lock.lock().await,
        }
    }

    /// The commit the appliance last moved the checkout to, if it did.
    async fn checked_out(&self) -> Option<String> {
        run(
            self.git()
                .args(["rev-parse", "--verify", "--quiet"])
                .arg(format!("{CHECKED_OUT}^{{commit}}")),
            "read the commit last checked out",
        )
        .await
        .ok()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
    }

    /// Finds and reports drift, and resets the checkout to the commit last checked out; true
    /// when there was drift. A checkout made by an older version, which has no record of that
    /// commit, is left as it is until the next pull moves it.
    pub async fn undrift(&self, _held: &Held<'_>) -> Result<bool, String> {
        self.reset_drift().await
    }

    async fn reset_drift(&self) -> Result<bool, String> {
        let Some(expected) = self.checked_out().await else {
            return Ok(false);
        };
        let Some(found) = drift::detect(&self.checkout, &expected).await? else {
            return Ok(false);
        };
        // Recorded once reset, so that whoever sees it in the status finds the checkout clean.
        let reset = self.move_to(&expected).await;
        self.drift.record(&self.checkout, found, &expected);
        reset.map(|_| true)
    }

    /// Moves the checkout to the commit `target` names, unless [`Remote::reset_drift`] just
    /// found it there and untouched: a checkout that stays where it is is never reset blindly,
    /// which would overwrite a hand edit made since without reporting it.
    async fn move_to_commit(&self, target: &str) -> Result<String, String> {
        let commit = self.rev_parse(&format!("{target}^{{commit}}")).await?;
        if self.checked_out().await.as_deref() == Some(commit.as_str()) {
            return Ok(commit);
        }
        self.move_to(&commit).await
    }

    /// Resets the checkout hard to `target`, removes what is not in it (and, in the spec
    /// folders, what is ignored), and records the commit it is now at.
    async fn move_to(&self, target: &str) -> Result<String, String> {
        run(
            self.git()
                .args(["reset", "--quiet", "--hard", "--end-of-options"])
                .arg(target),
            &format!("move the checkout {} to {target}", self.checkout.display()),
        )
        .await?;
        run(
            self.git().args(["clean", "--quiet", "-ffd"]),
            &format!(
                "remove untracked files from the checkout {}",
                self.checkout.display()
            ),
        )
        .await?;
        run(
            self.git()
                .args(["clean", "--quiet", "-ffdx", "--"])
                .args(crate::spec::source::SPEC_FOLDERS),
            &format!(
                "remove ignored files from the spec folders of {}",
                self.checkout.display()
            ),
        )
        .await?;
        let commit = run(
            self.git().args(["rev-parse", "HEAD"]),
            "read the checked-out commit",
        )
        .await?
        .trim()
        .to_string();
        run(
            self.git().args(["update-ref", CHECKED_OUT, &commit]),
            "record the checked-out commit",
        )
        .await?;
        Ok(commit)
    }

    /// Removes the credentials an older version's clone wrote into the checkout's config.
    fn scrub_credentials(&self) {
        match credentials::scrub(&self.checkout) {
            Ok(cleaned) if cleaned.is_empty() => {}
            Ok(cleaned) => tracing::warn!(
                "removed the credentials of {} from {}: the remote's token is given to git on each pull, never kept in the checkout",
                cleaned.join(", "),
                self.checkout.join(".git/config").display()
            ),
            Err(e) => tracing::error!("{e}"),
        }
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

/// Proof that the checkout is held: no pull moves it meanwhile.
pub struct Held<'a> {
    _writing: tokio::sync::MutexGuard<'a, ()>,
}

/// The longest one git command may take; a hung fetch must not stop pulling for good.
const GIT_TIMEOUT: Duration = Duration::from_secs(300);

pub(super) async fn run(command: &mut Command, what: &str) -> Result<String, String> {
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
