//! The gateway and the spec loader under attack (issue 11): one test binary, one module per
//! promise, each trying as an outside attacker would to make personal data slip past an
//! agreement, to pass as someone else, to rewrite history or to bring a node down.

#[path = "../common/mod.rs"]
mod common;

mod anchoring;
mod attack_answers;
mod attack_http;
mod attack_identity;
mod edge;
mod loader;
mod projection;
mod replicas;
mod subject_across_nodes;
mod systems;
