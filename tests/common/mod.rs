//! Helpers shared by the integration tests: copying spec trees into temporary folders, a
//! throwaway PostgreSQL cluster (`postgres`) and a database per test on either backend (`db`).
#![allow(dead_code)]

use std::path::Path;

/// Copies the folder `from` into `to`, leaving out development keys and fixture expectations.
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(from).unwrap();
        if rel.starts_with("dev-keys") || rel == Path::new("expected.txt") {
            continue;
        }
        let target = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The repository's `examples/minimal`.
pub fn minimal() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/minimal")
}

pub mod appliance;
pub mod city;
pub mod db;
pub mod federation;
pub mod git;
pub mod postgres;
pub mod tls;
pub mod xroad;

/// Runs the `hromada` binary with `args` to its end.
pub fn hromada<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_hromada"))
        .args(args)
        .output()
        .unwrap()
}

/// Polls `check` every 100 ms until it holds or 30 s have passed; whether it held.
pub async fn holds_within_30s<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = std::time::Instant::now();
    loop {
        if check().await {
            return true;
        }
        if start.elapsed() >= std::time::Duration::from_secs(30) {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

pub mod smtp;

pub mod oidc;

pub mod clamd;
