//! `hromada docs`: validates a spec tree and, when it has no errors, writes its static
//! documentation site (see `crate::docs`). An invalid tree is reported and nothing is written.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::render::{Format, render};

#[derive(Debug, Args)]
pub struct DocsArgs {
    /// Spec root: the folder holding `spec/` and `policies/`.
    #[arg(default_value = ".")]
    pub root: PathBuf,
    /// Folder to write the site to: new, empty, or a site written earlier by this command.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

pub fn run(args: DocsArgs) -> ExitCode {
    let (loaded, diagnostics) = super::validate::validate(&args.root, None);
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    if !diagnostics.is_empty() {
        err!("{}", render(Format::Human, &diagnostics, &loaded.sources));
    }
    if errors > 0 {
        errln!(
            "the spec tree at {} has {errors} error(s); the site was not built — fix them and run `hromada docs` again",
            args.root.display()
        );
        return ExitCode::from(1);
    }
    let site = match crate::docs::build(&loaded.spec, &args.root) {
        Ok(site) => site,
        Err(e) => {
            errln!("cannot build the documentation site: {e:#}");
            return ExitCode::from(1);
        }
    };
    if let Err(e) = site.write(&args.out) {
        errln!("cannot write the documentation site: {e:#}");
        return ExitCode::from(1);
    }
    outln!("wrote the documentation site to {}", args.out.display());
    ExitCode::SUCCESS
}
