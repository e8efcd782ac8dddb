//! Resolutions on registry cards (REG-2) and each executor's work on them: the sealed
//! resolution rows (never updated), the engine case of each executor, and the tasks an official
//! (or their principals) has, read with the card and the case together.

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, Tx, on_pool, on_tx};

const COLUMNS: &str = "id, card_id, parent, author, acting_for, main_executor, co_executors, \
     informed, task, deadline, interim_deadline, created_at, canonical, seal, sealed_by";

/// One resolution as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct ResolutionRow {
    /// `res-` and 32 hex digits.
    pub id: String,
    pub card_id: String,
    /// The resolution that reached its author as a co-executor, for their own one.
    pub parent: Option<String>,
    /// The official who wrote it.
    pub author: String,
    /// The principal they wrote it for, as a deputy.
    pub acting_for: Option<String>,
    pub main_executor: String,
    /// JSON arrays of official ids.
    pub co_executors: String,
    pub informed: String,
    pub task: String,
    /// `YYYY-MM-DD` in the city's time zone.
    pub deadline: String,
    pub interim_deadline: Option<String>,
    pub created_at: String,
    /// The canonical JSON the seal covers, byte for byte.
    pub canonical: String,
    /// The participant's detached CMS seal (DER) over `canonical`.
    pub seal: Vec<u8>,
    pub sealed_by: String,
}

/// One executor's work on a resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct ResolutionExecutorRow {
    pub resolution_id: String,
    pub official: String,
    /// `main` or `co`.
    pub relation: String,
    pub case_id: String,
}

/// A task as an executor's list shows it: the work, its case and its card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct TaskRow {
    pub case_id: String,
    pub resolution_id: String,
    pub official: String,
    pub relation: String,
    pub state: String,
    pub outcome: Option<String>,
    pub deadline_at: Option<String>,
    pub card_id: String,
    pub reg_number: Option<String>,
    pub summary: String,
    pub task: String,
    pub deadline: String,
}

const TASK_SELECT: &str = "SELECT e.case_id, e.resolution_id, e.official, e.relation, k.state, \
     k.outcome, k.deadline_at, c.id AS card_id, c.reg_number, c.summary, r.task, r.deadline \
     FROM resolution_executors e JOIN resolutions r ON r.id = e.resolution_id \
     JOIN cases k ON k.id = e.case_id JOIN cards c ON c.id = r.card_id";

impl Store {
    /// Writes resolution `r` in `tx`.
    pub async fn insert_resolution(
        &self,
        tx: &mut Tx,
        r: &ResolutionRow,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO resolutions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11, $12, $13, $14, $15)"
        );
        on_tx!(&mut *tx, t => sqlx::query(&sql)
            .bind(&r.id).bind(&r.card_id).bind(&r.parent).bind(&r.author).bind(&r.acting_for)
            .bind(&r.main_executor).bind(&r.co_executors).bind(&r.informed).bind(&r.task)
            .bind(&r.deadline).bind(&r.interim_deadline).bind(&r.created_at)
            .bind(&r.canonical).bind(&r.seal).bind(&r.sealed_by)
            .execute(&mut **t).await.map(drop))
        .map_err(|e| self.failed(&format!("write resolution {} in", r.id), e))
    }

    /// Records in `tx` that `e.official` works resolution `e.resolution_id` in case `e.case_id`.
    pub async fn add_resolution_executor(
        &self,
        tx: &mut Tx,
        e: &ResolutionExecutorRow,
    ) -> Result<(), StoreError> {
        on_tx!(&mut *tx, t => sqlx::query(
            "INSERT INTO resolution_executors (resolution_id, official, relation, case_id) \
             VALUES ($1, $2, $3, $4)")
            .bind(&e.resolution_id).bind(&e.official).bind(&e.relation).bind(&e.case_id)
            .execute(&mut **t).await.map(drop))
        .map_err(|err| self.failed("record a resolution's executor in", err))
    }

    /// The resolutions of card `card_id`, oldest first.
    pub async fn resolutions_of(&self, card_id: &str) -> Result<Vec<ResolutionRow>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM resolutions WHERE card_id = $1 ORDER BY created_at, id");
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(card_id).fetch_all(pool).await)
            .map_err(|e| self.failed("read a card's resolutions from", e))
    }

    /// Resolution `id`.
    pub async fn resolution(&self, id: &str) -> Result<Option<ResolutionRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM resolutions WHERE id = $1");
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
            .map_err(|e| self.failed("read a resolution from", e))
    }

    /// The executors of the resolutions of card `card_id`, in `tx`.
    pub async fn card_executors_in(
        &self,
        tx: &mut Tx,
        card_id: &str,
    ) -> Result<Vec<ResolutionExecutorRow>, StoreError> {
        on_tx!(&mut *tx, t => sqlx::query_as(
            "SELECT e.resolution_id, e.official, e.relation, e.case_id FROM resolution_executors e \
             JOIN resolutions r ON r.id = e.resolution_id WHERE r.card_id = $1 \
             ORDER BY r.created_at, e.resolution_id, e.relation DESC, e.official")
            .bind(card_id).fetch_all(&mut **t).await)
        .map_err(|e| self.failed("read a card's executors from", e))
    }

    /// The executors of the resolutions of card `card_id`.
    pub async fn card_executors(
        &self,
        card_id: &str,
    ) -> Result<Vec<ResolutionExecutorRow>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_as(
            "SELECT e.resolution_id, e.official, e.relation, e.case_id FROM resolution_executors e \
             JOIN resolutions r ON r.id = e.resolution_id WHERE r.card_id = $1 \
             ORDER BY r.created_at, e.resolution_id, e.relation DESC, e.official")
            .bind(card_id).fetch_all(pool).await)
        .map_err(|e| self.failed("read a card's executors from", e))
    }

    /// The task whose case is `case_id`.
    pub async fn task(&self, case_id: &str) -> Result<Option<TaskRow>, StoreError> {
        let sql = format!("{TASK_SELECT} WHERE e.case_id = $1");
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(case_id).fetch_optional(pool).await)
            .map_err(|e| self.failed("read a task from", e))
    }

    /// The tasks of `official` (or any of `principals`), open first, nearest deadline first;
    /// at most `limit`.
    pub async fn tasks_of(
        &self,
        official: &str,
        principals: &[String],
        limit: i64,
    ) -> Result<Vec<TaskRow>, StoreError> {
        let mut who = vec![official.to_string()];
        who.extend(principals.iter().cloned());
        let marks = (0..who.len())
            .map(|i| format!("${}", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "{TASK_SELECT} WHERE e.official IN ({marks}) ORDER BY \
             CASE WHEN k.outcome IS NULL THEN 0 ELSE 1 END, r.deadline, e.case_id LIMIT $1"
        );
        on_pool!(&self.pool, pool => {
            let mut q = sqlx::query_as(&sql).bind(limit.clamp(1, 1000));
            for w in &who {
                q = q.bind(w);
            }
            q.fetch_all(pool).await
        })
        .map_err(|e| self.failed("read an official's tasks from", e))
    }

    /// How many main executors' cases of card `card_id` are still open, in `tx`.
    pub async fn open_main_work_in(&self, tx: &mut Tx, card_id: &str) -> Result<i64, StoreError> {
        on_tx!(&mut *tx, t => sqlx::query_scalar(
            "SELECT COUNT(*) FROM resolution_executors e JOIN resolutions r \
             ON r.id = e.resolution_id JOIN cases k ON k.id = e.case_id \
             WHERE r.card_id = $1 AND e.relation = 'main' AND k.outcome IS NULL")
            .bind(card_id).fetch_one(&mut **t).await)
        .map_err(|e| self.failed("count a card's open work in", e))
    }
}

impl Store {
    /// The cards of `participant` on control (`control` = `on`), nearest deadline first.
    pub async fn cards_on_control(
        &self,
        participant: &str,
        limit: i64,
    ) -> Result<Vec<super::CardRow>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_as(
            "SELECT c.* FROM cards c WHERE c.participant = $1 AND c.control = 'on' \
             ORDER BY c.deadline, c.id LIMIT $2")
            .bind(participant).bind(limit.clamp(1, 1000)).fetch_all(pool).await)
        .map_err(|e| self.failed("read the cards on control from", e))
    }

    /// The registered cards of `participant` that no resolution reached yet, oldest first.
    pub async fn cards_awaiting_resolution(
        &self,
        participant: &str,
        limit: i64,
    ) -> Result<Vec<super::CardRow>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_as(
            "SELECT c.* FROM cards c WHERE c.participant = $1 AND c.status = 'registered' \
             AND c.control = 'none' AND NOT EXISTS (SELECT 1 FROM resolutions r \
             WHERE r.card_id = c.id) ORDER BY c.registered_at, c.id LIMIT $2")
            .bind(participant).bind(limit.clamp(1, 1000)).fetch_all(pool).await)
        .map_err(|e| self.failed("read the cards awaiting a resolution from", e))
    }
}
