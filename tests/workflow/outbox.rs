//! Tests of the case engine's outbox.
