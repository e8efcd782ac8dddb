//! Every `git` the appliance runs starts here, with one environment: it never prompts for
//! credentials, takes no optional lock (a read must not race a pull for `index.lock`), and a
//! remote that stalls or asks for a password fails instead of hanging.

pub mod credentials;
pub mod tree;
pub mod verify;

use std::path::Path;
use std::process::Command;

/// `git -C dir`: Git finds the repository holding `dir`, wherever it starts.
pub fn at(dir: &Path) -> Command {
    let mut command = anywhere();
    command.arg("-C").arg(dir);
    command
}

/// `git -C dir`, never looking above `dir` for a repository: for a checkout the appliance owns,
/// so that Git never acts on a repository that encloses it.
pub fn confined(dir: &Path) -> Command {
    let mut command = at(dir);
    if let Some(parent) = dir
        .canonicalize()
        .ok()
        .and_then(|c| c.parent().map(Path::to_path_buf))
    {
        command.env("GIT_CEILING_DIRECTORIES", parent);
    }
    command
}

/// `git` in no particular folder (a clone names its target).
pub fn anywhere() -> Command {
    let mut command = Command::new("git");
    command
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .env("GIT_HTTP_LOW_SPEED_LIMIT", "1000")
        .env("GIT_HTTP_LOW_SPEED_TIME", "60")
        .env(
            "GIT_SSH_COMMAND",
            "ssh -o BatchMode=yes -o ConnectTimeout=30",
        );
    command
}

/// The commit `HEAD` of the repository holding `dir`; `None` outside one, or without `git`.
pub fn head(dir: &Path) -> Option<String> {
    let out = at(dir)
        .args(["rev-parse", "--verify", "--quiet", "HEAD"])
        .output()
        .ok()?;
    let commit = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !commit.is_empty()).then_some(commit)
}

/// Whether none of `paths` (relative to `dir`) differs from the commit checked out in `dir`:
/// modified, staged, untracked or ignored. `None` outside a repository, or without `git`.
pub fn unchanged<S: AsRef<std::ffi::OsStr>>(
    dir: &Path,
    paths: impl IntoIterator<Item = S>,
) -> Option<bool> {
    let status = at(dir)
        .args([
            "status",
            "--porcelain",
            "--untracked-files=all",
            "--ignored=matching",
            "--",
        ])
        .args(paths)
        .output()
        .ok()?;
    status.status.success().then_some(status.stdout.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(command: &Command, name: &str) -> Option<String> {
        command
            .get_envs()
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v.map(|v| v.to_string_lossy().into_owned()))
    }

    #[test]
    fn every_invocation_never_prompts_and_takes_no_optional_lock() {
        let dir = std::env::temp_dir();
        for command in [anywhere(), at(&dir), confined(&dir)] {
            assert_eq!(
                env_of(&command, "GIT_TERMINAL_PROMPT").as_deref(),
                Some("0")
            );
            assert_eq!(env_of(&command, "GIT_OPTIONAL_LOCKS").as_deref(), Some("0"));
        }
        assert_eq!(env_of(&at(&dir), "GIT_CEILING_DIRECTORIES"), None);
    }

    #[test]
    fn a_confined_git_stops_at_the_folder_it_runs_in() {
        let dir = std::env::temp_dir().canonicalize().unwrap();
        let ceiling = env_of(&confined(&dir), "GIT_CEILING_DIRECTORIES").unwrap();
        assert_eq!(Path::new(&ceiling), dir.parent().unwrap());
    }

    #[test]
    fn a_confined_git_does_not_see_the_repository_around_its_folder() {
        let top = std::env::temp_dir().join(format!("hromada-git-{}", std::process::id()));
        let inner = top.join("checkout");
        std::fs::create_dir_all(&inner).unwrap();
        let init = at(&top).args(["init", "--quiet"]).status().unwrap();
        assert!(init.success());
        let found = |mut command: Command| {
            command
                .args(["rev-parse", "--show-toplevel"])
                .output()
                .unwrap()
                .status
                .success()
        };
        assert!(
            found(at(&inner)),
            "plain `git -C` finds the enclosing repository"
        );
        assert!(
            !found(confined(&inner)),
            "a confined git must not act on the enclosing repository"
        );
        std::fs::remove_dir_all(&top).unwrap();
    }
}
