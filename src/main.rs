//! The `hromada` binary: parses the command line and hands over to `hromada::cli`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    hromada::cli::run(hromada::cli::Cli::parse())
}
