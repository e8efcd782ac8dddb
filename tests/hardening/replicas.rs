//! Replicas and the X-Road REST protocol (issue 11, finding 9 and conformance): two replicas of
//! one node share an agreement's rate limit through PostgreSQL, and the gateway answers as
//! `pr-rest` r1 says where minimisation does not require otherwise.

use crate::common;
use common::federation::{Federation, free_port};
use common::xroad::*;

/// The residents agreement of `examples/federation` limited to `requests` per `per`.
fn limit_residents(fed: &Federation, requests: u32, per: &str) {
    fed.edit(
        "spec/agreements.kdl",
        "    operation \"GET\" \"/persons/*\"\n",
        &format!("    operation \"GET\" \"/persons/*\"\n    rate-limit {requests} per=\"{per}\"\n"),
    );
}

/// The federation under `dir` with the residents agreement limited to `requests` per `per`, and
/// a replica of gw-core on the PostgreSQL database `url` (its data in `dir/a`).
async fn limited_core_on(
    url: &str,
    dir: &std::path::Path,
    requests: u32,
    per: &str,
) -> (Federation, crate::common::appliance::Appliance) {
    let fed = Federation::new(dir).await;
    fed.systems_over_http();
    limit_residents(&fed, requests, per);
    let core = start(&fed, &dir.join("a"), "gw-core", &["--database-url", url]);
    (fed, core)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_of_a_node_on_one_postgresql_share_an_agreements_rate_limit() {
    let Some(url) = common::postgres::url_or_skip(
        "two_replicas_of_a_node_on_one_postgresql_share_an_agreements_rate_limit",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (fed, a) = limited_core_on(&url, dir.path(), 5, "minute").await;
    // The second replica listens for other nodes elsewhere: both run on this one host.
    let peer = format!("127.0.0.1:{}", free_port());
    let b = start(
        &fed,
        &dir.path().join("b"),
        "gw-core",
        &["--database-url", &url, "--peer-listen", &peer],
    );

    let mut admitted = [0, 0];
    for i in 0..12 {
        let replica = if i % 2 == 0 { &a } else { &b };
        let reply = get(
            replica,
            &fed.residents_path("/persons/2900000001"),
            &fed.registry_client(),
        )
        .await;
        match reply.status {
            200 => admitted[i % 2] += 1,
            _ => {
                assert_refused(
                    &reply,
                    429,
                    "Client.TooManyRequests",
                    "5 requests per minute",
                );
                assert!(reply.header("retry-after").is_some(), "{:?}", reply.headers);
            }
        }
    }
    let total = admitted[0] + admitted[1];
    // Five at once, and one more only if a token (one per 12 s) was refilled meanwhile.
    assert!(
        (5..=6).contains(&total),
        "the replicas let {admitted:?} of 12 calls through a limit of 5 per minute\n{}\n{}",
        a.log(),
        b.log()
    );
    assert!(admitted[0] > 0 && admitted[1] > 0, "{admitted:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_alone_on_postgresql_admits_the_whole_limit_with_few_round_trips() {
    let Some(url) = common::postgres::url_or_skip(
        "a_replica_alone_on_postgresql_admits_the_whole_limit_with_few_round_trips",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // One token per two minutes: none is refilled while the test runs.
    let (fed, alone) = limited_core_on(&url, dir.path(), 30, "hour").await;
    let person = fed.residents_path("/persons/2900000001");
    for i in 0..30 {
        let reply = get(&alone, &person, &fed.registry_client()).await;
        assert_eq!(reply.status, 200, "call {i}: {}", reply.body);
    }
    let over = get(&alone, &person, &fed.registry_client()).await;
    assert_refused(&over, 429, "Client.TooManyRequests", "30 requests per hour");

    let metrics = alone.get("/metrics").1;
    let leases: u32 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("hromada_rate_limit_leases_total "))
        .unwrap_or_else(|| panic!("no lease counter:\n{metrics}"))
        .trim()
        .parse()
        .unwrap();
    // Batches of 1, 2 and then 3 (a tenth of the limit): 11 leases, and one more that found
    // the bucket empty.
    assert!(
        leases <= 12,
        "{leases} round trips to the store for 31 calls"
    );
}

/// Gives the water utility's balance service an OpenAPI description, written as JSON.
fn describe_balance(fed: &Federation) {
    std::fs::create_dir_all(fed.root.join("openapi")).unwrap();
    std::fs::write(
        fed.root.join("openapi/balance.json"),
        r#"{"openapi": "3.0.3", "info": {"title": "Баланс", "version": "1"},
            "paths": {"/accounts/{id}/balance": {"get": {"responses": {"200": {"description": "ok"}}}}}}"#,
    )
    .unwrap();
    fed.edit(
        "spec/vodokanal.kdl",
        "        operation \"GET\" \"/accounts/*/balance\"\n",
        "        operation \"GET\" \"/accounts/*/balance\"\n        openapi \"openapi/balance.json\"\n",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_clients_answers_x_road_xml_by_default_and_json_on_accept_and_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let data = dir.path().join("core");
    let core = start(&fed, &data, "gw-core", &[]);

    let xml = call(
        &core,
        "GET",
        "/listClients",
        &[("X-Road-Id", "list-xml")],
        "",
    )
    .await;
    assert_eq!(xml.status, 200, "{}", xml.body);
    assert_eq!(xml.header("content-type"), Some("text/xml; charset=utf-8"));
    assert!(xml.body.starts_with("<?xml"), "{}", xml.body);
    assert!(
        xml.body
            .contains("<xrd:clientList xmlns:xrd=\"http://x-road.eu/xsd/xroad.xsd\""),
        "{}",
        xml.body
    );
    let council_member = "<xrd:id id:objectType=\"MEMBER\">\n      \
        <id:xRoadInstance>hromada-federation</id:xRoadInstance>\n      \
        <id:memberClass>GOV</id:memberClass>\n      <id:memberCode>04363395</id:memberCode>\n    \
        </xrd:id>";
    assert!(xml.body.contains(council_member), "{}", xml.body);
    assert!(
        xml.body.contains("<id:memberCode>04363395</id:memberCode>\n      <id:subsystemCode>registry</id:subsystemCode>"),
        "{}",
        xml.body
    );
    assert_eq!(
        xml.body.matches("<xrd:member>").count(),
        6,
        "2 members, 4 subsystems"
    );

    let json = call(
        &core,
        "GET",
        "/listClients",
        &[("Accept", "text/html;q=0.5, application/json")],
        "",
    )
    .await;
    assert_eq!(json.header("content-type"), Some("application/json"));
    let members = json.json()["member"].as_array().unwrap().clone();
    assert_eq!(members.len(), 6);
    assert_eq!(members[0]["id"]["object_type"], "MEMBER");
    assert!(members[0]["id"].get("subsystem_code").is_none());

    let logged = logged_exchanges(&data, "list-xml").await;
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!(logged[0].path, "/listClients");
    assert_eq!(logged[0].operation.as_deref(), Some("listClients"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metaservices_name_openapi3_services_answer_yaml_and_are_logged() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    describe_balance(&fed);
    let data = dir.path().join("core");
    let core = start(&fed, &data, "gw-core", &[]);
    let registry = fed.registry_client();
    let provider = format!("/r1/{}/COM/35418773/billing", fed.instance);
    let council = format!("/r1/{}/GOV/04363395/registry", fed.instance);

    let listed = call(
        &core,
        "GET",
        &format!("{provider}/listMethods"),
        &[("X-Road-Client", &registry), ("X-Road-Id", "meta-1")],
        "",
    )
    .await
    .json();
    assert_eq!(listed["service"][0]["service_type"], "OPENAPI3", "{listed}");
    let listed = get(&core, &format!("{council}/listMethods"), &registry)
        .await
        .json();
    assert_eq!(listed["service"][0]["service_type"], "REST", "{listed}");
    let allowed = get(&core, &format!("{provider}/allowedMethods"), &registry)
        .await
        .json();
    assert_eq!(
        allowed["service"][0]["service_type"], "OPENAPI3",
        "{allowed}"
    );

    let described = call(
        &core,
        "GET",
        &format!("{provider}/getOpenAPI?serviceCode=balance"),
        &[("X-Road-Client", &registry), ("X-Road-Id", "meta-2")],
        "",
    )
    .await;
    assert_eq!(described.status, 200, "{}", described.body);
    assert_eq!(
        described.header("content-type"),
        Some("text/yaml; charset=utf-8")
    );
    assert!(
        described.body.contains("openapi: 3.0.3"),
        "{}",
        described.body
    );
    assert!(
        !described.body.trim_start().starts_with('{'),
        "{}",
        described.body
    );
    assert!(
        described.body.contains(&format!("{provider}/balance")),
        "servers name the gateway: {}",
        described.body
    );

    for (id, operation) in [("meta-1", "listMethods"), ("meta-2", "getOpenAPI")] {
        let logged = logged_exchanges(&data, id).await;
        assert_eq!(logged.len(), 1, "{id}: {logged:?}");
        assert_eq!(logged[0].operation.as_deref(), Some(operation));
        assert_eq!(logged[0].consumer.as_deref(), Some("council/registry"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_hash_comes_from_the_providers_node_and_matches_the_request_sent() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let provider_data = dir.path().join("vodokanal");
    let vodokanal = start(&fed, &provider_data, "gw-vodokanal", &[]);
    wait_for_peer_listener(&vodokanal);
    let consumer_data = dir.path().join("core");
    let core = start(&fed, &consumer_data, "gw-core", &[]);

    let reply = call(
        &core,
        "GET",
        &fed.balance_path("/accounts/120045/balance?as_of=2026-11-01"),
        &[
            ("X-Road-Client", &fed.registry_client()),
            ("X-Road-Id", "hashed-1"),
            ("X-Road-UserId", "UA3012345678"),
            ("Accept", "application/json"),
            ("X-Custom", "dropped-from-the-hash"),
        ],
        "",
    )
    .await;
    assert_eq!(reply.status, 200, "{}\n{}", reply.body, vodokanal.log());
    let hash = reply.header("x-road-request-hash").unwrap().to_string();
    let produced = logged_exchanges(&provider_data, "hashed-1").await;
    let sent = logged_exchanges(&consumer_data, "hashed-1").await;
    assert_eq!(produced.len(), 1, "{produced:?}");
    assert_eq!(
        produced[0].request_hash, hash,
        "the consumer's system gets the hash the provider's node produced"
    );
    assert_eq!(
        sent[0].request_hash, hash,
        "and the consumer's node logged it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_is_carried_where_get_is_granted_and_options_only_where_named() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let core = start(&fed, &dir.path().join("core"), "gw-core", &[]);
    let registry = fed.registry_client();
    let person = fed.residents_path("/persons/2900000001");

    let head = call(&core, "HEAD", &person, &[("X-Road-Client", &registry)], "").await;
    assert_eq!(head.status, 200, "{}\n{}", head.body, core.log());
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-type"), Some("application/json"));
    assert!(head.header("x-road-request-hash").is_some());
    let head = call(
        &core,
        "HEAD",
        &fed.residents_path("/persons/1/history"),
        &[("X-Road-Client", &registry)],
        "",
    )
    .await;
    assert_eq!(head.status, 403, "HEAD only where GET is granted");

    let options = call(
        &core,
        "OPTIONS",
        &person,
        &[("X-Road-Client", &registry)],
        "",
    )
    .await;
    assert_refused(
        &options,
        403,
        "Server.ServerProxy.AccessDenied",
        "OPTIONS /persons/2900000001",
    );

    fed.edit(
        "spec/council.kdl",
        "        operation \"GET\" \"/persons/*\"\n",
        "        operation \"GET\" \"/persons/*\"\n        operation \"OPTIONS\" \"/persons/*\"\n",
    );
    fed.edit(
        "spec/agreements.kdl",
        "    operation \"GET\" \"/persons/*\"\n",
        "    operation \"GET\" \"/persons/*\"\n    operation \"OPTIONS\" \"/persons/*\"\n",
    );
    let allowed_path = format!("/r1/{}/GOV/04363395/registry/allowedMethods", fed.instance);
    let started = std::time::Instant::now();
    let methods = loop {
        let allowed = get(&core, &allowed_path, &registry).await.json();
        let methods: Vec<String> = allowed["service"][0]["endpoint_list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["method"].as_str().unwrap().to_string())
            .collect();
        if methods.len() > 1 {
            break methods;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the OPTIONS grant was never applied\n{}",
            core.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let options = call(
        &core,
        "OPTIONS",
        &person,
        &[("X-Road-Client", &registry)],
        "",
    )
    .await;
    // The upstream's own answer (its router offers GET only), carried back as it is.
    assert_eq!(options.status, 405, "{}\n{}", options.body, core.log());
    assert!(options.error_type().is_none(), "{:?}", options.headers);
    assert_eq!(methods, ["GET", "OPTIONS"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_calls_without_a_subsystem_where_an_agreement_names_the_member() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    fed.edit(
        "spec/agreements.kdl",
        "    consumer \"council/registry\"\n    provider \"council/residents\"",
        "    consumer \"council\"\n    provider \"council/residents\"",
    );
    let data = dir.path().join("core");
    let core = start(&fed, &data, "gw-core", &[]);
    let member = format!("{}/GOV/04363395", fed.instance);
    let person = fed.residents_path("/persons/2900000001");

    let reply = call(
        &core,
        "GET",
        &person,
        &[("X-Road-Client", &member), ("X-Road-Id", "member-1")],
        "",
    )
    .await;
    assert_eq!(reply.status, 200, "{}\n{}", reply.body, core.log());
    assert_eq!(reply.json()["full_name"], "Іваненко Марія Петрівна");
    assert_eq!(reply.header("x-road-client"), Some(member.as_str()));
    let logged = logged_exchanges(&data, "member-1").await;
    assert_eq!(logged[0].client, member);
    assert_eq!(logged[0].consumer.as_deref(), Some("council"));

    // The grant is the member's own: its subsystems do not inherit it.
    let subsystem = get(&core, &person, &fed.registry_client()).await;
    assert_refused(
        &subsystem,
        403,
        "Server.ServerProxy.AccessDenied",
        "no agreement grants `council/registry`",
    );
    // A member the spec does not declare is still refused.
    let stranger = get(&core, &person, &format!("{}/GOV/99999999", fed.instance)).await;
    assert_refused(
        &stranger,
        400,
        "Client.InvalidClientIdentifier",
        "no member or subsystem",
    );
    let allowed = get(
        &core,
        &format!("/r1/{}/GOV/04363395/registry/allowedMethods", fed.instance),
        &member,
    )
    .await
    .json();
    assert_eq!(
        allowed["service"][0]["service_code"], "residents",
        "{allowed}"
    );
}

/// A provider's node gone wrong: it holds the water utility's node certificate and seal key and
/// answers every forwarded call with a properly sealed answer, but with `request_hash` as the
/// `X-Road-Request-Hash`, on the node's peer port.
async fn hostile_provider_node(fed: &Federation, request_hash: &'static str) {
    use axum::http::HeaderMap;
    use hromada::gateway::call::Answer;
    use hromada::gateway::keys::KeyRing;
    use hromada::gateway::peer_tls::{NodeIdentity, serve_peer, server_config};

    let keys = KeyRing::new(fed.root.join("dev-keys"));
    let identity = NodeIdentity::from_files(
        &fed.root.join("pki/nodes/gw-vodokanal.crt"),
        &keys.node_key_path("gw-vodokanal"),
    )
    .unwrap();
    let anchor =
        openssl::x509::X509::from_pem(&std::fs::read(fed.root.join("pki/ca.crt")).unwrap())
            .unwrap();
    let config = axum_server::tls_rustls::RustlsConfig::from_config(
        server_config(&identity, &[anchor]).unwrap(),
    );
    let seal_key = keys.seal_key("vodokanal").unwrap();
    let answer = move |headers: HeaderMap| {
        let seal_key = seal_key.clone();
        async move {
            let header = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string()
            };
            let answer = Answer {
                status: axum::http::StatusCode::OK,
                headers: vec![(
                    axum::http::header::CONTENT_TYPE,
                    axum::http::HeaderValue::from_static("application/json"),
                )],
                body: r#"{"holder_name":"Іваненко Марія Петрівна"}"#.into(),
                error: None,
            };
            let text = hromada::gateway::peer::response_text(
                &header("x-road-id"),
                &header("x-hromada-request-seal"),
                &answer,
            );
            let seal = hromada::crypto::seal::seal(&seal_key, &text).unwrap();
            (
                [
                    ("content-type", "application/json".to_string()),
                    ("x-hromada-response-seal", seal),
                    ("x-road-request-hash", request_hash.to_string()),
                ],
                answer.body,
            )
        }
    };
    let app = axum::Router::new().fallback(answer);
    let listen = format!("127.0.0.1:{}", fed.vodokanal_peer).parse().unwrap();
    let handle = axum_server::Handle::new();
    tokio::spawn(serve_peer(listen, config, app, handle.clone()));
    handle.listening().await.expect("the hostile node listens");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consumers_node_refuses_an_answer_to_another_request() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    hostile_provider_node(&fed, "bm90IHRoZSBoYXNoIG9mIHRoaXMgcmVxdWVzdA==").await;
    let core = start(&fed, &dir.path().join("core"), "gw-core", &[]);

    let reply = get(
        &core,
        &fed.balance_path("/accounts/120045/balance"),
        &fed.registry_client(),
    )
    .await;
    assert_refused(
        &reply,
        502,
        "Server.ClientProxy.InvalidSignatureValue",
        "is not an answer to this request",
    );
    assert!(!reply.body.contains("Іваненко"), "{}", reply.body);
}
