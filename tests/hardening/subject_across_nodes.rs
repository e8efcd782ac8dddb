//! MIN-4 across gateway nodes: the consumer's node records the subject's use with the fields the
//! provider's node says it released, never more than the agreement grants, whatever a peer
//! claims; the internal header that carries them never crosses to or from an information system.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::common::appliance::Appliance;
use crate::common::federation::{Federation, free_port};
use crate::common::xroad::{call, start, wait_for_peer_listener};
use hromada::store::{Store, SubjectUseRecord};

const RELEASED: &str = "x-hromada-released";
const ACCOUNT: &str = "120045";
/// What `registry-reads-water-balance` grants.
const GRANTED: &[&str] = &[
    "holder_name",
    "debt_uah",
    "balance_date",
    "address.street",
    "address.building",
];

/// The store a node ran on: PostgreSQL at `url`, else its SQLite file under `data`.
fn store_url(data: &Path, url: Option<&str>) -> String {
    url.map_or_else(
        || Store::sqlite_url(&data.join("hromada.db")),
        str::to_string,
    )
}

/// The data subject's records of `ACCOUNT` in the store at `url`.
async fn uses(url: &str) -> Vec<SubjectUseRecord> {
    let store = Store::connect(url).await.unwrap();
    let found = store.subject_uses(ACCOUNT, 1, 50).await.unwrap();
    let notices = store.pending_notices(50).await.unwrap();
    store.close().await;
    assert_eq!(found.total as usize, found.uses.len());
    // A node queues a notice only for a use it made with `notify`.
    let notified = found.uses.iter().filter(|u| u.notify).count();
    assert_eq!(notices.len(), notified, "{notices:?}");
    found.uses
}

fn of<'u>(uses: &'u [SubjectUseRecord], message_id: &str) -> &'u SubjectUseRecord {
    uses.iter()
        .find(|u| u.message_id == message_id)
        .unwrap_or_else(|| panic!("no record of {message_id}: {uses:?}"))
}

async fn balance(fed: &Federation, core: &Appliance, message_id: &str, extra: &[(&str, &str)]) {
    let client = fed.registry_client();
    let mut headers = vec![
        ("X-Road-Client", client.as_str()),
        ("X-Road-Id", message_id),
    ];
    headers.extend_from_slice(extra);
    let path = fed.balance_path(&format!("/accounts/{ACCOUNT}/balance"));
    let r = call(core, "GET", &path, &headers, "").await;
    assert_eq!(r.status, 200, "{}\n{}", r.body, core.log());
    assert!(
        r.header(RELEASED).is_none(),
        "an information system is told the internal list: {:?}",
        r.headers
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_across_nodes_leaves_the_same_use_on_both_and_the_header_never_meets_a_system() {
    same_use_on_both(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consumer_s_node_records_the_use_on_postgresql() {
    if let Some(url) = crate::common::postgres::url_or_skip("subject use across nodes") {
        same_use_on_both(Some(url)).await;
    }
}

/// One call across nodes, the consumer's node on PostgreSQL at `core_db` or on SQLite.
async fn same_use_on_both(core_db: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let (core_data, vodokanal_data) = (dir.path().join("core"), dir.path().join("vodokanal"));
    let vodokanal = start(&fed, &vodokanal_data, "gw-vodokanal", &[]);
    wait_for_peer_listener(&vodokanal);
    let on: Vec<&str> = core_db
        .as_deref()
        .map_or_else(Vec::new, |url| vec!["--database-url", url]);
    let core = start(&fed, &core_data, "gw-core", &on);

    // A system that tries to say what was released is not heard.
    balance(
        &fed,
        &core,
        "msg-min4-both",
        &[(RELEASED, "holder_rnokpp,note")],
    )
    .await;
    for seen in fed.upstream.seen.lock().unwrap().iter() {
        assert!(
            seen.get(RELEASED).is_none(),
            "the provider's system got {seen:?}"
        );
    }
    assert!(core.stop().success());
    assert!(vodokanal.stop().success());

    let here = uses(&store_url(&core_data, core_db.as_deref())).await;
    let there = uses(&store_url(&vodokanal_data, None)).await;
    assert_eq!((here.len(), there.len()), (1, 1), "{here:?}\n{there:?}");
    let (consumer, provider) = (of(&here, "msg-min4-both"), of(&there, "msg-min4-both"));
    assert_eq!(consumer.fields, provider.fields);
    assert_eq!(
        provider.fields, GRANTED,
        "the provider's node records the grant"
    );
    for (a, b) in [
        (&consumer.agreement, &provider.agreement),
        (&consumer.receiver_system, &provider.receiver_system),
        (&consumer.receiver_code, &provider.receiver_code),
        (&consumer.provider, &provider.provider),
        (&consumer.action, &provider.action),
    ] {
        assert_eq!(a, b);
    }
    assert_eq!(
        (&consumer.purpose, &consumer.legal_basis),
        (&provider.purpose, &provider.legal_basis)
    );
    // The subject is told once, by the provider's node.
    assert!(provider.notify && !consumer.notify);
}

/// What the stand-in for the provider's node does with the list of released fields.
type Say = Arc<Mutex<Option<&'static str>>>;

/// Passes every call on to the real provider's node, as the consumer's node would, and answers
/// with that node's sealed answer, its list of released fields replaced by what `say` holds
/// (none when it holds nothing).
async fn relay(
    State((fed, node, say)): State<(Arc<Federation>, u16, Say)>,
    request: Request,
) -> Response {
    let client = fed.node_client("gw-core");
    let (parts, body) = request.into_parts();
    let target = format!(
        "https://127.0.0.1:{node}{}",
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let mut headers = parts.headers.clone();
    headers.remove("host");
    let answer = client
        .request(parts.method.clone(), target)
        .headers(headers)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
    let mut headers = answer.headers().clone();
    headers.remove("content-length");
    headers.remove("transfer-encoding");
    headers.remove(RELEASED);
    if let Some(said) = *say.lock().unwrap() {
        headers.insert(RELEASED, HeaderValue::from_static(said));
    }
    let body = answer.bytes().await.unwrap();
    (status, headers, Body::from(body)).into_response()
}

/// Serves [`relay`] under the provider's node's own certificate; its port.
async fn lying_node(fed: Arc<Federation>, say: Say) -> u16 {
    use hromada::gateway::peer_tls::{NodeIdentity, serve_peer, server_config};
    let cert = std::fs::read(fed.root.join("pki/nodes/gw-vodokanal.crt")).unwrap();
    let key = std::fs::read(fed.root.join("dev-keys/nodes/gw-vodokanal.key")).unwrap();
    let anchors = hromada::crypto::read_certificates(&fed.root.join("pki/ca.crt")).unwrap();
    let config = server_config(&NodeIdentity::from_pem(&cert, &key).unwrap(), &anchors).unwrap();
    let port = free_port();
    let app = Router::new()
        .fallback(relay)
        .with_state((fed.clone(), fed.vodokanal_peer, say));
    let listen: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let config = axum_server::tls_rustls::RustlsConfig::from_config(config);
    tokio::spawn(serve_peer(listen, config, app, axum_server::Handle::new()));
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_lies_about_the_fields_or_says_nothing_gets_no_field_recorded_beyond_the_grant()
{
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let vodokanal_data = dir.path().join("vodokanal");
    let vodokanal = start(&fed, &vodokanal_data, "gw-vodokanal", &[]);
    wait_for_peer_listener(&vodokanal);

    // The consumer's node reaches the provider's node through the liar.
    let fed = Arc::new(fed);
    let say: Say = Arc::default();
    let liar = lying_node(fed.clone(), say.clone()).await;
    let core_tree = dir.path().join("core-tree");
    crate::common::copy_tree(&fed.root, &core_tree);
    let system = core_tree.join("spec/system.kdl");
    let text = std::fs::read_to_string(&system).unwrap();
    let real = format!("127.0.0.1:{}", fed.vodokanal_peer);
    assert!(text.contains(&real));
    std::fs::write(&system, text.replace(&real, &format!("127.0.0.1:{liar}"))).unwrap();
    let core_data = dir.path().join("core");
    let keys = fed.root.join("dev-keys");
    let keys = keys.to_str().unwrap();
    let core = Appliance::start(
        &core_tree,
        &core_data,
        &["--node", "gw-core", "--keys", keys],
    );
    core.wait_for("a revision applied", |s| {
        s["applied"]["revision"].is_string()
    });

    *say.lock().unwrap() = Some("holder_name,holder_rnokpp,note,debt_uah,holder_name");
    balance(&fed, &core, "msg-min4-lies", &[]).await;
    *say.lock().unwrap() = None;
    balance(&fed, &core, "msg-min4-silent", &[]).await;
    *say.lock().unwrap() = Some("debt_uah,%FF");
    balance(&fed, &core, "msg-min4-garbled", &[]).await;
    let log = core.log();
    assert!(core.stop().success());
    assert!(vodokanal.stop().success());

    let here = uses(&store_url(&core_data, None)).await;
    assert_eq!(here.len(), 3, "{here:?}");
    assert_eq!(
        of(&here, "msg-min4-lies").fields,
        ["holder_name", "debt_uah"]
    );
    assert!(of(&here, "msg-min4-silent").fields.is_empty());
    assert!(of(&here, "msg-min4-garbled").fields.is_empty());
    assert!(here.iter().all(|u| !u.notify));
    for said in [
        "named 2 field(s) as released by `vodokanal/balance` that agreement `registry-reads-water-balance` does not let pass",
        "does not say which fields it released (it sent no list of released fields)",
        "does not say which fields it released (a name in its list of released fields is not UTF-8)",
    ] {
        assert!(log.contains(said), "`{said}` is not logged:\n{log}");
    }
    assert!(!log.contains(ACCOUNT), "the subject is in the log:\n{log}");
}
