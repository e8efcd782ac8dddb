//! Where the engine gets a participant's seal for the documents its `issue` actions make: the
//! `Seals` trait (serve reads the keys folder and the revision's seal certificates; tests and
//! scenarios hand seals in), and `SealSet`, seals held in memory by participant.

use std::collections::HashMap;
use std::sync::Arc;

use crate::crypto::Seal;

/// A participant's seal, or why there is none.
pub trait Seals: Send + Sync {
    fn seal(&self, participant: &str) -> Result<Arc<Seal>, String>;
}

/// Seals held in memory, by participant. Empty, it refuses every participant.
#[derive(Default, Clone)]
pub struct SealSet(HashMap<String, Arc<Seal>>);

impl SealSet {
    pub fn insert(&mut self, seal: Seal) {
        self.0
            .insert(seal.participant().to_string(), Arc::new(seal));
    }
}

impl Seals for SealSet {
    fn seal(&self, participant: &str) -> Result<Arc<Seal>, String> {
        self.0.get(participant).cloned().ok_or_else(|| {
            format!(
                "participant `{participant}` has no seal key on this appliance, so it cannot seal \
                 the documents its workflows issue; put its seal key in the keys folder (in \
                 development, `hromada keys dev`)"
            )
        })
    }
}
