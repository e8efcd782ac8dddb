//! What the registry's home counts for one official, in one query: their open tasks and how many
//! of those are overdue, the cards awaiting a first resolution, the drafts to register, and the
//! cards on control past their deadline; only cards the official may read are counted.

use super::{Store, StoreError, on_pool};

/// The counts on an official's registry home.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct RegistryCounts {
    /// Open work (an executor's case not yet closed) of theirs or of those they stand in for.
    pub my_tasks: i64,
    /// Of `my_tasks`, those whose resolution's deadline is past.
    pub my_overdue: i64,
    /// Registered cards with no resolution yet.
    pub awaiting_resolution: i64,
    /// Drafts not yet registered.
    pub to_register: i64,
    /// Registered cards on control whose deadline is past.
    pub overdue_on_control: i64,
}

/// Whose cards and work a count reads: the cards' read rule (a condition on cards aliased `c`
/// whose parameters start at `$2`: `registry::access::Reader::visible_sql(2)`, with its values),
/// the officials whose work is theirs (themselves first, then those they stand in for) and
/// today's date in the city's time zone (`YYYY-MM-DD`).
#[derive(Debug, Clone)]
pub struct CountScope<'a> {
    pub visible_sql: &'a str,
    pub visible_binds: (String, i64, String, String),
    pub workers: &'a [String],
    pub today: &'a str,
}

impl Store {
    /// The counts of `scope`'s registry home.
    pub async fn registry_counts(
        &self,
        scope: &CountScope<'_>,
    ) -> Result<RegistryCounts, StoreError> {
        let visible = scope.visible_sql;
        let workers = (0..scope.workers.len().max(1))
            .map(|i| format!("${}", i + 6))
            .collect::<Vec<_>>()
            .join(", ");
        let work = format!(
            "FROM resolution_executors e JOIN resolutions r ON r.id = e.resolution_id \
             JOIN cases k ON k.id = e.case_id WHERE e.official IN ({workers}) \
             AND k.outcome IS NULL"
        );
        let sql = format!(
            "SELECT (SELECT COUNT(*) {work}) AS my_tasks, \
             (SELECT COUNT(*) {work} AND r.deadline < $1) AS my_overdue, \
             (SELECT COUNT(*) FROM cards c WHERE c.status = 'registered' AND NOT EXISTS \
             (SELECT 1 FROM resolutions r WHERE r.card_id = c.id) AND {visible}) \
             AS awaiting_resolution, \
             (SELECT COUNT(*) FROM cards c WHERE c.status = 'draft' AND {visible}) AS to_register, \
             (SELECT COUNT(*) FROM cards c WHERE c.status = 'registered' AND c.control = 'on' \
             AND c.deadline < $1 AND {visible}) AS overdue_on_control"
        );
        let (participant, reader, official, today) = &scope.visible_binds;
        let nobody = [String::new()];
        let workers = if scope.workers.is_empty() {
            &nobody[..]
        } else {
            scope.workers
        };
        on_pool!(&self.pool, pool => {
            let mut q = sqlx::query_as(&sql)
                .bind(scope.today)
                .bind(participant)
                .bind(*reader)
                .bind(official)
                .bind(today);
            for w in workers {
                q = q.bind(w);
            }
            q.fetch_one(pool).await
        })
        .map_err(|e| self.failed("count an official's registry work in", e))
    }
}
