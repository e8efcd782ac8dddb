//! The service catalogue and the health checks behind it, end to end: `hromada serve` on a tree
//! whose services' upstreams are real HTTP servers on loopback (healthy, answering 500, not
//! listening); the JSON, the HTML page, the public OpenAPI documents, and that no upstream
//! address ever appears in them. The health store runs on SQLite and PostgreSQL (`both!`).

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hromada::store::{Availability, HealthResult, Store};
use serde_json::Value;
use tempfile::TempDir;

use common::appliance::Appliance;
use common::db::Db;

/// A loopback HTTP server answering every request with `status`, until the test ends.
fn upstream(status: u16) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let body = if status == 200 { "ok" } else { "broken" };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// A loopback port with nothing listening on it.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

struct Tree {
    dir: TempDir,
    /// The upstream addresses the tree declares, which must never be published.
    upstreams: Vec<String>,
}

/// `examples/minimal` with four services of the council: `healthy`, `failing` (500), `gone`
/// (nothing listens) checked every second, and `quiet` without a health check. Two carry OpenAPI
/// documents whose `servers` name the upstream; one description quotes its upstream address.
fn tree() -> Tree {
    let dir = tempfile::tempdir().unwrap();
    common::copy_tree(&common::minimal(), dir.path());
    let healthy = format!("http://127.0.0.1:{}/api", upstream(200));
    let failing = format!("http://127.0.0.1:{}/v2", upstream(500));
    let gone = format!("http://127.0.0.1:{}", closed_port());
    let quiet = format!("http://127.0.0.1:{}/quiet", closed_port());
    let services = format!(
        r#"
    service "healthy" subsystem="registry" {{
        title "Витяг з реєстру"
        description "Відомості з реєстру; внутрішньо працює на {healthy}"
        upstream "{healthy}"
        operation "GET" "/records/*"
        health path="/health" every="1s" timeout="1s"
        openapi "openapi/healthy.yaml"
    }}
    service "failing" subsystem="registry" {{
        title "Довідка про стан заяви"
        description "Стан розгляду заяви"
        upstream "{failing}"
        operation "GET" "/applications/*"
        health path="/health" every="1s" timeout="1s"
        openapi "openapi/failing.json"
    }}
    service "gone" subsystem="registry" {{
        title "Архів рішень"
        description "Рішення сільської ради"
        upstream "{gone}"
        operation "GET" "/decisions"
        health path="/health" every="1s" timeout="1s"
    }}
    service "quiet" subsystem="registry" {{
        title "Перелік вулиць"
        description "Довідник вулиць громади"
        upstream "{quiet}"
        operation "GET" "/streets"
    }}
}}
"#
    );
    let council = dir.path().join("spec/council.kdl");
    let text = std::fs::read_to_string(&council).unwrap();
    let end = text.rfind('}').unwrap();
    std::fs::write(&council, format!("{}{services}", &text[..end])).unwrap();
    std::fs::create_dir_all(dir.path().join("openapi")).unwrap();
    std::fs::write(
        dir.path().join("openapi/healthy.yaml"),
        format!(
            "openapi: 3.0.3\ninfo:\n  title: Витяг з реєстру\n  version: '1.0'\nservers:\n  - url: {healthy}\n    description: internal\npaths:\n  /records/{{id}}:\n    get:\n      servers:\n        - url: {healthy}/v1\n      responses:\n        '200':\n          description: запис\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("openapi/failing.json"),
        format!(
            r#"{{"openapi": "3.1.0", "info": {{"title": "Стан заяви", "version": "2"}},
  "servers": [{{"url": "{failing}"}}],
  "paths": {{"/applications/{{id}}": {{"servers": [{{"url": "{failing}/x"}}], "get": {{"responses": {{"200": {{"description": "стан"}}}}}}}}}}}}"#
        ),
    )
    .unwrap();
    Tree {
        dir,
        upstreams: vec![healthy, failing, gone, quiet],
    }
}

impl Tree {
    fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Every form in which an upstream address could leak: whole, as origin, host and port.
    fn assert_no_upstream_in(&self, what: &str, text: &str) {
        for upstream in &self.upstreams {
            let authority = upstream.trim_start_matches("http://");
            let authority = authority.split('/').next().unwrap();
            assert!(
                !text.contains(authority),
                "{what} publishes the upstream address {upstream}:\n{text}"
            );
        }
    }
}

fn service<'a>(catalogue: &'a Value, reference: &str) -> &'a Value {
    catalogue["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["reference"] == reference)
        .unwrap_or_else(|| panic!("{reference} is not in the catalogue: {catalogue:#}"))
}

/// Polls `/api/catalogue` until every checked service has been checked at least twice.
fn checked_catalogue(app: &Appliance) -> Value {
    let start = Instant::now();
    loop {
        let (code, body) = app.get("/api/catalogue");
        if code == 200 {
            let catalogue: Value = serde_json::from_str(&body).unwrap();
            let done = ["council/healthy", "council/failing", "council/gone"]
                .iter()
                .all(|s| {
                    service(&catalogue, s)["health"]["availability_24h"]["total"]
                        .as_i64()
                        .is_some_and(|n| n >= 2)
                });
            if done {
                return catalogue;
            }
        }
        if start.elapsed() > Duration::from_secs(60) {
            panic!(
                "the services were not checked within 60 s; last answer {code}: {body}\n{}",
                app.log()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_catalogue_shows_each_services_health_and_never_its_upstream() {
    let tree = tree();
    let validated = std::process::Command::new(env!("CARGO_BIN_EXE_hromada"))
        .args(["validate", "--deny-warnings"])
        .arg(tree.root())
        .output()
        .unwrap();
    assert!(
        validated.status.success(),
        "the test tree is valid: {}",
        String::from_utf8_lossy(&validated.stdout)
    );

    let data = tempfile::tempdir().unwrap();
    let app = Appliance::start(tree.root(), data.path(), &[]);
    app.wait_for("the first revision", |s| s["ready"] == true);
    let catalogue = checked_catalogue(&app);
    let body = serde_json::to_string(&catalogue).unwrap();
    tree.assert_no_upstream_in("/api/catalogue", &body);

    assert_eq!(catalogue["node"], "gw-core");
    assert_eq!(catalogue["health_available"], true);
    let healthy = service(&catalogue, "council/healthy");
    assert_eq!(
        healthy["id"], "hromada-minimal/GOV/04363395/registry/healthy",
        "{healthy:#}"
    );
    assert_eq!(
        healthy["base"],
        "/r1/hromada-minimal/GOV/04363395/registry/healthy"
    );
    assert_eq!(healthy["provider"]["edrpou"], "04363395");
    assert_eq!(healthy["provider"]["name"], "Щасливська сільська рада");
    assert_eq!(
        healthy["operations"],
        serde_json::json!([{"method": "GET", "path": "/records/*"}])
    );
    assert_eq!(healthy["openapi"], "/api/catalogue/council/healthy/openapi");
    assert!(
        healthy["description"]
            .as_str()
            .unwrap()
            .contains("https://upstream.invalid"),
        "the address in the description is replaced: {healthy:#}"
    );
    assert_eq!(healthy["health"]["state"], "up", "{healthy:#}");
    assert_eq!(healthy["health"]["status_code"], 200);
    let day = &healthy["health"]["availability_24h"];
    assert_eq!(day["ok"], day["total"], "{healthy:#}");
    assert_eq!(day["ratio"], 1.0);
    assert!(healthy["health"]["last_checked_at"].is_string());

    let failing = service(&catalogue, "council/failing");
    assert_eq!(failing["health"]["state"], "down", "{failing:#}");
    assert_eq!(failing["health"]["status_code"], 500);
    assert_eq!(failing["health"]["availability_24h"]["ok"], 0);
    assert_eq!(failing["health"]["availability_30d"]["ratio"], 0.0);

    let gone = service(&catalogue, "council/gone");
    assert_eq!(gone["health"]["state"], "down", "{gone:#}");
    assert_eq!(gone["health"]["status_code"], Value::Null);
    assert_eq!(gone["openapi"], Value::Null);

    let quiet = service(&catalogue, "council/quiet");
    assert_eq!(quiet["health"]["state"], "unchecked", "{quiet:#}");
    assert_eq!(quiet["health"]["availability_24h"], Value::Null);

    // The page: every service, its state in words, no upstream address in any form.
    let (code, html) = app.get("/catalogue");
    assert_eq!(code, 200, "{html}");
    tree.assert_no_upstream_in("/catalogue", &html);
    assert!(!html.contains("<script"), "no JavaScript");
    for expected in [
        "<html lang=\"uk\">",
        "Витяг з реєстру",
        "Довідка про стан заяви",
        "Архів рішень",
        "Перелік вулиць",
        "Щасливська сільська рада",
        "04363395",
        "hromada-minimal/GOV/04363395/registry/healthy",
        "GET /records/*",
        "href=\"/api/catalogue/council/healthy/openapi\"",
        "state state-up\">працює",
        "state state-down\">не працює",
        "не перевіряється",
        "код відповіді 500",
        "100,0 %",
        "перевіряється кожні 1 с",
        "за 30 днів",
    ] {
        assert!(
            html.contains(expected),
            "the page lacks `{expected}`:\n{html}"
        );
    }

    // OpenAPI documents: the gateway's base replaces every server; YAML stays YAML.
    let (code, yaml) = app.get("/api/catalogue/council/healthy/openapi");
    assert_eq!(code, 200, "{yaml}");
    tree.assert_no_upstream_in("the YAML OpenAPI document", &yaml);
    let doc = &yaml_rust2::YamlLoader::load_from_str(&yaml).unwrap()[0];
    assert_eq!(
        doc["servers"][0]["url"].as_str(),
        Some("/r1/hromada-minimal/GOV/04363395/registry/healthy")
    );
    assert_eq!(doc["servers"].as_vec().map(Vec::len), Some(1));
    assert_eq!(doc["info"]["title"].as_str(), Some("Витяг з реєстру"));
    assert!(doc["paths"]["/records/{id}"]["get"]["servers"].is_badvalue());

    let (code, json) = app.get("/api/catalogue/council/failing/openapi");
    assert_eq!(code, 200, "{json}");
    tree.assert_no_upstream_in("the JSON OpenAPI document", &json);
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        doc["servers"],
        serde_json::json!([{"url": "/r1/hromada-minimal/GOV/04363395/registry/failing"}])
    );
    assert_eq!(doc["paths"]["/applications/{id}"].get("servers"), None);

    // What is not there is a 404 that says so.
    for (path, says) in [
        (
            "/api/catalogue/council/gone/openapi",
            "publishes no OpenAPI",
        ),
        (
            "/api/catalogue/council/nothing/openapi",
            "no service council/nothing",
        ),
        (
            "/api/catalogue/nobody/healthy/openapi",
            "no service nobody/healthy",
        ),
    ] {
        let (code, body) = app.get(path);
        assert_eq!(code, 404, "{path}: {body}");
        assert!(body.contains(says), "{path}: {body}");
    }

    // Metrics carry the state per service, labelled by `participant/service` only.
    let (_, metrics) = app.get("/metrics");
    assert!(
        metrics.contains("hromada_service_up{service=\"council/healthy\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("hromada_service_up{service=\"council/failing\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("hromada_health_check_duration_seconds_bucket{service=\"council/gone\"")
    );
    tree.assert_no_upstream_in("/metrics", &metrics);

    // A state is logged once, not on every failed check; the log never quotes an upstream.
    let log = app.log();
    assert_eq!(
        log.matches("service council/failing is down").count(),
        1,
        "{log}"
    );
    tree.assert_no_upstream_in("the log", &log);
    assert!(app.stop().success());
}

#[test]
fn another_nodes_services_are_not_checked_here() {
    let tree = tree();
    let council = tree.root().join("spec/council.kdl");
    let text = std::fs::read_to_string(&council).unwrap();
    std::fs::write(
        &council,
        text.replace("gateway \"gw-core\"", "gateway \"gw-far\""),
    )
    .unwrap();
    let system = tree.root().join("spec/system.kdl");
    let text = std::fs::read_to_string(&system).unwrap();
    std::fs::write(
        &system,
        text.replace(
            "    trust-anchor",
            "    node \"gw-far\" address=\"https://127.0.0.1:8444\" cert=\"pki/nodes/gw-core.crt\"\n    trust-anchor",
        ),
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let app = Appliance::start(tree.root(), data.path(), &[]);
    app.wait_for("the first revision", |s| s["ready"] == true);
    let (code, body) = app.get("/api/catalogue");
    assert_eq!(code, 200, "{body}");
    let catalogue: Value = serde_json::from_str(&body).unwrap();
    let healthy = service(&catalogue, "council/healthy");
    assert_eq!(healthy["gateway"], "gw-far");
    assert_eq!(healthy["health"]["state"], "unknown", "{healthy:#}");
    assert_eq!(healthy["health"]["availability_24h"]["total"], 0);
    assert!(!app.log().contains("council/healthy is"), "{}", app.log());
    assert!(app.stop().success());
}

fn result(service: &str, checked_at: DateTime<Utc>, ok: bool, status: Option<u16>) -> HealthResult {
    HealthResult {
        service: service.into(),
        node: "gw-core".into(),
        checked_at,
        ok,
        status_code: status,
        latency_ms: 12,
        error: (!ok && status.is_none()).then(|| "cannot connect to the upstream".into()),
    }
}

both! {
    async fn availability_counts_the_checks_in_each_window(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        assert_eq!(store.backend(), db.backend);
        let now: DateTime<Utc> = "2026-11-23T12:00:00.5Z".parse().unwrap();
        let ago = |minutes: i64| now - chrono::Duration::minutes(minutes);
        let day = chrono::Duration::days(1);
        let a = "vodokanal/balance";
        for r in [
            result(a, now - day * 40, true, Some(200)),
            result(a, now - day * 10, false, Some(503)),
            result(a, ago(120), true, Some(200)),
            result(a, ago(60), true, Some(204)),
            result(a, ago(1), false, None),
            result("vodokanal/outages", ago(5), true, Some(200)),
        ] {
            store.record_health(&r).await.unwrap();
        }
        let health = store.health_by_service(now - day, now - day * 30).await.unwrap();
        assert_eq!(health.keys().collect::<Vec<_>>(), [a, "vodokanal/outages"]);
        assert_eq!(health[a].short, Availability { ok: 2, total: 3 });
        assert_eq!(health[a].long, Availability { ok: 2, total: 4 });
        assert_eq!(health[a].latest, result(a, ago(1), false, None), "read back exactly");
        let other = &health["vodokanal/outages"];
        assert_eq!(other.latest.status_code, Some(200));
        assert_eq!(other.short, Availability { ok: 1, total: 1 });
        assert_eq!(Availability { ok: 0, total: 0 }.ratio(), None);
        assert_eq!(Availability { ok: 2, total: 4 }.ratio(), Some(0.5));

        // A service checked only before both windows still has its latest check.
        let old = "vodokanal/meters";
        store.record_health(&result(old, now - day * 35, true, Some(200))).await.unwrap();
        let health = store.health_by_service(now - day, now - day * 30).await.unwrap();
        assert_eq!(health[old].latest.checked_at, now - day * 35);
        assert_eq!(health[old].long, Availability { ok: 0, total: 0 });

        // Two checks at the same instant (two replicas): the one recorded last is the latest.
        store.record_health(&result(a, ago(0), false, Some(500))).await.unwrap();
        store.record_health(&result(a, ago(0), true, Some(200))).await.unwrap();
        let health = store.health_by_service(now - day, now - day * 30).await.unwrap();
        assert!(health[a].latest.ok);
        assert_eq!(health[a].short, Availability { ok: 3, total: 5 });

        assert_eq!(store.prune_health(now - day * 30).await.unwrap(), 2);
        let health = store.health_by_service(now - day, now - day * 365).await.unwrap();
        assert_eq!(health[a].long, Availability { ok: 3, total: 6 });
        assert!(!health.contains_key(old));
        assert_eq!(store.prune_health(now - day * 30).await.unwrap(), 0);
    }

    async fn a_result_the_table_refuses_names_the_service(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let now = Utc::now();
        let bad = result("vodokanal/balance", now, false, Some(1000));
        let e = store.record_health(&bad).await.unwrap_err().to_string();
        assert!(e.contains("record a health check of vodokanal/balance"), "{e}");
        let day = chrono::Duration::days(1);
        assert!(store.health_by_service(now - day, now - day).await.unwrap().is_empty());
    }
}
