//! The case engine's proofs through `hromada serve` (issue 12): the example city's e-services
//! run end to end through the cases API against real upstreams on loopback, every answer
//! checked against the API's OpenAPI document.

#[path = "../common/mod.rs"]
mod common;

mod api;
mod concurrency;
mod crash;
mod in_flight;
mod lists;
mod material_aid;
mod refusals;
mod replicas;
mod services;
mod water;
