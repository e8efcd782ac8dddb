//! The GitOps loop as a city's operations team runs it (issue 17): signed commits, drift, the
//! fleet's status, notifications, webhooks, operator acts and certificate rotation, each against
//! a real `hromada serve`, a real Git repository and real receivers on loopback.

mod acting;
#[path = "../common/mod.rs"]
mod common;

mod fleet;
mod notify;
mod trust;
