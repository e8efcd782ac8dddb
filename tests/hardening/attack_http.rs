//! The merged gateway's HTTP surface attacked from outside: a seeded fuzz of raw requests, and
//! requests the gateway checks one way while a provider's system would read them another
//! (duplicated JSON keys, headers and query parameters naming the data subject).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::appliance::Appliance;
use crate::common::federation::Federation;
use crate::common::xroad::start;

/// The longest a single exchange under test may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(30);

/// An upstream on loopback that keeps every request exactly as it arrived on the socket (head
/// and body, nothing parsed or normalised) and answers with more than any agreement grants.
#[derive(Clone, Default)]
pub(crate) struct Recorder {
    seen: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    /// Starts it; returns its port.
    pub(crate) async fn start(&self) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = self.seen.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(record(stream, seen.clone()));
            }
        });
        port
    }

    /// The requests seen, health checks left out.
    pub(crate) fn requests(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|r| !r.contains("/health "))
            .cloned()
            .collect()
    }
}

async fn record(mut stream: TcpStream, seen: Arc<Mutex<Vec<String>>>) {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while data.len() < head_end + length {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
    seen.lock()
        .unwrap()
        .push(String::from_utf8_lossy(&data).into_owned());
    let body =
        r#"{"full_name":"Іваненко Марія","address":"вул. Центральна, 5","rnokpp":"3012345678"}"#;
    // The search answers JSON as plain text, as misconfigured systems do.
    let content_type = if head.starts_with("post /register/search") {
        "text/plain; charset=utf-8"
    } else {
        "application/json"
    };
    let answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes()).await;
}

/// The federation with every council service upstream at `port`, and two more of the council's
/// services there: `lookup` (subject in the query, a POST with agreed body fields) and `person`
/// (subject in a header), each with an agreement for the registry.
async fn federation_at(dir: &std::path::Path, port: u16) -> Federation {
    let fed = Federation::new(dir).await;
    fed.systems_over_http();
    let path = fed.root.join("spec/council.kdl");
    let text = std::fs::read_to_string(&path).unwrap();
    let upstream = regex::Regex::new(r"http://127\.0\.0\.1:\d+/register").unwrap();
    let mut text = upstream
        .replace(&text, format!("http://127.0.0.1:{port}/register"))
        .into_owned();
    let end = text.trim_end().rfind('}').unwrap();
    text.insert_str(
        end,
        &format!(
            r#"
    service "lookup" subsystem="registry" {{
        title "Пошук особи"
        description "Особа за РНОКПП"
        upstream "http://127.0.0.1:{port}/register"
        operation "GET" "/lookup"
        operation "POST" "/search"
        subject query="rnokpp"
        response {{
            field "full_name" type="string" class="personal"
        }}
    }}
    service "person" subsystem="registry" {{
        title "Особа"
        description "Особа за заголовком"
        upstream "http://127.0.0.1:{port}/register"
        operation "GET" "/person"
        subject header="X-Person"
        response {{
            field "full_name" type="string" class="personal"
        }}
    }}
"#
        ),
    );
    std::fs::write(&path, text).unwrap();
    let agreements = fed.root.join("spec/agreements.kdl");
    let mut text = std::fs::read_to_string(&agreements).unwrap();
    for (id, provider, extra) in [
        (
            "registry-looks-up",
            "lookup",
            "operation \"GET\" \"/lookup\"\n    operation \"POST\" \"/search\"\n    \
             parameters \"rnokpp\"\n    body-fields \"name\" \"filter.city\"\n    allow-non-json #true",
        ),
        (
            "registry-reads-person",
            "person",
            "operation \"GET\" \"/person\"",
        ),
    ] {
        text.push_str(&format!(
            r#"
agreement "{id}" {{
    consumer "council/registry"
    provider "council/{provider}"
    purpose "Перевірка заявника"
    legal-basis "ЗУ «Про адміністративні послуги», ст. 9"
    fields "full_name"
    {extra}
    valid from="2026-01-01" until="2030-12-31"
    notify-subject #true
}}
"#
        ));
    }
    std::fs::write(&agreements, text).unwrap();
    fed
}

/// Writes `request` on a new connection and returns everything the node answers before it
/// closes (or before `PATIENCE` runs out).
async fn raw(address: &str, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let _ = stream.write_all(request).await;
    let mut out = Vec::new();
    let mut buf = [0u8; 16384];
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return out,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

fn status_of(answer: &str) -> u16 {
    answer
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

/// The `X-Road-Error` of an answer (after any interim `100 Continue`), lower-cased.
fn x_road_error(answer: &str) -> Option<String> {
    answer.lines().find_map(|l| {
        l.to_ascii_lowercase()
            .strip_prefix("x-road-error: ")
            .map(str::to_string)
    })
}

/// A request of the registry to `target` with `extra` header lines and `body`.
fn request(fed: &Federation, method: &str, target: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "{method} {target} HTTP/1.1\r\nHost: x\r\nX-Road-Client: {}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        fed.registry_client(),
        body.len()
    )
    .into_bytes()
}

fn service_path(fed: &Federation, service: &str, rest: &str) -> String {
    format!("/r1/{}/GOV/04363395/registry/{service}{rest}", fed.instance)
}

// ---- A request body is checked as the provider's system reads it ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_body_passes_only_as_the_upstream_would_read_it() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::default();
    let port = recorder.start().await;
    let fed = federation_at(dir.path(), port).await;
    let core = start(&fed, &dir.path().join("core"), "gw-core", &[]);
    let search = service_path(&fed, "lookup", "/search");
    let json = "Content-Type: application/json\r\n";

    // Control: the agreed fields pass, and reach the upstream as sent.
    let fine = r#"{"name":"Іваненко","filter":{"city":"Щасливе"}}"#;
    let said = String::from_utf8_lossy(
        &raw(&core.address, &request(&fed, "POST", &search, json, fine)).await,
    )
    .into_owned();
    assert_eq!(status_of(&said), 200, "{said}\n{}", core.log());
    assert_eq!(recorder.requests().len(), 1);
    // The answer is JSON sent as text/plain, under an agreement that lets other types pass:
    // it is still cut to the granted field.
    let answer = said.split("\r\n\r\n").nth(1).unwrap_or_default();
    assert_eq!(answer, r#"{"full_name":"Іваненко Марія"}"#, "{said}");

    let hostile: [(&str, String, &str); 5] = [
        // Go's encoding/json merges both objects into one struct: `secret` arrives.
        (
            "a key given twice",
            json.to_string(),
            r#"{"filter":{"secret":"3012345678"},"filter":{"city":"Щасливе"}}"#,
        ),
        (
            "a key given twice, spelt with an escape",
            json.to_string(),
            r#"{"name":"a","filter":{"secret":"3012345678"},"filt\u0065r":{"city":"x"}}"#,
        ),
        // A provider that takes the last Content-Type reads a form with a field `secret`.
        (
            "two Content-Types",
            format!("{json}Content-Type: application/x-www-form-urlencoded\r\n"),
            r#"{"name":"a&secret=3012345678&b=c"}"#,
        ),
        // A provider's framework may inflate a request body the gateway would not read.
        (
            "a gzip-coded body",
            "Content-Type: text/json\r\nContent-Encoding: gzip\r\n".to_string(),
            "\u{1f}\u{8b}coded",
        ),
        // Many frameworks parse JSON under `text/json` or with no type at all.
        (
            "JSON sent as text/json",
            "Content-Type: text/json\r\n".to_string(),
            r#"{"secret":"3012345678"}"#,
        ),
    ];
    for (what, headers, body) in &hostile {
        let said = String::from_utf8_lossy(
            &raw(
                &core.address,
                &request(&fed, "POST", &search, headers, body),
            )
            .await,
        )
        .into_owned();
        let status = status_of(&said);
        assert!(
            (400..500).contains(&status) && x_road_error(&said).is_some(),
            "{what}: the gateway must refuse it with an X-Road error:\n{said}"
        );
    }
    let seen = recorder.requests();
    assert_eq!(
        seen.len(),
        1,
        "a body the gateway did not check as the upstream reads it reached the upstream:\n{seen:#?}"
    );
    // The refusal says what is wrong and where.
    let said = String::from_utf8_lossy(
        &raw(
            &core.address,
            &request(&fed, "POST", &search, &hostile[0].1, hostile[0].2),
        )
        .await,
    )
    .into_owned();
    assert!(
        said.contains("`filter`") && said.contains("more than once"),
        "{said}"
    );
    let said = String::from_utf8_lossy(
        &raw(
            &core.address,
            &request(&fed, "POST", &search, &hostile[2].1, hostile[2].2),
        )
        .await,
    )
    .into_owned();
    assert!(said.contains("Content-Type"), "{said}");
}

// ---- Exactly one data subject, or the exchange would be recorded against the wrong one ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_naming_more_than_one_data_subject_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::default();
    let port = recorder.start().await;
    let fed = federation_at(dir.path(), port).await;
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret-token\n").unwrap();
    let core = start(
        &fed,
        &dir.path().join("core"),
        "gw-core",
        &["--api-token-file", token.to_str().unwrap()],
    );
    let lookup = service_path(&fed, "lookup", "/lookup");
    let person = service_path(&fed, "person", "/person");

    // Control: one subject is served and recorded against that subject.
    let said = String::from_utf8_lossy(
        &raw(
            &core.address,
            &request(&fed, "GET", &format!("{lookup}?rnokpp=1111111111"), "", ""),
        )
        .await,
    )
    .into_owned();
    assert_eq!(status_of(&said), 200, "{said}\n{}", core.log());
    let said = String::from_utf8_lossy(
        &raw(
            &core.address,
            &request(&fed, "GET", &person, "X-Person: 1111111111\r\n", ""),
        )
        .await,
    )
    .into_owned();
    assert_eq!(status_of(&said), 200, "{said}\n{}", core.log());
    assert_eq!(recorder.requests().len(), 2);

    // PHP and Express read the last of repeated parameters, ASP.NET joins them, and a provider
    // may answer about either person given in two header lines: the subject's record would name
    // the first while the consumer learns about the second.
    let hostile = [
        (format!("{lookup}?rnokpp=1111111111&rnokpp=2222222222"), ""),
        (
            format!("{lookup}?rnokpp=1111111111&rnokp%70=2222222222"),
            "",
        ),
        (
            person.clone(),
            "X-Person: 1111111111\r\nX-Person: 2222222222\r\n",
        ),
        (person.clone(), "X-Person: 1111111111, 2222222222\r\n"),
    ];
    for (target, headers) in &hostile {
        let said = String::from_utf8_lossy(
            &raw(&core.address, &request(&fed, "GET", target, headers, "")).await,
        )
        .into_owned();
        assert_eq!(status_of(&said), 400, "{target} {headers}: {said}");
        assert_eq!(
            x_road_error(&said).as_deref(),
            Some("client.badrequest"),
            "{said}"
        );
        assert!(said.contains("more than one data subject"), "{said}");
        assert!(
            !said.contains("2222222222"),
            "the refusal repeats an identifier: {said}"
        );
    }
    assert_eq!(
        recorder.requests().len(),
        2,
        "a call naming two subjects reached the upstream:\n{:#?}",
        recorder.requests()
    );
    let (code, usage) = {
        let reply = crate::common::xroad::call(
            &core,
            "GET",
            "/api/subjects/2222222222/usage",
            &[("Authorization", "Bearer s3cret-token")],
            "",
        )
        .await;
        (reply.status, reply.json())
    };
    assert_eq!(code, 200);
    assert_eq!(usage["total"], 0, "{usage}");
    let reply = crate::common::xroad::call(
        &core,
        "GET",
        "/api/subjects/1111111111/usage",
        &[("Authorization", "Bearer s3cret-token")],
        "",
    )
    .await;
    assert_eq!(reply.json()["total"], 2, "{}", reply.body);
}

// ---- A seeded fuzz of raw requests ----

/// splitmix64: a small seeded generator, so that a failing case can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// One hostile request around the residents service: its request line, headers and body each
/// possibly broken, duplicated, smuggled or oversized.
fn hostile_request(rng: &mut Rng, fed: &Federation) -> Vec<u8> {
    let client = fed.registry_client();
    let methods: &[&[u8]] = &[
        b"GET",
        b"GET",
        b"GET",
        b"POST",
        b"PUT",
        b"HEAD",
        b"OPTIONS",
        b"DELETE",
        b"get",
        b"PERSON-3012345678",
        b"G\x00T",
        b"TRACE",
        b"CONNECT",
        b"",
        b"GET GET",
    ];
    let rests: &[&str] = &[
        "/persons/3012345678",
        "/persons/3012345678?as_of=1",
        "/persons/..",
        "/persons/%2e%2e/admin",
        "/persons/%252e%252e",
        "/persons/1;x=1",
        "/persons/1%3Bx",
        "/persons/1%2Fadmin",
        "/persons/%00",
        "/persons/%zz",
        "/persons/1?a%3Db=1",
        "/persons/1?rnokpp[]=1",
        "/persons/1?a=1;b=2",
        "/persons/1?%FF=1",
        "/persons/\u{0406}",
        "/persons/1%EF%BC%8F..",
        "/persons//1",
        "/persons/1#frag",
        "/persons/1 HTTP/1.1\r\nX-Smuggled: 1",
        "/../../etc/passwd",
        "",
    ];
    let targets = [
        fed.residents_path(rng.pick(rests)),
        format!(
            "/r1/{}/GOV/04363395/registry/residents{}",
            fed.instance,
            rng.pick(rests)
        ),
        format!("http://evil{}", fed.residents_path("/persons/1")),
        "/r2/x/GOV/1/s/svc".to_string(),
        "*".to_string(),
        "/metrics?x=3012345678".to_string(),
        "/api/subjects/3012345678/usage?page=-1".to_string(),
        "/api/operational?limit=99999999999999999999".to_string(),
        "/catalogue?x=%FF".to_string(),
        "/api/status".to_string(),
        "/listClients".to_string(),
        format!("/{}", "a".repeat(70 * 1024)),
    ];
    let versions: &[&[u8]] = &[
        b" HTTP/1.1",
        b" HTTP/1.1",
        b" HTTP/1.1",
        b" HTTP/1.0",
        b" HTTP/2.0",
        b" HTTP/9.9",
        b" http/1.1",
        b"",
        b" HTTP/1.1 extra",
    ];
    let mut out = Vec::new();
    out.extend_from_slice(rng.pick(methods));
    out.push(b' ');
    let target = rng.pick(&targets);
    let mut target = target.into_bytes();
    if rng.chance(10) {
        let at = rng.below(target.len().max(1));
        let byte = [0x00, 0x0b, 0x7f, 0x80, 0xff, b' ', b'"', b'<', b'\\'][rng.below(9)];
        target.insert(at.min(target.len()), byte);
    }
    out.extend_from_slice(&target);
    out.extend_from_slice(rng.pick(versions));
    out.extend_from_slice(b"\r\n");

    let bodies: &[&[u8]] = &[
        b"",
        b"{}",
        br#"{"full_name":"x","rnokpp":"3012345678"}"#,
        b"\xff\xfe\x00garbage",
        b"0\r\n\r\n",
        b"5\r\nhello\r\n0\r\n\r\n",
        b"FFFFFFFFFFFFFFFFFFFF\r\nab",
        b"-1\r\nab\r\n0\r\n\r\n",
        b"5;ext=\"x\r\nhello\r\n0\r\n\r\n",
        b"3\r\nabcdef\r\n0\r\n\r\n",
    ];
    let body = rng.pick(bodies);
    let pool: Vec<Vec<u8>> = vec![
        b"Host: x\r\n".to_vec(),
        format!("X-Road-Client: {client}\r\n").into_bytes(),
        format!("X-Road-Client: {client}\r\n").into_bytes(),
        b"X-Road-Client: hromada-federation/GOV/04363395/portal\r\n".to_vec(),
        b"X-Road-Client: \xd0\x86/GOV/1/x\r\n".to_vec(),
        b"X-Road-Client: a/b\r\n".to_vec(),
        format!("Content-Length: {}\r\n", body.len()).into_bytes(),
        format!("Content-Length: {}\r\n", body.len() + 3).into_bytes(),
        b"Content-Length: -1\r\n".to_vec(),
        b"Content-Length: 99999999999999999999999\r\n".to_vec(),
        b"Content-Length: 1, 2\r\n".to_vec(),
        b"Transfer-Encoding: chunked\r\n".to_vec(),
        b"Transfer-Encoding: chunked, identity\r\n".to_vec(),
        b"Transfer-Encoding: gzip, chunked\r\n".to_vec(),
        b"Transfer-Encoding:\tchunked\r\n".to_vec(),
        b"Transfer-Encoding : chunked\r\n".to_vec(),
        b"Transfer-Encoding: xchunked\r\n".to_vec(),
        b"TE: trailers\r\n".to_vec(),
        b"Content-Type: application/json\r\n".to_vec(),
        b"Content-Type: text/json\r\n".to_vec(),
        b"Content-Type: application/x-www-form-urlencoded\r\n".to_vec(),
        b"Content-Encoding: gzip\r\n".to_vec(),
        b"Expect: 100-continue\r\n".to_vec(),
        b"Connection: X-Road-Client, keep-alive\r\n".to_vec(),
        b"Upgrade: h2c\r\nConnection: Upgrade\r\n".to_vec(),
        b"X-Road-UserId: UA3012345678\r\n".to_vec(),
        b"X-Road-Id: \x01\x02\r\n".to_vec(),
        b"X-Foo: a\x00b\r\n".to_vec(),
        b"X-Foo: \xff\xfe\r\n".to_vec(),
        b"X-Folded: a\r\n  b\r\n".to_vec(),
        b"Bad Name: x\r\n".to_vec(),
        b": empty\r\n".to_vec(),
        b"NoColon\r\n".to_vec(),
        b"Authorization: Bearer 3012345678\r\n".to_vec(),
        b"Accept-Encoding: gzip;q=0, br, *;q=1\r\n".to_vec(),
        format!("X-Big: {}\r\n", "b".repeat(1 + rng.below(80 * 1024))).into_bytes(),
    ];
    for _ in 0..rng.below(7) {
        out.extend_from_slice(&rng.pick(&pool));
    }
    if rng.chance(70) {
        out.extend_from_slice(format!("X-Road-Client: {client}\r\n").as_bytes());
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(body);
    out
}

/// Whether the request line of `sent` names a gateway path.
fn to_gateway(sent: &[u8]) -> bool {
    let line = sent.split(|b| *b == b'\n').next().unwrap_or_default();
    String::from_utf8_lossy(line).contains("/r1/")
}

/// Every status line in what a node answered on one connection.
fn statuses(answer: &[u8]) -> Vec<u16> {
    let text = String::from_utf8_lossy(answer);
    regex::Regex::new(r"HTTP/1\.[01] (\d{3}) ")
        .unwrap()
        .captures_iter(&text)
        .map(|c| c[1].parse().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_malformed_requests_neither_crash_nor_leak_nor_pass_unchecked() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::default();
    let port = recorder.start().await;
    let fed = federation_at(dir.path(), port).await;
    let core = start(
        &fed,
        &dir.path().join("core"),
        "gw-core",
        &["--header-timeout", "2s", "--body-timeout", "2s"],
    );
    const REQUESTS: usize = 3000;
    const AT_ONCE: usize = 24;
    let seed = 0x11_2026_u64;
    let mut rng = Rng(seed);
    let requests: Vec<Vec<u8>> = (0..REQUESTS)
        .map(|_| hostile_request(&mut rng, &fed))
        .collect();
    let mut failures = Vec::new();
    for (batch_no, batch) in requests.chunks(AT_ONCE).enumerate() {
        let answers = futures_join(&core, batch).await;
        for (i, (sent, answer)) in batch.iter().zip(answers).enumerate() {
            let n = batch_no * AT_ONCE + i;
            let text = String::from_utf8_lossy(&answer);
            for status in statuses(&answer) {
                let own_500 = status == 500;
                // A refusal of a gateway call is an X-Road error, or the HTTP layer's bare
                // answer to a request it could not read (no body), never anything else.
                let unexplained = status >= 400
                    && to_gateway(sent)
                    && x_road_error(&text).is_none()
                    && !text.contains("content-length: 0");
                if own_500 || unexplained {
                    failures.push(format!(
                        "request #{n} (seed {seed:#x}) answered {status}:\n{}\n=> {}",
                        String::from_utf8_lossy(&sent[..sent.len().min(600)]),
                        &text[..text.len().min(600)]
                    ));
                }
            }
        }
        if failures.len() > 5 {
            break;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    let (code, _) = core.get("/healthz");
    assert_eq!(code, 200, "the node is still up\n{}", core.log());
    let log = core.log();
    assert!(!log.contains("panicked"), "{log}");
    let warned: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .filter(|l| l.contains("3012345678"))
        .collect();
    assert!(
        warned.is_empty(),
        "log lines carry an identifier: {warned:#?}"
    );
    let (_, metrics) = core.get("/metrics");
    assert!(!metrics.contains("3012345678"), "{metrics}");

    // Whatever reached the upstream was a call the agreement allows, framed once, of one path.
    let allowed =
        regex::Regex::new(r"^(GET|HEAD|OPTIONS) /register/persons/[0-9A-Za-z%]+ HTTP/1\.1\r\n")
            .unwrap();
    let request_line = regex::Regex::new(r"(?m)^[A-Z]+ /\S* HTTP/").unwrap();
    for seen in recorder.requests() {
        let head = seen
            .split("\r\n\r\n")
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert!(allowed.is_match(&seen), "reached the upstream: {seen}");
        for smuggled in ["%2e", "%25", "%2f", "%3b", ";", ".."] {
            assert!(
                !seen
                    .lines()
                    .next()
                    .unwrap()
                    .to_ascii_lowercase()
                    .contains(smuggled),
                "reached the upstream: {seen}"
            );
        }
        assert!(!head.contains("transfer-encoding"), "{seen}");
        let request_lines = request_line.find_iter(&seen).count();
        assert_eq!(
            request_lines, 1,
            "one request, nothing smuggled after it: {seen}"
        );
        assert!(head.matches("content-length").count() <= 1, "{seen}");
        assert!(head.matches("x-road-client").count() == 1, "{seen}");
    }
}

/// Sends `batch` at once, each on its own connection, and returns the answers in order.
async fn futures_join(node: &Appliance, batch: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let tasks: Vec<_> = batch
        .iter()
        .map(|request| {
            let address = node.address.clone();
            let request = request.clone();
            tokio::spawn(async move { raw(&address, &request).await })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

// ---- Clients that never read their answers ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_never_read_their_answers_do_not_hold_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let node = crate::edge::minimal_node(
        dir.path(),
        &["--header-timeout", "2s", "--max-connections", "3"],
    );
    // Each asks for the catalogue thousands of times at once and reads nothing: the node's
    // answers fill both sides' buffers and its writes wait.
    let pipelined = b"GET /catalogue HTTP/1.1\r\nHost: x\r\n\r\n".repeat(3000);
    let mut readers_that_never_read = Vec::new();
    for _ in 0..3 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut stream = socket.connect(node.address.parse().unwrap()).await.unwrap();
        let request = pipelined.clone();
        let writer = tokio::spawn(async move {
            let _ = stream.write_all(&request).await;
            stream
        });
        readers_that_never_read.push(writer);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let said = String::from_utf8_lossy(
            &raw(
                &node.address,
                b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            )
            .await,
        )
        .into_owned();
        if status_of(&said) == 200 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "three clients that read nothing held every connection slot for {PATIENCE:?}\n{}",
            node.log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Which bound freed the slots depends on how much of the answers the kernel's buffers took:
    // a write that stalls (`hromada_connections_stalled_total`), or, once every answer fitted,
    // the header deadline of an idle connection. Either way the node is not held.
    drop(readers_that_never_read);
}

// ---- A target the HTTP client re-spells still carries its seal to the provider's node ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_with_raw_utf8_or_quotes_reaches_the_providers_node_with_a_valid_seal() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let core = start(&fed, &dir.path().join("core"), "gw-core", &[]);
    let vodokanal = start(&fed, &dir.path().join("vodokanal"), "gw-vodokanal", &[]);
    crate::common::xroad::wait_for_peer_listener(&vodokanal);
    // Raw UTF-8 and `{}` in the path, `'` in the query: hyper takes them as they are, the HTTP
    // client towards the other node percent-encodes them, and the seal was over the raw text.
    for rest in [
        "/accounts/\u{0406}-1/balance",
        "/accounts/{1}/balance",
        "/accounts/1/balance?as_of='2026-11-01'",
    ] {
        let target = fed.balance_path(rest);
        let said = String::from_utf8_lossy(
            &raw(&core.address, &request(&fed, "GET", &target, "", "")).await,
        )
        .into_owned();
        assert_eq!(
            status_of(&said),
            200,
            "{rest}: {said}\n{}\n{}",
            core.log(),
            vodokanal.log()
        );
    }
    assert!(
        !vodokanal.log().contains("seal does not match"),
        "a false alarm of a forged seal:\n{}",
        vodokanal.log()
    );
}

// ---- The unauthenticated status and the log never show an upstream address ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_revision_with_a_mistyped_upstream_does_not_show_the_address() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let core = start(&fed, &dir.path().join("core"), "gw-core", &[]);
    let council = std::fs::read_to_string(fed.root.join("spec/council.kdl")).unwrap();
    let upstream = regex::Regex::new(r"http://127\.0\.0\.1:\d+/register")
        .unwrap()
        .find(&council)
        .unwrap()
        .as_str()
        .to_string();
    fed.edit(
        "spec/council.kdl",
        &upstream,
        "htp://10.20.30.40:9402/register",
    );
    let status = core.wait_for("the mistyped revision refused", |s| {
        s["last_attempt"]["outcome"] == "refused"
    });
    let text = status.to_string();
    assert!(text.contains("H0303"), "{text}");
    assert!(text.contains("upstream of service `residents`"), "{text}");
    assert!(
        !text.contains("10.20.30.40"),
        "/api/status shows the upstream: {text}"
    );
    assert!(
        !core.log().contains("10.20.30.40"),
        "the log shows the upstream:\n{}",
        core.log()
    );
}

// ---- Many large bodies at once, before any caller is authenticated ----

/// A gateway call announcing a body of `length` bytes, with `sent` of them.
fn posting(length: usize, sent: usize) -> Vec<u8> {
    let mut request = format!(
        "POST /r1/i/GOV/1/s/svc/x HTTP/1.1\r\nHost: x\r\nX-Road-Client: i/GOV/1/c\r\n\
         Content-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    request.extend(std::iter::repeat_n(b' ', sent));
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_bodies_a_node_holds_at_once_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let node =
        crate::edge::minimal_node(dir.path(), &["--max-body", "1024", "--body-timeout", "60s"]);
    // Unauthenticated bodies of the largest size, each sent but for its last byte and held:
    // one more than the node holds, so that one of them is refused once the others hold all.
    let at_once = hromada::gateway::body_budget::LARGEST_BODIES_AT_ONCE;
    let mut held = Vec::new();
    for _ in 0..=at_once {
        let mut stream = TcpStream::connect(&node.address).await.unwrap();
        stream.write_all(&posting(1024, 1023)).await.unwrap();
        held.push(stream);
    }
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let refused = 'wait: loop {
        for stream in &mut held {
            let mut buf = [0u8; 4096];
            if let Ok(n) = stream.try_read(&mut buf)
                && n > 0
            {
                break 'wait String::from_utf8_lossy(&buf[..n]).into_owned();
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} bodies of the largest size sent at once, and all are being read\n{}",
            at_once + 1,
            node.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status_of(&refused), 429, "{refused}");
    // While the others are held, another is refused at once rather than read.
    let refused =
        String::from_utf8_lossy(&raw(&node.address, &posting(1024, 1024)).await).into_owned();
    assert_eq!(status_of(&refused), 429, "{refused}");
    assert_eq!(
        x_road_error(&refused).as_deref(),
        Some("client.toomanyrequests"),
        "{refused}"
    );
    assert!(refused.contains("request bodies"), "{refused}");
    assert!(
        refused.to_ascii_lowercase().contains("retry-after: 1"),
        "{refused}"
    );
    let (code, _) = node.get("/healthz");
    assert_eq!(code, 200, "requests without a body are served");

    // Once the senders are gone, their room comes back.
    drop(held);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let said =
            String::from_utf8_lossy(&raw(&node.address, &posting(1024, 1024)).await).into_owned();
        if status_of(&said) != 429 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the room of closed connections did not come back: {said}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
