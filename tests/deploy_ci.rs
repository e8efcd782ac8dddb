//! The CI workflow a city copies into its spec repository (`deploy/ci/github-workflow.yml`) runs
//! real hromada commands: each `hromada …` line of it is run here against a Git checkout of a
//! spec tree, with the base branch standing in as `HEAD`, and must behave as the workflow expects.

mod common;

use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(["-c", "user.name=CI", "-c", "user.email=ci@example.invalid"])
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

/// The `hromada …` command lines of the workflow, with GitHub expressions replaced.
fn workflow_commands() -> Vec<Vec<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/ci/github-workflow.yml");
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.contains("pull_request"),
        "the workflow runs on pull requests"
    );
    assert!(
        text.contains("fetch-depth: 0"),
        "plan needs the base branch's history"
    );
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("run: ").or(Some(l.trim())))
        .filter(|l| l.starts_with("hromada "))
        .map(|l| {
            let l = l.split(['>', '|']).next().unwrap();
            l.replace("\"origin/${{ github.base_ref }}\"", "HEAD")
                .split_whitespace()
                .skip(1)
                .map(String::from)
                .collect()
        })
        .collect()
}

#[test]
fn the_workflow_commands_run_against_a_spec_checkout() {
    let commands = workflow_commands();
    assert!(commands.iter().any(|c| c[0] == "validate"), "{commands:?}");
    assert!(commands.iter().any(|c| c[0] == "plan"), "{commands:?}");
    assert!(commands.iter().any(|c| c[0] == "test"), "{commands:?}");

    let repo = tempfile::tempdir().unwrap();
    common::copy_tree(&common::minimal(), repo.path());
    common::copy_tree(&scenarios(), repo.path());
    git(repo.path(), &["init", "-q"]);
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-qm", "base"]);
    std::fs::write(
        repo.path().join("spec/roles.kdl"),
        "role \"registrar\" {\n    title \"Спеціаліст\"\n    permissions \"applications-read\"\n}\n",
    )
    .unwrap();

    for args in commands {
        let out = Command::new(env!("CARGO_BIN_EXE_hromada"))
            .args(&args)
            .current_dir(repo.path())
            .output()
            .unwrap();
        let code = out.status.code().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        match args[0].as_str() {
            "validate" => assert_eq!(code, 0, "hromada {args:?}: {stdout}"),
            "plan" => {
                assert_eq!(
                    code, 2,
                    "the pull request adds a role: hromada {args:?}: {stdout}"
                );
                assert!(stdout.contains("role"), "{stdout}");
            }
            "test" => {
                assert_eq!(code, 0, "hromada {args:?}: {stdout}");
                assert!(stdout.contains("2 passed, 0 failed"), "{stdout}");
            }
            other => panic!("the workflow runs an unexpected command: {other}"),
        }
    }
}

/// The small tree with scenarios that tests/scenarios.rs runs.
fn scenarios() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/scenarios")
}

#[test]
fn the_workflow_fails_a_pull_request_that_breaks_a_scenario() {
    let test = workflow_commands()
        .into_iter()
        .find(|c| c[0] == "test")
        .expect("the workflow runs hromada test");
    let repo = tempfile::tempdir().unwrap();
    common::copy_tree(&common::minimal(), repo.path());
    common::copy_tree(&scenarios(), repo.path());
    let file = repo.path().join("spec/scenarios.kdl");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replacen("outcome \"open\"", "outcome \"granted\"", 1),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hromada"))
        .args(&test)
        .current_dir(repo.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "the check fails: {stdout}");
    assert!(stdout.contains("FAIL connection-registry-down"), "{stdout}");
    assert!(stdout.contains("expected: granted"), "{stdout}");
}
