//! The appliance's store, on SQLite or PostgreSQL. This file is its core (the pool, migrations,
//! `on_pool!`, errors; `time.rs` the one time encoding, `tx.rs` write transactions); each domain
//! is one repository owning its tables' row types. It imports no subsystem: `spec`, `identity`
//! and `crypto` only. Configuration never lives here (it lives in Git).

mod actuation;
mod anchoring;
mod applications;
mod archive;
mod attachments;
mod card_history;
mod card_query;
mod card_reports;
mod card_search;
mod cards;
mod case_files;
mod case_lists;
mod cases;
mod delegations;
mod deliveries;
mod documents;
mod drafts;
mod exchange_post;
mod exchange_received;
mod exchange_sent;
mod feedback;
mod health;
mod inbox;
mod journals;
mod ledger;
mod office_sessions;
mod official_access;
mod official_blocks;
mod open_cases;
mod operator_acts;
mod originals;
mod outbox;
mod payments;
mod portal_sessions;
mod portal_stats;
mod procedure_versions;
mod rate_buckets;
mod reconciles;
mod registry_counts;
mod replicas;
mod resolutions;
mod security_events;
mod seen_requests;
mod session_tables;
mod subscriptions;
mod time;
mod timers;
mod tx;

pub use actuation::{Actuation, HealthCheckRow, OfficialRow, RetentionRow, RoleRow};
pub use anchoring::{Checkpoint, PeerCheckpoint};
pub use applications::ApplicationRow;
pub use archive::{ActCardRow, ActRefused, ActRow, Approval, CLOSED_STATUSES, HoldRow};
pub use attachments::{AttachmentChange, AttachmentRow, NewAttachment, content_hash};
pub use card_query::{COUNT_CAP, CardPage, CardQuery, SEARCH_DEADLINE, SearchFailed, Visibility};
pub use card_reports::{ExecutionRow, FlowRow, MAX_DEADLINES, ReportScope};
pub use card_search::{CardWords, search_order};
pub use cards::{CardChange, CardFileRow, CardRow, HISTORY_FIELDS, NewCardFile, card_changes};
pub use case_files::{CaseFileRow, NewCaseFile};
pub use case_lists::{CasePage, CaseQuery};
pub use cases::{
    CaseEventRow, CaseFilter, CaseRequestRow, CaseRow, DefinitionRow, NewCaseEvent, NewNotice,
    NoticeRow, case_event_hash,
};
pub use delegations::DelegationRow;
pub use deliveries::{
    DeliveryAttempt, DeliveryOutcome, DeliveryRow, NewDelivery, ProviderReportRow,
};
pub use documents::DocumentRow;
pub use drafts::{DraftRow, DraftWrite, NewDraft};
pub use exchange_post::{
    HandlingStatus, LeasedMessage, MessageKind, OutgoingMessage, PostOutcome, PostStatus,
    ReceivedMessage,
};
pub use exchange_received::{
    NewReceivedFile, RECEIVED_PAGE, ReceivedFileRow, ReceivedRow, ReceivedSection,
};
pub use exchange_sent::{SENT_PAGE, SentRow, TakenNotice};
pub use feedback::{FeedbackRow, NewFeedback, NewRating, RatingRow, month_of};
pub use health::{Availability, HealthResult, ServiceHealth};
pub use inbox::{Due, InboxPage, InboxQuery, InboxRow};
pub use ledger::{
    Exchange, GENESIS_HASH, LOG_FORMAT, Link, LogHead, LogReceipt, LogRecord, MAX_BATCH,
    OperationalRecord, ProviderFault, Side, SubjectNotice, SubjectUse, SubjectUsePage,
    SubjectUseRecord, bodies_digest, chain_hash,
};
pub use office_sessions::{NewOfficeSession, OfficeSessionRow};
pub use official_access::{AccessFilter, OfficialAccess, OfficialAccessRow};
pub use official_blocks::{
    AccountAction, AccountChange, AccountChangeRow, AccountHold, ChangeRefused, OfficialBlock,
};
pub use open_cases::{CaseMove, OpenCases};
pub use operator_acts::{ActKind, NewOperatorAct, OperatorAct};
pub use originals::{OriginalKind, OriginalRow, RevocationRow, original_digest};
pub use outbox::{LeasedMail, MailOutcome, MailStatus, NewMail};
pub use payments::{
    NewPayment, PaymentCallback, PaymentEventRow, PaymentRow, PaymentStatus, Receipt, Recorded,
    Settlement,
};
pub use portal_sessions::{NewSession, PendingSignIn, SessionEnd, SessionRow};
pub use portal_stats::{ClosedCase, HourlyCount, MonthlyRatings, OverdueCase, PortalCounters};
pub use procedure_versions::{ProcedureVersion, RecordedProcedure};
pub use rate_buckets::{Lease, LeaseRequest};
pub use reconciles::{NewReconcile, Outcome, ReconcileRecord};
pub use registry_counts::{CountScope, RegistryCounts};
pub use replicas::{Heartbeat, ReplicaRow};
pub use resolutions::{ResolutionExecutorRow, ResolutionRow, TaskRow};
pub use security_events::{SecurityEvent, SecurityEventRow};
pub use seen_requests::SeenRequest;
pub use subscriptions::{
    ANY_E_SERVICE, ListMail, NoticeBatch, Recipient, Source, Subscriber, SubscriberChange, Topic,
    Unsubscribed,
};
pub use time::{parse_time, time_text};
pub use timers::{ClaimedTimer, NewTimer, Timer, TimerKind};
pub use tx::Tx;
pub(crate) use tx::on_tx;

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection};

/// Runs `$body` with `$p` bound to whichever pool the store has: the same SQL text serves both.
macro_rules! on_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            $crate::store::Pool::Sqlite($p) => $body,
            $crate::store::Pool::Postgres($p) => $body,
        }
    };
}
pub(crate) use on_pool;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// How long a connection attempt or a wait for a free connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the health query may take before the store counts as out of reach.
const PING_TIMEOUT: Duration = Duration::from_secs(2);
/// How long SQLite waits for another writer before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// What a SQLite file's write-ahead log is cut back to, in bytes, when a writer starts it over
/// after a checkpoint: a burst (a bulk import, a backlog) does not leave gigabytes behind.
pub(crate) const WAL_SIZE_LIMIT: i64 = 64 << 20;
/// How often the write-ahead log of a SQLite file is copied into the database.
const SQLITE_CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Copies a SQLite file's write-ahead log into the database now and then, without blocking
/// writers (PASSIVE), so that no commit pays for a checkpoint; until the pool closes or the
/// last clone of its store is dropped.
async fn checkpoint_sqlite(pool: SqlitePool, target: Arc<str>, store: std::sync::Weak<()>) {
    let mut failing = false;
    while !pool.is_closed() && store.strong_count() > 0 {
        tokio::time::sleep(SQLITE_CHECKPOINT_EVERY).await;
        match sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            Ok(_) => failing = false,
            Err(_) if pool.is_closed() => return,
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(
                    "cannot checkpoint the SQLite database {target}: {e}; its write-ahead log \
                     grows until this succeeds"
                );
            }
            Err(_) => {}
        }
    }
}

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

#[derive(Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A connection pool to the store; cloning it is cheap and shares the pool.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    /// Writes the message log: a SQLite file's own thread, or a task writing through the pool.
    writer: Arc<ledger::Writer>,
    /// The database as people should see it in messages: a file path or a url without password.
    target: Arc<str>,
    /// Wakes this process's timer runner when an earlier timer may have been scheduled.
    timers_changed: Arc<tokio::sync::Notify>,
    /// Wakes this process's search indexer when a card was written (`card_search`).
    cards_changed: Arc<tokio::sync::Notify>,
    /// Wakes this process's exchange poster when a message was queued or received
    /// (`exchange_post`).
    exchange_changed: Arc<tokio::sync::Notify>,
    /// Turns for the registry's searches (`card_query::searches_at_once`).
    searches: Arc<tokio::sync::Semaphore>,
    /// Turns for this process's SQLite write transactions (`tx::WriteTurn`).
    write_turns: Arc<tokio::sync::Mutex<()>>,
    /// Held by every clone: the SQLite checkpointer stops when the last one is dropped.
    _alive: Arc<()>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .field("target", &self.target)
            .finish()
    }
}

/// A store operation that failed, with a message that says what, on which database, and what to
/// do about it. Never holds a password.
#[derive(Debug)]
pub struct StoreError {
    message: String,
}

impl StoreError {
    pub(crate) fn new(message: impl Into<String>) -> StoreError {
        StoreError {
            message: message.into(),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {}

impl Store {
    /// `sqlite://PATH` (file created with parent folders if missing; `sqlite::memory:` ok too)
    /// or `postgres://…`/`postgresql://…`. Applies migrations before returning.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        if let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            Store::connect_sqlite(url, rest).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Store::connect_postgres(url).await
        } else {
            Err(StoreError::new(format!(
                "cannot open the store {}: the url must start with sqlite:// (a database file, \
                 e.g. sqlite://data/hromada.db) or postgres:// (a PostgreSQL server, e.g. \
                 postgres://hromada@db.internal/hromada)",
                Store::display_url(url)
            )))
        }
    }

    async fn connect_sqlite(url: &str, rest: &str) -> Result<Store, StoreError> {
        let path = rest.split('?').next().unwrap_or_default();
        let in_memory = path.is_empty() || path == ":memory:";
        let target: Arc<str> = if in_memory {
            "in memory".into()
        } else {
            percent_encoding::percent_decode_str(path)
                .decode_utf8_lossy()
                .into()
        };
        let cannot_open = |why: String| {
            StoreError::new(format!(
                "cannot open the SQLite database {target}: {why}; check that the path is right \
                 and that hromada may create and write files there"
            ))
        };
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| cannot_open(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            // Checkpoints run in the background (`checkpoint_sqlite`), not in a commit.
            .pragma("wal_autocheckpoint", if in_memory { "1000" } else { "0" })
            .pragma("journal_size_limit", WAL_SIZE_LIMIT.to_string());
        if !in_memory
            && let Some(parent) = options.get_filename().parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                cannot_open(format!(
                    "cannot create the folder {}: {e}",
                    parent.display()
                ))
            })?;
        }
        let file = options.get_filename().to_path_buf();
        let mut pool_options = SqlitePoolOptions::new().acquire_timeout(CONNECT_TIMEOUT);
        if in_memory {
            // The database lives as long as one of its connections: keep one for good.
            pool_options = pool_options
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let pool = pool_options
            .connect_with(options)
            .await
            .map_err(|e| cannot_open(e.to_string()))?;
        SQLITE_MIGRATIONS.run(&pool).await.map_err(|e| {
            StoreError::new(format!(
                "cannot bring the SQLite database {target} up to date: {e}; if a newer hromada \
                 used this file, run that version or restore a backup"
            ))
        })?;
        let alive = Arc::new(());
        if !in_memory {
            tokio::spawn(checkpoint_sqlite(
                pool.clone(),
                target.clone(),
                Arc::downgrade(&alive),
            ));
        }
        let pool = Pool::Sqlite(pool);
        let writer = if in_memory {
            ledger::writer_through_pool(pool.clone(), format!("the SQLite database {target}"))
        } else {
            ledger::writer_on_sqlite_file(&file, SQLITE_BUSY_TIMEOUT)
        };
        Ok(Store {
            pool,
            writer: Arc::new(writer),
            target,
            timers_changed: Arc::default(),
            cards_changed: Arc::default(),
            exchange_changed: Arc::default(),
            searches: Arc::new(tokio::sync::Semaphore::new(card_query::searches_at_once(
                true,
            ))),
            write_turns: Arc::default(),
            _alive: alive,
        })
    }

    async fn connect_postgres(url: &str) -> Result<Store, StoreError> {
        let target: Arc<str> = Store::display_url(url).into();
        let options = PgConnectOptions::from_str(url).map_err(|e| {
            StoreError::new(format!(
                "cannot use the PostgreSQL url {target}: {e}; write it as \
                 postgres://USER:PASSWORD@HOST:PORT/DATABASE"
            ))
        })?;
        let cannot_connect = |why: String| {
            StoreError::new(format!(
                "cannot connect to the PostgreSQL database {target}: {why}; check that the server \
                 is running and reachable at that address, and that the user, password and \
                 database name are right"
            ))
        };
        // One direct attempt first: the pool would retry a refused connection until its timeout
        // and then report only the timeout.
        match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
            Ok(Ok(connection)) => {
                let _ = connection.close().await;
            }
            Ok(Err(e)) => return Err(cannot_connect(e.to_string())),
            Err(_) => {
                return Err(cannot_connect(format!(
                    "no answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                )));
            }
        }
        let pool = PgPoolOptions::new()
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_lazy_with(options);
        POSTGRES_MIGRATIONS.run(&pool).await.map_err(|e| {
            StoreError::new(format!(
                "cannot bring the PostgreSQL database {target} up to date: {e}; if a newer \
                 hromada used this database, run that version or restore a backup"
            ))
        })?;
        let pool = Pool::Postgres(pool);
        let writer =
            ledger::writer_through_pool(pool.clone(), format!("the PostgreSQL database {target}"));
        Ok(Store {
            pool,
            writer: Arc::new(writer),
            target,
            timers_changed: Arc::default(),
            cards_changed: Arc::default(),
            exchange_changed: Arc::default(),
            searches: Arc::new(tokio::sync::Semaphore::new(card_query::searches_at_once(
                false,
            ))),
            write_turns: Arc::default(),
            _alive: Arc::default(),
        })
    }

    /// Which database this store runs on.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Whether other processes may use this database at the same time: replicas of a node share
    /// a PostgreSQL database, while a SQLite database is one process's own.
    pub fn shared_by_replicas(&self) -> bool {
        self.backend() == Backend::Postgres
    }

    /// Cheap round trip (SELECT 1) for /readyz and the status, bounded by [`PING_TIMEOUT`]: a
    /// database out of reach is reported at once, not after the pool's acquire timeout.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let round_trip = async {
            on_pool!(&self.pool, pool => sqlx::query("SELECT 1").execute(pool).await.map(drop))
        };
        match tokio::time::timeout(PING_TIMEOUT, round_trip).await {
            Ok(answer) => answer.map_err(|e| self.failed("reach", e)),
            Err(_) => Err(StoreError::new(format!(
                "the {} database {} did not answer within {} s; check that it is running and \
                 reachable",
                self.backend().name(),
                self.target,
                PING_TIMEOUT.as_secs()
            ))),
        }
    }

    /// Closes every connection; waits for those in use to be returned.
    pub async fn close(&self) {
        self.writer.stop().await;
        on_pool!(&self.pool, pool => pool.close().await)
    }

    /// The URL of the SQLite file at `path`: `?`, `#` and `%` in a folder's name are
    /// percent-encoded, or they would be read as the URL's query, fragment or an escape.
    pub fn sqlite_url(path: &Path) -> String {
        const IN_PATH: &percent_encoding::AsciiSet =
            &percent_encoding::CONTROLS.add(b'?').add(b'#').add(b'%');
        let text = path.to_string_lossy();
        format!(
            "sqlite://{}",
            percent_encoding::utf8_percent_encode(&text, IN_PATH)
        )
    }

    /// A url with any password replaced by `***`, for logs.
    pub fn display_url(url: &str) -> String {
        let (scheme, rest) = match url.find("://") {
            Some(i) => url.split_at(i + 3),
            None => ("", url),
        };
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let authority = match authority.rfind('@') {
            Some(at) => {
                let (userinfo, host) = authority.split_at(at);
                match userinfo.split_once(':') {
                    Some((user, _)) => format!("{user}:***{host}"),
                    None => authority.to_string(),
                }
            }
            None => authority.to_string(),
        };
        let tail = match tail.split_once('?') {
            Some((path, query)) => {
                let query: Vec<String> = query
                    .split('&')
                    .map(|pair| match pair.split_once('=') {
                        Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                            format!("{key}=***")
                        }
                        _ => pair.to_string(),
                    })
                    .collect();
                format!("{path}?{}", query.join("&"))
            }
            None => tail.to_string(),
        };
        format!("{scheme}{authority}{tail}")
    }

    /// The error for a failed `action` ("record a reconcile in"), naming the database.
    fn failed(&self, action: &str, e: sqlx::Error) -> StoreError {
        StoreError::new(format!(
            "cannot {action} the {} database {}: {e}{}",
            self.backend().name(),
            self.target,
            failure_hint(&e)
        ))
    }

    /// The error for a stored `row` ("reconcile 7") whose `what` ("start time") holds `value`,
    /// which hromada never writes.
    fn malformed(&self, row: &str, what: &str, value: &str) -> StoreError {
        StoreError::new(format!(
            "{row} in the {} database {} holds a malformed {what} `{value}`; the row was changed \
             outside hromada",
            self.backend().name(),
            self.target
        ))
    }

    /// A JSON array of strings stored in a column, read back.
    fn list(&self, text: &str, what: &str) -> Result<Vec<String>, StoreError> {
        serde_json::from_str(text).map_err(|_| {
            StoreError::new(format!(
                "the {what} in the {} database {} are not a JSON list of names (`{text}`); \
                 the row was changed outside hromada",
                self.backend().name(),
                self.target
            ))
        })
    }
}

/// What to do about an error that says the database is out of reach.
fn failure_hint(e: &sqlx::Error) -> &'static str {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
            "; check that the database is running and reachable"
        }
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_url_hides_passwords_only() {
        let cases = [
            (
                "postgres://hromada:s3cret@db:5432/hromada",
                "postgres://hromada:***@db:5432/hromada",
            ),
            (
                "postgresql://u:p%40ss@db/x?sslmode=require&password=s3cret",
                "postgresql://u:***@db/x?sslmode=require&password=***",
            ),
            (
                "postgres://hromada@db/hromada",
                "postgres://hromada@db/hromada",
            ),
            ("postgres://db/hromada", "postgres://db/hromada"),
            ("sqlite://data/hromada.db", "sqlite://data/hromada.db"),
            ("sqlite::memory:", "sqlite::memory:"),
        ];
        for (url, shown) in cases {
            assert_eq!(Store::display_url(url), shown, "{url}");
        }
    }

    #[tokio::test]
    async fn a_data_folder_named_with_url_characters_holds_its_database() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("міська рада?#50%");
        std::fs::create_dir(&folder).unwrap();
        let file = folder.join("hromada.db");
        let store = Store::connect(&Store::sqlite_url(&file)).await.unwrap();
        store.ping().await.unwrap();
        store.close().await;
        // Errors name the folder as it is spelt, not as the URL encodes it.
        std::fs::write(folder.join("файл"), "").unwrap();
        let blocked = Store::sqlite_url(&folder.join("файл").join("hromada.db"));
        let error = Store::connect(&blocked).await.unwrap_err().to_string();
        assert!(
            error.starts_with(&format!(
                "cannot open the SQLite database {}",
                folder.join("файл/hromada.db").display()
            )),
            "{error}"
        );
        assert!(
            file.is_file(),
            "{:?}",
            std::fs::read_dir(dir.path()).unwrap().collect::<Vec<_>>()
        );
    }
}
