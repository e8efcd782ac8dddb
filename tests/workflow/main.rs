//! The case engine end to end (issue 12): cases started, moved and decided through the real
//! engine, its timers, its outbox and its documents, on SQLite and PostgreSQL.

#[path = "../common/mod.rs"]
mod common;

mod documents;
mod engine;
mod migrate;
mod outbox;
mod timers;
