//! Tests of the case engine's documents.
