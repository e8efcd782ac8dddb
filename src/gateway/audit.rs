//! Auditing the message log: `verify` walks every node's hash chain in pages, re-hashes each
//! record with [`chain_hash`], links it to the one before and names the first record that was
//! altered, removed or reordered; `export` seals one transaction's records as CMS SignedData.
//! Nothing here writes to the store.

use std::fmt;
use std::path::Path;

use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::pkey::PKey;
use serde::Deserialize;
use serde_json::json;

use super::keys::KeyRing;
use super::record::{Exchange, Side};
use crate::spec::Spec;
use crate::store::{GENESIS_HASH, LogRecord, Store, StoreError, chain_hash};

/// Records read per query while walking a chain.
const PAGE: i64 = 1000;
/// How far from its place a moved record is looked for when its hash does not match.
const REORDER_WINDOW: i64 = 1000;

/// What went wrong first in one node's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The record at `seq` does not hash to what it says.
    Altered { seq: i64, message_id: String },
    /// The record at `seq` is intact but was written as record `written_as`.
    Reordered {
        seq: i64,
        message_id: String,
        written_as: i64,
    },
    /// The records strictly between `after` and `before` are gone (`before` is `None` when the
    /// end of the chain is gone).
    Missing { after: i64, before: Option<i64> },
    /// The record at `seq` hashes right but does not link to the record before it.
    Unlinked { seq: i64, message_id: String },
    /// The last record hashes right but is not the one the chain's head recorded.
    LastReplaced { seq: i64, message_id: String },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Altered { seq, message_id } => {
                write!(f, "record {seq} (message id {message_id}) was altered")
            }
            Problem::Reordered {
                seq,
                message_id,
                written_as,
            } => write!(
                f,
                "record {seq} (message id {message_id}) is out of order: it was written as \
                 record {written_as}"
            ),
            Problem::Missing {
                after,
                before: Some(before),
            } if before - after == 2 => {
                write!(f, "a record between {after} and {before} is missing")
            }
            Problem::Missing {
                after,
                before: Some(before),
            } => write!(
                f,
                "records {} to {} (between {after} and {before}) are missing",
                after + 1,
                before - 1
            ),
            Problem::Missing {
                after,
                before: None,
            } => write!(
                f,
                "the records after {after} are missing (the end of the chain)"
            ),
            Problem::Unlinked { seq, message_id } => write!(
                f,
                "record {seq} (message id {message_id}) does not follow record {}: a record \
                 before it was replaced or removed",
                seq - 1
            ),
            Problem::LastReplaced { seq, message_id } => write!(
                f,
                "record {seq} (message id {message_id}), the last one, was replaced: the chain's \
                 head recorded another"
            ),
        }
    }
}

/// The verdict on one node's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeReport {
    pub node: String,
    /// Records read up to the first problem (all of them when the chain is intact).
    pub records: i64,
    /// The record count the chain's head holds.
    pub head_seq: i64,
    pub problem: Option<Problem>,
}

/// The verdict on every chain looked at.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    pub nodes: Vec<NodeReport>,
}

impl Report {
    pub fn intact(&self) -> bool {
        self.nodes.iter().all(|n| n.problem.is_none())
    }

    pub fn records(&self) -> i64 {
        self.nodes.iter().map(|n| n.records).sum()
    }
}

#[derive(Deserialize)]
struct EntryId {
    message_id: String,
}

/// Walks the chain of `node` (every node's when `None`), up to the head each had when the walk
/// began, and reports the first problem of each.
/// A node named but without any record is an error, so a typo is not reported as intact.
pub async fn verify(store: &Store, node: Option<&str>) -> Result<Report, StoreError> {
    let heads = store.message_log_heads().await?;
    let heads: Vec<_> = match node {
        Some(node) => {
            let head = heads.into_iter().find(|h| h.node == node).ok_or_else(|| {
                StoreError::new(format!(
                    "the message log holds no records of node `{node}`; `hromada audit verify` \
                     without --node lists the nodes it holds"
                ))
            })?;
            vec![head]
        }
        None => heads,
    };
    let mut report = Report::default();
    for head in heads {
        let mut walk = Walk::new();
        let mut after = 0;
        // Up to the head as read first: records written meanwhile are for the next run.
        'pages: while after < head.seq {
            let page = store
                .message_log(&head.node, after, PAGE.min(head.seq - after))
                .await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for record in &page {
                if let Some(problem) = walk.step(record) {
                    walk.problem = Some(problem);
                    break 'pages;
                }
            }
        }
        if walk.problem.is_none() {
            walk.problem = walk.end(head.seq, &head.hash);
        }
        report.nodes.push(NodeReport {
            node: head.node,
            records: walk.records,
            head_seq: head.seq,
            problem: walk.problem,
        });
    }
    Ok(report)
}

/// The state of a walk along one chain.
struct Walk {
    seq: i64,
    hash: String,
    message_id: String,
    records: i64,
    problem: Option<Problem>,
}

impl Walk {
    fn new() -> Walk {
        Walk {
            seq: 0,
            hash: GENESIS_HASH.to_string(),
            message_id: String::new(),
            records: 0,
            problem: None,
        }
    }

    /// Takes the next record in seq order; the first problem it shows, if any.
    fn step(&mut self, record: &LogRecord) -> Option<Problem> {
        if record.seq != self.seq + 1 {
            return Some(Problem::Missing {
                after: self.seq,
                before: Some(record.seq),
            });
        }
        let message_id = serde_json::from_str::<EntryId>(&record.entry)
            .map(|e| e.message_id)
            .ok();
        let shown_id = message_id
            .clone()
            .unwrap_or_else(|| record.message_id.clone());
        let rehashed = chain_hash(&record.prev_hash, record.seq, &record.node, &record.entry);
        if rehashed != record.hash {
            if let Some(written_as) = written_as(record) {
                return Some(Problem::Reordered {
                    seq: record.seq,
                    message_id: shown_id,
                    written_as,
                });
            }
            return Some(Problem::Altered {
                seq: record.seq,
                message_id: shown_id,
            });
        }
        if message_id.as_deref() != Some(record.message_id.as_str()) {
            // The entry is what the hash covers; the indexed column must agree with it.
            return Some(Problem::Altered {
                seq: record.seq,
                message_id: shown_id,
            });
        }
        if record.prev_hash != self.hash {
            return Some(Problem::Unlinked {
                seq: record.seq,
                message_id: shown_id,
            });
        }
        self.seq = record.seq;
        self.hash.clone_from(&record.hash);
        self.message_id = shown_id;
        self.records += 1;
        None
    }

    /// After the last record: whether the head agrees that the chain ends here.
    fn end(&self, head_seq: i64, head_hash: &str) -> Option<Problem> {
        if head_seq > self.seq {
            return Some(Problem::Missing {
                after: self.seq,
                before: None,
            });
        }
        if head_hash != self.hash {
            return Some(Problem::LastReplaced {
                seq: self.seq,
                message_id: self.message_id.clone(),
            });
        }
        None
    }
}

/// The seq an intact record was written with, when it now sits elsewhere.
fn written_as(record: &LogRecord) -> Option<i64> {
    let low = (record.seq - REORDER_WINDOW).max(1);
    (low..=record.seq + REORDER_WINDOW).find(|&seq| {
        seq != record.seq
            && chain_hash(&record.prev_hash, seq, &record.node, &record.entry) == record.hash
    })
}

/// What `audit export` needs to seal one transaction.
pub struct ExportRequest<'a> {
    pub message_id: &'a str,
    /// The spec root whose participants' seals sign.
    pub root: &'a Path,
    /// The folder `hromada keys dev` wrote (`seals/<participant>.key` inside).
    pub keys: &'a Path,
    /// Only the records of this node.
    pub node: Option<&'a str>,
    /// Only the exchange with this gateway request id (`X-Road-Request-Id`), for a message id
    /// a client used for several exchanges.
    pub request_id: Option<&'a str>,
}

/// Keeps the records of one exchange: those with `request_id` when given, else all of them
/// when they are of one exchange; a message id reused for several exchanges is refused with
/// their request ids, never merged into one export.
fn one_exchange(
    records: &mut Vec<LogRecord>,
    id: &str,
    request_id: Option<&str>,
) -> Result<String, String> {
    let request_of = |record: &LogRecord| {
        Exchange::from_log_entry(&record.entry)
            .map(|e| e.request_id)
            .unwrap_or_default()
    };
    if let Some(wanted) = request_id {
        records.retain(|r| request_of(r) == wanted);
        if records.is_empty() {
            return Err(format!(
                "message id `{id}` has no record with request id `{wanted}`; run without \
                 --request-id to see the ones it has"
            ));
        }
        return Ok(wanted.to_string());
    }
    let mut exchanges: Vec<(String, Vec<String>)> = Vec::new();
    for record in records.iter() {
        let place = format!("node {} record {}", record.node, record.seq);
        let request = request_of(record);
        match exchanges.iter_mut().find(|(r, _)| *r == request) {
            Some((_, places)) => places.push(place),
            None => exchanges.push((request, vec![place])),
        }
    }
    if exchanges.len() > 1 {
        let listed: Vec<String> = exchanges
            .iter()
            .map(|(request, places)| {
                let request = if request.is_empty() {
                    "(none)"
                } else {
                    request
                };
                format!("{request} ({})", places.join(", "))
            })
            .collect();
        return Err(format!(
            "message id `{id}` was used for {} exchanges (a client reused its X-Road-Id); \
             export one with --request-id, the X-Road-Request-Id the gateway answered with: {}",
            exchanges.len(),
            listed.join("; ")
        ));
    }
    Ok(exchanges
        .pop()
        .map(|(request, _)| request)
        .unwrap_or_default())
}

/// A sealed export: the DER of the CMS SignedData and who sealed it.
pub struct Export {
    pub der: Vec<u8>,
    pub participant: String,
    pub records: usize,
}

/// The format name inside every export, for whoever reads one later.
pub const EXPORT_FORMAT: &str = "hromada-message-log-export/1";

/// Seals the message log records of one transaction: a JSON document (each record's entry
/// exactly as hashed, with node, seq, prev_hash and hash) encapsulated in CMS SignedData,
/// signed with the seal of the participant on the records' side (the provider on the producer
/// side, the consumer on the client side). Refuses records that do not match their hash.
pub async fn export(store: &Store, request: &ExportRequest<'_>) -> Result<Export, String> {
    let id = request.message_id;
    let mut records = store.message_by_id(id).await.map_err(|e| e.to_string())?;
    if records.is_empty() {
        return Err(format!(
            "the message log holds no record of message id `{id}`; check the id (the \
             X-Road-Id of the exchange) and that this is the store of the node that handled it"
        ));
    }
    if let Some(node) = request.node {
        let nodes: Vec<String> = records.iter().map(|r| r.node.clone()).collect();
        records.retain(|r| r.node == node);
        if records.is_empty() {
            return Err(format!(
                "message id `{id}` was not logged by node `{node}`, only by: {}",
                nodes.join(", ")
            ));
        }
    }
    let request_id = one_exchange(&mut records, id, request.request_id)?;
    let loaded = crate::spec::load(request.root);
    if loaded.sources.files.is_empty() {
        return Err(format!(
            "no spec files under {}: pass the spec root (the folder holding `spec/`) whose \
             participants' seals sign the export",
            request.root.display()
        ));
    }
    let mut signer: Option<(String, &LogRecord)> = None;
    for record in &records {
        if chain_hash(&record.prev_hash, record.seq, &record.node, &record.entry) != record.hash {
            return Err(format!(
                "record {} of node {} (message id `{id}`) does not match its hash, so it is not \
                 sealed; run `hromada audit verify --node {}`",
                record.seq, record.node, record.node
            ));
        }
        let exchange = Exchange::from_log_entry(&record.entry).map_err(|e| {
            format!(
                "record {} of node {} (message id `{id}`) cannot be read: {e}",
                record.seq, record.node
            )
        })?;
        let participant = sealing_participant(&loaded.spec, &exchange).ok_or_else(|| {
            format!(
                "record {} of node {} ({} side) names no participant of the spec at {} \
                 (client {}, service {}); pass the spec root the node ran",
                record.seq,
                record.node,
                exchange.side.as_str(),
                request.root.display(),
                exchange.client,
                exchange.service
            )
        })?;
        match &signer {
            Some((first, first_record)) if *first != participant => {
                return Err(format!(
                    "message id `{id}` was logged by node {} (sealed by `{first}`) and node {} \
                     (sealed by `{participant}`); export one of them with --node",
                    first_record.node, record.node
                ));
            }
            Some(_) => {}
            None => signer = Some((participant, record)),
        }
    }
    let (participant_id, _) = signer.expect("at least one record");
    let participant = loaded
        .spec
        .participant(&participant_id)
        .expect("the signer was found in this spec");
    let cert_path = crate::spec::source::inside_root(request.root, &participant.seal.cert)
        .map_err(|outside| {
            format!(
                "the seal of participant `{participant_id}`, `{}`, {outside}",
                participant.seal.cert
            )
        })?;
    let cert = crate::crypto::read_certificates(&cert_path)
        .map_err(|e| {
            format!(
                "cannot read the seal certificate of participant `{participant_id}` at {}: {e}; \
                 for development, run `hromada keys dev {}`",
                cert_path.display(),
                request.root.display()
            )
        })?
        .remove(0);
    let keys = KeyRing::new(request.keys.to_path_buf());
    let key = keys
        .seal_key(&participant_id)
        .and_then(|key| PKey::from_ec_key(key).map_err(|e| e.to_string()))
        .map_err(|e| format!("{e}; or pass the folder holding the keys with --keys"))?;
    let key_path = keys.seal_key_path(&participant_id);
    if !cert.public_key().is_ok_and(|public| public.public_eq(&key)) {
        return Err(format!(
            "the key {} is not the key of the seal certificate {} of participant \
             `{participant_id}`; run `hromada keys dev {}` again to make them match",
            key_path.display(),
            cert_path.display(),
            request.root.display()
        ));
    }
    let document = json!({
        "format": EXPORT_FORMAT,
        "message_id": id,
        "request_id": request_id,
        "hash": "lowercase hex SHA-256 of prev_hash \"\\n\" seq \"\\n\" node \"\\n\" entry; \
                 the first record of a node has prev_hash 64 zeros",
        "records": records.iter().map(|r| json!({
            "node": r.node,
            "seq": r.seq,
            "logged_at": r.logged_at,
            "prev_hash": r.prev_hash,
            "hash": r.hash,
            "entry": r.entry,
        })).collect::<Vec<_>>(),
    });
    let content = serde_json::to_vec_pretty(&document).expect("JSON of strings and numbers");
    let signed = CmsContentInfo::sign(
        Some(&cert),
        Some(&key),
        None,
        Some(&content),
        CMSOptions::BINARY,
    )
    .and_then(|cms| cms.to_der())
    .map_err(|e| format!("cannot sign the export with the seal of `{participant_id}`: {e}"))?;
    Ok(Export {
        der: signed,
        participant: participant_id,
        records: records.len(),
    })
}

/// The participant whose seal speaks for a record: the provider on the producer side, the
/// consumer on the client side; by spec id when the record has it, else by member code.
fn sealing_participant(spec: &Spec, exchange: &Exchange) -> Option<String> {
    let (spec_id, xroad_id) = match exchange.side {
        Side::Producer => (&exchange.provider, &exchange.service),
        Side::Client => (&exchange.consumer, &exchange.client),
    };
    if let Some(id) = spec_id
        && let Some((participant, _)) = id.split_once('/')
        && spec.participant(participant).is_some()
    {
        return Some(participant.to_string());
    }
    let member_code = xroad_id.split('/').nth(2)?;
    let mut owners = spec.participants.iter().filter(|p| p.edrpou == member_code);
    match (owners.next(), owners.next()) {
        (Some(only), None) => Some(only.id.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<LogRecord> {
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|seq| {
                let entry = format!(r#"{{"message_id":"m{seq}"}}"#);
                let hash = chain_hash(&prev, seq, "gw", &entry);
                LogRecord {
                    node: "gw".into(),
                    seq,
                    message_id: format!("m{seq}"),
                    logged_at: "2026-01-01T00:00:00.000000000Z".into(),
                    entry,
                    prev_hash: std::mem::replace(&mut prev, hash.clone()),
                    hash,
                }
            })
            .collect()
    }

    fn first_problem(records: &[LogRecord], head: (i64, &str)) -> Option<Problem> {
        let mut walk = Walk::new();
        for r in records {
            if let Some(p) = walk.step(r) {
                return Some(p);
            }
        }
        walk.end(head.0, head.1)
    }

    fn head_of(records: &[LogRecord]) -> (i64, String) {
        let last = records.last().unwrap();
        (last.seq, last.hash.clone())
    }

    #[test]
    fn an_intact_chain_passes() {
        let records = chain(5);
        let (seq, hash) = head_of(&records);
        assert_eq!(first_problem(&records, (seq, &hash)), None);
    }

    #[test]
    fn an_altered_entry_is_named() {
        let mut records = chain(5);
        let (seq, hash) = head_of(&records);
        records[2].entry = r#"{"message_id":"m3","status":200}"#.into();
        let problem = first_problem(&records, (seq, &hash)).unwrap();
        assert_eq!(problem.to_string(), "record 3 (message id m3) was altered");
    }

    #[test]
    fn a_removed_record_is_named_by_its_neighbours() {
        let mut records = chain(5);
        let (seq, hash) = head_of(&records);
        records.remove(2);
        let problem = first_problem(&records, (seq, &hash)).unwrap();
        assert_eq!(problem.to_string(), "a record between 2 and 4 is missing");
        let mut records = chain(5);
        records.truncate(3);
        let problem = first_problem(&records, (seq, &hash)).unwrap();
        assert_eq!(
            problem.to_string(),
            "the records after 3 are missing (the end of the chain)"
        );
    }

    #[test]
    fn swapped_records_are_reported_as_reordered() {
        let mut records = chain(5);
        let (seq, hash) = head_of(&records);
        records.swap(1, 2);
        records[1].seq = 2;
        records[2].seq = 3;
        let problem = first_problem(&records, (seq, &hash)).unwrap();
        assert_eq!(
            problem.to_string(),
            "record 2 (message id m3) is out of order: it was written as record 3"
        );
    }

    #[test]
    fn a_rechained_record_is_caught_by_its_successor() {
        let mut records = chain(5);
        let (seq, hash) = head_of(&records);
        // Rewritten with a valid hash of its own: the next record no longer links to it.
        records[1].entry = r#"{"message_id":"m2","forged":true}"#.into();
        records[1].hash = chain_hash(&records[1].prev_hash, 2, "gw", &records[1].entry);
        let problem = first_problem(&records, (seq, &hash)).unwrap();
        assert_eq!(
            problem.to_string(),
            "record 3 (message id m3) does not follow record 2: a record before it was replaced \
             or removed"
        );
    }
}
