//! The gateway's ledger in the store: the message log (hash-chained per node), X-Road operational
//! records, data subjects' records and pending notices. A batch is written in one transaction
//! that either first locks each node's `message_log_head` row or (PostgreSQL, a batch of one
//! node whose head is cached) moves the head only if it is unchanged, so a chain never forks.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::reconciles::time_text;
use super::{Store, StoreError, on_pool};
use crate::gateway::protocol::PROTOCOL_VERSION;
use crate::gateway::record::{Exchange, SubjectUse};

/// Most exchanges written in one transaction.
pub const MAX_BATCH: usize = 256;

/// `prev_hash` of the first record of every node's chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The format of the records written now (see [`chain_hash`]).
pub const LOG_FORMAT: i64 = 2;

/// Everything of one message log record that its hash covers: every column written with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link<'a> {
    pub format: i64,
    pub prev_hash: &'a str,
    pub seq: i64,
    pub node: &'a str,
    pub message_id: &'a str,
    pub logged_at: &'a str,
    /// SHA-256 (lowercase hex) of the stored bodies text, when bodies were kept.
    pub bodies_digest: Option<&'a str>,
    pub entry: &'a str,
}

/// The hash of one message log record: lowercase hex SHA-256 of a UTF-8 text. Format 2 (written
/// now): `"hromada-log/2" "\n" prev_hash "\n" seq "\n" node "\n" message_id-as-JSON-string "\n"
/// logged_at "\n" bodies_digest-or-empty "\n" entry`; the bodies are covered by their digest
/// only, so disposing of them leaves the chain intact. Format 1 (written before): `prev_hash
/// "\n" seq "\n" node "\n" entry`, the entry holding the bodies. Seq in decimal; a node id never
/// holds a newline. `None` for a format this build does not know. This is the only definition
/// of the chain; `audit verify`, checkpoints and exports rely on it.
pub fn chain_hash(link: &Link) -> Option<String> {
    let mut hasher = openssl::sha::Sha256::new();
    let seq = link.seq.to_string();
    match link.format {
        1 => {
            for part in [
                link.prev_hash,
                "\n",
                &seq,
                "\n",
                link.node,
                "\n",
                link.entry,
            ] {
                hasher.update(part.as_bytes());
            }
        }
        2 => {
            let message_id =
                serde_json::to_string(link.message_id).expect("a string serialises to JSON");
            for part in [
                "hromada-log/2",
                link.prev_hash,
                &seq,
                link.node,
                &message_id,
                link.logged_at,
                link.bodies_digest.unwrap_or_default(),
            ] {
                hasher.update(part.as_bytes());
                hasher.update(b"\n");
            }
            hasher.update(link.entry.as_bytes());
        }
        _ => return None,
    }
    Some(hex::encode(hasher.finish()))
}

/// Lowercase hex SHA-256 of a stored bodies text.
pub fn bodies_digest(bodies: &str) -> String {
    hex::encode(openssl::sha::sha256(bodies.as_bytes()))
}

/// Where a record landed in its node's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogReceipt {
    pub seq: i64,
    pub hash: String,
}

/// One row of the message log, as stored (read by [`LOG_COLUMNS`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct LogRecord {
    pub node: String,
    pub seq: i64,
    pub message_id: String,
    pub logged_at: String,
    /// The exchange's canonical JSON ([`Exchange::log_entry`]), exactly as hashed.
    pub entry: String,
    pub prev_hash: String,
    pub hash: String,
    /// How the hash is made ([`chain_hash`]).
    pub format: i64,
    /// The kept bodies ([`Exchange::bodies_text`]); `None` when none were kept or they were
    /// disposed of.
    pub bodies: Option<String>,
    /// The digest of the bodies as written, which the hash covers.
    pub bodies_digest: Option<String>,
    /// When retention disposed of the bodies.
    pub disposed_at: Option<String>,
}

impl LogRecord {
    /// What the record's hash covers.
    pub fn link(&self) -> Link<'_> {
        Link {
            format: self.format,
            prev_hash: &self.prev_hash,
            seq: self.seq,
            node: &self.node,
            message_id: &self.message_id,
            logged_at: &self.logged_at,
            bodies_digest: self.bodies_digest.as_deref(),
            entry: &self.entry,
        }
    }

    /// Whether the record hashes to its stored hash, and its kept bodies (if any) to the digest
    /// that hash covers.
    pub fn hashes_right(&self) -> bool {
        chain_hash(&self.link()).as_deref() == Some(self.hash.as_str())
            && self.bodies.as_deref().is_none_or(|bodies| {
                self.bodies_digest.as_deref() == Some(bodies_digest(bodies).as_str())
            })
    }

    /// The exchange this record logged, with its bodies unless they were disposed of.
    pub fn exchange(&self) -> Result<Exchange, String> {
        let exchange = Exchange::from_log_entry(&self.entry)?;
        match &self.bodies {
            Some(bodies) => exchange.with_bodies(bodies),
            None => Ok(exchange),
        }
    }
}

/// The end of one node's chain, as the head row says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogHead {
    pub node: String,
    pub seq: i64,
    pub hash: String,
}

/// An operational monitoring record, named as X-Road's operational monitoring names its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationalRecord {
    pub id: i64,
    pub node: String,
    pub message_id: String,
    pub security_server_type: String,
    pub request_in_ts: i64,
    pub request_out_ts: i64,
    pub response_in_ts: i64,
    pub response_out_ts: i64,
    pub client_x_road_instance: String,
    pub client_member_class: String,
    pub client_member_code: String,
    pub client_subsystem_code: String,
    pub service_x_road_instance: String,
    pub service_member_class: String,
    pub service_member_code: String,
    pub service_subsystem_code: String,
    pub service_code: String,
    pub message_issue: Option<String>,
    pub message_protocol_version: String,
    pub request_size: i64,
    pub response_size: i64,
    pub succeeded: bool,
    pub fault_code: Option<String>,
    pub status_code: i64,
    pub rest_method: String,
    /// The operation's path pattern, never the path as called.
    pub rest_path: Option<String>,
}

/// One stored release of a data subject's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubjectUseRecord {
    pub id: i64,
    pub subject: String,
    pub logtime: String,
    pub message_id: String,
    pub action: String,
    pub receiver_code: String,
    pub receiver_name: String,
    pub receiver_system: String,
    pub provider: String,
    pub agreement: String,
    pub purpose: Option<String>,
    pub legal_basis: Option<String>,
    pub fields: Vec<String>,
}

/// One page of a subject's records, newest first, and how many there are in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectUsePage {
    pub total: i64,
    pub uses: Vec<SubjectUseRecord>,
}

/// A notice waiting for the portal to deliver it to the data subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubjectNotice {
    pub id: i64,
    pub subject: String,
    pub created_at: String,
    pub subject_use: i64,
    pub status: String,
    pub delivered_at: Option<String>,
}

/// Creates a node's head row if need be, takes its write lock (the upsert locks the row, like
/// `SELECT … FOR UPDATE` on PostgreSQL; SQLite has one writer anyway) and reads it.
pub(super) const LOCK_HEAD: &str = "INSERT INTO message_log_head (node, seq, hash) VALUES ($1, 0, $2) \
     ON CONFLICT (node) DO UPDATE SET seq = message_log_head.seq RETURNING seq, hash";
pub(super) const SET_HEAD: &str = "UPDATE message_log_head SET seq = $2, hash = $3 WHERE node = $1";
pub(super) const INSERT_LOG: &str = "INSERT INTO message_log \
     (node, seq, message_id, logged_at, entry, prev_hash, hash, format, bodies, bodies_digest)";
pub(super) const LOG_COLUMN_COUNT: usize = 10;
pub(super) const INSERT_OPERATIONAL: &str = "INSERT INTO operational_records (node, message_id, \
     security_server_type, request_in_ts, request_out_ts, response_in_ts, response_out_ts, \
     client_xroad_instance, client_member_class, client_member_code, client_subsystem_code, \
     service_xroad_instance, service_member_class, service_member_code, service_subsystem_code, \
     service_code, message_issue, message_protocol_version, request_size, response_size, \
     succeeded, fault_code, status_code, rest_method, rest_path)";
pub(super) const OPERATIONAL_COLUMN_COUNT: usize = 25;
pub(super) const INSERT_SUBJECT_USE: &str = "INSERT INTO subject_uses (subject, logtime, message_id, \
     action, receiver_code, receiver_name, receiver_system, provider, agreement, purpose, \
     legal_basis, fields)";
pub(super) const SUBJECT_USE_COLUMN_COUNT: usize = 12;
pub(super) const INSERT_NOTICE: &str = "INSERT INTO subject_notices (subject, created_at, subject_use, \
     status) VALUES ($1, $2, $3, 'pending')";

/// `insert` (`INSERT INTO table (columns)`) followed by `VALUES` and `rows` tuples of `columns`
/// numbered placeholders: one statement for a whole batch. Both databases take `$n`
/// placeholders; a full batch stays far below their limits on bound values.
pub(super) fn insert_rows(insert: &str, columns: usize, rows: usize) -> String {
    format!("{insert} VALUES {}", value_rows(columns, rows, 1))
}

/// `rows` tuples of `columns` placeholders, `($first, …), (…)`, numbered on from `$first`.
pub(super) fn value_rows(columns: usize, rows: usize, first: usize) -> String {
    use std::fmt::Write;
    let mut sql = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            let _ = write!(sql, "${}", first + row * columns + column);
        }
        sql.push(')');
    }
    sql
}

/// One value of a row to insert, bound alike through sqlx and by the SQLite file writer.
pub(super) enum Cell<'a> {
    Text(&'a str),
    Owned(String),
    MaybeText(Option<&'a str>),
    Int(i64),
    Bool(bool),
}

impl rusqlite::ToSql for Cell<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Cell::Text(text) => text.to_sql(),
            Cell::Owned(text) => text.to_sql(),
            Cell::MaybeText(text) => text.to_sql(),
            Cell::Int(n) => n.to_sql(),
            Cell::Bool(b) => b.to_sql(),
        }
    }
}

/// Binds `rows` to `sql` (made by [`insert_rows`] for that many rows), cell by cell.
pub(super) fn bound<'q, DB>(
    sql: &'q str,
    rows: impl IntoIterator<Item = &'q [Cell<'q>]>,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    DB: sqlx::Database,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut query = sqlx::query(sql);
    for cell in rows.into_iter().flatten() {
        query = match cell {
            Cell::Text(text) => query.bind(*text),
            Cell::Owned(text) => query.bind(text.as_str()),
            Cell::MaybeText(text) => query.bind(*text),
            Cell::Int(n) => query.bind(*n),
            Cell::Bool(b) => query.bind(*b),
        };
    }
    query
}

/// The message log row of `exchange`, in [`INSERT_LOG`]'s column order.
pub(super) fn log_row<'a>(
    exchange: &'a Exchange,
    chained: &'a Chained,
    logged_at: &'a str,
) -> [Cell<'a>; LOG_COLUMN_COUNT] {
    [
        Cell::Text(&exchange.node),
        Cell::Int(chained.seq),
        Cell::Text(&exchange.message_id),
        Cell::Text(logged_at),
        Cell::Text(&chained.entry),
        Cell::Text(&chained.prev_hash),
        Cell::Text(&chained.hash),
        Cell::Int(LOG_FORMAT),
        Cell::MaybeText(chained.bodies.as_deref()),
        Cell::MaybeText(chained.bodies_digest.as_deref()),
    ]
}

/// The operational record of `exchange`, in [`INSERT_OPERATIONAL`]'s column order.
pub(super) fn operational_row(exchange: &Exchange) -> [Cell<'_>; OPERATIONAL_COLUMN_COUNT] {
    let [ci, cc, cm, cs] = id_parts::<4>(&exchange.client);
    let [si, sc, sm, ss, code] = id_parts::<5>(&exchange.service);
    [
        Cell::Text(&exchange.node),
        Cell::Text(&exchange.message_id),
        Cell::Text(exchange.side.as_str()),
        Cell::Int(exchange.request_in.timestamp_millis()),
        Cell::Int(exchange.request_out.timestamp_millis()),
        Cell::Int(exchange.response_in.timestamp_millis()),
        Cell::Int(exchange.response_out.timestamp_millis()),
        Cell::Owned(ci),
        Cell::Owned(cc),
        Cell::Owned(cm),
        Cell::Owned(cs),
        Cell::Owned(si),
        Cell::Owned(sc),
        Cell::Owned(sm),
        Cell::Owned(ss),
        Cell::Owned(code),
        Cell::MaybeText(exchange.issue.as_deref()),
        Cell::Text(PROTOCOL_VERSION),
        Cell::Int(i64::try_from(exchange.request_size).unwrap_or(i64::MAX)),
        Cell::Int(i64::try_from(exchange.response_size).unwrap_or(i64::MAX)),
        Cell::Bool(exchange.succeeded()),
        Cell::MaybeText(exchange.fault_code()),
        Cell::Int(i64::from(exchange.status)),
        Cell::Text(&exchange.method),
        Cell::MaybeText(exchange.operation.as_deref()),
    ]
}

/// The data subject's record, in [`INSERT_SUBJECT_USE`]'s column order.
pub(super) fn subject_row(use_: &SubjectUse) -> [Cell<'_>; SUBJECT_USE_COLUMN_COUNT] {
    [
        Cell::Text(&use_.subject),
        Cell::Owned(time_text(&use_.logtime)),
        Cell::Text(&use_.message_id),
        Cell::Text(&use_.action),
        Cell::Text(&use_.receiver_code),
        Cell::Text(&use_.receiver_name),
        Cell::Text(&use_.receiver_system),
        Cell::Text(&use_.provider),
        Cell::Text(&use_.agreement),
        Cell::MaybeText(use_.purpose.as_deref()),
        Cell::MaybeText(use_.legal_basis.as_deref()),
        Cell::Owned(serde_json::to_string(&use_.fields).expect("a list of strings is JSON")),
    ]
}

/// Refuses a batch holding a node id the chain text cannot carry, before anything is written.
pub(super) fn check_nodes(batch: &[(Exchange, Option<SubjectUse>)]) -> Result<(), StoreError> {
    match batch
        .iter()
        .find(|(e, _)| e.node.is_empty() || e.node.contains('\n'))
    {
        Some((bad, _)) => Err(StoreError::new(format!(
            "cannot log message {}: the node id `{}` is empty or holds a line break; \
             nothing of this batch was written",
            bad.message_id,
            bad.node.escape_debug()
        ))),
        None => Ok(()),
    }
}

/// The distinct nodes of a batch, in the order their heads are locked (so that two writers never
/// wait on each other).
pub(super) fn batch_nodes(batch: &[(Exchange, Option<SubjectUse>)]) -> BTreeSet<&str> {
    batch.iter().map(|(e, _)| e.node.as_str()).collect()
}

/// Links each exchange of `batch`, logged at `logged_at`, to its node's chain, from the locked
/// `heads` (node → seq and hash), which are advanced to the batch's last records.
pub(super) fn chain(
    batch: &[(Exchange, Option<SubjectUse>)],
    heads: &mut BTreeMap<&str, (i64, String)>,
    logged_at: &str,
) -> Vec<Chained> {
    batch
        .iter()
        .map(|(exchange, _)| {
            let head = heads
                .get_mut(exchange.node.as_str())
                .expect("every node of the batch has its head locked");
            let entry = exchange.log_entry();
            let bodies = exchange.bodies_text();
            let digest = bodies.as_deref().map(bodies_digest);
            let seq = head.0 + 1;
            let hash = chain_hash(&Link {
                format: LOG_FORMAT,
                prev_hash: &head.1,
                seq,
                node: &exchange.node,
                message_id: &exchange.message_id,
                logged_at,
                bodies_digest: digest.as_deref(),
                entry: &entry,
            })
            .expect("the format written is known");
            let prev_hash = std::mem::replace(&mut head.1, hash.clone());
            head.0 = seq;
            Chained {
                seq,
                entry,
                prev_hash,
                hash,
                bodies,
                bodies_digest: digest,
            }
        })
        .collect()
}

const LOG_COLUMNS: &str = "node, seq, message_id, logged_at, entry, prev_hash, hash, format, \
     bodies, bodies_digest, disposed_at";
const HEADS: &str = "SELECT node, seq, hash FROM message_log_head ORDER BY node";
const OPERATIONAL_COLUMNS: &str = "id, node, message_id, security_server_type, request_in_ts, \
     request_out_ts, response_in_ts, response_out_ts, client_xroad_instance, client_member_class, \
     client_member_code, client_subsystem_code, service_xroad_instance, service_member_class, \
     service_member_code, service_subsystem_code, service_code, message_issue, \
     message_protocol_version, request_size, response_size, succeeded, fault_code, status_code, \
     rest_method, rest_path";
const SUBJECT_COLUMNS: &str = "id, subject, logtime, message_id, action, receiver_code, \
     receiver_name, receiver_system, provider, agreement, purpose, legal_basis, fields";
const COUNT_SUBJECT: &str = "SELECT COUNT(*) FROM subject_uses WHERE subject = $1";
const PENDING_NOTICES: &str = "SELECT id, subject, created_at, subject_use, status, delivered_at \
     FROM subject_notices WHERE status = 'pending' ORDER BY id LIMIT $1";

/// The `n` parts of an X-Road identifier (`instance/class/code/…`); missing parts are empty.
fn id_parts<const N: usize>(id: &str) -> [String; N] {
    let mut parts = id.splitn(N, '/');
    std::array::from_fn(|_| parts.next().unwrap_or_default().to_string())
}

/// The chain part of one message log row to insert; node and message id are the exchange's.
pub(super) struct Chained {
    pub seq: i64,
    pub entry: String,
    pub prev_hash: String,
    pub hash: String,
    pub bodies: Option<String>,
    pub bodies_digest: Option<String>,
}

impl Chained {
    pub fn receipt(self) -> LogReceipt {
        LogReceipt {
            seq: self.seq,
            hash: self.hash,
        }
    }
}

impl Store {
    /// Writes a batch of exchanges in one transaction: each gets the next record of its node's
    /// chain, its operational record and, with a [`SubjectUse`], the subject's record (and a
    /// pending notice when the agreement says `notify-subject`). All or nothing; the receipts
    /// are in the order of `batch`. Batches handed over concurrently are committed together (and
    /// fail together); an empty batch waits for every batch handed over before it. A batch holds
    /// at most [`MAX_BATCH`] exchanges.
    pub async fn record_exchanges(
        &self,
        batch: Vec<(Exchange, Option<SubjectUse>)>,
    ) -> Result<Vec<LogReceipt>, StoreError> {
        check_nodes(&batch)?;
        self.writer.write(batch).await
    }

    /// Up to `limit` records of `node`'s chain after `after_seq`, in chain order.
    pub async fn message_log(
        &self,
        node: &str,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<LogRecord>, StoreError> {
        let sql = format!(
            "SELECT {LOG_COLUMNS} FROM message_log WHERE node = $1 AND seq > $2 \
             ORDER BY seq LIMIT $3"
        );
        let rows: Vec<LogRecord> = on_pool!(
            &self.pool, pool => sqlx::query_as(&sql).bind(node).bind(after_seq).bind(limit)
                .fetch_all(pool).await
        )
        .map_err(|e| self.failed(&format!("read the message log of node {node} from"), e))?;
        Ok(rows)
    }

    /// Every message log record of one message id (one per node that handled it), by node.
    pub async fn message_by_id(&self, message_id: &str) -> Result<Vec<LogRecord>, StoreError> {
        let sql = format!(
            "SELECT {LOG_COLUMNS} FROM message_log WHERE message_id = $1 ORDER BY node, seq"
        );
        let rows: Vec<LogRecord> = on_pool!(
            &self.pool, pool => sqlx::query_as(&sql).bind(message_id).fetch_all(pool).await
        )
        .map_err(|e| self.failed("look up a message in the message log of", e))?;
        Ok(rows)
    }

    /// The end of every node's chain, by node.
    pub async fn message_log_heads(&self) -> Result<Vec<LogHead>, StoreError> {
        let rows: Vec<(String, i64, String)> = on_pool!(
            &self.pool, pool => sqlx::query_as(HEADS).fetch_all(pool).await
        )
        .map_err(|e| self.failed("read the message log heads from", e))?;
        Ok(rows
            .into_iter()
            .map(|(node, seq, hash)| LogHead { node, seq, hash })
            .collect())
    }

    /// Up to `limit` operational records whose request came in at or after `since`, oldest first.
    pub async fn operational_records(
        &self,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OperationalRecord>, StoreError> {
        let sql = format!(
            "SELECT {OPERATIONAL_COLUMNS} FROM operational_records WHERE request_in_ts >= $1 \
             ORDER BY request_in_ts, id LIMIT $2"
        );
        on_pool!(&self.pool, pool => {
            async {
                let rows = sqlx::query(&sql)
                    .bind(since.timestamp_millis())
                    .bind(limit)
                    .fetch_all(pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok(OperationalRecord {
                            id: r.try_get("id")?,
                            node: r.try_get("node")?,
                            message_id: r.try_get("message_id")?,
                            security_server_type: r.try_get("security_server_type")?,
                            request_in_ts: r.try_get("request_in_ts")?,
                            request_out_ts: r.try_get("request_out_ts")?,
                            response_in_ts: r.try_get("response_in_ts")?,
                            response_out_ts: r.try_get("response_out_ts")?,
                            client_x_road_instance: r.try_get("client_xroad_instance")?,
                            client_member_class: r.try_get("client_member_class")?,
                            client_member_code: r.try_get("client_member_code")?,
                            client_subsystem_code: r.try_get("client_subsystem_code")?,
                            service_x_road_instance: r.try_get("service_xroad_instance")?,
                            service_member_class: r.try_get("service_member_class")?,
                            service_member_code: r.try_get("service_member_code")?,
                            service_subsystem_code: r.try_get("service_subsystem_code")?,
                            service_code: r.try_get("service_code")?,
                            message_issue: r.try_get("message_issue")?,
                            message_protocol_version: r.try_get("message_protocol_version")?,
                            request_size: r.try_get("request_size")?,
                            response_size: r.try_get("response_size")?,
                            succeeded: r.try_get("succeeded")?,
                            fault_code: r.try_get("fault_code")?,
                            status_code: r.try_get("status_code")?,
                            rest_method: r.try_get("rest_method")?,
                            rest_path: r.try_get("rest_path")?,
                        })
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()
            }
            .await
        })
        .map_err(|e| self.failed("read the operational records from", e))
    }

    /// Page `page` (from 1) of `per_page` records of one data subject, newest first.
    pub async fn subject_uses(
        &self,
        subject: &str,
        page: i64,
        per_page: i64,
    ) -> Result<SubjectUsePage, StoreError> {
        let sql = format!(
            "SELECT {SUBJECT_COLUMNS} FROM subject_uses WHERE subject = $1 \
             ORDER BY logtime DESC, id DESC LIMIT $2 OFFSET $3"
        );
        let offset = page.saturating_sub(1).max(0).saturating_mul(per_page);
        type Raw = (
            i64,
            String,
            String,
            String,
            String,
            String,
            String,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            String,
        );
        let (total, rows): (i64, Vec<Raw>) = on_pool!(&self.pool, pool => {
            async {
                let total: i64 = sqlx::query_scalar(COUNT_SUBJECT)
                    .bind(subject)
                    .fetch_one(pool)
                    .await?;
                let rows = sqlx::query_as(&sql)
                    .bind(subject)
                    .bind(per_page)
                    .bind(offset)
                    .fetch_all(pool)
                    .await?;
                Ok::<_, sqlx::Error>((total, rows))
            }
            .await
        })
        .map_err(|e| self.failed("read a data subject's records from", e))?;
        let uses = rows
            .into_iter()
            .map(|r| {
                let fields = self.list(&r.12, &format!("fields of subject record {}", r.0))?;
                Ok(SubjectUseRecord {
                    id: r.0,
                    subject: r.1,
                    logtime: r.2,
                    message_id: r.3,
                    action: r.4,
                    receiver_code: r.5,
                    receiver_name: r.6,
                    receiver_system: r.7,
                    provider: r.8,
                    agreement: r.9,
                    purpose: r.10,
                    legal_basis: r.11,
                    fields,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(SubjectUsePage { total, uses })
    }

    /// Up to `limit` notices still to be delivered, oldest first.
    pub async fn pending_notices(&self, limit: i64) -> Result<Vec<SubjectNotice>, StoreError> {
        let rows: Vec<(i64, String, String, i64, String, Option<String>)> = on_pool!(
            &self.pool, pool => sqlx::query_as(PENDING_NOTICES).bind(limit).fetch_all(pool).await
        )
        .map_err(|e| self.failed("read the pending subject notices from", e))?;
        Ok(rows
            .into_iter()
            .map(
                |(id, subject, created_at, subject_use, status, delivered_at)| SubjectNotice {
                    id,
                    subject,
                    created_at,
                    subject_use,
                    status,
                    delivered_at,
                },
            )
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_hash_covers_every_part() {
        let link = Link {
            format: 2,
            prev_hash: GENESIS_HASH,
            seq: 1,
            node: "gw",
            message_id: "m1",
            logged_at: "2026-12-06T00:00:00.000000000Z",
            bodies_digest: None,
            entry: "{}",
        };
        let base = chain_hash(&link).unwrap();
        assert_eq!(base.len(), 64);
        assert!(
            base.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        let one = "1".repeat(64);
        for changed in [
            Link {
                prev_hash: &one,
                ..link
            },
            Link { seq: 2, ..link },
            Link {
                node: "gw2",
                ..link
            },
            Link {
                message_id: "m2",
                ..link
            },
            Link {
                logged_at: "2026-12-06T00:00:00.000000001Z",
                ..link
            },
            Link {
                bodies_digest: Some("ab"),
                ..link
            },
            Link {
                entry: "{ }",
                ..link
            },
            Link { format: 1, ..link },
        ] {
            assert_ne!(Some(&base), chain_hash(&changed).as_ref(), "{changed:?}");
        }
        assert_eq!(chain_hash(&Link { format: 3, ..link }), None);
        // `printf 'hromada-log/2\n%s\n1\ngw\n"m1"\n2026-12-06T00:00:00.000000000Z\n\n{}' 000…0 | sha256sum`
        assert_eq!(
            base,
            "3db5e24923e03c09c7bd002092bf7eb0e8b9bff64e7acf83fc048dd24a79cc25"
        );
        // Format 1: `printf '%s\n1\ngw\n{}' 000…0 | sha256sum`
        assert_eq!(
            chain_hash(&Link { format: 1, ..link }).unwrap(),
            "21f26ba2f6e6478ae676b9ff0930b4da79590aa5286c9a70f2b3c8e4e2a6a1d5"
        );
    }

    #[test]
    fn identifiers_split_into_their_parts() {
        assert_eq!(
            id_parts::<5>("UA/GOV/123/sub/svc"),
            ["UA", "GOV", "123", "sub", "svc"].map(String::from)
        );
        assert_eq!(
            id_parts::<4>("UA/GOV"),
            ["UA", "GOV", "", ""].map(String::from)
        );
    }
}
