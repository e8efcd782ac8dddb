//! The command-line interface: one file per subcommand, plus the diagnostic renderers.
//! Each subcommand returns its exit code; `main.rs` only parses and dispatches.

pub mod audit;
pub mod docs;
pub mod keys;
mod pinned_tls;
pub mod plan;
pub mod render;
pub mod schema;
pub mod serve;
pub mod spec_export;
pub mod status;
pub mod sync;
pub mod test;
pub mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// hromada: a city's electronic interaction — gateway, e-services portal and document
/// registry — compiled from a spec repository in Git.
#[derive(Debug, Parser)]
#[command(name = "hromada", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the appliance: reconcile the spec into the running revision and serve it.
    Serve(Box<serve::ServeArgs>),
    /// Show what a running appliance has applied and its last reconciles.
    Status(status::StatusArgs),
    /// Check a spec tree and report every problem.
    Validate(validate::ValidateArgs),
    /// Work with the spec tree as data.
    #[command(subcommand)]
    Spec(spec_export::SpecCommand),
    /// Generate the JSON Schemas of every spec kind.
    Schema(schema::SchemaArgs),
    /// Show what applying one revision of the spec would change against another.
    Plan(plan::PlanArgs),
    /// Build the static documentation site of a spec tree.
    Docs(docs::DocsArgs),
    /// Manage development keys and certificates.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Check the gateway's message log and export sealed transactions.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Run the spec's scenarios through the case engine, with no network, and report each.
    Test(test::TestArgs),
    /// Suspend, resume or pin a running appliance's reconciling (an operator's act, recorded).
    #[command(subcommand)]
    Sync(sync::SyncCommand),
}

pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve(args) => serve::run(*args),
        Command::Status(args) => status::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Spec(command) => spec_export::run(command),
        Command::Schema(args) => schema::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Docs(args) => docs::run(args),
        Command::Keys(command) => keys::run(command),
        Command::Audit(command) => audit::run(command),
        Command::Test(args) => test::run(args),
        Command::Sync(command) => sync::run(command),
    }
}
