//! Pull mode: keeps a checkout of a Git remote's branch in the spec root, with the `git` CLI as
//! Argo CD's repo server does. The checkout belongs to the appliance: each pull resets it hard to
//! the remote branch, so local edits there never block an update.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;
use tokio::sync::mpsc;

#[derive(Debug, Clone)]
pub struct Remote {
    pub url: String,
    pub branch: String,
    pub interval: Duration,
    pub checkout: PathBuf,
}

impl Remote {
    /// The URL without any password or token it carries, for logs and the status page.
    pub fn display_url(&self) -> String {
        redact(&self.url)
    }

    /// Clones the remote when the checkout folder is absent or empty, then fetches the branch and
    /// moves the checkout to it. Returns the commit the checkout is at.
    pub async fn sync(&self) -> Result<String, String> {
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
                Command::new("git")
                    .args(["clone", "--quiet", "--single-branch", "--branch"])
                    .arg(&self.branch)
                    .arg("--")
                    .arg(&self.url)
                    .arg(&self.checkout),
                &format!("clone {} (branch {})", self.display_url(), self.branch),
            )
            .await?;
        } else {
            run(
                git(&self.checkout)
                    .args(["fetch", "--quiet", "--", &self.url])
                    .arg(format!(
                        "+refs/heads/{0}:refs/remotes/hromada/{0}",
                        self.branch
                    )),
                &format!("fetch branch {} from {}", self.branch, self.display_url()),
            )
            .await?;
            run(
                git(&self.checkout)
                    .args(["reset", "--quiet", "--hard"])
                    .arg(format!("refs/remotes/hromada/{}", self.branch)),
                &format!(
                    "move the checkout {} to the fetched branch",
                    self.checkout.display()
                ),
            )
            .await?;
        }
        run(
            git(&self.checkout).args(["rev-parse", "HEAD"]),
            "read the checked-out commit",
        )
        .await
        .map(|out| out.trim().to_string())
    }

    /// Pulls every interval; sends `Ok(commit)` after each successful pull and `Err(message)`
    /// after a failed one. Ends when the receiver is gone.
    pub async fn poll(self, tx: mpsc::UnboundedSender<Result<String, String>>) {
        loop {
            tokio::time::sleep(self.interval).await;
            if tx.send(self.sync().await).is_err() {
                return;
            }
        }
    }
}

fn git(dir: &Path) -> Command {
    let mut command = Command::new("git");
    command.arg("-C").arg(dir);
    command
}

async fn run(command: &mut Command, what: &str) -> Result<String, String> {
    command.env("GIT_TERMINAL_PROMPT", "0").kill_on_drop(true);
    let out = command
        .output()
        .await
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

/// `https://user:secret@host/repo` → `https://user:***@host/repo`.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// Hides the password of every URL inside a message of git's.
fn redact_all(text: &str) -> String {
    static CREDENTIALS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"([A-Za-z][A-Za-z0-9+.-]*://[^/@\s:]*:)[^@\s/]*@").expect("valid regex")
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
            "https://ci:***@git.example/city/spec.git"
        );
        assert_eq!(redact("/srv/git/spec.git"), "/srv/git/spec.git");
        assert_eq!(
            redact_all("fatal: unable to access 'https://a:b@h/r': refused"),
            "fatal: unable to access 'https://a:***@h/r': refused"
        );
    }
}
