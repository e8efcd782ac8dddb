//! The certificates of one revision that name parties, read once: each gateway node's TLS
//! certificate (to tell which node a peer is) and the client certificates the subsystems pin
//! (to tell which subsystem a calling system may act as).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use openssl::x509::X509;

use super::Documents;
use crate::crypto::certs;
use crate::spec::Spec;

/// The gateway nodes' TLS certificates of one revision, encoded once for matching the
/// certificate a peer presents.
#[derive(Default, Debug)]
pub struct NodeCertificates {
    /// Each node's id, certificate (DER) and public key (DER).
    nodes: Vec<(String, Vec<u8>, Vec<u8>)>,
}

impl NodeCertificates {
    /// The nodes' certificates; one that cannot be encoded matches no peer.
    pub fn new(nodes: &[(String, X509)]) -> NodeCertificates {
        let nodes = nodes
            .iter()
            .filter_map(|(node, cert)| {
                let der = cert.to_der().ok()?;
                let key = cert.public_key().ok()?.public_key_to_der().ok()?;
                Some((node.clone(), der, key))
            })
            .collect();
        NodeCertificates { nodes }
    }

    /// Which node presented `cert_der`: the node whose certificate is byte-for-byte the same
    /// DER, or else the one node whose certificate has the same public key (a certificate
    /// renewed for the same key before this node applied the revision that carries it). `None`
    /// when no node matches or two nodes share the key.
    pub fn node_of(&self, cert_der: &[u8]) -> Option<String> {
        if let Some((node, _, _)) = self.nodes.iter().find(|(_, der, _)| der == cert_der) {
            return Some(node.clone());
        }
        let presented = X509::from_der(cert_der)
            .ok()?
            .public_key()
            .ok()?
            .public_key_to_der()
            .ok()?;
        let mut same_key = self.nodes.iter().filter(|(_, _, key)| *key == presented);
        match (same_key.next(), same_key.next()) {
            (Some((node, _, _)), None) => Some(node.clone()),
            _ => None,
        }
    }
}

/// A client certificate the spec pins for a subsystem.
pub struct PinnedCertificate {
    pub der: Vec<u8>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
}

/// Every subsystem's pinned client certificates of one revision, by `participant/subsystem`.
#[derive(Default)]
pub struct ClientCertificates {
    pinned: HashMap<String, Vec<PinnedCertificate>>,
}

impl ClientCertificates {
    /// The certificates the subsystems list, from the revision's files; an unreadable one is
    /// left out (the checks refuse a revision whose certificates do not parse).
    pub fn from_spec(spec: &Spec, documents: &Documents) -> ClientCertificates {
        let mut pinned: HashMap<String, Vec<PinnedCertificate>> = HashMap::new();
        for p in &spec.participants {
            for s in &p.subsystems {
                let clients = s.connection.iter().flat_map(|c| &c.clients);
                let certificates = clients.filter_map(|client| {
                    let bytes = documents.get(&client.cert)?;
                    let cert = certs::parse_certificates(bytes).ok()?.into_iter().next()?;
                    Some(PinnedCertificate {
                        der: cert.to_der().ok()?,
                        not_before: certs::not_before(&cert),
                        not_after: certs::not_after(&cert),
                    })
                });
                pinned
                    .entry(format!("{}/{}", p.id, s.id))
                    .or_default()
                    .extend(certificates);
            }
        }
        ClientCertificates { pinned }
    }

    /// The certificates the spec pins for `subsystem` (`participant/subsystem`).
    pub fn pinned(&self, subsystem: &str) -> &[PinnedCertificate] {
        self.pinned
            .get(subsystem)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The subsystems that pin `der`.
    pub fn holders(&self, der: &[u8]) -> Vec<&str> {
        let mut holders: Vec<&str> = self
            .pinned
            .iter()
            .filter(|(_, list)| list.iter().any(|p| p.der == der))
            .map(|(subsystem, _)| subsystem.as_str())
            .collect();
        holders.sort_unstable();
        holders
    }
}
