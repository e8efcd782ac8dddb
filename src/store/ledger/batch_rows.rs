//! How a chained batch's rows are written through the pool: SQLite (in memory) statement by
//! statement under the heads' lock; PostgreSQL in one statement of data-modifying CTEs that
//! moves the heads and inserts the rows only if the heads were still those the batch extends.

use std::collections::BTreeMap;
use std::fmt::Write;

use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{Postgres, Row, Sqlite, Transaction};

use super::chain::{Chained, LogReceipt, chain};
use super::head_cache::Head;
use super::rows::{
    Cell, INSERT_LOG, INSERT_NOTICE, INSERT_OPERATIONAL, INSERT_SUBJECT_USE, LOG_COLUMN_COUNT,
    OPERATIONAL_COLUMN_COUNT, SET_HEAD, SUBJECT_USE_COLUMN_COUNT, bound, insert_rows, log_row,
    operational_row, subject_row, value_rows,
};
use super::{Exchange, SubjectUse};

/// A batch as [`WriteRows::write_rows`] takes it: the exchanges, their chained records, the
/// heads they extend and the heads to set, and the time the batch is logged at.
pub(super) struct ChainedBatch<'a> {
    pub batch: &'a [(Exchange, Option<SubjectUse>)],
    pub chained: Vec<Chained>,
    pub from: BTreeMap<&'a str, Head>,
    pub heads: BTreeMap<&'a str, Head>,
    pub logged_at: &'a str,
}

impl<'a> ChainedBatch<'a> {
    /// Links each exchange of `batch` to its node's chain, from the heads `from`.
    pub fn new(
        batch: &'a [(Exchange, Option<SubjectUse>)],
        from: BTreeMap<&'a str, Head>,
        logged_at: &'a str,
    ) -> ChainedBatch<'a> {
        let mut heads = from.clone();
        let chained = chain(batch, &mut heads, logged_at);
        ChainedBatch {
            batch,
            chained,
            from,
            heads,
            logged_at,
        }
    }

    /// Where each exchange landed, in the order of the batch.
    pub fn receipts(self) -> Vec<LogReceipt> {
        self.chained.into_iter().map(Chained::receipt).collect()
    }

    /// Subject uses without a notice, then those with one (a notice needs its use's id).
    fn uses(&self) -> (Vec<&SubjectUse>, Vec<&SubjectUse>) {
        let (noticed, plain) = self
            .batch
            .iter()
            .filter_map(|(_, s)| s.as_ref())
            .partition(|s| s.notify);
        (plain, noticed)
    }
}

pub(super) trait WriteRows {
    /// Inserts the log rows, operational records, subject uses and notices, and sets the heads.
    async fn write_rows(&mut self, rows: &ChainedBatch<'_>) -> Result<(), sqlx::Error>;
}

impl WriteRows for Transaction<'_, Sqlite> {
    async fn write_rows(&mut self, rows: &ChainedBatch<'_>) -> Result<(), sqlx::Error> {
        let log: Vec<_> = rows
            .batch
            .iter()
            .zip(&rows.chained)
            .map(|((exchange, _), row)| log_row(exchange, row, rows.logged_at))
            .collect();
        let sql = insert_rows(INSERT_LOG, LOG_COLUMN_COUNT, log.len());
        bound(&sql, log.iter().map(|r| &r[..]))
            .execute(&mut **self)
            .await?;
        let operational: Vec<_> = rows.batch.iter().map(|(e, _)| operational_row(e)).collect();
        let sql = insert_rows(
            INSERT_OPERATIONAL,
            OPERATIONAL_COLUMN_COUNT,
            operational.len(),
        );
        bound(&sql, operational.iter().map(|r| &r[..]))
            .execute(&mut **self)
            .await?;
        let (plain, noticed) = rows.uses();
        if !plain.is_empty() {
            let uses: Vec<_> = plain.iter().map(|u| subject_row(u)).collect();
            let sql = insert_rows(INSERT_SUBJECT_USE, SUBJECT_USE_COLUMN_COUNT, uses.len());
            bound(&sql, uses.iter().map(|r| &r[..]))
                .execute(&mut **self)
                .await?;
        }
        let sql = format!(
            "{} RETURNING id",
            insert_rows(INSERT_SUBJECT_USE, SUBJECT_USE_COLUMN_COUNT, 1)
        );
        for use_ in noticed {
            let row = subject_row(use_);
            let id: i64 = bound(&sql, [&row[..]])
                .fetch_one(&mut **self)
                .await?
                .try_get(0)?;
            sqlx::query(INSERT_NOTICE)
                .bind(&use_.subject)
                .bind(rows.logged_at)
                .bind(id)
                .execute(&mut **self)
                .await?;
        }
        for (node, (seq, hash)) in &rows.heads {
            sqlx::query(SET_HEAD)
                .bind(*node)
                .bind(*seq)
                .bind(hash)
                .execute(&mut **self)
                .await?;
        }
        Ok(())
    }
}

impl WriteRows for Transaction<'_, Postgres> {
    async fn write_rows(&mut self, rows: &ChainedBatch<'_>) -> Result<(), sqlx::Error> {
        let (sql, cells) = guarded_statement(rows);
        if moved_heads(bound(&sql, [&cells[..]]).fetch_one(&mut **self).await?)? == rows.heads.len()
        {
            Ok(())
        } else {
            Err(sqlx::Error::Protocol(
                "a message log head moved while this transaction held its lock".into(),
            ))
        }
    }
}

/// Writes a batch of one node in one statement, committed on its own, if the head it extends
/// (`rows.from`) is still the stored head; otherwise writes nothing and answers `false`. Not for
/// several nodes: the statement would move the unchanged heads and write no rows.
pub(super) async fn write_if_heads_unmoved(
    connection: &mut PgConnection,
    rows: &ChainedBatch<'_>,
) -> Result<bool, sqlx::Error> {
    debug_assert_eq!(rows.heads.len(), 1, "a batch of one node");
    let (sql, cells) = guarded_statement(rows);
    let moved = moved_heads(bound(&sql, [&cells[..]]).fetch_one(connection).await?)?;
    Ok(moved == rows.heads.len())
}

fn moved_heads(row: PgRow) -> Result<usize, sqlx::Error> {
    let moved: i64 = row.try_get(0)?;
    Ok(usize::try_from(moved).unwrap_or_default())
}

/// One statement of data-modifying CTEs that moves each head from `rows.from` to `rows.heads`
/// and inserts the rows only if every head moved, answering how many did.
fn guarded_statement<'a>(rows: &'a ChainedBatch<'a>) -> (String, Vec<Cell<'a>>) {
    let mut cells: Vec<Cell<'a>> = Vec::new();
    let mut heads = String::new();
    for (node, (seq, hash)) in &rows.heads {
        let (from_seq, from_hash) = &rows.from[node];
        let n = cells.len();
        let separator = if heads.is_empty() { "" } else { ", " };
        let _ = write!(
            heads,
            "{separator}(${}::text, ${}::bigint, ${}::text, ${}::bigint, ${}::text)",
            n + 1,
            n + 2,
            n + 3,
            n + 4,
            n + 5
        );
        cells.extend([
            Cell::Text(node),
            Cell::Int(*from_seq),
            Cell::Text(from_hash),
            Cell::Int(*seq),
            Cell::Text(hash),
        ]);
    }
    let guard = format!("(SELECT count(*) FROM moved) = {}", rows.heads.len());
    let mut ctes = vec![format!(
        "moved AS (UPDATE message_log_head AS head SET seq = v.seq, hash = v.hash \
         FROM (VALUES {heads}) AS v (node, from_seq, from_hash, seq, hash) \
         WHERE head.node = v.node AND head.seq = v.from_seq AND head.hash = v.from_hash \
         RETURNING head.node)"
    )];
    let log = rows
        .batch
        .iter()
        .zip(&rows.chained)
        .map(|((exchange, _), row)| log_row(exchange, row, rows.logged_at))
        .collect();
    ctes.push(cte(&mut cells, "log", INSERT_LOG, log, &guard, ""));
    let operational = rows.batch.iter().map(|(e, _)| operational_row(e)).collect();
    ctes.push(cte(
        &mut cells,
        "operational",
        INSERT_OPERATIONAL,
        operational,
        &guard,
        "",
    ));
    let (plain, noticed) = rows.uses();
    if !plain.is_empty() {
        let uses = plain.into_iter().map(subject_row).collect();
        ctes.push(cte(
            &mut cells,
            "uses",
            INSERT_SUBJECT_USE,
            uses,
            &guard,
            "",
        ));
    }
    if !noticed.is_empty() {
        let uses = noticed.into_iter().map(subject_row).collect();
        let returning = " RETURNING id, subject";
        ctes.push(cte(
            &mut cells,
            "noticed",
            INSERT_SUBJECT_USE,
            uses,
            &guard,
            returning,
        ));
        cells.push(Cell::Text(rows.logged_at));
        ctes.push(format!(
            "notices AS (INSERT INTO subject_notices (subject, created_at, subject_use, \
             status) SELECT subject, ${}::text, id, 'pending' FROM noticed)",
            cells.len()
        ));
    }
    let sql = format!("WITH {} SELECT count(*) FROM moved", ctes.join(", "));
    (sql, cells)
}

/// `NAME AS (INSERT … SELECT … WHERE guard)` for `rows`, whose cells are appended to `cells` and
/// numbered after those already there.
fn cte<'a, const N: usize>(
    cells: &mut Vec<Cell<'a>>,
    name: &str,
    insert: &str,
    rows: Vec<[Cell<'a>; N]>,
    guard: &str,
    returning: &str,
) -> String {
    let values = value_rows(N, rows.len(), cells.len() + 1);
    cells.extend(rows.into_iter().flatten());
    format!("{name} AS ({insert} SELECT * FROM (VALUES {values}) AS v WHERE {guard}{returning})")
}
