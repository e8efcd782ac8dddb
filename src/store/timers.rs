//! The case engine's durable timers: scheduled in a transition's transaction, claimed one at a
//! time by a sweep (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's IMMEDIATE transaction
//! serialises), marked fired in the transaction that applies them, so each fires exactly once.

use std::fmt;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use super::reconciles::time_text;
use super::{Store, StoreError, Tx, on_pool, on_tx};

const SCHEDULE: &str = "INSERT INTO timers (case_id, kind, key, due_at, wake_at) \
     VALUES ($1, $2, $3, $4, $4) ON CONFLICT (case_id, kind, key) DO NOTHING";
const CANCEL: &str = "DELETE FROM timers WHERE case_id = $1";
/// The earliest unfired timer a sweep may take at `$1`, read through the partial index
/// `timers_pending` (its `WHERE` must repeat the index's `fired_at IS NULL`).
const DUE: &str = "SELECT id, case_id, kind, key, due_at, attempts FROM timers \
     WHERE fired_at IS NULL AND wake_at <= $1 ORDER BY wake_at LIMIT 1";
const ANY_DUE: &str = "SELECT id FROM timers WHERE fired_at IS NULL AND wake_at <= $1 \
     ORDER BY wake_at LIMIT 1";
const FIRED: &str = "UPDATE timers SET fired_at = $2 WHERE id = $1 AND fired_at IS NULL";
const RETRY: &str =
    "UPDATE timers SET attempts = $2, wake_at = $3 WHERE id = $1 AND fired_at IS NULL";
const NEXT_WAKE: &str =
    "SELECT id, wake_at FROM timers WHERE fired_at IS NULL ORDER BY wake_at LIMIT 1";
const PENDING: &str = "SELECT id, case_id, kind, key, due_at, attempts FROM timers \
     WHERE case_id = $1 AND fired_at IS NULL ORDER BY due_at, id";

/// What a timer means to the engine; stored as its lowercase name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimerKind {
    /// The state's deadline passes.
    Deadline,
    /// A reminder before the deadline.
    Remind,
    /// An escalation after a missed deadline.
    Escalate,
}

impl TimerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TimerKind::Deadline => "deadline",
            TimerKind::Remind => "remind",
            TimerKind::Escalate => "escalate",
        }
    }

    fn parse(text: &str) -> Option<TimerKind> {
        [TimerKind::Deadline, TimerKind::Remind, TimerKind::Escalate]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

impl fmt::Display for TimerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A timer to schedule: one per case, kind and key (the key says which deadline, reminder or
/// escalation of which state entry it is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTimer {
    pub case_id: String,
    pub kind: TimerKind,
    pub key: String,
    pub due_at: DateTime<Utc>,
}

/// A scheduled timer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timer {
    pub id: i64,
    pub case_id: String,
    pub kind: TimerKind,
    pub key: String,
    pub due_at: DateTime<Utc>,
}

/// A due timer a sweep holds in its transaction: readable, or a row whose text is not a timer
/// (rewritten by hand), which the sweep must put aside without firing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimedTimer {
    Due {
        timer: Timer,
        /// Earlier attempts whose handler failed.
        attempts: u32,
    },
    Unreadable {
        id: i64,
        attempts: u32,
        problem: String,
    },
}

#[derive(sqlx::FromRow)]
struct TimerRow {
    id: i64,
    case_id: String,
    kind: String,
    key: String,
    due_at: String,
    attempts: i32,
}

impl TimerRow {
    fn read(self) -> ClaimedTimer {
        let attempts = u32::try_from(self.attempts).unwrap_or(0);
        let Some(kind) = TimerKind::parse(&self.kind) else {
            return ClaimedTimer::Unreadable {
                id: self.id,
                attempts,
                problem: format!(
                    "its kind `{}` is not deadline, remind or escalate",
                    self.kind
                ),
            };
        };
        let due_at = match DateTime::parse_from_rfc3339(&self.due_at) {
            Ok(t) => t.with_timezone(&Utc),
            Err(e) => {
                return ClaimedTimer::Unreadable {
                    id: self.id,
                    attempts,
                    problem: format!("its due_at `{}` is not an RFC 3339 time ({e})", self.due_at),
                };
            }
        };
        ClaimedTimer::Due {
            timer: Timer {
                id: self.id,
                case_id: self.case_id,
                kind,
                key: self.key,
                due_at,
            },
            attempts,
        }
    }
}

impl Store {
    /// Schedules `timer` in the caller's transaction; a timer of the same case, kind and key
    /// already scheduled (or fired) is left as it is.
    pub async fn schedule_timer(&self, tx: &mut Tx, timer: &NewTimer) -> Result<(), StoreError> {
        on_tx!(tx, t => sqlx::query(SCHEDULE)
            .bind(&timer.case_id)
            .bind(timer.kind.as_str())
            .bind(&timer.key)
            .bind(time_text(&timer.due_at))
            .execute(&mut **t)
            .await
            .map(drop))
        .map_err(|e| self.failed(&format!("schedule a {} timer in", timer.kind), e))
    }

    /// Removes every timer of the case, fired or not, in the caller's transaction (the case
    /// leaves the state that scheduled them; a state entered again schedules afresh). How many.
    pub async fn cancel_timers(&self, tx: &mut Tx, case_id: &str) -> Result<u64, StoreError> {
        on_tx!(tx, t => sqlx::query(CANCEL)
            .bind(case_id)
            .execute(&mut **t)
            .await
            .map(|done| done.rows_affected()))
        .map_err(|e| self.failed("cancel a case's timers in", e))
    }

    /// Takes the earliest timer due at `now` that no other transaction holds, locked in `tx`
    /// until it commits or rolls back; `None` when none is due.
    pub async fn claim_due_timer(
        &self,
        tx: &mut Tx,
        now: DateTime<Utc>,
    ) -> Result<Option<ClaimedTimer>, StoreError> {
        let now = time_text(&now);
        let row: Option<TimerRow> = match tx {
            Tx::Sqlite(t, _) => sqlx::query_as(DUE).bind(now).fetch_optional(&mut **t).await,
            Tx::Postgres(t) => {
                sqlx::query_as(&format!("{DUE} FOR UPDATE SKIP LOCKED"))
                    .bind(now)
                    .fetch_optional(&mut **t)
                    .await
            }
        }
        .map_err(|e| self.failed("claim a due timer in", e))?;
        Ok(row.map(TimerRow::read))
    }

    /// Whether a timer is due at `now`, read without taking a write lock.
    pub async fn any_timer_due(&self, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let due: Option<i64> = on_pool!(&self.pool, pool => sqlx::query_scalar(ANY_DUE)
            .bind(time_text(&now))
            .fetch_optional(pool)
            .await)
        .map_err(|e| self.failed("look for due timers in", e))?;
        Ok(due.is_some())
    }

    /// Marks the claimed timer `id` fired at `at` in the transaction that applies it; `false`
    /// when it is no longer there to fire (fired or cancelled since it was read).
    pub async fn mark_timer_fired(
        &self,
        tx: &mut Tx,
        id: i64,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        on_tx!(tx, t => sqlx::query(FIRED)
            .bind(id)
            .bind(time_text(&at))
            .execute(&mut **t)
            .await
            .map(|done| done.rows_affected() == 1))
        .map_err(|e| self.failed(&format!("mark timer {id} fired in"), e))
    }

    /// Puts the unfired timer `id` aside until `wake_at`, after `attempts` failed attempts.
    pub async fn retry_timer(
        &self,
        id: i64,
        attempts: u32,
        wake_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(RETRY)
            .bind(id)
            .bind(i32::try_from(attempts).unwrap_or(i32::MAX))
            .bind(time_text(&wake_at))
            .execute(pool)
            .await
            .map(drop))
        .map_err(|e| self.failed(&format!("put timer {id} aside for a retry in"), e))
    }

    /// When the earliest unfired timer is next to be taken; `None` when there is none.
    pub async fn next_timer_wake(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row: Option<(i64, String)> = on_pool!(&self.pool, pool => sqlx::query_as(NEXT_WAKE)
            .fetch_optional(pool)
            .await)
        .map_err(|e| self.failed("read the next timer from", e))?;
        row.map(|(id, wake_at)| {
            DateTime::parse_from_rfc3339(&wake_at)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| {
                    StoreError::new(format!(
                        "timer {id} in the {} database {} has wake_at `{wake_at}`, which is not \
                         an RFC 3339 time ({e}); correct or delete that row of `timers`",
                        self.backend().name(),
                        self.target
                    ))
                })
        })
        .transpose()
    }

    /// The case's timers not yet fired, earliest first; rows that are not timers left out.
    pub async fn pending_timers(&self, case_id: &str) -> Result<Vec<Timer>, StoreError> {
        let rows: Vec<TimerRow> = on_pool!(&self.pool, pool => sqlx::query_as(PENDING)
            .bind(case_id)
            .fetch_all(pool)
            .await)
        .map_err(|e| self.failed("read a case's timers from", e))?;
        Ok(rows
            .into_iter()
            .filter_map(|row| match row.read() {
                ClaimedTimer::Due { timer, .. } => Some(timer),
                ClaimedTimer::Unreadable { .. } => None,
            })
            .collect())
    }

    /// How the database finds the timers due at `now`, as its `EXPLAIN` shows it (run, with the
    /// pages read, on PostgreSQL): for the bench, and for an operator checking that a sweep reads
    /// the index of unfired timers rather than every open case's.
    pub async fn timer_sweep_plan(&self, now: DateTime<Utc>) -> Result<String, StoreError> {
        let now = time_text(&now);
        let lines: Vec<String> = match &self.pool {
            super::Pool::Sqlite(pool) => {
                let rows: Vec<(i64, i64, i64, String)> =
                    sqlx::query_as(&format!("EXPLAIN QUERY PLAN {DUE}"))
                        .bind(now)
                        .fetch_all(pool)
                        .await
                        .map_err(|e| self.failed("explain the timer sweep in", e))?;
                rows.into_iter().map(|row| row.3).collect()
            }
            super::Pool::Postgres(pool) => sqlx::query_scalar(&format!(
                "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY OFF) {DUE}"
            ))
            .bind(now)
            .fetch_all(pool)
            .await
            .map_err(|e| self.failed("explain the timer sweep in", e))?,
        };
        Ok(lines.join("\n"))
    }

    /// Wakes this process's timer runner, after committing a transaction that scheduled a
    /// timer possibly earlier than those it knew of (or after moving a test's clock).
    pub fn wake_timers(&self) {
        self.timers_changed.notify_one();
    }

    /// What [`Store::wake_timers`] notifies.
    pub(crate) fn timers_changed(&self) -> &Notify {
        &self.timers_changed
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    use super::*;

    fn timer(case_id: &str, key: &str, due_at: DateTime<Utc>) -> NewTimer {
        NewTimer {
            case_id: case_id.into(),
            kind: TimerKind::Remind,
            key: key.into(),
            due_at,
        }
    }

    #[tokio::test]
    async fn the_due_query_reads_the_partial_index_of_unfired_timers() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let super::super::Pool::Sqlite(pool) = &store.pool else {
            unreachable!()
        };
        for query in [DUE, ANY_DUE, NEXT_WAKE] {
            let plan: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(&format!("EXPLAIN QUERY PLAN {query}"))
                    .bind("2026-01-01T00:00:00Z")
                    .fetch_all(pool)
                    .await
                    .unwrap();
            let detail: Vec<&str> = plan.iter().map(|row| row.3.as_str()).collect();
            // Walked in `wake_at` order from the first unfired timer, stopping at the first row.
            assert!(
                detail
                    .iter()
                    .all(|d| d.ends_with("timers USING INDEX timers_pending")
                        || d.contains("USING INDEX timers_pending (wake_at<?)")),
                "{query}: {detail:?}"
            );
        }
    }

    #[tokio::test]
    async fn scheduling_twice_keeps_the_first_timer() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
        let mut tx = store.begin().await.unwrap();
        store
            .schedule_timer(&mut tx, &timer("c1", "s1", at))
            .await
            .unwrap();
        store
            .schedule_timer(&mut tx, &timer("c1", "s1", at + Duration::days(1)))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let pending = store.pending_timers("c1").await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].due_at, at);
        assert_eq!(store.next_timer_wake().await.unwrap(), Some(at));
    }
}
