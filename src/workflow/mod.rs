//! The case engine: one engine runs every declared `workflow`. A case is one instance of a
//! workflow, pinned to the revision it started under, with its data, state, assignee, deadlines
//! and an append-only, hash-chained history.
pub mod clock;
pub mod documents;
pub mod outbox;
