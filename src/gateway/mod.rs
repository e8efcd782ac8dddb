//! The gateway between information systems: X-Road REST protocol, access, minimisation,
//! forwarding, message log. The protocol's identifiers, errors and hashes (`protocol`), access
//! rules (`access`), field projection (`minimise`), what an exchange leaves behind (`record`),
//! the ledger's group-commit writer (`ledger`), chain verification (`audit`) and the ledger's
//! read API (`ledger_api`).

pub mod access;
pub mod audit;
pub mod ledger;
pub mod ledger_api;
pub mod minimise;
pub mod protocol;
pub mod record;
