//! `hromada docs` (being written on its own branch).

use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct DocsArgs {}

pub fn run(_args: DocsArgs) -> ExitCode {
    eprintln!("hromada docs is not available in this build");
    ExitCode::from(1)
}
