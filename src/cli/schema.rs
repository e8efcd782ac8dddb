//! `hromada schema`: writes the JSON Schema of every kind (and of the whole exported tree) to
//! `schemas/`, generated from the model types; `--check` fails when the committed files are stale.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::spec::grammar::schema_generator;
use crate::spec::{Kind, Spec};

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Folder to write the schemas to.
    #[arg(long, default_value = "schemas")]
    pub out: PathBuf,
    /// Do not write; exit 1 when the folder differs from what would be written.
    #[arg(long)]
    pub check: bool,
}

/// Every schema file: name and contents.
pub fn generate() -> Vec<(String, String)> {
    let mut files = Vec::new();
    for &kind in Kind::ALL {
        let schema = kind.schema(&mut schema_generator());
        files.push((
            format!("{}.schema.json", kind.node_name()),
            pretty(schema.as_value()),
        ));
    }
    let spec = schema_generator().into_root_schema_for::<Spec>();
    files.push(("spec.schema.json".to_string(), pretty(spec.as_value())));
    files
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).expect("schema serialises") + "\n"
}

pub fn run(args: SchemaArgs) -> ExitCode {
    let files = generate();
    if args.check {
        let stale = stale_files(&args.out, &files);
        if stale.is_empty() {
            outln!(
                "{} is current ({} schemas)",
                args.out.display(),
                files.len()
            );
            return ExitCode::SUCCESS;
        }
        for s in &stale {
            errln!("stale: {s}");
        }
        errln!(
            "{} is out of date with the model; run `hromada schema --out {}` and commit the result",
            args.out.display(),
            args.out.display()
        );
        return ExitCode::from(1);
    }
    if let Err(e) = write(&args.out, &files) {
        errln!("cannot write schemas to {}: {e}", args.out.display());
        return ExitCode::from(1);
    }
    outln!("wrote {} schemas to {}", files.len(), args.out.display());
    ExitCode::SUCCESS
}

fn stale_files(dir: &Path, files: &[(String, String)]) -> Vec<String> {
    let mut stale: Vec<String> = files
        .iter()
        .filter(|(name, text)| {
            std::fs::read_to_string(dir.join(name)).ok().as_deref() != Some(text)
        })
        .map(|(name, _)| name.clone())
        .collect();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".schema.json") && !files.iter().any(|(n, _)| *n == name) {
                stale.push(format!("{name} (no longer generated)"));
            }
        }
    }
    stale
}

fn write(dir: &Path, files: &[(String, String)]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for e in std::fs::read_dir(dir)?.flatten() {
        if e.file_name().to_string_lossy().ends_with(".schema.json") {
            std::fs::remove_file(e.path())?;
        }
    }
    for (name, text) in files {
        std::fs::write(dir.join(name), text)?;
    }
    Ok(())
}
