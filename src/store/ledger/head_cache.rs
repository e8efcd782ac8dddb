//! The chain heads a pool writer last wrote, kept so that a PostgreSQL commit can extend a node's
//! chain in one statement without locking its head first. A cached head is only a guess: the
//! statement applies only if the stored head still equals it (a replica may have moved it).

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A head as the ledger works with it: the last record's seq and hash.
pub(super) type Head = (i64, String);

#[derive(Debug, Default)]
pub(super) struct HeadCache {
    heads: HashMap<String, Head>,
}

impl HeadCache {
    /// The cached head of every node in `nodes`, or `None` if one of them is not cached.
    pub fn get<'a>(&self, nodes: &BTreeSet<&'a str>) -> Option<BTreeMap<&'a str, Head>> {
        nodes
            .iter()
            .map(|node| self.heads.get(*node).map(|head| (*node, head.clone())))
            .collect()
    }

    /// Remembers the heads a committed batch left.
    pub fn set(&mut self, written: &BTreeMap<&str, Head>) {
        for (node, head) in written {
            self.heads.insert((*node).to_string(), head.clone());
        }
    }

    /// Forgets the heads of `nodes`: the next batch for them locks and reads the stored heads.
    pub fn forget(&mut self, nodes: &BTreeSet<&str>) {
        for node in nodes {
            self.heads.remove(*node);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_cached_only_if_all_its_nodes_are() {
        let mut cache = HeadCache::default();
        let both: BTreeSet<&str> = ["a", "b"].into();
        assert_eq!(cache.get(&both), None);
        cache.set(&[("a", (3, "h3".to_string()))].into());
        assert_eq!(cache.get(&both), None);
        assert_eq!(
            cache.get(&["a"].into()),
            Some([("a", (3, "h3".to_string()))].into())
        );
        cache.set(&[("b", (1, "h1".to_string()))].into());
        assert!(cache.get(&both).is_some());
        cache.forget(&["a"].into());
        assert_eq!(cache.get(&both), None);
        assert!(cache.get(&["b"].into()).is_some());
    }
}
