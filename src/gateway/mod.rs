//! The gateway between information systems (GW-1 … GW-7): the X-Road REST protocol towards
//! information systems, access decisions, minimisation, seals and mutually authenticated TLS
//! between nodes, the hash-chained message log, monitoring and the catalogue. `serve` mounts its
//! `router` and `peer_router` over `GatewayState` and starts its `Runners`.

pub mod anchor;
pub mod answer_headers;
pub mod audit;
pub mod authorise;
pub mod body_budget;
pub mod call;
pub mod catalogue;
pub mod checkpoints;
pub mod disposal;
pub mod encoding;
pub mod exchange;
pub mod exchange_service;
pub mod health;
pub mod in_process;
pub mod json_keys;
pub mod json_read;
pub mod keys;
pub mod ledger_api;
pub mod message_log;
pub mod metaservices;
pub mod peer;
pub mod peer_listener;
pub mod peer_tls;
pub mod protocol;
pub mod provider;
pub mod rate_limit;
pub mod redirect;
pub mod release;
pub mod replay;
pub mod router;
pub mod runners;
pub mod subject_use;
pub mod systems;
pub mod systems_tls;
pub mod token_bucket;
pub mod trace;
pub mod upstream;

use std::time::Duration;

use keys::KeyRing;
use message_log::MessageLog;
use rate_limit::RateLimits;

use crate::store::Store;

pub use router::{GatewayState, peer_router, router};
pub use runners::{RunnerSettings, Runners};

/// Bounds on what the gateway carries.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request or response body, in bytes.
    pub max_body: usize,
    /// How long a provider's system may take to answer.
    pub upstream_timeout: Duration,
    /// How long a client may take to send a request's body once its headers are in.
    pub body_timeout: Duration,
    /// Longest request target (path and query), in bytes.
    pub max_uri: usize,
    /// Largest sum of the request's header names and values, in bytes.
    pub max_headers: usize,
    /// How far from this node's clock the seal time of a request from another node may be.
    pub seal_window: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 10 * 1024 * 1024,
            upstream_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
            max_uri: 8 * 1024,
            max_headers: 64 * 1024,
            seal_window: Duration::from_secs(60),
        }
    }
}

/// What the gateway keeps across requests and revisions.
pub struct Gateway {
    pub ledger: MessageLog,
    pub keys: KeyRing,
    pub rate_limits: RateLimits,
    pub upstream: reqwest::Client,
    pub peers: peer::PeerClients,
    pub limits: Limits,
    pub anchoring: checkpoints::Anchoring,
    pub replays: replay::ReplayGuard,
    pub bodies: body_budget::BodyBudget,
    /// Receives the messages of this node's exchange services (`serve` gives it the registry's).
    pub exchange: Option<std::sync::Arc<dyn exchange_service::ExchangeReceiver>>,
}

impl Gateway {
    pub fn new(ledger: MessageLog, keys: KeyRing, limits: Limits) -> Gateway {
        Gateway {
            replays: replay::ReplayGuard::new(ledger.store().clone(), limits.seal_window),
            bodies: body_budget::BodyBudget::new(limits.max_body),
            ledger,
            keys,
            rate_limits: RateLimits::local(),
            upstream: upstream::client(Duration::from_secs(5).min(limits.upstream_timeout)),
            peers: peer::PeerClients::default(),
            limits,
            anchoring: checkpoints::Anchoring::default(),
            exchange: None,
        }
    }

    /// Receives the messages of this node's exchange services through `receiver`.
    pub fn receiving_exchange(
        mut self,
        receiver: std::sync::Arc<dyn exchange_service::ExchangeReceiver>,
    ) -> Gateway {
        self.exchange = Some(receiver);
        self
    }

    /// Counts the agreements' rate limits where every replica sharing `store` sees them.
    pub fn sharing_rate_limits(mut self, store: &Store) -> Gateway {
        self.rate_limits = RateLimits::for_store(store);
        self
    }
}
