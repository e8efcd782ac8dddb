//! The case engine: one engine runs every declared `workflow`. A case is one instance of a
//! workflow, pinned to the revision it started under, with its data, state, assignee, deadlines
//! and an append-only, hash-chained history.
pub mod actions;
pub mod api;
pub mod assignment;
pub mod calendar;
pub mod calls;
pub mod clock;
pub mod clock_file;
pub mod deadlines;
pub mod definition;
pub mod documents;
pub mod engine;
pub mod errors;
pub mod font_subset;
pub mod guards;
pub mod history;
pub mod key_seals;
pub mod migrate;
pub mod outbox;
pub mod pdf;
pub mod registries;
pub mod requests;
pub mod result_pdf;
pub mod retention_class;
pub mod seals;
pub mod timers;
pub mod verification_code;
pub mod work;
