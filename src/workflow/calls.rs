//! How the engine asks registries: the `Registries` trait a case's `call`s go through. The
//! gateway answers them in-process (`gateway::in_process`); scenarios answer from the spec.

use serde::{Deserialize, Serialize};

pub use super::timers::BoxFuture;

/// One `call` action of a state the case entered.
#[derive(Debug, Clone, Copy)]
pub struct RegistryCall<'a> {
    /// The case the call is made for (recorded with the exchange).
    pub case_id: &'a str,
    /// The consumer subsystem the call is made as, `participant/subsystem` (`system.portal`).
    pub consumer: &'a str,
    /// The provider service, `participant/service`.
    pub service: &'a str,
    /// The response fields the workflow uses, by dotted path.
    pub fields: &'a [String],
    /// The data subject: the applicant's id (РНОКПП), sent as `X-Road-UserId`.
    pub subject: &'a str,
    /// The application's data, from which the request's path and parameters are filled.
    pub data: &'a serde_json::Value,
}

/// What a registry gave: the JSON released to the consumer, or why there is none. Guards see a
/// failed call as the service's key being absent from `registry`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "status")]
pub enum RegistryAnswer {
    Answered { data: serde_json::Value },
    Failed { reason: String },
}

/// Answers a case's registry calls.
pub trait Registries: Send + Sync {
    fn call<'a>(&'a self, request: RegistryCall<'a>) -> BoxFuture<'a, RegistryAnswer>;
}
