//! Auditing the message log: `verify` walks every node's hash chain in pages, re-hashes each
//! record with [`chain_hash`], links it to the one before, holds it to the node's signed
//! checkpoints (and other nodes' copies of them) and names the first record that was altered,
//! removed, reordered, recomputed or cut; `export` seals one transaction's records as CMS
//! SignedData. Nothing here writes to the store.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use chrono::{DateTime, TimeDelta};
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::pkey::PKey;
use serde::Deserialize;
use serde_json::json;

use super::anchor::{self, NodeKeys};
use super::keys::KeyRing;
use crate::spec::Spec;
use crate::store::{
    Checkpoint, Exchange, GENESIS_HASH, Link, LogHead, LogRecord, PeerCheckpoint, RetentionRow,
    Side, Store, StoreError, chain_hash,
};

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
    /// A checkpoint does not carry a valid signature of its node.
    ForgedCheckpoint { anchor: Anchor, why: String },
    /// The chain is linked and hashed throughout but its record at a checkpoint's seq is not the
    /// one the checkpoint signed: a record after `after` (the last checkpoint that matches) and
    /// up to the checkpoint was rewritten and every hash after it recomputed.
    Recomputed { anchor: Anchor, after: i64 },
    /// The chain ends at `records`, before a checkpoint: its tail was cut and its head moved back.
    Truncated { anchor: Anchor, records: i64 },
    /// The record at `seq` is intact but its bodies left the log other than by retention (`why`).
    BodiesRemoved {
        seq: i64,
        message_id: String,
        why: String,
    },
}

/// A checkpoint the chain is held to, and where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub checkpoint: Checkpoint,
    /// `this store`, or the store of the node holding a copy (`node gw-b's copy`).
    pub source: String,
    /// For a copy: how the node holding it received it.
    pub receipt: Option<Receipt>,
}

/// How a node received another node's checkpoint: which node, when, and its countersignature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub received_by: String,
    pub received_at: String,
    pub countersignature: String,
}

impl fmt::Display for Anchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "checkpoint {} (signed at {}, {})",
            self.checkpoint.seq, self.checkpoint.signed_at, self.source
        )
    }
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
            Problem::ForgedCheckpoint { anchor, why } => write!(
                f,
                "{anchor} is not signed by the node's key ({why}): it was forged or altered \
                 (or this is not the spec the node ran); compare the log with the other nodes' \
                 copies of its checkpoints"
            ),
            Problem::Recomputed { anchor, after } => write!(
                f,
                "the chain does not match {anchor}: a record after {after} and up to {} was \
                 rewritten and every later hash recomputed; restore the log from a backup and \
                 compare it with the other nodes' copies",
                anchor.checkpoint.seq
            ),
            Problem::BodiesRemoved {
                seq,
                message_id,
                why,
            } => write!(
                f,
                "the bodies of record {seq} (message id {message_id}) {why}; only retention \
                 disposes of bodies: restore them from a backup"
            ),
            Problem::Truncated { anchor, records } => write!(
                f,
                "the chain ends at record {records}, before {anchor}: records {} to {} at least \
                 were cut off and the head moved back; restore them from a backup",
                records + 1,
                anchor.checkpoint.seq
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
    /// Checkpoints the chain was held to (this store's and other nodes' copies).
    pub checkpoints: usize,
    /// Why the checkpoints' signatures were not checked, when they were not.
    pub unsigned: Option<String>,
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

/// What a chain is held to besides itself.
#[derive(Default)]
pub struct Anchors<'a> {
    /// The node keys of the spec the nodes ran ([`anchor::node_keys`]); without them the
    /// checkpoints' signatures are not checked.
    pub keys: Option<&'a NodeKeys>,
    /// Stores of other nodes, by node, whose copies of this store's checkpoints are compared.
    pub peers: Vec<(String, &'a Store)>,
}

/// Walks the chain of `node` (every node's when `None`), up to the head each had when the walk
/// began, holds it to its signed checkpoints and reports the first problem of each.
/// A node named but without any record is an error, so a typo is not reported as intact.
pub async fn verify(store: &Store, node: Option<&str>) -> Result<Report, StoreError> {
    verify_anchored(store, node, &Anchors::default()).await
}

/// [`verify`], with the checkpoints' signatures checked against `anchors.keys` and the other
/// nodes' copies of the checkpoints in `anchors.peers` compared too.
pub async fn verify_anchored(
    store: &Store,
    node: Option<&str>,
    anchors: &Anchors<'_>,
) -> Result<Report, StoreError> {
    verify_retained(store, node, anchors, None).await
}

/// [`verify_anchored`], with bodies disposed of sooner than `keep_bodies` (how long the spec the
/// nodes ran keeps them, and its rule: [`super::disposal::kept_for`]) named too.
pub async fn verify_retained(
    store: &Store,
    node: Option<&str>,
    anchors: &Anchors<'_>,
    keep_bodies: Option<&(TimeDelta, RetentionRow)>,
) -> Result<Report, StoreError> {
    let mut heads = store.message_log_heads().await?;
    // A chain removed whole, head and all, is still held to the checkpoints left of it.
    for signed in store.checkpoint_nodes().await? {
        if !heads.iter().any(|h| h.node == signed) {
            heads.push(empty_head(signed));
        }
    }
    let heads: Vec<_> = match node {
        Some(node) => match heads.into_iter().find(|h| h.node == node) {
            Some(head) => vec![head],
            None if !held_anchors(store, node, anchors).await?.is_empty() => {
                vec![empty_head(node.to_string())]
            }
            None => {
                return Err(StoreError::new(format!(
                    "the message log holds no records of node `{node}`; `hromada audit verify` \
                     without --node lists the nodes it holds"
                )));
            }
        },
        None => heads,
    };
    let mut report = Report::default();
    for head in heads {
        let held = held_anchors(store, &head.node, anchors).await?;
        let (unsigned, forged) = check_signatures(anchors.keys, &head.node, &held);
        let mut walk = Walk::new(&held);
        walk.keep_bodies = keep_bodies;
        walk.problem = forged;
        let mut after = 0;
        // Up to the head as read first: records written meanwhile are for the next run.
        'pages: while walk.problem.is_none() && after < head.seq {
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
            checkpoints: held.len(),
            unsigned,
            problem: walk.problem,
        });
    }
    Ok(report)
}

/// The head of a chain of which nothing is left.
fn empty_head(node: String) -> LogHead {
    LogHead {
        node,
        seq: 0,
        hash: GENESIS_HASH.to_string(),
    }
}

/// The checkpoints of `node`'s chain in `store` and the other nodes' copies of them.
async fn held_anchors(
    store: &Store,
    node: &str,
    anchors: &Anchors<'_>,
) -> Result<Vec<Anchor>, StoreError> {
    let mut held: Vec<Anchor> = store
        .checkpoints(node)
        .await?
        .into_iter()
        .map(|checkpoint| Anchor {
            checkpoint,
            source: "this store".into(),
            receipt: None,
        })
        .collect();
    for (peer, peer_store) in &anchors.peers {
        held.extend(
            peer_store
                .peer_checkpoints(node)
                .await?
                .into_iter()
                .map(|p| Anchor {
                    checkpoint: p.checkpoint,
                    source: format!("node {peer}'s copy"),
                    receipt: Some(Receipt {
                        received_by: p.received_by,
                        received_at: p.received_at,
                        countersignature: p.countersignature,
                    }),
                }),
        );
    }
    Ok(held)
}

/// Verifies the records of `head`'s chain after `from` (a checkpoint's seq and hash; the start
/// of the chain when `None`) up to `head`: the first problem, if any.
pub async fn verify_since(
    store: &Store,
    head: &LogHead,
    from: Option<(i64, &str)>,
) -> Result<Option<Problem>, StoreError> {
    let mut walk = Walk::new(&[]);
    if let Some((seq, hash)) = from {
        walk.seq = seq;
        walk.hash = hash.to_string();
    }
    let mut after = walk.seq;
    while after < head.seq {
        let page = store
            .message_log(&head.node, after, PAGE.min(head.seq - after))
            .await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        if let Some(problem) = page.iter().find_map(|record| walk.step(record)) {
            return Ok(Some(problem));
        }
    }
    Ok(walk.end(head.seq, &head.hash))
}

/// Why the signatures of `node`'s checkpoints cannot be checked (no keys, or none for the node),
/// or the first checkpoint whose signature is not the node's.
fn check_signatures(
    keys: Option<&NodeKeys>,
    node: &str,
    held: &[Anchor],
) -> (Option<String>, Option<Problem>) {
    let key = match keys.map(|keys| keys.get(node)) {
        None => return (Some("no spec to check them against".into()), None),
        Some(None) => {
            return (
                Some(format!("the spec names no gateway node `{node}`")),
                None,
            );
        }
        Some(Some(Err(why))) => return (Some(format!("node `{node}`: {why}")), None),
        Some(Some(Ok(key))) => key,
    };
    let forged = held.iter().find_map(|a| {
        let why = match anchor::verify(key, &a.checkpoint) {
            Ok(()) if a.checkpoint.node != node => "it names another node".to_string(),
            Ok(()) => countersignature_problem(keys?, a)?,
            Err(e) => e.to_string(),
        };
        Some(Problem::ForgedCheckpoint {
            anchor: a.clone(),
            why,
        })
    });
    (None, forged)
}

/// Why the countersignature of a copy does not hold, if it does not (the receiving node's key
/// must be in the spec and the countersignature its own).
fn countersignature_problem(keys: &NodeKeys, a: &Anchor) -> Option<String> {
    let receipt = a.receipt.as_ref()?;
    let by = &receipt.received_by;
    let copy = PeerCheckpoint {
        checkpoint: a.checkpoint.clone(),
        received_by: by.clone(),
        received_at: receipt.received_at.clone(),
        countersignature: receipt.countersignature.clone(),
    };
    match keys.get(by.as_str()) {
        Some(Ok(key)) => anchor::verify_countersignature(key, &copy)
            .err()
            .map(|e| format!("its countersignature by node `{by}` does not hold: {e}")),
        Some(Err(why)) => Some(format!("node `{by}`, which countersigned it: {why}")),
        None => Some(format!(
            "it was countersigned by `{by}`, no node of the spec"
        )),
    }
}

/// The state of a walk along one chain.
struct Walk<'a> {
    seq: i64,
    hash: String,
    message_id: String,
    format: i64,
    records: i64,
    /// The checkpoints the chain is held to, by seq.
    anchors: BTreeMap<i64, Vec<&'a Anchor>>,
    /// The seq of the last checkpoint the chain matched.
    matched: i64,
    problem: Option<Problem>,
    /// How long bodies are kept, and the rule ([`verify_retained`]).
    keep_bodies: Option<&'a (TimeDelta, RetentionRow)>,
}

impl<'a> Walk<'a> {
    fn new(anchors: &'a [Anchor]) -> Walk<'a> {
        let mut by_seq: BTreeMap<i64, Vec<&Anchor>> = BTreeMap::new();
        for a in anchors {
            by_seq.entry(a.checkpoint.seq).or_default().push(a);
        }
        Walk {
            seq: 0,
            hash: GENESIS_HASH.to_string(),
            message_id: String::new(),
            format: 1,
            records: 0,
            anchors: by_seq,
            matched: 0,
            problem: None,
            keep_bodies: None,
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
        // A record never goes back to an older format: that would drop columns from its hash.
        if !record.hashes_right() || record.format < self.format {
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
        if let Some(anchor) = self
            .anchors
            .get(&record.seq)
            .and_then(|held| held.iter().find(|a| a.checkpoint.hash != record.hash))
        {
            return Some(Problem::Recomputed {
                anchor: (*anchor).clone(),
                after: self.matched,
            });
        }
        if let Some(why) = bodies_gone(record, self.keep_bodies) {
            return Some(Problem::BodiesRemoved {
                seq: record.seq,
                message_id: shown_id,
                why,
            });
        }
        if self.anchors.contains_key(&record.seq) {
            self.matched = record.seq;
        }
        self.seq = record.seq;
        self.hash.clone_from(&record.hash);
        self.message_id = shown_id;
        self.format = record.format;
        self.records += 1;
        None
    }

    /// After the last record: whether the head agrees that the chain ends here.
    fn end(&self, head_seq: i64, head_hash: &str) -> Option<Problem> {
        if let Some(anchor) = self
            .anchors
            .range(self.seq + 1..)
            .next_back()
            .and_then(|(_, held)| held.first())
        {
            return Some(Problem::Truncated {
                anchor: (*anchor).clone(),
                records: self.seq,
            });
        }
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

/// How the bodies of an intact record left the log other than by retention, if they did: gone
/// with no disposal recorded, marked disposed of before the record was logged, or sooner than
/// `keep` (the period bodies are kept, and its rule) allows.
fn bodies_gone(record: &LogRecord, keep: Option<&(TimeDelta, RetentionRow)>) -> Option<String> {
    if record.bodies.is_some() || record.bodies_digest.is_none() {
        return None;
    }
    let Some(at) = &record.disposed_at else {
        return Some("are gone, and no disposal is recorded".into());
    };
    let time = |text: &str| DateTime::parse_from_rfc3339(text).ok();
    let (Some(logged), Some(disposed)) = (time(&record.logged_at), time(at)) else {
        return Some(format!(
            "are marked disposed of at {at:?}, which is not a time to compare with when the \
             record was logged ({})",
            record.logged_at
        ));
    };
    let after = disposed - logged;
    if after < TimeDelta::zero() {
        return Some(format!(
            "are marked disposed of at {at}, before the record was logged ({})",
            record.logged_at
        ));
    }
    let (kept, rule) = keep?;
    (after < *kept).then(|| {
        format!(
            "were disposed of at {at}, {} after the record was logged, while the retention rule \
             `{}` keeps them {}",
            humantime::format_duration(std::time::Duration::from_secs(
                after.num_seconds().unsigned_abs()
            )),
            rule.id,
            rule.period
        )
    })
}

/// The seq an intact record was written with, when it now sits elsewhere.
fn written_as(record: &LogRecord) -> Option<i64> {
    let low = (record.seq - REORDER_WINDOW).max(1);
    (low..=record.seq + REORDER_WINDOW).find(|&seq| {
        seq != record.seq
            && chain_hash(&Link {
                seq,
                ..record.link()
            })
            .as_deref()
                == Some(record.hash.as_str())
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
    /// Records whose bodies retention disposed of.
    pub disposed: usize,
}

/// How a record's hash is made, as an export states it for whoever checks it later.
const HASH_RULE: &str = "lowercase hex SHA-256; format 2: of the lines \"hromada-log/2\", \
     prev_hash, seq, node, message_id as a JSON string, logged_at, bodies_digest (empty when no \
     bodies were kept), each followed by \"\\n\", then entry; bodies_digest is the SHA-256 of the \
     kept bodies text, which retention may dispose of; format 1: of prev_hash \"\\n\" seq \"\\n\" \
     node \"\\n\" entry. The first record of a node has prev_hash 64 zeros";

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
        if !record.hashes_right() {
            return Err(format!(
                "record {} of node {} (message id `{id}`) does not match its hash, so it is not \
                 sealed; run `hromada audit verify --node {}`",
                record.seq, record.node, record.node
            ));
        }
        let exchange = record.exchange().map_err(|e| {
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
        "hash": HASH_RULE,
        "records": records.iter().map(|r| json!({
            "node": r.node,
            "seq": r.seq,
            "message_id": r.message_id,
            "logged_at": r.logged_at,
            "format": r.format,
            "prev_hash": r.prev_hash,
            "hash": r.hash,
            "entry": r.entry,
            "bodies_digest": r.bodies_digest,
            "bodies": match (&r.bodies, &r.disposed_at) {
                (Some(bodies), _) => json!({"kept": bodies}),
                (None, Some(at)) => json!({"disposed": at}),
                (None, None) => json!(null),
            },
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
        disposed: records.iter().filter(|r| r.disposed_at.is_some()).count(),
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
                let mut record = LogRecord {
                    node: "gw".into(),
                    seq,
                    message_id: format!("m{seq}"),
                    logged_at: "2026-01-01T00:00:00.000000000Z".into(),
                    entry: format!(r#"{{"message_id":"m{seq}"}}"#),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                    format: 2,
                    bodies: None,
                    bodies_digest: None,
                    disposed_at: None,
                };
                record.hash = chain_hash(&record.link()).unwrap();
                prev.clone_from(&record.hash);
                record
            })
            .collect()
    }

    fn first_problem(records: &[LogRecord], head: (i64, &str)) -> Option<Problem> {
        first_problem_held(records, head, &[])
    }

    fn first_problem_held(
        records: &[LogRecord],
        head: (i64, &str),
        anchors: &[Anchor],
    ) -> Option<Problem> {
        let mut walk = Walk::new(anchors);
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
        records[1].hash = chain_hash(&records[1].link()).unwrap();
        let problem = first_problem(&records, (seq, &hash)).unwrap();
        assert_eq!(
            problem.to_string(),
            "record 3 (message id m3) does not follow record 2: a record before it was replaced \
             or removed"
        );
    }

    fn anchor_at(records: &[LogRecord], seq: i64) -> Anchor {
        let r = &records[usize::try_from(seq - 1).unwrap()];
        Anchor {
            checkpoint: Checkpoint {
                node: "gw".into(),
                seq,
                hash: r.hash.clone(),
                signed_at: "2026-01-01T00:00:01.000000000Z".into(),
                signature: String::new(),
            },
            source: "this store".into(),
            receipt: None,
        }
    }

    /// Rewrites record `at` and re-chains every record after it, as one who can write the
    /// database (but not sign) would.
    fn recompute_from(records: &mut [LogRecord], at: usize) {
        records[at].entry = r#"{"message_id":"m3","forged":true}"#.into();
        for i in at..records.len() {
            if i > 0 {
                records[i].prev_hash = records[i - 1].hash.clone();
            }
            records[i].hash = chain_hash(&records[i].link()).unwrap();
        }
    }

    #[test]
    fn a_recomputed_chain_is_caught_by_the_checkpoint_after_it() {
        let mut records = chain(8);
        let anchors = [anchor_at(&records, 2), anchor_at(&records, 6)];
        recompute_from(&mut records, 2);
        let (seq, hash) = head_of(&records);
        assert_eq!(
            first_problem(&records, (seq, &hash)),
            None,
            "unanchored, it passes"
        );
        let problem = first_problem_held(&records, (seq, &hash), &anchors).unwrap();
        assert_eq!(
            problem.to_string(),
            "the chain does not match checkpoint 6 (signed at 2026-01-01T00:00:01.000000000Z, \
             this store): a record after 2 and up to 6 was rewritten and every later hash \
             recomputed; restore the log from a backup and compare it with the other nodes' copies"
        );
    }

    #[test]
    fn a_chain_cut_before_a_checkpoint_is_truncated() {
        let mut records = chain(8);
        let anchors = [anchor_at(&records, 3), anchor_at(&records, 7)];
        records.truncate(5);
        let (seq, hash) = head_of(&records);
        let problem = first_problem_held(&records, (seq, &hash), &anchors).unwrap();
        assert!(
            matches!(problem, Problem::Truncated { records: 5, .. }),
            "{problem:?}"
        );
        assert!(
            problem
                .to_string()
                .starts_with("the chain ends at record 5, before checkpoint 7 (signed at ")
        );
    }

    #[test]
    fn a_later_record_of_an_older_format_is_altered() {
        let mut records = chain(3);
        let (seq, hash) = head_of(&records);
        records[1].format = 1;
        records[1].hash = chain_hash(&records[1].link()).unwrap();
        records[2].prev_hash = records[1].hash.clone();
        records[2].hash = chain_hash(&records[2].link()).unwrap();
        let problem = first_problem(&records, (seq, &hash)).unwrap();
        assert_eq!(problem.to_string(), "record 2 (message id m2) was altered");
    }
}
