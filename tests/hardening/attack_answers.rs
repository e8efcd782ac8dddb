//! The merged gateway's release of a provider's answer, attacked where its parts meet: what the
//! provider writes about its answer (type, coding, status, redirect target) must neither reach
//! the consumer nor let a body bypass the projection, and no answer may exhaust the node.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Response, Uri};
use axum::routing::any;
use serde_json::json;

use crate::common::federation::{Federation, UNGRANTED_RNOKPP, serve_on_loopback};
use crate::common::xroad::{Reply, assert_refused, call, start, wait_for_peer_listener};
use crate::projection::{assert_nothing_personal, point_upstream};

/// Personal data the hostile upstream slips in; it must never reach a consumer.
const PERSONAL: &str = "PERSONAL-SECRET-Ivanenko";

/// The hostile provider's answer to `path`, by its last segment (the account of the balance
/// service, `/accounts/{case}/balance`).
fn hostile(method: &Method, path: &str) -> Response<Body> {
    let mut segments = path.rsplit('/');
    let case = match segments.next().unwrap_or_default() {
        "balance" => segments.next().unwrap_or_default(),
        last => last,
    };
    let answer = |status: u16, headers: &[(&str, &str)], body: Vec<u8>| {
        let mut builder = Response::builder().status(status);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(Body::from(body)).unwrap()
    };
    let record = format!(
        r#"{{"full_name": "Іваненко Марія", "address": "вул. Центральна, 5",
            "holder_rnokpp": "{UNGRANTED_RNOKPP}", "note": "{PERSONAL}"}}"#
    );
    let type_holder = format!("text/plain; holder={UNGRANTED_RNOKPP}");
    let type_named = format!("text/{PERSONAL}");
    let coding = format!("x-{UNGRANTED_RNOKPP}");
    let encoded_query = format!("/register/persons/x%3Frnokpp%3D{UNGRANTED_RNOKPP}");
    let encoded_slash = format!("/register/persons/x%2F..%2F{PERSONAL}");
    let vnd = format!("application/vnd.holder-{UNGRANTED_RNOKPP}+json; charset=utf-8");
    let semicolon = format!("/register/persons/x;rnokpp={UNGRANTED_RNOKPP}");
    match case {
        "type-holder" => answer(200, &[("content-type", &type_holder)], record.into()),
        "type-named" => answer(200, &[("content-type", &type_named)], record.into()),
        "coding" => answer(
            200,
            &[
                ("content-type", "application/json"),
                ("content-encoding", &coding),
            ],
            record.into(),
        ),
        "redirect-query" => answer(302, &[("location", &encoded_query)], Vec::new()),
        "redirect-slash" => answer(302, &[("location", &encoded_slash)], Vec::new()),
        "redirect-semicolon" => answer(302, &[("location", &semicolon)], Vec::new()),
        "disguised" => answer(200, &[("content-type", "text/plain")], record.into()),
        "untyped" => answer(200, &[], record.into()),
        "listed" => answer(
            200,
            &[("content-type", "application/json, text/plain")],
            record.into(),
        ),
        "bom" => {
            let mut body = "\u{FEFF}".as_bytes().to_vec();
            body.extend(record.as_bytes());
            answer(200, &[("content-type", "text/plain")], body)
        }
        "document" => answer(
            200,
            &[("content-type", "application/pdf")],
            b"%PDF-1.4 certificate".to_vec(),
        ),
        "deep" | "deep-disguised" => {
            let nested = format!("{}{}", "[".repeat(200), "]".repeat(200));
            let body = format!(
                r#"{{"full_name": {nested}, "holder_rnokpp": "{UNGRANTED_RNOKPP}", "note": "{PERSONAL}"}}"#
            );
            let json = if case == "deep" {
                "application/json"
            } else {
                "text/plain"
            };
            answer(200, &[("content-type", json)], body.into())
        }
        // Ten million bytes of tiny values: each one a JSON value in memory if read whole.
        "tiny-values" => {
            let mut body = b"[".to_vec();
            body.extend(b"0,".repeat(5_000_000));
            body.extend(b"0]");
            answer(200, &[("content-type", "application/json")], body)
        }
        "vnd-type" => answer(200, &[("content-type", &vnd)], record.into()),
        "vnd-error" => answer(
            404,
            &[("content-type", &vnd)],
            br#"{"type": "NotFound"}"#.to_vec(),
        ),
        // What a server that gzips every answer sends for HEAD and 304: the coding, no body.
        "cached" if method == Method::HEAD => answer(
            200,
            &[
                ("content-type", "application/json"),
                ("content-encoding", "gzip"),
            ],
            Vec::new(),
        ),
        "cached" => answer(
            304,
            &[
                ("content-encoding", "gzip"),
                ("cache-control", "max-age=60"),
            ],
            Vec::new(),
        ),
        other => panic!("the hostile upstream has no case `{other}` ({method})"),
    }
}

/// Starts the hostile upstream on a free loopback port and returns its port.
async fn serve_hostile() -> u16 {
    serve_on_loopback(
        Router::new().fallback(any(|method: Method, uri: Uri| async move {
            hostile(&method, uri.path())
        })),
    )
    .await
}

/// The two-node federation's core node with the council's residents service served by the
/// hostile upstream; `agreement_extra` is added to the residents agreement.
async fn residents_node(
    dir: &std::path::Path,
    agreement_extra: &str,
) -> (Federation, crate::common::appliance::Appliance) {
    let fed = Federation::new(dir).await;
    fed.systems_over_http();
    point_upstream(&fed, "spec/council.kdl", serve_hostile().await);
    if !agreement_extra.is_empty() {
        fed.edit(
            "spec/agreements.kdl",
            "    operation \"GET\" \"/persons/*\"\n",
            &format!("    operation \"GET\" \"/persons/*\"\n    {agreement_extra}\n"),
        );
    }
    let core = start(&fed, &dir.join("core"), "gw-core", &[]);
    (fed, core)
}

async fn get(fed: &Federation, node: &crate::common::appliance::Appliance, case: &str) -> Reply {
    let path = fed.residents_path(&format!("/persons/{case}"));
    let reply = call(
        node,
        "GET",
        &path,
        &[("X-Road-Client", &fed.registry_client())],
        "",
    )
    .await;
    assert_nothing_personal(case, &reply);
    reply
}

/// The gateway's refusal of a provider's answer names what is wrong with it in its own words:
/// a media type, content coding or redirect target the provider wrote can carry a person's data,
/// and the consumer must not read it in the `X-Road-Error` message either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_answer_never_quotes_what_the_provider_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let (fed, core) = residents_node(dir.path(), "").await;
    for (case, mentions) in [
        ("type-holder", "does not state JSON"),
        ("type-named", "does not state JSON"),
        ("coding", "content coding"),
        ("redirect-query", "redirect"),
        ("redirect-slash", "redirect"),
        ("redirect-semicolon", "redirect"),
    ] {
        let reply = get(&fed, &core, case).await;
        assert_refused(&reply, 502, "Server.ServerProxy.ServiceFailed", mentions);
    }
    let log = core.log();
    assert!(
        !log.contains(PERSONAL) && !log.contains(UNGRANTED_RNOKPP),
        "{log}"
    );
}

/// `allow-non-json` lets documents pass whole; a JSON record is still cut to the grant whatever
/// the provider calls it (a wrong, missing or listed type, a byte order mark before it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_allow_non_json_a_mislabelled_json_record_is_still_cut_to_the_grant() {
    let dir = tempfile::tempdir().unwrap();
    let (fed, core) = residents_node(dir.path(), "allow-non-json #true").await;
    for case in ["disguised", "untyped", "listed", "bom"] {
        let reply = get(&fed, &core, case).await;
        assert_eq!(reply.status, 200, "{case}: {}", reply.body);
        assert_eq!(
            reply.json(),
            json!({"full_name": "Іваненко Марія", "address": "вул. Центральна, 5"}),
            "{case}"
        );
    }
    let reply = get(&fed, &core, "document").await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "%PDF-1.4 certificate"),
        "a document passes whole under allow-non-json"
    );
    assert_eq!(reply.header("content-type"), Some("application/pdf"));
}

/// A JSON answer the gateway cut is JSON as the gateway wrote it: a media type the provider made
/// up for it (which can carry anything) does not pass, `application/json` is stated instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_answer_keeps_no_media_type_the_provider_made_up() {
    let dir = tempfile::tempdir().unwrap();
    let (fed, core) = residents_node(dir.path(), "").await;
    let reply = get(&fed, &core, "vnd-type").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(
        reply.json(),
        json!({"full_name": "Іваненко Марія", "address": "вул. Центральна, 5"})
    );
    let reply = get(&fed, &core, "vnd-error").await;
    assert_eq!(
        (reply.status, reply.json()),
        (404, json!({"type": "NotFound"}))
    );
    assert_eq!(reply.header("content-type"), Some("application/json"));
}

/// JSON nested deeper than the gateway reads is refused with that reason, and does not pass
/// whole as a document under `allow-non-json` either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_nested_too_deep_is_refused_not_passed() {
    let dir = tempfile::tempdir().unwrap();
    let (fed, core) = residents_node(dir.path(), "allow-non-json #true").await;
    for case in ["deep", "deep-disguised"] {
        let reply = get(&fed, &core, case).await;
        assert_refused(
            &reply,
            502,
            "Server.ServerProxy.ServiceFailed",
            "nested deeper",
        );
    }
}

/// A server that gzips its answers states the coding on HEAD and 304 answers, which have no
/// body: there is nothing to decode, and the answer passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_and_not_modified_answers_of_a_gzipping_server_pass() {
    let dir = tempfile::tempdir().unwrap();
    let (fed, core) = residents_node(dir.path(), "").await;
    let path = fed.residents_path("/persons/cached");
    let client = fed.registry_client();
    let headers = [
        ("X-Road-Client", client.as_str()),
        ("If-None-Match", "\"1\""),
    ];
    let reply = call(&core, "GET", &path, &headers, "").await;
    assert_eq!((reply.status, reply.body.as_str()), (304, ""));
    assert_eq!(reply.header("cache-control"), Some("max-age=60"));
    assert!(reply.header("content-encoding").is_none());
    let reply = call(&core, "HEAD", &path, &headers, "").await;
    assert_eq!(reply.status, 200, "{:?}", reply.headers);
    assert_eq!(reply.header("content-type"), Some("application/json"));
}

/// An answer within the body limit made of tiny values (each a JSON value in memory) does not
/// make the provider's node hold many times the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_of_tiny_values_does_not_exhaust_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let (fed, core) = residents_node(dir.path(), "").await;
    let before = core.peak_memory_kib();
    let reply = get(&fed, &core, "tiny-values").await;
    let grown = core.peak_memory_kib().saturating_sub(before);
    assert_refused(
        &reply,
        502,
        "Server.ServerProxy.ServiceFailed",
        "JSON values",
    );
    // The answer is 10 MB; read whole into JSON values it took 700 MB.
    assert!(
        grown < 100 * 1024,
        "the node grew by {grown} KiB for one answer"
    );
}

/// An upstream on a bare socket, for answers an HTTP server library would not send: it writes
/// the answer `raw` gives for the request's path, then closes.
async fn serve_raw(raw: fn(&str) -> String) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&seen);
                let path = head.split(' ').nth(1).unwrap_or_default();
                let _ = stream.write_all(raw(path).as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    port
}

/// The answer of an upstream that does not speak HTTP's final statuses.
fn not_final(path: &str) -> String {
    let status = if path.ends_with("/switching") {
        "101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade"
    } else {
        "999 Beyond\r\nContent-Type: application/json\r\nContent-Length: 14"
    };
    format!("HTTP/1.1 {status}\r\nX-Holder: {UNGRANTED_RNOKPP}\r\n\r\n{{\"type\": \"E\"}} ")
}

/// A status that is not a final HTTP answer (a 101 to a request that asked for no upgrade, a
/// status beyond 599) is refused: sent on, a 101 left the consumer's connection switched to
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_that_is_not_a_final_answer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    point_upstream(&fed, "spec/council.kdl", serve_raw(not_final).await);
    let core = start(&fed, &dir.path().join("core"), "gw-core", &[]);
    for (case, status) in [("switching", "101"), ("beyond", "999")] {
        let reply = get(&fed, &core, case).await;
        assert_refused(&reply, 502, "Server.ServerProxy.ServiceFailed", status);
    }
}

/// Across two nodes the same answers hold: the provider's node states the type it sealed, the
/// consumer's node passes it on, and refusals name nothing of the provider's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_two_nodes_answers_are_stated_and_refused_alike() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    point_upstream(&fed, "spec/vodokanal.kdl", serve_hostile().await);
    let vodokanal = start(&fed, &dir.path().join("vodokanal"), "gw-vodokanal", &[]);
    wait_for_peer_listener(&vodokanal);
    let core = start(&fed, &dir.path().join("core"), "gw-core", &[]);
    let client = fed.registry_client();
    let get = |case: &'static str| {
        let path = fed.balance_path(&format!("/accounts/{case}/balance"));
        let client = client.clone();
        let core = &core;
        async move {
            let reply = call(core, "GET", &path, &[("X-Road-Client", &client)], "").await;
            assert_nothing_personal(case, &reply);
            reply
        }
    };
    let reply = get("vnd-type").await;
    assert_eq!(reply.status, 200, "{}\n{}", reply.body, vodokanal.log());
    assert_eq!(reply.header("content-type"), Some("application/json"));
    for (case, mentions) in [
        ("type-holder", "does not state JSON"),
        ("coding", "content coding"),
        ("redirect-query", "redirect"),
        ("tiny-values", "JSON values"),
    ] {
        let reply = get(case).await;
        assert_refused(&reply, 502, "Server.ServerProxy.ServiceFailed", mentions);
    }
}

/// A consumer's JSON body is read within the same bounds as a provider's answer: 10 MB of tiny
/// values under an agreement that allows a body is refused before it is read whole. The node
/// still holds the body itself and logs the refused exchange with it (about 100 MB at the peak);
/// read whole into JSON values, the body made it grow by several hundred MB more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_body_of_tiny_values_does_not_exhaust_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    fed.edit(
        "spec/council.kdl",
        "        operation \"GET\" \"/persons/*\"\n",
        "        operation \"GET\" \"/persons/*\"\n        operation \"POST\" \"/persons/*\"\n",
    );
    fed.edit(
        "spec/agreements.kdl",
        "    operation \"GET\" \"/persons/*\"\n",
        "    operation \"GET\" \"/persons/*\"\n    operation \"POST\" \"/persons/*\"\n    body-fields \"note\"\n",
    );
    let core = start(&fed, &dir.path().join("core"), "gw-core", &[]);
    let path = fed.residents_path("/persons/2900000001");
    let client = fed.registry_client();
    let json = [
        ("X-Road-Client", client.as_str()),
        ("Content-Type", "application/json"),
    ];

    // The gateway passes an allowed body on (the test register itself answers POST with 405).
    let allowed = call(&core, "POST", &path, &json, r#"{"note": "so"}"#).await;
    assert_eq!(allowed.error_type(), None, "{}", allowed.body);

    let before = core.peak_memory_kib();
    let tiny = format!("[{}0]", "0,".repeat(5_000_000));
    let reply = call(&core, "POST", &path, &json, &tiny).await;
    let grown = core.peak_memory_kib().saturating_sub(before);
    assert!(
        grown < 300 * 1024,
        "the node grew by {grown} KiB for one request"
    );
    assert_refused(&reply, 400, "Client.BadRequest", "values the gateway reads");

    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let reply = call(&core, "POST", &path, &json, &deep).await;
    assert_refused(&reply, 400, "Client.BadRequest", "nested deeper");
    let broken = call(&core, "POST", &path, &json, r#"{"note": }"#).await;
    assert_refused(&broken, 400, "Client.BadRequest", "line 1 column");
}
