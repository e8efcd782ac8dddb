//! `hromada status --url URL`: what a running appliance reports at `/api/status`, for a person
//! (or as JSON), with its fleet of replicas. Exit 0 in sync (it serves the source's head), 2
//! degraded (head refused, source or store failing, nothing served), 1 cannot reach it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::identity::short;
use crate::reconcile::fleet::Replica;
use crate::reconcile::status::{Attempt, StatusReport};

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Base URL of the appliance, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "HROMADA_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Print the JSON of /api/status instead.
    #[arg(long)]
    pub json: bool,
    /// For an https URL: the certificate the appliance serves (`serve --tls-cert`), trusted
    /// when the appliance presents exactly it; without it the system's roots are used.
    #[arg(long, env = "HROMADA_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// For an https URL: the CA certificate(s) (PEM) that issued the appliance's certificate,
    /// trusted instead of the system's roots: a private CA's.
    #[arg(long, env = "SSL_CERT_FILE", value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Exit 0 when the appliance is ready (it serves a revision and its store answers) even if
    /// it is not in sync, else 1: a container health check, where a refused head or an
    /// unreachable Git remote is no reason to restart it.
    #[arg(long)]
    pub ready: bool,
}

/// Exit code when the appliance cannot be reached or does not answer with a status.
const UNREACHABLE: u8 = 1;
/// Exit code when it answers but is not in sync.
const DEGRADED: u8 = 2;

pub fn run(args: StatusArgs) -> ExitCode {
    match fetch_trusting(&args.url, args.tls_cert.as_deref(), args.cacert.as_deref()) {
        Ok((report, raw)) => {
            if args.json {
                outln!("{raw}");
            } else {
                out!("{}", human(&report));
            }
            if args.ready {
                return if report.ready {
                    ExitCode::SUCCESS
                } else {
                    errln!("not ready: {}", report.degraded().join("; "));
                    ExitCode::from(UNREACHABLE)
                };
            }
            let degraded = report.degraded();
            if degraded.is_empty() {
                ExitCode::SUCCESS
            } else {
                if !args.json {
                    for why in degraded {
                        errln!("degraded: {why}");
                    }
                }
                ExitCode::from(DEGRADED)
            }
        }
        Err(message) => {
            errln!("error: {message}");
            ExitCode::from(UNREACHABLE)
        }
    }
}

/// Reads `/api/status` of the appliance at `url`, trusting its TLS certificate when it is the
/// one in the file `tls_cert`, or when a CA in the file `cacert` issued it
/// (`pinned_tls::server_trust`).
pub fn fetch_trusting(
    url: &str,
    tls_cert: Option<&Path>,
    cacert: Option<&Path>,
) -> Result<(StatusReport, String), String> {
    let endpoint = format!("{}/api/status", url.trim_end_matches('/'));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        let mut client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10));
        if endpoint.starts_with("https:")
            && let Some(tls) = super::pinned_tls::server_trust(tls_cert, cacert)?
        {
            client = client.use_preconfigured_tls(tls);
        }
        let client = client
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        let response = client.get(&endpoint).send().await.map_err(|e| {
            format!("cannot reach {endpoint}: {e}; is `hromada serve` running there?")
        })?;
        if !response.status().is_success() {
            return Err(format!("{endpoint} answered {}", response.status()));
        }
        let raw = response
            .text()
            .await
            .map_err(|e| format!("cannot read the answer of {endpoint}: {e}"))?;
        let report = serde_json::from_str(&raw).map_err(|e| {
            format!("{endpoint} did not answer with a hromada status ({e}); is the URL right?")
        })?;
        Ok((report, raw))
    })
}

fn human(report: &StatusReport) -> String {
    let mut out = String::new();
    let node = report.node.as_deref().unwrap_or("(none yet)");
    out.push_str(&format!(
        "node      {node}   instance {}\n",
        report.instance
    ));
    out.push_str(&format!("source    {}\n", report.source));
    if let Some(head) = &report.source_head {
        out.push_str(&format!("head      {head}\n"));
    }
    if let Some(error) = &report.store_error {
        out.push_str(&format!("store     failing: {error}\n"));
    }
    match &report.applied {
        Some(applied) => out.push_str(&format!(
            "applied   {} at {}{}\n",
            applied.revision,
            applied.applied_at.format("%Y-%m-%d %H:%M:%S UTC"),
            if applied.restored {
                "  (restored from its snapshot: the spec folder was invalid at start-up)"
            } else {
                ""
            }
        )),
        None => {
            out.push_str("applied   nothing: no valid revision yet; the appliance is not ready\n")
        }
    }
    if let Some(error) = &report.source_error {
        out.push_str(&format!("source error  {error}\n"));
    }
    out.push_str(&trust(report));
    if let Some(attempt) = &report.last_attempt {
        out.push_str(&format!("last      {}\n", line(attempt)));
        if let Some(message) = &attempt.message {
            out.push_str(&format!("          {message}\n"));
        }
        for d in attempt
            .diagnostics
            .iter()
            .filter(|d| d["severity"] == "error")
        {
            let place = crate::reconcile::status::place(d).unwrap_or_else(|| "(tree)".into());
            out.push_str(&format!(
                "          error[{}] {place}: {}\n",
                d["code"].as_str().unwrap_or_default(),
                d["summary"].as_str().unwrap_or_default()
            ));
        }
    }
    if !report.replicas.is_empty() {
        out.push_str("replicas\n");
        for replica in &report.replicas {
            out.push_str(&format!("  {}\n", replica_line(replica, &report.instance)));
        }
    }
    if let Some(error) = &report.replicas_error {
        out.push_str(&format!("replicas  unavailable: {error}\n"));
    }
    // Following with no act ever recorded is the default, not worth a line.
    if let Some(control) = report.control.as_ref().filter(|c| c.by.is_some()) {
        out.push_str(&format!("control   {}\n", super::sync::describe(control)));
        if control.state != "following"
            && let Some(fetched) = &control.fetched
            && report
                .applied
                .as_ref()
                .is_none_or(|a| &a.revision != fetched)
        {
            out.push_str(&format!(
                "          fetched {} is not applied\n",
                short(fetched)
            ));
        }
    }
    if let Some(error) = &report.control_error {
        out.push_str(&format!("control   unavailable: {error}\n"));
    }
    if !report.acts.is_empty() {
        out.push_str("acts (newest first)\n");
        for act in &report.acts {
            out.push_str(&format!(
                "  {:<8} {:<12} {}  {}{}: {}\n",
                act.act.as_str(),
                act.actor,
                act.acted_at.format("%Y-%m-%d %H:%M:%S"),
                act.instance,
                act.reference
                    .as_deref()
                    .map(|r| format!("  {r}"))
                    .unwrap_or_default(),
                act.why
            ));
        }
    }
    if let Some(error) = &report.history_error {
        out.push_str(&format!("history   unavailable: {error}\n"));
    }
    if !report.history.is_empty() {
        out.push_str("history (newest first)\n");
        for attempt in &report.history {
            out.push_str(&format!("  {}\n", line(attempt)));
        }
    }
    out
}

/// Whose keys signed the applied and the last attempted revision, and the latest hand edit of
/// the checkout, when the appliance reports them.
fn trust(report: &StatusReport) -> String {
    let mut out = String::new();
    if let Some(signatures) = &report.signatures {
        let signer = |s: &Option<crate::git::verify::Signature>| {
            s.as_ref()
                .map(|s| format!("{} by {}", short(&s.revision), s.signer()))
                .unwrap_or_else(|| "(not checked: restored from its snapshot)".into())
        };
        if report.applied.is_some() {
            out.push_str(&format!(
                "signed    {}  (trusted keys: {})\n",
                signer(&signatures.applied),
                signatures.keys.join(", ")
            ));
        }
        if let Some(last) = signatures.last_attempt.as_ref().filter(|s| !s.is_trusted()) {
            out.push_str(&format!(
                "          last attempt {} {}: {}\n",
                short(&last.revision),
                last.signer(),
                last.reason.as_deref().unwrap_or("not trusted")
            ));
        }
    }
    if let Some(drift) = &report.drift {
        out.push_str(&format!(
            "drift     {} hand edit(s) of the checkout reset; the latest at {} to {}: {}{}\n",
            drift.count,
            drift.detected_at.format("%Y-%m-%d %H:%M:%S UTC"),
            short(&drift.reset_to),
            if drift.files.is_empty() {
                "HEAD moved".to_string()
            } else {
                drift.files.join(", ")
            },
            if drift.more_files > 0 {
                format!(" and {} more", drift.more_files)
            } else {
                String::new()
            }
        ));
    }
    out
}

fn line(attempt: &Attempt) -> String {
    format!(
        "{:<9} {:<20} {}  {} ms  {} error(s), {} warning(s)",
        attempt.outcome,
        short(&attempt.revision),
        attempt.finished_at.format("%Y-%m-%d %H:%M:%S"),
        attempt.duration_ms,
        attempt.errors,
        attempt.warnings
    )
}

fn replica_line(replica: &Replica, this: &str) -> String {
    let revision = replica.revision.as_deref().map_or("(none)", short);
    let state = match (&replica.lag, replica.lagging_since) {
        (Some(lag), Some(since)) => format!(
            "LAGGING since {}: {lag}",
            since.format("%Y-%m-%d %H:%M:%S UTC")
        ),
        (Some(lag), None) => format!("LAGGING: {lag}"),
        _ => "in sync".to_string(),
    };
    format!(
        "{:<24} {:<20} heartbeat {:>4} s ago  {state}{}",
        replica.instance,
        revision,
        replica.heartbeat_age_seconds,
        if replica.instance == this {
            "  (this one)"
        } else {
            ""
        }
    )
}
