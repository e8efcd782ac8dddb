//! Gateway throughput, latency and CPU: the same GET load against (a) the upstream directly, (b)
//! one release `hromada serve` node serving both sides, (c) two nodes over mutual TLS with seals
//! and the message log on, (n) Debian's nginx proxying the same upstream as the reference, and
//! (p) a plain proxy on the node's own HTTP stack (axum and reqwest, no gateway, no log: this
//! bench run again as a process of its own), the floor of what those crates cost per exchange;
//! for a small and a ~100 KB JSON answer, and a small one the upstream gives after 20 ms (as a
//! registry's database does) to 64 clients. Every answer is checked. Each row through a process
//! also gives that process's CPU time per exchange, and the part its message log's writer thread
//! used (SQLite); the seals of one exchange are timed in this process with the product's own seal
//! code, so one run checks the two-node target.
//!
//! `cargo bench --bench gateway`; HROMADA_BENCH_CLIENTS (default 16), HROMADA_BENCH_SLOW_CLIENTS
//! (64, the slow upstream's rows), HROMADA_BENCH_SECONDS (10), HROMADA_BENCH_WARMUP (2),
//! HROMADA_BENCH_BINARY (the `hromada` to run, for an A/B of two builds), HROMADA_BENCH_ONLY (row
//! names, comma-separated: `c-small-16`), HROMADA_BENCH_STORE (`sqlite`, the default, or
//! `postgres`: each node on its own database of a throwaway PostgreSQL 15 cluster with durable
//! settings, as `tests/common/postgres.rs` starts it), HROMADA_BENCH_NGINX (the nginx to run;
//! `nginx` on the PATH or /usr/sbin/nginx, else the (n) rows are skipped and the bench says so).
//! The figures go to benches/README.md.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
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
/// The account whose balance the upstream answers after [`SLOW_UPSTREAM`].
const SLOW: &str = "120047";
const SLOW_UPSTREAM: Duration = Duration::from_millis(20);
/// Exchanges whose seals are timed in the bench process.
const SEAL_ITERATIONS: usize = 2_000;

/// What the upstream answers: the account's JSON, already serialised.
struct Answers {
    small: Bytes,
    big: Bytes,
    slow: Bytes,
}

impl Answers {
    fn of(&self, account: &str) -> &Bytes {
        match account {
            BIG => &self.big,
            SLOW => &self.slow,
            _ => &self.small,
        }
    }
}

/// Set on the copy of this bench started as the (p) row's plain proxy: the upstream's port.
const PLAIN_PROXY_ENV: &str = "HROMADA_BENCH_PLAIN_PROXY_TO";

fn main() {
    if let Ok(upstream) = std::env::var(PLAIN_PROXY_ENV) {
        return plain_proxy(upstream.parse().expect("the upstream's port"));
    }
    let number = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let clients = number("HROMADA_BENCH_CLIENTS", 16) as usize;
    let slow_clients = number("HROMADA_BENCH_SLOW_CLIENTS", 64) as usize;
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
    let expected = |account: &str, raw: bool| {
        let mut value: Value = serde_json::from_slice(answers.of(account)).unwrap();
        if !raw {
            project(&mut value);
        }
        value
    };
    let loads = [
        (SMALL, clients),
        (BIG, clients),
        (SMALL, 1),
        (BIG, 1),
        (SLOW, slow_clients),
    ];
    let wanted = |row: &str| only.as_ref().is_none_or(|o| o.iter().any(|w| w == row));
    let mut results: Vec<(String, Outcome)> = Vec::new();
    let mut measure_target = |target: &str,
                              base: &str,
                              headers: &[(&str, &str)],
                              watched: &[Watched]| {
        for (account, n) in loads {
            let row = format!("{target}-{}-{n}", size_name(account));
            if !wanted(&row) {
                continue;
            }
            let url = if matches!(target, "a" | "n" | "p") {
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
                expected: expected(account, matches!(target, "a" | "n" | "p")),
            };
            let outcome = runtime.block_on(load.run(n, warmup, measure, watched.to_vec()));
            println!("{}", outcome.line(&row));
            results.push((row, outcome));
        }
    };

    let nginx = nginx_binary();
    if nginx.is_none() && wanted_prefix(&only, "n-") {
        eprintln!(
            "nginx is not installed (`apt-get install -y nginx`, or HROMADA_BENCH_NGINX): the (n) rows are skipped"
        );
    }
    println!(
        "{clients} keep-alive clients (and 1), {slow_clients} for the upstream that answers after {} ms; {} s after {} s warm-up per row; store: {}\n",
        SLOW_UPSTREAM.as_millis(),
        measure.as_secs(),
        warmup.as_secs(),
        if on_postgres {
            "PostgreSQL (durable settings)"
        } else {
            "SQLite"
        }
    );
    println!("{}", Outcome::HEADER);
    measure_target("a", &format!("http://127.0.0.1:{upstream}"), &[], &[]);
    let headers = [("X-Road-Client", client.as_str())];
    if wanted_prefix(&only, "b-") {
        let data = tempfile::tempdir().unwrap();
        let core = Node::start(&one, data.path(), "gw-core", on_postgres);
        runtime.block_on(ready(&core.url, &client));
        measure_target("b", &core.url, &headers, &[core.watched()]);
        core.stop();
    }
    if wanted_prefix(&only, "c-") {
        let (data_v, data_c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let vodokanal = Node::start(&two, data_v.path(), "gw-vodokanal", on_postgres);
        let core = Node::start(&two, data_c.path(), "gw-core", on_postgres);
        runtime.block_on(ready(&core.url, &client));
        measure_target(
            "c",
            &core.url,
            &headers,
            &[core.watched(), vodokanal.watched()],
        );
        core.stop();
        vodokanal.stop();
    }
    if let Some(binary) = nginx.as_deref().filter(|_| wanted_prefix(&only, "n-")) {
        let proxy = Nginx::start(binary, upstream);
        measure_target("n", &proxy.url, &[], &[proxy.watched()]);
        proxy.stop();
    }
    if wanted_prefix(&only, "p-") {
        let proxy = PlainProxy::start(upstream);
        measure_target("p", &proxy.url, &[], &[proxy.watched()]);
    }

    let seals = SealCost::measure(&two, &client, &expected(SMALL, false));
    let nginx_skipped = nginx.is_none() && wanted_prefix(&only, "n-");
    summary(&results, &seals, clients, slow_clients, nginx_skipped);
}

/// Drops what the agreement does not grant, as both nodes do: the expected answer of (b), (c).
fn project(value: &mut Value) {
    let object = value.as_object_mut().unwrap();
    for ungranted in ["account_number", "holder_rnokpp", "note"] {
        object.remove(ungranted);
    }
    object["address"]
        .as_object_mut()
        .unwrap()
        .remove("apartment");
}

fn size_name(account: &str) -> &'static str {
    match account {
        BIG => "100KB",
        SLOW => "slow",
        _ => "small",
    }
}

/// The lines under the table: each target's ratio, with the issue's figures beside them.
fn summary(
    results: &[(String, Outcome)],
    seals: &SealCost,
    clients: usize,
    slow_clients: usize,
    nginx_skipped: bool,
) {
    let find = |row: String| results.iter().find(|(r, _)| *r == row).map(|(_, o)| o);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let failures = |outcomes: &[&Outcome]| {
        if outcomes.iter().any(|o| o.failed > 0) {
            " — WITH FAILURES"
        } else {
            ""
        }
    };
    println!();
    for size in ["small", "100KB"] {
        for n in [clients, 1] {
            if let (Some(a), Some(c)) =
                (find(format!("a-{size}-{n}")), find(format!("c-{size}-{n}")))
            {
                println!(
                    "{size}, {n} client(s): (c)/(a) throughput {:.1}%, median added by (c) {:.2} ms{}",
                    100.0 * c.rate() / a.rate(),
                    ms(c.percentile(50)) - ms(a.percentile(50)),
                    failures(&[a, c])
                );
            }
        }
    }
    let n = slow_clients;
    if let Some(a) = find(format!("a-slow-{n}")) {
        for (target, name) in [("b", "one node"), ("c", "two nodes")] {
            if let Some(t) = find(format!("{target}-slow-{n}")) {
                println!(
                    "upstream after {} ms, {n} clients, ({target}) {name}: ({target})/(a) throughput {:.1}% (target ≥ 95%), median added {:.2} ms (target < 2 ms), p99 added {:.2} ms (target < 5 ms){}",
                    SLOW_UPSTREAM.as_millis(),
                    100.0 * t.rate() / a.rate(),
                    ms(t.percentile(50)) - ms(a.percentile(50)),
                    ms(t.percentile(99)) - ms(a.percentile(99)),
                    failures(&[a, t])
                );
            }
        }
    }
    if nginx_skipped {
        println!("nginx: not installed, the (n) rows were skipped");
    }
    if let (Some(b), Some(n)) = (
        find(format!("b-small-{clients}")),
        find(format!("n-small-{clients}")),
    ) {
        let cpu = match (b.cpu_per_exchange(), n.cpu_per_exchange()) {
            (Some(b), Some(n)) if n > 0.0 => {
                format!(
                    "; CPU per exchange (b) {b:.0} µs, nginx {n:.0} µs ({:.1}×)",
                    b / n
                )
            }
            _ => String::new(),
        };
        println!(
            "small, {clients} clients: (b)/(n) throughput {:.1}% (target ≥ 50%){cpu}{}",
            100.0 * b.rate() / n.rate(),
            failures(&[b, n])
        );
    }
    for (size, n) in [("small", clients), ("100KB", clients)] {
        let (Some(b), Some(p)) = (find(format!("b-{size}-{n}")), find(format!("p-{size}-{n}")))
        else {
            continue;
        };
        if let (Some(total), Some(plain)) = (b.cpu_per_exchange(), p.cpu_per_exchange()) {
            let writer = b.log_writer_per_exchange().unwrap_or(0.0);
            println!(
                "{size}, {n} clients: CPU per exchange (b) {total:.0} µs = the plain proxy (p) {plain:.0} µs + the message log's writer thread {writer:.0} µs + the rest of the node {:.0} µs",
                total - plain - writer
            );
        }
    }
    println!("{}", seals.line());
    for (size, n) in [
        ("small", clients),
        ("100KB", clients),
        ("small", 1),
        ("100KB", 1),
        ("slow", slow_clients),
    ] {
        let cpu = |t: &str| find(format!("{t}-{size}-{n}")).and_then(Outcome::cpu_per_exchange);
        if let (Some(b), Some(c)) = (cpu("b"), cpu("c")) {
            let bound = 2.0 * b + seals.median_us();
            println!(
                "{size}, {n} client(s): CPU per exchange (c) {c:.0} µs against 2 × (b) + seals = {bound:.0} µs: {}",
                if c <= bound { "within" } else { "OVER" }
            );
        }
    }
}

fn wanted_prefix(only: &Option<Vec<String>>, prefix: &str) -> bool {
    only.as_ref()
        .is_none_or(|o| o.iter().any(|w| w.starts_with(prefix)))
}

/// The balance service's fields plus an extra, the same with ~100 KB of meter readings, and the
/// small one of the slow account.
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
    let mut slow = small.clone();
    slow["account_number"] = json!(SLOW);
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
        slow: bytes(&slow),
    }
}

async fn serve_upstream(answers: Arc<Answers>) -> u16 {
    async fn balance(
        State(answers): State<Arc<Answers>>,
        UrlPath(account): UrlPath<String>,
    ) -> impl IntoResponse {
        if account == SLOW {
            tokio::time::sleep(SLOW_UPSTREAM).await;
        }
        (
            [(header::CONTENT_TYPE, "application/json")],
            answers.of(&account).clone(),
        )
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
/// too, without its own registry.
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
        // A node runs one registry, the council's here: the water utility's registry, its
        // exchange service and the agreement to send to it go (the bench does not call them).
        let cut = |file: &str, start: &str, end: &str| {
            let path = root.join(file);
            let text = std::fs::read_to_string(&path).unwrap();
            let from = text
                .find(start)
                .unwrap_or_else(|| panic!("{file} has no `{start}`"));
            let to = from + text[from..].find(end).unwrap() + end.len();
            std::fs::write(&path, format!("{}{}", &text[..from], &text[to..])).unwrap();
        };
        cut(
            "spec/system.kdl",
            "    registry node=\"gw-vodokanal\"",
            "\n",
        );
        cut(
            "spec/vodokanal.kdl",
            "\n    // The registry's receiving end",
            "\n    }\n",
        );
        cut(
            "spec/agreements.kdl",
            "agreement \"council-registry-sends-to-vodokanal\"",
            "\n}\n",
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
    node: String,
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
        Node {
            child,
            url,
            node: node.to_string(),
        }
    }

    fn stop(mut self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "serve exited with {exit} on SIGTERM");
    }

    fn watched(&self) -> Watched {
        Watched {
            name: self.node.clone(),
            pid: self.child.id(),
            children: false,
        }
    }
}

/// The (p) row's proxy: this bench's own executable, started again as [`plain_proxy`].
struct PlainProxy {
    child: Child,
    url: String,
}

impl PlainProxy {
    fn start(upstream: u16) -> PlainProxy {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(PLAIN_PROXY_ENV, upstream.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the plain proxy said {line:?}, not its port"));
        PlainProxy {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    fn watched(&self) -> Watched {
        Watched {
            name: "plain proxy".into(),
            pid: self.child.id(),
            children: false,
        }
    }
}

impl Drop for PlainProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP proxy on the crates the node serves and calls with (axum on tokio, reqwest with
/// no proxy from the environment): each GET passed to the upstream and its status, type and body
/// passed back. Prints its port, then serves until killed.
fn plain_proxy(upstream: u16) {
    use axum::extract::Request;
    use axum::http::StatusCode;
    async fn pass(
        State((http, upstream)): State<(reqwest::Client, String)>,
        request: Request,
    ) -> Result<impl IntoResponse, StatusCode> {
        let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
        let answer = http
            .get(format!("{upstream}{path}"))
            .send()
            .await
            .map_err(|_| StatusCode::BAD_GATEWAY)?;
        let status = answer.status();
        let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
        let body = answer.bytes().await.map_err(|_| StatusCode::BAD_GATEWAY)?;
        let mut response = (status, body).into_response();
        if let Some(content_type) = content_type {
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, content_type);
        }
        Ok(response)
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let app = Router::new()
            .fallback(pass)
            .with_state((http, format!("http://127.0.0.1:{upstream}")));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap().port());
        axum::serve(listener, app).await.unwrap();
    });
}

/// The nginx to run: HROMADA_BENCH_NGINX, or `nginx` on the PATH or in /usr/sbin.
fn nginx_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("HROMADA_BENCH_NGINX") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
}

/// nginx as a plain reverse proxy of the bench's upstream, the reference for what a proxy costs:
/// its own process on a free loopback port, configuration, logs and temporary files in a
/// temporary folder, keep-alive connections to the upstream, an access log line per request.
struct Nginx {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
}

impl Nginx {
    fn start(binary: &Path, upstream: u16) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().display().to_string();
        // Workers run as an unprivileged user when the bench runs as root; they write the
        // temporary files of large answers under this folder.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let port = free_port();
        let config = format!(
            "worker_processes auto;
pid {path}/nginx.pid;
error_log {path}/error.log warn;
events {{
    worker_connections 1024;
}}
http {{
    access_log {path}/access.log;
    client_body_temp_path {path}/client_body;
    proxy_temp_path {path}/proxy;
    fastcgi_temp_path {path}/fastcgi;
    uwsgi_temp_path {path}/uwsgi;
    scgi_temp_path {path}/scgi;
    upstream bench_upstream {{
        server 127.0.0.1:{upstream};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://bench_upstream;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
        }}
    }}
}}
"
        );
        let file = dir.path().join("nginx.conf");
        std::fs::write(&file, config).unwrap();
        let child = Command::new(binary)
            .arg("-c")
            .arg(&file)
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} cannot be started: {e}", binary.display()));
        let mut nginx = Nginx {
            child,
            url: format!("http://127.0.0.1:{port}"),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(exit)) = nginx.child.try_wait() {
                panic!("nginx exited with {exit}; its log:\n{}", nginx.error_log());
            }
            assert!(
                Instant::now() < deadline,
                "nginx does not listen within 30 s; its log:\n{}",
                nginx.error_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        nginx
    }

    /// The master and, found by their parent, its workers.
    fn watched(&self) -> Watched {
        Watched {
            name: "nginx".into(),
            pid: self.child.id(),
            children: true,
        }
    }

    /// Stops it fast (SIGTERM: the workers go with the master) and checks it exited cleanly.
    fn stop(mut self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let exit = self.child.wait().unwrap();
        assert!(
            exit.success(),
            "nginx exited with {exit} on SIGTERM; its log:\n{}",
            self.error_log()
        );
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    /// A master killed outright would leave its workers running: it is asked to stop instead.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let _ = self.child.wait();
        }
    }
}

/// A process whose CPU time a row counts, with its children (nginx's workers) when `children`.
#[derive(Clone)]
struct Watched {
    name: String,
    pid: u32,
    children: bool,
}

impl Watched {
    /// User and system CPU time used so far by the process, with its children's when asked.
    fn cpu(&self) -> Duration {
        let mut pids = vec![self.pid];
        if self.children {
            pids.extend(children_of(self.pid));
        }
        let ticks: u64 = pids
            .iter()
            .filter_map(|pid| cpu_ticks(&proc_stat(*pid)?))
            .sum();
        seconds(ticks)
    }

    /// CPU time used so far by the process's threads named `thread` (the message log's writer).
    fn thread_cpu(&self, thread: &str) -> Duration {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", self.pid)) else {
            return Duration::ZERO;
        };
        let ticks: u64 = tasks
            .filter_map(|task| {
                let stat = std::fs::read_to_string(task.ok()?.path().join("stat")).ok()?;
                let name = &stat[stat.find('(')? + 1..stat.rfind(')')?];
                (name == thread).then_some(())?;
                cpu_ticks(&stat_fields(&stat)?)
            })
            .sum();
        seconds(ticks)
    }
}

/// The name of the thread that writes a SQLite file's message log (`store::ledger`).
const LOG_WRITER_THREAD: &str = "hromada-ledger";

/// `ticks` of the system's clock as time.
fn seconds(ticks: u64) -> Duration {
    // SAFETY: sysconf reads a constant of the system and has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    assert!(per_second > 0, "the clock tick is unknown");
    Duration::from_secs_f64(ticks as f64 / per_second as f64)
}

/// The fields of /proc/PID/stat after the command name, from `state` (field 3) on: `utime` and
/// `stime` (fields 14 and 15) are at 11 and 12, `ppid` (field 4) at 1.
fn proc_stat(pid: u32) -> Option<Vec<String>> {
    stat_fields(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The fields of a `stat` file's text (a process's or a thread's) after the command name.
fn stat_fields(stat: &str) -> Option<Vec<String>> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    Some(after_name.split_whitespace().map(String::from).collect())
}

/// `utime` + `stime` of [`stat_fields`], in clock ticks.
fn cpu_ticks(fields: &[String]) -> Option<u64> {
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn children_of(parent: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            proc_stat(*pid).is_some_and(|f| f.get(1).is_some_and(|p| *p == parent.to_string()))
        })
        .collect()
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
    /// CPU time of each watched process (group) within the measured window.
    cpu: Vec<(String, Duration)>,
    /// The part of it the watched nodes' message log writer threads used (SQLite only).
    log_writer: Duration,
}

impl Load {
    /// `clients` tasks, each with its own keep-alive connection, request in a loop; the answers
    /// within `measure` after `warmup` count, and the CPU time `watched` used in that window.
    async fn run(
        self,
        clients: usize,
        warmup: Duration,
        measure: Duration,
        watched: Vec<Watched>,
    ) -> Outcome {
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
        let cpu = tokio::spawn(async move {
            tokio::time::sleep_until(begin.into()).await;
            let writers = |watched: &[Watched]| -> Duration {
                watched
                    .iter()
                    .map(|w| w.thread_cpu(LOG_WRITER_THREAD))
                    .sum()
            };
            let before: Vec<Duration> = watched.iter().map(Watched::cpu).collect();
            let writers_before = writers(&watched);
            tokio::time::sleep_until(end.into()).await;
            let cpu: Vec<(String, Duration)> = watched
                .iter()
                .zip(before)
                .map(|(w, before)| (w.name.clone(), w.cpu().saturating_sub(before)))
                .collect();
            (cpu, writers(&watched).saturating_sub(writers_before))
        });
        let (cpu, log_writer) = cpu.await.unwrap();
        let mut total = Outcome {
            latencies: Vec::new(),
            failed: 0,
            first_failure: None,
            elapsed: measure,
            bytes: expected.len(),
            cpu,
            log_writer,
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
            cpu: Vec::new(),
            log_writer: Duration::ZERO,
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
    const HEADER: &str = "| row | clients | answer | requests/s | median | p90 | p99 | node CPU/exchange | of which log writer | failed |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|";

    /// Exchanges sent within the measured window, answered or failed.
    fn exchanges(&self) -> usize {
        self.latencies.len() + self.failed as usize
    }

    /// CPU time of all watched processes per exchange, in µs.
    fn cpu_per_exchange(&self) -> Option<f64> {
        let total: Duration = self.cpu.iter().map(|(_, d)| *d).sum();
        (!self.cpu.is_empty() && self.exchanges() > 0)
            .then(|| total.as_secs_f64() * 1e6 / self.exchanges() as f64)
    }

    /// The CPU column: the total, and each process's part when there are several.
    fn cpu_cell(&self) -> String {
        let Some(total) = self.cpu_per_exchange() else {
            return "–".into();
        };
        let mut cell = format!("{total:.0} µs");
        if self.cpu.len() > 1 {
            let parts: Vec<String> = self
                .cpu
                .iter()
                .map(|(name, d)| {
                    format!(
                        "{name} {:.0}",
                        d.as_secs_f64() * 1e6 / self.exchanges() as f64
                    )
                })
                .collect();
            cell.push_str(&format!(" ({})", parts.join(" + ")));
        }
        cell
    }

    /// The message log writer threads' part of the CPU per exchange, in µs, where a node has one.
    fn log_writer_per_exchange(&self) -> Option<f64> {
        (!self.log_writer.is_zero() && self.exchanges() > 0)
            .then(|| self.log_writer.as_secs_f64() * 1e6 / self.exchanges() as f64)
    }

    fn log_writer_cell(&self) -> String {
        self.log_writer_per_exchange()
            .map_or("–".into(), |us| format!("{us:.0} µs"))
    }

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
        let (target, size, clients) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let label = if size == "slow" {
            format!("({target}) upstream after {} ms", SLOW_UPSTREAM.as_millis())
        } else {
            format!("({target})")
        };
        let mut line = format!(
            "| {label} | {clients} | {} B | {:.0} | {} | {} | {} | {} | {} | {} |",
            self.bytes,
            self.rate(),
            ms(self.percentile(50)),
            ms(self.percentile(90)),
            ms(self.percentile(99)),
            self.cpu_cell(),
            self.log_writer_cell(),
            self.failed
        );
        if let Some(why) = &self.first_failure {
            line.push_str(&format!(" first failure: {why}"));
        }
        line
    }
}

/// What the seals of one exchange through two nodes cost, timed in this process with the
/// product's own code and the keys `hromada keys dev` made for the two-node copy: the council's
/// node seals the request, the water utility's verifies it, seals the answer, and the council's
/// verifies that. Each step builds its text as the node does (`peer::request_text`,
/// `peer::response_text`) and takes its key as the node does (`KeyRing`, a certificate's key).
struct SealCost {
    /// Per exchange: all four steps, then each step.
    total: Vec<Duration>,
    steps: [Vec<Duration>; 4],
}

impl SealCost {
    fn measure(root: &Path, client: &str, answer: &Value) -> SealCost {
        use hromada::crypto::seal;
        use hromada::gateway::call::{Answer, Call};
        use hromada::gateway::keys::KeyRing;
        use hromada::gateway::peer::{request_text, response_text};
        use hromada::gateway::protocol::{new_message_id, parse_client_header, parse_request_path};
        use hromada::gateway::replay::Stamp;

        let keys = KeyRing::new(root.join("dev-keys"));
        let certificate_key = |participant: &str| {
            let pem = std::fs::read(root.join(format!("pki/seals/{participant}.crt"))).unwrap();
            seal::public_key(&openssl::x509::X509::from_pem(&pem).unwrap()).unwrap()
        };
        let (council, vodokanal) = (certificate_key("council"), certificate_key("vodokanal"));
        let raw_path =
            format!("/r1/{INSTANCE}/COM/35418773/billing/balance/accounts/{SMALL}/balance");
        let (service, path) = parse_request_path(&raw_path).unwrap();
        let mut call = Call {
            message_id: String::new(),
            request_id: String::new(),
            client: parse_client_header(client).unwrap(),
            service,
            method: hromada::spec::model::Method::Get,
            raw_path,
            path,
            query: None,
            headers: Vec::new(),
            body: Bytes::new(),
            user_id: None,
            issue: None,
            request_in: chrono::Utc::now(),
            request_hash: String::new(),
        };
        call.request_hash = hromada::gateway::call::exchanged_hash(&call);
        let answer = Answer {
            status: axum::http::StatusCode::OK,
            headers: vec![(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/json"),
            )],
            body: Bytes::from(serde_json::to_vec(answer).unwrap()),
            error: None,
        };
        let mut cost = SealCost {
            total: Vec::with_capacity(SEAL_ITERATIONS),
            steps: Default::default(),
        };
        for _ in 0..SEAL_ITERATIONS {
            call.message_id = new_message_id();
            call.request_id = new_message_id();
            let mut times = [Instant::now(); 5];
            let stamp = Stamp::now(&call.request_id);
            let request_seal = seal::seal(
                &keys.seal_key("council").unwrap(),
                &request_text(&call, &stamp),
            )
            .unwrap();
            times[1] = Instant::now();
            seal::verify(&council, &request_text(&call, &stamp), &request_seal).unwrap();
            times[2] = Instant::now();
            let response = response_text(&call.message_id, &request_seal, &answer);
            let response_seal =
                seal::seal(&keys.seal_key("vodokanal").unwrap(), &response).unwrap();
            times[3] = Instant::now();
            seal::verify(
                &vodokanal,
                &response_text(&call.message_id, &request_seal, &answer),
                &response_seal,
            )
            .unwrap();
            times[4] = Instant::now();
            for (step, pair) in cost.steps.iter_mut().zip(times.windows(2)) {
                step.push(pair[1] - pair[0]);
            }
            cost.total.push(times[4] - times[0]);
        }
        cost.total.sort();
        cost.steps.iter_mut().for_each(|s| s.sort());
        cost
    }

    fn median_us(&self) -> f64 {
        median(&self.total).as_secs_f64() * 1e6
    }

    fn line(&self) -> String {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        format!(
            "seals of one exchange (seal request, verify it, seal answer, verify it; the product's code, in the bench process): median {:.0} µs over {SEAL_ITERATIONS} exchanges ({:.0} + {:.0} + {:.0} + {:.0} µs)",
            self.median_us(),
            us(median(&self.steps[0])),
            us(median(&self.steps[1])),
            us(median(&self.steps[2])),
            us(median(&self.steps[3])),
        )
    }
}

fn median(sorted: &[Duration]) -> Duration {
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}
