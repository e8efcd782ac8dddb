//! The message log's hash chain: the one definition of a record's hash ([`chain_hash`]), and the
//! linking of a batch's exchanges to their nodes' chains from the heads the writer holds.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{Exchange, SubjectUse};
use crate::store::StoreError;

/// `prev_hash` of the first record of every node's chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The format of the records written now (see [`chain_hash`]).
pub const LOG_FORMAT: i64 = 2;

/// Everything of one message log record that its hash covers: every column written with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link<'a> {
    pub format: i64,
    pub prev_hash: &'a str,
    pub seq: i64,
    pub node: &'a str,
    pub message_id: &'a str,
    pub logged_at: &'a str,
    /// SHA-256 (lowercase hex) of the stored bodies text, when bodies were kept.
    pub bodies_digest: Option<&'a str>,
    pub entry: &'a str,
}

/// The hash of one message log record: lowercase hex SHA-256 of a UTF-8 text. Format 2 (written
/// now): `"hromada-log/2" "\n" prev_hash "\n" seq "\n" node "\n" message_id-as-JSON-string "\n"
/// logged_at "\n" bodies_digest-or-empty "\n" entry`; the bodies are covered by their digest
/// only, so disposing of them leaves the chain intact. Format 1 (written before): `prev_hash
/// "\n" seq "\n" node "\n" entry`, the entry holding the bodies. Seq in decimal; a node id never
/// holds a newline. `None` for a format this build does not know. This is the only definition
/// of the chain; `audit verify`, checkpoints and exports rely on it.
pub fn chain_hash(link: &Link) -> Option<String> {
    let mut hasher = openssl::sha::Sha256::new();
    let seq = link.seq.to_string();
    match link.format {
        1 => {
            for part in [
                link.prev_hash,
                "\n",
                &seq,
                "\n",
                link.node,
                "\n",
                link.entry,
            ] {
                hasher.update(part.as_bytes());
            }
        }
        2 => {
            let message_id =
                serde_json::to_string(link.message_id).expect("a string serialises to JSON");
            for part in [
                "hromada-log/2",
                link.prev_hash,
                &seq,
                link.node,
                &message_id,
                link.logged_at,
                link.bodies_digest.unwrap_or_default(),
            ] {
                hasher.update(part.as_bytes());
                hasher.update(b"\n");
            }
            hasher.update(link.entry.as_bytes());
        }
        _ => return None,
    }
    Some(hex::encode(hasher.finish()))
}

/// Lowercase hex SHA-256 of a stored bodies text.
pub fn bodies_digest(bodies: &str) -> String {
    crate::crypto::sha256_hex(bodies.as_bytes())
}

/// Where a record landed in its node's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogReceipt {
    pub seq: i64,
    pub hash: String,
}

/// The chain part of one message log row to insert; node and message id are the exchange's.
pub(super) struct Chained {
    pub seq: i64,
    pub entry: String,
    pub prev_hash: String,
    pub hash: String,
    pub bodies: Option<String>,
    pub bodies_digest: Option<String>,
}

impl Chained {
    pub fn receipt(self) -> LogReceipt {
        LogReceipt {
            seq: self.seq,
            hash: self.hash,
        }
    }
}

/// Refuses a batch holding a node id the chain text cannot carry, before anything is written.
pub(super) fn check_nodes(batch: &[(Exchange, Option<SubjectUse>)]) -> Result<(), StoreError> {
    match batch
        .iter()
        .find(|(e, _)| e.node.is_empty() || e.node.contains('\n'))
    {
        Some((bad, _)) => Err(StoreError::new(format!(
            "cannot log message {}: the node id `{}` is empty or holds a line break; \
             nothing of this batch was written",
            bad.message_id,
            bad.node.escape_debug()
        ))),
        None => Ok(()),
    }
}

/// The distinct nodes of a batch, in the order their heads are locked (so that two writers never
/// wait on each other).
pub(super) fn batch_nodes(batch: &[(Exchange, Option<SubjectUse>)]) -> BTreeSet<&str> {
    batch.iter().map(|(e, _)| e.node.as_str()).collect()
}

/// Links each exchange of `batch`, logged at `logged_at`, to its node's chain, from the locked
/// `heads` (node → seq and hash), which are advanced to the batch's last records.
pub(super) fn chain(
    batch: &[(Exchange, Option<SubjectUse>)],
    heads: &mut BTreeMap<&str, (i64, String)>,
    logged_at: &str,
) -> Vec<Chained> {
    batch
        .iter()
        .map(|(exchange, _)| {
            let head = heads
                .get_mut(exchange.node.as_str())
                .expect("every node of the batch has its head locked");
            let entry = exchange.log_entry();
            let bodies = exchange.bodies_text();
            let digest = bodies.as_deref().map(bodies_digest);
            let seq = head.0 + 1;
            let hash = chain_hash(&Link {
                format: LOG_FORMAT,
                prev_hash: &head.1,
                seq,
                node: &exchange.node,
                message_id: &exchange.message_id,
                logged_at,
                bodies_digest: digest.as_deref(),
                entry: &entry,
            })
            .expect("the format written is known");
            let prev_hash = std::mem::replace(&mut head.1, hash.clone());
            head.0 = seq;
            Chained {
                seq,
                entry,
                prev_hash,
                hash,
                bodies,
                bodies_digest: digest,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_hash_covers_every_part() {
        let link = Link {
            format: 2,
            prev_hash: GENESIS_HASH,
            seq: 1,
            node: "gw",
            message_id: "m1",
            logged_at: "2026-12-06T00:00:00.000000000Z",
            bodies_digest: None,
            entry: "{}",
        };
        let base = chain_hash(&link).unwrap();
        assert_eq!(base.len(), 64);
        assert!(
            base.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        let one = "1".repeat(64);
        for changed in [
            Link {
                prev_hash: &one,
                ..link
            },
            Link { seq: 2, ..link },
            Link {
                node: "gw2",
                ..link
            },
            Link {
                message_id: "m2",
                ..link
            },
            Link {
                logged_at: "2026-12-06T00:00:00.000000001Z",
                ..link
            },
            Link {
                bodies_digest: Some("ab"),
                ..link
            },
            Link {
                entry: "{ }",
                ..link
            },
            Link { format: 1, ..link },
        ] {
            assert_ne!(Some(&base), chain_hash(&changed).as_ref(), "{changed:?}");
        }
        assert_eq!(chain_hash(&Link { format: 3, ..link }), None);
        // `printf 'hromada-log/2\n%s\n1\ngw\n"m1"\n2026-12-06T00:00:00.000000000Z\n\n{}' 000…0 | sha256sum`
        assert_eq!(
            base,
            "3db5e24923e03c09c7bd002092bf7eb0e8b9bff64e7acf83fc048dd24a79cc25"
        );
        // Format 1: `printf '%s\n1\ngw\n{}' 000…0 | sha256sum`
        assert_eq!(
            chain_hash(&Link { format: 1, ..link }).unwrap(),
            "21f26ba2f6e6478ae676b9ff0930b4da79590aa5286c9a70f2b3c8e4e2a6a1d5"
        );
    }
}
