//! The gateway's HTTP face and the state its handlers share: `router` for information systems
//! (`/r1/…`, metaservices, the catalogue, the ledger's read API) and `peer_router` for other
//! gateway nodes. `serve` mounts them over its own state, from which `GatewayState` is taken.

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{any, get};

use super::{Gateway, catalogue, exchange, ledger_api, metaservices, peer};
use crate::compile::current::Current;
use crate::store::Store;

/// What the gateway's handlers read: the gateway itself and the applied revision, which each
/// request loads once and keeps to its end.
#[derive(Clone)]
pub struct GatewayState {
    pub gateway: Arc<Gateway>,
    pub current: Current,
    /// The bearer token of the read APIs (`--api-token-file`), when configured.
    pub api_token: Option<Arc<str>>,
}

impl GatewayState {
    pub fn store(&self) -> &Store {
        self.gateway.ledger.store()
    }
}

/// The routes information systems and people call on the systems' listener.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    GatewayState: FromRef<S>,
{
    Router::new()
        .route("/listClients", get(metaservices::list_clients))
        .route("/r1/{*rest}", any(exchange::handle))
        .merge(ledger_api::routes())
        .merge(catalogue::routes())
}

/// The routes other gateway nodes call on the mutual-TLS listener.
pub fn peer_router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    GatewayState: FromRef<S>,
{
    Router::new().route("/r1/{*rest}", any(peer::receive))
}
