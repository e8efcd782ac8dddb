//! The gateway between information systems: X-Road REST protocol, access, minimisation,
//! forwarding, message log. So far the pure parts: the protocol's identifiers, errors and
//! hashes (`protocol`), access rules (`access`) and field projection (`minimise`).

pub mod access;
pub mod catalogue;
pub mod health;
pub mod minimise;
pub mod protocol;
pub mod record;
