//! The citizens' portal through `hromada serve` (issue 13): its pages over HTTP and in a real
//! browser, against the example city with real upstreams and a real OpenID provider on loopback.

#[path = "../common/mod.rs"]
mod common;

mod cabinet;
mod fake_issuer;
mod forms;
mod home;
mod portal;
mod sessions_store;
mod sign_in;
mod signing;
