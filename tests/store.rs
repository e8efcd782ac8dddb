//! The store on both databases: migrations, reconcile history, actuation (idempotence, history,
//! replicas racing) and the errors people see for bad urls. Every `both!` test runs as
//! `<name>::sqlite` and `<name>::postgres` (skipped loudly without PostgreSQL, except under CI).

mod common;

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use hromada::store::{
    Actuation, Backend, HealthCheckRow, NewReconcile, OfficialRow, Outcome, RetentionRow, RoleRow,
    Store, Tx,
};
use serde_json::json;

use common::db::Db;

fn at(seconds: i64, nanos: u32) -> DateTime<Utc> {
    Utc.timestamp_opt(1_780_000_000 + seconds, nanos).unwrap()
}

fn reconcile(node: &str, revision: &str, outcome: Outcome, n: i64) -> NewReconcile {
    NewReconcile {
        node: node.into(),
        instance: format!("{node}-pod"),
        revision: revision.into(),
        source: "git@example.invalid:city/spec.git#main".into(),
        started_at: at(n * 10, 123_456_789),
        finished_at: at(n * 10 + 2, 987_654_321),
        outcome,
        errors: u32::from(outcome == Outcome::Refused),
        warnings: 2,
        diagnostics: json!([{"code": "H0301", "severity": "warning", "summary": format!("№{n}")}]),
    }
}

fn official(id: &str, name: &str, roles: &[&str]) -> OfficialRow {
    OfficialRow {
        id: id.into(),
        name: name.into(),
        position: "Головний спеціаліст".into(),
        unit: "city-council/cnap".into(),
        email: format!("{id}@city.example"),
        roles: roles.iter().map(|r| r.to_string()).collect(),
    }
}

/// Revision 1: officials `a` and `b`.
fn actuation_1() -> Actuation {
    Actuation {
        roles: vec![RoleRow {
            id: "clerk".into(),
            title: "Спеціаліст".into(),
            permissions: vec!["applications-read".into(), "documents-read".into()],
        }],
        officials: vec![
            official("a", "Коваль Оксана", &["clerk"]),
            official("b", "Мороз Валентина", &["clerk"]),
        ],
        health_checks: vec![HealthCheckRow {
            service: "vodokanal/balance".into(),
            upstream: "http://127.0.0.1:9103/abonents".into(),
            path: "/health".into(),
            every_ms: 30_000,
            timeout_ms: 2_000,
        }],
        retention: vec![RetentionRow {
            id: "applications".into(),
            record: "application".into(),
            period: "5y".into(),
            trigger: "closed".into(),
            action: "archive".into(),
            legal_hold: false,
        }],
    }
}

/// Revision 2: `a` removed, `b` renamed, `c` added; the retention rule under legal hold.
fn actuation_2() -> Actuation {
    let mut a = actuation_1();
    a.officials = vec![
        official("b", "Мороз-Бондар Валентина", &["clerk"]),
        official("c", "Лисенко Тетяна", &[]),
    ];
    a.health_checks[0].every_ms = 60_000;
    a.retention[0].legal_hold = true;
    a
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The example city of the repository (`spec/`, `policies/`), loaded.
fn example_city() -> hromada::spec::load::Loaded {
    let loaded = hromada::spec::load::load(root());
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    loaded
}

/// Every (revision, active) row the store keeps for official `id`, read past the store's API.
async fn official_history(url: &str, id: &str) -> Vec<(String, bool)> {
    const SQL: &str = "SELECT revision, active FROM officials WHERE id = $1 ORDER BY revision";
    if url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let rows = sqlx::query_as(SQL).bind(id).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let rows = sqlx::query_as(SQL).bind(id).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows
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

async fn assert_holds(store: &Store, revision: &str, actuation: &Actuation) {
    assert_eq!(
        store.actuated_revision().await.unwrap().as_deref(),
        Some(revision)
    );
    assert_eq!(store.active_officials().await.unwrap(), actuation.officials);
    assert_eq!(
        store.active_health_checks().await.unwrap(),
        actuation.health_checks
    );
    assert_eq!(store.active_retention().await.unwrap(), actuation.retention);
}

both! {
    async fn connect_twice_migrates_once(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        assert_eq!(store.backend(), db.backend);
        store.ping().await.unwrap();
        assert_eq!(store.actuated_revision().await.unwrap(), None);
        let id = store
            .record_reconcile(&reconcile("n1", "r1", Outcome::Applied, 1))
            .await
            .unwrap();
        store.close().await;

        let again = Store::connect(&db.url).await.unwrap();
        again.ping().await.unwrap();
        let kept = again.recent_reconciles("n1", 10).await.unwrap();
        assert_eq!(kept.iter().map(|r| r.id).collect::<Vec<_>>(), [id]);
        again.close().await;
    }

    async fn reconciles_newest_first_per_node(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let written = [
            reconcile("n1", "r1", Outcome::Applied, 1),
            reconcile("n2", "r1", Outcome::Applied, 2),
            reconcile("n1", "r2", Outcome::Refused, 3),
            reconcile("n1", "r2", Outcome::Unchanged, 4),
        ];
        let mut ids = Vec::new();
        for r in &written {
            ids.push(store.record_reconcile(r).await.unwrap());
        }

        let n1 = store.recent_reconciles("n1", 10).await.unwrap();
        assert_eq!(
            n1.iter().map(|r| r.id).collect::<Vec<_>>(),
            [ids[3], ids[2], ids[0]]
        );
        for (record, new) in n1.iter().zip([&written[3], &written[2], &written[0]]) {
            assert_eq!(record.node, new.node);
            assert_eq!(record.instance, new.instance);
            assert_eq!(record.revision, new.revision);
            assert_eq!(record.source, new.source);
            assert_eq!(record.started_at, new.started_at);
            assert_eq!(record.finished_at, new.finished_at);
            assert_eq!(record.outcome, new.outcome);
            assert_eq!(record.errors, new.errors);
            assert_eq!(record.warnings, new.warnings);
            assert_eq!(record.diagnostics, new.diagnostics);
            let text = new.diagnostics.to_string();
            let expected: String = openssl::sha::sha256(text.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(record.diagnostics_digest, expected);
        }

        let limited = store.recent_reconciles("n1", 2).await.unwrap();
        assert_eq!(limited.iter().map(|r| r.id).collect::<Vec<_>>(), [ids[3], ids[2]]);
        let n2 = store.recent_reconciles("n2", 10).await.unwrap();
        assert_eq!(n2.iter().map(|r| r.id).collect::<Vec<_>>(), [ids[1]]);
        assert!(store.recent_reconciles("n3", 10).await.unwrap().is_empty());

        let json = serde_json::to_value(&n2[0]).unwrap();
        assert_eq!(json["outcome"], "applied");
        assert_eq!(json["diagnostics_digest"], n2[0].diagnostics_digest.as_str());
    }

    async fn digest_is_sha256_of_the_stored_text(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let mut r = reconcile("n1", "r1", Outcome::Applied, 1);
        r.diagnostics = json!([]);
        store.record_reconcile(&r).await.unwrap();
        let stored = store.recent_reconciles("n1", 1).await.unwrap();
        assert_eq!(
            stored[0].diagnostics_digest,
            "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"
        );
    }

    async fn applied_revisions_distinct_newest_first(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let history = [
            ("n1", "r1", Outcome::Applied),
            ("n1", "r2", Outcome::Refused),
            ("n1", "r3", Outcome::Applied),
            ("n1", "r3", Outcome::Unchanged),
            ("n2", "r4", Outcome::Applied),
            ("n1", "r1", Outcome::Applied),
            ("n1", "r5", Outcome::Refused),
        ];
        for (n, (node, revision, outcome)) in history.into_iter().enumerate() {
            store
                .record_reconcile(&reconcile(node, revision, outcome, n as i64))
                .await
                .unwrap();
        }
        assert_eq!(store.applied_revisions("n1", 10).await.unwrap(), ["r1", "r3"]);
        assert_eq!(store.applied_revisions("n1", 1).await.unwrap(), ["r1"]);
        assert_eq!(store.applied_revisions("n2", 10).await.unwrap(), ["r4"]);
        assert!(store.applied_revisions("n3", 10).await.unwrap().is_empty());
    }

    async fn actuate_writes_once_per_revision(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        assert!(store.actuate("r1", &actuation_1()).await.unwrap());
        assert!(!store.actuate("r1", &actuation_1()).await.unwrap());
        assert_holds(&store, "r1", &actuation_1()).await;
    }

    async fn switching_revision_deactivates_and_keeps_history(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        assert!(store.actuate("r1", &actuation_1()).await.unwrap());
        assert!(store.actuate("r2", &actuation_2()).await.unwrap());
        assert_holds(&store, "r2", &actuation_2()).await;
        assert_eq!(
            official_history(&db.url, "a").await,
            [("r1".to_string(), false)]
        );
        assert_eq!(
            official_history(&db.url, "b").await,
            [("r1".to_string(), false), ("r2".to_string(), true)]
        );

        // Going back (a revert in Git) makes r1's rows active again, r2's stay as history.
        assert!(store.actuate("r1", &actuation_1()).await.unwrap());
        assert_holds(&store, "r1", &actuation_1()).await;
        assert_eq!(
            official_history(&db.url, "c").await,
            [("r2".to_string(), false)]
        );
    }

    async fn slow_replica_converges_to_the_newest_revision(db: Db) {
        let a = Store::connect(&db.url).await.unwrap();
        let b = Store::connect(&db.url).await.unwrap();
        assert!(a.actuate("r2", &actuation_2()).await.unwrap());
        // B was slow: it still applies r1 after A applied r2 ...
        assert!(b.actuate("r1", &actuation_1()).await.unwrap());
        // ... then catches up; the head is r1, not r2, so B writes again.
        assert!(b.actuate("r2", &actuation_2()).await.unwrap());
        assert!(!a.actuate("r2", &actuation_2()).await.unwrap());
        assert_holds(&a, "r2", &actuation_2()).await;
    }

    async fn concurrent_actuations_write_exactly_once(db: Db) {
        let mut replicas = Vec::new();
        for _ in 0..4 {
            replicas.push(Store::connect(&db.url).await.unwrap());
        }
        assert!(replicas[0].actuate("r1", &actuation_1()).await.unwrap());
        let start = Arc::new(tokio::sync::Barrier::new(replicas.len()));
        let tasks: Vec<_> = replicas
            .iter()
            .cloned()
            .map(|store| {
                let start = start.clone();
                tokio::spawn(async move {
                    start.wait().await;
                    store.actuate("r2", &actuation_2()).await
                })
            })
            .collect();
        let mut wrote = 0;
        for task in tasks {
            wrote += usize::from(task.await.unwrap().unwrap());
        }
        assert_eq!(wrote, 1);
        assert_holds(&replicas[3], "r2", &actuation_2()).await;
        assert_eq!(
            official_history(&db.url, "b").await,
            [("r1".to_string(), false), ("r2".to_string(), true)]
        );
    }

    async fn failed_actuation_changes_nothing(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        assert!(store.actuate("r1", &actuation_1()).await.unwrap());
        let mut broken = actuation_2();
        // Written after roles and officials; the store refuses a zero interval.
        broken.health_checks[0].every_ms = 0;
        let error = store.actuate("r2", &broken).await.unwrap_err().to_string();
        assert!(error.contains("cannot actuate revision r2"), "{error}");
        assert!(error.contains("nothing was changed"), "{error}");
        assert_holds(&store, "r1", &actuation_1()).await;
        assert_eq!(official_history(&db.url, "c").await, []);
        // The next attempt with a good actuation goes through.
        assert!(store.actuate("r2", &actuation_2()).await.unwrap());
        assert_holds(&store, "r2", &actuation_2()).await;
    }

    async fn a_row_rewritten_outside_hromada_is_named_and_the_rest_reads_as_written(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let id = store
            .record_reconcile(&reconcile("n1", "r1", Outcome::Applied, 1))
            .await
            .unwrap();
        assert!(store.actuate("r1", &actuation_1()).await.unwrap());
        let named = |error: &str, what: &str| {
            assert!(error.contains(what), "{error}");
            assert!(error.contains(" database "), "{error}");
            assert!(error.contains("the row was changed outside hromada"), "{error}");
        };

        execute(&db.url, &format!("UPDATE reconciles SET started_at = 'last tuesday' WHERE id = {id}")).await;
        let error = store.recent_reconciles("n1", 10).await.unwrap_err().to_string();
        named(&error, &format!("reconcile {id} in the "));
        named(&error, "malformed start time `last tuesday`");
        execute(&db.url, "UPDATE reconciles SET started_at = finished_at, diagnostics = '[{'").await;
        let error = store.recent_reconciles("n1", 10).await.unwrap_err().to_string();
        named(&error, "malformed diagnostics text `[{`");
        // The history of applied revisions does not read the rewritten columns.
        assert_eq!(store.applied_revisions("n1", 10).await.unwrap(), ["r1"]);

        execute(&db.url, "UPDATE officials SET roles = 'clerk' WHERE id = 'a'").await;
        let error = store.active_officials().await.unwrap_err().to_string();
        named(&error, "the roles of official a in the ");
        named(&error, "are not a JSON list of names (`clerk`)");
        // Nothing else the revision derived is touched by the rewritten row.
        let written = actuation_1();
        assert_eq!(store.actuated_revision().await.unwrap().as_deref(), Some("r1"));
        assert_eq!(store.active_health_checks().await.unwrap(), written.health_checks);
        assert_eq!(store.active_retention().await.unwrap(), written.retention);
    }

    async fn example_city_round_trips(db: Db) {
        let actuation = Actuation::from_spec(&example_city().spec);
        assert!(!actuation.officials.is_empty() && !actuation.health_checks.is_empty());
        let store = Store::connect(&db.url).await.unwrap();
        assert!(store.actuate("city", &actuation).await.unwrap());
        assert_holds(&store, "city", &actuation).await;
    }
}

#[tokio::test]
async fn in_memory_sqlite_works() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    assert!(store.actuate("r1", &actuation_1()).await.unwrap());
    assert_holds(&store, "r1", &actuation_1()).await;
}

#[tokio::test]
async fn unknown_scheme_is_refused_without_the_password() {
    let error = Store::connect("mysql://hromada:s3cret@db/hromada")
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("mysql://hromada:***@db/hromada"), "{error}");
    assert!(
        error.contains("sqlite://") && error.contains("postgres://"),
        "{error}"
    );
    assert!(!error.contains("s3cret"), "{error}");
}

/// A burst of writes (a bulk import, a backlog) grows a SQLite file's write-ahead log; once the
/// background checkpoint has copied it and the next write starts the log over, the file is cut
/// back, so the burst does not hold its gigabytes of disk for good.
#[tokio::test]
async fn a_burst_of_writes_does_not_leave_its_write_ahead_log_behind() {
    let db = Db::sqlite();
    let store = Store::connect(&db.url).await.unwrap();
    let wal = std::path::PathBuf::from(format!("{}-wal", db.url.trim_start_matches("sqlite://")));
    let write = |sql: &'static str| {
        let store = store.clone();
        async move {
            let mut tx = store.begin().await.unwrap();
            let Tx::Sqlite(t, _) = &mut tx else {
                unreachable!("a SQLite store")
            };
            sqlx::raw_sql(sql).execute(&mut **t).await.unwrap();
            tx.commit().await.unwrap();
        }
    };
    write("CREATE TABLE burst (b BLOB)").await;
    // 96 MiB in one transaction, more than the log is cut back to (64 MiB).
    write(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 96) \
         INSERT INTO burst SELECT randomblob(1048576) FROM n",
    )
    .await;
    let grown = std::fs::metadata(&wal).unwrap().len();
    assert!(
        grown > 96 << 20,
        "the burst went through the log: {grown} bytes"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        write("DELETE FROM burst WHERE rowid = (SELECT min(rowid) FROM burst)").await;
        let now = std::fs::metadata(&wal).unwrap().len();
        if now <= 64 << 20 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the write-ahead log is still {now} bytes 30 s after the burst"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    store.close().await;
}

#[tokio::test]
async fn unwritable_sqlite_path_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the database's folder should be: even root cannot create the folder.
    std::fs::write(dir.path().join("data"), "not a folder").unwrap();
    let path = dir.path().join("data/hromada.db");
    let error = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(&format!(
            "cannot open the SQLite database {}",
            path.display()
        )),
        "{error}"
    );
}

#[tokio::test]
async fn refused_postgres_connection_names_the_server_without_the_password() {
    // Bound and never accepting: nothing answers on this port once the listener is dropped.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://hromada:s3cret@127.0.0.1:{port}/hromada");
    let error = Store::connect(&url).await.unwrap_err().to_string();
    assert!(
        error.starts_with(&format!(
            "cannot connect to the PostgreSQL database postgres://hromada:***@127.0.0.1:{port}/hromada"
        )),
        "{error}"
    );
    assert!(!error.contains("s3cret"), "{error}");
}

#[test]
fn example_city_actuation_has_the_officials_of_the_registry() {
    let loaded = example_city();
    let actuation = Actuation::from_spec(&loaded.spec);

    let text = std::fs::read_to_string(root().join("spec/registry/officials.kdl")).unwrap();
    let doc = kdl::KdlDocument::parse_v2(&text).unwrap();
    let mut expected: Vec<(String, String, Vec<String>)> = doc
        .nodes()
        .iter()
        .filter(|n| n.name().value() == "official")
        .map(|n| {
            let id = n.entries()[0].value().as_string().unwrap().to_string();
            let children = n.children().unwrap();
            let name = children.get_arg("name").unwrap().as_string().unwrap();
            let roles = children
                .get("roles")
                .unwrap()
                .entries()
                .iter()
                .map(|e| e.value().as_string().unwrap().to_string())
                .collect();
            (id, name.to_string(), roles)
        })
        .collect();
    expected.sort();
    assert_eq!(expected.len(), 18);
    let got: Vec<(String, String, Vec<String>)> = actuation
        .officials
        .iter()
        .map(|o| (o.id.clone(), o.name.clone(), o.roles.clone()))
        .collect();
    assert_eq!(got, expected);

    let balance = actuation
        .health_checks
        .iter()
        .find(|h| h.service == "vodokanal/balance")
        .unwrap();
    assert_eq!(
        (balance.upstream.as_str(), balance.path.as_str()),
        ("http://127.0.0.1:9103/abonents", "/health")
    );
    assert_eq!((balance.every_ms, balance.timeout_ms), (30_000, 2_000));
    // No timeout written: 5 s.
    let outages = actuation
        .health_checks
        .iter()
        .find(|h| h.service == "vodokanal/outages")
        .unwrap();
    assert_eq!((outages.every_ms, outages.timeout_ms), (60_000, 5_000));

    let ids = |v: Vec<&str>| v.windows(2).all(|w| w[0] < w[1]);
    assert!(ids(actuation.roles.iter().map(|r| r.id.as_str()).collect()));
    assert!(ids(actuation
        .health_checks
        .iter()
        .map(|h| h.service.as_str())
        .collect()));
    assert!(ids(actuation
        .retention
        .iter()
        .map(|r| r.id.as_str())
        .collect()));
    assert_eq!(actuation.retention.len(), loaded.spec.retention.len());
    let documents = actuation
        .retention
        .iter()
        .find(|r| r.id == "documents")
        .unwrap();
    assert_eq!(
        (
            documents.record.as_str(),
            documents.period.as_str(),
            documents.trigger.as_str(),
            documents.action.as_str(),
            documents.legal_hold
        ),
        ("document", "5y", "closed", "review", false)
    );
    let cnap_admin = actuation
        .roles
        .iter()
        .find(|r| r.id == "cnap-admin")
        .unwrap();
    assert_eq!(
        cnap_admin.permissions,
        ["applications-read", "documents-register", "documents-read"]
    );
    assert_eq!(actuation, Actuation::from_spec(&loaded.spec));
}

fn card(id: &str, version: i64, summary: &str) -> hromada::store::CardRow {
    hromada::store::CardRow {
        case_code: Some("01-25".into()),
        summary: summary.into(),
        correspondent: Some("ТОВ «Приклад»".into()),
        pages: Some(2),
        version,
        ..hromada::store::CardRow::draft(
            id,
            ("city-council", "council-incoming", "incoming"),
            "letter",
            "official:lysenko-t",
            &at(0, 0),
        )
    }
}

both! {
    async fn a_card_changes_only_with_its_version_and_every_change_is_in_the_history(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let first = card("card-0001", 1, "Про ремонт покрівлі");
        let change = |before, after, kind| hromada::store::CardChange {
            before,
            after,
            actor: "official:lysenko-t",
            on_behalf: None,
            kind,
            note: json!(null),
            at: at(100, 0),
        };
        let mut tx = store.begin().await.unwrap();
        assert!(store.write_card(&mut tx, &change(None, &first, "created")).await.unwrap());
        tx.commit().await.unwrap();

        let mut second = first.clone();
        second.version = 2;
        second.summary = "Про ремонт покрівлі будинку №5".into();
        let mut tx = store.begin().await.unwrap();
        assert!(store.write_card(&mut tx, &change(Some(&first), &second, "edited")).await.unwrap());
        tx.commit().await.unwrap();

        // A writer that read version 1 changes nothing.
        let mut stale = second.clone();
        stale.summary = "Інше".into();
        let mut tx = store.begin().await.unwrap();
        assert!(!store.write_card(&mut tx, &change(Some(&first), &stale, "edited")).await.unwrap());
        drop(tx);
        // A version that does not follow the one read is refused outright.
        let mut skipping = second.clone();
        skipping.version = 5;
        let mut tx = store.begin().await.unwrap();
        let refused = store
            .write_card(&mut tx, &change(Some(&second), &skipping, "edited"))
            .await
            .unwrap_err()
            .to_string();
        assert!(refused.contains("card-0001"), "{refused}");
        drop(tx);

        assert_eq!(store.card("card-0001").await.unwrap().unwrap(), second);
        let events = store.case_events("card-0001").await.unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!((events[0].kind.as_str(), events[1].kind.as_str()), ("created", "edited"));
        let detail: serde_json::Value = serde_json::from_str(&events[1].detail).unwrap();
        assert_eq!(detail["version"], 2);
        assert_eq!(
            detail["changes"],
            json!([{"field": "summary", "old": "Про ремонт покрівлі",
                    "new": "Про ремонт покрівлі будинку №5"}])
        );
        let report = hromada::workflow::history::verify(&store).await.unwrap();
        assert!(report.problems.iter().all(|p| !p.contains("does not link")), "{report:?}");
    }
}
