//! `hromada audit`: checks the message log's hash chains against their signed checkpoints and
//! other nodes' copies, and the case history's chain (`verify`), and seals one transaction's
//! records for a third party (`export`). Opens the same store `serve` does; exit 0 when all is
//! well, 1 when a chain is broken, 2 when the check itself could not run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::gateway::audit::{self, Anchors, ExportRequest, NodeReport, Report};
use crate::gateway::{anchor, disposal};
use crate::store::{Actuation, Store};
use crate::workflow::history::HistoryReport;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the message log's hash chains, hold them to their signed checkpoints and name the
    /// first record altered, removed, reordered, recomputed or cut off. Exit 0 when intact, 1
    /// when not, 2 when the check could not run.
    Verify(VerifyArgs),
    /// Write one transaction's message log records as CMS SignedData (DER), sealed by the
    /// participant on the records' side, for `openssl cms -verify`.
    Export(ExportArgs),
}

/// Where the store is: the same options and defaults as `serve`.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The appliance's data folder; its SQLite database is `hromada.db` there.
    #[arg(long, env = "HROMADA_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// `sqlite://FILE` or `postgres://…`; the SQLite file in the data folder when absent.
    #[arg(long, env = "HROMADA_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Spec root the nodes ran: the checkpoints' signatures are checked against its node
    /// certificates (not checked, and said so, without it), and bodies disposed of sooner than
    /// its `message-log` retention rule keeps them are named.
    pub root: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Only this gateway node's chain.
    #[arg(long)]
    pub node: Option<String>,
    /// Another node's store, `NODE=DATABASE_URL` (repeatable): its copies of this store's
    /// checkpoints, countersigned when they arrived, are held against the chain too.
    #[arg(long, value_name = "NODE=URL", value_parser = peer_store)]
    pub peer: Vec<(String, String)>,
}

fn peer_store(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((node, url)) if !node.is_empty() && !url.is_empty() => {
            Ok((node.to_string(), url.to_string()))
        }
        _ => {
            Err("expected NODE=DATABASE_URL, e.g. gw-b=sqlite:///var/lib/hromada/hromada.db".into())
        }
    }
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The message id (`X-Road-Id`) of the transaction.
    pub message_id: String,
    /// Spec root: the folder holding `spec/`, whose participants' seals sign.
    #[arg(default_value = ".")]
    pub root: PathBuf,
    /// Folder holding `seals/<participant>.key` [default: ROOT/dev-keys].
    #[arg(long, value_name = "DIR")]
    pub keys: Option<PathBuf>,
    /// File to write [default: message-<ID>.p7m in the current folder].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Only the record of this gateway node (when several nodes logged the message).
    #[arg(long)]
    pub node: Option<String>,
    /// Only the exchange with this request id (the `X-Road-Request-Id` the gateway answered
    /// with), when a client used one message id for several exchanges.
    #[arg(long, value_name = "ID")]
    pub request_id: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub fn run(command: AuditCommand) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            errln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match command {
            AuditCommand::Verify(args) => verify(args).await,
            AuditCommand::Export(args) => export(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(message) => {
            errln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// Opens the store without creating one: a missing SQLite file is an error, not a new database.
async fn open(args: &StoreArgs) -> Result<Store, String> {
    let url = match &args.database_url {
        Some(url) => url.clone(),
        None => {
            let file = args.data_dir.join("hromada.db");
            if !file.is_file() {
                return Err(format!(
                    "there is no store at {}: pass the data folder of the appliance with \
                     --data-dir, or its database with --database-url",
                    file.display()
                ));
            }
            Store::sqlite_url(&file)
        }
    };
    Store::connect(&url).await.map_err(|e| e.to_string())
}

async fn verify(args: VerifyArgs) -> Result<ExitCode, String> {
    let keys = match &args.root {
        Some(root) => anchor::node_keys(root),
        None => Err("pass the spec root the nodes ran (the folder holding `spec/`)".to_string()),
    };
    let mut peers = Vec::new();
    for (node, url) in &args.peer {
        let store = Store::connect(url)
            .await
            .map_err(|e| format!("cannot open the store of node {node}: {e}"))?;
        peers.push((node.clone(), store));
    }
    let store = open(&args.store).await?;
    let anchors = Anchors {
        keys: keys.as_ref().ok(),
        peers: peers
            .iter()
            .map(|(node, store)| (node.clone(), store))
            .collect(),
    };
    let retention = args
        .root
        .as_deref()
        .map(|root| Actuation::from_spec(&crate::spec::load(root).spec).retention)
        .unwrap_or_default();
    let keep_bodies = disposal::kept_for(&retention).map(|(kept, rule)| (kept, rule.clone()));
    let report =
        audit::verify_retained(&store, args.node.as_deref(), &anchors, keep_bodies.as_ref()).await;
    let cases = crate::workflow::history::verify(&store).await;
    store.close().await;
    for (_, peer) in &peers {
        peer.close().await;
    }
    let report = report.map_err(|e| e.to_string())?;
    if let Err(e) = &keys {
        errln!("warning: checkpoint signatures are not checked: {e}");
    }
    let cases = cases.map_err(|e| e.to_string())?;
    out!("{}", human(&report));
    out!("{}", human_cases(&cases));
    Ok(if report.intact() && cases.intact() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn human(report: &Report) -> String {
    let mut out = String::new();
    if report.nodes.is_empty() {
        out.push_str("the message log is empty: nothing to verify\n");
        return out;
    }
    for node in &report.nodes {
        match &node.problem {
            None => out.push_str(&format!(
                "node {}: {} records, chain intact{}\n",
                node.node,
                node.records,
                anchored(node)
            )),
            Some(problem) => out.push_str(&format!(
                "node {}: {problem} ({} records verified before it)\n",
                node.node, node.records
            )),
        }
    }
    let broken = report.nodes.iter().filter(|n| n.problem.is_some()).count();
    if broken == 0 {
        out.push_str(&format!(
            "chain intact: {} record(s) on {} node(s)\n",
            report.records(),
            report.nodes.len()
        ));
    } else {
        out.push_str(&format!(
            "chain BROKEN on {broken} of {} node(s)\n",
            report.nodes.len()
        ));
    }
    out
}

fn human_cases(report: &HistoryReport) -> String {
    let mut out = String::new();
    for problem in &report.problems {
        out.push_str(problem);
        out.push('\n');
    }
    out.push_str(&if report.intact() {
        format!(
            "case history intact: {} event(s) of {} case(s)\n",
            report.events, report.cases
        )
    } else {
        format!(
            "case history BROKEN: {} problem(s); {} event(s) verified before the first\n",
            report.problems.len(),
            report.events
        )
    });
    out
}

/// What the chain of `node` was held to, for its verdict line.
fn anchored(node: &NodeReport) -> String {
    match (node.checkpoints, &node.unsigned) {
        (0, _) => ", no signed checkpoint yet".to_string(),
        (n, None) => format!(", held to {n} signed checkpoint(s)"),
        (n, Some(why)) => {
            format!(", held to {n} checkpoint(s) whose signatures were not checked ({why})")
        }
    }
}

async fn export(args: ExportArgs) -> Result<ExitCode, String> {
    let keys = args
        .keys
        .clone()
        .unwrap_or_else(|| args.root.join("dev-keys"));
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(&args.message_id));
    let store = open(&args.store).await?;
    let sealed = audit::export(
        &store,
        &ExportRequest {
            message_id: &args.message_id,
            root: &args.root,
            keys: &keys,
            node: args.node.as_deref(),
            request_id: args.request_id.as_deref(),
        },
    )
    .await;
    store.close().await;
    let sealed = sealed?;
    std::fs::write(&out, &sealed.der)
        .map_err(|e| format!("cannot write the export to {}: {e}", out.display()))?;
    outln!(
        "wrote {}: {} record(s) of message {}, sealed by participant `{}`",
        out.display(),
        sealed.records,
        args.message_id,
        sealed.participant
    );
    if sealed.disposed > 0 {
        outln!(
            "the bodies of {} of them were disposed of by retention: the export holds their \
             digests and when they were disposed of",
            sealed.disposed
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `message-<id>.p7m`, with anything but letters, digits, `-` and `_` in the id replaced,
/// so that an id never names a path.
fn default_out(message_id: &str) -> PathBuf {
    let safe: String = message_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Path::new(&format!("message-{safe}.p7m")).to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_never_names_a_path() {
        assert_eq!(
            default_out("../../etc/passwd"),
            PathBuf::from("message-______etc_passwd.p7m")
        );
        assert_eq!(default_out("4a1c-9e"), PathBuf::from("message-4a1c-9e.p7m"));
    }
}
