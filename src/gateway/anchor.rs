//! Anchoring the message log: a chain head signed with its node's key (a [`Checkpoint`]), the
//! countersignature another node puts on a copy it received, and the node keys of a spec tree
//! that `audit verify` checks signatures with. Texts are fixed; changing one breaks old logs.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use openssl::ec::{EcKey, EcKeyRef};
use openssl::pkey::{Private, Public};

use crate::crypto::{chains_to, read_certificates, seal};
use crate::store::{Checkpoint, LogHead, PeerCheckpoint};

/// The text a node signs for a checkpoint of its chain.
pub fn checkpoint_text(c: &Checkpoint) -> Vec<u8> {
    format!(
        "hromada-checkpoint/1\n{}\n{}\n{}\n{}",
        c.node, c.seq, c.hash, c.signed_at
    )
    .into_bytes()
}

/// The text a receiving node countersigns: the checkpoint, its signature and the receipt.
fn countersign_text(c: &Checkpoint, received_by: &str, received_at: &str) -> Vec<u8> {
    let mut text = b"hromada-countersign/1\n".to_vec();
    text.extend(format!("{received_by}\n{received_at}\n{}\n", c.signature).bytes());
    text.extend(checkpoint_text(c));
    text
}

/// Signs `head` with its node's `key` at `now`.
pub fn sign(
    key: &EcKeyRef<Private>,
    head: &LogHead,
    now: DateTime<Utc>,
) -> Result<Checkpoint, String> {
    let mut checkpoint = Checkpoint {
        node: head.node.clone(),
        seq: head.seq,
        hash: head.hash.clone(),
        signed_at: now.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        signature: String::new(),
    };
    checkpoint.signature = seal::seal(key, &checkpoint_text(&checkpoint))
        .map_err(|e| format!("cannot sign a checkpoint of node {}: {e}", head.node))?;
    Ok(checkpoint)
}

/// Whether `c` carries a valid signature under its node's public `key`.
pub fn verify(key: &EcKeyRef<Public>, c: &Checkpoint) -> Result<(), seal::SealError> {
    seal::verify(key, &checkpoint_text(c), &c.signature)
}

/// Countersigns another node's (verified) checkpoint with this node's `key`.
pub fn countersign(
    key: &EcKeyRef<Private>,
    checkpoint: Checkpoint,
    received_by: &str,
    now: DateTime<Utc>,
) -> Result<PeerCheckpoint, String> {
    let received_at = now.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let countersignature = seal::seal(
        key,
        &countersign_text(&checkpoint, received_by, &received_at),
    )
    .map_err(|e| {
        format!(
            "cannot countersign a checkpoint of node {}: {e}",
            checkpoint.node
        )
    })?;
    Ok(PeerCheckpoint {
        checkpoint,
        received_by: received_by.to_string(),
        received_at,
        countersignature,
    })
}

/// Whether the countersignature of `p` is valid under the receiving node's public `key`.
pub fn verify_countersignature(
    key: &EcKeyRef<Public>,
    p: &PeerCheckpoint,
) -> Result<(), seal::SealError> {
    seal::verify(
        key,
        &countersign_text(&p.checkpoint, &p.received_by, &p.received_at),
        &p.countersignature,
    )
}

/// Each gateway node of the spec tree at `root` → the public key of its certificate, or why it
/// cannot be used (unreadable, not chained to a trust anchor of the spec, not EC P-256).
pub type NodeKeys = BTreeMap<String, Result<EcKey<Public>, String>>;

/// The node keys of the spec tree at `root`; an error when it holds no spec with a `system`.
pub fn node_keys(root: &Path) -> Result<NodeKeys, String> {
    let loaded = crate::spec::load(root);
    let system = loaded.spec.system().ok_or_else(|| {
        format!(
            "no spec with a `system` under {}: pass the spec root the nodes ran (the folder \
             holding `spec/`), whose node certificates the checkpoints are verified against",
            root.display()
        )
    })?;
    let read = |path: &str| -> Result<openssl::x509::X509, String> {
        let file =
            crate::spec::source::inside_root(root, path).map_err(|o| format!("`{path}` {o}"))?;
        read_certificates(&file)
            .map_err(|e| format!("{}: {e}", file.display()))?
            .into_iter()
            .next()
            .ok_or_else(|| format!("{} holds no certificate", file.display()))
    };
    let anchors: Vec<_> = system
        .trust_anchors
        .iter()
        .filter_map(|a| read(&a.cert).ok())
        .collect();
    Ok(system
        .nodes
        .iter()
        .map(|node| {
            let key = read(&node.cert).and_then(|cert| {
                chains_to(&cert, &[], &anchors).map_err(|e| {
                    format!("its certificate does not chain to a trust anchor: {e}")
                })?;
                seal::public_key(&cert).map_err(|e| e.to_string())
            });
            (node.id.clone(), key)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::dev_ca;

    fn keys() -> (EcKey<Private>, EcKey<Public>) {
        let key = dev_ca::new_key().unwrap().ec_key().unwrap();
        let public = EcKey::from_public_key(key.group(), key.public_key()).unwrap();
        (key, public)
    }

    #[test]
    fn a_checkpoint_verifies_only_as_signed() {
        let (key, public) = keys();
        let head = LogHead {
            node: "gw".into(),
            seq: 7,
            hash: "ab".repeat(32),
        };
        let c = sign(&key, &head, Utc::now()).unwrap();
        assert_eq!(verify(&public, &c), Ok(()));
        for forged in [
            Checkpoint {
                seq: 8,
                ..c.clone()
            },
            Checkpoint {
                hash: "cd".repeat(32),
                ..c.clone()
            },
            Checkpoint {
                node: "gw2".into(),
                ..c.clone()
            },
            Checkpoint {
                signed_at: "2020-01-01T00:00:00.000000000Z".into(),
                ..c.clone()
            },
        ] {
            assert_eq!(verify(&public, &forged), Err(seal::SealError::Mismatch));
        }
        let (_, other) = keys();
        assert_eq!(verify(&other, &c), Err(seal::SealError::Mismatch));

        let (peer, peer_public) = keys();
        let copy = countersign(&peer, c.clone(), "gw-b", Utc::now()).unwrap();
        assert_eq!(verify_countersignature(&peer_public, &copy), Ok(()));
        let moved = PeerCheckpoint {
            checkpoint: Checkpoint { seq: 6, ..c },
            ..copy
        };
        assert!(verify_countersignature(&peer_public, &moved).is_err());
    }
}
