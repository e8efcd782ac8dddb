//! The gateway between information systems: X-Road REST protocol, access, minimisation,
//! forwarding, message log.

pub mod access;
pub mod minimise;
