//! `hromada plan` (being written on its own branch).

use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct PlanArgs {}

pub fn run(_args: PlanArgs) -> ExitCode {
    eprintln!("hromada plan is not available in this build");
    ExitCode::from(1)
}
