//! The registry's search query (REG-3): one page of the cards a reader may read that match words
//! and requisites, newest registration first. Words are read in the index's own order (the order
//! key of `card_search`), so a common word costs a page, not all its matches; every search runs
//! under a deadline, and only a few at once, so that no search can starve the other pages.

use std::time::{Duration, Instant};

use super::card_search::order_at;
use super::cards::CardRow;
use super::{Pool, Store, StoreError};

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

/// The most cards a search counts: past it the total reads "more than", and the pages go on.
pub const COUNT_CAP: i64 = 100;
/// How long a search may take, waiting for its turn included, before it is stopped.
pub const SEARCH_DEADLINE: Duration = Duration::from_secs(3);
/// How many searches one process runs at once. SQLite's run on the appliance's own cores: half
/// of them, so that the other half, and the rest of the pool, stay for every other page (two at
/// once on two cores raised every step's p99). PostgreSQL's run on the database server: at least
/// two, so that one search of tens of milliseconds does not make the next wait for it (one at a
/// time queued searches to a p99 of 57 ms where each took 16 at the median).
pub(super) fn searches_at_once(on_own_cores: bool) -> usize {
    let half = std::thread::available_parallelism().map_or(1, |n| n.get() / 2);
    half.clamp(if on_own_cores { 1 } else { 2 }, 8)
}
/// SQLite virtual-machine steps between two looks at a search's deadline.
const STEPS_BETWEEN_CHECKS: i32 = 2_000;

/// One page of cards found, newest registration first, and how many were found in all: exact
/// below `COUNT_CAP` (or below the end of the page asked), else `more` and the count reached.
#[derive(Debug, Clone)]
pub struct CardPage {
    pub cards: Vec<CardRow>,
    pub total: i64,
    pub more: bool,
}

/// Why a search gave no page.
#[derive(Debug)]
pub enum SearchFailed {
    /// It ran past its deadline and was stopped: the reader should narrow it.
    TooLong,
    Store(StoreError),
}

impl std::fmt::Display for SearchFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SearchFailed::TooLong => write!(
                f,
                "the search ran past its {} s and was stopped",
                SEARCH_DEADLINE.as_secs()
            ),
            SearchFailed::Store(e) => e.fmt(f),
        }
    }
}

/// Who reads: the SQL condition on a card aliased `c` with its parameters numbered from the
/// argument (`registry::access::Reader::visible_sql`) and its values (`Reader::binds`).
pub struct Visibility {
    pub sql: fn(usize) -> String,
    pub binds: (String, i64, String, String),
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

/// A search's statements and their parameters, numbered `$1`… in the order they were added
/// (each statement refers to some of them).
#[derive(Default)]
struct Statement {
    text: String,
    binds: Vec<Bind>,
    /// On PostgreSQL with words, the search in three bounded steps instead of `text`.
    walked: Option<Walked>,
}

/// PostgreSQL's search with words, made as deterministic as SQLite's: the participant's newest
/// `WALK` cards are tried first in the order index; only if they do not fill the page does the
/// planner look below them, where its guesses over a word's frequency cost less. The people's
/// way is its own statement. The pages are merged by order key.
struct Walked {
    /// The participant's way through the walk, or `None` for a reader who is not one of its.
    walk: Option<String>,
    /// The walk's last entry, when there are more than `WALK` (else it saw them all).
    edge: String,
    /// The participant's way below the walk; its parameter `beyond_low` is the walk's last key.
    beyond: String,
    beyond_low: usize,
    people: String,
}

/// How many of the participant's newest index entries a PostgreSQL search with words tries
/// before it asks the planner: a common word fills a page in far fewer, and trying them all
/// costs a few milliseconds.
const WALK: i64 = 4_000;

impl Statement {
    fn bind(&mut self, value: Bind) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }
}

impl Store {
    /// The SQL of a search that reads up to `need` cards in the page's order.
    ///
    /// Two ways lead to a card: the reader's own participant (for its readers) and the people
    /// the card concerns. Without words each way walks a `cards` index in registration order.
    /// With words, the participant's way walks the words' matches in the index's order and stops
    /// at `need`; the people's way takes the reader's few cards and tries each for the words.
    fn search_sql(&self, query: &CardQuery, visible: &Visibility, need: i64) -> Statement {
        let postgres = matches!(self.pool, Pool::Postgres(_));
        let mut sql = Statement::default();
        let mut rest: Vec<String> = Vec::new();
        for (column, value) in [
            ("c.kind", &query.kind),
            ("c.status", &query.status),
            ("c.case_code", &query.case_code),
            ("c.journal", &query.journal),
        ] {
            if let Some(value) = value {
                let p = sql.bind(Bind::Text(value.clone()));
                rest.push(format!("{column} = {p}"));
            }
        }
        if let Some(number) = &query.number {
            let p = sql.bind(Bind::Text(number.clone()));
            let n = sql.bind(Bind::Int(number.chars().count() as i64));
            rest.push(format!(
                "(c.reg_number = {p} OR substr(c.reg_number, 1, CAST({n} AS INTEGER)) = {p})"
            ));
        }
        if let Some(from) = &query.from {
            let p = sql.bind(Bind::Text(from.clone()));
            rest.push(format!("c.reg_date >= {p}"));
        }
        if let Some(to) = &query.to {
            let p = sql.bind(Bind::Text(to.clone()));
            rest.push(format!("c.reg_date <= {p}"));
        }
        if let Some(executor) = &query.executor {
            let p = sql.bind(Bind::Text(executor.clone()));
            rest.push(format!(
                "c.id IN (SELECT x.id FROM cards x WHERE x.executor = {p} UNION \
                 SELECT e.card_id FROM card_people e WHERE e.official = {p} \
                 AND e.relation IN ('executor', 'co-executor'))"
            ));
        }
        let first = sql.binds.len() + 1;
        rest.push((visible.sql)(first));
        let (participant, reader, official, today) = visible.binds.clone();
        sql.binds.extend([
            Bind::Text(participant),
            Bind::Int(reader),
            Bind::Text(official),
            Bind::Text(today),
        ]);
        // The rule's two ways in, as disjoint branches an index serves: the reader's own
        // participant's cards, and the cards that concern them or a principal of theirs (a
        // superset, which the rule itself then narrows).
        let (p, r, me) = (first, first + 1, first + 2);
        // Each way in as the cards it starts from and the condition that keeps them: the
        // participant's cards, or (read first, whatever else the search asks) the few cards of
        // the people's rows of the reader and their principals.
        let own = (
            "cards c".to_string(),
            format!("c.participant = ${p} AND ${r} = 1"),
        );
        let people = format!(
            "(SELECT cp.card_id FROM card_people cp WHERE cp.official = ${me} UNION \
             SELECT cp.card_id FROM delegations d JOIN card_people cp \
             ON cp.official = d.principal WHERE d.deputy = ${me}) p"
        );
        // The same cards by their order keys, straight from one covering index: the people's
        // way with words reads a card's indexed text, and then the card, only through these.
        let keyed = |bounds: String| {
            format!(
                "(SELECT DISTINCT cp.order_key, cp.card_id FROM card_people cp \
                 WHERE cp.official IN (SELECT ${me} UNION SELECT d.principal \
                 FROM delegations d WHERE d.deputy = ${me}) AND cp.order_key IS NOT NULL\
                 {bounds}) p"
            )
        };
        let concerned = (
            format!("{people} CROSS JOIN cards c"),
            format!("c.id = p.card_id AND NOT (c.participant = ${p} AND ${r} = 1)"),
        );
        let columns = super::cards::COLUMNS
            .split(',')
            .map(|c| format!("c.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let terms: Vec<(&str, &Vec<String>)> = [
            ("words", &query.words),
            ("correspondent", &query.correspondent),
            ("signer", &query.signer),
        ]
        .into_iter()
        .filter(|(_, stems)| !stems.is_empty())
        .collect();
        // A registration on day D (in any time zone) lies within D - 2 and D + 2 in UTC, and a
        // draft has none: bounds that let an index skip to the cards asked for (`reg_date` and
        // `status` still decide).
        let day = |date: &str, days: i64| {
            chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.checked_add_signed(chrono::Duration::days(days)))
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        };
        let low = query.from.as_deref().and_then(|d| day(d, -2));
        let high = query.to.as_deref().and_then(|d| day(d, 2));
        let draft = query.status.as_deref().map(|s| s == "draft");
        if terms.is_empty() {
            if let Some(low) = low {
                let p = sql.bind(Bind::Text(super::time_text(&low)));
                rest.push(format!("c.registered_at >= {p}"));
            }
            if let Some(high) = high {
                let p = sql.bind(Bind::Text(super::time_text(&high)));
                rest.push(format!("c.registered_at < {p}"));
            }
            if draft == Some(true) {
                rest.push("c.registered_at IS NULL".into());
            }
            let rest = rest.join(" AND ");
            let key = "c.registered_at DESC NULLS LAST, c.id DESC";
            let branch = |(from, way): &(String, String)| {
                format!(
                    "SELECT * FROM (SELECT {columns} FROM {from} WHERE {way} AND {rest} \
                     ORDER BY {key} LIMIT {need}) b"
                )
            };
            sql.text = format!(
                "SELECT {columns} FROM ({} UNION ALL {}) c ORDER BY {key} LIMIT {need}",
                branch(&own),
                branch(&concerned)
            );
            return sql;
        }
        let mut key_bounds: Vec<(&str, String)> = Vec::new();
        for (op, key) in [
            (">=", low.map(order_at)),
            ("<", high.map(order_at)),
            ("<", (draft == Some(true)).then_some(0)),
            (">=", (draft == Some(false)).then_some(0)),
        ] {
            if let Some(key) = key {
                key_bounds.push((op, sql.bind(Bind::Int(key))));
            }
        }
        let rest = rest.join(" AND ");
        let bounded = |column: &str| -> String {
            key_bounds
                .iter()
                .map(|(op, p)| format!(" AND {column} {op} {p}"))
                .collect()
        };
        if postgres {
            let mut matches = Vec::new();
            for (column, stems) in &terms {
                let p = sql.bind(Bind::Text(stems.join(" & ")));
                matches.push(format!("s.{column} @@ to_tsquery('simple', {p})"));
            }
            let matches = matches.join(" AND ");
            let kept = format!("{} AND {rest} AND {matches}", own.1);
            // A LIMIT in a subquery, which the planner cannot push the words through: it walks
            // the order index and stops at the page, or at `WALK`.
            let walk = (visible.binds.1 == 1).then(|| {
                format!(
                    "SELECT {columns}, s.order_key AS ord FROM (SELECT s.card_id, s.order_key, \
                     s.words, s.correspondent, s.signer FROM card_search s WHERE TRUE{} \
                     ORDER BY s.order_key DESC LIMIT {WALK}) s CROSS JOIN cards c \
                     WHERE s.card_id = c.id AND {kept} ORDER BY s.order_key DESC LIMIT {need}",
                    bounded("s.order_key")
                )
            });
            let edge = format!(
                "SELECT s.order_key FROM card_search s WHERE TRUE{} \
                 ORDER BY s.order_key DESC OFFSET {} LIMIT 1",
                bounded("s.order_key"),
                WALK - 1
            );
            let beyond_low = sql.binds.len();
            let low = sql.bind(Bind::Int(i64::MAX));
            // Below the walk, the participant's way as the planner judges it from the words'
            // frequency: a word this rare is best found through its own index.
            let beyond = format!(
                "SELECT {columns}, s.order_key AS ord FROM cards c CROSS JOIN card_search s \
                 WHERE s.card_id = c.id AND {kept} AND s.order_key < {low}{} \
                 ORDER BY s.order_key DESC LIMIT {need}",
                bounded("s.order_key")
            );
            // The reader's few cards, each tried for the words: a lateral subquery the planner
            // cannot flatten (OFFSET 0), where it would misjudge how many cards two words match
            // and hash-join all of them against the reader's few.
            let way = &concerned.1;
            let people = format!(
                "SELECT {columns}, p.order_key AS ord FROM {} \
                 CROSS JOIN LATERAL (SELECT s.card_id FROM card_search s \
                 WHERE s.order_key = p.order_key AND {matches} OFFSET 0) s \
                 CROSS JOIN cards c WHERE {way} AND {rest} \
                 ORDER BY p.order_key DESC LIMIT {need}",
                keyed(bounded("cp.order_key"))
            );
            sql.walked = Some(Walked {
                walk,
                edge,
                beyond,
                beyond_low,
                people,
            });
            return sql;
        }
        let (by_words, by_cards) = {
            let expression: Vec<String> = terms
                .iter()
                .flat_map(|(column, stems)| {
                    stems.iter().map(move |s| format!("{column} : \"{s}\""))
                })
                .collect();
            let m = sql.bind(Bind::Text(expression.join(" AND ")));
            // The participant's cards in the words' own order, stopped at the page.
            let by_words = format!(
                "SELECT * FROM (SELECT {columns}, w.rowid AS ord FROM card_words w \
                 JOIN card_search s ON s.rowid = w.rowid JOIN cards c ON c.id = s.card_id \
                 WHERE card_words MATCH {m} AND {} AND {rest}{} \
                 ORDER BY w.rowid DESC LIMIT {need}) b",
                own.1,
                bounded("w.rowid")
            );
            // The reader's few cards, each tried for the words in its indexed text, read by
            // row id: the text is the stems joined by single spaces, so a stem is a match where
            // it stands between spaces. (A `MATCH` for each card seeks every segment of the
            // index: 150 to 400 ms for a thousand cards at 1,000,000.)
            let mut tried = Vec::new();
            for (column, stems) in &terms {
                for stem in stems.iter() {
                    let p = sql.bind(Bind::Text(format!(" {stem} ")));
                    tried.push(format!("instr(' ' || w.{column} || ' ', {p}) > 0"));
                }
            }
            // In this order, so that a card is read only when its text has the words.
            let way = &concerned.1;
            let by_cards = format!(
                "SELECT * FROM (SELECT {columns}, p.order_key AS ord FROM {} \
                 CROSS JOIN card_words w CROSS JOIN cards c \
                 WHERE w.rowid = p.order_key AND {} AND {way} AND {rest} \
                 ORDER BY p.order_key DESC LIMIT {need}) b",
                keyed(bounded("cp.order_key")),
                tried.join(" AND ")
            );
            (by_words, by_cards)
        };
        sql.text = format!(
            "SELECT {columns} FROM ({by_words} UNION ALL {by_cards}) c \
             ORDER BY c.ord DESC LIMIT {need}"
        );
        sql
    }

    /// The cards `query` finds that `visible` admits: one page, and the total as far as counted.
    pub async fn search_cards(
        &self,
        query: &CardQuery,
        visible: &Visibility,
    ) -> Result<CardPage, SearchFailed> {
        self.search_cards_within(query, visible, SEARCH_DEADLINE)
            .await
    }

    /// As [`Store::search_cards`], stopped after `deadline`.
    pub async fn search_cards_within(
        &self,
        query: &CardQuery,
        visible: &Visibility,
        deadline: Duration,
    ) -> Result<CardPage, SearchFailed> {
        let until = Instant::now() + deadline;
        let per_page = query.per_page.max(1);
        let offset = (query.page.max(1) - 1) * per_page;
        let need = (offset + per_page).max(COUNT_CAP) + 1;
        let sql = self.search_sql(query, visible, need);
        let _turn = tokio::time::timeout_at(until.into(), self.searches.acquire())
            .await
            .map_err(|_| SearchFailed::TooLong)?
            .map_err(|_| SearchFailed::Store(StoreError::new("the store is closing")))?;
        let failed = |e: sqlx::Error| match &e {
            sqlx::Error::Database(d)
                if matches!(d.code().as_deref(), Some("9") | Some("57014")) =>
            {
                SearchFailed::TooLong
            }
            _ => SearchFailed::Store(self.failed("search the registry's cards in", e)),
        };
        let found: Vec<CardRow> = match &self.pool {
            Pool::Sqlite(pool) => {
                let mut connection = pool.acquire().await.map_err(failed)?;
                connection
                    .lock_handle()
                    .await
                    .map_err(failed)?
                    .set_progress_handler(STEPS_BETWEEN_CHECKS, move || Instant::now() < until);
                let mut q = sqlx::query_as(&sql.text);
                bind_all!(q, &sql.binds);
                let found = q.fetch_all(&mut *connection).await;
                if let Ok(mut handle) = connection.lock_handle().await {
                    handle.remove_progress_handler();
                }
                found.map_err(failed)?
            }
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await.map_err(failed)?;
                // No JIT either: compiling a plan costs more than running a page of it.
                sqlx::query("SET LOCAL jit = off")
                    .execute(&mut *tx)
                    .await
                    .map_err(failed)?;
                let found = match &sql.walked {
                    None => {
                        deadline_for_next(&mut tx, until).await.map_err(failed)?;
                        page_of(&mut tx, &sql.text, &sql.binds)
                            .await
                            .map_err(failed)?
                    }
                    Some(walked) => self
                        .walked_search(&mut tx, walked, sql.binds, need, until)
                        .await
                        .map_err(failed)?,
                };
                tx.commit().await.map_err(failed)?;
                found
            }
        };
        let more = found.len() as i64 >= need;
        let total = if more { need - 1 } else { found.len() as i64 };
        Ok(CardPage {
            cards: found
                .into_iter()
                .skip(offset as usize)
                .take(per_page as usize)
                .collect(),
            total,
            more,
        })
    }

    /// How the database runs `query` for `visible`, as its `EXPLAIN` shows it (PostgreSQL's with
    /// the time and rows of each step, the search run once): for the bench, and for a test that a
    /// search reads indexes rather than every card.
    pub async fn search_plan(
        &self,
        query: &CardQuery,
        visible: &Visibility,
    ) -> Result<String, StoreError> {
        let search = self.search_sql(query, visible, COUNT_CAP + 1);
        let lines: Vec<String> = match &self.pool {
            Pool::Sqlite(pool) => {
                let sql = format!("EXPLAIN QUERY PLAN {}", search.text);
                let mut q = sqlx::query_as::<_, (i64, i64, i64, String)>(&sql);
                bind_all!(q, &search.binds);
                q.fetch_all(pool)
                    .await
                    .map(|rows| rows.into_iter().map(|r| r.3).collect())
            }
            Pool::Postgres(pool) => {
                let steps = match &search.walked {
                    None => vec![("", search.text.clone())],
                    Some(w) => {
                        let mut steps = Vec::new();
                        if let Some(walk) = &w.walk {
                            steps.push(("-- the participant's newest cards, walked", walk.clone()));
                            steps.push(("-- where the walk ends", w.edge.clone()));
                        }
                        steps.push((
                            "-- below the walk, when it does not fill the page",
                            w.beyond.clone(),
                        ));
                        steps.push(("-- the people's way", w.people.clone()));
                        steps
                    }
                };
                let mut lines = Vec::new();
                for (title, text) in steps {
                    let sql = format!("EXPLAIN (ANALYZE, BUFFERS) {text}");
                    let mut q = sqlx::query_scalar(&sql).persistent(false);
                    bind_all!(q, &search.binds);
                    lines.push(title.to_string());
                    match q.fetch_all(pool).await {
                        Ok(plan) => lines.extend(plan),
                        Err(e) => return Err(self.failed("explain a search in", e)),
                    }
                }
                Ok(lines)
            }
        }
        .map_err(|e| self.failed("explain a search in", e))?;
        Ok(lines.join("\n"))
    }
}

/// Gives the next statement of `tx` what is left of the search's time.
async fn deadline_for_next(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    until: Instant,
) -> Result<(), sqlx::Error> {
    let left = until.saturating_duration_since(Instant::now()).as_millis();
    sqlx::query(&format!("SET LOCAL statement_timeout = {}", left.max(1)))
        .execute(&mut **tx)
        .await
        .map(drop)
}

/// The rows of one search statement. Planned for these words each time: a common word and a
/// rare one want different plans, which a prepared statement's generic plan would not give.
async fn page_of<T>(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    text: &str,
    binds: &[Bind],
) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let mut q = sqlx::query_as(text).persistent(false);
    bind_all!(q, binds);
    q.fetch_all(&mut **tx).await
}

impl Store {
    /// PostgreSQL's search with words in its bounded steps (`Walked`): up to `need` cards, in
    /// the page's order.
    async fn walked_search(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        walked: &Walked,
        mut binds: Vec<Bind>,
        need: i64,
        until: Instant,
    ) -> Result<Vec<CardRow>, sqlx::Error> {
        let mut found: Vec<(i64, CardRow)> = Vec::new();
        let below = match &walked.walk {
            None => None,
            Some(walk) => {
                deadline_for_next(tx, until).await?;
                let rows: Vec<OrderedRow> = page_of(tx, walk, &binds).await?;
                found.extend(rows.into_iter().map(|r| (r.ord, r.card)));
                if (found.len() as i64) < need {
                    let mut q = sqlx::query_scalar(&walked.edge).persistent(false);
                    bind_all!(q, &binds);
                    q.fetch_optional(&mut **tx).await?
                } else {
                    None
                }
            }
        };
        if let Some(low) = below {
            binds[walked.beyond_low] = Bind::Int(low);
            deadline_for_next(tx, until).await?;
            let rows: Vec<OrderedRow> = page_of(tx, &walked.beyond, &binds).await?;
            found.extend(rows.into_iter().map(|r| (r.ord, r.card)));
        }
        deadline_for_next(tx, until).await?;
        let rows: Vec<OrderedRow> = page_of(tx, &walked.people, &binds).await?;
        found.extend(rows.into_iter().map(|r| (r.ord, r.card)));
        found.sort_by_key(|f| std::cmp::Reverse(f.0));
        found.truncate(need as usize);
        Ok(found.into_iter().map(|(_, card)| card).collect())
    }
}

/// A card found with its place in the page's order.
#[derive(sqlx::FromRow)]
struct OrderedRow {
    #[sqlx(flatten)]
    card: CardRow,
    ord: i64,
}
