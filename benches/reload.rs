//! Reload under load: runs the release `hromada serve` on a copy of the example city, keeps it
//! busy with HTTP requests from two keep-alive clients, changes the spec 50 times, and reports
//! requests served and failed and the time from each file change to its applied revision.
//!
//! `cargo bench --bench reload` (HROMADA_BENCH_CHANGES=N to change the count). The figures go to
//! benches/README.md.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const CLIENTS: usize = 2;

fn main() {
    let changes: usize = std::env::var("HROMADA_BENCH_CHANGES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(50);
    let root = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for folder in ["spec", "policies", "pki"] {
        copy_tree(&repo.join(folder), &root.path().join(folder));
    }
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hromada"))
        .arg("serve")
        .arg(root.path())
        .arg("--data-dir")
        .arg(data.path())
        .args(["--listen", "127.0.0.1:0", "--log-format", "json"])
        // The banner with the address is an info line of the log in JSON mode.
        .env("HROMADA_LOG", "warn,hromada::serve=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hromada serve starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let address = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            let event: serde_json::Value = serde_json::from_str(&line).ok()?;
            let url = event["url"].as_str()?;
            url.strip_prefix("http://").map(String::from)
        })
        .expect("serve logs its address");
    // The rest of the log goes on to the bench's own, and a closed pipe would end serve.
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(|l| eprintln!("{l}")));
    let mut revision = wait_for_revision(&address, None);

    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (address, stop, served, failed) = (
                address.clone(),
                stop.clone(),
                served.clone(),
                failed.clone(),
            );
            std::thread::spawn(move || load(&address, &stop, &served, &failed))
        })
        .collect();

    let officials = root.path().join("spec/registry/officials.kdl");
    let original = std::fs::read_to_string(&officials).unwrap();
    let started = Instant::now();
    let mut reloads = Vec::with_capacity(changes);
    for n in 0..changes {
        let text = original.replacen(
            "Литвиненко Ірина Василівна",
            &format!("Литвиненко Ірина Василівна {n}"),
            1,
        );
        let changed = Instant::now();
        std::fs::write(&officials, text).unwrap();
        revision = wait_for_revision(&address, Some(&revision));
        reloads.push(changed.elapsed());
        std::thread::sleep(Duration::from_millis(100));
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let exit = child.wait().unwrap();

    reloads.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let served = served.load(Ordering::Relaxed);
    println!("changes applied:      {changes}");
    println!(
        "requests served:      {served} in {:.1} s ({:.0}/s, {CLIENTS} keep-alive clients on /readyz)",
        elapsed.as_secs_f64(),
        served as f64 / elapsed.as_secs_f64()
    );
    println!("requests failed:      {}", failed.load(Ordering::Relaxed));
    println!(
        "reload, file change to applied revision: median {:.0} ms, p90 {:.0} ms, min {:.0} ms, max {:.0} ms",
        ms(reloads[reloads.len() / 2]),
        ms(reloads[reloads.len() * 9 / 10]),
        ms(reloads[0]),
        ms(reloads[reloads.len() - 1])
    );
    println!("serve exited:         {exit}");
}

/// Polls `/readyz` until it names a revision other than `previous`.
fn wait_for_revision(address: &str, previous: Option<&str>) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok((200, body)) = get_once(address, "/readyz") {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            if let Some(r) = v["revision"].as_str()
                && Some(r) != previous
            {
                return r.to_string();
            }
        }
        assert!(Instant::now() < deadline, "no new revision within 60 s");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Keeps one keep-alive connection busy until `stop`; reconnects after an error and counts it.
fn load(address: &str, stop: &AtomicBool, served: &AtomicU64, failed: &AtomicU64) {
    let request = format!("GET /readyz HTTP/1.1\r\nHost: {address}\r\n\r\n");
    let mut connection: Option<BufReader<TcpStream>> = None;
    while !stop.load(Ordering::Relaxed) {
        let stream = match &mut connection {
            Some(stream) => stream,
            None => match TcpStream::connect(address) {
                Ok(stream) => connection.insert(BufReader::new(stream)),
                Err(_) => {
                    failed.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            },
        };
        match exchange(stream, request.as_bytes()) {
            Ok(200) => {
                served.fetch_add(1, Ordering::Relaxed);
            }
            _ => {
                failed.fetch_add(1, Ordering::Relaxed);
                connection = None;
            }
        }
    }
}

/// One request on a keep-alive connection; the status code of its response.
fn exchange(stream: &mut BufReader<TcpStream>, request: &[u8]) -> std::io::Result<u16> {
    stream.get_mut().write_all(request)?;
    let mut line = String::new();
    stream.read_line(&mut line)?;
    let code = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut length = 0;
    loop {
        let mut header = String::new();
        stream.read_line(&mut header)?;
        if header == "\r\n" || header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body)?;
    Ok(code)
}

fn get_once(address: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(address)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw)?;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((code, body.to_string()))
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
