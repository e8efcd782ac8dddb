//! The rows a batch of exchanges writes (message log, operational record, data subject's record,
//! notice), each built once as [`Cell`]s in its statement's column order, so that the SQLite file
//! writer (rusqlite) and the pool writers (sqlx) bind the very same values.

use super::chain::Chained;
use super::{Exchange, LOG_FORMAT, SubjectUse};
use crate::identity::PROTOCOL_VERSION;
use crate::store::time_text;

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

/// The `n` parts of an X-Road identifier (`instance/class/code/…`); missing parts are empty.
fn id_parts<const N: usize>(id: &str) -> [String; N] {
    let mut parts = id.splitn(N, '/');
    std::array::from_fn(|_| parts.next().unwrap_or_default().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

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
