//! Gateway throughput and latency: the same GET load against (a) the upstream directly, (b) one
//! release `hromada serve` node serving both sides, (c) two nodes over mutual TLS with seals and
//! the message log on, for a small and a ~100 KB JSON answer. Every answer is checked.
//!
//! `cargo bench --bench gateway`; HROMADA_BENCH_CLIENTS (default 16), HROMADA_BENCH_SECONDS (10),
//! HROMADA_BENCH_WARMUP (2), HROMADA_BENCH_BINARY (the `hromada` to run,
//! for an A/B of two builds), HROMADA_BENCH_ONLY (row names, comma-separated: `c-small-16`),
//! HROMADA_BENCH_STORE (`sqlite`, the default, or `postgres`: each node on its own database of a
//! throwaway PostgreSQL 15 cluster with durable settings, as `tests/common/postgres.rs` starts it).
//! The figures go to benches/README.md.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};

#[allow(dead_code)]
#[path = "../tests/common/postgres.rs"]
mod postgres;

const INSTANCE: &str = "hromada-federation";
const SMALL: &str = "120045";
const BIG: &str = "120046";

/// What the upstream answers: the account's JSON, already serialised.
struct Answers {
    small: Bytes,
    big: Bytes,
}

fn main() {
    let number = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let clients = number("HROMADA_BENCH_CLIENTS", 16) as usize;
    let measure = Duration::from_secs(number("HROMADA_BENCH_SECONDS", 10));
    let warmup = Duration::from_secs(number("HROMADA_BENCH_WARMUP", 2));
    let only: Option<Vec<String>> = std::env::var("HROMADA_BENCH_ONLY")
        .ok()
        .map(|v| v.split(',').map(str::to_string).collect());
    let on_postgres = match std::env::var("HROMADA_BENCH_STORE").as_deref() {
        Ok("postgres") => {
            postgres::durable();
            postgres::available().unwrap_or_else(|why| panic!("PostgreSQL: {why}"));
            true
        }
        Ok("sqlite") | Err(_) => false,
        Ok(other) => panic!("HROMADA_BENCH_STORE is `sqlite` or `postgres`, not `{other}`"),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let answers = Arc::new(answers());
    let upstream = runtime.block_on(serve_upstream(answers.clone()));
    let dir = tempfile::tempdir().unwrap();
    let one = federation(&dir.path().join("one"), upstream, true);
    let two = federation(&dir.path().join("two"), upstream, false);

    let client = format!("{INSTANCE}/GOV/04363395/registry");
    let expected = |account: &str, direct: bool| {
        let raw = if account == SMALL {
            &answers.small
        } else {
            &answers.big
        };
        let mut value: Value = serde_json::from_slice(raw).unwrap();
        if !direct {
            let object = value.as_object_mut().unwrap();
            for ungranted in ["account_number", "holder_rnokpp", "note"] {
                object.remove(ungranted);
            }
            object["address"]
                .as_object_mut()
                .unwrap()
                .remove("apartment");
        }
        value
    };
    let loads = [(SMALL, clients), (BIG, clients), (SMALL, 1), (BIG, 1)];
    let wanted = |row: &str| only.as_ref().is_none_or(|o| o.iter().any(|w| w == row));
    let mut results: Vec<(String, Outcome)> = Vec::new();
    let mut measure_target = |target: &str, base: &str, headers: &[(&str, &str)]| {
        for (account, n) in loads {
            let size = if account == SMALL { "small" } else { "100KB" };
            let row = format!("{target}-{size}-{n}");
            if !wanted(&row) {
                continue;
            }
            let url = if target == "a" {
                format!("{base}/abonents/accounts/{account}/balance")
            } else {
                format!(
                    "{base}/r1/{INSTANCE}/COM/35418773/billing/balance/accounts/{account}/balance"
                )
            };
            let load = Load {
                url,
                headers: headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                expected: expected(account, target == "a"),
            };
            let outcome = runtime.block_on(load.run(n, warmup, measure));
            println!("{}", outcome.line(&row));
            results.push((row, outcome));
        }
    };

    println!(
        "{clients} keep-alive clients (and 1), {} s after {} s warm-up per row; store: {}\n",
        measure.as_secs(),
        warmup.as_secs(),
        if on_postgres {
            "PostgreSQL (durable settings)"
        } else {
            "SQLite"
        }
    );
    println!("{}", Outcome::HEADER);
    measure_target("a", &format!("http://127.0.0.1:{upstream}"), &[]);
    let headers = [("X-Road-Client", client.as_str())];
    if wanted_prefix(&only, "b-") {
        let data = tempfile::tempdir().unwrap();
        let core = Node::start(&one, data.path(), "gw-core", on_postgres);
        runtime.block_on(ready(&core.url, &client));
        measure_target("b", &core.url, &headers);
        core.stop();
    }
    if wanted_prefix(&only, "c-") {
        let (data_v, data_c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let vodokanal = Node::start(&two, data_v.path(), "gw-vodokanal", on_postgres);
        let core = Node::start(&two, data_c.path(), "gw-core", on_postgres);
        runtime.block_on(ready(&core.url, &client));
        measure_target("c", &core.url, &headers);
        core.stop();
        vodokanal.stop();
    }

    println!();
    for size in ["small", "100KB"] {
        for n in [clients, 1] {
            let find = |t: &str| {
                results
                    .iter()
                    .find(|(r, _)| *r == format!("{t}-{size}-{n}"))
                    .map(|(_, o)| o)
            };
            if let (Some(a), Some(c)) = (find("a"), find("c")) {
                let ms = |d: Duration| d.as_secs_f64() * 1000.0;
                println!(
                    "{size}, {n} client(s): (c)/(a) throughput {:.1}%, median added by (c) {:.2} ms{}",
                    100.0 * c.rate() / a.rate(),
                    ms(c.percentile(50)) - ms(a.percentile(50)),
                    if a.failed + c.failed > 0 {
                        " — WITH FAILURES"
                    } else {
                        ""
                    }
                );
            }
        }
    }
}

fn wanted_prefix(only: &Option<Vec<String>>, prefix: &str) -> bool {
    only.as_ref()
        .is_none_or(|o| o.iter().any(|w| w.starts_with(prefix)))
}

/// The balance service's fields plus an extra, and the same with ~100 KB of meter readings.
fn answers() -> Answers {
    let small = json!({
        "account_number": SMALL,
        "holder_name": "Іваненко Марія Петрівна",
        "holder_rnokpp": "3012345678",
        "address": {"street": "вул. Центральна", "building": "5", "apartment": "12"},
        "debt_uah": "0.00",
        "balance_date": "2026-11-01",
        "note": "not granted",
    });
    let mut big = small.clone();
    big["account_number"] = json!(BIG);
    let readings: Vec<Value> = (0..1840)
        .map(|i| {
            json!({
                "period": format!("{}-{:02}", 1900 + i / 12, i % 12 + 1),
                "m3": format!("{}.{}", 3 + i % 9, i % 10),
                "amount_uah": format!("{}.{:02}", 100 + i % 300, i % 100),
            })
        })
        .collect();
    big.as_object_mut()
        .unwrap()
        .insert("readings".into(), readings.into());
    let bytes = |v: &Value| Bytes::from(serde_json::to_vec(v).unwrap());
    Answers {
        small: bytes(&small),
        big: bytes(&big),
    }
}

async fn serve_upstream(answers: Arc<Answers>) -> u16 {
    async fn balance(
        State(answers): State<Arc<Answers>>,
        UrlPath(account): UrlPath<String>,
    ) -> impl IntoResponse {
        let body = if account == BIG {
            answers.big.clone()
        } else {
            answers.small.clone()
        };
        ([(header::CONTENT_TYPE, "application/json")], body)
    }
    let app = Router::new()
        .route("/abonents/accounts/{account}/balance", get(balance))
        .route("/abonents/health", get(|| async { "ok" }))
        .route("/register/health", get(|| async { "ok" }))
        .with_state(answers);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

/// A copy of examples/federation in `root` on free ports, both upstreams at `upstream`, the
/// meter readings declared and granted, no rate limit, the council's systems on plain HTTP from
/// this host, development keys made. With `one_node`, the water utility is served by gw-core
/// too.
fn federation(root: &Path, upstream: u16, one_node: bool) -> PathBuf {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/federation");
    for entry in walkdir::WalkDir::new(&example) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(&example).unwrap();
        if rel.starts_with("dev-keys") {
            continue;
        }
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(root.join(rel)).unwrap();
        } else {
            std::fs::copy(entry.path(), root.join(rel)).unwrap();
        }
    }
    let edit = |file: &str, from: &str, to: &str| {
        let path = root.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has no `{from}`");
        std::fs::write(&path, text.replace(from, to)).unwrap();
    };
    for file in ["spec/system.kdl", "spec/council.kdl", "spec/vodokanal.kdl"] {
        for (from, to) in [
            ("127.0.0.1:8443", free_port()),
            ("127.0.0.1:8444", free_port()),
            ("127.0.0.1:9401", upstream),
            ("127.0.0.1:9402", upstream),
        ] {
            let path = root.join(file);
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(&path, text.replace(from, &format!("127.0.0.1:{to}"))).unwrap();
        }
    }
    edit(
        "spec/vodokanal.kdl",
        "            field \"balance_date\" type=\"date\"\n",
        "            field \"balance_date\" type=\"date\"
            field \"readings\" type=\"array\" class=\"personal\" {
                field \"period\" type=\"string\"
                field \"m3\" type=\"decimal\"
                field \"amount_uah\" type=\"decimal\"
            }\n",
    );
    edit(
        "spec/agreements.kdl",
        "\"address.building\"\n",
        "\"address.building\" \"readings\"\n",
    );
    edit(
        "spec/agreements.kdl",
        "    rate-limit 600 per=\"minute\"\n",
        "",
    );
    // The load comes from this host over plain HTTP, as before systems were authenticated: the
    // figures stay comparable, and the council's systems are declared to connect so.
    for subsystem in ["portal", "registry"] {
        edit(
            "spec/council.kdl",
            &format!(
                "connection \"https\" {{\n            client cert=\"pki/systems/council-{subsystem}.crt\"\n        }}"
            ),
            "connection \"http\"",
        );
    }
    if one_node {
        edit(
            "spec/vodokanal.kdl",
            "gateway \"gw-vodokanal\"",
            "gateway \"gw-core\"",
        );
    }
    for args in [&["keys", "dev"][..], &["validate"]] {
        let out = Command::new(hromada_binary())
            .args(args)
            .arg(root)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "hromada {args:?} on the bench's tree failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    root.to_path_buf()
}

/// The binary under test: `HROMADA_BENCH_BINARY` (another build, for an interleaved A/B of two
/// versions) or the one this bench was built with.
fn hromada_binary() -> PathBuf {
    std::env::var_os("HROMADA_BENCH_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_hromada")))
}

/// The peer ports must be fixed in the spec before the nodes start, so they are picked here.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A release `hromada serve` process with its own SQLite data folder, stopped with SIGTERM.
struct Node {
    child: Child,
    url: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Node {
    /// `on_postgres`: the node's store is a fresh database of the bench's PostgreSQL cluster
    /// rather than SQLite in `data`.
    fn start(root: &Path, data: &Path, node: &str, on_postgres: bool) -> Node {
        let mut command = Command::new(hromada_binary());
        command
            .arg("serve")
            .arg(root)
            .args(["--node", node, "--data-dir"])
            .arg(data);
        if on_postgres {
            command
                .arg("--database-url")
                .arg(postgres::fresh_database_sync());
        }
        let mut child = command
            .args(["--listen", "127.0.0.1:0", "--log-format", "json"])
            // The banner with the address is an info line of the log in JSON mode.
            .env("HROMADA_LOG", "warn,hromada::serve=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hromada serve starts");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let url = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| {
                let event: Value = serde_json::from_str(&line).ok()?;
                event["url"].as_str().map(String::from).or_else(|| {
                    eprintln!("{line}");
                    None
                })
            })
            .unwrap_or_else(|| panic!("{node} did not log its address"));
        // The rest of the log goes on to the bench's own, and a closed pipe would end serve.
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(|l| eprintln!("{l}")));
        Node { child, url }
    }

    fn stop(mut self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "serve exited with {exit} on SIGTERM");
    }
}

/// Waits until a balance call through the node answers 200 (the spec applied, peers listening).
async fn ready(base: &str, client: &str) {
    let url = format!("{base}/r1/{INSTANCE}/COM/35418773/billing/balance/accounts/{SMALL}/balance");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let last = match http.get(&url).header("X-Road-Client", client).send().await {
            Ok(r) if r.status() == 200 => return,
            Ok(r) => format!("{}: {}", r.status(), r.text().await.unwrap_or_default()),
            Err(e) => e.to_string(),
        };
        assert!(
            Instant::now() < deadline,
            "{base} not ready within 60 s; last answer {last}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

struct Load {
    url: String,
    headers: Vec<(String, String)>,
    expected: Value,
}

struct Outcome {
    latencies: Vec<Duration>,
    failed: u64,
    first_failure: Option<String>,
    elapsed: Duration,
    bytes: usize,
}

impl Load {
    /// `clients` tasks, each with its own keep-alive connection, request in a loop; the answers
    /// within `measure` after `warmup` count.
    async fn run(self, clients: usize, warmup: Duration, measure: Duration) -> Outcome {
        let load = Arc::new(self);
        let expected = Arc::new(Bytes::from(serde_json::to_vec(&load.expected).unwrap()));
        let begin = Instant::now() + warmup;
        let end = begin + measure;
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let (load, expected) = (load.clone(), expected.clone());
                tokio::spawn(async move { load.client(&expected, begin, end).await })
            })
            .collect();
        let mut total = Outcome {
            latencies: Vec::new(),
            failed: 0,
            first_failure: None,
            elapsed: measure,
            bytes: expected.len(),
        };
        for task in tasks {
            let part = task.await.unwrap();
            total.latencies.extend(part.latencies);
            total.failed += part.failed;
            total.first_failure = total.first_failure.or(part.first_failure);
        }
        total.latencies.sort();
        total
    }

    async fn client(&self, expected: &Bytes, begin: Instant, end: Instant) -> Outcome {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let mut out = Outcome {
            latencies: Vec::new(),
            failed: 0,
            first_failure: None,
            elapsed: end - begin,
            bytes: 0,
        };
        loop {
            let sent = Instant::now();
            if sent >= end {
                return out;
            }
            let mut request = http.get(&self.url);
            for (k, v) in &self.headers {
                request = request.header(k, v);
            }
            let failure = match request.send().await {
                Ok(r) => {
                    let status = r.status();
                    match r.bytes().await {
                        Ok(body) if status == 200 && self.matches(&body, expected) => None,
                        Ok(body) => Some(format!(
                            "{status}: {}",
                            String::from_utf8_lossy(&body[..body.len().min(300)])
                        )),
                        Err(e) => Some(format!("{status}, body not read: {e}")),
                    }
                }
                Err(e) => Some(e.to_string()),
            };
            if sent < begin {
                continue;
            }
            match failure {
                None => out.latencies.push(sent.elapsed()),
                Some(why) => {
                    out.failed += 1;
                    out.first_failure.get_or_insert(why);
                }
            }
        }
    }

    /// The exact expected bytes, or failing that the same JSON value.
    fn matches(&self, body: &[u8], expected: &[u8]) -> bool {
        body == expected || serde_json::from_slice::<Value>(body).is_ok_and(|v| v == self.expected)
    }
}

impl Outcome {
    const HEADER: &str = "| row | clients | answer | requests/s | median | p90 | p99 | failed |\n|---|---:|---:|---:|---:|---:|---:|---:|";

    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: usize) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        self.latencies[(self.latencies.len() * p / 100).min(self.latencies.len() - 1)]
    }

    fn line(&self, row: &str) -> String {
        let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
        let mut parts = row.split('-');
        let (target, _, clients) = (parts.next().unwrap(), parts.next(), parts.next().unwrap());
        let mut line = format!(
            "| ({target}) | {clients} | {} B | {:.0} | {} | {} | {} | {} |",
            self.bytes,
            self.rate(),
            ms(self.percentile(50)),
            ms(self.percentile(90)),
            ms(self.percentile(99)),
            self.failed
        );
        if let Some(why) = &self.first_failure {
            line.push_str(&format!(" first failure: {why}"));
        }
        line
    }
}
