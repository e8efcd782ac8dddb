//! The registry's reports (REG-6) as aggregate queries over `cards`: cards registered per journal,
//! month, direction and kind, and per executor and unit how the work on them stands. Counts only,
//! of one participant's registered cards, by the date of registration.

use super::{Store, StoreError, on_pool};

/// Which cards a report counts: one participant's, registered from `from` through `to`
/// (`YYYY-MM-DD`, the city's dates), in one journal or all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportScope {
    pub participant: String,
    pub journal: Option<String>,
    pub from: String,
    pub to: String,
}

/// Cards registered in one journal and month with one direction and kind.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FlowRow {
    pub journal: String,
    /// `YYYY-MM` of the registration date.
    pub month: String,
    pub direction: String,
    pub kind: String,
    pub registered: i64,
}

/// How the work stands on the cards one executor of one unit holds as main executor.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ExecutionRow {
    pub executor: String,
    /// `participant/unit`; empty when the card names none.
    pub unit: String,
    pub assigned: i64,
    /// On control now.
    pub on_control: i64,
    pub executed: i64,
    /// Executed before the end of the deadline's day (the city's), and at or after it.
    pub executed_on_time: i64,
    pub executed_late: i64,
    /// Not executed, still registered and not removed from control, its deadline passed.
    pub overdue: i64,
}

/// Most distinct deadlines one execution report takes (two parameters each).
pub const MAX_DEADLINES: usize = 15_000;

impl ReportScope {
    /// The condition on cards aliased `c`, parameters `$1`… in `binds` order.
    fn condition(&self) -> String {
        let journal = if self.journal.is_some() {
            " AND c.journal = $4"
        } else {
            ""
        };
        format!(
            "c.participant = $1 AND c.reg_date >= $2 AND c.reg_date <= $3 \
             AND c.reg_date IS NOT NULL{journal}"
        )
    }

    fn first_free(&self) -> usize {
        if self.journal.is_some() { 5 } else { 4 }
    }
}

/// Binds a scope's values in `ReportScope::condition`'s order.
macro_rules! bind_scope {
    ($q:expr, $s:expr) => {{
        let q = $q.bind(&$s.participant).bind(&$s.from).bind(&$s.to);
        match &$s.journal {
            Some(j) => q.bind(j),
            None => q,
        }
    }};
}

impl Store {
    /// Cards registered in `scope` per journal, month, direction and kind, in that order.
    pub async fn card_flow(&self, scope: &ReportScope) -> Result<Vec<FlowRow>, StoreError> {
        let sql = format!(
            "SELECT c.journal, substr(c.reg_date, 1, 7) AS month, c.direction, c.kind, \
             COUNT(*) AS registered FROM cards c WHERE {} \
             GROUP BY c.journal, substr(c.reg_date, 1, 7), c.direction, c.kind \
             ORDER BY c.journal, substr(c.reg_date, 1, 7), c.direction, c.kind",
            scope.condition()
        );
        on_pool!(&self.pool, pool => bind_scope!(sqlx::query_as(&sql), scope)
            .fetch_all(pool).await)
        .map_err(|e| self.failed("count cards per journal in", e))
    }

    /// The distinct deadlines of the executed cards in `scope`.
    pub async fn card_deadlines(&self, scope: &ReportScope) -> Result<Vec<String>, StoreError> {
        let sql = format!(
            "SELECT DISTINCT c.deadline FROM cards c WHERE {} AND c.executor IS NOT NULL \
             AND c.executed_at IS NOT NULL AND c.deadline IS NOT NULL ORDER BY c.deadline",
            scope.condition()
        );
        on_pool!(&self.pool, pool => bind_scope!(sqlx::query_scalar(&sql), scope)
            .fetch_all(pool).await)
        .map_err(|e| self.failed("read cards' deadlines from", e))
    }

    /// Per executor and unit, how the work stands on the cards of `scope` on `today`;
    /// `ends` gives for each deadline (from `card_deadlines`) the moment its day ends
    /// (`time_text`), before which an execution is on time. Two aggregate queries: the counts
    /// by the cards' own columns, then the executions on time, deadline by deadline.
    pub async fn card_execution(
        &self,
        scope: &ReportScope,
        today: &str,
        ends: &[(String, String)],
    ) -> Result<Vec<ExecutionRow>, StoreError> {
        if ends.len() > MAX_DEADLINES {
            return Err(StoreError::new(format!(
                "the report spans {} deadlines, more than the {MAX_DEADLINES} it can take: \
                 choose a shorter period",
                ends.len()
            )));
        }
        let first = scope.first_free();
        let sql = format!(
            "SELECT c.executor, COALESCE(c.unit, '') AS unit, COUNT(*) AS assigned, \
             SUM(CASE WHEN c.control = 'on' THEN 1 ELSE 0 END) AS on_control, \
             SUM(CASE WHEN c.executed_at IS NOT NULL THEN 1 ELSE 0 END) AS executed, \
             CAST(0 AS BIGINT) AS executed_on_time, \
             SUM(CASE WHEN c.executed_at IS NOT NULL AND c.deadline IS NOT NULL THEN 1 ELSE 0 \
                 END) AS executed_late, \
             SUM(CASE WHEN c.executed_at IS NULL AND c.status = 'registered' \
                 AND c.control <> 'removed' AND c.deadline < ${first} THEN 1 ELSE 0 END) \
                 AS overdue \
             FROM cards c WHERE {} AND c.executor IS NOT NULL \
             GROUP BY c.executor, COALESCE(c.unit, '') ORDER BY COALESCE(c.unit, ''), c.executor",
            scope.condition()
        );
        let mut rows: Vec<ExecutionRow> = on_pool!(&self.pool, pool =>
            bind_scope!(sqlx::query_as(&sql), scope).bind(today).fetch_all(pool).await)
        .map_err(|e| self.failed("count cards per executor in", e))?;
        if ends.is_empty() {
            return Ok(rows);
        }
        let values: Vec<String> = (0..ends.len())
            .map(|i| {
                let n = first + 2 * i;
                format!("(${n}, ${})", n + 1)
            })
            .collect();
        // `ends` first, each deadline's cards found through `cards_deadlines`.
        let sql = format!(
            "WITH ends (d, e) AS (VALUES {}) \
             SELECT c.executor, COALESCE(c.unit, '') AS unit, COUNT(*) AS on_time \
             FROM ends en CROSS JOIN cards c WHERE c.deadline = en.d AND c.executed_at < en.e \
             AND {} AND c.executor IS NOT NULL GROUP BY c.executor, COALESCE(c.unit, '')",
            values.join(", "),
            scope.condition()
        );
        let on_time: Vec<(String, String, i64)> = on_pool!(&self.pool, pool => {
            let mut q = bind_scope!(sqlx::query_as(&sql), scope);
            for (d, e) in ends {
                q = q.bind(d).bind(e);
            }
            q.fetch_all(pool).await
        })
        .map_err(|e| self.failed("count cards executed on time in", e))?;
        for (executor, unit, n) in on_time {
            if let Some(row) = rows
                .iter_mut()
                .find(|r| r.executor == executor && r.unit == unit)
            {
                row.executed_on_time = n;
                row.executed_late -= n;
            }
        }
        Ok(rows)
    }
}
