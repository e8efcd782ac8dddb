//! The gateway end to end: real `hromada serve` processes of `examples/federation` on loopback,
//! real upstream HTTP servers, X-Road REST calls from a consumer's system. Covers local calls,
//! two nodes over mutual TLS with seals, minimisation, every refusal, and the metaservices.

mod common;

use std::time::{Duration, Instant};

use common::federation::{Federation, UNGRANTED_NOTE, UNGRANTED_RNOKPP};
use common::xroad::*;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_call_is_answered_with_exactly_the_granted_fields_and_the_x_road_headers() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let core = start(&fed, &dir.path().join("core"), "gw-core", &[]);

    let reply = call(
        &core,
        "GET",
        &fed.residents_path("/persons/2900000001"),
        &[
            ("X-Road-Client", &fed.registry_client()),
            ("X-Road-Id", "msg-1"),
            ("X-Road-UserId", "UA2900000001"),
        ],
        "",
    )
    .await;
    assert_eq!(reply.status, 200, "{}\n{}", reply.body, core.log());
    let body = reply.json();
    assert_eq!(
        body,
        serde_json::json!({"full_name": "Іваненко Марія Петрівна", "address": "с. Щасливе, вул. Центральна, 5, кв. 12"})
    );
    assert!(!reply.body.contains(UNGRANTED_NOTE) && !reply.body.contains("registered_since"));
    assert_eq!(reply.header("x-road-id"), Some("msg-1"));
    assert_eq!(
        reply.header("x-road-client"),
        Some(fed.registry_client().as_str())
    );
    assert_eq!(
        reply.header("x-road-service"),
        Some(format!("{}/GOV/04363395/registry/residents", fed.instance).as_str())
    );
    assert!(
        reply
            .header("x-road-request-id")
            .is_some_and(|v| v.len() == 36)
    );
    assert!(
        reply
            .header("x-road-request-hash")
            .is_some_and(|v| v.len() == 88),
        "base64 SHA-512"
    );
    assert!(reply.header("x-road-error").is_none());

    let seen = fed.upstream.seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        seen.get("x-road-client").unwrap(),
        fed.registry_client().as_str()
    );
    assert_eq!(seen.get("x-road-id").unwrap(), "msg-1");
    assert!(
        seen.get("user-agent").is_none(),
        "User-Agent is not forwarded"
    );

    let metrics = core.get("/metrics").1;
    assert!(
        metrics.contains("hromada_gateway_requests_total{"),
        "{metrics}"
    );
    assert!(!metrics.contains("2900000001"), "no subject id in metrics");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_name_what_is_wrong_in_the_x_road_error_format() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    fed.edit(
        "spec/agreements.kdl",
        "    operation \"GET\" \"/persons/*\"\n",
        "    operation \"GET\" \"/persons/*\"\n    rate-limit 3 per=\"minute\"\n",
    );
    let core = start(
        &fed,
        &dir.path().join("core"),
        "gw-core",
        &["--max-body", "2048"],
    );
    let registry = fed.registry_client();
    let portal = format!("{}/GOV/04363395/portal", fed.instance);

    let r = get(&core, &fed.residents_path("/persons/1"), &portal).await;
    assert_refused(
        &r,
        403,
        "Server.ServerProxy.AccessDenied",
        "no agreement grants `council/portal`",
    );

    let r = get(&core, &fed.residents_path("/persons/1/history"), &registry).await;
    assert_refused(&r, 403, "Server.ServerProxy.AccessDenied", "GET /persons/*");

    let r = call(
        &core,
        "DELETE",
        &fed.residents_path("/persons/1"),
        &[("X-Road-Client", &registry)],
        "",
    )
    .await;
    assert_refused(&r, 403, "Server.ServerProxy.AccessDenied", "DELETE");

    let r = get(
        &core,
        &fed.residents_path("/persons/1?with_income=1&as_of=x"),
        &registry,
    )
    .await;
    assert_refused(
        &r,
        403,
        "Server.ServerProxy.AccessDenied",
        "`as_of`, `with_income`",
    );

    let r = get(
        &core,
        &fed.residents_path("/persons/1"),
        "hromada-federation/GOV",
    )
    .await;
    assert_refused(&r, 400, "Client.InvalidClientIdentifier", "needs 3 or 4");
    // The member itself may call, but no agreement names the council as a whole.
    let r = get(
        &core,
        &fed.residents_path("/persons/1"),
        "hromada-federation/GOV/04363395",
    )
    .await;
    assert_refused(
        &r,
        403,
        "Server.ServerProxy.AccessDenied",
        "no agreement grants `council`",
    );

    let r = call(&core, "GET", &fed.residents_path("/persons/1"), &[], "").await;
    assert_refused(&r, 400, "Client.MissingHeader", "X-Road-Client");

    for traversal in [
        "/persons/../../admin",
        "/persons/%2e%2e/admin",
        "/persons/a%2Fb",
        "/persons/%2E%2e/%2e%2E/admin",
        "/persons//1",
    ] {
        let raw = raw_get(&core, &fed.residents_path(traversal), &registry).await;
        assert!(
            raw.starts_with("HTTP/1.1 400") && raw.contains("Client.BadRequest"),
            "{traversal}: {raw}"
        );
    }

    let r = get(
        &core,
        &format!("/r1/{}/GOV/04363395/registry/no-such-service", fed.instance),
        &registry,
    )
    .await;
    assert_refused(
        &r,
        404,
        "Server.ServerProxy.UnknownService",
        "no-such-service",
    );

    let big = format!("{{\"a\":\"{}\"}}", "x".repeat(4096));
    let r = call(
        &core,
        "POST",
        &fed.residents_path("/persons/1"),
        &[
            ("X-Road-Client", &registry),
            ("Content-Type", "application/json"),
        ],
        &big,
    )
    .await;
    assert_refused(&r, 413, "Client.RequestTooLarge", "2048");

    let r = call(
        &core,
        "GET",
        &fed.residents_path("/persons/1"),
        &[
            ("X-Road-Client", &registry),
            ("Content-Type", "application/json"),
        ],
        r#"{"income": 1}"#,
    )
    .await;
    assert_refused(&r, 403, "Server.ServerProxy.AccessDenied", "`income`");

    assert_eq!(
        fed.upstream.seen.lock().unwrap().len(),
        0,
        "no refused call reached the upstream"
    );

    // The provider's system is down: an X-Road error at once, not a hang.
    let before = core.applied();
    let closed = common::federation::free_port();
    let register = std::fs::read_to_string(fed.root.join("spec/council.kdl")).unwrap();
    let upstream = register
        .lines()
        .find(|l| l.contains("upstream"))
        .unwrap()
        .trim()
        .to_string();
    fed.edit(
        "spec/council.kdl",
        &upstream,
        &format!("upstream \"http://127.0.0.1:{closed}/register\""),
    );
    core.wait_for("the moved upstream", |s| {
        s["applied"]["revision"].as_str() != Some(before.as_str())
    });
    let r = get(&core, &fed.residents_path("/persons/2"), &registry).await;
    assert_refused(
        &r,
        504,
        "Server.ServerProxy.NetworkError",
        "cannot be reached",
    );
    assert!(
        !r.body.contains(&closed.to_string()),
        "the upstream's address is not revealed"
    );
    // The agreement allows three calls a minute (the one above was the first): the fourth waits.
    for _ in 0..2 {
        get(&core, &fed.residents_path("/persons/1"), &registry).await;
    }
    let r = get(&core, &fed.residents_path("/persons/1"), &registry).await;
    assert_refused(&r, 429, "Client.TooManyRequests", "3 requests per minute");
    assert!(
        r.header("retry-after")
            .is_some_and(|s| s.parse::<u64>().unwrap() >= 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metaservices_list_clients_methods_and_only_what_the_caller_may_call() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let core = start(&fed, &dir.path().join("core"), "gw-core", &[]);
    let registry = fed.registry_client();
    let portal = format!("{}/GOV/04363395/portal", fed.instance);

    let listed = call(
        &core,
        "GET",
        "/listClients",
        &[("Accept", "application/json")],
        "",
    )
    .await;
    assert_eq!(listed.status, 200);
    let clients = listed.json();
    let subsystems: Vec<&str> = clients["member"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["id"]["subsystem_code"].as_str())
        .collect();
    assert_eq!(subsystems, ["portal", "registry", "billing", "registry"]);

    let path = format!("/r1/{}/COM/35418773/billing/listMethods", fed.instance);
    let listed = get(&core, &path, &portal).await.json();
    assert_eq!(listed["service"][0]["service_code"], "balance");
    assert_eq!(
        listed["service"][0]["endpoint_list"][0]["path"],
        "/accounts/*/balance"
    );

    let path = format!("/r1/{}/COM/35418773/billing/allowedMethods", fed.instance);
    assert_eq!(
        get(&core, &path, &portal).await.json()["service"],
        serde_json::json!([])
    );
    let allowed = get(&core, &path, &registry).await.json();
    assert_eq!(allowed["service"][0]["service_code"], "balance");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_exchange_over_mutual_tls_with_seals_and_minimised_answers() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let vodokanal = start(
        &fed,
        &dir.path().join("vodokanal"),
        "gw-vodokanal",
        &["--upstream-timeout", "2s"],
    );
    wait_for_peer_listener(&vodokanal);
    let core = start(&fed, &dir.path().join("core"), "gw-core", &[]);
    let registry = fed.registry_client();

    let r = call(
        &core,
        "GET",
        &fed.balance_path("/accounts/120045/balance?as_of=2026-11-01"),
        &[
            ("X-Road-Client", &registry),
            ("X-Road-UserId", "UA3012345678"),
        ],
        "",
    )
    .await;
    assert_eq!(
        r.status,
        200,
        "{}\ncore:\n{}\nvodokanal:\n{}",
        r.body,
        core.log(),
        vodokanal.log()
    );
    assert_eq!(
        r.json(),
        serde_json::json!({
            "holder_name": "Іваненко Марія Петрівна",
            "address": {"street": "вул. Центральна", "building": "5"},
            "debt_uah": "0.00",
            "balance_date": "2026-11-01",
        })
    );
    for leaked in [UNGRANTED_RNOKPP, UNGRANTED_NOTE, "apartment", "120045"] {
        assert!(
            !r.body.contains(leaked),
            "`{leaked}` reached the consumer: {}",
            r.body
        );
    }
    let seen = fed.upstream.seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(seen.get("x-road-client").unwrap(), registry.as_str());
    assert_eq!(seen.get("x-road-userid").unwrap(), "UA3012345678");
    assert!(
        seen.keys().all(|k| !k.as_str().starts_with("x-hromada-")),
        "seals stay between gateways"
    );

    // The provider's own errors pass cut to the X-Road error fields (this one has none of
    // them); redirects inside the agreement are passed on the gateway's path, not followed.
    let r = get(
        &core,
        &fed.balance_path("/accounts/missing/balance"),
        &registry,
    )
    .await;
    assert_eq!((r.status, r.body.as_str()), (404, "{}"));
    assert!(r.error_type().is_none());
    let r = get(
        &core,
        &fed.balance_path("/accounts/moved/balance"),
        &registry,
    )
    .await;
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some(fed.balance_path("/accounts/other/balance").as_str())
    );
    // A non-JSON answer cannot be projected, so it does not pass.
    let r = get(&core, &fed.balance_path("/accounts/pdf/balance"), &registry).await;
    assert_refused(&r, 502, "Server.ServerProxy.ServiceFailed", "non-JSON");
    assert!(!r.body.contains("secret"));
    // A slow upstream gives an X-Road error, not a hang.
    let started = Instant::now();
    let r = get(
        &core,
        &fed.balance_path("/accounts/slow/balance"),
        &registry,
    )
    .await;
    assert_refused(
        &r,
        504,
        "Server.ServerProxy.ServiceTimeout",
        "did not answer",
    );
    assert!(started.elapsed() < Duration::from_secs(15));

    // A suspended participant is refused at once, on both nodes.
    let before = [core.applied(), vodokanal.applied()];
    fed.edit(
        "spec/vodokanal.kdl",
        "    class \"COM\"\n",
        "    class \"COM\"\n    status \"suspended\"\n",
    );
    for (node, before) in [&core, &vodokanal].into_iter().zip(before) {
        node.wait_for("the suspension applied", |s| {
            s["applied"]["revision"].as_str() != Some(before.as_str())
        });
    }
    let r = get(
        &core,
        &fed.balance_path("/accounts/120045/balance"),
        &registry,
    )
    .await;
    assert_refused(&r, 403, "Server.ServerProxy.AccessDenied", "suspended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_agreement_and_an_unreachable_node_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    fed.edit(
        "spec/agreements.kdl",
        "valid from=\"2026-01-01\" until=\"2030-12-31\"",
        "valid from=\"2020-01-01\" until=\"2021-12-31\"",
    );
    let core = start(&fed, &dir.path().join("core"), "gw-core", &[]);
    let registry = fed.registry_client();
    let r = get(&core, &fed.balance_path("/accounts/1/balance"), &registry).await;
    assert_refused(&r, 403, "Server.ServerProxy.AccessDenied", "not in force");

    let before = core.applied();
    fed.edit(
        "spec/agreements.kdl",
        "valid from=\"2020-01-01\" until=\"2021-12-31\"",
        "valid from=\"2026-01-01\" until=\"2030-12-31\"",
    );
    core.wait_for("the renewed agreement", |s| {
        s["applied"]["revision"].as_str() != Some(before.as_str())
    });
    // The provider's node is not running.
    let r = get(&core, &fed.balance_path("/accounts/1/balance"), &registry).await;
    assert_refused(&r, 502, "Server.ClientProxy.NetworkError", "gw-vodokanal");
}

/// The message log entries of `message_id` in the store under `data`.
async fn logged(data: &std::path::Path, message_id: &str) -> Vec<hromada::store::Exchange> {
    let store =
        hromada::store::Store::connect(&format!("sqlite://{}", data.join("hromada.db").display()))
            .await
            .unwrap();
    let records = store.message_by_id(message_id).await.unwrap();
    store.close().await;
    records.iter().map(|r| r.exchange().unwrap()).collect()
}

fn audit_verify(data: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_hromada"))
        .args(["audit", "verify", "--data-dir"])
        .arg(data)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_nodes_log_the_sealed_exchange_and_the_subject_sees_who_asked() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret-token\n").unwrap();
    let (core_data, vodokanal_data) = (dir.path().join("core"), dir.path().join("vodokanal"));
    let vodokanal = start(
        &fed,
        &vodokanal_data,
        "gw-vodokanal",
        &["--api-token-file", token.to_str().unwrap()],
    );
    wait_for_peer_listener(&vodokanal);
    let core = start(&fed, &core_data, "gw-core", &[]);

    let r = call(
        &core,
        "GET",
        &fed.balance_path("/accounts/120045/balance"),
        &[
            ("X-Road-Client", &fed.registry_client()),
            ("X-Road-Id", "msg-fed-1"),
            ("X-Road-UserId", "UA-official-7"),
        ],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let consumer_side = logged(&core_data, "msg-fed-1").await;
    let provider_side = logged(&vodokanal_data, "msg-fed-1").await;
    assert_eq!((consumer_side.len(), provider_side.len()), (1, 1));
    for (entry, side) in [
        (&consumer_side[0], "client"),
        (&provider_side[0], "producer"),
    ] {
        assert_eq!(entry.side.as_str(), side);
        assert_eq!(entry.status, 200);
        assert_eq!(
            entry.agreement.as_deref(),
            Some("registry-reads-water-balance")
        );
        assert_eq!(entry.operation.as_deref(), Some("/accounts/*/balance"));
        assert!(
            entry.request_seal.is_some() && entry.response_seal.is_some(),
            "{side} keeps both seals"
        );
        assert!(
            entry.request_in <= entry.request_out
                && entry.request_out <= entry.response_in
                && entry.response_in <= entry.response_out
        );
        let body = String::from_utf8(
            entry
                .response_body
                .clone()
                .expect("the retention schedule keeps bodies")
                .to_vec(),
        )
        .unwrap();
        assert_eq!(body, r.body, "{side} logs the answer as sent on");
        for leaked in [UNGRANTED_RNOKPP, UNGRANTED_NOTE, "apartment"] {
            assert!(
                !entry.log_entry().contains(leaked),
                "`{leaked}` is in the {side}-side log"
            );
        }
    }
    assert_eq!(consumer_side[0].request_seal, provider_side[0].request_seal);
    assert_eq!(
        consumer_side[0].response_seal,
        provider_side[0].response_seal
    );
    for node in [&core, &vodokanal] {
        let metrics = node.get("/metrics").1;
        for leaked in [UNGRANTED_RNOKPP, UNGRANTED_NOTE, "120045", "UA-official-7"] {
            assert!(!metrics.contains(leaked), "`{leaked}` is in a metric");
        }
    }

    // The subject (account 120045) is told who received what, when and why; never the data.
    let usage = http()
        .get(format!("{}/api/subjects/120045/usage", vodokanal.url))
        .bearer_auth("s3cret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(usage.status(), 200);
    let usage: Value = usage.json().await.unwrap();
    let first = &usage["usage"][0];
    assert_eq!(usage["total"], 1, "{usage}");
    assert_eq!(first["receiverCode"], "04363395");
    assert_eq!(first["receiverSystem"], "council/registry");
    assert_eq!(first["action"], "GET /accounts/*/balance");
    assert_eq!(first["agreement"], "registry-reads-water-balance");
    assert!(
        first["purpose"]
            .as_str()
            .unwrap()
            .contains("водопостачання")
    );
    assert_eq!(first["fields"][0], "holder_name");
    assert!(
        !usage.to_string().contains("Іваненко"),
        "the data itself is never in the subject's record"
    );
    let unauthorised = http()
        .get(format!("{}/api/subjects/120045/usage", vodokanal.url))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorised.status(), 401);

    assert!(vodokanal.stop().success());
    assert!(core.stop().success());
    for data in [&core_data, &vodokanal_data] {
        let verified = audit_verify(data);
        assert!(
            verified.status.success(),
            "{}",
            String::from_utf8_lossy(&verified.stdout)
        );
    }
}

/// A client for the provider node's peer listener, presenting `cert` and `key`.
fn peer_client(fed: &Federation, cert: &[u8], key: &[u8]) -> reqwest::Client {
    use hromada::gateway::peer_tls::{NodeIdentity, client_config};
    let anchor = hromada::crypto::read_certificates(&fed.root.join("pki/ca.crt")).unwrap();
    let identity = NodeIdentity::from_pem(cert, key).unwrap();
    reqwest::Client::builder()
        .use_preconfigured_tls(client_config(&identity, &anchor).unwrap())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_node_refuses_missing_or_bad_seals_and_untrusted_tls_clients() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let vodokanal = start(&fed, &dir.path().join("vodokanal"), "gw-vodokanal", &[]);
    wait_for_peer_listener(&vodokanal);
    let url = format!(
        "https://127.0.0.1:{}{}",
        fed.vodokanal_peer,
        fed.balance_path("/accounts/1/balance")
    );
    let core_cert = std::fs::read(fed.root.join("pki/nodes/gw-core.crt")).unwrap();
    let core_key = std::fs::read(fed.root.join("dev-keys/nodes/gw-core.key")).unwrap();
    let as_core = peer_client(&fed, &core_cert, &core_key);

    let send = |seal: Option<&str>| {
        let mut request = as_core
            .get(&url)
            .header("X-Road-Client", fed.registry_client())
            .header("X-Road-Id", "m-1");
        if let Some(seal) = seal {
            request = request.header("x-hromada-request-seal", seal);
        }
        request.send()
    };
    for seal in [None, Some("not-a-seal"), Some("MEUCIQDx")] {
        let r = send(seal).await.unwrap();
        assert_eq!(r.status(), 400, "{seal:?}");
        assert_eq!(
            r.headers()["x-road-error"],
            "Server.ServerProxy.InvalidSignatureValue"
        );
    }
    // A seal by the right participant over another request does not pass either.
    let key = openssl::pkey::PKey::private_key_from_pem(
        &std::fs::read(fed.root.join("dev-keys/seals/council.key")).unwrap(),
    )
    .unwrap();
    let other =
        hromada::crypto::seal::seal(&key.ec_key().unwrap(), b"hromada-seal/1 request\nid:m-0\n")
            .unwrap();
    let r = send(Some(&other)).await.unwrap();
    assert_eq!(
        r.headers()["x-road-error"],
        "Server.ServerProxy.InvalidSignatureValue"
    );
    assert_eq!(
        fed.upstream.seen.lock().unwrap().len(),
        0,
        "nothing reached the upstream"
    );

    // The provider's own node certificate is trusted, but it does not serve the council.
    let own_cert = std::fs::read(fed.root.join("pki/nodes/gw-vodokanal.crt")).unwrap();
    let own_key = std::fs::read(fed.root.join("dev-keys/nodes/gw-vodokanal.key")).unwrap();
    let r = peer_client(&fed, &own_cert, &own_key)
        .get(&url)
        .header("X-Road-Client", fed.registry_client())
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["x-road-error"],
        "Server.ServerProxy.SslAuthenticationFailed"
    );

    // No client certificate, or one from another CA: no TLS session at all.
    let anchor =
        reqwest::Certificate::from_pem(&std::fs::read(fed.root.join("pki/ca.crt")).unwrap())
            .unwrap();
    let anonymous = reqwest::Client::builder()
        .add_root_certificate(anchor)
        .use_rustls_tls()
        .build()
        .unwrap();
    assert!(
        anonymous.get(&url).send().await.is_err(),
        "a client without a certificate is refused"
    );
    let other_ca = tempfile::tempdir().unwrap();
    let stranger = Federation::new(other_ca.path()).await;
    let stranger_cert = std::fs::read(stranger.root.join("pki/nodes/gw-core.crt")).unwrap();
    let stranger_key = std::fs::read(stranger.root.join("dev-keys/nodes/gw-core.key")).unwrap();
    let foreign = {
        use hromada::gateway::peer_tls::{NodeIdentity, client_config};
        let anchors = hromada::crypto::read_certificates(&fed.root.join("pki/ca.crt")).unwrap();
        let own_anchor =
            hromada::crypto::read_certificates(&stranger.root.join("pki/ca.crt")).unwrap();
        let identity = NodeIdentity::from_pem(&stranger_cert, &stranger_key).unwrap();
        // Trusts the provider's CA for the server, but presents a certificate of another CA.
        let mut all = anchors.clone();
        all.extend(own_anchor);
        reqwest::Client::builder()
            .use_preconfigured_tls(client_config(&identity, &all).unwrap())
            .build()
            .unwrap()
    };
    assert!(
        foreign.get(&url).send().await.is_err(),
        "a client of another CA is refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_crash_of_the_provider_node_every_answered_exchange_is_in_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let vodokanal_data = dir.path().join("vodokanal");
    let vodokanal = start(&fed, &vodokanal_data, "gw-vodokanal", &[]);
    wait_for_peer_listener(&vodokanal);
    let core = start(&fed, &dir.path().join("core"), "gw-core", &[]);

    let answered = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut load = Vec::new();
    for worker in 0..4 {
        let (answered, stop) = (answered.clone(), stop.clone());
        let url = format!(
            "{}{}",
            core.url,
            fed.balance_path("/accounts/120045/balance")
        );
        let client_id = fed.registry_client();
        load.push(tokio::spawn(async move {
            let http = http();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let id = format!("crash-{worker}-{n}");
                let sent = http
                    .get(&url)
                    .header("X-Road-Client", &client_id)
                    .header("X-Road-Id", &id)
                    .send()
                    .await;
                if let Ok(response) = sent
                    && response.status() == 200
                    && response
                        .text()
                        .await
                        .is_ok_and(|b| b.contains("holder_name"))
                {
                    answered.lock().unwrap().push(id);
                }
            }
        }));
    }
    let started = Instant::now();
    while answered.lock().unwrap().len() < 200 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    vodokanal.kill_hard();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    assert!(
        answered.len() >= 50,
        "the load got {} answers",
        answered.len()
    );

    let verified = audit_verify(&vodokanal_data);
    assert!(
        verified.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verified.stdout),
        String::from_utf8_lossy(&verified.stderr)
    );
    let restarted = start(&fed, &vodokanal_data, "gw-vodokanal", &[]);
    let store = hromada::store::Store::connect(&format!(
        "sqlite://{}",
        vodokanal_data.join("hromada.db").display()
    ))
    .await
    .unwrap();
    for id in &answered {
        let found = store.message_by_id(id).await.unwrap();
        assert_eq!(
            found.len(),
            1,
            "the answered exchange {id} is not in the provider's log"
        );
    }
    store.close().await;
    assert!(restarted.stop().success());
    let verified = audit_verify(&vodokanal_data);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_lets_the_exchange_in_flight_finish_and_both_nodes_log_it() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let vodokanal_data = dir.path().join("vodokanal");
    let core_data = dir.path().join("core");
    let vodokanal = start(&fed, &vodokanal_data, "gw-vodokanal", &[]);
    wait_for_peer_listener(&vodokanal);
    let core = start(&fed, &core_data, "gw-core", &[]);

    // The upstream takes 1.5 s; both nodes are told to stop while it works.
    let url = format!(
        "{}{}",
        core.url,
        fed.balance_path("/accounts/unhurried/balance")
    );
    let in_flight = http()
        .get(&url)
        .header("X-Road-Client", fed.registry_client())
        .header("X-Road-Id", "in-flight-1")
        .send();
    let in_flight = tokio::spawn(in_flight);
    let started = Instant::now();
    while fed.upstream.seen.lock().unwrap().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the call never reached the upstream"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stopping = tokio::task::spawn_blocking(move || (core.stop(), vodokanal.stop()));

    let answer = in_flight.await.unwrap().unwrap();
    assert_eq!(answer.status(), 200);
    let body = answer.text().await.unwrap();
    assert!(body.contains("holder_name"), "{body}");
    assert!(!body.contains(UNGRANTED_RNOKPP), "{body}");
    let (core_stopped, vodokanal_stopped) = stopping.await.unwrap();
    assert!(core_stopped.success(), "{core_stopped}");
    assert!(vodokanal_stopped.success(), "{vodokanal_stopped}");
    for data in [&core_data, &vodokanal_data] {
        let records = logged(data, "in-flight-1").await;
        assert_eq!(records.len(), 1, "{}", data.display());
        assert_eq!(records[0].status, 200);
        let verified = audit_verify(data);
        assert!(
            verified.status.success(),
            "{}",
            String::from_utf8_lossy(&verified.stdout)
        );
    }
}

/// A revision applied while both nodes serve reaches what runs beside the requests: the water
/// utility's node checks its service as the new revision says at once, and calls between the
/// nodes go on over the peer clients and the listener of the new revision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_revision_reaches_the_health_checks_and_the_calls_between_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let vodokanal = start(&fed, &dir.path().join("vodokanal"), "gw-vodokanal", &[]);
    wait_for_peer_listener(&vodokanal);
    let core = start(&fed, &dir.path().join("core"), "gw-core", &[]);
    let registry = fed.registry_client();
    let balance = fed.balance_path("/accounts/120045/balance");
    let r = get(&core, &balance, &registry).await;
    assert_eq!(r.status, 200, "{}\n{}", r.body, core.log());

    let before = [core.applied(), vodokanal.applied()];
    fed.edit(
        "spec/vodokanal.kdl",
        r#"health path="/health" every="30s""#,
        r#"health path="/gone" every="1s""#,
    );
    for (node, before) in [&core, &vodokanal].into_iter().zip(before) {
        node.wait_for("the changed health check applied", |s| {
            s["applied"]["revision"].as_str() != Some(before.as_str())
        });
    }
    // Only the new revision's check asks for a path the upstream does not serve.
    let started = Instant::now();
    loop {
        let (code, body) = vodokanal.get("/api/catalogue");
        assert_eq!(code, 200, "{body}");
        let catalogue: Value = serde_json::from_str(&body).unwrap();
        let health = catalogue["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["reference"] == "vodokanal/balance")
            .map(|s| s["health"].clone())
            .unwrap_or_else(|| panic!("no vodokanal/balance in {catalogue:#}"));
        if health["state"] == "down" {
            assert_eq!(health["every_ms"], 1000);
            assert_eq!(health["status_code"], 404);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the new revision's health check did not run: {health:#}\n{}",
            vodokanal.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let r = get(&core, &balance, &registry).await;
    assert_eq!(
        r.status,
        200,
        "{}\ncore:\n{}\nvodokanal:\n{}",
        r.body,
        core.log(),
        vodokanal.log()
    );
    assert_eq!(r.json()["debt_uah"], "0.00");
}

/// A new TLS certificate for the provider's node, applied while both nodes serve: its listener
/// presents it from then on, and the consumer's node, which accepts only the certificate the
/// applied revision gives that node, calls it with a client made for the new revision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_node_certificate_is_served_and_trusted_once_its_revision_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let vodokanal = start(&fed, &dir.path().join("vodokanal"), "gw-vodokanal", &[]);
    wait_for_peer_listener(&vodokanal);
    let core = start(&fed, &dir.path().join("core"), "gw-core", &[]);
    let registry = fed.registry_client();
    let balance = fed.balance_path("/accounts/120045/balance");
    let r = get(&core, &balance, &registry).await;
    assert_eq!(r.status, 200, "{}\n{}", r.body, core.log());

    let before = [core.applied(), vodokanal.applied()];
    let cert = fed.root.join("pki/nodes/gw-vodokanal.crt");
    let old = std::fs::read(&cert).unwrap();
    std::fs::remove_file(&cert).unwrap();
    let made = std::process::Command::new(env!("CARGO_BIN_EXE_hromada"))
        .args(["keys", "dev"])
        .arg(&fed.root)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    assert_ne!(std::fs::read(&cert).unwrap(), old, "a new certificate");
    for (node, before) in [&core, &vodokanal].into_iter().zip(before) {
        node.wait_for("the renewed certificate applied", |s| {
            s["applied"]["revision"].as_str() != Some(before.as_str())
        });
    }

    let r = get(&core, &balance, &registry).await;
    assert_eq!(
        r.status,
        200,
        "{}\ncore:\n{}\nvodokanal:\n{}",
        r.body,
        core.log(),
        vodokanal.log()
    );
    assert_eq!(r.json()["debt_uah"], "0.00");
}
