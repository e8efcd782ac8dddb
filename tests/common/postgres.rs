//! A throwaway PostgreSQL cluster for tests: one per test binary, started on first use from the
//! server binaries (`/usr/lib/postgresql/15/bin`, or `HROMADA_PG_BIN`), trusting local
//! connections, and stopped and deleted by a watchdog once the test process is gone.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

const DEFAULT_BIN: &str = "/usr/lib/postgresql/15/bin";

struct Cluster {
    bin: PathBuf,
    port: u16,
    databases: AtomicU32,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static DURABLE: AtomicBool = AtomicBool::new(false);

/// The cluster started after this call keeps PostgreSQL's durable defaults (fsync, synchronous
/// commit, full-page writes) instead of turning them off for speed: for benches, which measure
/// what production pays.
pub fn durable() {
    DURABLE.store(true, Ordering::SeqCst);
}

fn bin_dir() -> PathBuf {
    std::env::var_os("HROMADA_PG_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_BIN))
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Err(why) when the PostgreSQL server binaries cannot be used here.
pub fn available() -> Result<(), String> {
    let bin = bin_dir();
    for tool in ["initdb", "pg_ctl", "postgres", "createdb"] {
        if !bin.join(tool).is_file() {
            return Err(format!(
                "{} not found (install postgresql-15 or point HROMADA_PG_BIN at its bin folder)",
                bin.join(tool).display()
            ));
        }
    }
    if running_as_root() {
        let user = Command::new("id").args(["-u", "postgres"]).output();
        if !user.is_ok_and(|o| o.status.success()) {
            return Err("running as root and there is no `postgres` user to run initdb as".into());
        }
    }
    Ok(())
}

fn cluster() -> Result<&'static Cluster, String> {
    CLUSTER
        .get_or_init(|| available().and_then(|()| start()))
        .as_ref()
        .map_err(Clone::clone)
}

/// A command running `tool` of the server binaries, as `postgres` when we are root.
fn server_command(bin: &Path, as_postgres: bool, tool: &str) -> Command {
    if as_postgres {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        command
    } else {
        Command::new(bin.join(tool))
    }
}

fn run(mut command: Command, what: &str) -> Result<(), String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

fn start() -> Result<Cluster, String> {
    let bin = bin_dir();
    let as_postgres = running_as_root();
    let dir = tempfile::Builder::new()
        .prefix("hromada-pg-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary folder: {e}"))?
        .keep();
    if as_postgres {
        let mut chown = Command::new("chown");
        chown.arg("postgres").arg(&dir);
        run(chown, "chown postgres")?;
    }
    let data = dir.join("data");
    spawn_watchdog(&bin, as_postgres, &dir, &data)?;

    let mut initdb = server_command(&bin, as_postgres, "initdb");
    initdb
        .arg("-D")
        .arg(&data)
        .args(["--auth=trust", "--username=postgres", "--encoding=UTF8"])
        .args(["--locale=C", "--no-sync"]);
    run(initdb, "initdb")?;

    let mut last_error = String::new();
    for _ in 0..3 {
        let port = free_port()?;
        let mut pg_ctl = server_command(&bin, as_postgres, "pg_ctl");
        pg_ctl
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.join("server.log"))
            .args(["-w", "-o"])
            .arg(format!(
                "-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={} \
                 -c max_connections=300{}",
                dir.display(),
                if DURABLE.load(Ordering::SeqCst) {
                    ""
                } else {
                    " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                }
            ))
            .arg("start");
        match run(pg_ctl, "pg_ctl start") {
            Ok(()) => {
                return Ok(Cluster {
                    bin,
                    port,
                    databases: AtomicU32::new(0),
                });
            }
            Err(e) => {
                let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
                last_error = format!("{e}\n{log}");
            }
        }
    }
    Err(last_error)
}

/// Stops the server and deletes `dir` once this test process has exited.
fn spawn_watchdog(bin: &Path, as_postgres: bool, dir: &Path, data: &Path) -> Result<(), String> {
    let pg_ctl = bin.join("pg_ctl");
    let stop = if as_postgres {
        format!("runuser -u postgres -- '{}'", pg_ctl.display())
    } else {
        format!("'{}'", pg_ctl.display())
    };
    after_this_process(&format!(
        "{stop} -D '{data}' stop -m immediate >/dev/null 2>&1; rm -rf '{dir}'",
        data = data.display(),
        dir = dir.display(),
    ))
}

/// A fresh empty database on the shared cluster; returns its postgres:// url. Blocks briefly
/// (it runs `createdb`), so it may be called from plain tests and async tests alike.
pub fn fresh_database_sync() -> String {
    let cluster = cluster().unwrap_or_else(|why| panic!("PostgreSQL is not available: {why}"));
    let n = cluster.databases.fetch_add(1, Ordering::SeqCst);
    let name = format!("test_{}_{n}", std::process::id());
    let mut createdb = Command::new(cluster.bin.join("createdb"));
    createdb
        .args(["-h", "127.0.0.1", "-U", "postgres", "-p"])
        .arg(cluster.port.to_string())
        .arg(&name);
    run(createdb, "createdb").unwrap_or_else(|e| panic!("{e}"));
    format!("postgres://postgres@127.0.0.1:{}/{name}", cluster.port)
}

/// A fresh empty database on the shared cluster; returns its postgres:// url.
pub async fn fresh_database() -> String {
    tokio::task::spawn_blocking(fresh_database_sync)
        .await
        .expect("creating a test database")
}

/// Call at the start of a PostgreSQL test: a fresh database's url, or None after printing
/// "SKIPPED (PostgreSQL): …" when PostgreSQL is unavailable — except under CI, where it panics.
pub fn url_or_skip(test: &str) -> Option<String> {
    match cluster() {
        Ok(_) => Some(fresh_database_sync()),
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("{test}: PostgreSQL is required when CI is set: {why}")
        }
        Err(why) => {
            // Straight to the process's stderr: the test harness captures `eprintln!`.
            let _ = writeln!(std::io::stderr(), "SKIPPED (PostgreSQL): {test}: {why}");
            None
        }
    }
}

/// Runs the shell commands `then` once this test process has exited, in a process of its own
/// session: how a server shared through a static (never dropped) is stopped and its folder
/// removed (this cluster, and `clamd.rs`'s daemon).
pub fn after_this_process(then: &str) -> Result<(), String> {
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {then}",
        pid = std::process::id()
    );
    std::process::Command::new("setsid")
        .args(["sh", "-c", &script])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(drop)
        .map_err(|e| format!("cannot start the cleanup watchdog: {e}"))
}

/// A PostgreSQL cluster of one test's own, which the test may stop and start again (the shared
/// cluster serves every test of the binary and must stay up). Stopped and deleted by a watchdog
/// once the test process is gone.
pub struct OwnCluster {
    bin: PathBuf,
    as_postgres: bool,
    dir: PathBuf,
    data: PathBuf,
    port: u16,
}

impl OwnCluster {
    /// A started cluster with a database `hromada`, or None after printing "SKIPPED
    /// (PostgreSQL): …" when PostgreSQL is unavailable — except under CI, where it panics.
    pub fn start_or_skip(test: &str) -> Option<OwnCluster> {
        if let Err(why) = available() {
            if std::env::var_os("CI").is_some() {
                panic!("{test}: PostgreSQL is required when CI is set: {why}");
            }
            let _ = writeln!(std::io::stderr(), "SKIPPED (PostgreSQL): {test}: {why}");
            return None;
        }
        let bin = bin_dir();
        let as_postgres = running_as_root();
        let dir = tempfile::Builder::new()
            .prefix("hromada-own-pg-")
            .tempdir()
            .unwrap()
            .keep();
        if as_postgres {
            let mut chown = Command::new("chown");
            chown.arg("postgres").arg(&dir);
            run(chown, "chown postgres").unwrap();
        }
        let data = dir.join("data");
        spawn_watchdog(&bin, as_postgres, &dir, &data).unwrap();
        let mut initdb = server_command(&bin, as_postgres, "initdb");
        initdb
            .arg("-D")
            .arg(&data)
            .args(["--auth=trust", "--username=postgres", "--encoding=UTF8"])
            .args(["--locale=C", "--no-sync"]);
        run(initdb, "initdb").unwrap();
        let cluster = OwnCluster {
            bin,
            as_postgres,
            dir,
            data,
            port: free_port().unwrap(),
        };
        cluster.start();
        let mut createdb = Command::new(cluster.bin.join("createdb"));
        createdb
            .args(["-h", "127.0.0.1", "-U", "postgres", "-p"])
            .arg(cluster.port.to_string())
            .arg("hromada");
        run(createdb, "createdb").unwrap();
        Some(cluster)
    }

    /// The url of its database `hromada`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/hromada", self.port)
    }

    /// Starts the server (again), on the same port; waits until it accepts connections.
    pub fn start(&self) {
        let mut pg_ctl = server_command(&self.bin, self.as_postgres, "pg_ctl");
        pg_ctl
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .args(["-w", "-o"])
            .arg(format!(
                "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={} \
                 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                self.port,
                self.dir.display()
            ))
            .arg("start");
        run(pg_ctl, "pg_ctl start").unwrap_or_else(|e| {
            let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
            panic!("{e}\n{log}")
        });
    }

    /// Stops the server as an outage would: open connections are cut.
    pub fn stop(&self) {
        let mut pg_ctl = server_command(&self.bin, self.as_postgres, "pg_ctl");
        pg_ctl
            .arg("-D")
            .arg(&self.data)
            .args(["-w", "-m", "fast", "stop"]);
        run(pg_ctl, "pg_ctl stop").unwrap();
    }
}
