//! The listener for other gateway nodes: mutual TLS with this node's identity and the trust
//! anchors of the applied revision. It starts once a revision gives this node an identity (its
//! key must be in the keys folder) and reloads its TLS with each revision announced after, and
//! when the node's key file changes (a rotated identity is served without a restart).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use tokio::sync::watch;

use super::{Gateway, peer, peer_tls};
use crate::compile::Compiled;
use crate::compile::current::Revisions;
use crate::connections::ConnectionLimits;

/// Serves `app` (the gateway's `peer_router`, as `serve` composed it) from the first revision
/// that gives this node an identity, until `stopped` turns true (then `handle` drains the
/// connections).
pub async fn listen(
    gateway: Arc<Gateway>,
    app: Router,
    mut revisions: Revisions,
    bind: Option<SocketAddr>,
    limits: ConnectionLimits,
    handle: Handle<SocketAddr>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut config: Option<RustlsConfig> = None;
    let mut server = None;
    let mut latest: Option<Arc<Compiled>> = None;
    // The node's key file as last tried, so that a changed one is tried once.
    let mut key_tried: Option<Vec<u8>> = None;
    while !*stopped.borrow() {
        let compiled = tokio::select! {
            changed = stopped.changed() => {
                if changed.is_err() {
                    break;
                }
                continue;
            }
            compiled = revisions.next() => compiled,
            _ = tokio::time::sleep(KEY_RECHECK), if latest.is_some() => {
                let Some(compiled) = latest.clone() else { continue };
                let key = std::fs::read(gateway.keys.node_key_path(&compiled.node)).ok();
                if key.is_none() || key == key_tried {
                    continue;
                }
                key_tried = key;
                match (&config, tls_for(&gateway, &compiled)) {
                    (Some(config), Ok(server_config)) => {
                        config.reload_from_config(server_config);
                        tracing::info!(
                            "the key of node `{}` changed: other nodes now meet the new identity",
                            compiled.node
                        );
                    }
                    (Some(_), Err(e)) => tracing::warn!(
                        "the key of node `{}` changed but cannot be used: {e}; the previous \
                         identity keeps serving",
                        compiled.node
                    ),
                    (None, _) => {}
                }
                if config.is_some() {
                    continue;
                }
                compiled
            }
        };
        latest = Some(compiled.clone());
        key_tried = std::fs::read(gateway.keys.node_key_path(&compiled.node)).ok();
        match tls_for(&gateway, &compiled) {
            Ok(server_config) => match &config {
                Some(config) => config.reload_from_config(server_config),
                None => match address(&compiled, bind) {
                    Ok(address) => {
                        let made = RustlsConfig::from_config(server_config);
                        config = Some(made.clone());
                        let app = app.clone();
                        server = Some(tokio::spawn({
                            let handle = handle.clone();
                            async move {
                                if let Err(e) =
                                    peer_tls::serve_peer_bounded(address, made, app, handle, limits)
                                        .await
                                {
                                    tracing::error!("{e}");
                                }
                            }
                        }));
                        // Said once the socket is bound (a node told "listening" may call it
                        // at once); a bind that fails says so itself, above.
                        if let Some(bound) = handle.listening().await {
                            tracing::info!(
                                "listening for other gateway nodes on https://{bound} (mutual TLS)"
                            );
                        }
                    }
                    Err(e) => tracing::error!("{e}"),
                },
            },
            Err(e) if config.is_some() => tracing::warn!(
                "the identity of node `{}` in this revision cannot be used: {e}; the previous \
                 identity keeps serving other nodes",
                compiled.node
            ),
            Err(e) => tracing::warn!(
                "node `{}` does not accept calls from other gateway nodes: {e}",
                compiled.node
            ),
        }
    }
    if let Some(server) = server {
        let _ = server.await;
    }
}

/// How often the node's key file is read for a change.
const KEY_RECHECK: std::time::Duration = std::time::Duration::from_secs(2);

fn tls_for(gateway: &Gateway, compiled: &Compiled) -> Result<Arc<rustls::ServerConfig>, String> {
    let identity = peer::identity(gateway, compiled)?;
    peer_tls::server_config(&identity, &compiled.gateway.trust.anchors)
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
