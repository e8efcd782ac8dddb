//! `hromada validate`: loads and checks a spec tree and prints every problem in the chosen
//! format. Exit 0 when valid, 1 when there are errors (or warnings, with `--deny-warnings`).

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::Args;

use super::render::{Format, render};
use crate::spec::diagnostics::Diagnostic;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Spec root: the folder holding `spec/` and `policies/`.
    #[arg(default_value = ".")]
    pub root: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Treat warnings as errors: they are reported as errors and fail the run.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Judge validity periods and certificate expiry as of this date (YYYY-MM-DD) instead of today.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<NaiveDate>,
}

pub fn today_or(as_of: Option<NaiveDate>) -> NaiveDate {
    as_of.unwrap_or_else(|| chrono::Local::now().date_naive())
}

/// Loads and checks the tree at `root`.
pub fn validate(
    root: &std::path::Path,
    as_of: Option<NaiveDate>,
) -> (crate::spec::Loaded, Vec<Diagnostic>) {
    let loaded = crate::spec::load(root);
    let diagnostics = crate::check::run(&loaded, today_or(as_of));
    (loaded, diagnostics)
}

pub fn run(args: ValidateArgs) -> ExitCode {
    let (loaded, mut diagnostics) = validate(&args.root, args.as_of);
    if args.deny_warnings {
        for d in &mut diagnostics {
            d.severity = crate::spec::Severity::Error;
        }
    }
    out!("{}", render(args.format, &diagnostics, &loaded.sources));
    let failed = diagnostics.iter().any(|d| d.is_error());
    // The process ends here: freeing a large city's model piece by piece only costs time.
    std::mem::forget(loaded);
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
