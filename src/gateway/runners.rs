//! The gateway's background work, which `serve` starts and stops: health checks, the
//! checkpointer, the disposal of message log bodies, the listener for other nodes and the peer
//! clients. Those that depend on the revision follow it through their own subscription.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum_server::Handle;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::checkpoints::{self, Tally};
use super::{GatewayState, disposal, health, peer_listener};
use crate::connections::ConnectionLimits;

/// How the runners are paced and where the listener for other nodes binds.
pub struct RunnerSettings {
    /// How often the message log's head is signed at the latest.
    pub checkpoint_every: Duration,
    /// The count of records the ledger writes, which calls for a checkpoint when it is reached.
    pub tally: Arc<Tally>,
    /// How often message log bodies due under the retention rules are disposed of.
    pub dispose_every: Duration,
    /// Where the listener for other nodes binds; from the node's address when `None`.
    pub peer_listen: Option<SocketAddr>,
    pub connections: ConnectionLimits,
}

/// The running tasks, until `finish`.
pub struct Runners {
    state: GatewayState,
    peer_handle: Handle<SocketAddr>,
    health: JoinHandle<()>,
    checkpoints: JoinHandle<()>,
    disposal: JoinHandle<()>,
    peer_listener: JoinHandle<()>,
    peer_clients: JoinHandle<()>,
}

impl Runners {
    /// Starts every runner; `peer_app` is the gateway's `peer_router` as `serve` composed it.
    /// They stop when `stopped` turns true.
    pub fn spawn(
        state: &GatewayState,
        peer_app: Router,
        settings: RunnerSettings,
        stopped: watch::Receiver<bool>,
    ) -> Runners {
        let gateway = &state.gateway;
        let current = &state.current;
        let peer_handle = Handle::new();
        Runners {
            health: tokio::spawn(health::run(
                current.subscribe(),
                state.store().clone(),
                stopped.clone(),
            )),
            checkpoints: tokio::spawn(checkpoints::run(
                current.clone(),
                gateway.clone(),
                settings.tally,
                settings.checkpoint_every,
                stopped.clone(),
            )),
            disposal: tokio::spawn(disposal::run(
                current.clone(),
                state.store().clone(),
                settings.dispose_every,
                stopped.clone(),
            )),
            peer_clients: tokio::spawn({
                let gateway = gateway.clone();
                let revisions = current.subscribe();
                let stopped = stopped.clone();
                async move { gateway.peers.renew(revisions, stopped).await }
            }),
            peer_listener: tokio::spawn(peer_listener::listen(
                gateway.clone(),
                peer_app,
                current.subscribe(),
                settings.peer_listen,
                settings.connections,
                peer_handle.clone(),
                stopped,
            )),
            peer_handle,
            state: state.clone(),
        }
    }

    /// Stops accepting connections from other nodes; requests in flight have `within` to finish.
    pub fn drain(&self, within: Duration) {
        self.peer_handle.graceful_shutdown(Some(within));
    }

    /// Once `stopped` turned true and no request is in flight on the systems' listener: waits for
    /// the runners and the other nodes' requests, keeps the replay guard's memory, closes the
    /// ledger (every record handed over is committed) and signs the records since the last
    /// checkpoint.
    pub async fn finish(self) {
        let _ = self.peer_listener.await;
        let _ = self.health.await;
        let _ = self.disposal.await;
        let _ = self.peer_clients.await;
        let gateway = &self.state.gateway;
        gateway.replays.flush().await;
        gateway.ledger.close().await;
        let _ = self.checkpoints.await;
        checkpoints::take_now(&self.state.current, gateway).await;
    }
}
