//! The case engine inside `serve`: its clock, the engine with its registries and seals, the
//! cases API's state (`api`), and the runners that keep it going (`spawn`: each applied
//! revision handed to the engine, the timers, the outbox).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::gateway::keys::KeyRing;
use crate::reconcile::Shared;
use crate::store::Store;
use crate::workflow::api::CasesApi;
use crate::workflow::calls::Registries;
use crate::workflow::clock::{SharedClock, SystemClock};
use crate::workflow::engine::Engine;
use crate::workflow::key_seals::KeyRingSeals;
use crate::workflow::{outbox, timers};

use super::Options;

/// How long the engine waits before taking again a revision it could not take.
const RETRY: Duration = Duration::from_secs(5);

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

/// The engine and the cases API's state; nothing runs until `spawn`.
pub fn api(
    store: &Store,
    clock: SharedClock,
    registries: Arc<dyn Registries>,
    api_token: Option<Arc<str>>,
) -> CasesApi {
    CasesApi::new(
        Arc::new(Engine::new(store.clone(), clock, registries)),
        api_token,
    )
}

/// The engine's runners, until `stopped` turns.
pub fn spawn(
    api: &CasesApi,
    options: &Options,
    store: &Store,
    shared: &Arc<Shared>,
    stopped: &watch::Receiver<bool>,
) -> Runners {
    let clock = api.engine().clock().clone();
    let mut runners = vec![
        tokio::spawn(follow_revisions(
            shared.clone(),
            api.clone(),
            options.keys.clone(),
            stopped.clone(),
        )),
        timers::spawn(
            store.clone(),
            clock.clone(),
            api.engine().clone(),
            stopped.clone(),
        ),
    ];
    if let Some(smtp) = &options.smtp {
        runners.push(outbox::spawn(
            store.clone(),
            smtp.clone(),
            clock.clone(),
            stopped.clone(),
        ));
    }
    if options.clock_file.is_some() {
        runners.push(tokio::spawn(wake_timers_on_jumps(
            store.clone(),
            clock,
            stopped.clone(),
        )));
    }
    Runners(runners)
}

/// The engine's background tasks.
pub struct Runners(Vec<JoinHandle<()>>);

impl Runners {
    /// Waits for the runners, once `stopped` has turned.
    pub async fn stop(self) {
        for runner in self.0 {
            let _ = runner.await;
        }
    }
}

/// Hands each revision the reconciler announces to the engine: its workflows pinned in the
/// store, new cases started on it, its participants' seals (keys from the folder `keys`). A
/// revision the engine cannot take is logged and tried again, until a newer one comes.
async fn follow_revisions(
    shared: Arc<Shared>,
    api: CasesApi,
    keys: PathBuf,
    stopped: watch::Receiver<bool>,
) {
    let current = shared.current.clone();
    current
        .follow(RETRY, stopped, |compiled| {
            let (api, keys, shared) = (api.clone(), keys.clone(), shared.clone());
            async move {
                api.engine().set_seals(Arc::new(KeyRingSeals::new(
                    KeyRing::new(keys),
                    compiled.clone(),
                )));
                let applied = api.apply(&compiled).await;
                if applied.is_ok() {
                    shared
                        .engine_ready
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                }
                applied.map_err(|e| {
                    tracing::error!(
                        "the case engine cannot take revision {}: {e}; new cases start on the one \
                         before until it can (retrying in {}s)",
                        compiled.revision.short(),
                        RETRY.as_secs()
                    );
                })
            }
        })
        .await
}

/// Tests only (`--clock-file`): wakes the timer runner when the test moves the clock, as a
/// newly scheduled timer would, so that a month passes without waiting for the runner's ceiling.
async fn wake_timers_on_jumps(
    store: Store,
    clock: SharedClock,
    mut stopped: watch::Receiver<bool>,
) {
    let mut last = clock.now();
    loop {
        let now = clock.now();
        if now != last {
            last = now;
            store.wake_timers();
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            changed = stopped.changed() => if changed.is_err() || *stopped.borrow() { return },
        }
    }
}
