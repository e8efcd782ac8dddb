//! The certificates one revision judges peers, seals and systems by: they live in the layer
//! below (`crate::identity::trust`); this path names them for code written before the move.

pub use crate::identity::Trust;
