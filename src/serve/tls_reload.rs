//! The systems' listener's certificate and key, read again every second: a replaced pair is
//! served to new connections within seconds, without a restart. A pair that does not load (half
//! written, or a key that is not the certificate's) is refused with a log line; the old one stays.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum_server::tls_rustls::RustlsConfig;
use rustls::ServerConfig;
use tokio::sync::watch;

use crate::gateway::systems_tls;

/// How often the files are read.
pub const POLL: Duration = Duration::from_secs(1);

/// The certificate and key files, and the bytes they held when last tried.
pub struct Files {
    pub cert: PathBuf,
    pub key: PathBuf,
    tried: (Vec<u8>, Vec<u8>),
}

impl Files {
    /// Reads both files and makes the listener's configuration of them.
    pub async fn load(cert: PathBuf, key: PathBuf) -> Result<(Files, Arc<ServerConfig>), String> {
        let pair = read(&cert, &key)?;
        let config = config(&pair).await.map_err(|e| {
            format!(
                "cannot use the TLS certificate {} with the key {}: {e}",
                cert.display(),
                key.display()
            )
        })?;
        Ok((
            Files {
                cert,
                key,
                tried: pair,
            },
            config,
        ))
    }
}

fn read(cert: &std::path::Path, key: &std::path::Path) -> Result<(Vec<u8>, Vec<u8>), String> {
    let one = |path: &std::path::Path| {
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    Ok((one(cert)?, one(key)?))
}

/// HTTP/1.1 only (an HTTP/2 connection could stay open beyond every bound), client
/// certificates asked for but optional.
async fn config((cert, key): &(Vec<u8>, Vec<u8>)) -> Result<Arc<ServerConfig>, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let loaded = RustlsConfig::from_pem(cert.clone(), key.clone())
        .await
        .map_err(|e| e.to_string())?;
    let mut served = (*loaded.get_inner()).clone();
    served.alpn_protocols = vec![b"http/1.1".to_vec()];
    systems_tls::server_config(&served)
}

/// Watches `files` until `stop`, reloading `served` with each new pair that loads.
pub fn spawn(
    mut files: Files,
    served: RustlsConfig,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                _ = tokio::time::sleep(POLL) => {}
            }
            let pair = match read(&files.cert, &files.key) {
                Ok(pair) => pair,
                // Mid-replacement a file may be briefly absent; the next read sees it.
                Err(_) => continue,
            };
            if pair == files.tried {
                continue;
            }
            match config(&pair).await {
                Ok(config) => {
                    served.reload_from_config(config);
                    tracing::info!(
                        "serving the new TLS certificate {} (key {}) to new connections",
                        files.cert.display(),
                        files.key.display()
                    );
                }
                Err(e) => tracing::warn!(
                    "refused the changed TLS certificate {} with the key {}: {e}; the previous \
                     pair keeps serving (a half-written file is tried again once it changes)",
                    files.cert.display(),
                    files.key.display()
                ),
            }
            files.tried = pair;
        }
    })
}
