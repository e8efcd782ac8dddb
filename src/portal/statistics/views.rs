//! Views of the e-services' public pages, counted in memory per e-service and month and added
//! to the store's counters in one transaction by a runner (and before the statistics are read),
//! so that a page view costs no write of its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::store::{PortalCounters, Store, StoreError};

/// How often the views counted are added to the store.
const FLUSH_EVERY: Duration = Duration::from_secs(30);

/// Views counted since the last flush, by e-service and month.
#[derive(Debug, Default)]
pub struct Views {
    pending: Mutex<HashMap<(String, String), i64>>,
}

impl Views {
    /// Counts one view of `e_service`'s page in `month` (`YYYY-MM`, city time).
    pub fn count(&self, e_service: &str, month: String) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        *pending.entry((e_service.to_string(), month)).or_default() += 1;
    }

    /// Adds the views counted to the store; on failure they are kept for the next flush.
    pub async fn flush(&self, store: &Store) -> Result<(), StoreError> {
        let taken = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if taken.is_empty() {
            return Ok(());
        }
        let counts: Vec<PortalCounters> = taken
            .iter()
            .map(|((e_service, month), views)| PortalCounters {
                e_service: e_service.clone(),
                month: month.clone(),
                views: *views,
                started: 0,
            })
            .collect();
        let added = store.add_portal_counts(&counts).await;
        if added.is_err() {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            for (key, views) in taken {
                *pending.entry(key).or_default() += views;
            }
        }
        added
    }
}

/// The runner: flushes every [`FLUSH_EVERY`], and once more when `stopped` turns.
pub fn spawn(
    shared: Arc<super::Shared>,
    store: Store,
    mut stopped: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let stopping = tokio::select! {
                _ = tick.tick() => false,
                _ = stopped.wait_for(|s| *s) => true,
            };
            if let Err(e) = shared.views.flush(&store).await {
                tracing::warn!(
                    "cannot add the e-service pages' views to the statistics: {e}; they are \
                     kept in memory and tried again in {}s",
                    FLUSH_EVERY.as_secs()
                );
            }
            if stopping {
                return;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn views_reach_the_store_once_and_are_kept_when_it_fails() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let views = Views::default();
        for _ in 0..3 {
            views.count("material-aid", "2026-12".into());
        }
        views.count("water-no-debt", "2026-12".into());
        views.flush(&store).await.unwrap();
        views.count("material-aid", "2026-12".into());
        views.flush(&store).await.unwrap();
        views.flush(&store).await.unwrap();
        let rows = store.portal_counters(None, "2026-01").await.unwrap();
        let of = |e: &str| rows.iter().find(|r| r.e_service == e).unwrap().views;
        assert_eq!((of("material-aid"), of("water-no-debt")), (4, 1));

        store.close().await;
        views.count("material-aid", "2026-12".into());
        assert!(views.flush(&store).await.is_err());
        assert_eq!(
            views.pending.lock().unwrap().len(),
            1,
            "kept for the next flush"
        );
    }
}
