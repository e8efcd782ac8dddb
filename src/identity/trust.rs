//! The certificates one revision judges peers, seals and systems by: the trust anchors, each
//! gateway node's TLS certificate, each participant's seal and the subsystems' pinned client
//! certificates, parsed once from the revision's files.
//! A certificate is used only while it is valid and chains to an anchor of the same revision.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use openssl::ec::{EcKey, EcKeyRef};
use openssl::pkey::Public;
use openssl::x509::X509;

use super::{ClientCertificates, Documents, NodeCertificates};
use crate::crypto::{certs, chains_to, seal};
use crate::spec::Spec;

#[derive(Default)]
pub struct Trust {
    pub anchors: Vec<X509>,
    /// The gateway nodes' TLS certificates.
    nodes: Arc<NodeCertificates>,
    /// Node id → the public key of its certificate, which signs the node's checkpoints, or why
    /// it cannot be used (not chained to an anchor, not EC).
    node_keys: BTreeMap<String, Result<EcKey<Public>, String>>,
    /// Participant id → its seal certificate, judged once per revision, not per message.
    seals: BTreeMap<String, SealCertificate>,
    /// The client certificates information systems present for their subsystems.
    pub clients: ClientCertificates,
}

/// A participant's seal certificate as a revision judged it.
struct SealCertificate {
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
    /// The key seals are verified with, or why the certificate cannot be used (it does not chain
    /// to an anchor, or holds no EC key).
    key: Result<EcKey<Public>, String>,
}

impl SealCertificate {
    fn judge(cert: &X509, anchors: &[X509]) -> SealCertificate {
        let key = chains_to(cert, &[], anchors)
            .map_err(|e| format!("does not chain to a trust anchor: {e}"))
            .and_then(|()| seal::public_key(cert).map_err(|e| e.to_string()));
        SealCertificate {
            not_before: certs::not_before(cert),
            not_after: certs::not_after(cert),
            key,
        }
    }
}

impl Trust {
    /// The certificates the spec names, from the revision's files; an unreadable one is left out
    /// (the checks refuse a revision whose certificates do not parse).
    pub fn from_spec(spec: &Spec, documents: &Documents) -> Trust {
        let first = |path: &str| {
            documents
                .get(path)
                .and_then(|bytes| certs::parse_certificates(bytes).ok())
                .and_then(|certs| certs.into_iter().next())
        };
        let Some(system) = spec.system() else {
            return Trust::default();
        };
        let anchors: Vec<X509> = system
            .trust_anchors
            .iter()
            .filter_map(|a| first(&a.cert))
            .collect();
        let nodes: Vec<_> = system
            .nodes
            .iter()
            .filter_map(|n| Some((n.id.clone(), first(&n.cert)?)))
            .collect();
        Trust {
            clients: ClientCertificates::from_spec(spec, documents),
            node_keys: nodes
                .iter()
                .map(|(node, cert)| {
                    let key = chains_to(cert, &[], &anchors)
                        .map_err(|e| format!("does not chain to a trust anchor: {e}"))
                        .and_then(|()| seal::public_key(cert).map_err(|e| e.to_string()));
                    (node.clone(), key)
                })
                .collect(),
            nodes: Arc::new(NodeCertificates::new(&nodes)),
            seals: spec
                .participants
                .iter()
                .filter_map(|p| {
                    let cert = first(&p.seal.cert)?;
                    Some((p.id.clone(), SealCertificate::judge(&cert, &anchors)))
                })
                .collect(),
            anchors,
        }
    }

    /// The key to verify `participant`'s seals with, if its certificate is valid at `now` and
    /// chains to an anchor.
    pub fn seal(&self, participant: &str, now: DateTime<Utc>) -> Result<&EcKeyRef<Public>, String> {
        let held = self.seals.get(participant).ok_or_else(|| {
            format!("the spec holds no readable seal certificate for participant `{participant}`")
        })?;
        let in_force = if now < held.not_before || now > held.not_after {
            Err(format!(
                "is not valid now (valid {} to {})",
                held.not_before.date_naive(),
                held.not_after.date_naive()
            ))
        } else {
            held.key.as_deref().map_err(|e| e.to_string())
        };
        in_force.map_err(|e| format!("the seal certificate of participant `{participant}` {e}"))
    }

    /// The key that verifies the checkpoints `node` signs.
    pub fn node_key(&self, node: &str) -> Result<&EcKeyRef<Public>, String> {
        match self.node_keys.get(node) {
            Some(Ok(key)) => Ok(key),
            Some(Err(e)) => Err(format!("the certificate of gateway node `{node}` {e}")),
            None => Err(format!(
                "the spec holds no readable certificate of gateway node `{node}`"
            )),
        }
    }

    /// Which node presented the TLS certificate `der` ([`NodeCertificates::node_of`]).
    pub fn node_of(&self, der: &[u8]) -> Option<String> {
        self.nodes.node_of(der)
    }

    /// The gateway nodes' TLS certificates, for checking the server a call is sent to.
    pub fn node_certificates(&self) -> Arc<NodeCertificates> {
        self.nodes.clone()
    }
}
