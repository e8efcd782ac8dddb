//! The registries' exchange on the wire, on two real nodes of `examples/federation`: a message
//! queued on gw-core for the water utility is posted through both gateways, stored once on
//! gw-vodokanal (a replay too) and logged on both; a notice goes back the other way. What is
//! not a message, a caller without an agreement, and a system claiming another participant's
//! subsystem are refused, and nothing is stored.

use std::path::Path;
use std::time::{Duration, Instant};

use hromada::registry::exchange::sev;
use hromada::store::{Exchange, MessageKind, OutgoingMessage, Store};
use uuid::Uuid;

use crate::common::appliance::Appliance;
use crate::common::federation::Federation;
use crate::common::xroad::{Reply, call, start, wait_for_peer_listener};

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sev");

/// A sample message of the regulation's repository under a new `msg_id`, and that id.
fn message(sample: &str) -> (String, Vec<u8>) {
    let xml = std::fs::read(Path::new(SAMPLES).join(sample)).unwrap();
    let mut envelope = sev::read(&xml).unwrap();
    envelope.msg_id = Uuid::now_v7();
    (envelope.msg_id.to_string(), sev::write(&envelope))
}

async fn store_of(data: &Path) -> Store {
    Store::connect(&Store::sqlite_url(&data.join("hromada.db")))
        .await
        .unwrap()
}

/// Queues `xml` from `from` to `to` in the store of the node whose data is `data`.
async fn queue(data: &Path, from: &str, to: &str, kind: MessageKind, msg_id: &str, xml: &[u8]) {
    let store = store_of(data).await;
    let mut tx = store.begin().await.unwrap();
    let m = OutgoingMessage {
        msg_id: msg_id.into(),
        from: from.into(),
        to: to.into(),
        kind,
        card_id: None,
        xml: xml.to_vec(),
    };
    store.queue_exchange_message(&mut tx, &m).await.unwrap();
    tx.commit().await.unwrap();
    store.close().await;
}

async fn wait_posted(data: &Path, msg_id: &str, node: &Appliance) {
    let store = store_of(data).await;
    let start = Instant::now();
    loop {
        if store
            .exchange_message_posted(msg_id)
            .await
            .unwrap()
            .is_some()
        {
            break;
        }
        let status = store.exchange_post_status(msg_id).await.unwrap();
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{msg_id} not posted within 30 s: {status:?}\n{}",
            node.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    store.close().await;
}

/// How many messages the node whose data is `data` stored as received, handled or not.
async fn stored_count(data: &Path) -> i64 {
    let url = Store::sqlite_url(&data.join("hromada.db"));
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let count = sqlx::query_scalar("SELECT count(*) FROM exchange_post_in")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    count
}

/// Waits until the node whose data is `data` handled every message it received (serve hands
/// each to the registry's recipient as soon as it is stored).
async fn wait_handled(data: &Path, node: &Appliance) {
    let start = Instant::now();
    while received(data).await != 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "received messages not handled within 30 s:\n{}",
            node.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the node's `/metrics` show `line`.
fn wait_metric(node: &Appliance, line: &str) {
    let start = Instant::now();
    loop {
        let (status, body) = node.get("/metrics");
        if status == 200 && body.lines().any(|l| l == line) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no `{line}` in:\n{body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The exchanges of node `node`'s message log whose `X-Road-Issue` is `msg_id`.
async fn logged(data: &Path, node: &str, msg_id: &str) -> Vec<Exchange> {
    let store = store_of(data).await;
    let records = store.message_log(node, 0, 10_000).await.unwrap();
    store.close().await;
    records
        .iter()
        .map(|r| Exchange::from_log_entry(&r.entry).unwrap())
        .filter(|e| e.issue.as_deref() == Some(msg_id))
        .collect()
}

/// How many messages the node whose data is `data` received and has not handled yet.
async fn received(data: &Path) -> i64 {
    let store = store_of(data).await;
    let waiting = store.unfinished_received_messages().await.unwrap();
    store.close().await;
    waiting
}

fn sev_path(fed: &Federation, provider: &str) -> String {
    let member = match provider {
        "vodokanal" => "COM/35418773",
        _ => "GOV/04363395",
    };
    format!("/r1/{}/{member}/registry/sev/messages", fed.instance)
}

/// A system of gw-core posting `xml` to the water utility's exchange service as `subsystem`.
async fn post(fed: &Federation, core: &Appliance, subsystem: &str, id: &str, xml: &[u8]) -> Reply {
    let client = format!("{}/{subsystem}", fed.instance);
    let headers = [
        ("X-Road-Client", client.as_str()),
        ("X-Road-Id", id),
        ("Content-Type", "application/xml"),
    ];
    let body = String::from_utf8(xml.to_vec()).unwrap();
    call(core, "POST", &sev_path(fed, "vodokanal"), &headers, &body).await
}

/// Both nodes, their systems calling over plain HTTP from this host; the water utility first,
/// so that gw-core finds its peer listening.
async fn nodes(dir: &Path) -> (Federation, Appliance, Appliance) {
    let fed = Federation::new(dir).await;
    fed.systems_over_http();
    fed.edit(
        "spec/vodokanal.kdl",
        "connection \"https\" {\n            client cert=\"pki/systems/vodokanal-registry.crt\"\n        }",
        "connection \"http\"",
    );
    let vodokanal = start(&fed, &dir.join("vodokanal"), "gw-vodokanal", &[]);
    wait_for_peer_listener(&vodokanal);
    let core = start(&fed, &dir.join("core"), "gw-core", &[]);
    wait_for_peer_listener(&core);
    (fed, core, vodokanal)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchange_post_a_queued_message_crosses_both_gateways_and_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let (fed, core, vodokanal) = nodes(dir.path()).await;
    let (core_data, vodokanal_data) = (dir.path().join("core"), dir.path().join("vodokanal"));

    let (msg_id, xml) = message("ds01-execution.xml");
    queue(
        &core_data,
        "council",
        "vodokanal",
        MessageKind::Document,
        &msg_id,
        &xml,
    )
    .await;
    wait_posted(&core_data, &msg_id, &core).await;

    let there = store_of(&vodokanal_data).await;
    let stored = there
        .received_exchange_message_by("vodokanal", "council", &msg_id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("not stored on gw-vodokanal\n{}", vodokanal.log()));
    assert_eq!(stored.xml, xml, "stored byte for byte");
    // serve hands it to the registry's recipient, which finishes it.
    there.close().await;
    wait_handled(&vodokanal_data, &vodokanal).await;
    wait_metric(&vodokanal, "hromada_registry_exchange_unhandled 0");
    wait_metric(&core, "hromada_registry_exchange_unposted 0");

    // Logged on both nodes, as the council's registry calling the utility's exchange service.
    for (data, node, side) in [
        (&core_data, "gw-core", "client"),
        (&vodokanal_data, "gw-vodokanal", "producer"),
    ] {
        let exchanges = logged(data, node, &msg_id).await;
        assert_eq!(exchanges.len(), 1, "{node}: {exchanges:?}");
        let e = &exchanges[0];
        assert_eq!(e.consumer.as_deref(), Some("council/registry"), "{node}");
        assert_eq!(e.provider.as_deref(), Some("vodokanal/sev"), "{node}");
        assert_eq!(
            e.agreement.as_deref(),
            Some("council-registry-sends-to-vodokanal"),
            "{node}"
        );
        assert_eq!((e.method.as_str(), e.status), ("POST", 200), "{node}");
        assert_eq!(e.side.as_str(), side, "{node}");
    }

    // A replay of the same message, by the council's registry system itself: the first receipt
    // again, nothing stored twice.
    let first = post(&fed, &core, "GOV/04363395/registry", "replay-1", &xml).await;
    assert_eq!(first.status, 200, "{}\n{}", first.body, core.log());
    let again = post(&fed, &core, "GOV/04363395/registry", "replay-2", &xml).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(first.json(), again.json());
    assert_eq!(first.json()["msg_id"], msg_id.as_str());
    assert_eq!(stored_count(&vodokanal_data).await, 1);

    // A notice goes back the other way, from the utility's registry on its own node.
    let (notice_id, notice) = message("ds13-delivered.xml");
    queue(
        &vodokanal_data,
        "vodokanal",
        "council",
        MessageKind::Notice,
        &notice_id,
        &notice,
    )
    .await;
    wait_posted(&vodokanal_data, &notice_id, &vodokanal).await;
    let here = store_of(&core_data).await;
    let back = here
        .received_exchange_message_by("council", "vodokanal", &notice_id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("not stored on gw-core\n{}", core.log()));
    assert_eq!(back.xml, notice);
    here.close().await;
    wait_handled(&core_data, &core).await;

    assert!(core.stop().success());
    assert!(vodokanal.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchange_post_what_is_no_message_or_not_allowed_is_refused_and_nothing_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (fed, core, vodokanal) = nodes(dir.path()).await;
    let vodokanal_data = dir.path().join("vodokanal");
    let registry = "GOV/04363395/registry";

    // Not a СЕВ ОВВ message: 400, naming where and what.
    let broken = post(
        &fed,
        &core,
        registry,
        "broken-1",
        b"<Header standart=\"1207\"><oops/>",
    )
    .await;
    assert_eq!(broken.status, 400, "{}\n{}", broken.body, vodokanal.log());
    let said = broken.json()["message"].as_str().unwrap().to_string();
    assert!(
        said.contains("СЕВ ОВВ") && said.contains("Header"),
        "{said}"
    );
    let (_, good) = message("ds05-information.xml");
    let envelope = sev::read(&good).unwrap();
    let mut nil = envelope.clone();
    nil.msg_id = Uuid::nil();
    let refused = post(&fed, &core, registry, "nil-1", &sev::write(&nil)).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.json()["message"]
            .as_str()
            .unwrap()
            .contains("Header/@msg_id")
    );

    // The portal has no agreement with the utility's exchange service.
    let portal = post(&fed, &core, "GOV/04363395/portal", "portal-1", &good).await;
    assert_eq!(portal.status, 403, "{}", portal.body);
    assert_eq!(portal.error_type(), Some("Server.ServerProxy.AccessDenied"));

    // A system of gw-core cannot speak as the utility's registry: gw-core does not serve it.
    let spoofed = post(&fed, &core, "COM/35418773/registry", "spoof-1", &good).await;
    assert!(spoofed.status >= 400, "{}", spoofed.body);
    assert!(spoofed.body.contains("gw-vodokanal"), "{}", spoofed.body);
    assert_eq!(
        stored_count(&vodokanal_data).await,
        0,
        "{}",
        vodokanal.log()
    );

    // The sender is whoever the gateway authenticated, whatever the envelope says.
    let mut claims = envelope;
    claims.msg_id = Uuid::now_v7();
    claims.from_org_id = "35418773".into();
    let stored = post(&fed, &core, registry, "claims-1", &sev::write(&claims)).await;
    assert_eq!(stored.status, 200, "{}", stored.body);
    let there = store_of(&vodokanal_data).await;
    let msg_id = claims.msg_id.to_string();
    assert!(
        there
            .received_exchange_message_by("vodokanal", "council", &msg_id)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        there
            .received_exchange_message_by("vodokanal", "vodokanal", &msg_id)
            .await
            .unwrap()
            .is_none()
    );
    there.close().await;
    wait_handled(&vodokanal_data, &vodokanal).await;

    assert!(core.stop().success());
    assert!(vodokanal.stop().success());
}

#[test]
fn exchange_post_a_participant_keeping_journals_is_served_by_its_own_node_s_registry() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/federation");
    let spec = hromada::spec::load(&example).spec;
    let node_of = |spec: &hromada::spec::Spec, p: &str| spec.registry_of(p).unwrap().node.clone();
    assert_eq!(node_of(&spec, "council"), "gw-core");
    assert_eq!(node_of(&spec, "vodokanal"), "gw-vodokanal");
    let served: Vec<&str> = spec
        .registry_participants("gw-vodokanal")
        .iter()
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(served, ["vodokanal"]);

    // Without journals of its own, the utility is served by the system's first registry, as
    // every participant was before there were several.
    let dir = tempfile::tempdir().unwrap();
    crate::common::copy_tree(&example, dir.path());
    let journals = dir.path().join("spec/registry.kdl");
    let text = std::fs::read_to_string(&journals).unwrap();
    std::fs::write(
        &journals,
        text.replace("participant \"vodokanal\"", "participant \"council\""),
    )
    .unwrap();
    let spec = hromada::spec::load(dir.path()).spec;
    assert_eq!(node_of(&spec, "vodokanal"), "gw-core");
    assert!(spec.registry_participants("gw-vodokanal").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchange_post_an_official_works_in_the_registry_of_their_own_participant_s_node() {
    use crate::portal::{LYSENKO, Portal};

    let portal = Portal::start().await;
    let lysenko = portal.sign_in_official_to(&LYSENKO, "/registry").await;
    assert_eq!(lysenko.get("/registry").await.status, 200);

    // The water utility gets its own registry on its node, and Lysenko moves to the utility.
    let reload = |file: &'static str, from: &'static str, to: &'static str| {
        let before = portal.app.applied();
        portal.city.edit(file, from, to);
        portal.app.wait_for("the edit applied", |s| {
            s["applied"]["revision"]
                .as_str()
                .is_some_and(|r| r != before)
        });
    };
    reload(
        "spec/system.kdl",
        "    registry node=\"gw-core\" subsystem=\"city-council/registry\"\n",
        "    registry node=\"gw-core\" subsystem=\"city-council/registry\"\n    registry node=\"gw-vodokanal\" subsystem=\"vodokanal/billing\"\n",
    );
    assert_eq!(
        lysenko.get("/registry").await.status,
        200,
        "still the council's"
    );
    reload(
        "spec/registry/officials.kdl",
        "    unit \"city-council/general\"\n    roles \"records-clerk\"",
        "    unit \"vodokanal/abonent\"\n    roles \"records-clerk\"",
    );
    let elsewhere = lysenko.get("/registry").await;
    assert_eq!(elsewhere.status, 404, "{}", elsewhere.body);
    assert!(
        elsewhere.body.contains("«gw-vodokanal»"),
        "{}",
        elsewhere.body
    );
    let card = lysenko.get("/registry/cards/new").await;
    assert_eq!(card.status, 404, "{}", card.body);
    // The office itself is the portal's, and stays where it is.
    assert_eq!(lysenko.get("/office").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchange_post_a_message_waits_for_an_unreachable_addressee_and_is_posted_once_it_is_up() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    let (core_data, vodokanal_data) = (dir.path().join("core"), dir.path().join("vodokanal"));
    let core = start(&fed, &core_data, "gw-core", &[]);

    let (msg_id, xml) = message("ds03-approval.xml");
    queue(
        &core_data,
        "council",
        "vodokanal",
        MessageKind::Document,
        &msg_id,
        &xml,
    )
    .await;
    let store = store_of(&core_data).await;
    let start_at = Instant::now();
    let failed = loop {
        let status = store.exchange_post_status(&msg_id).await.unwrap().unwrap();
        if status.attempts > 0 {
            break status;
        }
        assert!(
            start_at.elapsed() < Duration::from_secs(30),
            "{status:?}\n{}",
            core.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(failed.posted_at, None);
    let error = failed.last_error.clone().unwrap();
    assert!(!error.is_empty() && !error.contains("<"), "{error}");
    assert!(failed.next_attempt_at > failed.queued_at, "{failed:?}");
    assert!(
        core.log_shows(&format!("cannot post the exchange message {msg_id}")),
        "{}",
        core.log()
    );

    let vodokanal = start(&fed, &vodokanal_data, "gw-vodokanal", &[]);
    wait_posted(&core_data, &msg_id, &core).await;
    let posted = store.exchange_post_status(&msg_id).await.unwrap().unwrap();
    assert!(
        posted.attempts >= 2 && posted.last_error.is_none(),
        "{posted:?}"
    );
    store.close().await;
    let there = store_of(&vodokanal_data).await;
    let stored = there
        .received_exchange_message_by("vodokanal", "council", &msg_id)
        .await
        .unwrap();
    assert_eq!(stored.map(|m| m.xml), Some(xml));
    there.close().await;
    wait_handled(&vodokanal_data, &vodokanal).await;

    assert!(core.stop().success());
    assert!(vodokanal.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchange_post_an_official_signs_in_to_the_registry_on_their_participant_s_own_node() {
    use crate::common::city::City;
    use crate::common::oidc::{Client, Provider};
    use crate::portal::{CLIENT_ID, LYSENKO, Portal, accounts};

    const SECRET: &str = "registry-node-client-secret-2b7d";
    let city = City::new().await;
    let reserved = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = reserved.local_addr().unwrap().port();
    let secret = city.root().join("dev-keys/sign-in/client-secret");
    std::fs::create_dir_all(secret.parent().unwrap()).unwrap();
    std::fs::write(&secret, SECRET).unwrap();
    city.edit(
        "spec/system.kdl",
        r#"issuer "https://id.gov.ua""#,
        &format!(r#"issuer "http://127.0.0.1:{port}""#),
    );
    // The water utility runs its own registry, and the registrar works for the utility.
    city.edit(
        "spec/system.kdl",
        "    registry node=\"gw-core\" subsystem=\"city-council/registry\"\n",
        "    registry node=\"gw-core\" subsystem=\"city-council/registry\"\n    registry node=\"gw-vodokanal\" subsystem=\"vodokanal/billing\"\n",
    );
    city.edit(
        "spec/registry/officials.kdl",
        "    unit \"city-council/general\"\n    roles \"records-clerk\"",
        "    unit \"vodokanal/abonent\"\n    roles \"records-clerk\"",
    );
    let node = city.start_vodokanal(&city.dir.path().join("vodokanal"));
    drop(reserved);
    let provider = Provider::start(
        port,
        &accounts(),
        &[Client {
            id: CLIENT_ID.into(),
            secret: SECRET.into(),
            redirect_uris: vec![format!("{}/sign-in/callback", node.url)],
        }],
    );
    let portal = Portal {
        city,
        app: node,
        provider,
    };

    // The office's sign-in runs on the registry's node as on the portal's.
    let lysenko = portal.sign_in_official_to(&LYSENKO, "/registry").await;
    let home = lysenko.get("/registry").await;
    assert_eq!(home.status, 200, "{}\n{}", home.body, portal.app.log());
    let new_card = lysenko.get("/registry/cards/new").await;
    assert_eq!(new_card.status, 200, "{}", new_card.body);
    assert!(
        new_card
            .body
            .contains("Журнал реєстрації довідок абонентського відділу"),
        "the utility's journals are offered: {}",
        new_card.body
    );
    assert!(
        !new_card.body.contains("виконавчого комітету"),
        "{}",
        new_card.body
    );
}
