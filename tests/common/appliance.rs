//! A `hromada serve` process for integration tests: started on a free loopback port, read over
//! plain HTTP, stopped with SIGTERM. Its log is kept, so that a failing test shows what the
//! appliance said.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Appliance {
    child: Option<Child>,
    pub url: String,
    pub address: String,
    log: Arc<Mutex<String>>,
}

/// How long a test waits for the appliance to reach a state before failing.
const PATIENCE: Duration = Duration::from_secs(60);

impl Appliance {
    /// Starts `hromada serve ROOT --data-dir DATA --listen 127.0.0.1:0 EXTRA…`.
    pub fn start(root: &Path, data_dir: &Path, extra: &[&str]) -> Appliance {
        Self::start_with(root, data_dir, extra, &[])
    }

    /// As [`Appliance::start`], with another build's `hromada` when `binary` names one (a
    /// bench's A/B).
    pub fn start_binary(
        binary: Option<&Path>,
        root: &Path,
        data_dir: &Path,
        extra: &[&str],
    ) -> Appliance {
        let binary = binary.unwrap_or(Path::new(env!("CARGO_BIN_EXE_hromada")));
        Self::start_command(Command::new(binary), root, data_dir, extra, &[])
    }

    pub fn start_with(
        root: &Path,
        data_dir: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Appliance {
        let command = Command::new(env!("CARGO_BIN_EXE_hromada"));
        Self::start_command(command, root, data_dir, extra, env)
    }

    fn start_command(
        mut command: Command,
        root: &Path,
        data_dir: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Appliance {
        command
            .arg("serve")
            .arg(root)
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .env("HROMADA_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("hromada serve starts");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                sink.lock().unwrap().push_str(&format!("stdout: {line}\n"));
            }
        });
        let Some(url) = first
            .split_whitespace()
            .find(|w| w.starts_with("http://") || w.starts_with("https://"))
        else {
            let status = child.wait().unwrap();
            std::thread::sleep(Duration::from_millis(200));
            panic!(
                "serve did not print its address (exit {status}); said: {first}\n{}",
                log.lock().unwrap()
            );
        };
        let url = url.to_string();
        let address = url.split("://").nth(1).unwrap().to_string();
        Appliance {
            child: Some(child),
            url,
            address,
            log,
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// A plain HTTP GET: status and body.
    pub fn get(&self, path: &str) -> (u16, String) {
        get(&self.address, path).unwrap_or_else(|e| panic!("GET {path}: {e}\n{}", self.log()))
    }

    pub fn status(&self) -> serde_json::Value {
        let (code, body) = self.get("/api/status");
        assert_eq!(code, 200, "/api/status answered {code}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Polls `/api/status` until `ready` holds of it.
    pub fn wait_for(
        &self,
        what: &str,
        ready: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let start = Instant::now();
        loop {
            let status = self.status();
            if ready(&status) {
                return status;
            }
            if start.elapsed() > PATIENCE {
                panic!(
                    "waited {}s for {what}; status: {status:#}\nlog:\n{}",
                    PATIENCE.as_secs(),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The revision applied now (panics when none).
    pub fn applied(&self) -> String {
        self.status()["applied"]["revision"]
            .as_str()
            .unwrap_or_else(|| panic!("nothing applied\n{}", self.log()))
            .to_string()
    }

    /// Kills the process with SIGKILL, as a power cut would, and waits for it.
    pub fn kill_hard(mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Sends SIGTERM and waits for the process to end.
    pub fn stop(mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if start.elapsed() > PATIENCE {
                let _ = child.kill();
                panic!("serve did not stop on SIGTERM\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Appliance {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A plain HTTP/1.1 GET with `Connection: close`.
pub fn get(address: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok((code, body))
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

/// A copy of the repository's example city (spec/, policies/, pki/) in `to`.
pub fn example_city(to: &Path) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for folder in ["spec", "policies", "pki"] {
        super::copy_tree(&repo.join(folder), &to.join(folder));
    }
}

impl Appliance {
    /// The process id of the running `hromada serve`.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the appliance runs").id()
    }

    /// The most memory the process has held resident so far, in KiB (Linux `VmHWM`).
    pub fn peak_memory_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/PID/status")
    }
}

impl Appliance {
    /// Whether the appliance's log shows `text` within ten seconds: its log reaches the test
    /// through a pipe, a moment after the answer that caused it.
    pub fn log_shows(&self, text: &str) -> bool {
        for _ in 0..100 {
            if self.log().contains(text) {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        false
    }
}
