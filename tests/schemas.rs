//! `schemas/` is generated from the model and committed: it must be current, and the canonical
//! export of every spec tree in the repository must validate against it with an independent
//! JSON Schema validator (the `jsonschema` crate, not our decoder).

use std::path::{Path, PathBuf};

use serde_json::Value;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn schema(name: &str) -> Value {
    let text = std::fs::read_to_string(repo().join("schemas").join(name))
        .unwrap_or_else(|e| panic!("schemas/{name}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// Every spec root in the repository: the example city, examples/*, and test data trees.
fn spec_roots() -> Vec<PathBuf> {
    let mut roots = vec![repo().to_path_buf()];
    for parent in ["examples", "tests/data"] {
        if let Ok(entries) = std::fs::read_dir(repo().join(parent)) {
            roots.extend(
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.join("spec").is_dir()),
            );
        }
    }
    roots.retain(|r| r.join("spec").is_dir());
    roots.sort();
    roots
}

#[test]
fn committed_schemas_are_current() {
    for (name, text) in hromada::cli::schema::generate() {
        let committed =
            std::fs::read_to_string(repo().join("schemas").join(&name)).unwrap_or_default();
        assert!(
            committed == text,
            "schemas/{name} is stale: run `cargo run -- schema --out schemas`"
        );
    }
}

#[test]
fn export_of_every_spec_tree_validates_against_the_schemas() {
    let whole =
        jsonschema::validator_for(&schema("spec.schema.json")).expect("spec schema compiles");
    let roots = spec_roots();
    assert!(
        roots.iter().any(|r| r.ends_with("minimal")),
        "examples/minimal is missing"
    );
    for root in roots {
        let loaded = hromada::spec::load(&root);
        let export = serde_json::to_value(&loaded.spec).unwrap();
        let errors: Vec<String> = whole
            .iter_errors(&export)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{}: export does not match schemas/spec.schema.json: {errors:#?}",
            root.display()
        );
        for kind in hromada::spec::Kind::ALL {
            let validator =
                jsonschema::validator_for(&schema(&format!("{}.schema.json", kind.node_name())))
                    .unwrap();
            for node in export[kind.list_name()].as_array().into_iter().flatten() {
                let errors: Vec<String> =
                    validator.iter_errors(node).map(|e| e.to_string()).collect();
                assert!(
                    errors.is_empty(),
                    "{}: a {} does not match its schema: {errors:#?}",
                    root.display(),
                    kind.node_name()
                );
            }
        }
    }
}

#[test]
fn each_kind_schema_accepts_its_nodes_and_rejects_a_broken_one() {
    let loaded = hromada::spec::load(&repo().join("examples/minimal"));
    let participant = serde_json::to_value(&loaded.spec.participants[0]).unwrap();
    let validator = jsonschema::validator_for(&schema("participant.schema.json")).unwrap();
    assert!(validator.is_valid(&participant));
    let mut broken = participant.clone();
    broken.as_object_mut().unwrap().remove("edrpou");
    assert!(
        !validator.is_valid(&broken),
        "a participant without edrpou must not validate"
    );
    let mut unknown = participant;
    unknown["colour"] = Value::from("blue");
    assert!(
        !validator.is_valid(&unknown),
        "unknown properties must not validate"
    );
}
