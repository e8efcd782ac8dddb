//! A real ClamAV daemon for tests: Debian's `clamd` in the foreground on loopback (TCP and a Unix
//! socket) in a temporary folder, with signatures made by `sigtool` (nothing downloaded): one
//! file known by its MD5, and any file holding `MARKER`. One per test binary (`shared`).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Bytes that make any file holding them infected (a body signature in `test.ndb`).
pub const MARKER: &[u8] = b"HROMADA-TEST-MARKER/a-file-holding-this-is-infected/7f3a9c";
/// The name of `MARKER`'s signature (clamd reports it with `.UNOFFICIAL` after it).
pub const MARKER_SIGNATURE: &str = "Hromada.Test.Marker";
/// The name of `md5_signed_file`'s signature.
pub const MD5_SIGNATURE: &str = "Hromada.Test.Md5";
/// The daemon's `StreamMaxLength`: a longer file is refused.
pub const STREAM_MAX_LENGTH: usize = 2 * 1024 * 1024;

const INSTALL: &str = "run `apt-get install -y clamav-daemon clamav`";

/// The file that `test.hdb` knows by its MD5 and size.
pub fn md5_signed_file() -> Vec<u8> {
    b"hromada test file, known to the test signatures by its MD5 and size\n".repeat(3)
}

/// A running daemon, killed (and its folder deleted) when dropped or when the tests are over.
pub struct Clamd {
    pub port: u16,
    pub socket: PathBuf,
    dir: PathBuf,
    child: Child,
}

impl Clamd {
    /// `127.0.0.1:PORT`.
    pub fn tcp_address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `unix:/tmp/…/clamd.sock`.
    pub fn unix_address(&self) -> String {
        format!("unix:{}", self.socket.display())
    }

    /// Starts a daemon and waits until it answers PING; Err(why) when it cannot.
    pub fn start() -> Result<Clamd, String> {
        let clamd = find("clamd").ok_or_else(|| format!("clamd is not installed: {INSTALL}"))?;
        let sigtool =
            find("sigtool").ok_or_else(|| format!("sigtool is not installed: {INSTALL}"))?;
        let dir = tempfile::Builder::new()
            .prefix("hromada-clamd-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary folder: {e}"))?
            .keep();
        for sub in ["db", "tmp"] {
            std::fs::create_dir(dir.join(sub)).map_err(|e| format!("cannot create {sub}: {e}"))?;
        }
        write_signatures(&sigtool, &dir)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| format!("cannot find a free port: {e}"))?;
        let socket = dir.join("clamd.sock");
        let config = dir.join("clamd.conf");
        let d = dir.display();
        let text = format!(
            "Foreground yes\nLogFile {d}/clamd.log\nLogTime yes\nPidFile {d}/clamd.pid\n\
             TemporaryDirectory {d}/tmp\nDatabaseDirectory {d}/db\nLocalSocket {}\n\
             TCPSocket {port}\nTCPAddr 127.0.0.1\nStreamMaxLength {}\nMaxThreads 4\n",
            socket.display(),
            STREAM_MAX_LENGTH
        );
        std::fs::write(&config, text).map_err(|e| format!("cannot write clamd.conf: {e}"))?;
        let output = std::fs::File::create(dir.join("clamd.out"))
            .map_err(|e| format!("cannot create clamd.out: {e}"))?;
        let child = Command::new(clamd)
            .arg(format!("--config-file={}", config.display()))
            .stdin(Stdio::null())
            .stdout(output.try_clone().map_err(|e| e.to_string())?)
            .stderr(output)
            .spawn()
            .map_err(|e| format!("cannot start clamd: {e}"))?;
        spawn_watchdog(child.id(), &config, &dir)?;
        let mut daemon = Clamd {
            port,
            socket,
            dir,
            child,
        };
        daemon.wait_for_pong()?;
        Ok(daemon)
    }

    fn wait_for_pong(&mut self) -> Result<(), String> {
        let start = Instant::now();
        loop {
            if pong(self.port) {
                return Ok(());
            }
            let exited = self.child.try_wait().ok().flatten();
            if exited.is_some() || start.elapsed() > Duration::from_secs(120) {
                let out = std::fs::read_to_string(self.dir.join("clamd.out")).unwrap_or_default();
                let log = std::fs::read_to_string(self.dir.join("clamd.log")).unwrap_or_default();
                return Err(format!(
                    "clamd did not answer PING on port {} ({}):\n{out}\n{log}",
                    self.port,
                    exited.map_or("still starting after 120 s".into(), |s| s.to_string())
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Clamd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The daemon shared by the tests of this binary, started on first use; panics with why (and
/// how to install clamd) when it cannot start.
pub fn shared() -> &'static Clamd {
    static SHARED: OnceLock<Result<Clamd, String>> = OnceLock::new();
    SHARED
        .get_or_init(Clamd::start)
        .as_ref()
        .unwrap_or_else(|why| panic!("the test ClamAV daemon: {why}"))
}

fn find(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin"].map(PathBuf::from))
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
}

/// `db/test.hdb` (the MD5 of `md5_signed_file`) and `db/test.ndb` (`MARKER` anywhere in any
/// file), both made by `sigtool`.
fn write_signatures(sigtool: &Path, dir: &Path) -> Result<(), String> {
    let known = dir.join("tmp").join("known.bin");
    std::fs::write(&known, md5_signed_file()).map_err(|e| e.to_string())?;
    let md5 = sigtool_output(Command::new(sigtool).arg("--md5").arg(&known), None)?;
    let mut fields: Vec<&str> = md5.trim().splitn(3, ':').collect();
    if fields.len() != 3 {
        return Err(format!("sigtool --md5 printed {md5:?}, not md5:size:name"));
    }
    fields[2] = MD5_SIGNATURE;
    std::fs::write(dir.join("db/test.hdb"), fields.join(":") + "\n").map_err(|e| e.to_string())?;

    let hex = sigtool_output(Command::new(sigtool).arg("--hex-dump"), Some(MARKER))?;
    let ndb = format!("{MARKER_SIGNATURE}:0:*:{}\n", hex.trim());
    std::fs::write(dir.join("db/test.ndb"), ndb).map_err(|e| e.to_string())
}

fn sigtool_output(command: &mut Command, input: Option<&[u8]>) -> Result<String, String> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run sigtool: {e}"))?;
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(input.unwrap_or_default())
        .map_err(|e| e.to_string())?;
    drop(stdin);
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "sigtool failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    String::from_utf8(output.stdout).map_err(|e| e.to_string())
}

/// Whether clamd on `port` answers `zPING` with `PONG`.
fn pong(port: u16) -> bool {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if stream.write_all(b"zPING\0").is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let _ = stream.take(64).read_to_end(&mut answer);
    answer == b"PONG\0"
}

/// Kills the daemon (if it is still this config's clamd) and deletes `dir` once this test
/// process has exited: a shared daemon in a static is never dropped.
fn spawn_watchdog(clamd: u32, config: &Path, dir: &Path) -> Result<(), String> {
    super::postgres::after_this_process(&format!(
        "if grep -qa '{config}' /proc/{clamd}/cmdline 2>/dev/null; then kill {clamd}; fi; \
         sleep 1; rm -rf '{dir}'",
        config = config.display(),
        dir = dir.display(),
    ))
}
