//! The case engine inside `serve`: its clock, the engine with its registries, the cases API's
//! state, and the runners that keep it going (each applied revision handed to the engine, the
//! timers). `serve::run` calls `start` once and `Cases::stop` when it stops.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::reconcile::Shared;
use crate::store::Store;
use crate::workflow::api::CasesApi;
use crate::workflow::calls::Registries;
use crate::workflow::clock::{SharedClock, SystemClock};
use crate::workflow::engine::Engine;

use super::Options;

/// How often the served revision is compared with the engine's, until the reconciler announces
/// each revision it applies (issue 12, part 1: then this becomes a subscription).
const REVISION_CHECK: Duration = Duration::from_millis(250);

pub struct Cases {
    pub api: CasesApi,
    runners: Vec<JoinHandle<()>>,
}

/// The engine's clock: the system's, or in a debug build the file `--clock-file` names.
pub fn clock(options: &Options) -> Result<SharedClock, String> {
    match &options.clock_file {
        None => Ok(Arc::new(SystemClock)),
        Some(path) => {
            let clock = crate::workflow::clock_file::FileClock::open(path)?;
            tracing::warn!(
                "the case engine reads its time from {} (--clock-file, for tests only)",
                path.display()
            );
            Ok(Arc::new(clock))
        }
    }
}

/// The engine and its runners, started.
pub fn start(
    store: &Store,
    shared: &Arc<Shared>,
    clock: SharedClock,
    registries: Arc<dyn Registries>,
    api_token: Option<Arc<str>>,
    stopped: &watch::Receiver<bool>,
) -> Cases {
    let engine = Arc::new(Engine::new(store.clone(), clock, registries));
    let api = CasesApi::new(engine, api_token);
    let runners = vec![tokio::spawn(follow_revisions(
        shared.clone(),
        api.clone(),
        stopped.clone(),
    ))];
    Cases { api, runners }
}

impl Cases {
    /// Waits for the runners, once `stopped` has turned.
    pub async fn stop(self) {
        for runner in self.runners {
            let _ = runner.await;
        }
    }
}

/// Hands each revision the appliance serves to the engine: its workflows pinned in the store,
/// new cases started on it. A revision the engine cannot take is logged and tried again.
async fn follow_revisions(shared: Arc<Shared>, api: CasesApi, mut stopped: watch::Receiver<bool>) {
    let mut taken: Option<String> = None;
    loop {
        if let Some(compiled) = shared.current.load_full()
            && taken.as_deref() != Some(compiled.revision.id.as_str())
        {
            match api
                .apply_revision(&compiled.revision.id, &compiled.spec)
                .await
            {
                Ok(()) => taken = Some(compiled.revision.id.clone()),
                Err(e) => tracing::error!(
                    "the case engine cannot take revision {}: {e}; new cases start on the one \
                     before until it can",
                    compiled.revision.short()
                ),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(REVISION_CHECK) => {}
            changed = stopped.changed() => if changed.is_err() || *stopped.borrow() { return },
        }
    }
}
