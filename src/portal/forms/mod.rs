//! The citizen's application (PORTAL-3): a draft started from an e-service, its form shown page
//! by page and judged on the server at every step, check your answers, and deletion. Drafts live
//! in the store, so they resume on another device, and go when their retention ends.

pub mod input;
pub mod judge;
