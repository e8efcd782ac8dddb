//! What one exchange leaves behind on a node: the types live with the store's message log, which
//! owns their stored form; this path names them for code written before the move.

pub use crate::store::{Exchange, ProviderFault, Side, SubjectUse};
