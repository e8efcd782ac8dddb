//! A client of ClamAV's daemon (clamd) over its INSTREAM protocol, by TCP (`host:port`) or a
//! Unix socket (`unix:/path`): the registry exchange scans each received file with it. It fails
//! closed: a daemon unreachable, silent, refusing or unreadable is a `ScanError`, never `Clean`.

use std::fmt;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::net::{TcpStream, UnixStream};

/// How long one whole exchange with the daemon may take unless `with_timeout` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The size of each INSTREAM chunk unless `with_chunk` says otherwise.
pub const DEFAULT_CHUNK: usize = 64 * 1024;
/// The largest chunk `with_chunk` allows.
const MAX_CHUNK: usize = 8 * 1024 * 1024;
/// The longest answer read from the daemon: its verdicts, errors and versions are far shorter.
const MAX_REPLY: usize = 1024;
/// How many characters of an answer an error quotes.
const QUOTED: usize = 80;

/// Where clamd listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScannerAddress {
    /// `host:port`: clamd.conf's `TCPAddr` and `TCPSocket`.
    Tcp(String),
    /// `unix:/path`: clamd.conf's `LocalSocket`.
    Unix(PathBuf),
}

impl fmt::Display for ScannerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScannerAddress::Tcp(address) => f.write_str(address),
            ScannerAddress::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// A scanner address that is neither `host:port` nor `unix:/path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressError {
    given: String,
    why: &'static str,
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the virus scanner address {:?} {}: write host:port (127.0.0.1:3310) or unix:/path \
             (unix:/run/clamav/clamd.ctl)",
            self.given, self.why
        )
    }
}

impl std::error::Error for AddressError {}

impl FromStr for ScannerAddress {
    type Err = AddressError;

    fn from_str(text: &str) -> Result<ScannerAddress, AddressError> {
        let text = text.trim();
        let error = |why| AddressError {
            given: text.to_owned(),
            why,
        };
        if let Some(path) = text.strip_prefix("unix:") {
            let path = PathBuf::from(path);
            return if path.is_absolute() {
                Ok(ScannerAddress::Unix(path))
            } else {
                Err(error("names no absolute socket path"))
            };
        }
        let Some((host, port)) = text.rsplit_once(':') else {
            return Err(error("has no port"));
        };
        if host.is_empty() || host == "[]" {
            return Err(error("has no host"));
        }
        if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
            return Err(error("has an IPv6 address without brackets ([::1]:3310)"));
        }
        if host.chars().any(char::is_whitespace) {
            return Err(error("has a space in its host"));
        }
        match port.parse::<u16>() {
            Ok(port) if port != 0 => Ok(ScannerAddress::Tcp(text.to_owned())),
            _ => Err(error("has no port from 1 to 65535")),
        }
    }
}

/// What the daemon found in a file. A failed exchange is a `ScanError`, never a verdict: there
/// is no verdict for "could not tell", so a file is `Clean` only when the daemon said so.
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The daemon answered `stream: OK`.
    Clean,
    /// The daemon answered `stream: NAME FOUND`.
    Infected { signature: String },
}

/// Proof that clamd called a file clean: only `Scanner::clear` makes one, so code that takes a
/// file in only with a `Cleared` cannot take one whose scan failed.
#[must_use]
#[derive(Debug)]
pub struct Cleared {
    _sealed: (),
}

/// Why a file was not cleared: infected, or not scanned at all.
#[derive(Debug)]
pub enum NotCleared {
    Infected { signature: String },
    Unscanned(ScanError),
}

impl fmt::Display for NotCleared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotCleared::Infected { signature } => {
                write!(f, "the file is infected: ClamAV found {signature}")
            }
            NotCleared::Unscanned(error) => write!(f, "the file was not scanned: {error}"),
        }
    }
}

impl std::error::Error for NotCleared {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            NotCleared::Unscanned(error) => Some(error),
            NotCleared::Infected { .. } => None,
        }
    }
}

/// Why a file has no verdict. Each names the daemon and what to do; none holds the file.
#[derive(Debug)]
pub enum ScanError {
    /// No connection to the daemon could be made.
    Unreachable { address: String, error: io::Error },
    /// The exchange did not end within the scanner's timeout.
    TimedOut { address: String, after: Duration },
    /// The file is longer than the daemon's `StreamMaxLength`.
    TooLarge { address: String, size: usize },
    /// The daemon answered with an error of its own.
    Refused { address: String, message: String },
    /// The daemon's answer is not one clamd gives (`reason` says how), quoted in part.
    Unreadable {
        address: String,
        answer: String,
        reason: &'static str,
    },
    /// The connection ended before the daemon answered; `sent` is (bytes sent, file size)
    /// when a file was being scanned.
    Dropped {
        address: String,
        sent: Option<(usize, usize)>,
        error: Option<io::Error>,
    },
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScanError::Unreachable { address, error } => write!(
                f,
                "cannot reach the virus scanner (clamd) at {address}: {error}; start clamd or \
                 check that it listens there (TCPSocket and TCPAddr, or LocalSocket, in clamd.conf)"
            ),
            ScanError::TimedOut { address, after } => write!(
                f,
                "the virus scanner (clamd) at {address} gave no answer within {} s; check that \
                 clamd is running and not overloaded (its log says what it is doing)",
                after.as_secs_f64()
            ),
            ScanError::TooLarge { address, size } => write!(
                f,
                "the virus scanner (clamd) at {address} refused a file of {size} bytes as over \
                 its size limit; set StreamMaxLength in clamd.conf above the largest file \
                 received, and restart clamd"
            ),
            ScanError::Refused { address, message } => write!(
                f,
                "the virus scanner (clamd) at {address} could not scan the file: {message:?}; \
                 see clamd's log"
            ),
            ScanError::Unreadable {
                address,
                answer,
                reason,
            } => write!(
                f,
                "the virus scanner at {address} answered {answer:?}, which {reason}; check that \
                 {address} is clamd"
            ),
            ScanError::Dropped {
                address,
                sent,
                error,
            } => {
                write!(
                    f,
                    "the virus scanner (clamd) at {address} closed the connection without an answer"
                )?;
                match sent {
                    Some((sent, size)) if sent == size => {
                        write!(f, " after the whole file ({size} bytes) was sent")?
                    }
                    Some((sent, size)) => write!(f, " after {sent} of {size} bytes were sent")?,
                    None => {}
                }
                if let Some(error) = error {
                    write!(f, " ({error})")?;
                }
                f.write_str("; see clamd's log")
            }
        }
    }
}

impl std::error::Error for ScanError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ScanError::Unreachable { error, .. } => Some(error),
            ScanError::Dropped {
                error: Some(error), ..
            } => Some(error),
            _ => None,
        }
    }
}

/// A connection to the daemon, by TCP or a Unix socket.
trait Duplex: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Duplex for T {}

/// A clamd client: each call is one connection and one command, bounded by the timeout.
#[derive(Debug, Clone)]
pub struct Scanner {
    address: ScannerAddress,
    timeout: Duration,
    chunk: usize,
}

impl Scanner {
    /// A scanner of the daemon at `address`, with `DEFAULT_TIMEOUT` and `DEFAULT_CHUNK`.
    pub fn new(address: ScannerAddress) -> Scanner {
        Scanner {
            address,
            timeout: DEFAULT_TIMEOUT,
            chunk: DEFAULT_CHUNK,
        }
    }

    /// The longest one whole exchange (connecting, sending, the answer) may take.
    pub fn with_timeout(mut self, timeout: Duration) -> Scanner {
        self.timeout = timeout;
        self
    }

    /// The size of each INSTREAM chunk, from 1 byte to 8 MiB.
    pub fn with_chunk(mut self, chunk: usize) -> Scanner {
        self.chunk = chunk.clamp(1, MAX_CHUNK);
        self
    }

    pub fn address(&self) -> &ScannerAddress {
        &self.address
    }

    /// Streams `content` to the daemon (`zINSTREAM`) and reads its verdict.
    pub async fn scan(&self, content: &[u8]) -> Result<Verdict, ScanError> {
        let reply = self.bounded(self.instream(content)).await?;
        verdict(&reply, &self.address.to_string(), content.len())
    }

    /// `scan` as a decision: `Cleared` only for `Verdict::Clean`.
    pub async fn clear(&self, content: &[u8]) -> Result<Cleared, NotCleared> {
        match self.scan(content).await {
            Ok(Verdict::Clean) => Ok(Cleared { _sealed: () }),
            Ok(Verdict::Infected { signature }) => Err(NotCleared::Infected { signature }),
            Err(error) => Err(NotCleared::Unscanned(error)),
        }
    }

    /// Whether the daemon is up and answering (`zPING` → `PONG`), for health checks.
    pub async fn ping(&self) -> Result<(), ScanError> {
        let reply = self.bounded(self.command(b"zPING\0")).await?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(self.unreadable(&reply, "is not PONG"))
        }
    }

    /// The daemon's version and its signature database's (`zVERSION`), e.g. `ClamAV 1.0.7`.
    pub async fn version(&self) -> Result<String, ScanError> {
        let reply = self.bounded(self.command(b"zVERSION\0")).await?;
        if reply.starts_with("ClamAV ") {
            Ok(reply)
        } else {
            Err(self.unreadable(&reply, "is not a ClamAV version"))
        }
    }

    async fn bounded<T>(
        &self,
        exchange: impl Future<Output = Result<T, ScanError>>,
    ) -> Result<T, ScanError> {
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(ScanError::TimedOut {
                    address: self.address.to_string(),
                    after: self.timeout,
                })
            })
    }

    async fn connect(&self) -> Result<Box<dyn Duplex>, ScanError> {
        let connected: io::Result<Box<dyn Duplex>> = match &self.address {
            ScannerAddress::Tcp(address) => match TcpStream::connect(address.as_str()).await {
                Ok(stream) => stream.set_nodelay(true).map(|()| Box::new(stream) as _),
                Err(error) => Err(error),
            },
            ScannerAddress::Unix(path) => UnixStream::connect(path)
                .await
                .map(|stream| Box::new(stream) as _),
        };
        connected.map_err(|error| ScanError::Unreachable {
            address: self.address.to_string(),
            error,
        })
    }

    async fn command(&self, command: &[u8]) -> Result<String, ScanError> {
        let mut stream = self.connect().await?;
        if let Err(error) = stream.write_all(command).await {
            return Err(self.dropped(None, error));
        }
        self.reply(&mut stream, None).await
    }

    async fn instream(&self, content: &[u8]) -> Result<String, ScanError> {
        let size = content.len();
        let mut stream = BufWriter::with_capacity(self.chunk + 4, self.connect().await?);
        match send_chunks(&mut stream, content, self.chunk).await {
            Ok(()) => self.reply(&mut stream, Some((size, size))).await,
            // clamd answers before it stops reading (its size limit): the answer says why.
            Err((sent, error)) => match self.reply(&mut stream, Some((sent, size))).await {
                Err(ScanError::Dropped { .. }) => Err(self.dropped(Some((sent, size)), error)),
                answered => answered,
            },
        }
    }

    /// The daemon's one answer, up to its NUL terminator.
    async fn reply(
        &self,
        stream: &mut (impl AsyncRead + Unpin),
        sent: Option<(usize, usize)>,
    ) -> Result<String, ScanError> {
        let mut answer = Vec::new();
        let mut buffer = [0u8; 256];
        loop {
            let read = match stream.read(&mut buffer).await {
                Ok(read) => read,
                Err(error) => return Err(self.dropped(sent, error)),
            };
            if read == 0 {
                return Err(if answer.is_empty() {
                    ScanError::Dropped {
                        address: self.address.to_string(),
                        sent,
                        error: None,
                    }
                } else {
                    self.unreadable(
                        &String::from_utf8_lossy(&answer),
                        "ended without its NUL terminator",
                    )
                });
            }
            let got = &buffer[..read];
            if let Some(end) = got.iter().position(|&b| b == 0) {
                answer.extend_from_slice(&got[..end]);
                return String::from_utf8(answer).map_err(|bad| {
                    self.unreadable(&String::from_utf8_lossy(bad.as_bytes()), "is not text")
                });
            }
            answer.extend_from_slice(got);
            if answer.len() > MAX_REPLY {
                return Err(self.unreadable(
                    &String::from_utf8_lossy(&answer),
                    "is longer than any clamd answer",
                ));
            }
        }
    }

    fn dropped(&self, sent: Option<(usize, usize)>, error: io::Error) -> ScanError {
        ScanError::Dropped {
            address: self.address.to_string(),
            sent,
            error: Some(error),
        }
    }

    fn unreadable(&self, answer: &str, reason: &'static str) -> ScanError {
        unreadable(&self.address.to_string(), answer, reason)
    }
}

/// Sends `zINSTREAM`, then `content` in chunks each after its length (4 bytes, big-endian),
/// then a zero length; on failure, how many bytes of `content` went out.
async fn send_chunks(
    stream: &mut (impl AsyncWrite + Unpin),
    content: &[u8],
    chunk: usize,
) -> Result<(), (usize, io::Error)> {
    let mut sent = 0;
    stream.write_all(b"zINSTREAM\0").await.map_err(|e| (0, e))?;
    for piece in content.chunks(chunk) {
        let length = (piece.len() as u32).to_be_bytes();
        stream.write_all(&length).await.map_err(|e| (sent, e))?;
        stream.write_all(piece).await.map_err(|e| (sent, e))?;
        sent += piece.len();
    }
    stream.write_all(&[0; 4]).await.map_err(|e| (sent, e))?;
    stream.flush().await.map_err(|e| (sent, e))
}

/// The verdict in an INSTREAM answer; anything but `stream: OK` or `stream: NAME FOUND` is an
/// error.
fn verdict(reply: &str, address: &str, size: usize) -> Result<Verdict, ScanError> {
    if reply == "stream: OK" {
        return Ok(Verdict::Clean);
    }
    if let Some(name) = reply
        .strip_prefix("stream: ")
        .and_then(|rest| rest.strip_suffix(" FOUND"))
    {
        return if !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Verdict::Infected {
                signature: name.to_owned(),
            })
        } else {
            Err(unreadable(address, reply, "names no signature"))
        };
    }
    if let Some(message) = reply.strip_suffix(" ERROR") {
        return Err(if message.contains("size limit exceeded") {
            ScanError::TooLarge {
                address: address.to_owned(),
                size,
            }
        } else {
            ScanError::Refused {
                address: address.to_owned(),
                message: quoted(message),
            }
        });
    }
    Err(unreadable(address, reply, "is not a verdict"))
}

fn unreadable(address: &str, answer: &str, reason: &'static str) -> ScanError {
    ScanError::Unreadable {
        address: address.to_owned(),
        answer: quoted(answer),
        reason,
    }
}

/// The first `QUOTED` characters of a daemon's answer.
fn quoted(answer: &str) -> String {
    match answer.char_indices().nth(QUOTED) {
        Some((end, _)) => format!("{}…", &answer[..end]),
        None => answer.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_host_and_port_or_a_unix_socket() {
        assert_eq!(
            "unix:/run/clamav/clamd.ctl".parse(),
            Ok(ScannerAddress::Unix("/run/clamav/clamd.ctl".into()))
        );
        assert_eq!(
            " 127.0.0.1:3310 ".parse(),
            Ok(ScannerAddress::Tcp("127.0.0.1:3310".into()))
        );
        assert_eq!(
            "[::1]:3310".parse(),
            Ok(ScannerAddress::Tcp("[::1]:3310".into()))
        );
        assert_eq!(
            "clamav.internal:3310".parse(),
            Ok(ScannerAddress::Tcp("clamav.internal:3310".into()))
        );
        for address in ["unix:/run/clamd.ctl", "127.0.0.1:3310"] {
            let parsed: ScannerAddress = address.parse().unwrap();
            assert_eq!(parsed.to_string(), address);
        }
    }

    #[test]
    fn a_bad_address_says_what_is_wrong_and_what_to_write() {
        for (given, why) in [
            ("unix:clamd.ctl", "no absolute socket path"),
            ("127.0.0.1", "no port"),
            (":3310", "no host"),
            ("127.0.0.1:0", "no port from 1 to 65535"),
            ("127.0.0.1:http", "no port from 1 to 65535"),
            ("::1:3310", "without brackets"),
            ("clam d:3310", "a space"),
        ] {
            let error = given.parse::<ScannerAddress>().unwrap_err().to_string();
            assert!(error.contains(given), "{error}");
            assert!(error.contains(why), "{given}: {error}");
            assert!(error.contains("unix:/run/clamav/clamd.ctl"), "{error}");
        }
    }

    #[test]
    fn only_ok_is_clean_and_only_found_is_infected() {
        let at = "127.0.0.1:3310";
        assert_eq!(verdict("stream: OK", at, 1).unwrap(), Verdict::Clean);
        assert_eq!(
            verdict("stream: Win.Test.EICAR_HDB-1 FOUND", at, 1).unwrap(),
            Verdict::Infected {
                signature: "Win.Test.EICAR_HDB-1".into()
            }
        );
        for answer in [
            "",
            "OK",
            "stream: OK ",
            "stream:OK",
            "STREAM: OK",
            "stream: FOUND",
            "stream:  FOUND",
            "stream: two words FOUND",
            "PONG",
            "UNKNOWN COMMAND",
        ] {
            assert!(
                matches!(verdict(answer, at, 1), Err(ScanError::Unreadable { .. })),
                "{answer:?}"
            );
        }
    }

    #[test]
    fn errors_of_the_daemon_are_errors() {
        let at = "unix:/run/clamav/clamd.ctl";
        let error = verdict("INSTREAM size limit exceeded. ERROR", at, 3_000_000).unwrap_err();
        assert!(matches!(
            error,
            ScanError::TooLarge {
                size: 3_000_000,
                ..
            }
        ));
        let text = error.to_string();
        assert!(
            text.contains(at) && text.contains("StreamMaxLength"),
            "{text}"
        );
        let error = verdict("stream: Can't allocate memory ERROR", at, 1).unwrap_err();
        assert!(
            matches!(&error, ScanError::Refused { message, .. } if message == "stream: Can't allocate memory"),
            "{error:?}"
        );
    }

    #[test]
    fn a_long_answer_is_quoted_in_part() {
        let answer = "x".repeat(500);
        let ScanError::Unreadable { answer, .. } = verdict(&answer, "a:1", 1).unwrap_err() else {
            panic!("not unreadable");
        };
        assert_eq!(answer.chars().count(), QUOTED + 1);
    }
}
