//! The names the runtime parts share, in a layer below `compile`, `store` and the subsystems: a
//! revision of the spec and the files read with it, X-Road client and service identifiers, and
//! the certificates one revision trusts. It imports only `spec` and `crypto`.

pub mod certificates;
pub mod revision;
pub mod trust;
pub mod xroad;

pub use certificates::{ClientCertificates, NodeCertificates, PinnedCertificate};
pub use revision::{Documents, Revision, short};
pub use trust::Trust;
pub use xroad::{ClientId, PROTOCOL_VERSION, ServiceId};
