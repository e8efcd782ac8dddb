//! The sealed requests a provider's node has served, remembered until their seal expires, so
//! that a replayed one is refused by every replica sharing the store, also after a restart.
//! One insert per request decides; expired rows are pruned.

use chrono::{DateTime, Utc};

use super::reconciles::time_text;
use super::{Store, StoreError, on_pool};

const REMEMBER: &str = "INSERT INTO seen_requests (sealer, request_id, expires_at) \
     VALUES ($1, $2, $3) ON CONFLICT (sealer, request_id) DO NOTHING";
const FORGET: &str = "DELETE FROM seen_requests WHERE expires_at < $1";

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
}
