//! Knowing what is going on (issue 17, part F): the fleet of replicas in the store, the exit
//! codes of `hromada status`, `--cacert` for an appliance behind a private CA, and a PostgreSQL
//! outage answered at once and recovered from without a restart.

use crate::common::git::git;
use std::path::Path;
use std::process::Command;

use chrono::{Duration, TimeZone, Utc};
use hromada::store::{Heartbeat, Store};

use crate::common::appliance::{Appliance, example_city};
use crate::common::db::{Db, execute};
use crate::common::postgres::OwnCluster;

const OFFICIALS: &str = "spec/registry/officials.kdl";

/// `hromada status ARGS…`: exit code, standard output and standard error.
fn status(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hromada"));
    command.arg("status").args(args).env_remove("SSL_CERT_FILE");
    command
        .env_remove("HROMADA_TLS_CERT")
        .env_remove("HROMADA_URL");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Polls `hromada status ARGS…` until it exits with `code`, or fails after 60 s.
fn status_until(code: i32, args: &[&str], env: &[(&str, &str)]) -> (String, String) {
    let start = std::time::Instant::now();
    loop {
        let (got, out, err) = status(args, env);
        if got == code {
            return (out, err);
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "status {args:?} kept exiting {got}, not {code}:\n{out}\n{err}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

fn city() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    example_city(dir.path());
    dir
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

fn replicas(status: &serde_json::Value) -> Vec<serde_json::Value> {
    status["replicas"].as_array().cloned().unwrap_or_default()
}

fn replica<'a>(status: &'a serde_json::Value, instance: &str) -> Option<&'a serde_json::Value> {
    status["replicas"]
        .as_array()?
        .iter()
        .find(|r| r["instance"] == instance)
}

crate::both! {
    async fn heartbeats_are_one_row_per_replica_and_silent_ones_are_forgotten(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let at = |s: i64| Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap();
        let beat = |instance: &str, revision: Option<&str>, s: i64| Heartbeat {
            node: "gw-core".into(),
            instance: instance.into(),
            revision: revision.map(Into::into),
            applied_at: revision.map(|_| at(1)),
            started_at: at(0),
            at: at(s),
        };
        store.heartbeat(&beat("a:1", None, 2)).await.unwrap();
        store.heartbeat(&beat("a:1", Some("r1"), 3)).await.unwrap();
        store.heartbeat(&beat("b:2", Some("r0"), 4)).await.unwrap();
        let mut other_node = beat("c:3", Some("r9"), 4);
        other_node.node = "gw-other".into();
        store.heartbeat(&other_node).await.unwrap();

        let rows = store.replicas("gw-core").await.unwrap();
        assert_eq!(rows.len(), 2, "one row per replica of this node: {rows:?}");
        assert_eq!(rows[0].instance, "a:1");
        assert_eq!(rows[0].revision.as_deref(), Some("r1"));
        assert_eq!(rows[0].heartbeat_at, at(3));
        assert_eq!(rows[0].applied_at, Some(at(1)));

        assert_eq!(store.forget_replicas("gw-core", at(4)).await.unwrap(), 1);
        let rows = store.replicas("gw-core").await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].instance, "b:2");
        assert_eq!(store.replicas("gw-other").await.unwrap().len(), 1);

        store.leave_replicas("gw-core", "b:2").await.unwrap();
        assert!(store.replicas("gw-core").await.unwrap().is_empty());

        // A row rewritten outside hromada is named in the error, and nothing else is lost.
        store.heartbeat(&beat("d:4", Some("r1"), 5)).await.unwrap();
        execute(
            &db.url,
            "UPDATE replicas SET heartbeat_at = 'yesterday' WHERE instance = 'd:4'",
        )
        .await;
        let error = store.replicas("gw-core").await.unwrap_err().to_string();
        assert!(
            error.contains("replica d:4 of node gw-core")
                && error.contains("heartbeat time `yesterday`")
                && error.contains("changed outside hromada"),
            "{error}"
        );
        assert_eq!(store.replicas("gw-other").await.unwrap().len(), 1);
        // Its next heartbeat writes the row whole again.
        store.heartbeat(&beat("d:4", Some("r1"), 6)).await.unwrap();
        assert_eq!(store.replicas("gw-core").await.unwrap()[0].heartbeat_at, at(6));
        store.close().await;
    }
}

/// Two replicas on one PostgreSQL, each on its own folder: the one whose folder is behind lags
/// since the other applied the newer revision; killed, it falls silent; the gauge counts it;
/// a replica long silent is dropped from the list.
#[test]
fn two_replicas_on_one_postgresql_show_which_lags_and_since_when() {
    let Some(url) = crate::common::postgres::url_or_skip(
        "two_replicas_on_one_postgresql_show_which_lags_and_since_when",
    ) else {
        return;
    };
    let (ahead, behind) = (city(), city());
    let (a_data, b_data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let beats = ["--database-url", &url, "--heartbeat-every", "2s"];
    let a = Appliance::start(ahead.path(), a_data.path(), &beats);
    let b = Appliance::start(behind.path(), b_data.path(), &beats);
    let a_instance = a.status()["instance"].as_str().unwrap().to_string();
    let b_instance = b.status()["instance"].as_str().unwrap().to_string();
    // The revision from the fleet's rows, not from `applied`: the status reads its own state
    // before the store, so a slow answer can list a row written after that state was read.
    let in_sync = a.wait_for("both replicas in the fleet, in sync", |s| {
        let fleet = replicas(s);
        fleet.len() == 2
            && fleet
                .iter()
                .all(|r| r["lagging"] == false && r["revision"].is_string())
    });
    let first = replica(&in_sync, &a_instance).unwrap()["revision"]
        .as_str()
        .unwrap()
        .to_string();

    edit(
        ahead.path(),
        OFFICIALS,
        "Литвиненко Ірина Василівна",
        "Литвиненко Ірина Петрівна",
    );
    let seen_by_b = b.wait_for("replica b to see that it lags", |s| {
        replica(s, &b_instance).is_some_and(|r| r["lagging"] == true)
            && replica(s, &a_instance).is_some_and(|r| r["revision"] != first.as_str())
    });
    let a_row = replica(&seen_by_b, &a_instance).unwrap().clone();
    let b_row = replica(&seen_by_b, &b_instance).unwrap().clone();
    assert_eq!(a_row["lagging"], false, "{seen_by_b:#}");
    assert_eq!(b_row["revision"], first.as_str());
    assert_eq!(
        b_row["lagging_since"], a_row["applied_at"],
        "b lags since a applied the newer revision: {seen_by_b:#}"
    );
    assert!(
        b_row["lag"]
            .as_str()
            .unwrap()
            .contains("while the newest applied revision is"),
        "{b_row:#}"
    );
    assert!(b_row["heartbeat_age_seconds"].as_i64().unwrap() < 60);

    // Each replica is in sync with its own source: status exits 0 for both, and names the lag.
    let (out, _) = status_until(0, &["--url", &b.url], &[]);
    assert!(
        out.contains("replicas") && out.contains("LAGGING since"),
        "{out}"
    );
    assert!(
        out.contains(&b_instance) && out.contains("(this one)"),
        "{out}"
    );
    status_until(0, &["--url", &a.url], &[]);

    // The gauge on either replica counts the one that lags.
    let metric_is = |app: &Appliance, value: &str| {
        app.get("/metrics")
            .1
            .lines()
            .any(|l| l == format!("hromada_replicas_out_of_sync {value}"))
    };
    let start = std::time::Instant::now();
    while !metric_is(&a, "1") {
        assert!(start.elapsed().as_secs() < 30, "{}", a.get("/metrics").1);
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    // b catches up, then is killed: it falls silent and lags since its last heartbeat.
    edit(
        behind.path(),
        OFFICIALS,
        "Литвиненко Ірина Василівна",
        "Литвиненко Ірина Петрівна",
    );
    a.wait_for("the fleet in sync again", |s| {
        let fleet = replicas(s);
        fleet.len() == 2 && fleet.iter().all(|r| r["lagging"] == false)
    });
    b.kill_hard();
    let silent = a.wait_for("the killed replica to fall silent", |s| {
        replica(s, &b_instance).is_some_and(|r| r["lagging"] == true)
    });
    let b_row = replica(&silent, &b_instance).unwrap();
    assert_eq!(b_row["lagging_since"], b_row["heartbeat_at"], "{silent:#}");
    assert!(
        b_row["lag"].as_str().unwrap().contains("no heartbeat"),
        "{b_row:#}"
    );
    assert_eq!(replica(&silent, &a_instance).unwrap()["lagging"], false);

    // Long gone (its heartbeat rewritten to an hour ago), it is dropped from the list.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let an_hour_ago = hromada::store::time_text(&(Utc::now() - Duration::hours(1)));
    runtime.block_on(execute(
        &url,
        &format!(
            "UPDATE replicas SET heartbeat_at = '{an_hour_ago}' WHERE instance = '{b_instance}'"
        ),
    ));
    a.wait_for("the long-silent replica to be dropped", |s| {
        replicas(s).len() == 1 && replica(s, &a_instance).is_some()
    });
    while !metric_is(&a, "0") {
        assert!(start.elapsed().as_secs() < 120, "{}", a.get("/metrics").1);
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    // A replica that stops cleanly leaves the fleet at once.
    let left = a.stop();
    assert!(left.success());
    let rows = runtime.block_on(async {
        let store = Store::connect(&url).await.unwrap();
        // Without --node, a replica's rows are kept under the key `default`.
        let rows = store.replicas("default").await.unwrap();
        store.close().await;
        rows
    });
    assert!(rows.is_empty(), "{rows:?}");
}

/// 0 when the source's head is applied, 2 when it is refused or the source cannot be fetched, 1
/// when the appliance cannot be reached.
#[test]
fn status_exits_0_in_sync_2_degraded_1_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let bare = dir.path().join("spec.git");
    let work = dir.path().join("work");
    example_city(&work);
    git(&work, &["init", "--quiet", "--initial-branch=main"]);
    git(&work, &["add", "."]);
    git(&work, &["commit", "--quiet", "-m", "first"]);
    git(
        dir.path(),
        &["clone", "--quiet", "--bare", "work", "spec.git"],
    );
    let app = Appliance::start(
        &dir.path().join("checkout"),
        &dir.path().join("data"),
        &["--git", bare.to_str().unwrap(), "--interval", "1s"],
    );
    let head = git(&work, &["rev-parse", "HEAD"]);
    app.wait_for("the first commit applied", |s| {
        s["applied"]["revision"] == head.as_str()
    });
    let (out, err) = status_until(0, &["--url", &app.url], &[]);
    assert!(out.contains(&format!("head      {head}")), "{out}");
    assert!(err.is_empty(), "{err}");
    let (_, json, _) = status(&["--url", &app.url, "--json"], &[]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["source_head"], head.as_str());

    // A head with an error is refused: degraded, naming it, while the old revision serves.
    std::fs::write(work.join("spec/broken.kdl"), "participant \"x\" {\n").unwrap();
    git(&work, &["add", "."]);
    git(&work, &["commit", "--quiet", "-m", "broken"]);
    git(&work, &["push", "--quiet", bare.to_str().unwrap(), "main"]);
    let broken = git(&work, &["rev-parse", "HEAD"]);
    let (out, err) = status_until(2, &["--url", &app.url], &[]);
    assert!(
        err.contains(&format!("the source's head {} is refused", &broken[..12]))
            && err.contains(&format!("{} keeps serving", &head[..12])),
        "{out}\n{err}"
    );
    assert_eq!(app.applied(), head);
    let (code, _, err) = status(&["--url", &app.url, "--ready"], &[]);
    assert_eq!(code, 0, "still serving, so the health check holds: {err}");

    // The fix brings it back in sync.
    git(&work, &["rm", "--quiet", "spec/broken.kdl"]);
    git(&work, &["commit", "--quiet", "-m", "fix"]);
    git(&work, &["push", "--quiet", bare.to_str().unwrap(), "main"]);
    status_until(0, &["--url", &app.url], &[]);

    // The remote gone: degraded, saying the source cannot be fetched.
    std::fs::rename(&bare, dir.path().join("moved.git")).unwrap();
    let (_, err) = status_until(2, &["--url", &app.url], &[]);
    assert!(err.contains("the source cannot be fetched"), "{err}");
    std::fs::rename(dir.path().join("moved.git"), &bare).unwrap();
    status_until(0, &["--url", &app.url], &[]);

    // Nobody there: 1.
    let address = app.address.clone();
    app.stop();
    let (code, out, err) = status(&["--url", &format!("http://{address}")], &[]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("cannot reach"), "{err}");
    // Something that is not an appliance: 1 too.
    let (code, _, err) = status(&["--url", "http://127.0.0.1:9/nothing"], &[]);
    assert_eq!(code, 1, "{err}");
}

/// An appliance behind a private CA: `status` and `plan --against` trust it with `--cacert` (or
/// `SSL_CERT_FILE`), refuse it without, and `--tls-cert` pinning keeps working.
#[test]
fn status_and_plan_trust_a_private_ca_with_cacert() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path();
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .current_dir(pki)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-days",
                "2",
                "-subj",
                "/CN=City private CA",
                "-addext",
                "basicConstraints=critical,CA:true",
                "-addext",
                "keyUsage=critical,keyCertSign",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
            ],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req"][..],
            &ec,
            &[
                "-subj",
                "/CN=hromada",
                "-keyout",
                "tls.key",
                "-out",
                "tls.csr",
            ],
        ]
        .concat(),
    );
    std::fs::write(
        pki.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "tls.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "tls.crt",
    ]);
    let (ca, cert, key) = (pki.join("ca.crt"), pki.join("tls.crt"), pki.join("tls.key"));

    let root = dir.path().join("spec-root");
    example_city(&root);
    git(&root, &["init", "--quiet", "--initial-branch=main"]);
    git(&root, &["add", "."]);
    git(&root, &["commit", "--quiet", "-m", "first"]);
    let app = Appliance::start(
        &root,
        &dir.path().join("data"),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(app.url.starts_with("https://"), "{}", app.url);
    let ca = ca.to_str().unwrap();
    status_until(0, &["--url", &app.url, "--cacert", ca], &[]);
    status_until(0, &["--url", &app.url], &[("SSL_CERT_FILE", ca)]);
    status_until(
        0,
        &["--url", &app.url, "--tls-cert", cert.to_str().unwrap()],
        &[],
    );

    let (code, _, err) = status(&["--url", &app.url], &[]);
    assert_eq!(
        code, 1,
        "without the CA the appliance is not trusted: {err}"
    );
    // The CA's certificate is not the served one: pinning it refuses the appliance.
    let (code, _, err) = status(&["--url", &app.url, "--tls-cert", ca], &[]);
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = status(&["--url", &app.url, "--cacert", key.to_str().unwrap()], &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("tls.key") && err.contains("BEGIN CERTIFICATE"),
        "{err}"
    );

    let plan = |env: &[(&str, &str)], extra: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hromada"));
        command
            .args(["plan", root.to_str().unwrap(), "--against", &app.url])
            .args(extra)
            .env_remove("SSL_CERT_FILE");
        for (k, v) in env {
            command.env(k, v);
        }
        command.output().unwrap()
    };
    let out = plan(&[], &["--cacert", ca]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = plan(&[("SSL_CERT_FILE", ca)], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = plan(&[], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach"));
}

/// PostgreSQL stopped under a running appliance: `/readyz` answers 503 and `/api/status` says
/// not ready, naming the node and the store's failure; started again, the appliance recovers by
/// itself.
#[test]
fn a_postgresql_outage_is_answered_at_once_and_recovered_from() {
    let Some(cluster) =
        OwnCluster::start_or_skip("a_postgresql_outage_is_answered_at_once_and_recovered_from")
    else {
        return;
    };
    let root = city();
    let data = tempfile::tempdir().unwrap();
    let app = Appliance::start(
        root.path(),
        data.path(),
        &["--database-url", &cluster.url(), "--heartbeat-every", "2s"],
    );
    let before = app.wait_for("ready", |s| s["ready"] == true && !replicas(s).is_empty());
    let node = before["node"].as_str().unwrap().to_string();
    assert_eq!(app.get("/readyz").0, 200);
    status_until(0, &["--url", &app.url], &[]);

    cluster.stop();
    let start = std::time::Instant::now();
    while app.get("/readyz").0 != 503 {
        assert!(start.elapsed().as_secs() < 30, "{}", app.log());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (_, readyz) = app.get("/readyz");
    assert!(readyz.contains("PostgreSQL"), "{readyz}");
    let down = app.status();
    assert_eq!(down["ready"], false, "{down:#}");
    assert_eq!(down["node"], node.as_str(), "{down:#}");
    assert!(
        down["store_error"]
            .as_str()
            .unwrap()
            .contains("PostgreSQL database"),
        "{down:#}"
    );
    assert_eq!(down["applied"]["revision"], before["applied"]["revision"]);
    let (_, err) = status_until(2, &["--url", &app.url], &[]);
    assert!(err.contains("the store is failing"), "{err}");
    let (code, _, err) = status(&["--url", &app.url, "--ready"], &[]);
    assert_eq!(code, 1, "the health check fails: {err}");
    assert!(err.contains("not ready: the store is failing"), "{err}");

    cluster.start();
    let after = app.wait_for("ready again, by itself", |s| s["ready"] == true);
    assert_eq!(after["node"], node.as_str());
    assert!(after.get("store_error").is_none(), "{after:#}");
    assert_eq!(app.get("/readyz").0, 200);
    status_until(0, &["--url", &app.url], &[]);
    let instance = after["instance"].as_str().unwrap().to_string();
    app.wait_for("heartbeats recorded again", |s| {
        replica(s, &instance).is_some_and(|r| r["lagging"] == false)
    });
}
