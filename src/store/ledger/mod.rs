//! The gateway's ledger in the store: the message log (hash-chained per node, `chain.rs`), X-Road
//! operational records, data subjects' records and pending notices, whose row types it owns
//! (`record.rs`: what an exchange leaves behind). A batch's rows (`rows.rs`) are written in one
//! transaction by one group-commit writer (`group_commit.rs`): a SQLite file's own thread
//! (`sqlite_writer.rs`) or a task writing through the pool (`pool_writer.rs`, `batch_rows.rs`,
//! `head_cache.rs`). The transaction first locks each node's `message_log_head` row or
//! (PostgreSQL, a batch of one node whose head is cached) moves the head only if it is
//! unchanged, so a chain never forks.

mod batch_rows;
mod chain;
mod group_commit;
mod head_cache;
mod pool_writer;
mod record;
mod rows;
mod sqlite_writer;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use chain::{GENESIS_HASH, LOG_FORMAT, Link, LogReceipt, bodies_digest, chain_hash};
pub(super) use group_commit::GroupCommit as Writer;
pub(super) use pool_writer::group_commit as writer_through_pool;
pub use record::{Exchange, ProviderFault, Side, SubjectUse, SubjectUseRecord};
pub(super) use sqlite_writer::group_commit as writer_on_sqlite_file;

use super::{Store, StoreError, on_pool, parse_time};
use chain::check_nodes;

/// Most exchanges written in one transaction.
pub const MAX_BATCH: usize = 256;

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
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LogHead {
    pub node: String,
    pub seq: i64,
    pub hash: String,
}

/// An operational monitoring record, named as X-Road's operational monitoring names its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
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
    #[sqlx(rename = "client_xroad_instance")]
    pub client_x_road_instance: String,
    pub client_member_class: String,
    pub client_member_code: String,
    pub client_subsystem_code: String,
    #[sqlx(rename = "service_xroad_instance")]
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

/// One page of a subject's records, newest first, and how many there are in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectUsePage {
    pub total: i64,
    pub uses: Vec<SubjectUseRecord>,
}

/// A notice waiting for the portal to deliver it to the data subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct SubjectNotice {
    pub id: i64,
    pub subject: String,
    pub created_at: String,
    pub subject_use: i64,
    pub status: String,
    pub delivered_at: Option<String>,
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
/// A data subject's record, and whether a notice was queued for it.
const SUBJECT_COLUMNS: &str = "id, subject, logtime, message_id, action, receiver_code, \
     receiver_name, receiver_system, provider, agreement, purpose, legal_basis, fields, \
     EXISTS (SELECT 1 FROM subject_notices WHERE subject_use = subject_uses.id) AS notify";
const COUNT_SUBJECT: &str = "SELECT COUNT(*) FROM subject_uses WHERE subject = $1";
const PENDING_NOTICES: &str = "SELECT id, subject, created_at, subject_use, status, delivered_at \
     FROM subject_notices WHERE status = 'pending' ORDER BY id LIMIT $1";

/// A `subject_uses` row as stored: its time and fields still text.
#[derive(sqlx::FromRow)]
struct SubjectUseRow {
    id: i64,
    subject: String,
    logtime: String,
    message_id: String,
    action: String,
    receiver_code: String,
    receiver_name: String,
    receiver_system: String,
    provider: String,
    agreement: String,
    purpose: Option<String>,
    legal_basis: Option<String>,
    fields: String,
    notify: bool,
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
        on_pool!(&self.pool, pool => sqlx::query_as(HEADS).fetch_all(pool).await)
            .map_err(|e| self.failed("read the message log heads from", e))
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
        on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(since.timestamp_millis())
            .bind(limit)
            .fetch_all(pool)
            .await)
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
        let (total, rows): (i64, Vec<SubjectUseRow>) = on_pool!(&self.pool, pool => {
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
            .map(|row| self.subject_use(row))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(SubjectUsePage { total, uses })
    }

    /// Up to `limit` notices still to be delivered, oldest first.
    pub async fn pending_notices(&self, limit: i64) -> Result<Vec<SubjectNotice>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_as(PENDING_NOTICES).bind(limit).fetch_all(pool).await)
            .map_err(|e| self.failed("read the pending subject notices from", e))
    }

    /// A data subject's record read back as it was written.
    fn subject_use(&self, row: SubjectUseRow) -> Result<SubjectUseRecord, StoreError> {
        let what = format!("subject record {}", row.id);
        let logtime = parse_time(&row.logtime)
            .ok_or_else(|| self.malformed(&what, "log time", &row.logtime))?;
        let fields = self.list(&row.fields, &format!("fields of {what}"))?;
        Ok(SubjectUseRecord {
            id: row.id,
            subject_use: SubjectUse {
                subject: row.subject,
                logtime,
                message_id: row.message_id,
                action: row.action,
                receiver_code: row.receiver_code,
                receiver_name: row.receiver_name,
                receiver_system: row.receiver_system,
                provider: row.provider,
                agreement: row.agreement,
                purpose: row.purpose,
                legal_basis: row.legal_basis,
                fields,
                notify: row.notify,
            },
        })
    }
}
