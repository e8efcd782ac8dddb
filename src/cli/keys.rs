//! `hromada keys` (being written on its own branch).

use std::process::ExitCode;

use clap::Args;

#[derive(Debug, clap::Subcommand)]
pub enum KeysCommand {
    /// Create a development CA and certificates for every participant and gateway node.
    Dev(DevArgs),
}

#[derive(Debug, Args)]
pub struct DevArgs {}

pub fn run(_command: KeysCommand) -> ExitCode {
    eprintln!("hromada keys is not available in this build");
    ExitCode::from(1)
}
