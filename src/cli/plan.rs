//! `hromada plan`: what applying one Git revision of the spec would change against another (the
//! working tree by default), widening of data access first. Exit 0 when nothing changes, 2 when
//! something does, 1 when a revision cannot be read or has errors (Terraform's -detailed-exitcode).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Args, ValueEnum};

use super::render::{Format, render};
use crate::git::tree::{Commit, Repository, TreeError};
use crate::plan::render::{Compared, Side};
use crate::plan::{InState, Plan};
use crate::spec::Spec;

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Spec root: the folder holding `spec/` and `policies/`, inside a git repository.
    #[arg(default_value = ".")]
    pub root: PathBuf,
    /// The revision applied now, to compare against: a commit, branch or tag.
    #[arg(
        long,
        value_name = "REV",
        required_unless_present = "against",
        conflicts_with = "against"
    )]
    pub from: Option<String>,
    /// Compare against the revision that the appliance running at this URL has applied.
    #[arg(long, value_name = "URL")]
    pub against: Option<String>,
    /// For an https --against URL: the CA certificate(s) (PEM) that issued the appliance's
    /// certificate, trusted instead of the system's roots.
    #[arg(long, env = "SSL_CERT_FILE", value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// The revision to apply; the working tree when absent.
    #[arg(long, value_name = "REV")]
    pub to: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub format: PlanFormat,
    /// Judge validity periods and certificate expiry as of this date (YYYY-MM-DD) instead of today.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Human,
    Json,
}

pub fn run(args: PlanArgs) -> ExitCode {
    match plan(&args) {
        Ok((plan, compared)) => {
            match args.format {
                PlanFormat::Human => out!("{}", crate::plan::render::human(&plan, &compared)),
                PlanFormat::Json => out!("{}", crate::plan::render::json(&plan, &compared)),
            }
            let stranded = plan.summary().stranded;
            if stranded > 0 {
                errln!(
                    "error: the appliance refuses this revision: {stranded} open case(s) sit in \
                     states it removes with no `migrate` line saying where they go (see \
                     \"Cases in flight\" above)"
                );
                ExitCode::from(1)
            } else if plan.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            }
        }
        Err(message) => {
            errln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

fn plan(args: &PlanArgs) -> Result<(Plan, Compared), String> {
    let today = super::validate::today_or(args.as_of);
    let repo = Repository::discover(&args.root).map_err(|e| e.to_string())?;
    let (from_revision, counts) = match (&args.from, &args.against) {
        (Some(from), _) => (from.clone(), None),
        (None, Some(url)) => {
            let (revision, counts) = applied_revision(url, args.cacert.as_deref())?;
            (revision, Some(counts))
        }
        (None, None) => return Err("pass --from REV or --against URL".into()),
    };
    let from_commit = repo.resolve(&from_revision).map_err(|e| e.to_string())?;
    let to_commit = match &args.to {
        Some(rev) => Some(repo.resolve(rev).map_err(|e| e.to_string())?),
        None => None,
    };
    let (from, from_side) = read_commit(&repo, &from_commit, today)?;
    let (to, to_side) = match &to_commit {
        Some(commit) => read_commit(&repo, commit, today)?,
        None => (
            read_tree(&args.root, "the working tree", today)?,
            Side::working_tree(),
        ),
    };
    let compared = Compared {
        root: repo.prefix.clone(),
        from: from_side,
        to: to_side,
    };
    Ok((Plan::new(&from, &to, counts.as_deref()), compared))
}

/// The commit that the appliance at `url` serves, and its open cases per workflow and state.
fn applied_revision(url: &str, cacert: Option<&Path>) -> Result<(String, Vec<InState>), String> {
    let (report, _) = super::status::fetch_trusting(url, None, cacert)?;
    if let Some(error) = &report.open_cases_error {
        return Err(format!(
            "the appliance at {url} cannot count its open cases ({error}), so the plan cannot say what this change does to them"
        ));
    }
    let counts = report
        .open_cases
        .iter()
        .map(|c| InState {
            workflow: c.workflow.clone(),
            state: c.state.clone(),
            open: u64::try_from(c.open).unwrap_or(0),
        })
        .collect();
    let Some(applied) = report.applied else {
        return Err(format!(
            "the appliance at {url} has not applied any revision yet, so there is nothing to compare against"
        ));
    };
    if applied.revision.starts_with("sha256:") {
        return Err(format!(
            "the appliance at {url} serves {}, a folder that is not a clean Git checkout, so Git cannot give its content; compare with --from REV instead",
            applied.revision
        ));
    }
    Ok((applied.revision, counts))
}

/// The checked spec of one commit; a commit in which the spec root does not exist yet (or any
/// more) declares nothing, so that the plan of the first or last revision of a tree lists it all.
fn read_commit(
    repo: &Repository,
    commit: &Commit,
    today: NaiveDate,
) -> Result<(Spec, Side), String> {
    let mut side = Side::commit(&commit.revision, &commit.id);
    let checkout = match repo.checkout(commit) {
        Ok(checkout) => checkout,
        Err(TreeError::MissingRoot { .. }) => {
            side.absent = true;
            return Ok((Spec::default(), side));
        }
        Err(e) => return Err(e.to_string()),
    };
    let name = format!("revision `{}` ({})", commit.revision, commit.short());
    Ok((read_tree(checkout.path(), &name, today)?, side))
}

/// Loads and checks the tree at `root`; its errors are printed and make the plan fail.
fn read_tree(root: &Path, name: &str, today: NaiveDate) -> Result<Spec, String> {
    let loaded = crate::spec::load(root);
    let errors: Vec<_> = crate::check::run(&loaded, today)
        .into_iter()
        .filter(|d| d.is_error())
        .collect();
    if errors.is_empty() {
        return Ok(loaded.spec);
    }
    errln!("{name} of the spec has errors:\n");
    err!("{}", render(Format::Human, &errors, &loaded.sources));
    Err(format!(
        "{name} is not a valid spec ({} error(s) above); plan compares valid revisions only",
        errors.len()
    ))
}
