//! The `hromada` binary: parses the command line and hands over to `hromada::cli`.

use clap::Parser;

/// mimalloc: loading a large spec tree is allocation-bound, and glibc's allocator spends more
/// time than the parser does (benches/README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    hromada::cli::run(hromada::cli::Cli::parse())
}
