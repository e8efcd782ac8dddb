//! Acting on the GitOps loop (issue 17, part A): the Git host's push webhook, signed and forged;
//! operators suspending, pinning and resuming through the CLI and HTTP, recorded in both stores
//! and held by two replicas on one PostgreSQL; a TLS certificate replaced while serving.

use crate::common::git::git;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use hromada::store::{ActKind, NewOperatorAct, Store};

use crate::common::appliance::{Appliance, example_city};
use crate::common::db::{Db, execute};

const OFFICIALS: &str = "spec/registry/officials.kdl";
const SECRET: &str = "webhook-secret-of-the-city";
const OLENA: &str = "olena-token-0123456789";

/// The example city in a work tree, pushed to a bare repository.
struct Repo {
    work: tempfile::TempDir,
    _bare: tempfile::TempDir,
    url: String,
    names: usize,
}

impl Repo {
    fn new() -> Repo {
        let work = tempfile::tempdir().unwrap();
        example_city(work.path());
        git(work.path(), &["init", "--quiet", "--initial-branch=main"]);
        git(work.path(), &["add", "."]);
        git(work.path(), &["commit", "--quiet", "-m", "city"]);
        let bare = tempfile::tempdir().unwrap();
        git(bare.path(), &["init", "--quiet", "--bare"]);
        let url = format!("file://{}", bare.path().display());
        git(work.path(), &["push", "--quiet", &url, "main"]);
        Repo {
            work,
            _bare: bare,
            url,
            names: 0,
        }
    }

    fn head(&self) -> String {
        git(self.work.path(), &["rev-parse", "HEAD"])
    }

    /// A valid change committed and pushed to `main`; its commit.
    fn push_change(&mut self) -> String {
        let path = self.work.path().join(OFFICIALS);
        let text = std::fs::read_to_string(&path).unwrap();
        let from = if self.names == 0 {
            "Литвиненко Ірина Василівна".to_string()
        } else {
            format!("Литвиненко Ірина {}", self.names)
        };
        self.names += 1;
        assert!(text.contains(&from), "{OFFICIALS} has no `{from}`");
        std::fs::write(
            &path,
            text.replacen(&from, &format!("Литвиненко Ірина {}", self.names), 1),
        )
        .unwrap();
        git(self.work.path(), &["commit", "--quiet", "-am", "rename"]);
        git(self.work.path(), &["push", "--quiet", &self.url, "main"]);
        self.head()
    }

    fn tag(&self, name: &str, commit: &str) {
        git(self.work.path(), &["tag", name, commit]);
        git(self.work.path(), &["push", "--quiet", &self.url, name]);
    }
}

/// A plain HTTP/1.1 POST: status and body.
fn post(address: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // A server may answer (413) before it read the whole of a large body.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, body.to_string())
}

fn github_signature(secret: &str, body: &[u8]) -> String {
    let key = openssl::pkey::PKey::hmac(secret.as_bytes()).unwrap();
    let mut signer =
        openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &key).unwrap();
    format!(
        "sha256={}",
        hex::encode(signer.sign_oneshot_to_vec(body).unwrap())
    )
}

fn push_payload(branch: &str, after: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "ref": format!("refs/heads/{branch}"),
        "after": after,
        "repository": {"full_name": "city/spec"},
        "commits": [],
    }))
    .unwrap()
}

/// Files the appliance is given: the webhook secret and the operators' token digests.
fn secrets(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let secret = dir.join("webhook.secret");
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    let operators = dir.join("operators");
    std::fs::write(
        &operators,
        format!(
            "# who may act on reconciling\nolena:{}\n",
            hex::encode(openssl::sha::sha256(OLENA.as_bytes()))
        ),
    )
    .unwrap();
    let token = dir.join("olena.token");
    std::fs::write(&token, format!("{OLENA}\n")).unwrap();
    (secret, operators, token)
}

fn serve_git(repo: &Repo, dir: &Path, interval: &str, extra: &[&str]) -> Appliance {
    let (secret, operators, _) = secrets(dir);
    let mut args = vec![
        "--git",
        repo.url.as_str(),
        "--branch",
        "main",
        "--interval",
        interval,
        "--git-webhook-secret-file",
        secret.to_str().unwrap(),
        "--operator-tokens",
        operators.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    Appliance::start(&dir.join("checkout"), &dir.join("state"), &args)
}

fn sync_cli(app: &Appliance, dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hromada"))
        .arg("sync")
        .args(args)
        .args(["--url", &app.url, "--token-file"])
        .arg(dir.join("olena.token"))
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn act(app: &Appliance, act: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(bearer) = &bearer {
        headers.push(("Authorization", bearer.as_str()));
    }
    post(
        &app.address,
        &format!("/api/sync/{act}"),
        &headers,
        body.as_bytes(),
    )
}

#[test]
fn a_signed_push_to_the_followed_branch_is_pulled_at_once_and_forged_ones_trigger_nothing() {
    let mut repo = Repo::new();
    let first = repo.head();
    let dir = tempfile::tempdir().unwrap();
    // Polling every hour: only the webhook can bring a new commit within the test.
    let app = serve_git(&repo, dir.path(), "1h", &[]);
    app.wait_for("the cloned revision", |s| {
        s["applied"]["revision"] == first.as_str()
    });
    let second = repo.push_change();
    let body = push_payload("main", &second);
    let hook =
        |headers: &[(&str, &str)], body: &[u8]| post(&app.address, "/api/hooks/git", headers, body);

    let (code, answer) = hook(&[("X-GitHub-Event", "push")], &body);
    assert_eq!(code, 401, "{answer}");
    assert!(answer.contains("not signed"), "{answer}");
    let forged = github_signature("another secret", &body);
    let (code, answer) = hook(
        &[("X-GitHub-Event", "push"), ("X-Hub-Signature-256", &forged)],
        &body,
    );
    assert_eq!(code, 401, "{answer}");
    assert!(
        answer.contains("X-Hub-Signature-256 is not the HMAC"),
        "{answer}"
    );
    // A signature of another body: a replayed header on a rewritten payload.
    let other = github_signature(SECRET, &push_payload("main", "0000"));
    let (code, _) = hook(
        &[("X-GitHub-Event", "push"), ("X-Hub-Signature-256", &other)],
        &body,
    );
    assert_eq!(code, 401);
    let (code, answer) = hook(
        &[("X-Gitlab-Event", "Push Hook"), ("X-Gitlab-Token", "guess")],
        &body,
    );
    assert_eq!(code, 401, "{answer}");
    assert!(
        answer.contains("X-Gitlab-Token is not the webhook secret"),
        "{answer}"
    );
    let huge = vec![b' '; 3 * 1024 * 1024];
    let (code, answer) = hook(
        &[
            ("X-GitHub-Event", "push"),
            ("X-Hub-Signature-256", &github_signature(SECRET, &huge)),
        ],
        &huge,
    );
    assert_eq!(code, 413, "{answer}");

    let elsewhere = push_payload("feature", &second);
    let (code, answer) = hook(
        &[
            ("X-GitHub-Event", "push"),
            ("X-Hub-Signature-256", &github_signature(SECRET, &elsewhere)),
        ],
        &elsewhere,
    );
    assert_eq!(code, 202, "{answer}");
    assert!(answer.contains("\"fetching\":false"), "{answer}");
    assert!(answer.contains("refs/heads/feature"), "{answer}");
    let ping = br#"{"zen":"Keep it logically awesome."}"#;
    let (code, answer) = hook(
        &[
            ("X-GitHub-Event", "ping"),
            ("X-Hub-Signature-256", &github_signature(SECRET, ping)),
        ],
        ping,
    );
    assert_eq!(code, 202, "{answer}");
    let garbled = b"{not json";
    let (code, answer) = hook(
        &[
            ("X-GitHub-Event", "push"),
            ("X-Hub-Signature-256", &github_signature(SECRET, garbled)),
        ],
        garbled,
    );
    assert_eq!(code, 400, "{answer}");
    assert!(answer.contains("not JSON"), "{answer}");
    assert_eq!(app.applied(), first, "nothing above fetched");

    let (code, answer) = hook(
        &[
            ("X-GitHub-Event", "push"),
            ("X-Hub-Signature-256", &github_signature(SECRET, &body)),
        ],
        &body,
    );
    assert_eq!(code, 202, "{answer}");
    assert!(answer.contains("\"fetching\":true"), "{answer}");
    app.wait_for("the pushed commit", |s| {
        s["applied"]["revision"] == second.as_str()
    });

    let third = repo.push_change();
    let body = push_payload("main", &third);
    let (code, answer) = hook(
        &[("X-Gitlab-Event", "Push Hook"), ("X-Gitlab-Token", SECRET)],
        &body,
    );
    assert_eq!(code, 202, "{answer}");
    app.wait_for("the pushed commit", |s| {
        s["applied"]["revision"] == third.as_str()
    });
    assert_eq!(
        app.log().matches("was announced by the Git host").count(),
        2,
        "only the two signed pushes to main woke the pull:\n{}",
        app.log()
    );
    assert!(
        app.log().contains("refused a Git webhook request"),
        "{}",
        app.log()
    );
    assert!(!app.log().contains(SECRET), "the secret is never logged");
}

#[test]
fn the_webhook_without_a_secret_answers_503() {
    let repo = Repo::new();
    let dir = tempfile::tempdir().unwrap();
    let app = Appliance::start(
        &dir.path().join("checkout"),
        &dir.path().join("state"),
        &["--git", &repo.url, "--interval", "1h"],
    );
    let body = push_payload("main", "x");
    let (code, answer) = post(
        &app.address,
        "/api/hooks/git",
        &[("X-Hub-Signature-256", &github_signature(SECRET, &body))],
        &body,
    );
    assert_eq!(code, 503, "{answer}");
    assert!(answer.contains("--git-webhook-secret-file"), "{answer}");
    let (code, answer) = act(&app, "suspend", Some(OLENA), r#"{"why": "x"}"#);
    assert_eq!(code, 503, "{answer}");
    assert!(answer.contains("--operator-tokens"), "{answer}");
}

#[test]
fn operators_suspend_pin_and_resume_through_the_cli_and_http_and_each_act_is_shown() {
    let mut repo = Repo::new();
    let first = repo.head();
    let dir = tempfile::tempdir().unwrap();
    let app = serve_git(&repo, dir.path(), "200ms", &[]);
    app.wait_for("the cloned revision", |s| {
        s["applied"]["revision"] == first.as_str()
    });

    // Refused acts change nothing and are not recorded.
    let (code, answer) = act(&app, "suspend", None, r#"{"why": "release freeze"}"#);
    assert_eq!(code, 401, "{answer}");
    let (code, _) = act(
        &app,
        "suspend",
        Some("olena-token-guess"),
        r#"{"why": "x"}"#,
    );
    assert_eq!(code, 401);
    let (code, answer) = act(&app, "suspend", Some(OLENA), r#"{"why": "  "}"#);
    assert_eq!(
        (code, answer.contains("why_required")),
        (400, true),
        "{answer}"
    );
    let (code, answer) = act(&app, "suspend", Some(OLENA), r#"{"because": "x"}"#);
    assert_eq!(code, 400, "{answer}");
    let (code, answer) = act(&app, "pin", Some(OLENA), r#"{"why": "x", "ref": "v9"}"#);
    assert_eq!(code, 422, "{answer}");
    assert!(answer.contains("no tag `v9`"), "{answer}");
    let (code, answer) = act(
        &app,
        "pin",
        Some(OLENA),
        r#"{"why": "x", "ref": "--upload-pack=x"}"#,
    );
    assert_eq!(code, 422, "{answer}");
    let (code, _) = act(&app, "explode", Some(OLENA), r#"{"why": "x"}"#);
    assert_eq!(code, 404);
    assert!(app.status().get("acts").is_none(), "nothing was recorded");

    let (ok, said) = sync_cli(&app, dir.path(), &["suspend", "--why", "release freeze"]);
    assert!(ok, "{said}");
    assert!(said.contains("suspended by olena"), "{said}");
    let second = repo.push_change();
    app.wait_for("the new commit fetched", |s| {
        s["control"]["fetched"] == second.as_str()
    });
    assert!(
        app.log_shows("is suspended by an operator; the running revision keeps serving"),
        "{}",
        app.log()
    );
    let status = app.status();
    assert_eq!(status["applied"]["revision"], first.as_str(), "{status:#}");
    assert_eq!(status["control"]["state"], "suspended");
    assert_eq!(status["control"]["by"], "olena");
    assert_eq!(status["control"]["why"], "release freeze");
    let shown = Command::new(env!("CARGO_BIN_EXE_hromada"))
        .args(["status", "--url", &app.url])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("control   suspended by olena"), "{shown}");
    assert!(
        shown.contains(&format!("fetched {} is not applied", &second[..12])),
        "{shown}"
    );

    repo.tag("v2", &second);
    let (ok, said) = sync_cli(
        &app,
        dir.path(),
        &["pin", "v2", "--why", "the release of May"],
    );
    assert!(ok, "{said}");
    assert!(
        said.contains(&format!("pinned to v2 ({})", &second[..12])),
        "{said}"
    );
    app.wait_for("the pinned commit", |s| {
        s["applied"]["revision"] == second.as_str()
    });
    let third = repo.push_change();
    app.wait_for("the newer commit fetched", |s| {
        s["control"]["fetched"] == third.as_str()
    });
    let checkout = dir.path().join("checkout");
    assert_eq!(
        git(&checkout, &["rev-parse", "HEAD"]),
        second,
        "the pin holds"
    );
    assert_eq!(app.applied(), second);

    // A pin by commit id over HTTP, then unpinned with an empty ref.
    let body = format!(r#"{{"why": "roll back", "ref": "{}"}}"#, &first[..10]);
    let (code, answer) = act(&app, "pin", Some(OLENA), &body);
    assert_eq!(code, 200, "{answer}");
    app.wait_for("the commit pinned by id", |s| {
        s["applied"]["revision"] == first.as_str()
    });
    let (code, answer) = act(&app, "pin", Some(OLENA), r#"{"why": "fixed", "ref": ""}"#);
    assert_eq!(code, 200, "{answer}");
    assert!(answer.contains("\"state\":\"following\""), "{answer}");
    app.wait_for("the branch head", |s| {
        s["applied"]["revision"] == third.as_str()
    });

    let (code, _) = act(&app, "suspend", Some(OLENA), r#"{"why": "audit"}"#);
    assert_eq!(code, 200);
    let (ok, said) = sync_cli(&app, dir.path(), &["resume", "--why", "audit done"]);
    assert!(ok, "{said}");
    let fourth = repo.push_change();
    let status = app.wait_for("the head after resume", |s| {
        s["applied"]["revision"] == fourth.as_str()
    });
    let acts: Vec<(&str, &str)> = status["acts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["act"].as_str().unwrap(), a["why"].as_str().unwrap()))
        .collect();
    assert_eq!(
        acts,
        [
            ("resume", "audit done"),
            ("suspend", "audit"),
            ("pin", "fixed"),
            ("pin", "roll back"),
            ("pin", "the release of May"),
            ("suspend", "release freeze"),
        ]
    );
    let pinned = &status["acts"][4];
    assert_eq!(pinned["reference"], "v2");
    assert_eq!(pinned["commit"], second.as_str());
    assert_eq!(pinned["actor"], "olena");
    assert!(pinned["instance"].as_str().unwrap().contains(':'));
    assert!(!app.log().contains(OLENA), "a token is never logged");

    let (ok, said) = sync_cli(&app, dir.path(), &["suspend", "--why", ""]);
    assert!(!ok && said.contains("why"), "{said}");
}

#[test]
fn a_suspended_node_restarted_serves_its_last_revision() {
    let mut repo = Repo::new();
    let first = repo.head();
    let dir = tempfile::tempdir().unwrap();
    let app = serve_git(&repo, dir.path(), "200ms", &[]);
    app.wait_for("the cloned revision", |s| {
        s["applied"]["revision"] == first.as_str()
    });
    let (code, answer) = act(&app, "suspend", Some(OLENA), r#"{"why": "freeze"}"#);
    assert_eq!(code, 200, "{answer}");
    let second = repo.push_change();
    app.wait_for("the new commit fetched", |s| {
        s["control"]["fetched"] == second.as_str()
    });
    assert!(app.stop().success());

    let app = serve_git(&repo, dir.path(), "200ms", &[]);
    let status = app.wait_for("a revision served", |s| s["ready"] == true);
    assert_eq!(status["applied"]["revision"], first.as_str(), "{status:#}");
    assert_eq!(status["control"]["state"], "suspended");
}

#[test]
fn acts_hold_for_both_replicas_on_one_postgresql() {
    let Some(url) = crate::common::postgres::url_or_skip(
        "acting::acts_hold_for_both_replicas_on_one_postgresql",
    ) else {
        return;
    };
    let mut repo = Repo::new();
    let first = repo.head();
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = serve_git(&repo, a_dir.path(), "200ms", &["--database-url", &url]);
    let b = serve_git(&repo, b_dir.path(), "200ms", &["--database-url", &url]);
    a.wait_for("replica a", |s| s["applied"]["revision"] == first.as_str());
    b.wait_for("replica b", |s| s["applied"]["revision"] == first.as_str());

    let (code, answer) = act(
        &a,
        "suspend",
        Some(OLENA),
        r#"{"why": "one replica acts for all"}"#,
    );
    assert_eq!(code, 200, "{answer}");
    let status = b.status();
    assert_eq!(
        status["control"]["state"], "suspended",
        "read from the store"
    );
    assert_eq!(status["acts"][0]["instance"], a.status()["instance"]);
    // B reads the decision before its next pull: a commit pushed now is fetched, not applied.
    let second = repo.push_change();
    b.wait_for("b fetching the new commit", |s| {
        s["control"]["fetched"] == second.as_str()
    });
    assert!(
        b.log_shows("is suspended by an operator; the running revision keeps serving"),
        "{}",
        b.log()
    );
    assert_eq!(b.applied(), first);
    assert_eq!(a.applied(), first);

    let (code, answer) = act(&b, "resume", Some(OLENA), r#"{"why": "done"}"#);
    assert_eq!(code, 200, "{answer}");
    a.wait_for("a after resume", |s| {
        s["applied"]["revision"] == second.as_str()
    });
    b.wait_for("b after resume", |s| {
        s["applied"]["revision"] == second.as_str()
    });
}

crate::both! {
    async fn operator_acts_are_recorded_and_a_rewritten_row_is_named(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let at = chrono::Utc::now();
        let new = |act: ActKind, reference: Option<&str>, why: &str| NewOperatorAct {
            node: "gw-core".into(),
            instance: "host-a:42".into(),
            actor: "olena".into(),
            act,
            reference: reference.map(str::to_string),
            commit: reference.map(|_| "a".repeat(40)),
            why: why.into(),
            acted_at: at,
        };
        store.record_operator_act(&new(ActKind::Suspend, None, "freeze")).await.unwrap();
        store.record_operator_act(&new(ActKind::Pin, Some("v2"), "release")).await.unwrap();
        let mut other = new(ActKind::Resume, None, "elsewhere");
        other.node = "gw-edge".into();
        store.record_operator_act(&other).await.unwrap();

        let acts = store.recent_operator_acts("gw-core", 10).await.unwrap();
        assert_eq!(acts.len(), 2, "only the node's own acts");
        assert_eq!(acts[0].act, ActKind::Pin);
        assert_eq!(acts[0].reference.as_deref(), Some("v2"));
        assert_eq!(acts[0].commit, Some("a".repeat(40)));
        assert_eq!(acts[0].acted_at, at, "the time reads back exactly");
        assert_eq!((acts[1].act, acts[1].why.as_str()), (ActKind::Suspend, "freeze"));
        assert_eq!(store.recent_operator_acts("gw-core", 1).await.unwrap().len(), 1);

        let id = acts[0].id;
        execute(&db.url, &format!("UPDATE operator_acts SET acted_at = 'yesterday' WHERE id = {id}")).await;
        let e = store.recent_operator_acts("gw-core", 10).await.unwrap_err().to_string();
        assert!(e.contains(&format!("operator act {id}")) && e.contains("yesterday"), "{e}");
        store.close().await;
    }
}

/// A self-signed certificate for 127.0.0.1 with `serial`, and its key, written to `cert`/`key`.
fn certificate(dir: &Path, serial: u32) -> (Vec<u8>, Vec<u8>) {
    let (cert, key) = (
        dir.join(format!("{serial}.crt")),
        dir.join(format!("{serial}.key")),
    );
    crate::common::tls::self_signed(&cert, &key, serial);
    (std::fs::read(cert).unwrap(), std::fs::read(key).unwrap())
}

/// The serial of the certificate a new TLS connection to `address` is shown.
fn served_serial(address: &str) -> u32 {
    let mut connector =
        openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls()).unwrap();
    connector.set_verify(openssl::ssl::SslVerifyMode::NONE);
    let stream = TcpStream::connect(address).unwrap();
    let tls = connector.build().connect("localhost", stream).unwrap();
    let cert = tls.ssl().peer_certificate().unwrap();
    cert.serial_number()
        .to_bn()
        .unwrap()
        .to_dec_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Writes `bytes` to `path` as a rotation tool does: a new file moved over the old.
fn replace(path: &Path, bytes: &[u8]) {
    let staging = path.with_extension("new");
    std::fs::write(&staging, bytes).unwrap();
    std::fs::rename(&staging, path).unwrap();
}

fn within_30s(what: &str, app: &Appliance, check: impl Fn() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{what} within 30 s\n{}",
            app.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_replaced_certificate_is_served_within_seconds_and_a_bad_pair_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (cert1, key1) = certificate(dir.path(), 1001);
    let (cert2, key2) = certificate(dir.path(), 1002);
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    std::fs::write(&cert, &cert1).unwrap();
    std::fs::write(&key, &key1).unwrap();
    let root = tempfile::tempdir().unwrap();
    example_city(root.path());
    let app = Appliance::start(
        root.path(),
        &dir.path().join("data"),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert_eq!(served_serial(&app.address), 1001);

    // The new certificate before its key: a pair that does not match is refused.
    replace(&cert, &cert2);
    within_30s("the mismatched pair refused", &app, || {
        app.log().contains("refused the changed TLS certificate")
    });
    assert_eq!(
        served_serial(&app.address),
        1001,
        "the old pair keeps serving"
    );
    replace(&key, &key2);
    within_30s("the new certificate served", &app, || {
        served_serial(&app.address) == 1002
    });

    // Half written: refused, the serving pair stays; completed, it is served.
    replace(&cert, &cert1[..cert1.len() / 2]);
    replace(&key, &key1);
    within_30s("the half-written certificate refused", &app, || {
        app.log()
            .matches("refused the changed TLS certificate")
            .count()
            >= 2
    });
    assert_eq!(served_serial(&app.address), 1002);
    replace(&cert, &cert1);
    within_30s("the completed certificate served", &app, || {
        served_serial(&app.address) == 1001
    });
}

/// The serial of the certificate node `gw-core`'s peer listener shows `gw-vodokanal`.
fn peer_serial(fed: &crate::common::federation::Federation) -> String {
    let mut connector =
        openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls()).unwrap();
    connector.set_verify(openssl::ssl::SslVerifyMode::NONE);
    connector
        .set_certificate_file(
            fed.root.join("pki/nodes/gw-vodokanal.crt"),
            openssl::ssl::SslFiletype::PEM,
        )
        .unwrap();
    connector
        .set_private_key_file(
            fed.root.join("dev-keys/nodes/gw-vodokanal.key"),
            openssl::ssl::SslFiletype::PEM,
        )
        .unwrap();
    let stream = TcpStream::connect(("127.0.0.1", fed.core_peer)).unwrap();
    let tls = connector.build().connect("localhost", stream).unwrap();
    let cert = tls.ssl().peer_certificate().unwrap();
    cert.serial_number()
        .to_bn()
        .unwrap()
        .to_hex_str()
        .unwrap()
        .to_string()
}

fn file_serial(path: &Path) -> String {
    let cert = openssl::x509::X509::from_pem(&std::fs::read(path).unwrap()).unwrap();
    cert.serial_number()
        .to_bn()
        .unwrap()
        .to_hex_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_node_identity_is_served_to_other_nodes_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let fed = crate::common::federation::Federation::new(dir.path()).await;
    let core = crate::common::xroad::start(&fed, &dir.path().join("core"), "gw-core", &[]);
    crate::common::xroad::wait_for_peer_listener(&core);
    let cert = fed.root.join("pki/nodes/gw-core.crt");
    let before = file_serial(&cert);
    assert_eq!(peer_serial(&fed), before);

    // A new certificate for the node comes with a revision of the tree before its key reaches
    // the keys folder: the mismatched pair is refused and the old identity keeps serving; once
    // the key is there too, other nodes meet the new identity.
    let next = dir.path().join("next-keys");
    crate::common::copy_tree(&fed.root.join("dev-keys"), &next);
    std::fs::remove_file(&cert).unwrap();
    let made = Command::new(env!("CARGO_BIN_EXE_hromada"))
        .args(["keys", "dev"])
        .arg(&fed.root)
        .arg("--out")
        .arg(&next)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let after = file_serial(&cert);
    assert_ne!(before, after);
    within_30s("the mismatched identity refused", &core, || {
        core.log()
            .contains("the previous identity keeps serving other nodes")
    });
    assert_eq!(peer_serial(&fed), before);
    let key = fed.root.join("dev-keys/nodes/gw-core.key");
    let staging = key.with_extension("new");
    std::fs::copy(next.join("nodes/gw-core.key"), &staging).unwrap();
    std::fs::rename(&staging, &key).unwrap();
    within_30s("the new identity served", &core, || {
        peer_serial(&fed) == after
    });
    // Said once the new identity is in place, so possibly a moment after it is first served.
    within_30s("the new identity logged", &core, || {
        core.log().contains("other nodes now meet the new identity")
    });
}

#[test]
fn a_suspended_folder_source_applies_no_edit_until_resumed_and_cannot_be_pinned() {
    let root = tempfile::tempdir().unwrap();
    example_city(root.path());
    let dir = tempfile::tempdir().unwrap();
    let (_, operators, _) = secrets(dir.path());
    let app = Appliance::start(
        root.path(),
        &dir.path().join("state"),
        &["--operator-tokens", operators.to_str().unwrap()],
    );
    let first =
        app.wait_for("the folder's revision", |s| s["ready"] == true)["applied"]["revision"]
            .as_str()
            .unwrap()
            .to_string();
    let (code, answer) = act(&app, "suspend", Some(OLENA), r#"{"why": "inspection"}"#);
    assert_eq!(code, 200, "{answer}");
    let path = root.path().join(OFFICIALS);
    let text = std::fs::read_to_string(&path).unwrap();
    replace(
        &path,
        text.replacen("Литвиненко Ірина Василівна", "Литвиненко Ірина Петрівна", 1)
            .as_bytes(),
    );
    assert!(
        app.log_shows("is suspended by an operator; the running revision keeps serving"),
        "{}",
        app.log()
    );
    assert_eq!(app.applied(), first);
    let (code, answer) = act(&app, "pin", Some(OLENA), r#"{"why": "x", "ref": "v1"}"#);
    assert_eq!(code, 409, "{answer}");
    assert!(answer.contains("serve --git"), "{answer}");

    let (ok, said) = sync_cli(&app, dir.path(), &["resume", "--why", "inspection done"]);
    assert!(ok, "{said}");
    app.wait_for("the edit applied after resume", |s| {
        s["applied"]["revision"]
            .as_str()
            .is_some_and(|r| r != first)
    });
}

#[test]
fn a_malformed_operators_file_or_an_empty_webhook_secret_stops_serve_with_the_place() {
    let root = tempfile::tempdir().unwrap();
    example_city(root.path());
    let dir = tempfile::tempdir().unwrap();
    let operators = dir.path().join("operators");
    std::fs::write(&operators, "# ops\nolena:not-a-digest\n").unwrap();
    let out = crate::common::hromada(&[
        "serve",
        root.path().to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        dir.path().join("state").to_str().unwrap(),
        "--operator-tokens",
        operators.to_str().unwrap(),
    ]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!("{}:2:", operators.display())) && said.contains("64 hex digits"),
        "{said}"
    );

    let repo = Repo::new();
    let secret = dir.path().join("webhook.secret");
    std::fs::write(&secret, "\n").unwrap();
    let out = crate::common::hromada(&[
        "serve",
        dir.path().join("checkout").to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        dir.path().join("state").to_str().unwrap(),
        "--git",
        &repo.url,
        "--git-webhook-secret-file",
        secret.to_str().unwrap(),
    ]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("webhook secret file") && said.contains("is empty"),
        "{said}"
    );
}
