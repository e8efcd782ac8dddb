//! `hromada serve` end to end, driving the real binary on a temporary copy of the example city:
//! the operations endpoints, reloads on change, refusals that keep the last good revision
//! serving, restarts on a broken folder, Git pull mode, `status` and `plan --against`.

mod common;

use common::git::git;
use std::path::Path;
use std::process::Command;

use common::appliance::{Appliance, example_city};

const OFFICIALS: &str = "spec/registry/officials.kdl";

fn city() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    example_city(dir.path());
    dir
}

/// Replaces text in a file of the tree, atomically (as an editor or `git` does), so that the
/// appliance never reads it half-written.
fn edit(root: &Path, file: &str, from: &str, to: &str) {
    let path = root.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} has no `{from}`");
    replace_file(&path, &text.replacen(from, to, 1));
}

fn replace_file(path: &Path, text: &str) {
    let staging = path.with_extension("kdl.new");
    std::fs::write(&staging, text).unwrap();
    std::fs::rename(&staging, path).unwrap();
}

fn applied_after(app: &Appliance, previous: &str) -> String {
    let status = app.wait_for("a new revision to be applied", |s| {
        s["applied"]["revision"]
            .as_str()
            .is_some_and(|r| r != previous)
    });
    status["applied"]["revision"].as_str().unwrap().to_string()
}

fn hromada(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hromada"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_example_city_is_served_with_its_operations_endpoints() {
    let root = city();
    let data = tempfile::tempdir().unwrap();
    let app = Appliance::start(root.path(), data.path(), &[]);
    let status = app.wait_for("the first revision", |s| s["ready"] == true);
    let revision = status["applied"]["revision"].as_str().unwrap();
    assert!(
        revision.starts_with("sha256:"),
        "a folder outside Git is identified by its content: {revision}"
    );
    assert_eq!(status["node"], "gw-core", "the portal's node by default");
    assert_eq!(status["last_attempt"]["outcome"], "applied");
    assert_eq!(status["history"][0]["outcome"], "applied");
    assert_eq!(status["history"][0]["revision"], revision);

    assert_eq!(app.get("/healthz"), (200, "ok\n".into()));
    let (code, body) = app.get("/readyz");
    assert_eq!(code, 200, "{body}");
    assert!(body.contains(revision));
    let (code, _) = app.get("/no-such-page");
    assert_eq!(code, 404);

    let (code, metrics) = app.get("/metrics");
    assert_eq!(code, 200);
    assert!(
        metrics.contains(&format!(
            "hromada_applied_revision_info{{revision=\"{revision}\"}} 1"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("hromada_reconciles_total{outcome=\"applied\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("hromada_reconcile_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "hromada_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"}"
        ),
        "{metrics}"
    );
    assert!(
        !metrics.contains("/no-such-page"),
        "raw paths never become labels: {metrics}"
    );

    let out = hromada(&["status", "--url", &app.url]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(&format!("applied   {revision}")), "{text}");
    assert!(text.contains("node      gw-core"), "{text}");

    let stopped = app.stop();
    assert!(stopped.success(), "SIGTERM is a clean stop: {stopped}");
    assert!(data.path().join("hromada.db").is_file());
}

#[test]
fn changes_are_applied_bad_revisions_refused_and_a_later_fix_applied() {
    let root = city();
    let data = tempfile::tempdir().unwrap();
    let app = Appliance::start(root.path(), data.path(), &[]);
    let first = app.wait_for("the first revision", |s| s["ready"] == true)["applied"]["revision"]
        .as_str()
        .unwrap()
        .to_string();

    edit(
        root.path(),
        OFFICIALS,
        "Литвиненко Ірина Василівна",
        "Литвиненко Ірина Петрівна",
    );
    let second = applied_after(&app, &first);

    edit(
        root.path(),
        OFFICIALS,
        "official \"sydorenko-m\" {",
        "official \"sydorenko-m\" {{",
    );
    let status = app.wait_for("the broken revision to be refused", |s| {
        s["last_attempt"]["outcome"] == "refused"
    });
    assert_eq!(
        status["applied"]["revision"], second,
        "the last good revision keeps serving"
    );
    assert_eq!(status["ready"], true);
    let errors = status["last_attempt"]["diagnostics"].as_array().unwrap();
    assert!(
        errors.iter().any(|d| d["range"]["filename"] == OFFICIALS),
        "the refusal names the file: {status:#}"
    );
    assert!(status["last_attempt"]["errors"].as_u64().unwrap() >= 1);
    assert_eq!(app.get("/readyz").0, 200);
    assert!(app.log().contains("refused revision"), "{}", app.log());

    let out = hromada(&["status", "--url", &app.url]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("refused") && text.contains(OFFICIALS),
        "{text}"
    );

    edit(
        root.path(),
        OFFICIALS,
        "official \"sydorenko-m\" {{",
        "official \"sydorenko-m\" {",
    );
    let status = app.wait_for("the fix to be applied", |s| {
        s["last_attempt"]["outcome"] == "applied"
    });
    assert_eq!(
        status["applied"]["revision"], second,
        "the fixed tree is the same content as the last good one"
    );
    let outcomes: Vec<&str> = status["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes[..4], ["applied", "refused", "applied", "applied"]);
    let (_, metrics) = app.get("/metrics");
    assert!(
        metrics.contains("hromada_reconciles_total{outcome=\"refused\"} 1"),
        "{metrics}"
    );
    assert!(
        !metrics.contains(&format!("revision=\"{first}\"")),
        "a replaced revision leaves no series behind: {metrics}"
    );
    assert_eq!(
        metrics.matches("hromada_applied_revision_info{").count(),
        1,
        "{metrics}"
    );
}

#[test]
fn a_restart_on_a_broken_folder_serves_the_last_good_revision() {
    let root = city();
    let data = tempfile::tempdir().unwrap();
    let app = Appliance::start(root.path(), data.path(), &[]);
    let good = app.wait_for("the first revision", |s| s["ready"] == true)["applied"]["revision"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(app.stop().success());

    replace_file(&root.path().join("spec/system.kdl"), "system \"zp\" {");
    let app = Appliance::start(root.path(), data.path(), &[]);
    let status = app.wait_for("the last good revision", |s| s["ready"] == true);
    assert_eq!(status["applied"]["revision"], good.as_str());
    assert_eq!(status["applied"]["restored"], true);
    assert_eq!(status["last_attempt"]["outcome"], "refused");
    // The log is read from the process's pipe as it comes: give the line a moment to arrive.
    let said = (0..100).any(|_| {
        let found = app.log().contains("serving the last good revision");
        if !found {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        found
    });
    assert!(said, "the log says so: {}", app.log());
}

#[test]
fn with_nothing_valid_to_serve_the_appliance_is_alive_but_not_ready_until_fixed() {
    let root = city();
    let data = tempfile::tempdir().unwrap();
    let system = std::fs::read_to_string(root.path().join("spec/system.kdl")).unwrap();
    replace_file(&root.path().join("spec/system.kdl"), "system \"zp\" {");
    let app = Appliance::start(root.path(), data.path(), &[]);
    app.wait_for("the refusal", |s| s["last_attempt"]["outcome"] == "refused");
    assert_eq!(app.get("/healthz").0, 200);
    assert_eq!(app.get("/readyz").0, 503);
    let out = hromada(&["status", "--url", &app.url]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "status says degraded while nothing is served"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("not ready"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("degraded: no revision is applied"));
    let out = hromada(&["status", "--url", &app.url, "--ready"]);
    assert_eq!(out.status.code(), Some(1), "the health check fails");
    // The gateway says "not yet, retry" rather than failing: 503 with Retry-After.
    let answer = raw_request(
        &app.url,
        "GET /r1/zp/GOV/04363395/registry/residents/x HTTP/1.1\r\nHost: hromada\r\n\
         X-Road-Client: zp/GOV/04363395/portal\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(lower.contains("\r\nretry-after: 1\r\n"), "{answer}");
    assert!(
        lower.contains("\r\nx-road-error: server.clientproxy.outdatedglobalconf\r\n"),
        "{answer}"
    );
    assert!(answer.contains("no applied revision"), "{answer}");

    replace_file(&root.path().join("spec/system.kdl"), &system);
    app.wait_for("the fix", |s| s["ready"] == true);
    assert_eq!(app.get("/readyz").0, 200);
}

#[test]
fn a_node_the_spec_does_not_declare_is_refused_with_the_nodes_it_does() {
    let root = city();
    let data = tempfile::tempdir().unwrap();
    let app = Appliance::start(root.path(), data.path(), &["--node", "gw-nowhere"]);
    let status = app.wait_for("the refusal", |s| s["last_attempt"]["outcome"] == "refused");
    let d = &status["last_attempt"]["diagnostics"][0];
    assert_eq!(d["code"], "H0004");
    assert!(d["summary"].as_str().unwrap().contains("gw-nowhere"));
    assert!(d["detail"].as_str().unwrap().contains("gw-core"), "{d:#}");
    assert_eq!(app.get("/readyz").0, 503);

    let other_data = tempfile::tempdir().unwrap();
    let other = Appliance::start(root.path(), other_data.path(), &["--node", "gw-vodokanal"]);
    let status = other.wait_for("the node's revision", |s| s["ready"] == true);
    assert_eq!(status["node"], "gw-vodokanal");
    // The registry runs on the node the system names (gw-core), and says so elsewhere.
    let (code, page) = other.get("/registry");
    assert_eq!(code, 404, "{page}");
    assert!(page.contains("gw-core"), "{page}");
}

#[test]
fn bad_options_are_refused_before_serving() {
    let data = tempfile::tempdir().unwrap();
    let missing = data.path().join("no-such-city");
    let out = hromada(&[
        "serve",
        missing.to_str().unwrap(),
        "--data-dir",
        data.path().to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-such-city") && err.contains("is not a folder"),
        "{err}"
    );

    let out = hromada(&[
        "serve",
        ".",
        "--database-url",
        "mysql://db/x",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("mysql"),
        "the unknown database is named: {err}"
    );

    // A folder with files that is not a checkout of its own is never fetched into or reset.
    let city = city();
    let out = hromada(&[
        "serve",
        city.path().to_str().unwrap(),
        "--git",
        "file:///nonexistent/spec.git",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a Git checkout of its own"), "{err}");
    assert!(city.path().join("spec/system.kdl").is_file());

    let out = hromada(&["serve", "--tls-cert", "x.pem"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-key"));

    let out = hromada(&["serve", "--interval", "soon"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--interval"));
}

#[test]
fn pull_mode_follows_the_remote_branch_and_plan_compares_against_the_running_revision() {
    let work = city();
    git(work.path(), &["init", "--quiet", "--initial-branch=main"]);
    git(work.path(), &["add", "."]);
    git(work.path(), &["commit", "--quiet", "-m", "city"]);
    let remote = tempfile::tempdir().unwrap();
    git(remote.path(), &["init", "--quiet", "--bare"]);
    let remote_url = format!("file://{}", remote.path().display());
    git(work.path(), &["push", "--quiet", &remote_url, "main"]);
    let first = git(work.path(), &["rev-parse", "HEAD"]);

    let data = tempfile::tempdir().unwrap();
    let checkout = data.path().join("checkout");
    let app = Appliance::start(
        &checkout,
        &data.path().join("state"),
        &[
            "--git",
            &remote_url,
            "--branch",
            "main",
            "--interval",
            "200ms",
        ],
    );
    let status = app.wait_for("the cloned revision", |s| s["ready"] == true);
    assert_eq!(
        status["applied"]["revision"],
        first.as_str(),
        "a checkout is identified by its commit"
    );
    assert!(status["source"].as_str().unwrap().contains("branch main"));

    edit(
        work.path(),
        OFFICIALS,
        "Литвиненко Ірина Василівна",
        "Литвиненко Ірина Петрівна",
    );
    git(work.path(), &["commit", "--quiet", "-am", "rename"]);
    git(work.path(), &["push", "--quiet", &remote_url, "main"]);
    let second = git(work.path(), &["rev-parse", "HEAD"]);
    assert_eq!(applied_after(&app, &first), second);

    edit(
        work.path(),
        OFFICIALS,
        "Литвиненко Ірина Петрівна",
        "Литвиненко Ірина Іванівна",
    );
    let out = hromada(&["plan", work.path().to_str().unwrap(), "--against", &app.url]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("lytvynenko-i"), "{text}");
    assert!(
        text.contains(&second[..12]),
        "the plan names the running revision: {text}"
    );

    // A replica whose data folder is gone restarts on a broken branch: the store's record and
    // the Git history give it the last good revision. Its last pull was stopped mid-way and
    // left git's lock behind, which must not keep it from pulling.
    assert!(app.stop().success());
    std::fs::remove_dir_all(data.path().join("state/revisions")).unwrap();
    std::fs::write(checkout.join(".git/index.lock"), "").unwrap();
    git(work.path(), &["checkout", "--quiet", "--", "."]);
    std::fs::write(work.path().join("spec/system.kdl"), "system \"zp\" {").unwrap();
    git(work.path(), &["commit", "--quiet", "-am", "break"]);
    git(work.path(), &["push", "--quiet", &remote_url, "main"]);
    let app = Appliance::start(
        &checkout,
        &data.path().join("state"),
        &[
            "--git",
            &remote_url,
            "--branch",
            "main",
            "--interval",
            "200ms",
        ],
    );
    let status = app.wait_for("the last good revision", |s| s["ready"] == true);
    assert_eq!(status["applied"]["revision"], second.as_str());
    assert_eq!(status["applied"]["restored"], true, "{}", app.log());
    assert_eq!(status["last_attempt"]["outcome"], "refused");
    assert!(app.log().contains("from the Git history"), "{}", app.log());
    assert!(
        app.log().contains("index.lock, left by a git command"),
        "{}",
        app.log()
    );
    assert!(!checkout.join(".git/index.lock").exists());
}

#[test]
fn plan_against_an_appliance_that_cannot_be_reached_says_so() {
    let out = hromada(&["plan", ".", "--against", "http://127.0.0.1:9"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot reach http://127.0.0.1:9/api/status"),
        "{err}"
    );
}

#[test]
fn tls_is_served_with_the_given_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    common::tls::self_signed(&cert, &key, 1);
    let root = city();
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
    assert!(app.url.starts_with("https://"), "{}", app.url);
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &app.address, "-CAfile"])
        .arg(&cert)
        .args(["-verify_return_error", "-brief"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("Verification: OK"), "{said}");

    let out = hromada(&[
        "serve",
        root.path().to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        dir.path().join("data3").to_str().unwrap(),
        "--tls-cert",
        key.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot use the TLS certificate"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn two_replicas_on_one_postgresql_converge_on_the_same_revision() {
    let Some(url) = common::postgres::url_or_skip(
        "two_replicas_on_one_postgresql_converge_on_the_same_revision",
    ) else {
        return;
    };
    let root = city();
    let (a_data, b_data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Appliance::start(root.path(), a_data.path(), &["--database-url", &url]);
    let b = Appliance::start_with(
        root.path(),
        b_data.path(),
        &[],
        &[("HROMADA_DATABASE_URL", &url)],
    );
    let first = a.wait_for("replica a", |s| s["ready"] == true)["applied"]["revision"].clone();
    b.wait_for("replica b", |s| s["applied"]["revision"] == first);

    edit(
        root.path(),
        OFFICIALS,
        "Литвиненко Ірина Василівна",
        "Литвиненко Ірина Петрівна",
    );
    let second = applied_after(&a, first.as_str().unwrap());
    b.wait_for("replica b to apply the same revision", |s| {
        s["applied"]["revision"] == second.as_str()
    });

    let history = b.status()["history"].clone();
    let instances: std::collections::BTreeSet<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["instance"].as_str().unwrap())
        .collect();
    assert_eq!(
        instances.len(),
        2,
        "both replicas record into one history: {history:#}"
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = hromada::store::Store::connect(&url).await.unwrap();
        assert_eq!(
            store.actuated_revision().await.unwrap().as_deref(),
            Some(second.as_str())
        );
        let officials = store.active_officials().await.unwrap();
        let renamed = officials.iter().find(|o| o.id == "lytvynenko-i").unwrap();
        assert_eq!(renamed.name, "Литвиненко Ірина Петрівна");
        let declared = std::fs::read_to_string(root.path().join(OFFICIALS))
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("official "))
            .count();
        assert_eq!(officials.len(), declared, "{officials:#?}");
    });
}

/// Sends `request` as is to the appliance at `url` and reads the whole answer.
fn raw_request(url: &str, request: &str) -> String {
    use std::io::{Read, Write};
    let address = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}
