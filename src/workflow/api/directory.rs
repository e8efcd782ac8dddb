//! Who is who in the applied revision, as the cases API needs it: the officials and the roles
//! they hold, so that an actor named in a request is checked against the spec.

use std::collections::HashMap;

use crate::spec::Spec;

pub struct Directory {
    /// Official id → the roles they hold.
    officials: HashMap<String, Vec<String>>,
}

impl Directory {
    pub fn from_spec(spec: &Spec) -> Directory {
        Directory {
            officials: spec
                .officials
                .iter()
                .map(|o| (o.id.clone(), o.roles.clone()))
                .collect(),
        }
    }

    pub fn is_official(&self, id: &str) -> bool {
        self.officials.contains_key(id)
    }

    pub fn roles_of(&self, official: &str) -> &[String] {
        self.officials.get(official).map_or(&[], Vec::as_slice)
    }
}
