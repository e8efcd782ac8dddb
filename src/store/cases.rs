//! The case engine's repository: cases, the workflow definitions pinned per revision, the case
//! history (one hash chain over all cases, so that a case deleted with all its events breaks it),
//! cabinet notices and idempotency keys. Writes that belong to a transition take the caller's `Tx`.

use serde::{Deserialize, Serialize};

use super::reconciles::time_text;
use super::{GENESIS_HASH, Store, StoreError, Tx, on_pool, on_tx};

/// A workflow definition as pinned for one revision: the JSON document the engine needs to run
/// a case of it to the end, and its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DefinitionRow {
    pub revision: String,
    pub workflow: String,
    pub definition: String,
    pub digest: String,
    pub stored_at: String,
}

/// One case as stored. JSON documents (`data`, `registry`, `decision`) are text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct CaseRow {
    pub id: String,
    pub workflow: String,
    pub revision: String,
    pub e_service: String,
    pub state: String,
    /// NULL while the case is open.
    pub outcome: Option<String>,
    pub applicant: String,
    pub applicant_name: String,
    pub applicant_email: Option<String>,
    /// The official working the case, if one took it.
    pub assignee: Option<String>,
    /// The role whose officials work the case now.
    pub role: Option<String>,
    pub data: String,
    pub registry: String,
    pub decision: Option<String>,
    pub deadline_at: Option<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub state_entered_at: String,
}

/// An event to append to the case history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCaseEvent {
    pub case_id: String,
    pub at: String,
    /// Who: `official:<id>`, `applicant:<id>`, `engine` or `timer`.
    pub actor: String,
    /// Acting for whom, when someone acts for another (a representative, a delegate).
    pub on_behalf: Option<String>,
    /// `started`, `transition`, `called`, `decided`, `notified`, `issued`, `assigned`,
    /// `reminded`, `escalated`, `overdue`, `migrated`.
    pub kind: String,
    /// The transition's event, for a transition.
    pub event: Option<String>,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    /// What changed, as JSON.
    pub detail: String,
}

/// One event of the case history, with its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct CaseEventRow {
    pub seq: i64,
    pub case_id: String,
    pub at: String,
    pub actor: String,
    pub on_behalf: Option<String>,
    pub kind: String,
    pub event: Option<String>,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// A cabinet message to add; `key` makes it once per cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotice {
    pub key: String,
    pub case_id: String,
    /// `applicant` or `official`.
    pub recipient_kind: String,
    pub recipient: String,
    pub message: String,
    pub created_at: String,
}

/// A cabinet message as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct NoticeRow {
    pub id: i64,
    pub key: String,
    pub case_id: String,
    pub recipient_kind: String,
    pub recipient: String,
    pub message: String,
    pub created_at: String,
    pub read_at: Option<String>,
}

/// A request already made under an idempotency key: what it asked and what it made.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CaseRequestRow {
    pub key: String,
    pub case_id: String,
    pub fingerprint: String,
    pub result: String,
    pub created_at: String,
}

/// Which cases to list; every field given narrows the list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFilter {
    pub workflow: Option<String>,
    pub state: Option<String>,
    pub assignee: Option<String>,
    pub role: Option<String>,
    pub applicant: Option<String>,
    /// Open cases whose deadline is before this time (RFC 3339).
    pub overdue_at: Option<String>,
    /// Only open cases.
    pub open_only: bool,
    /// At most this many (1000 at most; 0 for 100).
    pub limit: i64,
}

/// The hash of an event in the chain: SHA-256 over a versioned JSON array of the previous hash,
/// the event's seq and every column written with it (so nothing of it changes unnoticed).
pub fn case_event_hash(prev_hash: &str, seq: i64, e: &NewCaseEvent) -> String {
    let text = serde_json::json!([
        "hromada-case/1",
        prev_hash,
        seq,
        e.case_id,
        e.at,
        e.actor,
        e.on_behalf,
        e.kind,
        e.event,
        e.from_state,
        e.to_state,
        e.detail,
    ])
    .to_string();
    crate::crypto::sha256_hex(text.as_bytes())
}

impl CaseEventRow {
    /// The event as it was appended, for recomputing its hash.
    pub fn as_new(&self) -> NewCaseEvent {
        NewCaseEvent {
            case_id: self.case_id.clone(),
            at: self.at.clone(),
            actor: self.actor.clone(),
            on_behalf: self.on_behalf.clone(),
            kind: self.kind.clone(),
            event: self.event.clone(),
            from_state: self.from_state.clone(),
            to_state: self.to_state.clone(),
            detail: self.detail.clone(),
        }
    }
}

const CASE_COLUMNS: &str = "id, workflow, revision, e_service, state, outcome, applicant, \
     applicant_name, applicant_email, assignee, role, data, registry, decision, deadline_at, version, \
     created_at, updated_at, state_entered_at";
const EVENT_COLUMNS: &str = "seq, case_id, at, actor, on_behalf, kind, event, from_state, \
     to_state, detail, prev_hash, hash";
const NOTICE_COLUMNS: &str =
    "id, key, case_id, recipient_kind, recipient, message, created_at, read_at";

impl Store {
    /// Pins a workflow definition for a revision. Storing the same again is a no-op; a different
    /// definition under the same revision and workflow is refused (a revision never changes).
    pub async fn put_definition(
        &self,
        revision: &str,
        workflow: &str,
        definition: &str,
    ) -> Result<(), StoreError> {
        let digest = crate::crypto::sha256_hex(definition.as_bytes());
        let now = time_text(&chrono::Utc::now());
        on_pool!(&self.pool, pool => sqlx::query(
            "INSERT INTO workflow_definitions (revision, workflow, definition, digest, stored_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (revision, workflow) DO NOTHING")
            .bind(revision).bind(workflow).bind(definition).bind(&digest).bind(&now)
            .execute(pool).await.map(drop))
        .map_err(|e| self.failed("pin a workflow definition in", e))?;
        match self.definition(revision, workflow).await? {
            Some(row) if row.digest == digest => Ok(()),
            Some(_) => Err(StoreError::new(format!(
                "workflow `{workflow}` of revision {revision} is already pinned in the store with \
                 a different definition; a revision's definition never changes, so the store was \
                 changed by hand or the revision id was reused: restore the store from a backup"
            ))),
            None => Err(StoreError::new(format!(
                "workflow `{workflow}` of revision {revision} was pinned but cannot be read back"
            ))),
        }
    }

    /// The definition of `workflow` pinned for `revision`.
    pub async fn definition(
        &self,
        revision: &str,
        workflow: &str,
    ) -> Result<Option<DefinitionRow>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_as(
            "SELECT revision, workflow, definition, digest, stored_at FROM workflow_definitions \
             WHERE revision = $1 AND workflow = $2")
            .bind(revision).bind(workflow).fetch_optional(pool).await)
        .map_err(|e| self.failed("read a pinned workflow definition from", e))
    }

    /// The definition of `workflow` pinned for `revision`, read inside `tx`.
    pub async fn definition_in(
        &self,
        tx: &mut Tx,
        revision: &str,
        workflow: &str,
    ) -> Result<Option<DefinitionRow>, StoreError> {
        on_tx!(tx, t => sqlx::query_as(
            "SELECT revision, workflow, definition, digest, stored_at FROM workflow_definitions \
             WHERE revision = $1 AND workflow = $2")
            .bind(revision).bind(workflow).fetch_optional(&mut **t).await)
        .map_err(|e| self.failed("read a pinned workflow definition from", e))
    }

    /// Every pinned definition, for verification.
    pub async fn definitions(&self) -> Result<Vec<DefinitionRow>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_as(
            "SELECT revision, workflow, definition, digest, stored_at FROM workflow_definitions \
             ORDER BY revision, workflow").fetch_all(pool).await)
        .map_err(|e| self.failed("read the pinned workflow definitions from", e))
    }

    /// Adds a new case.
    pub async fn insert_case(&self, tx: &mut Tx, c: &CaseRow) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO cases ({CASE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             $11, $12, $13, $14, $15, $16, $17, $18, $19)"
        );
        on_tx!(tx, t => sqlx::query(&sql)
            .bind(&c.id).bind(&c.workflow).bind(&c.revision).bind(&c.e_service).bind(&c.state)
            .bind(&c.outcome).bind(&c.applicant).bind(&c.applicant_name).bind(&c.applicant_email)
            .bind(&c.assignee).bind(&c.role).bind(&c.data).bind(&c.registry)
            .bind(&c.decision).bind(&c.deadline_at).bind(c.version).bind(&c.created_at).bind(&c.updated_at)
            .bind(&c.state_entered_at)
            .execute(&mut **t).await.map(drop))
        .map_err(|e| self.failed(&format!("add case {} to", c.id), e))
    }

    /// Writes a case's new row if it is still at `expected_version`; `false` when someone else
    /// changed it first (nothing written then).
    pub async fn update_case(
        &self,
        tx: &mut Tx,
        c: &CaseRow,
        expected_version: i64,
    ) -> Result<bool, StoreError> {
        let changed = on_tx!(tx, t => sqlx::query(
            "UPDATE cases SET state = $1, outcome = $2, assignee = $3, role = $4, data = $5, \
             registry = $6, decision = $7, deadline_at = $8, version = $9, updated_at = $10, \
             state_entered_at = $11 WHERE id = $12 AND version = $13")
            .bind(&c.state).bind(&c.outcome).bind(&c.assignee).bind(&c.role).bind(&c.data)
            .bind(&c.registry).bind(&c.decision).bind(&c.deadline_at).bind(c.version)
            .bind(&c.updated_at).bind(&c.state_entered_at).bind(&c.id).bind(expected_version)
            .execute(&mut **t).await.map(|r| r.rows_affected()))
        .map_err(|e| self.failed(&format!("update case {} in", c.id), e))?;
        Ok(changed == 1)
    }

    /// A case by id.
    pub async fn case(&self, id: &str) -> Result<Option<CaseRow>, StoreError> {
        let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = $1");
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
            .map_err(|e| self.failed(&format!("read case {id} from"), e))
    }

    /// A case by id, read inside a transaction.
    pub async fn case_in(&self, tx: &mut Tx, id: &str) -> Result<Option<CaseRow>, StoreError> {
        let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = $1");
        on_tx!(tx, t => sqlx::query_as(&sql).bind(id).fetch_optional(&mut **t).await)
            .map_err(|e| self.failed(&format!("read case {id} from"), e))
    }

    /// Cases matching `filter`, newest first.
    pub async fn cases(&self, filter: &CaseFilter) -> Result<Vec<CaseRow>, StoreError> {
        let mut sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE 1 = 1");
        let mut binds: Vec<&str> = Vec::new();
        for (column, op, value) in [
            ("workflow", "=", &filter.workflow),
            ("state", "=", &filter.state),
            ("assignee", "=", &filter.assignee),
            ("role", "=", &filter.role),
            ("applicant", "=", &filter.applicant),
            ("deadline_at", "<", &filter.overdue_at),
        ] {
            if let Some(v) = value {
                binds.push(v);
                sql.push_str(&format!(" AND {column} {op} ${}", binds.len()));
            }
        }
        if filter.open_only || filter.overdue_at.is_some() {
            sql.push_str(" AND outcome IS NULL");
        }
        let limit = if filter.limit <= 0 {
            100
        } else {
            filter.limit.min(1000)
        };
        sql.push_str(&format!(" ORDER BY created_at DESC, id LIMIT {limit}"));
        on_pool!(&self.pool, pool => {
            let mut q = sqlx::query_as(&sql);
            for b in &binds {
                q = q.bind(*b);
            }
            q.fetch_all(pool).await
        })
        .map_err(|e| self.failed("list cases in", e))
    }

    /// Appends an event to the case history: takes the chain's head (its lock, until `tx` ends),
    /// links the event to it and moves the head.
    pub async fn append_case_event(
        &self,
        tx: &mut Tx,
        e: &NewCaseEvent,
    ) -> Result<CaseEventRow, StoreError> {
        let (seq, prev_hash): (i64, String) = on_tx!(&mut *tx, t => sqlx::query_as(
            "UPDATE case_events_head SET seq = seq + 1 WHERE singleton = 1 RETURNING seq, hash")
            .fetch_one(&mut **t).await)
        .map_err(|err| self.failed("take the head of the case history in", err))?;
        let hash = case_event_hash(&prev_hash, seq, e);
        let sql = format!(
            "INSERT INTO case_events ({EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
             $9, $10, $11, $12)"
        );
        on_tx!(&mut *tx, t => sqlx::query(&sql)
            .bind(seq).bind(&e.case_id).bind(&e.at).bind(&e.actor).bind(&e.on_behalf)
            .bind(&e.kind).bind(&e.event).bind(&e.from_state).bind(&e.to_state).bind(&e.detail)
            .bind(&prev_hash).bind(&hash)
            .execute(&mut **t).await.map(drop))
        .map_err(|err| {
            self.failed(
                &format!("append to the history of case {} in", e.case_id),
                err,
            )
        })?;
        on_tx!(&mut *tx, t => sqlx::query("UPDATE case_events_head SET hash = $1 WHERE singleton = 1")
            .bind(&hash).execute(&mut **t).await.map(drop))
        .map_err(|err| self.failed("move the head of the case history in", err))?;
        Ok(CaseEventRow {
            seq,
            case_id: e.case_id.clone(),
            at: e.at.clone(),
            actor: e.actor.clone(),
            on_behalf: e.on_behalf.clone(),
            kind: e.kind.clone(),
            event: e.event.clone(),
            from_state: e.from_state.clone(),
            to_state: e.to_state.clone(),
            detail: e.detail.clone(),
            prev_hash,
            hash,
        })
    }

    /// The history of one case, oldest first.
    pub async fn case_events(&self, case_id: &str) -> Result<Vec<CaseEventRow>, StoreError> {
        let sql =
            format!("SELECT {EVENT_COLUMNS} FROM case_events WHERE case_id = $1 ORDER BY seq");
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(case_id).fetch_all(pool).await)
            .map_err(|e| self.failed(&format!("read the history of case {case_id} from"), e))
    }

    /// Up to `limit` events of the chain after `after_seq`, in order (for verification).
    pub async fn case_event_page(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<CaseEventRow>, StoreError> {
        let sql =
            format!("SELECT {EVENT_COLUMNS} FROM case_events WHERE seq > $1 ORDER BY seq LIMIT $2");
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(after_seq).bind(limit)
            .fetch_all(pool).await)
        .map_err(|e| self.failed("read the case history from", e))
    }

    /// The chain's head: how many events it holds and the last one's hash.
    pub async fn case_events_head(&self) -> Result<(i64, String), StoreError> {
        let head: Option<(i64, String)> = on_pool!(&self.pool, pool => sqlx::query_as(
            "SELECT seq, hash FROM case_events_head WHERE singleton = 1").fetch_optional(pool).await)
        .map_err(|e| self.failed("read the head of the case history from", e))?;
        Ok(head.unwrap_or((0, GENESIS_HASH.to_string())))
    }

    /// Every case id, for checking cases against their history.
    pub async fn case_page(&self, after_id: &str, limit: i64) -> Result<Vec<CaseRow>, StoreError> {
        let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE id > $1 ORDER BY id LIMIT $2");
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(after_id).bind(limit)
            .fetch_all(pool).await)
        .map_err(|e| self.failed("read cases from", e))
    }

    /// Adds a cabinet message; `false` when one with its key exists already.
    pub async fn add_notice(&self, tx: &mut Tx, n: &NewNotice) -> Result<bool, StoreError> {
        let added = on_tx!(tx, t => sqlx::query(
            "INSERT INTO case_notices (key, case_id, recipient_kind, recipient, message, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING")
            .bind(&n.key).bind(&n.case_id).bind(&n.recipient_kind).bind(&n.recipient)
            .bind(&n.message).bind(&n.created_at)
            .execute(&mut **t).await.map(|r| r.rows_affected()))
        .map_err(|e| self.failed(&format!("add a notice of case {} to", n.case_id), e))?;
        Ok(added == 1)
    }

    /// The cabinet messages of one recipient, newest first.
    pub async fn notices_for(
        &self,
        recipient_kind: &str,
        recipient: &str,
        limit: i64,
    ) -> Result<Vec<NoticeRow>, StoreError> {
        let sql = format!(
            "SELECT {NOTICE_COLUMNS} FROM case_notices WHERE recipient_kind = $1 AND \
             recipient = $2 ORDER BY id DESC LIMIT $3"
        );
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(recipient_kind).bind(recipient)
            .bind(limit.clamp(1, 1000)).fetch_all(pool).await)
        .map_err(|e| self.failed("read notices from", e))
    }

    /// The cabinet messages a case left, oldest first.
    pub async fn case_notices(&self, case_id: &str) -> Result<Vec<NoticeRow>, StoreError> {
        let sql =
            format!("SELECT {NOTICE_COLUMNS} FROM case_notices WHERE case_id = $1 ORDER BY id");
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(case_id).fetch_all(pool).await)
            .map_err(|e| self.failed(&format!("read the notices of case {case_id} from"), e))
    }

    /// The request made under an idempotency key, if any.
    pub async fn case_request_by_key(
        &self,
        key: &str,
    ) -> Result<Option<CaseRequestRow>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_as(
            "SELECT key, case_id, fingerprint, result, created_at FROM case_requests WHERE key = $1")
            .bind(key).fetch_optional(pool).await)
        .map_err(|e| self.failed("read an idempotency key from", e))
    }

    /// The request made under an idempotency key, if any, read inside `tx`.
    pub async fn case_request(
        &self,
        tx: &mut Tx,
        key: &str,
    ) -> Result<Option<CaseRequestRow>, StoreError> {
        on_tx!(tx, t => sqlx::query_as(
            "SELECT key, case_id, fingerprint, result, created_at FROM case_requests WHERE key = $1")
            .bind(key).fetch_optional(&mut **t).await)
        .map_err(|e| self.failed("read an idempotency key from", e))
    }

    /// Records what a request under an idempotency key made; `false` when the key was taken.
    pub async fn record_case_request(
        &self,
        tx: &mut Tx,
        r: &CaseRequestRow,
    ) -> Result<bool, StoreError> {
        let added = on_tx!(tx, t => sqlx::query(
            "INSERT INTO case_requests (key, case_id, fingerprint, result, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO NOTHING")
            .bind(&r.key).bind(&r.case_id).bind(&r.fingerprint).bind(&r.result)
            .bind(&r.created_at)
            .execute(&mut **t).await.map(|r| r.rows_affected()))
        .map_err(|e| self.failed("record an idempotency key in", e))?;
        Ok(added == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> NewCaseEvent {
        NewCaseEvent {
            case_id: "c1".into(),
            at: "2026-03-02T09:00:00.000000000Z".into(),
            actor: "official:koval-o".into(),
            on_behalf: None,
            kind: "transition".into(),
            event: Some("grant".into()),
            from_state: Some("review".into()),
            to_state: Some("granted".into()),
            detail: "{}".into(),
        }
    }

    #[test]
    fn the_hash_covers_every_column_and_the_link() {
        let base = case_event_hash(GENESIS_HASH, 1, &event());
        assert_eq!(base, case_event_hash(GENESIS_HASH, 1, &event()));
        let changes: [fn(&mut NewCaseEvent); 9] = [
            |e| e.case_id.push('x'),
            |e| e.at.push('x'),
            |e| e.actor.push('x'),
            |e| e.on_behalf = Some(String::new()),
            |e| e.kind.push('x'),
            |e| e.event = None,
            |e| e.from_state = None,
            |e| e.to_state = None,
            |e| e.detail.push(' '),
        ];
        for change in changes {
            let mut e = event();
            change(&mut e);
            assert_ne!(case_event_hash(GENESIS_HASH, 1, &e), base);
        }
        assert_ne!(case_event_hash(GENESIS_HASH, 2, &event()), base);
        assert_ne!(case_event_hash(&base, 1, &event()), base);
    }
}
