//! Finding 4 of issue 11: the message log anchored. One who can write the database rewrites a
//! record and recomputes every later hash, cuts the tail and moves the head back, changes
//! `logged_at`, forges a checkpoint: `audit verify` names what was done and where, with this
//! store's signed checkpoints and with another node's countersigned copies. Bodies disposed of
//! by retention leave a chain that still verifies and an export that says so.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use hromada::gateway::anchor::{self, NodeKeys};
use hromada::gateway::audit::{self, Anchors, Problem, Report};
use hromada::gateway::message_log::MessageLog;
use hromada::store::{
    Checkpoint, Exchange, GENESIS_HASH, Link, LogRecord, Side, Store, chain_hash,
};
use openssl::ec::EcKey;
use openssl::pkey::Private;

use crate::both;
use crate::common::appliance::Appliance;
use crate::common::db::Db;
use crate::common::federation::Federation;
use crate::common::xroad::{call, start, wait_for_peer_listener};
use crate::common::{holds_within_30s, hromada};

const NODE: &str = "gw";

/// Exchange number `n` of node [`NODE`], with a kept response body.
fn exchange(n: i64) -> Exchange {
    let at = Utc::now();
    Exchange {
        message_id: format!("msg-{n}"),
        request_id: format!("req-{n}"),
        node: NODE.into(),
        side: Side::Producer,
        client: "UA/GOV/04363395/portal".into(),
        service: "UA/COM/03327121/billing/balance".into(),
        consumer: Some("council/portal".into()),
        provider: Some("council/balance".into()),
        agreement: Some("portal-balance".into()),
        method: "GET".into(),
        path: format!("/accounts/{n}/balance"),
        operation: Some("/accounts/*/balance".into()),
        user_id: None,
        issue: None,
        request_in: at,
        request_out: at,
        response_in: at,
        response_out: at,
        request_size: 0,
        response_size: 16,
        status: 200,
        error: None,
        fault: None,
        request_hash: "3q2+7w==".into(),
        response_digest: "ab".repeat(32),
        request_seal: None,
        response_seal: None,
        request_body: None,
        response_body: Some(br#"{"balance":12.5}"#.to_vec().into()),
    }
}

/// A node key and the keys `audit verify` checks [`NODE`]'s checkpoints with.
fn node_key() -> (EcKey<Private>, NodeKeys) {
    let key = EcKey::generate(
        openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1)
            .unwrap()
            .as_ref(),
    )
    .unwrap();
    let public = EcKey::from_public_key(key.group(), key.public_key()).unwrap();
    (key, BTreeMap::from([(NODE.to_string(), Ok(public))]))
}

/// Writes exchanges `from..=to` through a MessageLog, one at a time.
async fn fill(store: &Store, from: i64, to: i64) {
    let ledger = MessageLog::new(store.clone());
    for n in from..=to {
        ledger.record(exchange(n), None).await.unwrap();
    }
    ledger.close().await;
}

/// Signs the current head of [`NODE`] and stores the checkpoint, as the node does.
async fn checkpoint(store: &Store, key: &EcKey<Private>) -> Checkpoint {
    let head = store.message_log_head(NODE).await.unwrap().unwrap();
    let signed = anchor::sign(key, &head, Utc::now()).unwrap();
    assert!(store.save_checkpoint(&signed).await.unwrap());
    signed
}

async fn report(store: &Store, keys: &NodeKeys, peers: Vec<(String, &Store)>) -> Report {
    let anchors = Anchors {
        keys: Some(keys),
        peers,
    };
    audit::verify_anchored(store, Some(NODE), &anchors)
        .await
        .unwrap()
}

fn problem(report: &Report) -> Problem {
    assert!(!report.intact(), "{report:?}");
    report.nodes[0].problem.clone().unwrap()
}

/// Runs statements on the database behind `url`, past the store's API (what a tamperer does).
async fn execute(url: &str, statements: &[String]) {
    if url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        for sql in statements {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        for sql in statements {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }
}

fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Changes record `seq` of [`NODE`] with `change`, then recomputes its hash and every later one
/// and moves the head: the chain is whole again, as only a checkpoint can tell.
async fn rewrite_and_recompute(
    store: &Store,
    url: &str,
    seq: i64,
    change: impl Fn(&mut LogRecord),
) {
    rewrite_node(store, url, NODE, seq, change).await;
}

/// [`rewrite_and_recompute`] on the chain of `node`.
async fn rewrite_node(
    store: &Store,
    url: &str,
    node: &str,
    seq: i64,
    change: impl Fn(&mut LogRecord),
) {
    let mut records = store.message_log(node, 0, 10_000).await.unwrap();
    let at = usize::try_from(seq - 1).unwrap();
    change(&mut records[at]);
    let mut sql = Vec::new();
    for i in at..records.len() {
        if i > 0 {
            records[i].prev_hash = records[i - 1].hash.clone();
        }
        records[i].hash = chain_hash(&records[i].link()).unwrap();
        let r = &records[i];
        sql.push(format!(
            "UPDATE message_log SET entry = {}, logged_at = {}, prev_hash = {}, hash = {} \
             WHERE node = '{node}' AND seq = {}",
            quoted(&r.entry),
            quoted(&r.logged_at),
            quoted(&r.prev_hash),
            quoted(&r.hash),
            r.seq
        ));
    }
    let last = records.last().unwrap();
    sql.push(format!(
        "UPDATE message_log_head SET hash = {} WHERE node = '{node}'",
        quoted(&last.hash)
    ));
    execute(url, &sql).await;
}

/// Cuts the records after `keep` and moves the head back to record `keep`.
async fn cut_after(store: &Store, url: &str, keep: i64) {
    let kept = store.message_log(NODE, keep - 1, 1).await.unwrap();
    execute(
        url,
        &[
            format!("DELETE FROM message_log WHERE node = '{NODE}' AND seq > {keep}"),
            format!(
                "UPDATE message_log_head SET seq = {keep}, hash = {} WHERE node = '{NODE}'",
                quoted(&kept[0].hash)
            ),
        ],
    )
    .await;
}

both! {
    async fn a_record_rewritten_with_every_later_hash_recomputed_is_named_by_its_checkpoint(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let (key, keys) = node_key();
        fill(&store, 1, 5).await;
        checkpoint(&store, &key).await;
        fill(&store, 6, 10).await;
        checkpoint(&store, &key).await;
        fill(&store, 11, 12).await;
        assert!(report(&store, &keys, vec![]).await.intact());

        rewrite_and_recompute(&store, &db.url, 7, |r| {
            r.entry = r.entry.replace(r#""status":200"#, r#""status":404"#);
        })
        .await;
        // The chain itself is whole: without checkpoints this passed.
        let head = store.message_log_head(NODE).await.unwrap().unwrap();
        assert_eq!(audit::verify_since(&store, &head, None).await.unwrap(), None);
        let found = problem(&report(&store, &keys, vec![]).await);
        assert!(
            matches!(&found, Problem::Recomputed { anchor, after: 5 } if anchor.checkpoint.seq == 10),
            "{found:?}"
        );
        let text = found.to_string();
        assert!(
            text.starts_with("the chain does not match checkpoint 10 (signed at ")
                && text.contains("this store): a record after 5 and up to 10 was rewritten"),
            "{text}"
        );
        store.close().await;
    }

    async fn a_tail_cut_with_the_head_moved_back_is_truncation(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let (key, keys) = node_key();
        fill(&store, 1, 10).await;
        checkpoint(&store, &key).await;
        cut_after(&store, &db.url, 7).await;
        // The chain ends where its head says: only the checkpoint knows it was longer.
        let head = store.message_log_head(NODE).await.unwrap().unwrap();
        assert_eq!(audit::verify_since(&store, &head, None).await.unwrap(), None);
        let found = problem(&report(&store, &keys, vec![]).await);
        assert!(matches!(&found, Problem::Truncated { records: 7, .. }), "{found:?}");
        let text = found.to_string();
        assert!(
            text.starts_with("the chain ends at record 7, before checkpoint 10 (signed at ")
                && text.contains("records 8 to 10 at least were cut off"),
            "{text}"
        );
        // The whole chain removed, head and all: its checkpoint is still there to say so.
        execute(
            &db.url,
            &[
                "DELETE FROM message_log".to_string(),
                "DELETE FROM message_log_head".to_string(),
            ],
        )
        .await;
        let anchors = Anchors { keys: Some(&keys), peers: vec![] };
        let all = audit::verify_anchored(&store, None, &anchors).await.unwrap();
        let found = problem(&all);
        assert!(matches!(&found, Problem::Truncated { records: 0, .. }), "{found:?}");
        store.close().await;
    }

    async fn a_changed_logged_at_is_an_altered_record(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let (_, keys) = node_key();
        fill(&store, 1, 4).await;
        execute(
            &db.url,
            &[format!(
                "UPDATE message_log SET logged_at = '2020-01-01T00:00:00.000000000Z' \
                 WHERE node = '{NODE}' AND seq = 3"
            )],
        )
        .await;
        assert_eq!(
            problem(&report(&store, &keys, vec![]).await).to_string(),
            "record 3 (message id msg-3) was altered"
        );
        store.close().await;
    }

    async fn a_forged_checkpoint_is_named(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let (key, keys) = node_key();
        fill(&store, 1, 6).await;
        let real = checkpoint(&store, &key).await;
        // The chain rewritten and recomputed, and the checkpoint made to agree with it: without
        // the node's key the signature no longer fits.
        rewrite_and_recompute(&store, &db.url, 2, |r| r.entry = r.entry.replace("GET", "DELETE"))
            .await;
        let head = store.message_log_head(NODE).await.unwrap().unwrap();
        execute(
            &db.url,
            &[format!(
                "UPDATE message_log_checkpoints SET hash = {} WHERE node = '{NODE}' AND seq = {}",
                quoted(&head.hash),
                real.seq
            )],
        )
        .await;
        let found = problem(&report(&store, &keys, vec![]).await);
        assert!(matches!(found, Problem::ForgedCheckpoint { .. }), "{found:?}");
        assert!(
            found.to_string().starts_with("checkpoint 6 (signed at ")
                && found.to_string().contains(
                    "this store) is not signed by the node's key (the seal does not match"
                ),
            "{found}"
        );
        // Signed with another key, a checkpoint is just as forged.
        let (other, _) = node_key();
        let forged = anchor::sign(&other, &head, Utc::now()).unwrap();
        execute(&db.url, &["DELETE FROM message_log_checkpoints".to_string()]).await;
        store.save_checkpoint(&forged).await.unwrap();
        assert!(matches!(
            problem(&report(&store, &keys, vec![]).await),
            Problem::ForgedCheckpoint { .. }
        ));
        store.close().await;
    }

    async fn a_peers_copy_catches_a_cut_whose_checkpoints_were_deleted_too(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let peer_db = Db::sqlite();
        let peer = Store::connect(&peer_db.url).await.unwrap();
        let (key, mut keys) = node_key();
        let (peer_key, peer_keys) = node_key();
        keys.insert("gw-b".into(), peer_keys.into_values().next().unwrap());
        fill(&store, 1, 9).await;
        let sent = checkpoint(&store, &key).await;
        let copy = anchor::countersign(&peer_key, sent, "gw-b", Utc::now()).unwrap();
        assert!(peer.save_peer_checkpoint(&copy).await.unwrap());
        // On this database too (the other node's may be either): one copy per node and seq.
        assert!(store.save_peer_checkpoint(&copy).await.unwrap());
        assert!(!store.save_peer_checkpoint(&copy).await.unwrap());
        assert_eq!(store.peer_checkpoint(NODE, 9).await.unwrap(), Some(copy.clone()));
        assert_eq!(store.peer_checkpoint(NODE, 8).await.unwrap(), None);
        assert!(report(&store, &keys, vec![("gw-b".into(), &peer)]).await.intact());
        // A copy the other node did not countersign as it holds it is no evidence.
        let mut forged = copy.clone();
        forged.received_at = "2020-01-01T00:00:00.000000000Z".into();
        forged.checkpoint.seq = 5;
        let resigned = anchor::sign(&key, &store.message_log(NODE, 4, 1).await.unwrap()
            .into_iter().map(|r| hromada::store::LogHead { node: r.node, seq: r.seq, hash: r.hash })
            .next().unwrap(), Utc::now()).unwrap();
        forged.checkpoint = resigned;
        let other_db = Db::sqlite();
        let other = Store::connect(&other_db.url).await.unwrap();
        other.save_peer_checkpoint(&forged).await.unwrap();
        let found = problem(&report(&store, &keys, vec![("gw-b".into(), &other)]).await);
        assert!(
            found.to_string().contains("its countersignature by node `gw-b` does not hold"),
            "{found}"
        );
        other.close().await;

        cut_after(&store, &db.url, 4).await;
        execute(&db.url, &["DELETE FROM message_log_checkpoints".to_string()]).await;
        assert!(
            report(&store, &keys, vec![]).await.intact(),
            "alone, the cut store has nothing to disagree with"
        );
        let found = problem(&report(&store, &keys, vec![("gw-b".into(), &peer)]).await);
        let text = found.to_string();
        assert!(
            text.starts_with("the chain ends at record 4, before checkpoint 9 (signed at ")
                && text.contains("node gw-b's copy)"),
            "{text}"
        );
        store.close().await;
        peer.close().await;
    }

    async fn records_written_before_the_upgrade_keep_verifying(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let (key, keys) = node_key();
        // A record of format 1, as the previous version wrote it: bodies inside the entry, the
        // hash over prev_hash, seq, node and entry only.
        let old = exchange(1);
        let entry = serde_json::to_string(&old).unwrap();
        let hash = chain_hash(&Link {
            format: 1,
            prev_hash: GENESIS_HASH,
            seq: 1,
            node: NODE,
            message_id: "msg-1",
            logged_at: "2026-11-30T00:00:00.000000000Z",
            bodies_digest: None,
            entry: &entry,
        })
        .unwrap();
        execute(
            &db.url,
            &[
                format!(
                    "INSERT INTO message_log (node, seq, message_id, logged_at, entry, prev_hash, \
                     hash) VALUES ('{NODE}', 1, 'msg-1', '2026-11-30T00:00:00.000000000Z', {}, \
                     '{GENESIS_HASH}', '{hash}')",
                    quoted(&entry)
                ),
                format!("INSERT INTO message_log_head (node, seq, hash) VALUES ('{NODE}', 1, '{hash}')"),
            ],
        )
        .await;
        fill(&store, 2, 3).await;
        checkpoint(&store, &key).await;
        let records = store.message_log(NODE, 0, 10).await.unwrap();
        assert_eq!(records.iter().map(|r| r.format).collect::<Vec<_>>(), [1, 2, 2]);
        assert_eq!(records[0].exchange().unwrap(), old, "its bodies read back from the entry");
        let verdict = report(&store, &keys, vec![]).await;
        assert!(verdict.intact(), "{verdict:?}");
        store.close().await;
    }

    async fn disposed_bodies_leave_a_chain_that_verifies(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let (key, keys) = node_key();
        fill(&store, 1, 3).await;
        checkpoint(&store, &key).await;
        let before = Utc::now() + TimeDelta::seconds(1);
        assert_eq!(store.dispose_bodies(before, Utc::now()).await.unwrap(), 3);
        assert_eq!(store.dispose_bodies(before, Utc::now()).await.unwrap(), 0);
        let records = store.message_log(NODE, 0, 10).await.unwrap();
        for r in &records {
            assert_eq!(r.bodies, None);
            assert!(r.bodies_digest.is_some() && r.disposed_at.is_some(), "{r:?}");
            assert_eq!(r.exchange().unwrap().response_body, None);
        }
        let verdict = report(&store, &keys, vec![]).await;
        assert!(verdict.intact(), "{verdict:?}");
        assert_eq!(verdict.nodes[0].checkpoints, 1);
        // A body put back other than it was does not match its digest.
        execute(
            &db.url,
            &[format!(
                "UPDATE message_log SET bodies = '{{\"request_body\":null,\"response_body\":\"e30=\"}}' \
                 WHERE node = '{NODE}' AND seq = 2"
            )],
        )
        .await;
        assert_eq!(
            problem(&report(&store, &keys, vec![]).await).to_string(),
            "record 2 (message id msg-2) was altered"
        );
        store.close().await;
    }
}

/// `hromada audit verify` of the store in `data`, held to the copies of its checkpoints in the
/// other node's store that `peer` (`NODE=URL`) names.
fn verify_with_copies(root: &str, data: &str, peer: &str) -> std::process::Output {
    hromada(&["audit", "verify", root, "--data-dir", data, "--peer", peer])
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn sqlite_url(data: &Path) -> String {
    format!("sqlite://{}", data.join("hromada.db").display())
}

/// Polls `what` until it holds, for at most 30 s.
async fn eventually<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    assert!(holds_within_30s(check).await, "not within 30 s: {what}");
}

/// A call of the council's registry to the water utility's balance service through `core`.
async fn ask(core: &Appliance, fed: &Federation, n: usize) {
    let id = format!("msg-anchor-{n}");
    let r = call(
        core,
        "GET",
        &fed.balance_path("/accounts/120045/balance"),
        &[
            ("X-Road-Client", &fed.registry_client()),
            ("X-Road-Id", &id),
        ],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Calls through `core` (numbered on from `*n`) until each node keeps a copy of the other's
/// checkpoint.
async fn until_each_keeps_the_other(
    core: &Appliance,
    fed: &Federation,
    stores: (&Store, &Store),
    n: &mut usize,
) {
    let (core_store, vodokanal_store) = stores;
    let start = Instant::now();
    loop {
        *n += 1;
        ask(core, fed, *n).await;
        if !vodokanal_store
            .peer_checkpoints("gw-core")
            .await
            .unwrap()
            .is_empty()
            && !core_store
                .peer_checkpoints("gw-vodokanal")
                .await
                .unwrap()
                .is_empty()
        {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the nodes kept no copy of each other's checkpoints within 30 s\n{}",
            core.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_countersign_each_others_checkpoints_and_dispose_of_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    // A city that keeps message log bodies for two seconds, its policy's floor lowered to match.
    fed.edit("spec/retention.kdl", "period \"3y\"", "period \"2s\"");
    fed.edit(
        "policies/classes.kdl",
        "retention-floor \"message-log\" period=\"3y\"",
        "retention-floor \"message-log\" period=\"1s\"",
    );
    let (core_data, vodokanal_data) = (dir.path().join("core"), dir.path().join("vodokanal"));
    let often = ["--checkpoint-every", "200ms", "--dispose-every", "500ms"];
    let vodokanal = start(&fed, &vodokanal_data, "gw-vodokanal", &often);
    wait_for_peer_listener(&vodokanal);
    let core = start(&fed, &core_data, "gw-core", &often);
    let (core_url, vodokanal_url) = (sqlite_url(&core_data), sqlite_url(&vodokanal_data));
    let core_store = Store::connect(&core_url).await.unwrap();
    let vodokanal_store = Store::connect(&vodokanal_url).await.unwrap();

    let mut n = 0;
    until_each_keeps_the_other(&core, &fed, (&core_store, &vodokanal_store), &mut n).await;
    let copy = vodokanal_store
        .peer_checkpoints("gw-core")
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(copy.received_by, "gw-vodokanal");
    let keys = anchor::node_keys(&fed.root).unwrap();
    let Ok(vodokanal_key) = &keys["gw-vodokanal"] else {
        panic!("no key of gw-vodokanal")
    };
    anchor::verify_countersignature(vodokanal_key, &copy).unwrap();

    let (_, metrics) = core.get("/metrics");
    for line in [
        "hromada_message_log_checkpoints_total{outcome=\"signed\"} ",
        "hromada_peer_checkpoints_total{outcome=\"kept\"} ",
        "hromada_message_log_checkpoint_seq ",
    ] {
        assert!(metrics.contains(line), "no `{line}` in\n{metrics}");
    }

    // Retention: two seconds, then the bodies go and their digests stay.
    eventually(
        "the bodies of the first exchange are disposed of",
        || async {
            core_store.message_by_id("msg-anchor-1").await.unwrap()[0]
                .disposed_at
                .is_some()
        },
    )
    .await;
    core.stop();
    vodokanal.stop();
    core_store.close().await;
    vodokanal_store.close().await;

    let root = fed.root.to_str().unwrap();
    let core_dir = core_data.to_str().unwrap();
    let peer = format!("gw-vodokanal={vodokanal_url}");
    let verified = verify_with_copies(root, core_dir, &peer);
    let out = text(&verified.stdout);
    assert_eq!(
        verified.status.code(),
        Some(0),
        "{out}{}",
        text(&verified.stderr)
    );
    assert!(out.contains("chain intact, held to "), "{out}");
    assert!(!out.contains("not checked"), "{out}");

    let export = dir.path().join("msg-1.p7m");
    let exported = hromada(&[
        "audit",
        "export",
        "msg-anchor-1",
        root,
        "--data-dir",
        core_dir,
        "--out",
        export.to_str().unwrap(),
    ]);
    assert!(exported.status.success(), "{}", text(&exported.stderr));
    assert!(
        text(&exported.stdout).contains("the bodies of 1 of them were disposed of by retention"),
        "{}",
        text(&exported.stdout)
    );
    let content = text(&std::fs::read(&export).unwrap());
    assert!(
        content.contains("\"disposed\": \""),
        "the export says the bodies were disposed of"
    );

    // The consumer's node cut back before the checkpoint the provider's node holds, its own
    // checkpoints deleted: alone it looks whole, the provider's copy disagrees.
    let store = Store::connect(&core_url).await.unwrap();
    let kept = copy.checkpoint.seq - 1;
    let records = store.message_log("gw-core", 0, 10_000).await.unwrap();
    let head = if kept == 0 {
        hromada::store::GENESIS_HASH.to_string()
    } else {
        records[usize::try_from(kept - 1).unwrap()].hash.clone()
    };
    store.close().await;
    execute(
        &core_url,
        &[
            format!("DELETE FROM message_log WHERE node = 'gw-core' AND seq > {kept}"),
            "DELETE FROM message_log_checkpoints".into(),
            format!(
                "UPDATE message_log_head SET seq = {kept}, hash = '{head}' WHERE node = 'gw-core'"
            ),
        ],
    )
    .await;
    let alone = hromada(&["audit", "verify", root, "--data-dir", core_dir]);
    assert_eq!(alone.status.code(), Some(0), "{}", text(&alone.stdout));
    let caught = verify_with_copies(root, core_dir, &peer);
    let out = text(&caught.stdout);
    assert_eq!(caught.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "node gw-core: the chain ends at record {kept}, before checkpoint {}",
            copy.checkpoint.seq
        )) && out.contains("node gw-vodokanal's copy)"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_log_gets_no_checkpoint_and_the_peers_copy_contradicts_it() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let (core_data, vodokanal_data) = (dir.path().join("core"), dir.path().join("vodokanal"));
    let often = ["--checkpoint-every", "200ms"];
    let vodokanal = start(&fed, &vodokanal_data, "gw-vodokanal", &often);
    wait_for_peer_listener(&vodokanal);
    let core = start(&fed, &core_data, "gw-core", &often);
    let (core_url, vodokanal_url) = (sqlite_url(&core_data), sqlite_url(&vodokanal_data));
    let core_store = Store::connect(&core_url).await.unwrap();
    let vodokanal_store = Store::connect(&vodokanal_url).await.unwrap();
    let mut n = 0;
    until_each_keeps_the_other(&core, &fed, (&core_store, &vodokanal_store), &mut n).await;

    // Rewritten under the running node, every later hash recomputed: the node will not sign
    // a head over records that no longer follow its last checkpoint.
    rewrite_node(&core_store, &core_url, "gw-core", 1, |r| {
        r.entry = r.entry.replace(r#""status":200"#, r#""status":404"#);
    })
    .await;
    n += 1;
    ask(&core, &fed, n).await;
    eventually(
        "the node refuses to checkpoint the rewritten log",
        || async {
            core.log()
                .contains("no checkpoint of the message log of node `gw-core`: record ")
        },
    )
    .await;
    core.stop();

    // The operator goes further: cuts the chain back to the checkpoint the water utility's
    // node keeps, deletes the node's own checkpoints and restarts it, which signs the
    // rewritten head afresh. The next call carries it, and the other node's copy disagrees.
    let copy = vodokanal_store
        .peer_checkpoints("gw-core")
        .await
        .unwrap()
        .pop()
        .unwrap();
    let c = copy.checkpoint.seq;
    let records = core_store.message_log("gw-core", 0, c).await.unwrap();
    let rewritten = records.last().unwrap().hash.clone();
    assert_ne!(rewritten, copy.checkpoint.hash);
    execute(
        &core_url,
        &[
            format!("DELETE FROM message_log WHERE node = 'gw-core' AND seq > {c}"),
            "DELETE FROM message_log_checkpoints".into(),
            format!(
                "UPDATE message_log_head SET seq = {c}, hash = '{rewritten}' \
                 WHERE node = 'gw-core'"
            ),
        ],
    )
    .await;
    let core = start(&fed, &core_data, "gw-core", &["--checkpoint-every", "1s"]);
    eventually("the restarted node signs the rewritten head", || async {
        core_store
            .latest_checkpoint("gw-core")
            .await
            .unwrap()
            .is_some_and(|latest| latest.seq == c && latest.hash == rewritten)
    })
    .await;
    let mut contradicted = false;
    let start_at = Instant::now();
    while !contradicted {
        n += 1;
        ask(&core, &fed, n).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        contradicted = vodokanal.log().contains(&format!(
            "node `gw-core` sent checkpoint {c} with a head other than the copy this node keeps"
        ));
        assert!(
            start_at.elapsed() < Duration::from_secs(30),
            "the water utility's node did not notice within 30 s\n{}",
            vodokanal.log()
        );
    }
    let (_, metrics) = vodokanal.get("/metrics");
    assert!(
        metrics.contains("hromada_peer_checkpoints_total{outcome=\"disagrees\"} 1"),
        "{metrics}"
    );
    core.stop();
    vodokanal.stop();
    core_store.close().await;
    vodokanal_store.close().await;

    // Its own store agrees with itself; the other node's copy does not.
    let root = fed.root.to_str().unwrap();
    let core_dir = core_data.to_str().unwrap();
    let peer = format!("gw-vodokanal={vodokanal_url}");
    let caught = verify_with_copies(root, core_dir, &peer);
    let out = text(&caught.stdout);
    assert_eq!(caught.status.code(), Some(1), "{out}");
    assert!(
        out.contains("node gw-core: the chain does not match checkpoint ")
            && out.contains("node gw-vodokanal's copy): a record after 0 and up to"),
        "{out}"
    );
}
