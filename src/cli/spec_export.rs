//! `hromada spec export`: the canonical JSON form of a valid spec tree — every kind, sorted by
//! id — the form that `schemas/` describes and that tools outside hromada can consume.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::render::{Format, render};

#[derive(Debug, Subcommand)]
pub enum SpecCommand {
    /// Print the canonical JSON form of the whole tree.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Spec root.
    #[arg(default_value = ".")]
    pub root: PathBuf,
}

pub fn run(command: SpecCommand) -> ExitCode {
    match command {
        SpecCommand::Export(args) => export(args),
    }
}

fn export(args: ExportArgs) -> ExitCode {
    let (loaded, diagnostics) = super::validate::validate(&args.root, None);
    let errors: Vec<_> = diagnostics.into_iter().filter(|d| d.is_error()).collect();
    if !errors.is_empty() {
        err!("{}", render(Format::Human, &errors, &loaded.sources));
        errln!("the spec has errors; fix them before exporting");
        return ExitCode::from(1);
    }
    outln!(
        "{}",
        serde_json::to_string_pretty(&loaded.spec).expect("the model serialises")
    );
    ExitCode::SUCCESS
}
