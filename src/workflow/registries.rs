//! The engine's real registries: each `call` of a workflow made in-process through the gateway
//! (`gateway::in_process`) as the workflow's consumer subsystem, so that it meets the same
//! agreement check, projection, message log and data-subject record as any other caller.

use super::calls::{BoxFuture, Registries, RegistryAnswer, RegistryCall};
use crate::gateway::in_process::{InProcess, OwnCall};

/// The gateway, as the engine's registries.
pub struct GatewayRegistries(InProcess);

impl GatewayRegistries {
    pub fn new(gateway: InProcess) -> GatewayRegistries {
        GatewayRegistries(gateway)
    }
}

impl Registries for GatewayRegistries {
    fn call<'a>(&'a self, request: RegistryCall<'a>) -> BoxFuture<'a, RegistryAnswer> {
        Box::pin(async move {
            let own = OwnCall {
                consumer: request.consumer,
                service: request.service,
                subject: request.subject,
                issue: request.case_id,
                data: request.data,
            };
            match self.0.call(own).await {
                Ok(data) => RegistryAnswer::Answered { data },
                Err(reason) => {
                    tracing::warn!(
                        service = request.service,
                        "a workflow's call of service {} for a case failed: {}",
                        request.service,
                        reason
                    );
                    RegistryAnswer::Failed { reason }
                }
            }
        })
    }
}
