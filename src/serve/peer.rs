//! The listener for other gateway nodes: mutual TLS with this node's identity and the trust
//! anchors of the applied revision. It starts once a revision gives this node an identity (its
//! key must be in the keys folder) and reloads when a later revision changes either.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::Router;
use axum::routing::any;
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use tokio::sync::watch;

use super::AppState;
use super::connections::ConnectionLimits;
use crate::compile::Compiled;
use crate::gateway::{peer, peer_tls};

/// How often the listener looks for a newly applied revision.
const POLL: Duration = Duration::from_millis(250);

/// Runs until `stopped` turns true (then `handle` drains the connections).
pub async fn listen(
    state: AppState,
    bind: Option<SocketAddr>,
    limits: ConnectionLimits,
    handle: Handle<SocketAddr>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut seen: Option<String> = None;
    let mut config: Option<RustlsConfig> = None;
    let mut server = None;
    while !*stopped.borrow() {
        if let Some(compiled) = state.shared.current.load_full()
            && seen.as_deref() != Some(compiled.revision.id.as_str())
        {
            seen = Some(compiled.revision.id.clone());
            match tls_for(&state, &compiled) {
                Ok(server_config) => match &config {
                    Some(config) => config.reload_from_config(server_config),
                    None => match address(&compiled, bind) {
                        Ok(address) => {
                            let made = RustlsConfig::from_config(server_config);
                            config = Some(made.clone());
                            let app = Router::new()
                                .route("/r1/{*rest}", any(peer::receive))
                                .layer(axum::middleware::from_fn(super::metrics::track))
                                .with_state(state.clone());
                            tracing::info!(
                                "listening for other gateway nodes on https://{address} (mutual TLS)"
                            );
                            let handle = handle.clone();
                            server = Some(tokio::spawn(async move {
                                if let Err(e) =
                                    peer_tls::serve_peer_bounded(address, made, app, handle, limits)
                                        .await
                                {
                                    tracing::error!("{e}");
                                }
                            }));
                        }
                        Err(e) => tracing::error!("{e}"),
                    },
                },
                Err(e) => tracing::warn!(
                    "node `{}` does not accept calls from other gateway nodes: {e}",
                    compiled.node
                ),
            }
        }
        tokio::select! {
            _ = stopped.changed() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
    }
    if let Some(server) = server {
        let _ = server.await;
    }
}

fn tls_for(
    state: &AppState,
    compiled: &Compiled,
) -> Result<std::sync::Arc<rustls::ServerConfig>, String> {
    let identity = peer::identity(&state.gateway, compiled)?;
    peer_tls::server_config(&identity, &compiled.trust.anchors)
}

/// `--peer-listen`, else the host and port of this node's address (any interface for a name).
fn address(compiled: &Compiled, bind: Option<SocketAddr>) -> Result<SocketAddr, String> {
    if let Some(bind) = bind {
        return Ok(bind);
    }
    let node = compiled
        .spec
        .system()
        .and_then(|s| s.nodes.iter().find(|n| n.id == compiled.node))
        .ok_or_else(|| format!("the spec declares no node `{}`", compiled.node))?;
    let url = url::Url::parse(&node.address).map_err(|e| {
        format!(
            "node `{}` has the address `{}`, which is not a URL ({e})",
            node.id, node.address
        )
    })?;
    let port = url.port_or_known_default().unwrap_or(443);
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    };
    Ok(SocketAddr::new(ip, port))
}
