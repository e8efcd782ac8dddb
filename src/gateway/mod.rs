//! The gateway between information systems: the X-Road REST message protocol (`protocol`), access,
//! minimisation, forwarding and the message log. Every request a gateway accepts has passed through
//! `protocol`'s parsers first; nothing downstream sees an unvalidated path or identifier.

pub mod protocol;
