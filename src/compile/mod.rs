//! Spec → `Compiled`: the immutable runtime snapshot that one revision is served from. The
//! reconciler swaps whole snapshots, so a request sees one revision from its start to its end;
//! nothing here may fail on a spec that passed the checks, except what depends on this process.
//! A snapshot holds one section per subsystem, each compiled by its own module.

pub mod current;
pub mod gateway;
pub mod workflow;

use chrono::{DateTime, Utc};

use crate::identity::Documents;
use crate::identity::Revision;
use crate::spec::{Diagnostic, Spec};
use crate::store::Actuation;

/// One applied revision, ready to serve.
pub struct Compiled {
    pub revision: Revision,
    /// The gateway node of the system that this process is.
    pub node: String,
    pub spec: Spec,
    /// What the store must hold for this revision (officials, schedules).
    pub actuation: Actuation,
    /// The referenced files of this revision.
    pub documents: Documents,
    pub compiled_at: DateTime<Utc>,
    /// The subsystems' sections (the case engine's, the portal's and the registry's go beside).
    pub gateway: gateway::GatewaySection,
    /// The case engine's workflows, with what their cases need.
    pub workflow: workflow::WorkflowSection,
}

/// Compiles a checked spec for the process that serves `node` (the portal's node when `None`).
pub fn compile(
    spec: Spec,
    revision: Revision,
    node: Option<&str>,
    documents: Documents,
) -> Result<Compiled, Box<Diagnostic>> {
    let node = serving_node(&spec, node)?;
    Ok(Compiled {
        gateway: gateway::GatewaySection::compile(&spec, &documents),
        workflow: workflow::WorkflowSection::compile(&spec, &revision.id),
        documents,
        actuation: Actuation::from_spec(&spec),
        revision,
        node,
        spec,
        compiled_at: Utc::now(),
    })
}

fn serving_node(spec: &Spec, wanted: Option<&str>) -> Result<String, Box<Diagnostic>> {
    let Some(system) = spec.system() else {
        return Err(Box::new(Diagnostic::error(
            "H0004",
            "the spec declares no `system`, so this appliance has no node to serve",
        )));
    };
    match wanted {
        None => Ok(system.portal.node.clone()),
        Some(node) if system.nodes.iter().any(|n| n.id == node) => Ok(node.to_string()),
        Some(node) => {
            let declared: Vec<&str> = system.nodes.iter().map(|n| n.id.as_str()).collect();
            Err(Box::new(
                Diagnostic::error(
                    "H0004",
                    format!("this appliance serves node `{node}`, which the spec does not declare"),
                )
                .detail(format!(
                    "the system `{}` declares the nodes: {}",
                    system.id,
                    declared.join(", ")
                ))
                .help("start the appliance with `--node` set to one of them, or declare the node in the system"),
            ))
        }
    }
}
