//! Tests of the case engine's engine.
