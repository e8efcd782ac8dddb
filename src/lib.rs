//! hromada: a GitOps appliance for a city's electronic interaction. This library holds the spec
//! language (`spec`), its semantic checks (`check`), and the tools built on them; `main.rs` is a
//! thin command-line front end over it.

#[macro_use]
pub(crate) mod output;

pub mod check;
pub mod cli;
pub mod compile;
pub mod connections;
pub mod crypto;
pub mod docs;
pub mod gateway;
pub mod git;
pub mod html;
pub mod http_error;
pub mod http_headers;
pub mod identity;
pub mod plan;
pub mod portal;
pub mod reconcile;
pub mod redact;
pub mod registry;
pub mod serve;
pub mod spec;
pub mod store;
pub mod workflow;
