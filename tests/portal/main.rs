//! The citizens' portal through `hromada serve` (issue 13): its pages over HTTP and in a real
//! browser, against the example city with real upstreams and a real OpenID provider on loopback.

#[path = "../common/mod.rs"]
mod common;

mod attachments;
mod browser;
mod cabinet;
mod catalogue;
mod data_requests_peer;
mod fake_issuer;
mod forms;
mod home;
mod officials;
mod officials_store;
mod portal;
mod prefill;
mod procedure_versions;
mod results;
mod sessions_store;
mod sign_in;
mod signing;
