//! `git` as the tests' author runs it in a work tree or a bare repository, with neither the
//! machine's nor the user's git configuration.

use std::path::Path;
use std::process::Command;

/// `git -C dir ARGS` with `env`, as the test's author; its trimmed output (panics on failure).
pub fn git_with(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> String {
    let mut command = Command::new("git");
    command
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.invalid",
        ])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `git -C dir ARGS` as the test's author; its trimmed output (panics on failure).
pub fn git(dir: &Path, args: &[&str]) -> String {
    git_with(dir, args, &[])
}
