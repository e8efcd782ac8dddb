//! X-Road's names for the parties of an exchange: a client (a member's subsystem, or the member)
//! and a service, written `instance/class/code/subsystem[/service]`, and the protocol version
//! they travel in. Parsing them from a request is the gateway's (`gateway::protocol`).

use std::fmt;

/// The only protocol version this gateway speaks, as it appears first in the request path.
pub const PROTOCOL_VERSION: &str = "r1";

/// A service as X-Road names it: the provider subsystem plus a service code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceId {
    pub instance: String,
    pub member_class: String,
    pub member_code: String,
    pub subsystem: String,
    pub service: String,
}

/// A caller as X-Road names it: a member's subsystem, or the member itself (no subsystem).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientId {
    pub instance: String,
    pub member_class: String,
    pub member_code: String,
    pub subsystem: Option<String>,
}

impl fmt::Display for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}/{}",
            self.instance, self.member_class, self.member_code, self.subsystem, self.service
        )
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}",
            self.instance, self.member_class, self.member_code
        )?;
        match &self.subsystem {
            Some(subsystem) => write!(f, "/{subsystem}"),
            None => Ok(()),
        }
    }
}

impl ServiceId {
    /// The provider subsystem this service belongs to, as a client id of the same shape.
    pub fn subsystem_id(&self) -> ClientId {
        ClientId {
            instance: self.instance.clone(),
            member_class: self.member_class.clone(),
            member_code: self.member_code.clone(),
            subsystem: Some(self.subsystem.clone()),
        }
    }
}
