//! The registry's registration-control cards (КМУ №55 п.41), their files and the people they
//! concern. A card changes only through `write_card`: the row (if its version is unchanged), an
//! event in the case history chain under the card's id with every field's old and new value,
//! and the search queue, all in the caller's transaction. Nothing of a card is ever deleted.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::attachments::content_hash;
use super::cases::NewCaseEvent;
use super::{Pool, Store, StoreError, Tx, on_pool, on_tx, time_text};

pub(super) const COLUMNS: &str = "id, participant, journal, direction, kind, status, period, seq, \
     reg_number, reg_date, registered_at, case_code, summary, correspondent, \
     correspondent_number, correspondent_date, signer, addressees, unit, executor, deadline, \
     interim_deadline, control, execution_mark, executed_at, pages, paper, related, extra, \
     source, source_ref, archived_at, version, created_at, created_by, updated_at";

const FILE_COLUMNS: &str = "card_id, n, role, file_name, media_type, size, sha256, added_at, \
     added_by, text, destroyed_at";

/// Binds a card's columns in `COLUMNS` order as `$1`…`$36`.
macro_rules! bind_card {
    ($q:expr, $c:expr) => {
        $q.bind(&$c.id)
            .bind(&$c.participant)
            .bind(&$c.journal)
            .bind(&$c.direction)
            .bind(&$c.kind)
            .bind(&$c.status)
            .bind(&$c.period)
            .bind($c.seq)
            .bind(&$c.reg_number)
            .bind(&$c.reg_date)
            .bind(&$c.registered_at)
            .bind(&$c.case_code)
            .bind(&$c.summary)
            .bind(&$c.correspondent)
            .bind(&$c.correspondent_number)
            .bind(&$c.correspondent_date)
            .bind(&$c.signer)
            .bind(&$c.addressees)
            .bind(&$c.unit)
            .bind(&$c.executor)
            .bind(&$c.deadline)
            .bind(&$c.interim_deadline)
            .bind(&$c.control)
            .bind(&$c.execution_mark)
            .bind(&$c.executed_at)
            .bind($c.pages)
            .bind($c.paper)
            .bind(&$c.related)
            .bind(&$c.extra)
            .bind(&$c.source)
            .bind(&$c.source_ref)
            .bind(&$c.archived_at)
            .bind($c.version)
            .bind(&$c.created_at)
            .bind(&$c.created_by)
            .bind(&$c.updated_at)
    };
}

/// One card as stored. JSON lists and objects (`addressees`, `related`, `extra`) are text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct CardRow {
    /// `card-` and 32 hex digits.
    pub id: String,
    /// The participant whose journal holds the card.
    pub participant: String,
    pub journal: String,
    /// `incoming`, `outgoing` or `internal`.
    pub direction: String,
    /// The spec's document kind.
    pub kind: String,
    /// `draft`, `registered`, `executed`, `filed` (до справи), `archived`, `destroyed`.
    pub status: String,
    /// The numbering period (`2026` for a yearly reset, `` for none) once registered.
    pub period: Option<String>,
    pub seq: Option<i64>,
    pub reg_number: Option<String>,
    /// `YYYY-MM-DD` in the city's time zone.
    pub reg_date: Option<String>,
    pub registered_at: Option<String>,
    /// The case of the case index the card is filed in.
    pub case_code: Option<String>,
    pub summary: String,
    /// Who sent an incoming document (or, for an outgoing one, who it answers).
    pub correspondent: Option<String>,
    /// The correspondent's own number and date of the document.
    pub correspondent_number: Option<String>,
    pub correspondent_date: Option<String>,
    /// Who signed it (a name; for an outgoing document the spec's official id).
    pub signer: Option<String>,
    /// JSON array of addressees.
    pub addressees: String,
    /// Responsible unit, `participant/unit`.
    pub unit: Option<String>,
    /// The main executor's official id.
    pub executor: Option<String>,
    /// `YYYY-MM-DD`, the last day of execution.
    pub deadline: Option<String>,
    pub interim_deadline: Option<String>,
    /// `none`, `on` or `removed`.
    pub control: String,
    pub execution_mark: Option<String>,
    pub executed_at: Option<String>,
    pub pages: Option<i64>,
    /// 1 when the original is on paper (its card gets a QR code, п.50).
    pub paper: i64,
    /// JSON array: the history of the question (earlier cards' ids or numbers).
    pub related: String,
    /// JSON object: the optional requisites (п.42) and the kind's own fields.
    pub extra: String,
    /// `registry`, `portal` or `engine`.
    pub source: String,
    /// The application's or issued document's id, for cards made by the portal or the engine.
    pub source_ref: Option<String>,
    pub archived_at: Option<String>,
    pub version: i64,
    pub created_at: String,
    /// Who made the card, as the case history names actors (`official:<id>`).
    pub created_by: String,
    pub updated_at: String,
}

impl CardRow {
    /// A new draft card `id` of `kind` in `journal` (kept by `participant`, registering
    /// `direction` documents), made by `created_by` at `at`: no number, no requisites yet,
    /// version 1, a card of the registry's own; the fields a caller knows go over it.
    pub fn draft(
        id: &str,
        (participant, journal, direction): (&str, &str, &str),
        kind: &str,
        created_by: &str,
        at: &DateTime<Utc>,
    ) -> CardRow {
        CardRow {
            id: id.to_string(),
            participant: participant.to_string(),
            journal: journal.to_string(),
            direction: direction.to_string(),
            kind: kind.to_string(),
            status: "draft".into(),
            period: None,
            seq: None,
            reg_number: None,
            reg_date: None,
            registered_at: None,
            case_code: None,
            summary: String::new(),
            correspondent: None,
            correspondent_number: None,
            correspondent_date: None,
            signer: None,
            addressees: "[]".into(),
            unit: None,
            executor: None,
            deadline: None,
            interim_deadline: None,
            control: "none".into(),
            execution_mark: None,
            executed_at: None,
            pages: None,
            paper: 0,
            related: "[]".into(),
            extra: "{}".into(),
            source: "registry".into(),
            source_ref: None,
            archived_at: None,
            version: 1,
            created_at: time_text(at),
            created_by: created_by.to_string(),
            updated_at: time_text(at),
        }
    }
}

/// One file of a card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct CardFileRow {
    pub card_id: String,
    pub n: i64,
    /// `original`, `scan`, `annex` or `signature`.
    pub role: String,
    pub file_name: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub added_at: String,
    pub added_by: String,
    /// The text search reads, once extracted.
    pub text: Option<String>,
    /// When an approved act of destruction removed the content.
    pub destroyed_at: Option<String>,
}

/// A file to add to a card.
#[derive(Debug, Clone, Copy)]
pub struct NewCardFile<'a> {
    pub role: &'a str,
    pub file_name: &'a str,
    pub media_type: &'a str,
    pub content: &'a [u8],
}

/// A change of a card to write: the card as it is to be, what it was (`None` for a new card),
/// who made it, acting for whom, and what kind of change it is (`created`, `edited`,
/// `registered`, `resolved`, `deadline-changed`, `removed-from-control`, `executed`, `filed`,
/// `archived`, `destroyed`, `file-added`, …).
#[derive(Debug, Clone)]
pub struct CardChange<'a> {
    pub before: Option<&'a CardRow>,
    pub after: &'a CardRow,
    pub actor: &'a str,
    pub on_behalf: Option<&'a str>,
    pub kind: &'a str,
    /// Beyond the fields' changes: a reason, a file added, a resolution's id.
    pub note: Value,
    pub at: DateTime<Utc>,
}

/// The fields of a card whose changes the history lists, in the order it shows them.
pub const HISTORY_FIELDS: &[&str] = &[
    "status",
    "kind",
    "journal",
    "reg_number",
    "reg_date",
    "case_code",
    "summary",
    "correspondent",
    "correspondent_number",
    "correspondent_date",
    "signer",
    "addressees",
    "unit",
    "executor",
    "deadline",
    "interim_deadline",
    "control",
    "execution_mark",
    "executed_at",
    "pages",
    "paper",
    "related",
    "extra",
    "archived_at",
];

/// Each field of `HISTORY_FIELDS` whose value differs between `before` and `after`, as
/// `{"field", "old", "new"}` (`old` null for a new card).
pub fn card_changes(before: Option<&CardRow>, after: &CardRow) -> Vec<Value> {
    let after_json = serde_json::to_value(after).unwrap_or(Value::Null);
    let before_json = before.and_then(|b| serde_json::to_value(b).ok());
    HISTORY_FIELDS
        .iter()
        .filter_map(|field| {
            let new = after_json.get(*field).cloned().unwrap_or(Value::Null);
            let old = before_json
                .as_ref()
                .and_then(|b| b.get(*field).cloned())
                .unwrap_or(Value::Null);
            (old != new).then(|| json!({"field": field, "old": old, "new": new}))
        })
        .collect()
}

impl Store {
    /// Writes `change` in `tx`: inserts the card (no `before`) or updates it if its version is
    /// still `before.version` (`after.version` must be one more); appends its event to the case
    /// history chain and queues the card for the search index. `false` when another writer
    /// moved the card first (nothing written).
    pub async fn write_card(
        &self,
        tx: &mut Tx,
        change: &CardChange<'_>,
    ) -> Result<bool, StoreError> {
        let c = change.after;
        let expected = change.before.map_or(0, |b| b.version);
        if c.version != expected + 1 {
            return Err(StoreError::new(format!(
                "card {} is written as version {} over version {expected}",
                c.id, c.version
            )));
        }
        let written = if change.before.is_none() {
            let sql = format!(
                "INSERT INTO cards ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
                 $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, \
                 $27, $28, $29, $30, $31, $32, $33, $34, $35, $36)"
            );
            on_tx!(&mut *tx, t => bind_card!(sqlx::query(&sql), c)
                .execute(&mut **t).await.map(|d| d.rows_affected()))
        } else {
            let sql = "UPDATE cards SET participant = $2, journal = $3, direction = $4, kind = $5, \
                 status = $6, period = $7, seq = $8, reg_number = $9, reg_date = $10, \
                 registered_at = $11, case_code = $12, summary = $13, correspondent = $14, \
                 correspondent_number = $15, correspondent_date = $16, signer = $17, \
                 addressees = $18, unit = $19, executor = $20, deadline = $21, \
                 interim_deadline = $22, control = $23, execution_mark = $24, executed_at = $25, \
                 pages = $26, paper = $27, related = $28, extra = $29, source = $30, \
                 source_ref = $31, archived_at = $32, version = $33, created_at = $34, \
                 created_by = $35, updated_at = $36 WHERE id = $1 AND version = $37";
            on_tx!(&mut *tx, t => bind_card!(sqlx::query(sql), c)
                .bind(expected)
                .execute(&mut **t).await.map(|d| d.rows_affected()))
        }
        .map_err(|e| self.failed(&format!("write card {} in", c.id), e))?;
        if written != 1 {
            return Ok(false);
        }
        let detail = json!({
            "version": c.version,
            "changes": card_changes(change.before, c),
            "note": change.note,
        });
        self.append_case_event(
            tx,
            &NewCaseEvent {
                case_id: c.id.clone(),
                at: time_text(&change.at),
                actor: change.actor.to_string(),
                on_behalf: change.on_behalf.map(str::to_string),
                kind: change.kind.to_string(),
                event: None,
                from_state: change.before.map(|b| b.status.clone()),
                to_state: Some(c.status.clone()),
                detail: detail.to_string(),
            },
        )
        .await?;
        on_tx!(&mut *tx, t => sqlx::query(
            "INSERT INTO card_index_queue (card_id, version, queued_at) VALUES ($1, $2, $3) \
             ON CONFLICT (card_id) DO UPDATE SET version = excluded.version, \
             queued_at = excluded.queued_at")
            .bind(&c.id).bind(c.version).bind(time_text(&change.at))
            .execute(&mut **t).await.map(drop))
        .map_err(|e| self.failed("queue a card for the search index in", e))?;
        // Early for PostgreSQL (the indexer may wake before the commit and finds the card on
        // its next poll); on SQLite the indexer's lease waits for this transaction.
        self.wake_indexer();
        Ok(true)
    }

    /// Card `id`, if there is one.
    pub async fn card(&self, id: &str) -> Result<Option<CardRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM cards WHERE id = $1");
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
            .map_err(|e| self.failed("read a card from", e))
    }

    /// Card `id` read in `tx` after taking its row, so that a concurrent change waits for this
    /// transaction (on any replica) instead of interleaving with it.
    pub async fn card_in(&self, tx: &mut Tx, id: &str) -> Result<Option<CardRow>, StoreError> {
        on_tx!(&mut *tx, t => sqlx::query("UPDATE cards SET id = id WHERE id = $1")
            .bind(id).execute(&mut **t).await.map(drop))
        .map_err(|e| self.failed("take a card in", e))?;
        let sql = format!("SELECT {COLUMNS} FROM cards WHERE id = $1");
        on_tx!(&mut *tx, t => sqlx::query_as(&sql).bind(id).fetch_optional(&mut **t).await)
            .map_err(|e| self.failed("read a card from", e))
    }

    /// The card the portal or the engine made for `source_ref` (an application, a document).
    pub async fn card_by_source(
        &self,
        source: &str,
        source_ref: &str,
    ) -> Result<Option<CardRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM cards WHERE source = $1 AND source_ref = $2");
        on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(source).bind(source_ref).fetch_optional(pool).await)
        .map_err(|e| self.failed("read a card from", e))
    }

    /// Adds `file` to card `card_id` in `tx`, numbered after its other files; the row written.
    /// The caller takes the card's row first (`card_in`) and writes the card's change with it.
    pub async fn add_card_file(
        &self,
        tx: &mut Tx,
        card_id: &str,
        file: &NewCardFile<'_>,
        added_by: &str,
        now: DateTime<Utc>,
    ) -> Result<CardFileRow, StoreError> {
        let last: Option<i64> = on_tx!(&mut *tx, t => sqlx::query_scalar(
            "SELECT MAX(n) FROM card_files WHERE card_id = $1")
            .bind(card_id).fetch_one(&mut **t).await)
        .map_err(|e| self.failed("count a card's files in", e))?;
        let row = CardFileRow {
            card_id: card_id.to_string(),
            n: last.unwrap_or(0) + 1,
            role: file.role.to_string(),
            file_name: file.file_name.to_string(),
            media_type: file.media_type.to_string(),
            size: file.content.len() as i64,
            sha256: content_hash(file.content),
            added_at: time_text(&now),
            added_by: added_by.to_string(),
            text: None,
            destroyed_at: None,
        };
        on_tx!(&mut *tx, t => sqlx::query(
            "INSERT INTO attachment_blobs (sha256, size, content, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING")
            .bind(&row.sha256).bind(row.size).bind(file.content).bind(&row.added_at)
            .execute(&mut **t).await.map(drop))
        .map_err(|e| self.failed("store a card's file in", e))?;
        let sql = format!(
            "INSERT INTO card_files ({FILE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11)"
        );
        on_tx!(&mut *tx, t => sqlx::query(&sql)
            .bind(&row.card_id).bind(row.n).bind(&row.role).bind(&row.file_name)
            .bind(&row.media_type).bind(row.size).bind(&row.sha256).bind(&row.added_at)
            .bind(&row.added_by).bind(&row.text).bind(&row.destroyed_at)
            .execute(&mut **t).await.map(drop))
        .map_err(|e| self.failed("add a file to a card in", e))?;
        Ok(row)
    }

    /// The files of card `card_id`, in the order they were added.
    pub async fn card_files(&self, card_id: &str) -> Result<Vec<CardFileRow>, StoreError> {
        let sql = format!("SELECT {FILE_COLUMNS} FROM card_files WHERE card_id = $1 ORDER BY n");
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(card_id).fetch_all(pool).await)
            .map_err(|e| self.failed("read a card's files from", e))
    }

    /// Records in `tx` that card `card_id` concerns `official` as `relation` (`executor`,
    /// `co-executor`, `informed`, `author`, `delegate`, …); once per relation.
    pub async fn add_card_person(
        &self,
        tx: &mut Tx,
        card_id: &str,
        official: &str,
        relation: &str,
    ) -> Result<(), StoreError> {
        // With the card's order key as the index holds it now; the indexer keeps it current.
        let key = match self.pool {
            Pool::Postgres(_) => "order_key",
            Pool::Sqlite(_) => "rowid",
        };
        let sql = format!(
            "INSERT INTO card_people (card_id, official, relation, order_key) \
             VALUES ($1, $2, $3, (SELECT s.{key} FROM card_search s WHERE s.card_id = $1)) \
             ON CONFLICT (card_id, official, relation) DO NOTHING"
        );
        on_tx!(&mut *tx, t => sqlx::query(&sql)
            .bind(card_id).bind(official).bind(relation)
            .execute(&mut **t).await.map(drop))
        .map_err(|e| self.failed("record who a card concerns in", e))
    }

    /// The people card `card_id` concerns, as `(official, relation)`.
    pub async fn card_people(&self, card_id: &str) -> Result<Vec<(String, String)>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_as(
            "SELECT official, relation FROM card_people WHERE card_id = $1 \
             ORDER BY official, relation")
            .bind(card_id).fetch_all(pool).await)
        .map_err(|e| self.failed("read who a card concerns from", e))
    }
}
