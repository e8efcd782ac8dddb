//! Scanning received files with a real ClamAV daemon over INSTREAM (issue 16): clean and
//! infected files over TCP and a Unix socket, in chunks, the daemon's size limit; and daemons
//! that are gone, silent, cut off or talk nonsense, each an error naming it, never `Clean`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hromada::registry::exchange::scan::{NotCleared, ScanError, Scanner, ScannerAddress, Verdict};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::common::clamd::{self, MARKER, MARKER_SIGNATURE, MD5_SIGNATURE, STREAM_MAX_LENGTH};

fn scanner(address: &str) -> Scanner {
    Scanner::new(address.parse().unwrap()).with_timeout(Duration::from_secs(30))
}

fn over_tcp() -> Scanner {
    scanner(&clamd::shared().tcp_address())
}

fn over_unix() -> Scanner {
    scanner(&clamd::shared().unix_address())
}

/// `size` bytes of a harmless letter's text.
fn harmless(size: usize) -> Vec<u8> {
    "Лист про ремонт доріг у мікрорайоні, вих. № 01-12/345 від 07.12.2026. "
        .bytes()
        .cycle()
        .take(size)
        .collect()
}

/// `size` harmless bytes with `MARKER` written from `at`.
fn with_marker(size: usize, at: usize) -> Vec<u8> {
    let mut content = harmless(size);
    content[at..at + MARKER.len()].copy_from_slice(MARKER);
    content
}

fn infected_by(verdict: Verdict, signature: &str) {
    match verdict {
        Verdict::Infected { signature: found } => {
            assert!(found.starts_with(signature), "{found} is not {signature}")
        }
        Verdict::Clean => panic!("an infected file was called clean"),
    }
}

#[tokio::test]
async fn registry_scan_a_clean_file_is_clean() {
    let scanner = over_tcp();
    assert_eq!(
        scanner.scan(&harmless(100_000)).await.unwrap(),
        Verdict::Clean
    );
    assert_eq!(scanner.scan(b"").await.unwrap(), Verdict::Clean);
    scanner.ping().await.unwrap();
    let version = scanner.version().await.unwrap();
    assert!(version.starts_with("ClamAV "), "{version}");
}

#[tokio::test]
async fn registry_scan_the_md5_signed_file_is_infected_and_one_byte_less_is_not() {
    let scanner = over_tcp();
    let known = clamd::md5_signed_file();
    infected_by(scanner.scan(&known).await.unwrap(), MD5_SIGNATURE);

    let mut changed = known.clone();
    changed[0] ^= 1;
    assert_eq!(scanner.scan(&changed).await.unwrap(), Verdict::Clean);
}

#[tokio::test]
async fn registry_scan_clears_only_what_clamd_called_clean() {
    let real = over_tcp();
    let _cleared = real.clear(&harmless(1_000)).await.unwrap();
    let refused = real.clear(&with_marker(1_000, 300)).await.unwrap_err();
    assert!(
        matches!(&refused, NotCleared::Infected { signature } if signature.starts_with(MARKER_SIGNATURE)),
        "{refused:?}"
    );
    assert!(refused.to_string().contains(MARKER_SIGNATURE), "{refused}");

    let fake = Fake::start(Behaviour::Answer(b"stream: OK".to_vec())).await;
    let refused = scanner(&fake.address).clear(b"x").await.unwrap_err();
    assert!(
        matches!(refused, NotCleared::Unscanned(ScanError::Unreadable { .. })),
        "{refused:?}"
    );
}

#[tokio::test]
async fn registry_scan_a_marker_in_the_middle_of_a_file_is_infected() {
    let content = with_marker(1_000_000, 500_000);
    infected_by(over_tcp().scan(&content).await.unwrap(), MARKER_SIGNATURE);
}

#[tokio::test]
async fn registry_scan_a_file_over_the_daemons_size_limit_is_an_error_not_clean() {
    let size = STREAM_MAX_LENGTH + 512 * 1024;
    let content = with_marker(size, STREAM_MAX_LENGTH + 1024);
    for scanner in [over_tcp(), over_unix()] {
        let error = scanner.scan(&content).await.unwrap_err();
        assert!(
            matches!(error, ScanError::TooLarge { size: s, .. } if s == size),
            "{error:?}"
        );
        let text = error.to_string();
        assert!(text.contains(&scanner.address().to_string()), "{text}");
        assert!(text.contains("StreamMaxLength"), "{text}");
        assert!(!text.contains("HROMADA-TEST-MARKER"), "{text}");
    }
    // The daemon serves the next file as before.
    assert_eq!(
        over_tcp().scan(&harmless(10)).await.unwrap(),
        Verdict::Clean
    );
}

#[tokio::test]
async fn registry_scan_over_a_unix_socket() {
    let scanner = over_unix();
    assert!(matches!(scanner.address(), ScannerAddress::Unix(_)));
    scanner.ping().await.unwrap();
    assert_eq!(
        scanner.scan(&harmless(50_000)).await.unwrap(),
        Verdict::Clean
    );
    infected_by(
        scanner.scan(&clamd::md5_signed_file()).await.unwrap(),
        MD5_SIGNATURE,
    );
    infected_by(
        scanner.scan(&with_marker(50_000, 25_000)).await.unwrap(),
        MARKER_SIGNATURE,
    );
}

#[tokio::test]
async fn registry_scan_content_goes_in_chunks_and_a_marker_across_a_boundary_is_found() {
    let chunk = 64 * 1024;
    let content = with_marker(1_500_000, 10 * chunk - MARKER.len() / 2);

    let fake = Fake::start(Behaviour::Answer(b"stream: OK\0".to_vec())).await;
    let verdict = scanner(&fake.address)
        .with_chunk(chunk)
        .scan(&content)
        .await
        .unwrap();
    assert_eq!(verdict, Verdict::Clean, "the fake daemon's own answer");
    let (lengths, received) = fake.received();
    assert_eq!(received, content, "the chunks put together are the file");
    assert_eq!(lengths.len(), content.len().div_ceil(chunk) + 1);
    assert!(lengths.iter().all(|&n| n <= chunk), "{lengths:?}");
    assert_eq!(
        lengths.last(),
        Some(&0),
        "a zero-length chunk ends the stream"
    );

    for scanner in [over_tcp(), over_unix()] {
        let verdict = scanner.with_chunk(chunk).scan(&content).await.unwrap();
        infected_by(verdict, MARKER_SIGNATURE);
    }
}

#[tokio::test]
async fn registry_scan_a_daemon_not_running_is_an_error_naming_its_address() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let missing = tempfile::tempdir().unwrap().path().join("clamd.ctl");
    for address in [
        format!("127.0.0.1:{port}"),
        format!("unix:{}", missing.display()),
    ] {
        // Refused at once: an unreachable daemon is not mistaken for a slow one.
        let scanner = scanner(&address);
        for error in [
            scanner.scan(b"a letter").await.unwrap_err(),
            scanner.ping().await.unwrap_err(),
        ] {
            assert!(
                matches!(error, ScanError::Unreachable { .. }),
                "{address}: {error:?}"
            );
            let text = error.to_string();
            assert!(text.contains(&address), "{text}");
            assert!(text.contains("start clamd"), "{text}");
        }
    }
}

#[tokio::test]
async fn registry_scan_a_daemon_answering_garbage_is_an_error_never_clean() {
    let too_long = [b"stream: ".repeat(1000), b"OK\0".to_vec()].concat();
    let answers: [&[u8]; 10] = [
        b"HELLO\0",
        b"stream: OK",
        b"stream: OK\n",
        b"OK\0",
        b"stream: FOUND\0",
        b"stream:OK\0",
        b"\0",
        b"\xff\xfe stream: OK\0",
        b"UNKNOWN COMMAND\0",
        &too_long,
    ];
    for answer in answers {
        let fake = Fake::start(Behaviour::Answer(answer.to_vec())).await;
        let error = scanner(&fake.address)
            .scan(&harmless(5_000))
            .await
            .expect_err(&String::from_utf8_lossy(answer));
        assert!(
            matches!(
                error,
                ScanError::Unreadable { .. } | ScanError::Dropped { .. }
            ),
            "{answer:?}: {error:?}"
        );
        assert!(error.to_string().contains(&fake.address), "{error}");
    }

    let fake = Fake::start(Behaviour::Answer(
        b"stream: Can't allocate memory ERROR\0".to_vec(),
    ))
    .await;
    let error = scanner(&fake.address).scan(b"x").await.unwrap_err();
    assert!(
        matches!(&error, ScanError::Refused { message, .. } if message.contains("allocate")),
        "{error:?}"
    );

    let fake = Fake::start(Behaviour::Answer(b"PING\0".to_vec())).await;
    let error = scanner(&fake.address).ping().await.unwrap_err();
    assert!(matches!(error, ScanError::Unreadable { .. }), "{error:?}");
}

#[tokio::test]
async fn registry_scan_a_daemon_closing_mid_stream_is_an_error_never_clean() {
    let content = harmless(1_500_000);
    for after in [0, 100_000] {
        let fake = Fake::start(Behaviour::CloseAfter(after)).await;
        let error = scanner(&fake.address).scan(&content).await.unwrap_err();
        assert!(
            matches!(error, ScanError::Dropped { .. }),
            "closed after {after} bytes: {error:?}"
        );
        let text = error.to_string();
        assert!(text.contains(&fake.address), "{text}");
        assert!(text.contains("without an answer"), "{text}");
    }
}

#[tokio::test]
async fn registry_scan_a_daemon_that_never_answers_times_out() {
    let fake = Fake::start(Behaviour::Silent).await;
    let scanner = scanner(&fake.address).with_timeout(Duration::from_secs(1));
    for error in [
        scanner.scan(&harmless(20_000)).await.unwrap_err(),
        scanner.ping().await.unwrap_err(),
    ] {
        assert!(
            matches!(error, ScanError::TimedOut { after, .. } if after == Duration::from_secs(1)),
            "{error:?}"
        );
        let text = error.to_string();
        assert!(
            text.contains(&fake.address) && text.contains("within 1 s"),
            "{text}"
        );
    }
}

/// What a fake daemon does with a request.
enum Behaviour {
    /// Reads the whole request, then writes these bytes and closes.
    Answer(Vec<u8>),
    /// Closes the connection once this many bytes of a file came in.
    CloseAfter(usize),
    /// Reads the whole request and never answers.
    Silent,
}

/// A fake clamd on loopback (a plain TCP listener), recording the chunks it was sent.
struct Fake {
    address: String,
    chunks: Arc<Mutex<(Vec<usize>, Vec<u8>)>>,
}

impl Fake {
    async fn start(behaviour: Behaviour) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let chunks = Arc::new(Mutex::new((Vec::new(), Vec::new())));
        let behaviour = Arc::new(behaviour);
        let record = chunks.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, behaviour.clone(), record.clone()));
            }
        });
        Fake { address, chunks }
    }

    /// The chunk lengths received (the last 0) and the bytes put together.
    fn received(&self) -> (Vec<usize>, Vec<u8>) {
        self.chunks.lock().unwrap().clone()
    }
}

async fn serve(
    mut stream: TcpStream,
    behaviour: Arc<Behaviour>,
    record: Arc<Mutex<(Vec<usize>, Vec<u8>)>>,
) {
    let mut command = Vec::new();
    loop {
        let Ok(byte) = stream.read_u8().await else {
            return;
        };
        if byte == 0 {
            break;
        }
        command.push(byte);
    }
    if command == b"zINSTREAM" {
        let mut total = 0;
        loop {
            if let Behaviour::CloseAfter(after) = *behaviour
                && total >= after
            {
                return;
            }
            let Ok(length) = stream.read_u32().await else {
                return;
            };
            let mut chunk = vec![0; length as usize];
            if stream.read_exact(&mut chunk).await.is_err() {
                return;
            }
            total += chunk.len();
            let mut got = record.lock().unwrap();
            got.0.push(chunk.len());
            got.1.extend_from_slice(&chunk);
            if length == 0 {
                break;
            }
        }
    }
    match &*behaviour {
        Behaviour::Answer(answer) => {
            let _ = stream.write_all(answer).await;
            let _ = stream.shutdown().await;
        }
        Behaviour::Silent => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Behaviour::CloseAfter(_) => {}
    }
}
