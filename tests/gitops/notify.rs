//! Part N of issue 17: what an operator alerts on and is told. A real `hromada serve` pulls a
//! real bare Git repository; webhook receivers and GitHub- and GitLab-shaped commit-status APIs
//! are real HTTP servers on loopback, mail goes to the real SMTP server of `common::smtp`, and
//! `/metrics` is read over HTTP. The Prometheus files are checked with `promtool`.

use crate::common::git::git;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::appliance::{Appliance, get};
use crate::common::smtp::SmtpServer;
use crate::common::{copy_tree, hromada, minimal};

const TOKEN: &str = "ghp-n0t-a-real-t0ken";
const HOOK_SECRET: &str = "s3cr3t-hook-path";

/// One request a receiver took.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// An HTTP server on loopback that records every request and answers 201, except the first
/// `failures` requests, which get a 500.
struct Receiver {
    address: String,
    requests: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(failures: usize) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let kept = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let Some(request) = read_request(&stream) else {
                    continue;
                };
                let n = {
                    let mut kept = kept.lock().unwrap();
                    kept.push(request);
                    kept.len()
                };
                let answer = if n <= failures {
                    "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                } else {
                    "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
                };
                let _ = (&stream).write_all(answer.as_bytes());
            }
        });
        Receiver { address, requests }
    }

    /// A server that accepts connections and never answers.
    fn silent() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                held.push(stream);
            }
        });
        Receiver {
            address,
            requests: Arc::default(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    fn requests(&self) -> Vec<Received> {
        self.requests.lock().unwrap().clone()
    }

    /// The requests once `ready` holds of them (within 60 s, else the test fails).
    fn wait_for(
        &self,
        what: &str,
        app: &Appliance,
        ready: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let requests = self.requests();
            if ready(&requests) {
                return requests;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "waited 60 s for {what}; received {requests:#?}\nlog:\n{}",
                app.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn read_request(stream: &TcpStream) -> Option<Received> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':')?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Received {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// `examples/minimal` committed in a work tree and pushed to a bare repository: (work tree,
/// bare repository, its URL, the first commit).
struct Repository {
    work: tempfile::TempDir,
    bare: tempfile::TempDir,
    url: String,
}

impl Repository {
    fn new() -> (Repository, String) {
        let work = tempfile::tempdir().unwrap();
        copy_tree(&minimal(), work.path());
        git(work.path(), &["init", "--quiet", "--initial-branch=main"]);
        git(work.path(), &["add", "."]);
        git(work.path(), &["commit", "--quiet", "-m", "city"]);
        let bare = tempfile::tempdir().unwrap();
        git(bare.path(), &["init", "--quiet", "--bare"]);
        let url = format!("file://{}", bare.path().display());
        let repository = Repository { work, bare, url };
        let first = repository.push();
        (repository, first)
    }

    /// Pushes the work tree's branch; its commit.
    fn push(&self) -> String {
        git(self.work.path(), &["push", "--quiet", &self.url, "main"]);
        git(self.work.path(), &["rev-parse", "HEAD"])
    }

    /// Commits `text` as spec/system.kdl and pushes it.
    fn commit_system(&self, text: &str, message: &str) -> String {
        std::fs::write(self.work.path().join("spec/system.kdl"), text).unwrap();
        git(self.work.path(), &["commit", "--quiet", "-am", message]);
        self.push()
    }

    fn system(&self) -> String {
        std::fs::read_to_string(self.work.path().join("spec/system.kdl")).unwrap()
    }
}

/// The samples of `/metrics` whose name is exactly `name`: (labels, value).
fn samples(app: &Appliance, name: &str) -> Vec<(String, f64)> {
    let (code, text) = app.get("/metrics");
    assert_eq!(code, 200);
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (metric, labels) = match series.split_once('{') {
                Some((m, rest)) => (m, rest.trim_end_matches('}').to_string()),
                None => (series, String::new()),
            };
            (metric == name).then(|| (labels, value.parse().unwrap()))
        })
        .collect()
}

fn events(requests: &[Received], event: &str) -> Vec<serde_json::Value> {
    requests
        .iter()
        .map(Received::json)
        .filter(|n| n["event"] == event)
        .collect()
}

fn token_file(dir: &Path) -> String {
    let path = dir.join("commit-status-token");
    std::fs::write(&path, format!("{TOKEN}\n")).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn transitions_are_notified_once_to_webhooks_and_mail_and_commits_get_their_status() {
    let (repo, first) = Repository::new();
    let flaky = Receiver::start(1);
    let steady = Receiver::start(0);
    let github = Receiver::start(0);
    let smtp = SmtpServer::start();
    let data = tempfile::tempdir().unwrap();
    let token = token_file(data.path());
    let hooks = format!(
        "{},{}",
        flaky.url(&format!("/hooks/{HOOK_SECRET}")),
        steady.url("/notices")
    );
    let app = Appliance::start_with(
        &data.path().join("checkout"),
        &data.path().join("state"),
        &[
            "--git",
            &repo.url,
            "--interval",
            "200ms",
            "--peer-listen",
            "127.0.0.1:0",
            "--smtp",
            &smtp.url(),
            "--mail-from",
            "hromada@city.example",
            "--notify-email",
            "ops@city.example",
            "--commit-status",
            "github",
            "--commit-status-api",
            &github.url("/api"),
            "--commit-status-repo",
            "city/spec",
            "--commit-status-token-file",
            &token,
        ],
        &[("HROMADA_NOTIFY_WEBHOOKS", hooks.as_str())],
    );
    app.wait_for("the first commit applied", |s| {
        s["applied"]["revision"] == first.as_str()
    });

    // The applied commit's status goes back to GitHub, with the token; nothing else is news.
    let statuses = github.wait_for("the first commit's status", &app, |r| !r.is_empty());
    assert_eq!(statuses[0].method, "POST");
    assert_eq!(
        statuses[0].path,
        format!("/api/repos/city/spec/statuses/{first}")
    );
    assert_eq!(
        statuses[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let body = statuses[0].json();
    assert_eq!(body["state"], "success");
    assert_eq!(body["context"], "hromada/default");
    assert_eq!(
        samples(&app, "hromada_applied_revision_info"),
        vec![(format!("revision=\"{first}\""), 1.0)]
    );
    assert_eq!(
        samples(&app, "hromada_head_refused"),
        vec![(format!("revision=\"{first}\""), 0.0)]
    );

    // A broken commit: refused, notified once to each target (the flaky one after a retry),
    // its status a failure; the first keeps serving.
    let good = repo.system();
    let broken = repo.commit_system("system \"zp\" {", "break");
    app.wait_for("the broken commit refused", |s| {
        s["last_attempt"]["revision"] == broken.as_str()
            && s["last_attempt"]["outcome"] == "refused"
    });
    let notices = steady.wait_for("the refusal", &app, |r| !r.is_empty());
    let refused = notices[0].json();
    assert_eq!(refused["event"], "revision_refused");
    assert_eq!(refused["revision"], broken.as_str());
    assert_eq!(refused["serving"], first.as_str());
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("spec/system.kdl:1:"),
        "the notice says where the error is: {refused}"
    );
    let tried = flaky.wait_for("the refusal retried", &app, |r| r.len() >= 2);
    assert_eq!(
        tried[0].body, tried[1].body,
        "the retry sends the same notice"
    );
    assert!(tried[0].path.ends_with(HOOK_SECRET));
    let statuses = github.wait_for("the broken commit's status", &app, |r| r.len() >= 2);
    assert_eq!(
        statuses[1].path,
        format!("/api/repos/city/spec/statuses/{broken}")
    );
    assert_eq!(statuses[1].json()["state"], "failure");
    assert_eq!(
        samples(&app, "hromada_head_refused"),
        vec![(format!("revision=\"{broken}\""), 1.0)],
        "one series: the old head's is gone"
    );
    assert_eq!(
        samples(&app, "hromada_applied_revision_info"),
        vec![(format!("revision=\"{first}\""), 1.0)]
    );
    let start = Instant::now();
    while smtp.received().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no mail within 60 s\n{}",
            app.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mail = &smtp.received()[0];
    assert_eq!(mail.rcpt_tos, vec!["ops@city.example".to_string()]);
    assert!(
        mail.subject.contains("revision refused"),
        "{}",
        mail.subject
    );
    assert!(mail.body.contains(&broken), "{}", mail.body);

    // The fix: applied, one recovery notice; both series follow the new head.
    let fixed = repo.commit_system(&good, "fix");
    app.wait_for("the fix applied", |s| {
        s["applied"]["revision"] == fixed.as_str()
    });
    let notices = steady.wait_for("the recovery", &app, |r| r.len() >= 2);
    let recovered = notices[1].json();
    assert_eq!(recovered["event"], "revision_recovered");
    assert_eq!(recovered["revision"], fixed.as_str());
    assert_eq!(
        samples(&app, "hromada_applied_revision_info"),
        vec![(format!("revision=\"{fixed}\""), 1.0)],
        "the first revision's series is gone"
    );
    assert_eq!(
        samples(&app, "hromada_head_refused"),
        vec![(format!("revision=\"{fixed}\""), 0.0)]
    );
    github.wait_for("the fix's status", &app, |r| {
        r.iter()
            .any(|s| s.path.ends_with(&fixed) && s.json()["state"] == "success")
    });

    // The source fails: counted on every failed pull, notified once; then it recovers.
    assert!(samples(&app, "hromada_source_last_good_fetch_timestamp_seconds")[0].1 > 0.0);
    let moved = repo.bare.path().with_extension("moved");
    std::fs::rename(repo.bare.path(), &moved).unwrap();
    let start = Instant::now();
    while samples(&app, "hromada_source_fetch_failures_total")[0].1 < 5.0 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "fewer than 5 failed pulls counted within 60 s\n{}",
            app.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let failing = steady.wait_for("the source failure", &app, |r| r.len() >= 3);
    assert_eq!(failing[2].json()["event"], "source_failing");
    assert!(app.status()["source_error"].is_string());
    std::fs::rename(&moved, repo.bare.path()).unwrap();
    app.wait_for("the source fetched again", |s| s["source_error"].is_null());
    let all = steady.wait_for("the source's recovery", &app, |r| r.len() >= 4);
    assert_eq!(all[3].json()["event"], "source_recovered");

    // Exactly one notice per transition, however many polls saw each state.
    let all = steady.requests();
    assert_eq!(events(&all, "revision_refused").len(), 1, "{all:#?}");
    assert_eq!(events(&all, "revision_recovered").len(), 1);
    assert_eq!(events(&all, "source_failing").len(), 1);
    assert_eq!(events(&all, "source_recovered").len(), 1);
    assert_eq!(all.len(), 4, "{all:#?}");
    let start = Instant::now();
    while smtp.received().len() < 4 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "not every notice mailed within 60 s: {:#?}\n{}",
            smtp.received(),
            app.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let subjects: Vec<String> = smtp.received().into_iter().map(|m| m.subject).collect();
    for (subject, words) in subjects.iter().zip([
        "revision refused",
        "revision applied again",
        "source failing",
        "source recovered",
    ]) {
        assert!(subject.contains(words), "{subjects:?}");
    }

    // No secret and no address in what was sent or logged.
    for request in steady.requests().iter().chain(&flaky.requests()) {
        assert!(!request.body.contains(TOKEN) && !request.body.contains("ops@city.example"));
        assert_eq!(request.header("content-type"), Some("application/json"));
    }
    let log = app.log();
    for secret in [TOKEN, HOOK_SECRET, "ops@city.example"] {
        assert!(!log.contains(secret), "the log shows {secret}:\n{log}");
    }
    assert!(app.stop().success());
}

#[test]
fn gitlab_statuses_are_posted_and_a_silent_webhook_never_holds_up_the_reconciler() {
    let (repo, first) = Repository::new();
    let silent = Receiver::silent();
    let gitlab = Receiver::start(0);
    let data = tempfile::tempdir().unwrap();
    let token = token_file(data.path());
    let app = Appliance::start(
        &data.path().join("checkout"),
        &data.path().join("state"),
        &[
            "--git",
            &repo.url,
            "--interval",
            "200ms",
            "--peer-listen",
            "127.0.0.1:0",
            "--notify-webhook",
            &silent.url("/never"),
            "--commit-status",
            "gitlab",
            "--commit-status-api",
            &gitlab.url("/api/v4/"),
            "--commit-status-repo",
            "city/spec",
            "--commit-status-token-file",
            &token,
        ],
    );
    app.wait_for("the first commit applied", |s| {
        s["applied"]["revision"] == first.as_str()
    });
    let good = repo.system();
    // The silent webhook holds its worker for its timeout on each of these notices; the
    // reconciler goes on regardless.
    let broken = repo.commit_system("system \"zp\" {", "break");
    app.wait_for("the broken commit refused", |s| {
        s["last_attempt"]["revision"] == broken.as_str()
    });
    let fixed = repo.commit_system(&good, "fix");
    app.wait_for("the fix applied while the webhook hangs", |s| {
        s["applied"]["revision"] == fixed.as_str()
    });
    let statuses = gitlab.wait_for("three statuses", &app, |r| r.len() >= 3);
    let expected = [
        (&first, "success"),
        (&broken, "failed"),
        (&fixed, "success"),
    ];
    for (status, (sha, state)) in statuses.iter().zip(expected) {
        assert_eq!(
            status.path,
            format!("/api/v4/projects/city%2Fspec/statuses/{sha}")
        );
        assert_eq!(status.header("private-token"), Some(TOKEN));
        let body = status.json();
        assert_eq!(body["state"], state, "{body}");
        assert_eq!(body["name"], "hromada/default");
    }
    assert!(app.stop().success());
}

#[test]
fn bad_notification_options_are_refused_at_start_naming_the_option() {
    let data = tempfile::tempdir().unwrap();
    let root = data.path().join("root");
    copy_tree(&minimal(), &root);
    let empty = data.path().join("empty-token");
    std::fs::write(&empty, "\n").unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &["--notify-webhook", "ftp://hooks.example/x"],
            "--notify-webhook",
        ),
        (&["--notify-email", "not an address"], "--notify-email"),
        (&["--notify-email", "ops@city.example"], "--smtp"),
        (
            &[
                "--commit-status",
                "github",
                "--commit-status-repo",
                "city",
                "--commit-status-token-file",
                empty.to_str().unwrap(),
            ],
            "--commit-status-repo",
        ),
        (
            &[
                "--commit-status",
                "gitlab",
                "--commit-status-repo",
                "7",
                "--commit-status-token-file",
                empty.to_str().unwrap(),
            ],
            "must hold one token",
        ),
    ];
    for (extra, named) in cases {
        let mut args = vec![
            "serve",
            root.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.path().join("state").to_str().unwrap(),
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
        args.extend(extra.iter().map(|s| s.to_string()));
        let out = hromada(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {err}");
        assert!(err.contains(named), "{extra:?} names {named}: {err}");
    }
    let out = hromada(&["serve", ".", "--commit-status", "github"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--commit-status-repo"));
}

#[test]
fn in_json_log_mode_the_banner_is_a_log_line_and_stdout_stays_empty() {
    let root = tempfile::tempdir().unwrap();
    copy_tree(&minimal(), root.path());
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hromada"))
        .arg("serve")
        .arg(root.path())
        .arg("--data-dir")
        .arg(data.path())
        .args(["--listen", "127.0.0.1:0", "--peer-listen", "127.0.0.1:0"])
        .args(["--log-format", "json"])
        .env("HROMADA_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let url = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("serve ended without a banner: {seen:#?}"))
            .unwrap();
        let event: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
        seen.push(line);
        if let Some(url) = event["url"].as_str() {
            assert!(event["message"].as_str().unwrap().contains("listening on"));
            assert_eq!(event["level"], "INFO");
            break url.to_string();
        }
    };
    let address = url.strip_prefix("http://").unwrap().to_string();
    let start = Instant::now();
    while get(&address, "/readyz").map(|(c, _)| c).unwrap_or(0) != 200 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "not ready in 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let rest = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(stdout, "", "nothing but the log is written in JSON mode");
    for line in rest.join().unwrap() {
        serde_json::from_str::<serde_json::Value>(&line)
            .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
    }
}

/// `promtool`, which Debian's `prometheus` package provides (.ci/run installs it).
fn promtool(args: &[&str]) -> String {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("promtool runs (apt-get install prometheus)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?}:\n{text}");
    text
}

#[test]
fn the_prometheus_files_pass_promtool_and_alert_only_on_metrics_the_appliance_exports() {
    promtool(&["check", "config", "deploy/prometheus/prometheus.yml"]);
    let checked = promtool(&["check", "rules", "deploy/prometheus/alerts.yml"]);
    assert!(checked.contains("SUCCESS: 7 rules found"), "{checked}");
    // Each alert fires on the series it is about, after its `for`, and not on a healthy replica.
    promtool(&["test", "rules", "tests/data/prometheus/alerts.test.yml"]);

    // An appliance pulling from Git, on a refused head, exports every family the rules use.
    let (repo, _) = Repository::new();
    repo.commit_system("system \"zp\" {", "break");
    let data = tempfile::tempdir().unwrap();
    let app = Appliance::start(
        &data.path().join("checkout"),
        &data.path().join("state"),
        &["--git", &repo.url, "--peer-listen", "127.0.0.1:0"],
    );
    app.wait_for("the head refused", |s| {
        s["last_attempt"]["outcome"] == "refused"
    });
    // The replicas gauge is set once the fleet's first heartbeat is judged, just after start.
    let started = std::time::Instant::now();
    let mut exported = app.get("/metrics").1;
    while !exported.contains("# TYPE hromada_replicas_out_of_sync")
        && started.elapsed() < std::time::Duration::from_secs(30)
    {
        std::thread::sleep(std::time::Duration::from_millis(200));
        exported = app.get("/metrics").1;
    }
    let families: std::collections::BTreeSet<&str> = exported
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let alerts = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus/alerts.yml"),
    )
    .unwrap();
    let docs = yaml_rust2::YamlLoader::load_from_str(&alerts).unwrap();
    let name = regex::Regex::new(r"\bhromada_[a-z_]+\b").unwrap();
    let mut named = 0;
    for rule in docs[0]["groups"][0]["rules"].as_vec().unwrap() {
        let expr = rule["expr"].as_str().unwrap();
        for metric in name.find_iter(expr).map(|m| m.as_str()) {
            named += 1;
            assert!(
                families.contains(metric),
                "alert {} uses {metric}, which the appliance does not export:\n{exported}",
                rule["alert"].as_str().unwrap()
            );
        }
    }
    assert!(named >= 6, "{named}");
    assert!(families.contains("hromada_ready"));
}

#[test]
fn replicas_on_one_postgresql_and_a_restart_notify_each_transition_once() {
    let Some(database) = crate::common::postgres::url_or_skip(
        "replicas_on_one_postgresql_and_a_restart_notify_each_transition_once",
    ) else {
        return;
    };
    let (repo, first) = Repository::new();
    let hook = Receiver::start(0);
    let github = Receiver::start(0);
    let (a_data, b_data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let token = token_file(a_data.path());
    let hook_url = hook.url("/notices");
    let api = github.url("/api");
    let replica = |data: &Path| {
        Appliance::start(
            &data.join("checkout"),
            &data.join("state"),
            &[
                "--git",
                &repo.url,
                "--interval",
                "200ms",
                "--peer-listen",
                "127.0.0.1:0",
                "--database-url",
                &database,
                "--notify-webhook",
                &hook_url,
                "--commit-status",
                "github",
                "--commit-status-api",
                &api,
                "--commit-status-repo",
                "city/spec",
                "--commit-status-token-file",
                &token,
            ],
        )
    };
    let a = replica(a_data.path());
    let b = replica(b_data.path());
    for app in [&a, &b] {
        app.wait_for("the first commit applied", |s| {
            s["applied"]["revision"] == first.as_str()
        });
    }

    let good = repo.system();
    let broken = repo.commit_system("system \"zp\" {", "break");
    for app in [&a, &b] {
        app.wait_for("the broken commit refused", |s| {
            s["last_attempt"]["revision"] == broken.as_str()
        });
    }
    hook.wait_for("the refusal", &a, |r| !r.is_empty());
    // Replica a restarts on the refused head: it refuses it again, and says nothing new.
    assert!(a.stop().success());
    let a = replica(a_data.path());
    a.wait_for("the broken commit refused after the restart", |s| {
        s["ready"] == true && s["last_attempt"]["revision"] == broken.as_str()
    });

    let fixed = repo.commit_system(&good, "fix");
    for app in [&a, &b] {
        app.wait_for("the fix applied", |s| {
            s["applied"]["revision"] == fixed.as_str()
        });
    }
    hook.wait_for("the recovery", &a, |r| r.len() >= 2);
    github.wait_for("the fix's status", &a, |r| {
        r.iter().any(|s| s.path.ends_with(&fixed))
    });
    assert!(a.stop().success());
    assert!(b.stop().success());

    let notices = hook.requests();
    assert_eq!(
        events(&notices, "revision_refused").len(),
        1,
        "{notices:#?}"
    );
    assert_eq!(
        events(&notices, "revision_recovered").len(),
        1,
        "{notices:#?}"
    );
    assert_eq!(notices.len(), 2, "{notices:#?}");
    let statuses: Vec<(String, String)> = github
        .requests()
        .iter()
        .map(|s| {
            let sha = s.path.rsplit('/').next().unwrap().to_string();
            (sha, s.json()["state"].as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(
        statuses,
        [
            (first, "success".to_string()),
            (broken, "failure".to_string()),
            (fixed, "success".to_string()),
        ],
        "one status per commit and outcome, from either replica"
    );
}
