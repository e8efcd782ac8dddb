//! The gateway's section of a compiled revision: the lookup tables from X-Road identifiers to the
//! spec (`routes`), the certificates peers, seals and systems are judged by (`trust`), and the
//! services' upstream addresses to hide from what the catalogue shows (`upstreams`).

pub mod routes;

use super::Documents;
use crate::identity::Trust;
use crate::redact::Upstreams;
use crate::spec::Spec;

/// What the gateway serves one revision from.
pub struct GatewaySection {
    /// Identifiers to services, clients and agreements.
    pub routes: routes::Routes,
    /// Trust anchors, node certificates and seals, parsed from the revision's documents.
    pub trust: Trust,
    /// Every spelling of the services' upstream addresses, compiled once per revision.
    pub upstreams: Upstreams,
}

impl GatewaySection {
    pub fn compile(spec: &Spec, documents: &Documents) -> GatewaySection {
        GatewaySection {
            routes: routes::Routes::new(spec),
            trust: Trust::from_spec(spec, documents),
            upstreams: Upstreams::of(spec),
        }
    }
}
