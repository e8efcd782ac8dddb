//! The citizen's cabinet (PORTAL-6, MIN-4): their applications with status, history, notices and
//! issued documents, their drafts, withdrawal where the workflow allows it, and who asked the
//! registries for their data. Only the signed-in person's own records, never another's.

pub mod status;
pub mod words;
