//! The sealed requests a provider's node has served, remembered until their seal expires, so
//! that a replayed one is refused by every replica sharing the store, also after a restart.
//! On a shared database one insert per request decides; a process that owns its store writes
//! them in batches and reads them back when it starts. Expired rows are pruned.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, on_pool, parse_time, time_text};

const REMEMBER: &str = "INSERT INTO seen_requests (sealer, request_id, expires_at) \
     VALUES ($1, $2, $3) ON CONFLICT (sealer, request_id) DO NOTHING";
const FORGET: &str = "DELETE FROM seen_requests WHERE expires_at < $1";
const REMEMBERED: &str =
    "SELECT sealer, request_id, expires_at FROM seen_requests WHERE expires_at >= $1";
/// Rows written by one statement of [`Store::remember_requests`] (three parameters each, well
/// under SQLite's limit of parameters).
const BATCH: usize = 500;

/// A `seen_requests` row as stored.
#[derive(sqlx::FromRow)]
struct SeenRow {
    sealer: String,
    request_id: String,
    expires_at: String,
}

/// A served request, remembered until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRequest {
    pub sealer: String,
    pub request_id: String,
    pub expires_at: DateTime<Utc>,
}

impl Store {
    /// Remembers the request `request_id` sealed by `sealer` until `expires_at`; `false` when it
    /// was already remembered (a replay).
    pub async fn remember_request(
        &self,
        sealer: &str,
        request_id: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let inserted = on_pool!(&self.pool, pool => sqlx::query(REMEMBER)
            .bind(sealer)
            .bind(request_id)
            .bind(time_text(&expires_at))
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(|e| self.failed("remember a sealed request in", e))?;
        Ok(inserted == 1)
    }

    /// Remembers every request of `seen`, those already remembered left as they are.
    pub async fn remember_requests(&self, seen: &[SeenRequest]) -> Result<(), StoreError> {
        for batch in seen.chunks(BATCH) {
            let rows: Vec<String> = (0..batch.len())
                .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
                .collect();
            let sql = format!(
                "INSERT INTO seen_requests (sealer, request_id, expires_at) VALUES {} \
                 ON CONFLICT (sealer, request_id) DO NOTHING",
                rows.join(", ")
            );
            on_pool!(&self.pool, pool => {
                let mut query = sqlx::query(&sql);
                for row in batch {
                    query = query
                        .bind(&row.sealer)
                        .bind(&row.request_id)
                        .bind(time_text(&row.expires_at));
                }
                query.execute(pool).await.map(drop)
            })
            .map_err(|e| self.failed("remember sealed requests in", e))?;
        }
        Ok(())
    }

    /// The requests remembered until `now` or later.
    pub async fn remembered_requests(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<SeenRequest>, StoreError> {
        let rows: Vec<SeenRow> = on_pool!(&self.pool, pool => sqlx::query_as(REMEMBERED)
            .bind(time_text(&now))
            .fetch_all(pool)
            .await)
        .map_err(|e| self.failed("read the sealed requests remembered in", e))?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                Some(SeenRequest {
                    expires_at: parse_time(&row.expires_at)?,
                    sealer: row.sealer,
                    request_id: row.request_id,
                })
            })
            .collect())
    }

    /// Forgets the requests whose seals expired before `now`.
    pub async fn forget_requests(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(FORGET)
            .bind(time_text(&now))
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(|e| self.failed("forget expired sealed requests in", e))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};

    use crate::store::Store;

    #[tokio::test]
    async fn a_request_is_remembered_once_per_sealer_until_it_expires() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let now = Utc::now();
        let later = now + Duration::seconds(60);
        assert!(
            store
                .remember_request("council", "r1", later)
                .await
                .unwrap()
        );
        assert!(
            !store
                .remember_request("council", "r1", later)
                .await
                .unwrap()
        );
        assert!(store.remember_request("other", "r1", later).await.unwrap());
        assert_eq!(store.forget_requests(now).await.unwrap(), 0);
        assert_eq!(
            store
                .forget_requests(later + Duration::seconds(1))
                .await
                .unwrap(),
            2
        );
        assert!(
            store
                .remember_request("council", "r1", later)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_batch_is_remembered_and_read_back_until_it_expires() {
        use super::SeenRequest;
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let now = Utc::now();
        let seen: Vec<SeenRequest> = (0..1_200)
            .map(|n| SeenRequest {
                sealer: "council".into(),
                request_id: format!("r{n}"),
                expires_at: now + Duration::seconds(n % 2 * 120),
            })
            .collect();
        store.remember_requests(&seen).await.unwrap();
        store.remember_requests(&seen[..10]).await.unwrap();
        let later = now + Duration::seconds(60);
        assert_eq!(store.remembered_requests(later).await.unwrap().len(), 600);
        assert!(
            !store
                .remember_request("council", "r1", later)
                .await
                .unwrap()
        );
    }
}
