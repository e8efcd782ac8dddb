//! A database for one test, a SQLite file or a PostgreSQL database, and `both!`, which runs one
//! test body on each: as `<name>::sqlite` and `<name>::postgres` (skipped loudly without
//! PostgreSQL, except under CI).

use hromada::store::Backend;
use tempfile::TempDir;

/// A database for one test; the folder of a SQLite file lives as long as this.
pub struct Db {
    pub url: String,
    pub backend: Backend,
    _dir: Option<TempDir>,
}

impl Db {
    /// A SQLite file in a folder that does not exist yet: connecting creates it.
    pub fn sqlite() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/state/hromada.db", dir.path().display());
        Db {
            url,
            backend: Backend::Sqlite,
            _dir: Some(dir),
        }
    }

    /// A fresh database on the tests' PostgreSQL cluster; `None` when the test is skipped.
    pub fn postgres(test: &str) -> Option<Db> {
        super::postgres::url_or_skip(test).map(|url| Db {
            url,
            backend: Backend::Postgres,
            _dir: None,
        })
    }
}

/// `both! { async fn name(db: Db) { … } … }`: each body as a `sqlite` and a `postgres` test.
#[macro_export]
macro_rules! both {
    ($(async fn $name:ident($db:ident: Db) $body:block)*) => {$(
        mod $name {
            use super::*;

            async fn run($db: Db) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                run(Db::sqlite()).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(db) = Db::postgres(concat!(stringify!($name), "::postgres")) {
                    run(db).await
                }
            }
        }
    )*};
}

/// Runs `sql` on the database behind `url`, past the store's API (what a tamperer would do).
pub async fn execute(url: &str, sql: &str) {
    if url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
    }
}
