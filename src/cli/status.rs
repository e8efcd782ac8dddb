//! `hromada status --url URL`: what a running appliance reports at `/api/status`, for a person
//! (or as JSON). Exit 0 when the appliance serves a revision, 1 when it serves none or cannot be
//! reached, so that it doubles as a container health check.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::identity::short;
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
}

pub fn run(args: StatusArgs) -> ExitCode {
    match fetch_pinned(&args.url, args.tls_cert.as_deref()) {
        Ok((report, raw)) => {
            if args.json {
                outln!("{raw}");
            } else {
                out!("{}", human(&report));
            }
            if report.ready {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(message) => {
            errln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

/// Reads `/api/status` of the appliance at `url`.
pub fn fetch(url: &str) -> Result<(StatusReport, String), String> {
    fetch_pinned(url, None)
}

/// Reads `/api/status` of the appliance at `url`, trusting its TLS certificate when it is the
/// one in the file `tls_cert`.
pub fn fetch_pinned(url: &str, tls_cert: Option<&Path>) -> Result<(StatusReport, String), String> {
    let endpoint = format!("{}/api/status", url.trim_end_matches('/'));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        let mut client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10));
        if let Some(cert) = tls_cert.filter(|_| endpoint.starts_with("https:")) {
            client = client.use_preconfigured_tls(super::pinned_tls::client_config(cert)?);
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
