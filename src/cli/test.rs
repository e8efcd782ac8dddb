//! `hromada test`: runs every `scenario` of a spec tree through the real case engine, each on its
//! own in-memory store and fake clock with no network, and reports each as passed or failed with
//! what differed and where (human, JSON or JUnit XML). Exit 0 all pass, 1 any fails, 2 invalid spec.

mod report;
pub mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Args, ValueEnum};

use crate::spec::{Kind, Loaded};

pub use report::{Location, ScenarioReport, render};

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Spec root: the folder holding `spec/` and `policies/`.
    #[arg(default_value = ".")]
    pub root: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TestFormat::Human)]
    pub format: TestFormat,
    /// Validate as of this date (YYYY-MM-DD) instead of today.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestFormat {
    /// For people: one line per scenario, and what differed under a failed one.
    Human,
    /// One JSON document.
    Json,
    /// JUnit XML, which CI systems show as test results.
    Junit,
}

pub fn run(args: TestArgs) -> ExitCode {
    let (loaded, diagnostics) = super::validate::validate(&args.root, args.as_of);
    if diagnostics.iter().any(|d| d.is_error()) {
        err!(
            "{}",
            super::render::render(super::render::Format::Human, &diagnostics, &loaded.sources)
        );
        err!(
            "The spec does not validate, so its scenarios were not run: fix the errors above \
             (`hromada validate` shows them too) and run `hromada test` again."
        );
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            err!("cannot start the runtime the scenarios run on: {e}");
            return ExitCode::from(2);
        }
    };
    let reports = runtime.block_on(run_all(&loaded));
    out!("{}", render(args.format, &reports));
    if reports.iter().all(ScenarioReport::passed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Runs every scenario of a validated tree, in the order of their files.
pub async fn run_all(loaded: &Loaded) -> Vec<ScenarioReport> {
    let mut scenarios: Vec<_> = loaded.spec.scenarios.iter().collect();
    scenarios.sort_by_key(|s| {
        loaded
            .map
            .at(Kind::Scenario, &s.id, "")
            .map(|span| (span.file, span.offset))
    });
    let seals = match run::throwaway_seals(&loaded.spec) {
        Ok(seals) => std::sync::Arc::new(seals),
        Err(e) => {
            return scenarios
                .iter()
                .map(|s| ScenarioReport {
                    id: s.id.clone(),
                    title: s.title.clone(),
                    e_service: s.e_service.clone(),
                    location: Location::of(loaded, &s.id, ""),
                    differences: Vec::new(),
                    error: Some(e.clone()),
                })
                .collect();
        }
    };
    let mut reports = Vec::new();
    for s in scenarios {
        let locate = |pointer: &str| Location::of(loaded, &s.id, pointer);
        let outcome = run::run(loaded, s, seals.clone()).await;
        reports.push(ScenarioReport {
            id: s.id.clone(),
            title: s.title.clone(),
            e_service: s.e_service.clone(),
            location: locate(""),
            differences: outcome
                .as_ref()
                .map(|ds| ds.iter().map(|d| (locate(&d.pointer), d.clone())).collect())
                .unwrap_or_default(),
            error: outcome.err(),
        });
    }
    reports
}
