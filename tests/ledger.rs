//! The gateway's ledger on both databases: chained message log, operational and subject records,
//! the group-commit writer under concurrency and with two replicas of one node, tampering found
//! and named by `audit verify`, and the `hromada audit` command. Every `both!` test runs as
//! `<name>::sqlite` and `<name>::postgres` (skipped loudly without PostgreSQL, except under CI).

mod common;

use std::collections::BTreeSet;

use chrono::{DateTime, TimeZone, Utc};
use hromada::gateway::audit::{self, Problem};
use hromada::gateway::message_log::MessageLog;
use hromada::store::{
    Exchange, GENESIS_HASH, Link, MAX_BATCH, Side, Store, SubjectUse, chain_hash,
};
use tempfile::TempDir;

use common::db::Db;

const USER_ID: &str = "UA1234567890";
const SUBJECT: &str = "3021304567";

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(1_780_000_000_000 + ms).unwrap()
}

/// Exchange number `n` on `node`: a balance request carrying a personal path and user id.
fn exchange(node: &str, n: i64) -> Exchange {
    Exchange {
        message_id: format!("msg-{node}-{n}"),
        request_id: format!("r-{node}-{n}"),
        node: node.into(),
        side: Side::Producer,
        client: "UA/GOV/04363395/portal".into(),
        service: "UA/COM/03327121/billing/balance".into(),
        consumer: Some("council/portal".into()),
        provider: Some("council/balance".into()),
        agreement: Some("portal-balance".into()),
        method: "GET".into(),
        path: format!("/accounts/{SUBJECT}/balance?month=2026-{n:02}"),
        operation: Some("/accounts/*/balance".into()),
        user_id: Some(USER_ID.into()),
        issue: Some(format!("case-{n}")),
        request_in: at(n * 100),
        request_out: at(n * 100 + 1),
        response_in: at(n * 100 + 5),
        response_out: at(n * 100 + 6),
        request_size: 0,
        response_size: 42,
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

fn subject_use(e: &Exchange, notify: bool) -> SubjectUse {
    SubjectUse {
        subject: SUBJECT.into(),
        logtime: e.response_out,
        message_id: e.message_id.clone(),
        action: "GET /accounts/*/balance".into(),
        receiver_code: "04363395".into(),
        receiver_name: "Щасливська сільська рада".into(),
        receiver_system: "council/portal".into(),
        provider: "council/balance".into(),
        agreement: "portal-balance".into(),
        purpose: Some("нарахування субсидії".into()),
        legal_basis: Some("ЗУ «Про звернення громадян»".into()),
        fields: vec!["balance".into()],
        notify,
    }
}

/// Runs `sql` on the database behind `url`, past the store's API (what a tamperer would do).
async fn execute(url: &str, sql: &str) {
    if url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
    }
}

/// Writes `n` exchanges of node `gw` through a MessageLog, one at a time.
async fn fill(store: &Store, n: i64) {
    let ledger = MessageLog::new(store.clone());
    for i in 1..=n {
        ledger.record(exchange("gw", i), None).await.unwrap();
    }
    ledger.close().await;
}

async fn problem(store: &Store) -> Problem {
    let report = audit::verify(store, Some("gw")).await.unwrap();
    assert!(!report.intact());
    report.nodes[0].problem.clone().unwrap()
}

both! {
    async fn a_batch_extends_each_nodes_chain(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        // An empty batch is answered at once and starts no chain.
        assert!(store.record_exchanges(Vec::new()).await.unwrap().is_empty());
        let batch: Vec<_> = [("gw-a", 1), ("gw-b", 1), ("gw-a", 2), ("gw-a", 3), ("gw-b", 2)]
            .into_iter()
            .map(|(node, n)| (exchange(node, n), None))
            .collect();
        let receipts = store.record_exchanges(batch.clone()).await.unwrap();
        assert_eq!(
            receipts.iter().map(|r| r.seq).collect::<Vec<_>>(),
            [1, 1, 2, 3, 2]
        );
        // A second batch continues where the first ended.
        let more = store
            .record_exchanges(vec![(exchange("gw-a", 4), None)])
            .await
            .unwrap();
        assert_eq!(more[0].seq, 4);

        let log = store.message_log("gw-a", 0, 100).await.unwrap();
        assert_eq!(log.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert_eq!(log[0].prev_hash, GENESIS_HASH);
        for pair in log.windows(2) {
            assert_eq!(pair[1].prev_hash, pair[0].hash);
        }
        for r in &log {
            assert_eq!(Some(&r.hash), chain_hash(&r.link()).as_ref());
            assert!(r.hashes_right());
        }
        assert_eq!(log[3].hash, more[0].hash);
        // Paging: after seq 2, at most 1.
        let page = store.message_log("gw-a", 2, 1).await.unwrap();
        assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), [3]);

        // The entry is the exchange itself; its bodies, in base64, are kept beside it.
        let found = store.message_by_id("msg-gw-a-2").await.unwrap();
        assert_eq!(found.len(), 1);
        assert!(found[0].entry.contains(r#""response_body":null"#));
        let bodies = found[0].bodies.as_deref().unwrap();
        assert!(bodies.contains(r#""response_body":"eyJiYWxhbmNlIjoxMi41fQ==""#));
        assert_eq!(found[0].exchange().unwrap(), exchange("gw-a", 2));
        assert!(store.message_by_id("no-such-message").await.unwrap().is_empty());

        let report = audit::verify(&store, None).await.unwrap();
        assert!(report.intact(), "{report:?}");
        assert_eq!(report.records(), 6);
        assert_eq!(
            report.nodes.iter().map(|n| (n.node.as_str(), n.records)).collect::<Vec<_>>(),
            [("gw-a", 4), ("gw-b", 2)]
        );
        store.close().await;
    }

    async fn operational_records_carry_no_path_or_user(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let mut failed = exchange("gw", 2);
        failed.status = 504;
        failed.error = Some("Server.ServerProxy.ServiceFailed".into());
        failed.side = Side::Client;
        store
            .record_exchanges(vec![(exchange("gw", 1), None), (failed, None)])
            .await
            .unwrap();
        let records = store.operational_records(at(0), 10).await.unwrap();
        assert_eq!(records.len(), 2);
        let json = serde_json::to_value(&records).unwrap();
        let first = &json[0];
        assert_eq!(first["securityServerType"], "producer");
        assert_eq!(first["requestInTs"], at(100).timestamp_millis());
        assert_eq!(first["responseOutTs"], at(106).timestamp_millis());
        assert_eq!(first["clientXRoadInstance"], "UA");
        assert_eq!(first["clientMemberCode"], "04363395");
        assert_eq!(first["clientSubsystemCode"], "portal");
        assert_eq!(first["serviceMemberCode"], "03327121");
        assert_eq!(first["serviceSubsystemCode"], "billing");
        assert_eq!(first["serviceCode"], "balance");
        assert_eq!(first["messageId"], "msg-gw-1");
        assert_eq!(first["messageIssue"], "case-1");
        assert_eq!(first["messageProtocolVersion"], "r1");
        assert_eq!(first["responseSize"], 42);
        assert_eq!(first["succeeded"], true);
        assert_eq!(first["statusCode"], 200);
        assert_eq!(first["restMethod"], "GET");
        assert_eq!(first["restPath"], "/accounts/*/balance");
        let second = &json[1];
        assert_eq!(second["securityServerType"], "client");
        assert_eq!(second["succeeded"], false);
        assert_eq!(second["faultCode"], "Server.ServerProxy.ServiceFailed");
        let text = json.to_string();
        assert!(!text.contains(SUBJECT), "a raw path reached monitoring: {text}");
        assert!(!text.contains(USER_ID), "a user id reached monitoring: {text}");

        // `since` is inclusive and in milliseconds; `limit` bounds the answer.
        let later = store.operational_records(at(200), 10).await.unwrap();
        assert_eq!(later.iter().map(|r| r.message_id.as_str()).collect::<Vec<_>>(), ["msg-gw-2"]);
        assert_eq!(store.operational_records(at(0), 1).await.unwrap().len(), 1);
        store.close().await;
    }

    async fn subject_records_page_newest_first_with_notices(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let batch: Vec<_> = (1..=5)
            .map(|n| {
                let e = exchange("gw", n);
                let u = subject_use(&e, n == 2 || n == 5);
                (e, Some(u))
            })
            .chain([(exchange("gw", 6), None)])
            .collect();
        store.record_exchanges(batch.clone()).await.unwrap();
        let page1 = store.subject_uses(SUBJECT, 1, 2).await.unwrap();
        assert_eq!(page1.total, 5);
        let ids = |p: &hromada::store::SubjectUsePage| {
            p.uses.iter().map(|u| u.message_id.clone()).collect::<Vec<_>>()
        };
        assert_eq!(ids(&page1), ["msg-gw-5", "msg-gw-4"]);
        let page3 = store.subject_uses(SUBJECT, 3, 2).await.unwrap();
        assert_eq!(ids(&page3), ["msg-gw-1"]);
        assert!(store.subject_uses(SUBJECT, 4, 2).await.unwrap().uses.is_empty());
        let first = &page1.uses[0];
        assert_eq!(first.fields, ["balance"]);
        assert_eq!(first.receiver_system, "council/portal");
        assert_eq!(first.purpose.as_deref(), Some("нарахування субсидії"));
        let other = store.subject_uses("someone-else", 1, 20).await.unwrap();
        assert_eq!((other.total, other.uses.len()), (0, 0));

        let notices = store.pending_notices(10).await.unwrap();
        assert_eq!(notices.len(), 2);
        assert!(notices.iter().all(|n| n.subject == SUBJECT && n.status == "pending"));
        let noticed: BTreeSet<i64> = notices.iter().map(|n| n.subject_use).collect();
        let all = store.subject_uses(SUBJECT, 1, 10).await.unwrap();
        let expected: BTreeSet<i64> = all
            .uses
            .iter()
            .filter(|u| u.message_id == "msg-gw-2" || u.message_id == "msg-gw-5")
            .map(|u| u.id)
            .collect();
        assert_eq!(noticed, expected);
        store.close().await;
    }

    async fn a_subject_record_reads_back_as_written_or_is_named(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let batch: Vec<_> = (1..=3)
            .map(|n| {
                let e = exchange("gw", n);
                let u = subject_use(&e, n == 2);
                (e, Some(u))
            })
            .collect();
        store.record_exchanges(batch.clone()).await.unwrap();
        let read = store.subject_uses(SUBJECT, 1, 10).await.unwrap().uses;
        let mut read: Vec<SubjectUse> = read.into_iter().map(|r| r.subject_use).collect();
        read.reverse();
        let written: Vec<SubjectUse> = batch.into_iter().filter_map(|(_, u)| u).collect();
        // Time to the nanosecond, the fields released and whether a notice was queued.
        assert_eq!(read, written);

        // A record rewritten past the store's API is named, not passed on as it reads.
        execute(
            &db.url,
            "UPDATE subject_uses SET logtime = 'yesterday' WHERE message_id = 'msg-gw-1'",
        )
        .await;
        let error = store.subject_uses(SUBJECT, 1, 10).await.unwrap_err().to_string();
        assert!(error.contains("subject record "), "{error}");
        assert!(error.contains("holds a malformed log time `yesterday`"), "{error}");
        assert!(error.contains("the row was changed outside hromada"), "{error}");
        execute(
            &db.url,
            "UPDATE subject_uses SET logtime = '2026-05-28T20:26:40.000000000Z', \
             fields = 'balance' WHERE message_id = 'msg-gw-1'",
        )
        .await;
        let error = store.subject_uses(SUBJECT, 1, 10).await.unwrap_err().to_string();
        assert!(error.contains("are not a JSON list of names (`balance`)"), "{error}");
        // The other records, and the log they came with, are as they were.
        assert_eq!(store.pending_notices(10).await.unwrap().len(), 1);
        assert_eq!(store.message_log("gw", 0, 10).await.unwrap().len(), 3);
        assert!(audit::verify(&store, Some("gw")).await.unwrap().intact());
        store.close().await;
    }

    async fn concurrent_records_land_on_one_gap_free_chain(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let ledger = MessageLog::new(store.clone());
        let tasks: Vec<_> = (1..=300)
            .map(|n| {
                let ledger = ledger.clone();
                tokio::spawn(async move { ledger.record(exchange("gw", n), None).await })
            })
            .collect();
        let mut seqs = BTreeSet::new();
        for task in tasks {
            seqs.insert(task.await.unwrap().unwrap().seq);
        }
        assert_eq!(seqs, (1..=300).collect());
        ledger.close().await;
        let report = audit::verify(&store, Some("gw")).await.unwrap();
        assert!(report.intact(), "{report:?}");
        assert_eq!(report.records(), 300);
        store.close().await;
    }

    async fn two_replicas_of_one_node_keep_one_chain(db: Db) {
        let (one, two) = (
            Store::connect(&db.url).await.unwrap(),
            Store::connect(&db.url).await.unwrap(),
        );
        let ledgers = [MessageLog::new(one.clone()), MessageLog::new(two.clone())];
        let tasks: Vec<_> = (1..=200)
            .map(|n| {
                let ledger = ledgers[(n % 2) as usize].clone();
                tokio::spawn(async move { ledger.record(exchange("gw", n), None).await })
            })
            .collect();
        let mut seqs = BTreeSet::new();
        for task in tasks {
            assert!(seqs.insert(task.await.unwrap().unwrap().seq));
        }
        assert_eq!(seqs, (1..=200).collect());
        for ledger in &ledgers {
            ledger.close().await;
        }
        let report = audit::verify(&one, None).await.unwrap();
        assert!(report.intact(), "{report:?}");
        assert_eq!(report.records(), 200);
        one.close().await;
        two.close().await;
    }

    async fn replicas_taking_turns_extend_the_head_the_other_wrote(db: Db) {
        // Each store remembers the head it last wrote; the other's writes make that stale.
        let (one, two) = (
            Store::connect(&db.url).await.unwrap(),
            Store::connect(&db.url).await.unwrap(),
        );
        let mut seqs = Vec::new();
        for n in 1..=6 {
            let store = if n % 3 == 0 { &two } else { &one };
            let receipts = store
                .record_exchanges(vec![(exchange("gw", n), Some(subject_use(&exchange("gw", n), n == 4)))])
                .await
                .unwrap();
            seqs.push(receipts[0].seq);
        }
        assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);
        let report = audit::verify(&one, None).await.unwrap();
        assert!(report.intact(), "{report:?}");
        assert_eq!(report.records(), 6);
        let log = two.message_log("gw", 0, 10).await.unwrap();
        let ids: Vec<_> = log.iter().map(|r| r.message_id.as_str()).collect();
        assert_eq!(ids, ["msg-gw-1", "msg-gw-2", "msg-gw-3", "msg-gw-4", "msg-gw-5", "msg-gw-6"]);
        // Every row of a batch is written or none: one subject record each, one notice.
        assert_eq!(one.subject_uses(SUBJECT, 1, 50).await.unwrap().total, 6);
        assert_eq!(one.pending_notices(10).await.unwrap().len(), 1);
        assert_eq!(one.operational_records(at(0), 50).await.unwrap().len(), 6);
        one.close().await;
        two.close().await;
    }

    async fn a_head_moved_behind_the_writer_is_followed(db: Db) {
        // A head changed past the store (a restore, a replica on an older version) is read
        // again rather than forked from.
        let store = Store::connect(&db.url).await.unwrap();
        fill(&store, 3).await;
        let moved = "7".repeat(64);
        execute(
            &db.url,
            &format!("UPDATE message_log_head SET seq = 7, hash = '{moved}' WHERE node = 'gw'"),
        )
        .await;
        let receipts = store
            .record_exchanges(vec![(exchange("gw", 4), None)])
            .await
            .unwrap();
        assert_eq!(receipts[0].seq, 8);
        let log = store.message_log("gw", 7, 10).await.unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].prev_hash, moved);
        let heads = store.message_log_heads().await.unwrap();
        assert_eq!((heads[0].seq, heads[0].hash.as_str()), (8, receipts[0].hash.as_str()));
        store.close().await;
    }

    async fn a_batch_of_two_nodes_with_one_moved_head_forks_neither(db: Db) {
        // The store knows both heads from its first batch; a replica then moves one of them.
        let (one, two) = (
            Store::connect(&db.url).await.unwrap(),
            Store::connect(&db.url).await.unwrap(),
        );
        let both = |n| vec![(exchange("gw-a", n), None), (exchange("gw-b", n), None)];
        one.record_exchanges(both(1)).await.unwrap();
        two.record_exchanges(vec![(exchange("gw-b", 2), None)]).await.unwrap();
        let seqs: Vec<_> = one
            .record_exchanges(both(3))
            .await
            .unwrap()
            .iter()
            .map(|r| r.seq)
            .collect();
        assert_eq!(seqs, [2, 3]);
        let report = audit::verify(&one, None).await.unwrap();
        assert!(report.intact(), "{report:?}");
        assert_eq!(report.records(), 5);
        let heads: Vec<_> = one
            .message_log_heads()
            .await
            .unwrap()
            .into_iter()
            .map(|h| (h.node, h.seq))
            .collect();
        assert_eq!(heads, [("gw-a".to_string(), 2), ("gw-b".to_string(), 3)]);
        one.close().await;
        two.close().await;
    }

    async fn an_oversized_batch_is_refused_whole(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let batch: Vec<_> = (1..=MAX_BATCH as i64 + 1)
            .map(|n| (exchange("gw", n), None))
            .collect();
        let e = store.record_exchanges(batch).await.unwrap_err().to_string();
        assert!(e.contains(&format!("a batch holds at most {MAX_BATCH}")), "{e}");
        assert!(store.message_log_heads().await.unwrap().is_empty());
        store.close().await;
    }

    async fn an_altered_record_is_named(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        fill(&store, 20).await;
        execute(
            &db.url,
            "UPDATE message_log SET entry = REPLACE(entry, '\"status\":200', '\"status\":404') \
             WHERE node = 'gw' AND seq = 17",
        )
        .await;
        assert_eq!(
            problem(&store).await.to_string(),
            "record 17 (message id msg-gw-17) was altered"
        );
        store.close().await;
    }

    async fn a_removed_record_is_named(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        fill(&store, 20).await;
        execute(&db.url, "DELETE FROM message_log WHERE node = 'gw' AND seq = 17").await;
        assert_eq!(
            problem(&store).await.to_string(),
            "a record between 16 and 18 is missing"
        );
        execute(&db.url, "DELETE FROM message_log WHERE node = 'gw' AND seq >= 17").await;
        assert_eq!(
            problem(&store).await,
            Problem::Missing { after: 16, before: None }
        );
        store.close().await;
    }

    async fn swapped_records_are_named(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        fill(&store, 20).await;
        for sql in [
            "UPDATE message_log SET seq = 1000 WHERE node = 'gw' AND seq = 17",
            "UPDATE message_log SET seq = 17 WHERE node = 'gw' AND seq = 18",
            "UPDATE message_log SET seq = 18 WHERE node = 'gw' AND seq = 1000",
        ] {
            execute(&db.url, sql).await;
        }
        assert_eq!(
            problem(&store).await.to_string(),
            "record 17 (message id msg-gw-18) is out of order: it was written as record 18"
        );
        store.close().await;
    }

    async fn a_failed_commit_fails_the_record_with_the_reason(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let ledger = MessageLog::new(store.clone());
        store.close().await;
        let error = ledger.record(exchange("gw", 1), None).await.unwrap_err();
        let text = error.to_string();
        assert!(
            text.starts_with("message msg-gw-1 was not written to the message log: cannot write 1 message log record(s)"),
            "{text}"
        );
        assert!(text.contains("closed"), "{text}");
        ledger.close().await;
        let after = ledger.record(exchange("gw", 2), None).await.unwrap_err();
        assert!(after.to_string().contains("the ledger is closed"), "{after}");
    }

    async fn close_answers_every_record(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let ledger = MessageLog::new(store.clone());
        ledger.record(exchange("gw", 0), None).await.unwrap();
        let tasks: Vec<_> = (1..=50)
            .map(|n| {
                let ledger = ledger.clone();
                tokio::spawn(async move { ledger.record(exchange("gw", n), None).await })
            })
            .collect();
        ledger.close().await;
        // Every record resolves: written, or refused because the ledger closed first.
        let mut written = 1;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => written += 1,
                Err(e) => assert!(e.to_string().contains("the ledger is closed"), "{e}"),
            }
        }
        // Whatever was acknowledged is in the log, and nothing else.
        assert_eq!(store.message_log("gw", 0, 100).await.unwrap().len(), written);
        assert!(audit::verify(&store, None).await.unwrap().intact());
        store.close().await;
    }
}

fn hromada(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_hromada"))
        .args(args)
        .env_remove("HROMADA_DATABASE_URL")
        .env_remove("HROMADA_DATA_DIR")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A data folder whose SQLite store holds `n` exchanges of node `gw`.
async fn data_dir_with(n: i64) -> (TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/hromada.db", dir.path().display());
    let store = Store::connect(&url).await.unwrap();
    fill(&store, n).await;
    store.close().await;
    (dir, url)
}

#[tokio::test]
async fn audit_verify_exit_codes() {
    let (dir, url) = data_dir_with(5).await;
    let data = dir.path().to_str().unwrap();
    let ok = hromada(&["audit", "verify", "--data-dir", data]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    let out = text(&ok.stdout);
    assert!(out.contains("node gw: 5 records, chain intact"), "{out}");
    assert!(
        out.contains("chain intact: 5 record(s) on 1 node(s)"),
        "{out}"
    );
    let by_url = hromada(&["audit", "verify", "--database-url", &url, "--node", "gw"]);
    assert_eq!(by_url.status.code(), Some(0), "{}", text(&by_url.stderr));

    execute(
        &url,
        "UPDATE message_log SET entry = REPLACE(entry, '\"GET\"', '\"DELETE\"') WHERE seq = 3",
    )
    .await;
    let broken = hromada(&["audit", "verify", "--data-dir", data]);
    assert_eq!(broken.status.code(), Some(1));
    let out = text(&broken.stdout);
    assert!(
        out.contains(
            "node gw: record 3 (message id msg-gw-3) was altered (2 records verified before it)"
        ),
        "{out}"
    );

    let unknown = hromada(&["audit", "verify", "--data-dir", data, "--node", "gw-x"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown.stderr).contains("no records of node `gw-x`"));

    let empty = tempfile::tempdir().unwrap();
    let missing = hromada(&[
        "audit",
        "verify",
        "--data-dir",
        empty.path().to_str().unwrap(),
    ]);
    assert_eq!(missing.status.code(), Some(2));
    let err = text(&missing.stderr);
    assert!(
        err.contains("there is no store at") && err.contains("--data-dir"),
        "{err}"
    );
    assert!(
        !empty.path().join("hromada.db").exists(),
        "verify must not create a store"
    );
}

/// A copy of `examples/minimal` with development keys made by `hromada keys dev`.
fn minimal_with_keys() -> TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for folder in ["spec", "policies"] {
        common::copy_tree(&common::minimal().join(folder), &tmp.path().join(folder));
    }
    let keys = hromada(&["keys", "dev", tmp.path().to_str().unwrap()]);
    assert!(keys.status.success(), "{}", text(&keys.stderr));
    tmp
}

fn openssl_verify(
    file: &std::path::Path,
    ca: &std::path::Path,
    content: &std::path::Path,
) -> std::process::Output {
    std::process::Command::new("openssl")
        .args(["cms", "-verify", "-inform", "DER", "-in"])
        .arg(file)
        .arg("-CAfile")
        .arg(ca)
        .arg("-out")
        .arg(content)
        .output()
        .expect("openssl is installed")
}

#[tokio::test]
async fn audit_export_is_sealed_and_verified_by_openssl() {
    let tree = minimal_with_keys();
    let root = tree.path();
    let (dir, _url) = data_dir_with(3).await;
    let data = dir.path().to_str().unwrap();
    let out = dir.path().join("msg-2.p7m");
    let export = hromada(&[
        "audit",
        "export",
        "msg-gw-2",
        root.to_str().unwrap(),
        "--data-dir",
        data,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(export.status.success(), "{}", text(&export.stderr));
    assert!(text(&export.stdout).contains("sealed by participant `council`"));

    let content = dir.path().join("content.json");
    let verified = openssl_verify(&out, &root.join("pki/ca.crt"), &content);
    assert!(
        verified.status.success(),
        "openssl refused the export: {}",
        text(&verified.stderr)
    );
    let document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&content).unwrap()).unwrap();
    assert_eq!(document["message_id"], "msg-gw-2");
    let record = &document["records"][0];
    assert_eq!(record["seq"], 2);
    let entry = record["entry"].as_str().unwrap();
    let bodies = record["bodies"]["kept"].as_str().unwrap();
    assert_eq!(
        Exchange::from_log_entry(entry)
            .unwrap()
            .with_bodies(bodies)
            .unwrap(),
        exchange("gw", 2)
    );
    let digest = hromada::store::bodies_digest(bodies);
    assert_eq!(record["bodies_digest"].as_str(), Some(digest.as_str()));
    assert_eq!(
        Some(record["hash"].as_str().unwrap()),
        chain_hash(&Link {
            format: record["format"].as_i64().unwrap(),
            prev_hash: record["prev_hash"].as_str().unwrap(),
            seq: 2,
            node: "gw",
            message_id: "msg-gw-2",
            logged_at: record["logged_at"].as_str().unwrap(),
            bodies_digest: Some(&digest),
            entry,
        })
        .as_deref()
    );

    // One changed byte of the sealed content and openssl refuses it.
    let mut der = std::fs::read(&out).unwrap();
    let at = der.windows(8).position(|w| w == b"msg-gw-2").unwrap();
    der[at + 7] = b'3';
    let forged = dir.path().join("forged.p7m");
    std::fs::write(&forged, der).unwrap();
    assert!(
        !openssl_verify(&forged, &root.join("pki/ca.crt"), &content)
            .status
            .success()
    );
    // Another CA does not vouch for it.
    let other = minimal_with_keys();
    assert!(
        !openssl_verify(&out, &other.path().join("pki/ca.crt"), &content)
            .status
            .success()
    );
}

#[tokio::test]
async fn audit_export_says_what_is_missing() {
    let tree = minimal_with_keys();
    let root = tree.path().to_str().unwrap();
    let (dir, _url) = data_dir_with(1).await;
    let data = dir.path().to_str().unwrap();
    let out = dir.path().join("x.p7m");
    let out = out.to_str().unwrap();

    let export = |id: &str| {
        hromada(&[
            "audit",
            "export",
            id,
            root,
            "--data-dir",
            data,
            "--out",
            out,
        ])
    };
    let unknown = export("no-such-id");
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown.stderr).contains("no record of message id `no-such-id`"));

    let key = tree.path().join("dev-keys/seals/council.key");
    std::fs::write(&key, "not a key").unwrap();
    let garbage = export("msg-gw-1");
    assert_eq!(garbage.status.code(), Some(2));
    assert!(
        text(&garbage.stderr).contains("holds no PEM private key"),
        "{}",
        text(&garbage.stderr)
    );
    // A council key made for another tree: the export would not verify against this certificate.
    let other = minimal_with_keys();
    std::fs::copy(other.path().join("dev-keys/seals/council.key"), &key).unwrap();
    let wrong = export("msg-gw-1");
    assert_eq!(wrong.status.code(), Some(2));
    let err = text(&wrong.stderr);
    assert!(
        err.contains("is not the key of the seal certificate"),
        "{err}"
    );
    assert!(!std::path::Path::new(out).exists());

    std::fs::remove_file(&key).unwrap();
    let no_key = export("msg-gw-1");
    assert_eq!(no_key.status.code(), Some(2));
    let err = text(&no_key.stderr);
    assert!(
        err.contains("cannot use the seal key of participant `council`")
            && err.contains("hromada keys dev")
            && err.contains("--keys"),
        "{err}"
    );
    assert!(!std::path::Path::new(out).exists());
}

const TOKEN: &str = "s3cret-token-for-tests";

/// GET `path` of the appliance with an optional bearer token: status and JSON body.
async fn api(
    app: &common::appliance::Appliance,
    path: &str,
    token: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new().get(format!("{}{path}", app.url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (
        status,
        response.json().await.unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_api_needs_its_token_and_pages() {
    let tree = tempfile::tempdir().unwrap();
    common::copy_tree(&common::minimal(), tree.path());
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/hromada.db", data.path().display());
    let store = Store::connect(&url).await.unwrap();
    let batch: Vec<_> = (1..=5)
        .map(|n| {
            let e = exchange("gw", n);
            let u = subject_use(&e, false);
            (e, Some(u))
        })
        .collect();
    store.record_exchanges(batch.clone()).await.unwrap();
    store.close().await;
    let usage = format!("/api/subjects/{SUBJECT}/usage");

    let app = common::appliance::Appliance::start(tree.path(), data.path(), &[]);
    let (status, body) = api(&app, &usage, Some(TOKEN)).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("--api-token-file"),
        "{body}"
    );
    app.stop();

    let token_file = tree.path().join("api-token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let app = common::appliance::Appliance::start(
        tree.path(),
        data.path(),
        &["--api-token-file", token_file.to_str().unwrap()],
    );
    for token in [None, Some("wrong"), Some("s3cret-token-for-test")] {
        let (status, body) = api(&app, &usage, token).await;
        assert_eq!(status, 401, "{token:?}: {body}");
        assert_eq!(body["type"], "unauthorized");
        let (status, _) = api(&app, "/api/operational", token).await;
        assert_eq!(status, 401);
    }

    let (status, body) = api(&app, &format!("{usage}?page=2&per_page=2"), Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["subject"], SUBJECT);
    assert_eq!(
        (
            body["page"].as_i64(),
            body["per_page"].as_i64(),
            body["total"].as_i64()
        ),
        (Some(2), Some(2), Some(5))
    );
    let usage_list = body["usage"].as_array().unwrap();
    let ids: Vec<_> = usage_list
        .iter()
        .map(|u| u["messageId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["msg-gw-3", "msg-gw-2"]);
    let first = &usage_list[0];
    for key in [
        "logtime",
        "action",
        "receiverCode",
        "receiverName",
        "receiverSystem",
        "purpose",
        "legalBasis",
        "fields",
        "agreement",
        "messageId",
    ] {
        assert!(
            first.get(key).is_some(),
            "findUsage field {key} missing: {first}"
        );
    }
    assert_eq!(first["receiverCode"], "04363395");
    assert_eq!(first["fields"], serde_json::json!(["balance"]));
    let (_, defaults) = api(&app, &usage, Some(TOKEN)).await;
    assert_eq!(
        (defaults["page"].as_i64(), defaults["per_page"].as_i64()),
        (Some(1), Some(20))
    );
    assert_eq!(defaults["usage"].as_array().unwrap().len(), 5);
    let (status, body) = api(&app, &format!("{usage}?per_page=0"), Some(TOKEN)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("per_page"));

    let since = at(300).to_rfc3339();
    let (status, body) = api(
        &app,
        &format!(
            "/api/operational?since={}&limit=2",
            since.replace('+', "%2B")
        ),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let records = body["records"].as_array().unwrap();
    let ids: Vec<_> = records
        .iter()
        .map(|r| r["messageId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["msg-gw-3", "msg-gw-4"]);
    assert_eq!(records[0]["restPath"], "/accounts/*/balance");
    let (status, body) = api(&app, "/api/operational?since=yesterday", Some(TOKEN)).await;
    assert_eq!(status, 400, "{body}");

    // Neither the subject nor the token reaches the appliance's log.
    let log = app.log();
    assert!(!log.contains(SUBJECT) && !log.contains(TOKEN), "{log}");
    app.stop();
}

/// On PostgreSQL, a node's records after the first extend its cached head in one statement: the
/// head row is updated once per batch, not locked by an upsert first (which is a second update).
/// A trigger added past the store counts the updates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_extends_a_cached_head_without_locking_it_first() {
    let Some(db) = Db::postgres("postgres_extends_a_cached_head_without_locking_it_first") else {
        return;
    };
    let store = Store::connect(&db.url).await.unwrap();
    for sql in [
        "CREATE TABLE head_updates (node TEXT NOT NULL)",
        "CREATE FUNCTION count_head_update() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN INSERT INTO head_updates VALUES (NEW.node); RETURN NEW; END $$",
        "CREATE TRIGGER count_head_update AFTER UPDATE ON message_log_head \
         FOR EACH ROW EXECUTE FUNCTION count_head_update()",
    ] {
        execute(&db.url, sql).await;
    }
    for n in 1..=10 {
        store
            .record_exchanges(vec![(exchange("gw", n), None)])
            .await
            .unwrap();
    }
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let updates: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM head_updates")
        .fetch_one(&pool)
        .await
        .unwrap();
    // The first batch creates the head row and sets it under the lock (one update); each of the
    // nine others only moves it (one update each).
    assert_eq!(updates, 10);
    let report = audit::verify(&store, None).await.unwrap();
    assert!(report.intact(), "{report:?}");
    pool.close().await;
    store.close().await;
}

/// An in-memory SQLite store writes its message log through the pool (as PostgreSQL does), not
/// through the file writer: the same chain, records and notices.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_memory_store_keeps_the_same_ledger() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    assert!(store.record_exchanges(Vec::new()).await.unwrap().is_empty());
    let batch: Vec<_> = (1..=4)
        .map(|n| {
            let e = exchange("gw", n);
            let u = (n % 2 == 0).then(|| subject_use(&e, n == 4));
            (e, u)
        })
        .collect();
    let receipts = store.record_exchanges(batch).await.unwrap();
    assert_eq!(
        receipts.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    let report = audit::verify(&store, Some("gw")).await.unwrap();
    assert!(report.intact(), "{report:?}");
    assert_eq!(store.message_log_heads().await.unwrap()[0].seq, 4);
    assert_eq!(store.subject_uses(SUBJECT, 1, 10).await.unwrap().total, 2);
    let notices = store.pending_notices(10).await.unwrap();
    let uses = store.subject_uses(SUBJECT, 1, 10).await.unwrap().uses;
    let noticed = uses.iter().find(|u| u.message_id == "msg-gw-4").unwrap();
    assert_eq!(
        notices.iter().map(|n| n.subject_use).collect::<Vec<_>>(),
        [noticed.id]
    );
    store.close().await;
}
