//! Files a spec refers to besides certificates (H0204): a service's `openapi` document must be
//! inside the spec root, exist, and be an OpenAPI document (JSON with an `openapi` version, or
//! YAML whose top level names one), since the catalogue publishes it.

use crate::spec::{Diagnostic, Kind};

use super::Checker;

pub(super) fn check(c: &mut Checker) {
    for p in &c.spec().participants {
        for (i, service) in p.services.iter().enumerate() {
            let Some(path) = &service.openapi else {
                continue;
            };
            if let Some(problem) = problem(c, path) {
                c.report(
                    Diagnostic::error(
                        "H0204",
                        format!("the OpenAPI document of `{}/{}` {problem}", p.id, service.id),
                    )
                    .at(c.at(Kind::Participant, &p.id, &format!("/services/{i}/openapi")))
                    .detail(format!("`openapi` names `{path}`, relative to the spec root"))
                    .help("put the service's OpenAPI 3 document (JSON or YAML) at that path, or remove `openapi`"),
                );
            }
        }
    }
}

fn problem(c: &Checker, path: &str) -> Option<String> {
    let file = match c.loaded.sources.resolve(path) {
        Ok(file) => file,
        Err(outside) => return Some(outside.to_string()),
    };
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some("does not exist".into()),
        Err(e) => return Some(format!("cannot be read: {e}")),
    };
    let is_json = path.ends_with(".json");
    let declares_openapi = if is_json {
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(doc) => doc.get("openapi").and_then(|v| v.as_str()).is_some(),
            Err(e) => return Some(format!("is not valid JSON ({e})")),
        }
    } else {
        // Read as the gateway reads it to publish it (`getOpenAPI`, the catalogue), so that a
        // document it cannot serve is refused here rather than at a caller's request.
        match yaml_rust2::YamlLoader::load_from_str(&text) {
            Ok(docs) => match docs.as_slice() {
                [doc] => doc["openapi"].as_str().is_some(),
                _ => return Some(format!("holds {} YAML documents, not one", docs.len())),
            },
            Err(e) => return Some(format!("is not valid YAML ({e})")),
        }
    };
    (!declares_openapi).then(|| "does not declare an `openapi` version".to_string())
}
