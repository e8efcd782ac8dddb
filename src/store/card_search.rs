//! The registry's search index and its query (REG-3): per card the version indexed and its
//! stemmed words (SQLite FTS5 `card_words`, PostgreSQL tsvectors of the `simple` configuration,
//! the same stems on both), the queue the indexer leases from, and one query a page that joins
//! words, requisites and the reader's access rule, in two branches an index serves.

use chrono::{DateTime, Utc};

use super::cards::CardRow;
use super::{Pool, Store, StoreError, on_pool, on_tx, time_text};

/// What a search asks. Words are stems (`registry::search::words`); every one must match.
#[derive(Debug, Clone, Default)]
pub struct CardQuery {
    pub words: Vec<String>,
    pub kind: Option<String>,
    /// A registration number, or its beginning.
    pub number: Option<String>,
    /// Registration dates from and to, `YYYY-MM-DD`, both included.
    pub from: Option<String>,
    pub to: Option<String>,
    /// Stems that must all be in the correspondent's name, and in the signer's.
    pub correspondent: Vec<String>,
    pub signer: Vec<String>,
    /// An official: the main executor or a co-executor.
    pub executor: Option<String>,
    pub status: Option<String>,
    pub case_code: Option<String>,
    pub journal: Option<String>,
    /// From 1.
    pub page: i64,
    pub per_page: i64,
}

/// The most cards a search counts: past it the total reads "more than".
pub const TOTAL_CAP: i64 = 10_000;

/// One page of cards found, newest registration first, and how many were found in all (at
/// most `TOTAL_CAP`, `more` when there are at least that many).
#[derive(Debug, Clone)]
pub struct CardPage {
    pub cards: Vec<CardRow>,
    pub total: i64,
    pub more: bool,
}

/// The index row of one card: the version it was made from and its stems (space-separated).
#[derive(Debug, Clone)]
pub struct CardWords {
    pub card_id: String,
    pub version: i64,
    pub words: String,
    pub correspondent: String,
    pub signer: String,
}

/// Who reads: the SQL condition on a card aliased `c` with its parameters numbered from the
/// argument (`registry::access::Reader::visible_sql`) and its values (`Reader::binds`).
pub struct Visibility {
    pub sql: fn(usize) -> String,
    pub binds: (String, i64, String, String),
}

#[derive(sqlx::FromRow)]
struct Found {
    #[sqlx(flatten)]
    card: CardRow,
    total: i64,
}

enum Bind {
    Text(String),
    Int(i64),
}

/// Binds `binds` to query `q` in order.
macro_rules! bind_all {
    ($q:ident, $binds:expr) => {
        for bind in $binds {
            $q = match bind {
                Bind::Text(t) => $q.bind(t.as_str()),
                Bind::Int(i) => $q.bind(*i),
            };
        }
    };
}

struct Search {
    page: String,
    total: String,
    binds: Vec<Bind>,
    offset: i64,
}

impl Store {
    /// The SQL of a search: the page with the total, the total alone, their parameters.
    fn search_sql(&self, query: &CardQuery, visible: &Visibility) -> Search {
        let postgres = matches!(self.pool, Pool::Postgres(_));
        let mut binds: Vec<Bind> = Vec::new();
        let next = |binds: &mut Vec<Bind>, value: Bind| {
            binds.push(value);
            format!("${}", binds.len())
        };
        let mut conditions: Vec<String> = Vec::new();
        for (column, value) in [
            ("c.kind", &query.kind),
            ("c.status", &query.status),
            ("c.case_code", &query.case_code),
            ("c.journal", &query.journal),
        ] {
            if let Some(value) = value {
                let p = next(&mut binds, Bind::Text(value.clone()));
                conditions.push(format!("{column} = {p}"));
            }
        }
        if let Some(number) = &query.number {
            let p = next(&mut binds, Bind::Text(number.clone()));
            let n = next(&mut binds, Bind::Int(number.chars().count() as i64));
            conditions.push(format!(
                "(c.reg_number = {p} OR substr(c.reg_number, 1, CAST({n} AS INTEGER)) = {p})"
            ));
        }
        if let Some(from) = &query.from {
            let p = next(&mut binds, Bind::Text(from.clone()));
            conditions.push(format!("c.reg_date >= {p}"));
        }
        if let Some(to) = &query.to {
            let p = next(&mut binds, Bind::Text(to.clone()));
            conditions.push(format!("c.reg_date <= {p}"));
        }
        if let Some(executor) = &query.executor {
            let p = next(&mut binds, Bind::Text(executor.clone()));
            conditions.push(format!(
                "(c.executor = {p} OR EXISTS (SELECT 1 FROM card_people e WHERE e.card_id = c.id \
                 AND e.official = {p} AND e.relation IN ('executor', 'co-executor')))"
            ));
        }
        let columns = [
            ("words", &query.words),
            ("correspondent", &query.correspondent),
            ("signer", &query.signer),
        ];
        if columns.iter().any(|(_, stems)| !stems.is_empty()) {
            if postgres {
                let mut matches = Vec::new();
                for (column, stems) in columns.iter().filter(|(_, s)| !s.is_empty()) {
                    let p = next(&mut binds, Bind::Text(stems.join(" & ")));
                    matches.push(format!("s.{column} @@ to_tsquery('simple', {p})"));
                }
                conditions.push(format!(
                    "c.id IN (SELECT s.card_id FROM card_search s WHERE {})",
                    matches.join(" AND ")
                ));
            } else {
                let expression: Vec<String> = columns
                    .iter()
                    .flat_map(|(column, stems)| {
                        stems.iter().map(move |s| format!("{column} : \"{s}\""))
                    })
                    .collect();
                let p = next(&mut binds, Bind::Text(expression.join(" AND ")));
                conditions.push(format!(
                    "c.id IN (SELECT w.card_id FROM card_words w WHERE card_words MATCH {p})"
                ));
            }
        }
        let first = binds.len() + 1;
        conditions.push((visible.sql)(first));
        let (participant, reader, official, today) = visible.binds.clone();
        binds.extend([
            Bind::Text(participant),
            Bind::Int(reader),
            Bind::Text(official),
            Bind::Text(today),
        ]);
        // The rule's two ways in, as disjoint branches an index serves: the reader's own
        // participant's cards, and the cards that concern them or a principal of theirs (a
        // superset, which the rule itself then narrows).
        let (p, r, me) = (first, first + 1, first + 2);
        let own = format!("c.participant = ${p} AND ${r} = 1");
        let concerned = format!(
            "c.id IN (SELECT cp.card_id FROM card_people cp WHERE cp.official = ${me} \
             OR cp.official IN (SELECT d.principal FROM delegations d WHERE d.deputy = ${me})) \
             AND NOT (c.participant = ${p} AND ${r} = 1)"
        );
        let rest = conditions.join(" AND ");
        let per_page = query.per_page.max(1);
        let offset = (query.page.max(1) - 1) * per_page;
        let columns: Vec<String> = super::cards::COLUMNS
            .split(',')
            .map(|c| format!("c.{}", c.trim()))
            .collect();
        let columns = columns.join(", ");
        let key = "c.registered_at DESC NULLS LAST, c.id DESC";
        let branch = |way: &str, limit: i64| {
            format!(
                "SELECT * FROM (SELECT {columns} FROM cards c WHERE {way} AND {rest} \
                 ORDER BY {key} LIMIT {limit}) b"
            )
        };
        let count = |way: &str| {
            format!(
                "(SELECT COUNT(*) FROM (SELECT 1 FROM cards c WHERE {way} AND {rest} \
                 LIMIT {TOTAL_CAP}) n)"
            )
        };
        let total = format!("{} + {}", count(&own), count(&concerned));
        let sql = format!(
            "SELECT {columns}, {total} AS total FROM ({} UNION ALL {}) c \
             ORDER BY {key} LIMIT {per_page} OFFSET {offset}",
            branch(&own, offset + per_page),
            branch(&concerned, offset + per_page),
        );
        Search {
            page: sql,
            total: format!("SELECT {total}"),
            binds,
            offset,
        }
    }

    /// The cards `query` finds that `visible` admits: one page and the total, in one query.
    pub async fn search_cards(
        &self,
        query: &CardQuery,
        visible: &Visibility,
    ) -> Result<CardPage, StoreError> {
        let Search {
            page: sql,
            total,
            binds,
            offset,
        } = self.search_sql(query, visible);
        let found: Vec<Found> = on_pool!(&self.pool, pool => {
            let mut q = sqlx::query_as(&sql);
            bind_all!(q, &binds);
            q.fetch_all(pool).await
        })
        .map_err(|e| self.failed("search the registry's cards in", e))?;
        let total = match found.first() {
            Some(f) => f.total,
            // Past the last page: the count alone.
            None if offset > 0 => on_pool!(&self.pool, pool => {
                let mut q = sqlx::query_scalar(&total);
                bind_all!(q, &binds);
                q.fetch_one(pool).await
            })
            .map_err(|e| self.failed("count the registry's cards found in", e))?,
            None => 0,
        };
        Ok(CardPage {
            cards: found.into_iter().map(|f| f.card).collect(),
            total: total.min(TOTAL_CAP),
            more: total >= TOTAL_CAP,
        })
    }

    /// How the database runs `query` for `visible`, as its `EXPLAIN` shows it: for the bench, and
    /// for a test that a search reads indexes rather than every card.
    pub async fn search_plan(
        &self,
        query: &CardQuery,
        visible: &Visibility,
    ) -> Result<String, StoreError> {
        let search = self.search_sql(query, visible);
        let lines: Vec<String> = match &self.pool {
            Pool::Sqlite(pool) => {
                let sql = format!("EXPLAIN QUERY PLAN {}", search.page);
                let mut q = sqlx::query_as::<_, (i64, i64, i64, String)>(&sql);
                bind_all!(q, &search.binds);
                q.fetch_all(pool)
                    .await
                    .map(|rows| rows.into_iter().map(|r| r.3).collect())
            }
            Pool::Postgres(pool) => {
                let sql = format!("EXPLAIN {}", search.page);
                let mut q = sqlx::query_scalar(&sql);
                bind_all!(q, &search.binds);
                q.fetch_all(pool).await
            }
        }
        .map_err(|e| self.failed("explain a search in", e))?;
        Ok(lines.join("\n"))
    }

    /// Takes up to `limit` queued cards for `holder` until `until` (leases of others expired by
    /// `now` are taken over): each card's id and the version queued, oldest first.
    pub async fn lease_index_queue(
        &self,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let lock = match self.pool {
            Pool::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            Pool::Sqlite(_) => "",
        };
        let sql = format!(
            "UPDATE card_index_queue SET leased_by = $1, leased_until = $2 WHERE card_id IN \
             (SELECT card_id FROM card_index_queue WHERE leased_until IS NULL \
             OR leased_until < $3 ORDER BY queued_at LIMIT $4{lock}) RETURNING card_id, version"
        );
        on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(holder).bind(time_text(&until)).bind(time_text(&now)).bind(limit)
            .fetch_all(pool).await)
        .map_err(|e| self.failed("take cards from the search queue in", e))
    }

    /// Records the text read from file `n` of card `card_id` (once: a text already there stays).
    pub async fn set_card_file_text(
        &self,
        card_id: &str,
        n: i64,
        text: &str,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(
            "UPDATE card_files SET text = $3 WHERE card_id = $1 AND n = $2 AND text IS NULL")
            .bind(card_id).bind(n).bind(text).execute(pool).await.map(drop))
        .map_err(|e| self.failed("record a card file's text in", e))
    }

    /// Writes `words` as card's index row (unless a newer version is indexed already) and takes
    /// the card off the queue if `holder` leased it at version `queued`; a card queued again
    /// since stays queued, its lease released, to be indexed again.
    pub async fn write_card_words(
        &self,
        words: &CardWords,
        queued: i64,
        holder: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let at = time_text(&now);
        let failed = |e: sqlx::Error| self.failed(&format!("index card {} in", words.card_id), e);
        match &mut tx {
            super::Tx::Postgres(t) => {
                sqlx::query(
                    "INSERT INTO card_search (card_id, version, indexed_at, words, correspondent, \
                     signer) VALUES ($1, $2, $3, strip(to_tsvector('simple', $4)), \
                     strip(to_tsvector('simple', $5)), strip(to_tsvector('simple', $6))) \
                     ON CONFLICT (card_id) DO UPDATE SET version = excluded.version, \
                     indexed_at = excluded.indexed_at, words = excluded.words, \
                     correspondent = excluded.correspondent, signer = excluded.signer \
                     WHERE card_search.version <= excluded.version",
                )
                .bind(&words.card_id)
                .bind(words.version)
                .bind(&at)
                .bind(&words.words)
                .bind(&words.correspondent)
                .bind(&words.signer)
                .execute(&mut **t)
                .await
                .map_err(failed)?;
            }
            super::Tx::Sqlite(t) => {
                let rowid: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO card_search (card_id, version, indexed_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (card_id) DO UPDATE SET version = excluded.version, \
                     indexed_at = excluded.indexed_at \
                     WHERE card_search.version <= excluded.version RETURNING rowid",
                )
                .bind(&words.card_id)
                .bind(words.version)
                .bind(&at)
                .fetch_optional(&mut **t)
                .await
                .map_err(failed)?;
                if let Some(rowid) = rowid {
                    sqlx::query("DELETE FROM card_words WHERE rowid = $1")
                        .bind(rowid)
                        .execute(&mut **t)
                        .await
                        .map_err(failed)?;
                    sqlx::query(
                        "INSERT INTO card_words (rowid, card_id, words, correspondent, signer) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(rowid)
                    .bind(&words.card_id)
                    .bind(&words.words)
                    .bind(&words.correspondent)
                    .bind(&words.signer)
                    .execute(&mut **t)
                    .await
                    .map_err(failed)?;
                }
            }
        }
        on_tx!(&mut tx, t => sqlx::query(
            "DELETE FROM card_index_queue WHERE card_id = $1 AND version = $2 AND leased_by = $3")
            .bind(&words.card_id).bind(queued).bind(holder)
            .execute(&mut **t).await.map(drop))
        .map_err(failed)?;
        on_tx!(&mut tx, t => sqlx::query(
            "UPDATE card_index_queue SET leased_by = NULL, leased_until = NULL \
             WHERE card_id = $1 AND leased_by = $2")
            .bind(&words.card_id).bind(holder)
            .execute(&mut **t).await.map(drop))
        .map_err(failed)?;
        tx.commit().await
    }

    /// The version of card `card_id` the search index holds, if any.
    pub async fn indexed_version(&self, card_id: &str) -> Result<Option<i64>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_scalar(
            "SELECT version FROM card_search WHERE card_id = $1")
            .bind(card_id).fetch_optional(pool).await)
        .map_err(|e| self.failed("read the search index of", e))
    }

    /// Wakes this process's search indexer: a card was written (or is about to be committed).
    pub fn wake_indexer(&self) {
        self.cards_changed.notify_one();
    }

    /// What [`Store::wake_indexer`] notifies.
    pub fn cards_changed(&self) -> &tokio::sync::Notify {
        &self.cards_changed
    }

    /// How many cards wait for the search index.
    pub async fn index_queue_length(&self) -> Result<i64, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM card_index_queue").fetch_one(pool).await)
        .map_err(|e| self.failed("count the search queue in", e))
    }
}
