//! Finding 1, 2 and 8 of issue 11: a hostile provider's system lies about types, answers errors
//! and redirects full of personal data, sets cookies and personal headers, and gzips (or bombs)
//! its answers. On one node and across two, nothing of it beyond the agreement reaches a consumer.

use std::io::{Read, Write};
use std::path::Path;

use axum::Router;
use axum::body::Body;
use axum::http::{Response, Uri};
use axum::routing::any;
use serde_json::{Value, json};

use crate::common::appliance::Appliance;
use crate::common::federation::{Federation, UNGRANTED_RNOKPP, serve_on_loopback};
use crate::common::xroad::{Reply, call, logged_exchanges, start, wait_for_peer_listener};

/// Personal data the hostile upstream slips in; it must never reach a consumer.
const PERSONAL: &str = "PERSONAL-SECRET-Ivanenko";

/// Every hostile answer, named by the path segment that asks for it.
const CASES: &[&str] = &[
    "lying",
    "error",
    "error-html",
    "problem",
    "redirect-absolute",
    "redirect-outside",
    "redirect-inside",
    "headers",
    "gzip",
    "bomb",
];

/// A number beyond 2^64 that must keep its digits.
const HUGE: &str = "123456789012345678901234567890.01";

/// The hostile provider's answer to `path`.
fn hostile(path: &str) -> Response<Body> {
    let case = CASES
        .iter()
        .rev()
        .find(|c| path.split('/').any(|s| s == **c))
        .copied()
        .unwrap_or("lying");
    let json = "application/json";
    let answer = |status: u16, headers: &[(&str, &str)], body: Vec<u8>| {
        let mut builder = Response::builder().status(status);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(Body::from(body)).unwrap()
    };
    let lying = format!(
        r#"{{
            "full_name": {{"text": "Марія", "rnokpp": "{UNGRANTED_RNOKPP}", "note": "{PERSONAL}"}},
            "address": ["{PERSONAL}", {{"flat": "{PERSONAL}"}}],
            "registered_since": "2001-05-14",
            "holder_name": ["{PERSONAL}", {{"rnokpp": "{UNGRANTED_RNOKPP}"}}],
            "debt_uah": {HUGE},
            "balance_date": {{"day": "2026-11-01", "who": "{PERSONAL}"}},
            "holder_rnokpp": "{UNGRANTED_RNOKPP}"
        }}"#
    );
    let lying_address = format!(
        r#"{{"holder_name": "Іваненко Марія", "debt_uah": "12,50 {PERSONAL}",
            "balance_date": "2026-11-01",
            "address": {{"street": {{"name": "Центральна", "resident": "{PERSONAL}"}},
                        "building": 5, "apartment": "{PERSONAL}", "extra": {{"x": "{PERSONAL}"}}}}}}"#
    );
    let fine = format!(
        r#"{{"full_name": "Іваненко Марія", "address": "вул. Центральна, 5",
            "holder_name": "Іваненко Марія", "debt_uah": "120.50", "balance_date": "2026-11-01",
            "holder_rnokpp": "{UNGRANTED_RNOKPP}", "note": "{PERSONAL}"}}"#
    );
    match case {
        "lying" if path.contains("accounts") && path.contains("address") => {
            answer(200, &[("content-type", json)], lying_address.into_bytes())
        }
        "lying" => answer(200, &[("content-type", json)], lying.into_bytes()),
        "error" => answer(
            404,
            &[("content-type", json)],
            format!(
                r#"{{"type": "NotFound", "message": {{"text": "{PERSONAL}"}}, "detail": "no account",
                    "code": 4040, "holder_rnokpp": "{UNGRANTED_RNOKPP}",
                    "trace": {{"sql": "select * where rnokpp = {UNGRANTED_RNOKPP}"}}}}"#
            )
            .into_bytes(),
        ),
        "error-html" => answer(
            500,
            &[("content-type", "text/html")],
            format!("<html>{PERSONAL} {UNGRANTED_RNOKPP}</html>").into_bytes(),
        ),
        "problem" => answer(
            409,
            &[("content-type", "application/problem+json")],
            format!(r#"{{"type": "Conflict", "message": "busy", "detail": "retry", "who": "{PERSONAL}"}}"#)
                .into_bytes(),
        ),
        "redirect-absolute" => answer(
            302,
            &[(
                "location",
                &format!("https://evil.example/steal?rnokpp={UNGRANTED_RNOKPP}&who={PERSONAL}"),
            )],
            format!("Moved to https://evil.example/steal?rnokpp={UNGRANTED_RNOKPP}").into_bytes(),
        ),
        "redirect-outside" => answer(
            307,
            &[(
                "location",
                &format!("/admin/export?rnokpp={UNGRANTED_RNOKPP}&who={PERSONAL}"),
            )],
            Vec::new(),
        ),
        "redirect-inside" => answer(
            302,
            &[(
                "location",
                &format!(
                    "{}?as_of=2026-11-01&rnokpp={UNGRANTED_RNOKPP}#{PERSONAL}",
                    path.replace("redirect-inside", "elsewhere")
                ),
            )],
            format!(r#"{{"message": "moved", "who": "{PERSONAL}"}}"#).into_bytes(),
        ),
        "headers" => answer(
            200,
            &[
                ("content-type", "application/json; charset=utf-8"),
                ("set-cookie", &format!("session={UNGRANTED_RNOKPP}; HttpOnly")),
                ("x-holder-rnokpp", UNGRANTED_RNOKPP),
                ("x-debug", PERSONAL),
                ("x-total-count", "1"),
                ("etag", &format!("\"{UNGRANTED_RNOKPP}\"")),
                ("cache-control", "no-store"),
                ("content-language", "uk"),
            ],
            fine.into_bytes(),
        ),
        "gzip" => answer(
            200,
            &[("content-type", json), ("content-encoding", "gzip")],
            gzip(fine.as_bytes()),
        ),
        "bomb" => {
            let mut huge = br#"{"holder_name": ""#.to_vec();
            huge.extend(std::iter::repeat_n(b'a', 20 * 1024 * 1024));
            huge.extend(br#""}"#);
            answer(
                200,
                &[("content-type", json), ("content-encoding", "gzip")],
                gzip(&huge),
            )
        }
        _ => unreachable!(),
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn gunzip(data: &[u8]) -> String {
    let mut out = String::new();
    flate2::read::GzDecoder::new(data)
        .read_to_string(&mut out)
        .unwrap();
    out
}

/// Starts the hostile upstream on a free loopback port and returns its port.
async fn serve_hostile() -> u16 {
    serve_on_loopback(Router::new().fallback(any(|uri: Uri| async move { hostile(uri.path()) })))
        .await
}

/// Points the `upstream` of the service in `file` at the hostile server, keeping its base path.
pub(crate) fn point_upstream(fed: &Federation, file: &str, port: u16) {
    let path = fed.root.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let pattern = regex::Regex::new(r#"upstream "http://127\.0\.0\.1:\d+/"#).unwrap();
    assert!(pattern.is_match(&text), "{file} has no loopback upstream");
    let text = pattern.replace(&text, format!(r#"upstream "http://127.0.0.1:{port}/"#));
    std::fs::write(&path, text.as_ref()).unwrap();
}

/// Everything the consumer received, as one text: status, every header, the body (decoded).
fn received(reply: &Reply) -> String {
    let mut text = format!("{}\n", reply.status);
    for (name, value) in &reply.headers {
        text.push_str(&format!(
            "{name}: {}\n",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    text + &reply.body
}

pub(crate) fn assert_nothing_personal(case: &str, reply: &Reply) {
    let text = received(reply);
    for personal in [PERSONAL, UNGRANTED_RNOKPP, "evil.example", "admin"] {
        assert!(
            !text.contains(personal),
            "`{personal}` reached the consumer in the `{case}` answer:\n{text}"
        );
    }
}

/// Calls every hostile case through `node` at `path(case)` as `client`; returns the replies.
async fn call_all(
    node: &Appliance,
    path: impl Fn(&str) -> String,
    client: &str,
) -> Vec<(&'static str, Reply)> {
    let mut replies = Vec::new();
    for case in CASES {
        let id = format!("msg-{case}");
        let reply = call(
            node,
            "GET",
            &path(case),
            &[("X-Road-Client", client), ("X-Road-Id", &id)],
            "",
        )
        .await;
        assert_nothing_personal(case, &reply);
        assert!(
            reply.header("content-encoding").is_none(),
            "`{case}`: a consumer that accepts no coding got one"
        );
        replies.push((*case, reply));
    }
    replies
}

fn reply<'r>(replies: &'r [(&str, Reply)], case: &str) -> &'r Reply {
    &replies.iter().find(|(c, _)| *c == case).unwrap().1
}

/// The assertions both topologies share; `prefix` is the service's `/r1/…` path.
fn assert_released(replies: &[(&str, Reply)], prefix: &str) {
    let r = reply(replies, "error-html");
    assert_eq!(
        (r.status, r.body.as_str()),
        (500, ""),
        "a non-JSON error body is dropped"
    );
    assert!(r.header("content-type").is_none() && r.error_type().is_none());

    let r = reply(replies, "problem");
    assert_eq!(r.status, 409);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert_eq!(r.json()["type"], "Conflict");

    for case in ["redirect-absolute", "redirect-outside"] {
        let r = reply(replies, case);
        assert_eq!(r.status, 502, "{case}: {}", r.body);
        assert_eq!(r.error_type(), Some("Server.ServerProxy.ServiceFailed"));
        assert!(r.header("location").is_none());
        assert!(r.json()["message"].as_str().unwrap().contains("redirect"));
    }

    let r = reply(replies, "redirect-inside");
    assert_eq!(r.status, 302, "{}", r.body);
    let location = r.header("location").unwrap();
    assert!(
        location.starts_with(prefix) && location.contains("/elsewhere"),
        "{location}"
    );
    assert!(!location.contains('#'));

    let r = reply(replies, "headers");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8"),
        "the provider's Content-Type passes as sent"
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("content-language"), Some("uk"));
    for dropped in ["set-cookie", "x-holder-rnokpp", "x-debug", "etag"] {
        assert!(r.header(dropped).is_none(), "{dropped} passed");
    }

    let r = reply(replies, "gzip");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));

    let r = reply(replies, "bomb");
    assert_eq!(r.status, 502, "{}", r.body);
    assert_eq!(r.error_type(), Some("Server.ServerProxy.ServiceFailed"));
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("once decoded")
    );
}

/// The subject uses the provider's node recorded for `subject`, by message id.
async fn usage(node: &Appliance, subject: &str) -> Vec<Value> {
    let reply = crate::common::xroad::http()
        .get(format!("{}/api/subjects/{subject}/usage", node.url))
        .bearer_auth("projection-token")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let page: Value = reply.json().await.unwrap();
    page["usage"].as_array().cloned().unwrap_or_default()
}

fn token(dir: &Path) -> String {
    let file = dir.join("token");
    std::fs::write(&file, "projection-token\n").unwrap();
    file.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_one_node_a_hostile_provider_releases_only_declared_typed_fields_errors_and_headers() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let port = serve_hostile().await;
    point_upstream(&fed, "spec/council.kdl", port);
    // The residents service declares its error shape and one more header that may pass.
    fed.edit(
        "spec/council.kdl",
        "        response {\n",
        "        error-response {\n            field \"type\" type=\"string\"\n            field \"code\" type=\"integer\"\n        }\n        response {\n            headers \"X-Total-Count\"\n",
    );
    let data = dir.path().join("core");
    let token = token(dir.path());
    let core = start(
        &fed,
        &data,
        "gw-core",
        &["--max-body", "1048576", "--api-token-file", &token],
    );
    let client = fed.registry_client();
    let replies = call_all(
        &core,
        |case| fed.residents_path(&format!("/persons/{case}")),
        &client,
    )
    .await;
    assert_released(&replies, &fed.residents_path("/persons/"));

    let r = reply(&replies, "lying");
    assert_eq!(r.status, 200, "{}\n{}", r.body, core.log());
    assert_eq!(r.json(), json!({"full_name": null, "address": null}));
    // The declared error shape, typed: `message` and `detail` are not in it.
    let r = reply(&replies, "error");
    assert_eq!(
        (r.status, r.json()),
        (404, json!({"type": "NotFound", "code": 4040}))
    );
    assert_eq!(
        reply(&replies, "problem").json(),
        json!({"type": "Conflict"})
    );
    assert_eq!(
        reply(&replies, "headers").header("x-total-count"),
        Some("1"),
        "a declared header passes"
    );
    let location = reply(&replies, "redirect-inside")
        .header("location")
        .unwrap();
    assert!(
        location.ends_with("/persons/elsewhere"),
        "the agreement allows no parameter: {location}"
    );

    // A consumer that accepts gzip gets the projected answer gzipped, the rest never.
    let r = crate::common::xroad::http()
        .get(format!(
            "{}{}",
            core.url,
            fed.residents_path("/persons/gzip")
        ))
        .header("X-Road-Client", &client)
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers().get("content-encoding").unwrap(), "gzip");
    let body = gunzip(&r.bytes().await.unwrap());
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"full_name": "Іваненко Марія", "address": "вул. Центральна, 5"})
    );

    // The lie is a provider fault: logged, counted with closed-set labels, named in the log.
    let entry = &logged_exchanges(&data, "msg-lying").await[0];
    assert_eq!(entry.fault.map(|f| f.as_str()), Some("mistyped-field"));
    assert!(!entry.succeeded());
    let metrics = core.get("/metrics").1;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("hromada_gateway_provider_faults_total{")
                && l.contains("fault=\"mistyped-field\"")
                && l.contains("service=\"council/residents\"")),
        "{metrics}"
    );
    let operational: Value = crate::common::xroad::http()
        .get(format!("{}/api/operational?limit=100", core.url))
        .bearer_auth("projection-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let record = operational["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["messageId"] == "msg-lying")
        .unwrap();
    assert_eq!(
        (&record["faultCode"], &record["succeeded"]),
        (&json!("mistyped-field"), &json!(false))
    );
    assert!(
        core.log()
            .contains("not of their declared type (address, full_name)")
    );
    assert!(!core.log().contains(PERSONAL));

    // What reached the consumer about a person is in their record, error answers included.
    let error = usage(&core, "error").await;
    assert_eq!(error.len(), 1, "{error:?}");
    assert_eq!(error[0]["fields"], json!(["type", "code"]));
    assert_eq!(
        usage(&core, "redirect-inside").await[0]["fields"],
        json!(["Location"])
    );
    assert_eq!(usage(&core, "lying").await.len(), 1);
    assert!(
        usage(&core, "redirect-outside").await.is_empty(),
        "a refused redirect released nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_two_nodes_a_hostile_provider_releases_only_the_agreement() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let port = serve_hostile().await;
    point_upstream(&fed, "spec/vodokanal.kdl", port);
    let token = token(dir.path());
    let vodokanal_data = dir.path().join("vodokanal");
    let vodokanal = start(
        &fed,
        &vodokanal_data,
        "gw-vodokanal",
        &["--max-body", "1048576", "--api-token-file", &token],
    );
    wait_for_peer_listener(&vodokanal);
    let core = start(&fed, &dir.path().join("core"), "gw-core", &[]);
    let client = fed.registry_client();
    let replies = call_all(
        &core,
        |case| fed.balance_path(&format!("/accounts/{case}/balance")),
        &client,
    )
    .await;
    assert_released(&replies, &fed.balance_path("/accounts/"));

    let r = reply(&replies, "lying");
    assert_eq!(r.status, 200, "{}\n{}", r.body, vodokanal.log());
    assert_eq!(
        r.body,
        format!(r#"{{"address":null,"holder_name":null,"debt_uah":{HUGE},"balance_date":null}}"#),
        "a number beyond 2^64 keeps its digits"
    );
    let r = call(
        &core,
        "GET",
        &fed.balance_path("/accounts/lying-address/balance"),
        &[("X-Road-Client", &client)],
        "",
    )
    .await;
    assert_nothing_personal("lying-address", &r);
    assert_eq!(
        r.json(),
        json!({"holder_name": "Іваненко Марія", "debt_uah": null, "balance_date": "2026-11-01",
               "address": {"street": null, "building": null}})
    );
    // The default error shape: the X-Road error fields as strings, nothing else.
    let r = reply(&replies, "error");
    assert_eq!(
        (r.status, r.json()),
        (
            404,
            json!({"type": "NotFound", "message": null, "detail": "no account"})
        )
    );
    assert!(
        r.error_type().is_none(),
        "the provider's own error is not the gateway's"
    );
    assert_eq!(
        reply(&replies, "problem").json(),
        json!({"type": "Conflict", "message": "busy", "detail": "retry"})
    );
    let location = reply(&replies, "redirect-inside")
        .header("location")
        .unwrap();
    assert!(
        location.ends_with("/accounts/elsewhere/balance?as_of=2026-11-01"),
        "only the agreed parameter stays: {location}"
    );

    // gzip travels between the nodes as the consumer accepted it, sealed, and decodes.
    let r = crate::common::xroad::http()
        .get(format!(
            "{}{}",
            core.url,
            fed.balance_path("/accounts/gzip/balance")
        ))
        .header("X-Road-Client", &client)
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get("content-encoding").unwrap(), "gzip");
    let body = gunzip(&r.bytes().await.unwrap());
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"address": null, "holder_name": "Іваненко Марія", "debt_uah": "120.50",
               "balance_date": "2026-11-01"})
    );

    let entry = &logged_exchanges(&vodokanal_data, "msg-lying").await[0];
    assert_eq!(entry.fault.map(|f| f.as_str()), Some("mistyped-field"));
    let error = usage(&vodokanal, "error").await;
    assert_eq!(error.len(), 1, "{error:?}");
    assert_eq!(error[0]["fields"], json!(["type", "message", "detail"]));
    assert_eq!(error[0]["messageId"], "msg-error");
}
