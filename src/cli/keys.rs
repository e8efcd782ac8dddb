//! `hromada keys dev`: parses the command line and prints what `crypto::dev_keys` wrote or kept.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::crypto::dev_keys::{self, DevKeys};

#[derive(Debug, clap::Subcommand)]
pub enum KeysCommand {
    /// Create a development CA and certificates for every participant and gateway node.
    Dev(DevArgs),
}

#[derive(Debug, Args)]
pub struct DevArgs {
    /// Spec root: the folder holding `spec/` and `policies/`.
    #[arg(default_value = ".")]
    pub root: PathBuf,
    /// Folder for the private keys [default: ROOT/dev-keys]; never inside `spec/` or `policies/`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Issue every certificate anew, even those still valid and signed by the existing CA key.
    #[arg(long)]
    pub force: bool,
}

pub fn run(command: KeysCommand) -> ExitCode {
    match command {
        KeysCommand::Dev(args) => match dev_keys::issue(&DevKeys {
            root: args.root,
            out: args.out,
            force: args.force,
        }) {
            Ok(lines) => {
                for line in lines {
                    outln!("{line}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                errln!("error: {e:#}");
                ExitCode::from(1)
            }
        },
    }
}
