//! `hromada serve`: one process that opens the store, reconciles the spec into the running
//! revision, and serves HTTP (plain or rustls) until SIGTERM or SIGINT, when it stops accepting,
//! lets in-flight requests finish, stops reconciling and closes the store.

pub mod acting;
pub mod cases;
pub mod hooks;
pub mod metrics;
pub mod notify_mail;
pub mod operators;
pub mod ops;
pub mod tls_reload;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use tokio::sync::{mpsc, watch};

use crate::connections::ConnectionLimits;
use crate::gateway::checkpoints::Tally;
use crate::gateway::keys::KeyRing;
use crate::gateway::message_log::MessageLog;
use crate::gateway::{self, Gateway, GatewayState, Limits, RunnerSettings, Runners};
use crate::reconcile::pull::Remote;
use crate::reconcile::{Reconciler, Settings, Shared};
use crate::store::Store;
use ops::OpsState;

/// How long in-flight requests may take to finish once shutdown begins.
const DRAIN: Duration = Duration::from_secs(30);

/// Everything `serve` needs, already parsed.
#[derive(Debug, Clone)]
pub struct Options {
    pub root: PathBuf,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub node: Option<String>,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub remote: Option<Remote>,
    /// Folder of this node's private keys.
    pub keys: PathBuf,
    /// Where the listener for other nodes binds; from the node's address when `None`.
    pub peer_listen: Option<SocketAddr>,
    /// The portal's address as browsers reach it; the listener's when `None`.
    pub public_url: Option<String>,
    pub limits: Limits,
    /// How often the message log's head is signed at the latest, and after how many records.
    pub checkpoint_every: Duration,
    pub checkpoint_records: u64,
    /// How often message log bodies due under the retention rules are disposed of.
    pub dispose_every: Duration,
    /// Bounds on the connections of both listeners.
    pub connections: ConnectionLimits,
    /// File holding the bearer token of the ledger's read API; the API answers 503 without one.
    pub api_token_file: Option<PathBuf>,
    /// Tests only (debug builds): the file the case engine's clock is read from.
    pub clock_file: Option<PathBuf>,
    /// The SMTP server the outbox delivers through; mail stays queued without one.
    pub smtp: Option<crate::workflow::outbox::SmtpSettings>,
    /// ClamAV's daemon that received documents' files are scanned by; without one they are not
    /// accepted.
    pub clamd: Option<crate::registry::exchange::scan::ScannerAddress>,
    /// How often this replica beats into the fleet's table in the store.
    pub heartbeat_every: Duration,
    /// Only commits signed by a key of these are applied: git's SSH allowed-signers file, and
    /// armored OpenPGP public keys. Neither: signatures are not checked.
    pub git_allowed_signers: Option<PathBuf>,
    pub git_trusted_keys: Option<PathBuf>,
    /// Where refused revisions, source failures and recoveries are notified, and where commit
    /// statuses are posted.
    pub notify: crate::reconcile::notify::Targets,
    /// The start-up banner goes to the log (JSON log mode) instead of stdout.
    pub banner_in_log: bool,
    /// The Git host's webhook secret (`POST /api/hooks/git`); the webhook answers 503 without.
    pub webhook_secret_file: Option<PathBuf>,
    /// Operators' `name:sha256-hex` token lines (`POST /api/sync/…`); 503 without.
    pub operator_tokens_file: Option<PathBuf>,
}

/// What the HTTP handlers share, one part per subsystem: each handler takes its own part
/// (`FromRef`), never the whole.
#[derive(Clone)]
pub struct AppState {
    pub ops: OpsState,
    pub gateway: GatewayState,
    pub cases: crate::workflow::api::CasesApi,
    pub portal: crate::portal::PortalState,
    pub acting: acting::ActingState,
}

impl FromRef<AppState> for acting::ActingState {
    fn from_ref(app: &AppState) -> Self {
        app.acting.clone()
    }
}

impl FromRef<AppState> for crate::portal::PortalState {
    fn from_ref(app: &AppState) -> Self {
        app.portal.clone()
    }
}

impl FromRef<AppState> for crate::workflow::api::CasesApi {
    fn from_ref(app: &AppState) -> Self {
        app.cases.clone()
    }
}

impl FromRef<AppState> for OpsState {
    fn from_ref(app: &AppState) -> OpsState {
        app.ops.clone()
    }
}

impl FromRef<AppState> for GatewayState {
    fn from_ref(app: &AppState) -> GatewayState {
        app.gateway.clone()
    }
}

/// The systems' listener: the operations endpoints and every subsystem's routes. This and
/// `peer_router` are the only places routers are composed.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/api/status", get(ops::status))
        .route("/api/hooks/git", post(hooks::git))
        .route("/api/sync/{act}", post(acting::act))
        .merge(gateway::router())
        .merge(crate::workflow::api::router())
        .merge(crate::portal::router())
        .merge(
            crate::registry::router().route_layer(axum::middleware::from_fn_with_state(
                state.portal.clone(),
                crate::registry::only_where_it_runs,
            )),
        )
        .fallback(ops::not_found)
        .layer(axum::middleware::from_fn(metrics::track))
        .with_state(state)
}

/// The listener for other gateway nodes, which the gateway's runners bind.
pub fn peer_router(state: AppState) -> Router {
    gateway::peer_router()
        .layer(axum::middleware::from_fn(metrics::track))
        .with_state(state)
}

/// Runs the appliance until it is told to stop. Errors are for the person starting it.
pub async fn run(options: Options) -> Result<(), String> {
    let mut shutdown = Shutdown::register()?;
    if options.connections.max_connections == 0 {
        return Err("--max-connections 0 would refuse every connection; give at least 1".into());
    }
    let api_token = options
        .api_token_file
        .as_deref()
        .map(read_api_token)
        .transpose()?;
    let webhook_secret = options
        .webhook_secret_file
        .as_deref()
        .map(hooks::read_secret)
        .transpose()?;
    let operators = options
        .operator_tokens_file
        .as_deref()
        .map(operators::Operators::load)
        .transpose()?
        .map(Arc::new);
    let prometheus = metrics::install()?;
    std::fs::create_dir_all(&options.data_dir).map_err(|e| {
        format!(
            "cannot create the data folder {}: {e}; pass a writable one with --data-dir",
            options.data_dir.display()
        )
    })?;
    let database_url = options
        .database_url
        .clone()
        .unwrap_or_else(|| Store::sqlite_url(&options.data_dir.join("hromada.db")));
    let store = Store::connect(&database_url)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(
        "store: {} (migrations applied)",
        Store::display_url(&database_url)
    );
    if options.smtp.is_none() {
        tracing::warn!(
            "e-mail is not configured: the case engine's mail stays queued in the store until \
             serve runs with --smtp and --mail-from"
        );
    }

    match &options.clamd {
        Some(address) => tracing::info!("virus scanner for received documents: clamd at {address}"),
        None => tracing::warn!(
            "no virus scanner is configured: documents other participants send are stored but \
             not accepted until serve runs with --clamd ADDRESS (host:port or unix:/path)"
        ),
    }

    if let Some(remote) = &options.remote {
        remote.check_folder().await?;
        ::metrics::counter!("hromada_source_fetch_failures_total").increment(0);
    } else if !options.root.is_dir() {
        return Err(format!(
            "the spec root {} is not a folder; pass the folder holding spec/ and policies/, or --git URL to pull one",
            options.root.display()
        ));
    }

    let verifier = crate::git::verify::Verifier::new(
        options.git_allowed_signers.clone(),
        options.git_trusted_keys.clone(),
        &options.data_dir,
    )?;
    match &verifier {
        Some(verifier) if options.remote.is_none() && crate::git::head(&options.root).is_none() => {
            return Err(format!(
                "{} verify commit signatures, and the spec root {} is not a Git checkout of a commit: \
                 serve a checkout, or pull one with --git URL",
                verifier.sources().join(" and "),
                options.root.display()
            ));
        }
        Some(verifier) => tracing::info!(
            "commit signatures: only commits signed by a key in {} are applied",
            verifier.sources().join(" or ")
        ),
        None if options.remote.is_some() => tracing::warn!(
            "commits pulled with --git are applied without checking their signatures: pass \
             --git-allowed-signers or --git-trusted-keys to require signed commits"
        ),
        None => {}
    }

    let source = match &options.remote {
        Some(remote) => format!(
            "git {} (branch {}, every {}) into {}",
            remote.display_url(),
            remote.branch,
            humantime::format_duration(remote.interval),
            options.root.display()
        ),
        None => format!("folder {}", options.root.display()),
    };
    let settings = Settings {
        root: options.root.clone(),
        data_dir: options.data_dir.clone(),
        node: options.node.clone(),
        source,
    };
    let node_key = settings.node_key().to_string();
    let mut reconciler = Reconciler::new(settings, store.clone())
        .pulling(options.remote.clone())
        .verifying(verifier);
    let shared = reconciler.shared();
    if !options.notify.is_empty() {
        tracing::info!("notifications: {}", describe_targets(&options.notify));
        shared.set_notifier(crate::reconcile::notify::Notifier::start(
            options.notify.clone(),
            options.smtp.clone().map(notify_mail::mailer),
            &node_key,
            &shared.instance,
            &shared.source,
        )?);
    }
    let tally = Arc::new(Tally::new(options.checkpoint_records));
    let ledger = MessageLog::new(store.clone()).counting(tally.clone());
    let gateway = Arc::new(
        Gateway::new(ledger, KeyRing::new(options.keys.clone()), options.limits)
            .sharing_rate_limits(&store)
            .receiving_exchange(Arc::new(crate::registry::exchange::post::SevReceiver::new(
                store.clone(),
            ))),
    );
    let current = shared.clone();
    let portal_current = shared.clone();
    let portal_registries = Arc::new(crate::gateway::in_process::InProcess::new(
        gateway.clone(),
        Arc::new(move || portal_current.current.load_full()),
    ));
    let cases = cases::api(
        &store,
        cases::clock(&options)?,
        Arc::new(crate::workflow::registries::GatewayRegistries::new(
            crate::gateway::in_process::InProcess::new(
                gateway.clone(),
                Arc::new(move || current.current.load_full()),
            ),
        )),
        api_token.clone(),
    );
    let portal_settings = Arc::new(crate::portal::PortalSettings {
        secure_cookies: options.tls.is_some()
            || options
                .public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://")),
        public_url: std::sync::OnceLock::new(),
    });
    if let Some(url) = &options.public_url {
        let _ = portal_settings.public_url.set(url.clone());
    }
    let node_arc: Arc<str> = node_key.as_str().into();
    let (triggers, trigger_rx) = mpsc::unbounded_channel();
    let state = AppState {
        acting: acting::ActingState {
            shared: shared.clone(),
            store: store.clone(),
            node_key: node_arc.clone(),
            remote: options.remote.clone(),
            webhook_secret,
            operators,
            triggers: triggers.clone(),
        },
        ops: OpsState {
            shared: shared.clone(),
            store: store.clone(),
            prometheus,
            node_key: node_arc,
        },
        gateway: GatewayState {
            gateway,
            current: shared.current.clone(),
            api_token,
        },
        portal: crate::portal::PortalState {
            current: shared.current.clone(),
            store: store.clone(),
            engine: cases.engine().clone(),
            registries: portal_registries,
            pages: Arc::new(crate::portal::pages::Pages::with(
                crate::registry::pages::TEMPLATES,
            )?),
            settings: portal_settings.clone(),
            sign_in: Arc::new(crate::portal::sign_in::relying_party::RelyingParty::new(
                &options.keys,
            )?),
            digests: Arc::new(crate::portal::digests::Digests::load_or_create(
                &options.keys,
            )),
            statistics: Arc::default(),
            payments: Arc::new(crate::portal::payments::Providers::new(&options.keys)),
        },
        cases,
    };
    let app = router(state.clone());
    let (stop, stopped) = watch::channel(false);

    let handle: Handle<SocketAddr> = Handle::new();
    let server = spawn_server(&options, app, handle.clone(), stopped.clone()).await?;
    let Some(address) = handle.listening().await else {
        return Err(server
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r)
            .err()
            .unwrap_or_else(|| format!("cannot listen on {}", options.listen)));
    };
    let scheme = if options.tls.is_some() {
        "https"
    } else {
        "http"
    };
    if portal_settings.public_url.get().is_none() {
        let _ = portal_settings
            .public_url
            .set(format!("{scheme}://{address}"));
        if address.ip().is_unspecified() {
            tracing::warn!(
                "the portal's public URL is {scheme}://{address}, which no browser can reach: \
                 pass --public-url with the address citizens use, or sign-in cannot come back"
            );
        }
    }
    if let Some(url) = portal_settings.public_url.get() {
        state.portal.engine.set_public_url(url);
    }
    if options.banner_in_log {
        tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            url = %format!("{scheme}://{address}"),
            "hromada {} listening on {scheme}://{address}; /healthz /readyz /metrics /api/status",
            env!("CARGO_PKG_VERSION")
        );
    } else {
        // Through `output`, so that `hromada serve | head -1` does not panic the process.
        crate::output::stdout(format_args!(
            "hromada {} listening on {scheme}://{address}\n  {scheme}://{address}/healthz  \
             {scheme}://{address}/readyz  {scheme}://{address}/metrics  {scheme}://{address}/api/status\n",
            env!("CARGO_PKG_VERSION")
        ));
    }

    if let Some(remote) = &options.remote {
        let (target, _) = shared.control.refresh().await;
        match remote.sync(&target).await {
            Ok(synced) => {
                shared.control.set_fetched(&synced.fetched);
                tracing::info!(
                    "checked out {} of {} (branch {}) into {}",
                    crate::identity::short(&synced.checkout),
                    remote.display_url(),
                    remote.branch,
                    remote.checkout.display()
                );
                shared.fetched(Ok(()));
            }
            Err(e) => {
                tracing::error!("{e}; serving what the checkout or the last snapshot holds");
                shared.fetched(Err(e));
            }
        }
    }

    let _watcher =
        match crate::reconcile::watch::watch(&options.root, &options.data_dir, triggers.clone()) {
            Ok(watcher) => {
                tracing::info!("watching {} for changes", options.root.display());
                Some(watcher)
            }
            Err(e) => {
                tracing::error!(
                    "cannot watch {} for changes: {e}; changes are picked up by Git pulls only",
                    options.root.display()
                );
                None
            }
        };
    reconciler.start().await;
    // Whatever changed while the first reconcile read the folder is picked up now.
    let _ = triggers.send(());
    if let Some(remote) = options.remote.clone() {
        tokio::spawn(forward_pulls(remote, triggers.clone(), shared.clone()));
    }
    let control =
        crate::reconcile::control::spawn(shared.control.clone(), triggers.clone(), stopped.clone());
    let reconciling = tokio::spawn(reconciler.run(trigger_rx, stopped.clone()));
    let heartbeats = crate::reconcile::fleet::spawn(
        shared.clone(),
        store.clone(),
        node_key.clone(),
        options.heartbeat_every,
        stopped.clone(),
    );
    let engine = cases::spawn(&state.cases, &options, &store, &shared, &stopped);
    let procedures = crate::portal::procedure_since::spawn(
        shared.current.clone(),
        store.clone(),
        stopped.clone(),
    );
    let drafts = crate::portal::forms::retention::spawn(
        store.clone(),
        state.portal.engine.clock().clone(),
        stopped.clone(),
    );

    let views = crate::portal::statistics::views::spawn(
        state.portal.statistics.clone(),
        store.clone(),
        stopped.clone(),
    );
    let deliveries = crate::portal::delivery::spawn(
        crate::portal::delivery::Deliverer {
            current: shared.current.clone(),
            store: store.clone(),
            gateway: state.portal.registries.clone(),
            clock: state.portal.engine.clock().clone(),
            holder: uuid::Uuid::now_v7().to_string(),
        },
        stopped.clone(),
    );
    let notices = crate::portal::notices::spawn(
        shared.current.clone(),
        store.clone(),
        portal_settings.clone(),
        state.portal.engine.clock().clone(),
        stopped.clone(),
    );
    let portal_sweep = tokio::spawn(crate::portal::registration::sweep(
        state.portal.engine.clone(),
        stopped.clone(),
    ));
    let indexer = crate::registry::search::indexer::spawn(store.clone(), stopped.clone());
    let not_received = crate::registry::exchange::send::not_received::spawn(
        shared.current.clone(),
        store.clone(),
        state.portal.engine.clock().clone(),
        stopped.clone(),
    );
    let exchange_post = crate::registry::exchange::post::spawn(
        crate::registry::exchange::post::Poster {
            current: shared.current.clone(),
            store: store.clone(),
            gateway: state.portal.registries.clone(),
            holder: uuid::Uuid::now_v7().to_string(),
            recipient: Some(exchange_recipient(
                &store,
                &shared.current,
                options.clamd.as_ref(),
            )),
        },
        stopped.clone(),
    );
    let gateway_runners = Runners::spawn(
        &state.gateway,
        peer_router(state.clone()),
        RunnerSettings {
            checkpoint_every: options.checkpoint_every,
            tally,
            dispose_every: options.dispose_every,
            peer_listen: options.peer_listen,
            connections: options.connections,
        },
        stopped,
    );

    shutdown.wait().await;
    shared
        .stopping
        .store(true, std::sync::atomic::Ordering::Relaxed);
    tracing::info!(
        "shutting down: no new connections; in-flight requests have {}s to finish",
        DRAIN.as_secs()
    );
    handle.graceful_shutdown(Some(DRAIN));
    gateway_runners.drain(DRAIN);
    let _ = stop.send(true);
    let _ = reconciling.await;
    let _ = heartbeats.await;
    let _ = control.await;
    engine.stop().await;
    let _ = procedures.await;
    let _ = drafts.await;
    let _ = portal_sweep.await;
    let _ = views.await;
    let _ = deliveries.await;
    let _ = notices.await;
    let _ = indexer.await;
    let _ = not_received.await;
    let _ = exchange_post.await;
    let served = server.await.map_err(|e| e.to_string()).and_then(|r| r);
    // The records written since the last checkpoint are signed before the node stops.
    gateway_runners.finish().await;
    store.close().await;
    tracing::info!("stopped");
    served
}

/// The notification targets as the log may name them: counts and kinds, no address or URL.
fn describe_targets(targets: &crate::reconcile::notify::Targets) -> String {
    let mut parts = Vec::new();
    if !targets.webhooks.is_empty() {
        parts.push(format!("{} webhook(s)", targets.webhooks.len()));
    }
    if !targets.emails.is_empty() {
        parts.push(format!("{} e-mail address(es)", targets.emails.len()));
    }
    if let Some(status) = &targets.commit_status {
        parts.push(format!("{status:?}"));
    }
    parts.join(", ")
}

/// What handles the messages other participants' registries send this node's: the registry's
/// receiving of documents (scanned by `clamd`, when given) and its sending side's notices.
fn exchange_recipient(
    store: &Store,
    current: &crate::compile::current::Current,
    clamd: Option<&crate::registry::exchange::scan::ScannerAddress>,
) -> Arc<dyn crate::registry::exchange::post::Recipient> {
    use crate::registry::exchange::{receive::Receiver, recipient::Exchange, scan::Scanner};
    Arc::new(Exchange {
        receiver: Receiver {
            store: store.clone(),
            current: current.clone(),
            scanner: clamd.cloned().map(Scanner::new),
        },
    })
}

/// The API token in `path`: its text without surrounding whitespace, never empty.
fn read_api_token(path: &std::path::Path) -> Result<Arc<str>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read the API token file {}: {e}; pass a readable file with --api-token-file",
            path.display()
        )
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(format!(
            "the API token file {} is empty: write a long random token into it (for example \
             `openssl rand -hex 32 > {}`)",
            path.display(),
            path.display()
        ));
    }
    Ok(token.into())
}

type ServerTask = tokio::task::JoinHandle<Result<(), String>>;

/// The systems' listener speaks HTTP/1.1 only (as X-Road's information systems do): its
/// header deadline also bounds idle connections, which HTTP/2 would keep open without limit.
async fn spawn_server(
    options: &Options,
    app: Router,
    handle: Handle<SocketAddr>,
    stopped: watch::Receiver<bool>,
) -> Result<ServerTask, String> {
    let listen = options.listen;
    let limits = options.connections;
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    match &options.tls {
        None => Ok(tokio::spawn(async move {
            limits
                .apply(axum_server::bind(listen).http1_only(), "systems")
                .handle(handle)
                .serve(service)
                .await
                .map_err(|e| format!("cannot serve on {listen}: {e}"))
        })),
        Some((cert, key)) => {
            let (files, config) = tls_reload::Files::load(cert.clone(), key.clone()).await?;
            let config = RustlsConfig::from_config(config);
            tls_reload::spawn(files, config.clone(), stopped);
            Ok(tokio::spawn(async move {
                let server = axum_server::bind_rustls(listen, config)
                    .http1_only()
                    .map(|tls| tls.handshake_timeout(limits.header_timeout));
                limits
                    .apply(server, "systems")
                    .handle(handle)
                    .serve(service)
                    .await
                    .map_err(|e| format!("cannot serve on {listen}: {e}"))
            }))
        }
    }
}

/// Pulls the remote on its interval; a pull that succeeds triggers a reconcile (the watcher
/// would too, but a pull that changes nothing on disk still clears an earlier pull error).
async fn forward_pulls(remote: Remote, triggers: mpsc::UnboundedSender<()>, shared: Arc<Shared>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(remote.poll(shared.control.clone(), tx));
    while let Some(result) = rx.recv().await {
        match result {
            Ok(_) => {
                shared.fetched(Ok(()));
                if triggers.send(()).is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!("{e}; the applied revision keeps serving");
                shared.fetched(Err(e));
            }
        }
    }
}

/// SIGTERM and SIGINT, registered at start-up so that a signal during a slow start is a clean
/// stop once the start is done, never the default abrupt exit.
struct Shutdown {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl Shutdown {
    fn register() -> Result<Shutdown, String> {
        use tokio::signal::unix::{SignalKind, signal};
        let listen = |kind: SignalKind, name: &str| {
            signal(kind).map_err(|e| format!("cannot listen for {name}: {e}"))
        };
        Ok(Shutdown {
            terminate: listen(SignalKind::terminate(), "SIGTERM")?,
            interrupt: listen(SignalKind::interrupt(), "SIGINT")?,
        })
    }

    async fn wait(&mut self) {
        tokio::select! {
            _ = self.terminate.recv() => {},
            _ = self.interrupt.recv() => {},
        }
    }
}
