//! The certificates one revision judges peers and seals by: the trust anchors, each gateway
//! node's TLS certificate and each participant's seal, parsed once from the revision's files.
//! A certificate is used only while it is valid and chains to an anchor of the same revision.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use openssl::x509::X509;

use super::peer_tls;
use crate::compile::Documents;
use crate::crypto::{certs, chains_to};
use crate::spec::Spec;

#[derive(Default)]
pub struct Trust {
    pub anchors: Vec<X509>,
    /// Each node's id and TLS certificate.
    pub nodes: Vec<(String, X509)>,
    /// Participant id → its seal certificate, and why it cannot be used when it does not chain
    /// to an anchor (judged once per revision, not per message).
    pub seals: BTreeMap<String, (X509, Result<(), String>)>,
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
        Trust {
            nodes: system
                .nodes
                .iter()
                .filter_map(|n| Some((n.id.clone(), first(&n.cert)?)))
                .collect(),
            seals: spec
                .participants
                .iter()
                .filter_map(|p| {
                    let cert = first(&p.seal.cert)?;
                    let chained = chains_to(&cert, &[], &anchors)
                        .map_err(|e| format!("does not chain to a trust anchor: {e}"));
                    Some((p.id.clone(), (cert, chained)))
                })
                .collect(),
            anchors,
        }
    }

    /// The seal certificate of `participant`, if it is valid at `now` and chains to an anchor.
    pub fn seal(&self, participant: &str, now: DateTime<Utc>) -> Result<&X509, String> {
        let (cert, chained) = self.seals.get(participant).ok_or_else(|| {
            format!("the spec holds no readable seal certificate for participant `{participant}`")
        })?;
        chained
            .clone()
            .and_then(|()| current(cert, now))
            .map_err(|e| format!("the seal certificate of participant `{participant}` {e}"))?;
        Ok(cert)
    }

    /// Which node presented the TLS certificate `der` ([`peer_tls::node_of`]).
    pub fn node_of(&self, der: &[u8]) -> Option<String> {
        peer_tls::node_of(der, &self.nodes)
    }
}

fn current(cert: &X509, now: DateTime<Utc>) -> Result<(), String> {
    if now < certs::not_before(cert) || now > certs::not_after(cert) {
        return Err(format!(
            "is not valid now (valid {} to {})",
            certs::not_before(cert).date_naive(),
            certs::not_after(cert).date_naive()
        ));
    }
    Ok(())
}
