//! Trust in what is applied: only commits signed by a key given to `serve` apply (SSH keys made
//! with `ssh-keygen`, OpenPGP keys with `gpg`), a hand edit of the `--git` checkout is reported
//! and reset, never applied, and the remote's token never lands in the checkout (a real
//! `git http-backend` behind Basic authentication on loopback).

use crate::common::git::{git, git_with};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::appliance::{Appliance, example_city};

const OFFICIALS: &str = "spec/registry/officials.kdl";
const NAME: &str = "Литвиненко Ірина Василівна";

/// How a test commit is signed.
enum Signing<'a> {
    Unsigned,
    Ssh(&'a SshKey),
    OpenPgp(&'a GpgKey),
}

/// Commits everything in `work` (maybe nothing) with `message`, signed as asked; the new
/// commit's id.
fn commit(work: &Path, signing: Signing, message: &str) -> String {
    git(work, &["add", "-A"]);
    match signing {
        Signing::Unsigned => git(work, &["commit", "--quiet", "--allow-empty", "-m", message]),
        Signing::Ssh(key) => git(
            work,
            &[
                "-c",
                "gpg.format=ssh",
                "-c",
                &format!("user.signingkey={}", key.private.display()),
                "commit",
                "--quiet",
                "--allow-empty",
                "-S",
                "-m",
                message,
            ],
        ),
        Signing::OpenPgp(key) => git_with(
            work,
            &[
                "-c",
                "gpg.format=openpgp",
                "-c",
                &format!("user.signingkey={}", key.fingerprint),
                "commit",
                "--quiet",
                "--allow-empty",
                "-S",
                "-m",
                message,
            ],
            &[("GNUPGHOME", key.home.path())],
        ),
    };
    git(work, &["rev-parse", "HEAD"])
}

/// Replaces text in a file of the tree atomically, as an editor or `git` does.
fn edit(root: &Path, file: &str, from: &str, to: &str) {
    let path = root.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} has no `{from}`");
    let staging = path.with_extension("kdl.new");
    std::fs::write(&staging, text.replacen(from, to, 1)).unwrap();
    std::fs::rename(&staging, &path).unwrap();
}

/// The example city committed in a work repository (by `signing`) and pushed to a bare one.
struct Repos {
    work: tempfile::TempDir,
    remote: tempfile::TempDir,
    first: String,
}

impl Repos {
    fn new(signing: Signing) -> Repos {
        let work = tempfile::tempdir().unwrap();
        example_city(work.path());
        git(work.path(), &["init", "--quiet", "--initial-branch=main"]);
        let first = commit(work.path(), signing, "city");
        let remote = tempfile::tempdir().unwrap();
        git(remote.path(), &["init", "--quiet", "--bare"]);
        let repos = Repos {
            work,
            remote,
            first,
        };
        repos.push();
        repos
    }

    fn url(&self) -> String {
        format!("file://{}", self.remote.path().display())
    }

    fn push(&self) {
        git(self.work.path(), &["push", "--quiet", &self.url(), "main"]);
    }

    /// Renames the official to `name` in a commit signed as asked, pushed; the commit's id.
    fn rename(&self, from: &str, to: &str, signing: Signing) -> String {
        edit(self.work.path(), OFFICIALS, from, to);
        let commit = commit(self.work.path(), signing, &format!("rename to {to}"));
        self.push();
        commit
    }
}

struct SshKey {
    private: PathBuf,
    public: String,
    fingerprint: String,
}

fn ssh_key(dir: &Path, name: &str) -> SshKey {
    let private = dir.join(name);
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&private)
        .output()
        .expect("ssh-keygen runs (openssh-client)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let public = std::fs::read_to_string(private.with_extension("pub"))
        .unwrap()
        .trim()
        .to_string();
    let listed = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(private.with_extension("pub"))
        .output()
        .unwrap();
    let fingerprint = String::from_utf8_lossy(&listed.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    SshKey {
        private,
        public,
        fingerprint,
    }
}

/// An OpenPGP key in a keyring of its own; the keyring's agent is stopped when it is dropped.
struct GpgKey {
    home: tempfile::TempDir,
    fingerprint: String,
}

impl GpgKey {
    fn new(user_id: &str) -> GpgKey {
        let home = tempfile::Builder::new().prefix("gpg").tempdir().unwrap();
        let gpg = |args: &[&str]| {
            let out = Command::new("gpg")
                .env("GNUPGHOME", home.path())
                .args(["--batch", "--no-tty", "--quiet"])
                .args(args)
                .output()
                .expect("gpg runs (gnupg)");
            assert!(
                out.status.success(),
                "gpg {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        gpg(&[
            "--passphrase",
            "",
            "--quick-gen-key",
            user_id,
            "ed25519",
            "sign",
            "never",
        ]);
        let listed = gpg(&["--with-colons", "--list-keys"]);
        let fingerprint = listed
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .and_then(|l| l.split(':').find(|f| !f.is_empty()))
            .unwrap()
            .to_string();
        GpgKey { home, fingerprint }
    }

    fn export(&self, to: &Path) {
        let out = Command::new("gpg")
            .env("GNUPGHOME", self.home.path())
            .args(["--batch", "--armor", "--export", &self.fingerprint])
            .output()
            .unwrap();
        assert!(out.status.success() && !out.stdout.is_empty());
        std::fs::write(to, out.stdout).unwrap();
    }
}

impl Drop for GpgKey {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.home.path())
            .args(["--kill", "gpg-agent"])
            .status();
    }
}

/// Waits until `commit` has been attempted; the status then.
fn attempted(app: &Appliance, commit: &str) -> serde_json::Value {
    app.wait_for(&format!("commit {commit} to be attempted"), |s| {
        s["last_attempt"]["revision"] == commit
    })
}

/// Asserts that the last attempt refused `commit` with H0007 saying `says`, the signature's
/// verdict `verdict`, and `serving` still applied; the signature as the status shows it.
fn assert_refused(
    status: &serde_json::Value,
    commit: &str,
    verdict: &str,
    says: &str,
    serving: &str,
) -> serde_json::Value {
    let attempt = &status["last_attempt"];
    assert_eq!(attempt["outcome"], "refused", "{status:#}");
    let diagnostic = attempt["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "H0007")
        .unwrap_or_else(|| panic!("no H0007 refusal: {status:#}"));
    let summary = diagnostic["summary"].as_str().unwrap();
    assert!(summary.contains(&commit[..12]), "{summary}");
    assert!(summary.contains(says), "{summary}");
    let signature = status["signatures"]["last_attempt"].clone();
    assert_eq!(signature["revision"], commit, "{status:#}");
    assert_eq!(signature["verdict"], verdict, "{status:#}");
    assert_eq!(
        status["applied"]["revision"], serving,
        "the last good revision keeps serving"
    );
    signature
}

#[test]
fn only_commits_signed_by_an_allowed_ssh_key_apply_and_status_names_the_signer() {
    let keys = tempfile::tempdir().unwrap();
    let release = ssh_key(keys.path(), "release");
    let stranger = ssh_key(keys.path(), "stranger");
    let allowed = keys.path().join("allowed_signers");
    std::fs::write(
        &allowed,
        format!(
            "# who may change the city's spec\nrelease@city.example namespaces=\"git\" {}\n",
            release.public
        ),
    )
    .unwrap();
    let repos = Repos::new(Signing::Ssh(&release));
    let data = tempfile::tempdir().unwrap();
    let app = Appliance::start(
        &data.path().join("checkout"),
        &data.path().join("state"),
        &[
            "--git",
            &repos.url(),
            "--interval",
            "200ms",
            "--git-allowed-signers",
            allowed.to_str().unwrap(),
        ],
    );
    let status = app.wait_for("the signed first commit", |s| s["ready"] == true);
    assert_eq!(status["applied"]["revision"], repos.first.as_str());
    let signed = &status["signatures"]["applied"];
    assert_eq!(signed["verdict"], "trusted", "{status:#}");
    assert_eq!(signed["format"], "ssh");
    assert_eq!(signed["principal"], "release@city.example");
    assert_eq!(signed["fingerprint"], release.fingerprint.as_str());
    assert_eq!(
        status["signatures"]["keys"][0],
        allowed.to_str().unwrap(),
        "{status:#}"
    );

    // Unsigned: refused like an invalid revision, the signed one keeps serving.
    let unsigned = repos.rename(NAME, "Литвиненко Ірина Петрівна", Signing::Unsigned);
    let status = attempted(&app, &unsigned);
    let signature = assert_refused(
        &status,
        &unsigned,
        "unsigned",
        "is not signed",
        &repos.first,
    );
    assert!(signature["fingerprint"].is_null());

    // The same tree in a signed commit on top is a new attempt, and applies.
    let twin = commit(repos.work.path(), Signing::Ssh(&release), "sign the rename");
    repos.push();
    app.wait_for("the signed twin", |s| s["applied"]["revision"] == twin);

    // Signed by a key that is not allowed: the status names that key.
    let strangers = repos.rename(
        "Литвиненко Ірина Петрівна",
        "Литвиненко Ірина Іванівна",
        Signing::Ssh(&stranger),
    );
    let status = attempted(&app, &strangers);
    let signature = assert_refused(&status, &strangers, "untrusted", "not a trusted key", &twin);
    assert_eq!(signature["fingerprint"], stranger.fingerprint.as_str());
    assert!(
        signature["reason"]
            .as_str()
            .unwrap()
            .contains("not in the allowed signers"),
        "{signature:#}"
    );

    // Signed by the allowed key, then changed: the signature no longer matches the commit.
    edit(
        repos.work.path(),
        OFFICIALS,
        "Литвиненко Ірина Іванівна",
        "Литвиненко Ірина Олегівна",
    );
    commit(repos.work.path(), Signing::Ssh(&release), "rename, signed");
    let raw = Command::new("git")
        .arg("-C")
        .arg(repos.work.path())
        .args(["cat-file", "commit", "HEAD"])
        .output()
        .unwrap()
        .stdout;
    let forged_text = String::from_utf8(raw)
        .unwrap()
        .replace("rename, signed", "rename, signed and approved");
    let forged_file = keys.path().join("forged-commit");
    std::fs::write(&forged_file, forged_text).unwrap();
    let forged = git(
        repos.work.path(),
        &[
            "hash-object",
            "-t",
            "commit",
            "-w",
            forged_file.to_str().unwrap(),
        ],
    );
    git(
        repos.work.path(),
        &["update-ref", "refs/heads/main", &forged],
    );
    repos.push();
    let status = attempted(&app, &forged);
    assert_refused(&status, &forged, "bad", "does not match", &twin);

    // A later signed commit applies, whatever was refused before it.
    let good = repos.rename(
        "Литвиненко Ірина Олегівна",
        "Литвиненко Ірина Петрівна",
        Signing::Ssh(&release),
    );
    let status = app.wait_for("the signed fix", |s| s["applied"]["revision"] == good);
    assert_eq!(status["signatures"]["applied"]["revision"], good.as_str());
    assert_eq!(status["signatures"]["applied"]["verdict"], "trusted");

    let out = crate::common::hromada(&["status", "--url", &app.url]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "by release@city.example (SSH key {})",
            release.fingerprint
        )),
        "{text}"
    );
    assert!(app.log().contains("is not signed"), "{}", app.log());
}

#[test]
fn in_a_checkout_folder_only_commits_signed_by_a_trusted_openpgp_key_apply() {
    let release = GpgKey::new("Release <release@city.example>");
    let stranger = GpgKey::new("Stranger <stranger@example.invalid>");
    let keys = tempfile::tempdir().unwrap();
    let trusted = keys.path().join("trusted.asc");
    release.export(&trusted);
    let repos = Repos::new(Signing::OpenPgp(&release));
    // The operator's folder: a clone, moved to new commits as `git pull` would.
    let folder = tempfile::tempdir().unwrap();
    git(
        folder.path(),
        &["clone", "--quiet", "--branch", "main", &repos.url(), "city"],
    );
    let root = folder.path().join("city");
    let pull = || {
        git(&root, &["fetch", "--quiet", "origin"]);
        git(&root, &["reset", "--quiet", "--hard", "origin/main"]);
    };
    let data = tempfile::tempdir().unwrap();
    // The user's own keyring trusts the stranger: it must play no part.
    let app = Appliance::start_with(
        &root,
        data.path(),
        &["--git-trusted-keys", trusted.to_str().unwrap()],
        &[("GNUPGHOME", stranger.home.path().to_str().unwrap())],
    );
    let status = app.wait_for("the signed first commit", |s| s["ready"] == true);
    assert_eq!(status["applied"]["revision"], repos.first.as_str());
    let signed = &status["signatures"]["applied"];
    assert_eq!(signed["verdict"], "trusted", "{status:#}");
    assert_eq!(signed["format"], "openpgp");
    assert_eq!(signed["fingerprint"], release.fingerprint.as_str());
    assert_eq!(signed["principal"], "Release <release@city.example>");

    // An edit in the folder that no commit holds has no signature.
    edit(&root, OFFICIALS, NAME, "Литвиненко Ірина Петрівна");
    let status = app.wait_for("the uncommitted edit", |s| {
        s["last_attempt"]["revision"]
            .as_str()
            .is_some_and(|r| r.starts_with("sha256:"))
    });
    assert_eq!(status["last_attempt"]["outcome"], "refused");
    assert_eq!(
        status["signatures"]["last_attempt"]["verdict"],
        "uncommitted"
    );
    assert_eq!(status["applied"]["revision"], repos.first.as_str());

    let unsigned = repos.rename(NAME, "Литвиненко Ірина Петрівна", Signing::Unsigned);
    pull();
    let status = attempted(&app, &unsigned);
    assert_refused(
        &status,
        &unsigned,
        "unsigned",
        "is not signed",
        &repos.first,
    );

    let strangers = repos.rename(
        "Литвиненко Ірина Петрівна",
        "Литвиненко Ірина Іванівна",
        Signing::OpenPgp(&stranger),
    );
    pull();
    let status = attempted(&app, &strangers);
    let signature = assert_refused(
        &status,
        &strangers,
        "untrusted",
        "not a trusted key",
        &repos.first,
    );
    let key = signature["fingerprint"].as_str().unwrap();
    assert!(
        stranger.fingerprint.ends_with(key),
        "the stranger's key {key} is named"
    );

    let good = repos.rename(
        "Литвиненко Ірина Іванівна",
        "Литвиненко Ірина Олегівна",
        Signing::OpenPgp(&release),
    );
    pull();
    app.wait_for("the signed fix", |s| s["applied"]["revision"] == good);

    // The trusted keys are read again when their file changes: the release key is withdrawn.
    stranger.export(&trusted);
    let withdrawn = repos.rename(
        "Литвиненко Ірина Олегівна",
        "Литвиненко Ірина Петрівна",
        Signing::OpenPgp(&release),
    );
    pull();
    let status = attempted(&app, &withdrawn);
    assert_refused(&status, &withdrawn, "untrusted", "not a trusted key", &good);
}

#[test]
fn signature_options_that_cannot_work_stop_serve_at_start() {
    let data = tempfile::tempdir().unwrap();
    let city = tempfile::tempdir().unwrap();
    example_city(city.path());
    let missing = data.path().join("no-such-signers");
    let out = crate::common::hromada(&[
        "serve",
        city.path().to_str().unwrap(),
        "--data-dir",
        data.path().to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--git-allowed-signers",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot read the allowed signers") && err.contains("no-such-signers"),
        "{err}"
    );

    let garbage = data.path().join("keys.asc");
    std::fs::write(&garbage, "not a key\n").unwrap();
    let out = crate::common::hromada(&[
        "serve",
        city.path().to_str().unwrap(),
        "--data-dir",
        data.path().to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--git-trusted-keys",
        garbage.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("keys.asc"), "{err}");

    let keys = tempfile::tempdir().unwrap();
    let key = ssh_key(keys.path(), "release");
    let allowed = keys.path().join("allowed_signers");
    std::fs::write(&allowed, format!("release@city.example {}\n", key.public)).unwrap();
    let out = crate::common::hromada(&[
        "serve",
        city.path().to_str().unwrap(),
        "--data-dir",
        data.path().to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--git-allowed-signers",
        allowed.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a Git checkout of a commit"), "{err}");
}

/// A commit on top of `repo`'s HEAD with `file` holding `text`, made without touching the work
/// tree (as a script committing by hand would leave it for the next pull to find).
fn local_commit(repo: &Path, file: &str, text: &str) -> String {
    let scratch = tempfile::tempdir().unwrap();
    let index = scratch.path().join("index");
    let content = scratch.path().join("content");
    std::fs::write(&content, text).unwrap();
    let env = [("GIT_INDEX_FILE", index.as_path())];
    git_with(repo, &["read-tree", "HEAD"], &env);
    let blob = git(repo, &["hash-object", "-w", content.to_str().unwrap()]);
    git_with(
        repo,
        &[
            "update-index",
            "--cacheinfo",
            &format!("100644,{blob},{file}"),
        ],
        &env,
    );
    let tree = git_with(repo, &["write-tree"], &env);
    let commit = git(repo, &["commit-tree", &tree, "-p", "HEAD", "-m", "local"]);
    git(repo, &["update-ref", "HEAD", &commit]);
    commit
}

#[test]
fn a_hand_edit_in_the_checkout_is_reported_reset_and_never_applied() {
    let repos = Repos::new(Signing::Unsigned);
    let data = tempfile::tempdir().unwrap();
    let checkout = data.path().join("checkout");
    let app = Appliance::start(
        &checkout,
        &data.path().join("state"),
        &["--git", &repos.url(), "--interval", "200ms"],
    );
    let status = app.wait_for("the first commit", |s| s["ready"] == true);
    assert_eq!(status["applied"]["revision"], repos.first.as_str());
    assert!(status["drift"].is_null(), "{status:#}");
    let pulled = std::fs::read_to_string(checkout.join(OFFICIALS)).unwrap();
    let drift_naming = |file: &str| {
        app.wait_for(&format!("drift naming {file}"), |s| {
            s["drift"]["files"]
                .as_array()
                .is_some_and(|files| files.iter().any(|f| f == file))
        })
    };

    // A changed file and an added one.
    edit(&checkout, OFFICIALS, NAME, "Вручну Змінена Особа");
    std::fs::write(checkout.join("spec/extra.kdl"), "// added by hand\n").unwrap();
    let status = drift_naming("spec/extra.kdl");
    assert_eq!(status["drift"]["reset_to"], repos.first.as_str());
    assert!(status["drift"]["head"].is_null(), "HEAD stayed: {status:#}");

    // A removed file.
    std::fs::remove_file(checkout.join("spec/system.kdl")).unwrap();
    drift_naming("spec/system.kdl");

    // A local commit.
    let local = local_commit(&checkout, OFFICIALS, "// emptied by a local commit\n");
    let status = app.wait_for("drift by a local commit", |s| s["drift"]["head"] == local);
    assert!(
        status["drift"]["count"].as_u64().unwrap() >= 3,
        "{status:#}"
    );
    assert!(
        status["drift"]["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == OFFICIALS),
        "{status:#}"
    );

    let wait_reset = |what: &str| {
        for _ in 0..600 {
            let head = git(&checkout, &["rev-parse", "HEAD"]);
            let clean = git(&checkout, &["status", "--porcelain"]).is_empty();
            if head == repos.first && clean {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the checkout was not reset after {what}\n{}", app.log());
    };
    wait_reset("the local commit");
    assert_eq!(
        std::fs::read_to_string(checkout.join(OFFICIALS)).unwrap(),
        pulled
    );
    assert!(!checkout.join("spec/extra.kdl").exists());
    assert!(checkout.join("spec/system.kdl").is_file());

    // Nothing of it was ever applied, or even attempted.
    let status = app.status();
    assert_eq!(status["applied"]["revision"], repos.first.as_str());
    for attempt in status["history"].as_array().unwrap() {
        assert_eq!(attempt["revision"], repos.first.as_str(), "{status:#}");
    }
    let (_, metrics) = app.get("/metrics");
    let drift_total = metrics
        .lines()
        .find_map(|l| l.strip_prefix("hromada_source_drift_total "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no hromada_source_drift_total in {metrics}"));
    assert!(drift_total >= 3.0, "{drift_total}");
    let log = app.log();
    assert!(
        log.contains("changed by hand") && log.contains(OFFICIALS),
        "the log names the files: {log}"
    );
    assert!(
        !log.contains("Вручну") && !log.contains("emptied by a local commit"),
        "the log never shows what the files hold: {log}"
    );

    // The remote's next commit still applies.
    let next = repos.rename(NAME, "Литвиненко Ірина Петрівна", Signing::Unsigned);
    app.wait_for("the next pushed commit", |s| {
        s["applied"]["revision"] == next
    });
    let out = crate::common::hromada(&["status", "--url", &app.url]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("hand edit(s) of the checkout reset"),
        "{text}"
    );
}

mod http_git {
    //! A Git smart-HTTP server on loopback: `git http-backend` as CGI behind HTTP Basic
    //! authentication, counting the requests that came with the right credentials.

    use std::path::PathBuf;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{HeaderMap, Method, StatusCode, Uri};
    use axum::response::{IntoResponse, Response};
    use base64::Engine;

    #[derive(Clone)]
    pub struct Server {
        pub projects: PathBuf,
        pub credentials: String,
        pub authorised: Arc<AtomicUsize>,
    }

    pub fn router(server: Server) -> axum::Router {
        axum::Router::new().fallback(cgi).with_state(server)
    }

    async fn cgi(
        State(server): State<Server>,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(&server.credentials)
        );
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&expected) {
            return (
                StatusCode::UNAUTHORIZED,
                [("www-authenticate", "Basic realm=\"spec\"")],
                "credentials needed",
            )
                .into_response();
        }
        server.authorised.fetch_add(1, Ordering::SeqCst);
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let mut command = std::process::Command::new("git");
        command
            .arg("http-backend")
            .env("GIT_PROJECT_ROOT", &server.projects)
            .env("GIT_HTTP_EXPORT_ALL", "1")
            .env("REQUEST_METHOD", method.as_str())
            .env("PATH_INFO", uri.path())
            .env("QUERY_STRING", uri.query().unwrap_or_default())
            .env("CONTENT_TYPE", header("content-type"))
            .env("CONTENT_LENGTH", body.len().to_string())
            .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
            .env("GIT_PROTOCOL", header("git-protocol"))
            .env("REMOTE_USER", "city-ci")
            .env("REMOTE_ADDR", "127.0.0.1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let output = tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut child = command.spawn().unwrap();
            child.stdin.take().unwrap().write_all(&body).unwrap();
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap();
        let raw = output.stdout;
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|at| (at, 4))
            .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|at| (at, 2)))
            .expect("CGI headers");
        let head = String::from_utf8_lossy(&raw[..split.0]).into_owned();
        let mut response = Response::builder().status(200);
        for line in head.lines() {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            if name.eq_ignore_ascii_case("status") {
                let code: u16 = value.trim()[..3].parse().unwrap();
                response = response.status(code);
            } else {
                response = response.header(name.trim(), value.trim());
            }
        }
        response
            .body(axum::body::Body::from(raw[split.0 + split.1..].to_vec()))
            .unwrap()
    }
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_holding(dir: &Path, needle: &str) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter(|e| {
            std::fs::read(e.path())
                .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
                .unwrap_or(false)
        })
        .map(|e| e.into_path())
        .collect()
}

#[test]
fn the_remote_token_is_used_on_every_pull_and_never_written_into_the_checkout() {
    const TOKEN: &str = "s3cret-t0ken-of-city-ci";
    let repos = Repos::new(Signing::Unsigned);
    let projects = tempfile::tempdir().unwrap();
    git(
        projects.path(),
        &["clone", "--quiet", "--bare", &repos.url(), "spec.git"],
    );
    let authorised = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let port = runtime.block_on(crate::common::federation::serve_on_loopback(
        http_git::router(http_git::Server {
            projects: projects.path().to_path_buf(),
            credentials: format!("city-ci:{TOKEN}"),
            authorised: authorised.clone(),
        }),
    ));
    let url = format!("http://city-ci:{TOKEN}@127.0.0.1:{port}/spec.git");
    let bare = projects.path().join("spec.git");
    let push = |commit: &str| {
        git(
            repos.work.path(),
            &[
                "push",
                "--quiet",
                bare.to_str().unwrap(),
                &format!("{commit}:refs/heads/main"),
            ],
        );
    };

    let data = tempfile::tempdir().unwrap();
    let checkout = data.path().join("checkout");
    let app = Appliance::start(
        &checkout,
        &data.path().join("state"),
        &["--git", &url, "--interval", "200ms"],
    );
    let status = app.wait_for("the first commit over HTTP", |s| s["ready"] == true);
    assert_eq!(status["applied"]["revision"], repos.first.as_str());
    assert!(!status["source"].as_str().unwrap().contains(TOKEN));
    let next = repos.rename(NAME, "Литвиненко Ірина Петрівна", Signing::Unsigned);
    push(&next);
    app.wait_for("the next commit over HTTP", |s| {
        s["applied"]["revision"] == next
    });
    assert!(
        authorised.load(std::sync::atomic::Ordering::SeqCst) >= 2,
        "the pulls authenticated"
    );
    assert_eq!(
        files_holding(&checkout.join(".git"), TOKEN),
        Vec::<PathBuf>::new(),
        "the token is in no file of the checkout's .git"
    );
    assert!(
        !std::fs::read_to_string(checkout.join(".git/config"))
            .unwrap()
            .contains("city-ci"),
        "nor is the user"
    );
    assert!(!app.log().contains(TOKEN), "{}", app.log());
    assert!(app.stop().success());

    // A checkout an older version cloned, with the token in its config, is cleaned.
    let old = data.path().join("old-checkout");
    git(
        data.path(),
        &[
            "clone",
            "--quiet",
            "--branch",
            "main",
            &url,
            old.to_str().unwrap(),
        ],
    );
    assert!(
        std::fs::read_to_string(old.join(".git/config"))
            .unwrap()
            .contains(TOKEN)
    );
    let app = Appliance::start(
        &old,
        &data.path().join("state-old"),
        &["--git", &url, "--interval", "200ms"],
    );
    app.wait_for("the old checkout's commit", |s| {
        s["applied"]["revision"] == next
    });
    assert!(app.log_shows("removed the credentials of remote.origin.url"));
    let config = std::fs::read_to_string(old.join(".git/config")).unwrap();
    assert!(
        !config.contains(TOKEN) && !config.contains("city-ci"),
        "{config}"
    );
    assert!(
        config.contains(&format!("http://127.0.0.1:{port}/spec.git")),
        "{config}"
    );
    drop(app);
    drop(runtime);
}

#[test]
fn a_repository_cannot_vouch_for_its_own_commits() {
    use hromada::git::verify::{Verdict, Verifier};
    let keys = tempfile::tempdir().unwrap();
    let release = ssh_key(keys.path(), "release");
    let stranger = ssh_key(keys.path(), "stranger");
    let allowed = keys.path().join("allowed_signers");
    std::fs::write(
        &allowed,
        format!("release@city.example {}\n", release.public),
    )
    .unwrap();
    let repos = Repos::new(Signing::Ssh(&stranger));
    let work = repos.work.path();
    let signed = commit(work, Signing::Ssh(&release), "signed by release");

    // The repository's own config allows the stranger and swaps in a verifier that always agrees.
    let own_signers = keys.path().join("own_signers");
    std::fs::write(
        &own_signers,
        format!("release@city.example {}\n", stranger.public),
    )
    .unwrap();
    let always_good = keys.path().join("always-good");
    std::fs::write(
        &always_good,
        "#!/bin/sh\necho 'Good \"git\" signature for release@city.example with ED25519 key SHA256:x'\nexit 0\n",
    )
    .unwrap();
    let mut mode = std::fs::metadata(&always_good).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut mode, 0o755);
    std::fs::set_permissions(&always_good, mode).unwrap();
    for (key, value) in [
        ("gpg.ssh.allowedSignersFile", own_signers.to_str().unwrap()),
        ("gpg.ssh.program", always_good.to_str().unwrap()),
        ("gpg.program", always_good.to_str().unwrap()),
        ("gpg.minTrustLevel", "undefined"),
    ] {
        git(work, &["config", "--local", key, value]);
    }

    let data = tempfile::tempdir().unwrap();
    let verifier = Verifier::new(Some(allowed), None, data.path())
        .unwrap()
        .unwrap();
    let signature = verifier.verify(work, &repos.first);
    assert_eq!(signature.verdict, Verdict::Untrusted, "{signature:?}");
    assert_eq!(
        signature.fingerprint.as_deref(),
        Some(stranger.fingerprint.as_str())
    );

    let signature = verifier.verify(work, &signed);
    assert_eq!(signature.verdict, Verdict::Trusted, "{signature:?}");
    assert_eq!(signature.principal.as_deref(), Some("release@city.example"));
}

/// `hromada sync ACT… --url URL --token-file FILE` as the operator `olena`; its output.
fn operator_act(app: &Appliance, token: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_hromada"))
        .arg("sync")
        .args(args)
        .args(["--url", &app.url, "--token-file"])
        .arg(token)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "sync {args:?}: {text}");
    text
}

/// A pin moves the checkout, and everything that guards the checkout follows it: a pinned commit
/// not signed by a trusted key is refused like any other, and a hand edit made while pinned is
/// reset to the pinned commit, not to the branch's head.
#[test]
fn a_pinned_commit_must_be_signed_and_a_hand_edit_is_reset_to_it() {
    let keys = tempfile::tempdir().unwrap();
    let release = ssh_key(keys.path(), "release");
    let allowed = keys.path().join("allowed_signers");
    std::fs::write(
        &allowed,
        format!("release@city.example {}\n", release.public),
    )
    .unwrap();
    let token = "olena-token-0123456789";
    let operators = keys.path().join("operators");
    std::fs::write(
        &operators,
        format!(
            "olena:{}\n",
            hex::encode(openssl::sha::sha256(token.as_bytes()))
        ),
    )
    .unwrap();
    let token_file = keys.path().join("olena.token");
    std::fs::write(&token_file, token).unwrap();

    let repos = Repos::new(Signing::Ssh(&release));
    let unsigned = repos.rename(NAME, "Литвиненко Ірина Петрівна", Signing::Unsigned);
    let head = repos.rename(
        "Литвиненко Ірина Петрівна",
        "Литвиненко Ірина Олегівна",
        Signing::Ssh(&release),
    );
    let data = tempfile::tempdir().unwrap();
    let checkout = data.path().join("checkout");
    let app = Appliance::start(
        &checkout,
        &data.path().join("state"),
        &[
            "--git",
            &repos.url(),
            "--interval",
            "200ms",
            "--git-allowed-signers",
            allowed.to_str().unwrap(),
            "--operator-tokens",
            operators.to_str().unwrap(),
        ],
    );
    app.wait_for("the signed head", |s| s["applied"]["revision"] == head);

    // Pinned to the unsigned commit in between: refused, the signed head keeps serving.
    operator_act(&app, &token_file, &["pin", &unsigned, "--why", "try it"]);
    let status = attempted(&app, &unsigned);
    assert_refused(&status, &unsigned, "unsigned", "is not signed", &head);
    assert_eq!(status["control"]["state"], "pinned", "{status:#}");

    // Pinned to the signed first commit: applied, and the checkout stays there.
    operator_act(
        &app,
        &token_file,
        &["pin", &repos.first, "--why", "roll back"],
    );
    app.wait_for("the pinned signed commit", |s| {
        s["applied"]["revision"] == repos.first
    });
    let pinned = std::fs::read_to_string(checkout.join(OFFICIALS)).unwrap();
    edit(&checkout, OFFICIALS, NAME, "Вручну Змінена Особа");
    let status = app.wait_for("drift while pinned", |s| {
        s["drift"]["count"].as_u64() >= Some(1)
    });
    assert_eq!(
        status["drift"]["reset_to"],
        repos.first.as_str(),
        "{status:#}"
    );
    for _ in 0..600 {
        let at = git(&checkout, &["rev-parse", "HEAD"]);
        if at == repos.first && git(&checkout, &["status", "--porcelain"]).is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(git(&checkout, &["rev-parse", "HEAD"]), repos.first);
    assert_eq!(
        std::fs::read_to_string(checkout.join(OFFICIALS)).unwrap(),
        pinned
    );
    let status = app.status();
    assert_eq!(status["applied"]["revision"], repos.first.as_str());
    assert_eq!(
        status["signatures"]["applied"]["verdict"], "trusted",
        "{status:#}"
    );

    // Resumed: the signed head again.
    operator_act(&app, &token_file, &["resume", "--why", "done"]);
    app.wait_for("the signed head again", |s| {
        s["applied"]["revision"] == head
    });
}
