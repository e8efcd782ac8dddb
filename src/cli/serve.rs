//! `hromada serve`: the appliance's command line. Every option is also an environment variable
//! `HROMADA_<NAME>`, so that containers and units configure it without a wrapper script.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::connections::ConnectionLimits;
use crate::gateway::{Limits, checkpoints};
use crate::reconcile::notify::Targets;
use crate::reconcile::notify::commit_status::{CommitStatus, Forge};
use crate::reconcile::notify::webhook::Webhook;
use crate::reconcile::pull::Remote;
use crate::registry::exchange::scan::ScannerAddress;
use crate::serve::Options;
use crate::workflow::outbox::SmtpSettings;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Spec root: the folder holding `spec/` and `policies/`; with --git, where the checkout is kept.
    #[arg(default_value = ".", env = "HROMADA_ROOT")]
    pub root: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "HROMADA_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Folder for the SQLite database and the snapshots of applied revisions.
    #[arg(long, env = "HROMADA_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// `sqlite://FILE` or `postgres://…`; a SQLite file in the data folder when absent.
    #[arg(long, env = "HROMADA_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The gateway node of the spec this process is; the portal's node when absent.
    #[arg(long, env = "HROMADA_NODE")]
    pub node: Option<String>,
    /// TLS certificate chain (PEM); serves HTTPS with --tls-key.
    #[arg(
        long,
        env = "HROMADA_TLS_CERT",
        requires = "tls_key",
        value_name = "FILE"
    )]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM) of --tls-cert.
    #[arg(
        long,
        env = "HROMADA_TLS_KEY",
        requires = "tls_cert",
        value_name = "FILE"
    )]
    pub tls_key: Option<PathBuf>,
    /// Folder of this node's private keys (`nodes/<node>.key`, `seals/<participant>.key`);
    /// ROOT/dev-keys, where `hromada keys dev` writes them, when absent.
    #[arg(long, env = "HROMADA_KEYS", value_name = "DIR")]
    pub keys: Option<PathBuf>,
    /// The portal's address as citizens' browsers reach it, e.g. `https://e.city.example`:
    /// the identity provider sends them back to URL/sign-in/callback. The listener's address
    /// when absent.
    #[arg(long, env = "HROMADA_PUBLIC_URL", value_name = "URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,
    /// Address the listener for other gateway nodes (mutual TLS) binds; the host and port of
    /// this node's `address` in the spec when absent.
    #[arg(long, env = "HROMADA_PEER_LISTEN", value_name = "ADDR")]
    pub peer_listen: Option<SocketAddr>,
    /// Largest request or response body the gateway carries, in bytes.
    #[arg(long, env = "HROMADA_MAX_BODY", default_value_t = Limits::default().max_body)]
    pub max_body: usize,
    /// How long a provider's system may take to answer, e.g. `30s`.
    #[arg(long, env = "HROMADA_UPSTREAM_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub upstream_timeout: Duration,
    /// Longest request target (path and query) the gateway takes, in bytes.
    #[arg(long, env = "HROMADA_MAX_URI", default_value_t = Limits::default().max_uri)]
    pub max_uri: usize,
    /// Largest total of a request's headers (names and values) the gateway takes, in bytes.
    #[arg(long, env = "HROMADA_MAX_HEADERS", default_value_t = Limits::default().max_headers)]
    pub max_headers: usize,
    /// How long a client may take to send a request's headers (also how long an idle
    /// keep-alive connection stays open, the TLS handshake, and how long an answer waits for a
    /// client that reads none of it), e.g. `10s`.
    #[arg(long, env = "HROMADA_HEADER_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_timeout: Duration,
    /// How long a client may take to send a request's body, e.g. `30s`.
    #[arg(long, env = "HROMADA_BODY_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub body_timeout: Duration,
    /// How far the seal time of a request from another gateway node may be from this node's
    /// clock; a sealed request is served once within it, e.g. `60s`.
    #[arg(long, env = "HROMADA_SEAL_WINDOW", default_value = "60s", value_parser = humantime::parse_duration)]
    pub seal_window: Duration,
    /// Connections each listener (systems', other nodes') keeps open at once; more are closed
    /// on arrival.
    #[arg(long, env = "HROMADA_MAX_CONNECTIONS", default_value_t = ConnectionLimits::default().max_connections)]
    pub max_connections: usize,
    /// Log format.
    #[arg(long, env = "HROMADA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Pull the spec from this Git remote into ROOT (cloned when ROOT is absent or empty).
    #[arg(long, env = "HROMADA_GIT", value_name = "URL", hide_env_values = true)]
    pub git: Option<String>,
    /// Branch of --git to follow.
    #[arg(long, env = "HROMADA_BRANCH", default_value = "main", requires = "git")]
    pub branch: String,
    /// How often to pull --git, e.g. `30s`, `5m`.
    #[arg(long, env = "HROMADA_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration, requires = "git")]
    pub interval: Duration,
    #[command(flatten)]
    pub log: Box<LogArgs>,
    /// File holding the bearer token of the read APIs (a data subject's records, operational
    /// records); without it they answer 503.
    #[arg(long, env = "HROMADA_API_TOKEN_FILE", value_name = "FILE")]
    pub api_token_file: Option<PathBuf>,
    #[command(flatten)]
    pub mail: MailArgs,
    /// ClamAV's daemon, which scans every file of a document received from another
    /// participant's registry: `host:port` or `unix:/path` of its socket. Without it received
    /// documents are not accepted (they wait, unhandled, until serve runs with it).
    #[arg(long, env = "HROMADA_CLAMD", value_name = "ADDRESS")]
    pub clamd: Option<ScannerAddress>,
    /// For integration tests only, and only in debug builds: the case engine reads its time from
    /// this file (one RFC 3339 time, read again on every use) instead of the system clock.
    #[cfg(debug_assertions)]
    #[arg(long, hide = true, value_name = "FILE")]
    pub clock_file: Option<PathBuf>,
    /// How often this replica records its applied revision and a heartbeat in the store, where
    /// `status` lists the node's replicas; one that misses three is shown as silent.
    #[arg(long, env = "HROMADA_HEARTBEAT_EVERY", default_value = "5s", value_parser = period)]
    pub heartbeat_every: Duration,
    /// Apply only commits signed by an SSH key of this file (git's allowed_signers format:
    /// `PRINCIPAL ssh-ed25519 KEY` a line). Kept outside the spec repository.
    #[arg(long, env = "HROMADA_GIT_ALLOWED_SIGNERS", value_name = "FILE")]
    pub git_allowed_signers: Option<PathBuf>,
    /// Apply only commits signed by an OpenPGP key of this file (armored public keys, as
    /// `gpg --armor --export` writes them). Kept outside the spec repository.
    #[arg(long, env = "HROMADA_GIT_TRUSTED_KEYS", value_name = "FILE")]
    pub git_trusted_keys: Option<PathBuf>,
    /// File holding the secret of the Git host's push webhook (`POST /api/hooks/git`): GitHub's
    /// HMAC key or GitLab's token. Without it the webhook answers 503 and polling alone pulls.
    #[arg(
        long,
        env = "HROMADA_GIT_WEBHOOK_SECRET_FILE",
        value_name = "FILE",
        requires = "git"
    )]
    pub git_webhook_secret_file: Option<PathBuf>,
    /// File of the operators who may suspend, resume and pin reconciling, one `name:SHA256-HEX`
    /// a line (the hex SHA-256 of their bearer token). Without it those acts answer 503.
    #[arg(long, env = "HROMADA_OPERATOR_TOKENS", value_name = "FILE")]
    pub operator_tokens: Option<PathBuf>,
    #[command(flatten)]
    pub notify: NotifyArgs,
}

/// Where the GitOps loop's transitions are told: a refused revision, a failing source, and the
/// recovery from either; and the commit statuses posted back to GitHub or GitLab.
#[derive(Debug, Args)]
pub struct NotifyArgs {
    /// Webhook that each notice is POSTed to as JSON (repeatable; the variable takes a
    /// comma-separated list).
    #[arg(
        long = "notify-webhook",
        env = "HROMADA_NOTIFY_WEBHOOKS",
        value_name = "URL",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub webhooks: Vec<String>,
    /// E-mail address each notice is sent to through --smtp (repeatable; the variable takes a
    /// comma-separated list).
    #[arg(
        long = "notify-email",
        env = "HROMADA_NOTIFY_EMAILS",
        value_name = "ADDRESS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub emails: Vec<String>,
    /// Post each applied or refused commit's status to this forge's commit-status API.
    #[arg(
        long,
        env = "HROMADA_COMMIT_STATUS",
        value_enum,
        requires_all = ["commit_status_repo", "commit_status_token_file"]
    )]
    pub commit_status: Option<Forge>,
    /// The forge's API root, e.g. `https://git.city.example/api/v4`; GitHub's or GitLab.com's
    /// public API when absent.
    #[arg(
        long,
        env = "HROMADA_COMMIT_STATUS_API",
        value_name = "URL",
        requires = "commit_status"
    )]
    pub commit_status_api: Option<String>,
    /// `OWNER/NAME` on GitHub; the project id or `GROUP/PROJECT` on GitLab.
    #[arg(
        long,
        env = "HROMADA_COMMIT_STATUS_REPO",
        value_name = "REPO",
        requires = "commit_status"
    )]
    pub commit_status_repo: Option<String>,
    /// File holding the token the commit statuses are posted with (read again at each post).
    #[arg(
        long,
        env = "HROMADA_COMMIT_STATUS_TOKEN_FILE",
        value_name = "FILE",
        requires = "commit_status"
    )]
    pub commit_status_token_file: Option<PathBuf>,
}

impl NotifyArgs {
    fn targets(&self) -> Result<Targets, String> {
        let webhooks = self
            .webhooks
            .iter()
            .filter(|w| !w.trim().is_empty())
            .map(|w| Webhook::parse(w))
            .collect::<Result<_, _>>()?;
        let emails = self
            .emails
            .iter()
            .filter(|a| !a.trim().is_empty())
            .enumerate()
            .map(|(n, a)| {
                a.trim().parse().map_err(|_| {
                    format!(
                        "--notify-email: address {} is not an e-mail address; write e.g. ops@city.gov.ua",
                        n + 1
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        let commit_status = match (
            self.commit_status,
            &self.commit_status_repo,
            &self.commit_status_token_file,
        ) {
            (Some(forge), Some(repo), Some(token)) => Some(CommitStatus::new(
                forge,
                self.commit_status_api.as_deref(),
                repo,
                token.clone(),
            )?),
            _ => None,
        };
        Ok(Targets {
            webhooks,
            emails,
            commit_status,
        })
    }
}

/// Where the case engine's e-mail goes; without --smtp it stays queued in the store.
#[derive(Debug, Args)]
pub struct MailArgs {
    /// SMTP server: `smtp://HOST:PORT` (STARTTLS, plain only to this machine) or
    /// `smtps://HOST:PORT` (TLS).
    #[arg(long, env = "HROMADA_SMTP", value_name = "URL", requires = "mail_from")]
    pub smtp: Option<String>,
    /// File with the SMTP user name on its first line and the password on its second.
    #[arg(
        long,
        env = "HROMADA_SMTP_CREDENTIALS",
        value_name = "FILE",
        requires = "smtp"
    )]
    pub smtp_credentials: Option<PathBuf>,
    /// A CA certificate (PEM) to trust for the SMTP server's certificate, besides the public
    /// ones: an internal relay's.
    #[arg(long, env = "HROMADA_SMTP_CA", value_name = "FILE", requires = "smtp")]
    pub smtp_ca: Option<PathBuf>,
    /// The address e-mail is sent from.
    #[arg(
        long,
        env = "HROMADA_MAIL_FROM",
        value_name = "ADDRESS",
        requires = "smtp"
    )]
    pub mail_from: Option<String>,
}

impl MailArgs {
    /// The SMTP server to deliver through, when one is configured.
    fn settings(&self) -> Result<Option<SmtpSettings>, String> {
        let (Some(url), Some(from)) = (&self.smtp, &self.mail_from) else {
            return Ok(None);
        };
        let mut smtp = SmtpSettings::parse(url, from)?;
        if let Some(path) = &self.smtp_credentials {
            smtp = smtp.with_credentials_file(path)?;
        }
        if let Some(path) = &self.smtp_ca {
            smtp = smtp.with_ca_file(path)?;
        }
        Ok(Some(smtp))
    }
}

/// How the message log is anchored and its bodies disposed of.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Sign this node's message log head at least this often (while records are written).
    #[arg(long, env = "HROMADA_CHECKPOINT_EVERY", default_value = "60s", value_parser = period)]
    pub checkpoint_every: Duration,
    /// …and after at most this many records of this node.
    #[arg(long, env = "HROMADA_CHECKPOINT_RECORDS", default_value_t = checkpoints::DEFAULT_RECORDS)]
    pub checkpoint_records: u64,
    /// How often message log bodies past the spec's `message-log` retention period are
    /// disposed of (their digests and the chain stay).
    #[arg(long, env = "HROMADA_DISPOSE_EVERY", default_value = "1h", value_parser = period)]
    pub dispose_every: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// An http(s) URL with a host and nothing after its path, without a trailing slash.
fn parse_public_url(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text).map_err(|e| format!("`{text}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return Err(format!(
            "`{text}` is not an http or https URL; write it as `https://host[:port]`"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(format!(
            "`{text}` has a query, fragment or user name; give the portal's address only"
        ));
    }
    Ok(text.trim_end_matches('/').to_string())
}

pub fn run(args: ServeArgs) -> ExitCode {
    init_logging(args.log_format);
    #[cfg(debug_assertions)]
    let clock_file = args.clock_file.clone();
    #[cfg(not(debug_assertions))]
    let clock_file = None;
    let smtp = match args.mail.settings() {
        Ok(smtp) => smtp,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(1);
        }
    };
    let notify = match args.notify.targets() {
        Ok(notify) => notify,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(1);
        }
    };
    let options = Options {
        remote: args.git.as_ref().map(|url| {
            Remote::new(
                url.clone(),
                args.branch.clone(),
                args.interval,
                args.root.clone(),
            )
        }),
        root: args.root.clone(),
        listen: args.listen,
        data_dir: args.data_dir,
        database_url: args.database_url,
        node: args.node,
        tls: args.tls_cert.zip(args.tls_key),
        keys: args.keys.unwrap_or_else(|| args.root.join("dev-keys")),
        peer_listen: args.peer_listen,
        public_url: args.public_url,
        limits: Limits {
            max_body: args.max_body,
            upstream_timeout: args.upstream_timeout,
            body_timeout: args.body_timeout,
            max_uri: args.max_uri,
            max_headers: args.max_headers,
            seal_window: args.seal_window,
        },
        connections: ConnectionLimits {
            max_connections: args.max_connections,
            header_timeout: args.header_timeout,
        },
        checkpoint_every: args.log.checkpoint_every,
        checkpoint_records: args.log.checkpoint_records,
        dispose_every: args.log.dispose_every,
        api_token_file: args.api_token_file,
        clock_file,
        smtp,
        clamd: args.clamd,
        heartbeat_every: args.heartbeat_every,
        git_allowed_signers: args.git_allowed_signers,
        git_trusted_keys: args.git_trusted_keys,
        notify,
        banner_in_log: args.log_format == LogFormat::Json,
        webhook_secret_file: args.git_webhook_secret_file,
        operator_tokens_file: args.operator_tokens,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            errln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(crate::serve::run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::from(1)
        }
    }
}

/// A duration a task repeats at: longer than zero.
fn period(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(period) if period.is_zero() => {
            Err("a task cannot repeat every 0s; give a period such as 60s or 1h".into())
        }
        Ok(period) => Ok(period),
        Err(e) => Err(e.to_string()),
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HROMADA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::Cli;

    #[test]
    fn a_period_of_zero_is_refused_where_it_is_given() {
        for flag in ["--checkpoint-every", "--dispose-every", "--heartbeat-every"] {
            let refused = Cli::try_parse_from(["hromada", "serve", ".", flag, "0s"]).unwrap_err();
            let message = refused.to_string();
            assert!(
                message.contains(flag) && message.contains("cannot repeat every 0s"),
                "{message}"
            );
            assert!(Cli::try_parse_from(["hromada", "serve", ".", flag, "5s"]).is_ok());
        }
    }
}
