//! `hromada sync suspend|resume|pin REF --why TEXT`: an operator's act on a running appliance's
//! GitOps loop, through `POST /api/sync/…` with the operator's token. Exit 0 once the appliance
//! recorded it, 1 with the appliance's reason otherwise.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::reconcile::control::ControlReport;

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Stop applying new revisions: the running one keeps serving, new ones are fetched and shown.
    Suspend(ActArgs),
    /// Follow the branch again (ends a suspension and a pin).
    Resume(ActArgs),
    /// Apply this tag or commit and stay on it; an empty REF (`""`) unpins.
    Pin {
        /// A tag of the remote or a commit id (at least 7 hex digits).
        #[arg(value_name = "REF")]
        reference: String,
        #[command(flatten)]
        act: ActArgs,
    },
}

#[derive(Debug, Args)]
pub struct ActArgs {
    /// Why: recorded with the operator's name and shown in the status.
    #[arg(long)]
    pub why: String,
    /// Base URL of the appliance, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "HROMADA_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// File holding the operator's bearer token (its SHA-256 is in serve's --operator-tokens).
    #[arg(long, env = "HROMADA_OPERATOR_TOKEN_FILE", value_name = "FILE")]
    pub token_file: PathBuf,
    /// For an https URL: the certificate the appliance serves, trusted when presented exactly.
    #[arg(long, env = "HROMADA_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
}

pub fn run(command: SyncCommand) -> ExitCode {
    let (act, args, reference) = match &command {
        SyncCommand::Suspend(args) => ("suspend", args, None),
        SyncCommand::Resume(args) => ("resume", args, None),
        SyncCommand::Pin { reference, act } => ("pin", act, Some(reference.as_str())),
    };
    match send(act, args, reference) {
        Ok(control) => {
            outln!("{}", describe(&control));
            ExitCode::SUCCESS
        }
        Err(message) => {
            errln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

fn send(act: &str, args: &ActArgs, reference: Option<&str>) -> Result<ControlReport, String> {
    let token = read_token(&args.token_file)?;
    let endpoint = format!("{}/api/sync/{act}", args.url.trim_end_matches('/'));
    let mut body = serde_json::json!({"why": args.why});
    if let Some(reference) = reference {
        body["ref"] = reference.into();
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        // A pin fetches from the remote before it answers.
        let mut client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(320));
        if let Some(cert) = args
            .tls_cert
            .as_deref()
            .filter(|_| endpoint.starts_with("https:"))
        {
            client = client.use_preconfigured_tls(super::pinned_tls::client_config(cert)?);
        }
        let client = client
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        let response = client
            .post(&endpoint)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                format!("cannot reach {endpoint}: {e}; is `hromada serve` running there?")
            })?;
        let status = response.status();
        let answer: serde_json::Value = response
            .json()
            .await
            .map_err(|e| format!("{endpoint} answered {status} without JSON ({e})"))?;
        if !status.is_success() {
            return Err(format!(
                "{endpoint} answered {status}: {}",
                answer["message"].as_str().unwrap_or("(no reason given)")
            ));
        }
        serde_json::from_value(answer["control"].clone())
            .map_err(|e| format!("{endpoint} did not answer with the node's state ({e})"))
    })
}

fn read_token(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the token file {}: {e}", path.display()))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(format!("the token file {} is empty", path.display()));
    }
    Ok(token.to_string())
}

/// One line: the node's state, by whom, since when and why.
pub fn describe(control: &ControlReport) -> String {
    let mut line = match (control.state.as_str(), &control.reference, &control.commit) {
        ("pinned", Some(reference), Some(commit)) => {
            format!("pinned to {reference} ({})", crate::identity::short(commit))
        }
        (state, _, _) => state.to_string(),
    };
    if let (Some(by), Some(since)) = (&control.by, control.since) {
        line.push_str(&format!(
            " by {by} since {}",
            since.format("%Y-%m-%d %H:%M:%S UTC")
        ));
    }
    if let Some(why) = &control.why {
        line.push_str(&format!(": {why}"));
    }
    line
}
