//! Tests of the case engine's timers.
