//! Checkpoints at run time: every N records or T seconds this node verifies the records written
//! since its last checkpoint and signs its chain's head (never one signature per exchange); the
//! latest travels to the nodes it talks to, and theirs, verified, are countersigned and kept.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use axum::http::{HeaderMap, HeaderValue};
use chrono::Utc;
use tokio::sync::{Notify, mpsc, watch};

use super::Gateway;
use super::anchor;
use super::audit;
use crate::compile::Compiled;
use crate::compile::current::Current;
use crate::store::{Checkpoint, Store};

/// The header a node's latest signed checkpoint travels in between nodes (base64 of its JSON).
pub const HEADER_CHECKPOINT: &str = "x-hromada-checkpoint";

/// How many records of this node at most go unsigned by default (`--checkpoint-records`).
pub const DEFAULT_RECORDS: u64 = 1000;

/// Counts the records written since the last checkpoint and wakes the checkpointer at N.
pub struct Tally {
    since: AtomicU64,
    every: u64,
    due: Notify,
}

impl Tally {
    pub fn new(every: u64) -> Tally {
        Tally {
            since: AtomicU64::new(0),
            every: every.max(1),
            due: Notify::new(),
        }
    }

    /// One more record written.
    pub fn add(&self) {
        if self.since.fetch_add(1, Ordering::Relaxed) + 1 == self.every {
            self.due.notify_one();
        }
    }
}

/// Other nodes' checkpoints waiting to be verified and kept, at most this many.
const RECEIVED_QUEUE: usize = 64;

/// A checkpoint as received, with the node that sent it.
type Received = (String, Checkpoint);

/// What the gateway holds of checkpoints between requests.
pub struct Anchoring {
    /// This node's latest signed checkpoint as sent along with forwarded calls and answers
    /// (encoded once, when signed).
    latest: ArcSwapOption<HeaderValue>,
    kept: Mutex<Peers>,
    received: mpsc::Sender<Received>,
    /// Taken by [`run`], which verifies, countersigns and stores what was received.
    to_keep: Mutex<Option<mpsc::Receiver<Received>>>,
}

impl Default for Anchoring {
    fn default() -> Anchoring {
        let (received, to_keep) = mpsc::channel(RECEIVED_QUEUE);
        Anchoring {
            latest: ArcSwapOption::empty(),
            kept: Mutex::new(Peers::default()),
            received,
            to_keep: Mutex::new(Some(to_keep)),
        }
    }
}

/// How often at most a new checkpoint header of one other node is looked at: a node signs every
/// N records or T seconds, but one that sent a new header with every message would otherwise
/// make this node decode, verify, countersign and store one per message.
const CONSIDER_EVERY: Duration = Duration::from_secs(1);

/// Per other node, what it last sent (the same header again costs a comparison), when a new
/// header of it was last looked at, and the highest checkpoint seq kept from it (older ones cost
/// nothing either).
#[derive(Default)]
struct Peers {
    seen: HashMap<String, HeaderValue>,
    considered: HashMap<String, Instant>,
    kept: HashMap<String, i64>,
}

impl Anchoring {
    /// Sets this node's latest checkpoint on a message to another node.
    pub fn attach(&self, headers: &mut HeaderMap) {
        if let Some(value) = self.latest.load_full() {
            headers.insert(HEADER_CHECKPOINT, (*value).clone());
        }
    }

    /// Publishes `checkpoint` as this node's latest.
    fn publish(&self, checkpoint: &Checkpoint) {
        let json = serde_json::to_vec(checkpoint).expect("a checkpoint serialises to JSON");
        let value = HeaderValue::from_str(&openssl::base64::encode_block(&json))
            .expect("base64 is a valid header value");
        self.latest.store(Some(Arc::new(value)));
    }

    /// Takes the checkpoint node `from` (authenticated by mutual TLS) sent in `headers`, if any:
    /// one newer than kept is queued for [`run`] to verify against `from`'s certificate in the
    /// current revision, countersign and store, off the request path. A checkpoint that is not
    /// `from`'s own or whose signature fails is logged and dropped there.
    ///
    /// A new header is looked at once per [`CONSIDER_EVERY`] per node; one sent sooner is left,
    /// and the node's next message carries its latest again.
    pub fn take(&self, from: &str, headers: &HeaderMap) {
        self.take_at(from, headers, Instant::now());
    }

    fn take_at(&self, from: &str, headers: &HeaderMap, now: Instant) {
        let Some(value) = headers.get(HEADER_CHECKPOINT) else {
            return;
        };
        let mut peers = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if peers.seen.get(from) == Some(value) {
            return;
        }
        if peers
            .considered
            .get(from)
            .is_some_and(|at| now.saturating_duration_since(*at) < CONSIDER_EVERY)
        {
            return;
        }
        peers.considered.insert(from.to_string(), now);
        let Some(checkpoint) = decode(value) else {
            tracing::warn!("node `{from}` sent a checkpoint header that is not a checkpoint");
            return;
        };
        // The seq kept last is looked at again: if its head differs, the sender's log was
        // rewritten ([`disagrees`]).
        let older = peers
            .kept
            .get(from)
            .is_some_and(|seq| *seq > checkpoint.seq);
        // Full: the checkpoints of a moment ago are still being kept; this one comes again.
        if older
            || self
                .received
                .try_send((from.to_string(), checkpoint))
                .is_ok()
        {
            peers.seen.insert(from.to_string(), value.clone());
        }
    }

    fn kept(&self, from: String, seq: i64) {
        let mut peers = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        let held = peers.kept.entry(from).or_insert(seq);
        *held = (*held).max(seq);
    }
}

fn decode(value: &HeaderValue) -> Option<Checkpoint> {
    let json = openssl::base64::decode_block(value.to_str().ok()?).ok()?;
    serde_json::from_slice(&json).ok()
}

/// Verifies, countersigns and stores one checkpoint of node `from`; answers its seq.
async fn keep(
    gateway: &Gateway,
    compiled: &Compiled,
    from: &str,
    checkpoint: Checkpoint,
) -> Result<i64, String> {
    let seq = checkpoint.seq;
    let refused =
        |why: String| format!("the checkpoint {seq} node `{from}` sent is not kept: {why}");
    if checkpoint.node != from {
        return Err(refused(format!(
            "it is a checkpoint of node `{}`",
            checkpoint.node
        )));
    }
    let key = compiled.gateway.trust.node_key(from).map_err(&refused)?;
    anchor::verify(key, &checkpoint).map_err(|e| refused(e.to_string()))?;
    let own = gateway.keys.node_key(&compiled.node).map_err(&refused)?;
    let store = gateway.ledger.store();
    let copy = anchor::countersign(&own, checkpoint, &compiled.node, Utc::now())?;
    if store
        .save_peer_checkpoint(&copy)
        .await
        .map_err(|e| refused(e.to_string()))?
    {
        peer_outcome("kept");
    } else {
        disagrees(store, &copy.checkpoint).await;
    }
    Ok(seq)
}

/// Counts what became of a checkpoint another node sent (`kept`, `refused`, `disagrees`).
fn peer_outcome(outcome: &'static str) {
    metrics::counter!("hromada_peer_checkpoints_total", "outcome" => outcome).increment(1);
}

/// Logs, as an error, a checkpoint that differs from the copy held of the same seq: the
/// sender's message log was rewritten since it signed the first.
async fn disagrees(store: &Store, sent: &Checkpoint) {
    match store.peer_checkpoint(&sent.node, sent.seq).await {
        Ok(Some(held)) if held.checkpoint.hash != sent.hash => {
            peer_outcome("disagrees");
            tracing::error!(
                "node `{}` sent checkpoint {} with a head other than the copy this node keeps \
                 (received at {}): its message log was rewritten; run `hromada audit verify \
                 --peer {}=<this node's database>` on that node's store",
                sent.node,
                sent.seq,
                held.received_at,
                held.received_by
            )
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("{e}"),
    }
}

/// Signs this node's head when the tally reaches its count or `every` passes, and keeps the
/// checkpoints other nodes sent, until `stopped`.
pub async fn run(
    current: Current,
    gateway: Arc<Gateway>,
    tally: Arc<Tally>,
    every: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let taken = gateway
        .anchoring
        .to_keep
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    let Some(mut received) = taken else {
        tracing::error!("the checkpointer runs twice; this one stops");
        return;
    };
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = tally.due.notified() => {}
            Some((from, checkpoint)) = received.recv() => {
                let Some(compiled) = current.load_full() else { continue };
                match keep(&gateway, &compiled, &from, checkpoint).await {
                    Ok(seq) => gateway.anchoring.kept(from, seq),
                    Err(e) => {
                        peer_outcome("refused");
                        tracing::warn!("{e}");
                    }
                }
                continue;
            }
            _ = stopped.changed() => return,
        }
        tally.since.store(0, Ordering::Relaxed);
        take_now(&current, &gateway).await;
    }
}

/// Takes a checkpoint of this node's chain now (if a revision is applied), logging failures.
pub async fn take_now(current: &Current, gateway: &Gateway) {
    let Some(compiled) = current.load_full() else {
        return;
    };
    match checkpoint(gateway.ledger.store(), gateway, &compiled.node).await {
        Ok(Some(latest)) => {
            metrics::gauge!("hromada_message_log_checkpoint_seq").set(latest.seq as f64);
            gateway.anchoring.publish(&latest);
        }
        Ok(None) => {}
        Err(e) => {
            metrics::counter!("hromada_message_log_checkpoints_total", "outcome" => "failed")
                .increment(1);
            tracing::error!("{e}");
        }
    }
}

/// This node's latest checkpoint, signing a new one first if the head moved past it: the
/// records since the last checkpoint are verified before their head is signed, so a record
/// rewritten in the database meanwhile is never vouched for.
async fn checkpoint(
    store: &Store,
    gateway: &Gateway,
    node: &str,
) -> Result<Option<Checkpoint>, String> {
    let failed = |e: String| format!("no checkpoint of the message log of node `{node}`: {e}");
    let head = store
        .message_log_head(node)
        .await
        .map_err(|e| failed(e.to_string()))?;
    let latest = store
        .latest_checkpoint(node)
        .await
        .map_err(|e| failed(e.to_string()))?;
    let Some(head) = head.filter(|h| latest.as_ref().is_none_or(|c| c.seq < h.seq)) else {
        return Ok(latest);
    };
    let from = latest.as_ref().map(|c| (c.seq, c.hash.as_str()));
    if let Some(problem) = audit::verify_since(store, &head, from)
        .await
        .map_err(|e| failed(e.to_string()))?
    {
        return Err(failed(format!(
            "{problem}; run `hromada audit verify --node {node}`"
        )));
    }
    let key = gateway.keys.node_key(node).map_err(failed)?;
    let signed = anchor::sign(&key, &head, Utc::now()).map_err(failed)?;
    store
        .save_checkpoint(&signed)
        .await
        .map_err(|e| failed(e.to_string()))?;
    metrics::counter!("hromada_message_log_checkpoints_total", "outcome" => "signed").increment(1);
    Ok(Some(signed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(seq: i64) -> HeaderMap {
        let anchoring = Anchoring::default();
        anchoring.publish(&Checkpoint {
            node: "gw-a".into(),
            seq,
            hash: "ab".repeat(32),
            signed_at: "2026-12-06T00:00:00.000000000Z".into(),
            signature: "c2ln".into(),
        });
        let mut headers = HeaderMap::new();
        anchoring.attach(&mut headers);
        headers
    }

    #[test]
    fn a_checkpoint_is_queued_once_and_never_when_older_than_kept() {
        let anchoring = Anchoring::default();
        let mut queue = anchoring.to_keep.lock().unwrap().take().unwrap();
        let start = Instant::now();
        let at = |seconds: u64| start + Duration::from_secs(seconds);
        anchoring.take_at("gw-a", &sent(5), at(0));
        let (from, checkpoint) = queue.try_recv().unwrap();
        assert_eq!((from.as_str(), checkpoint.seq), ("gw-a", 5));
        anchoring.take_at("gw-a", &sent(5), at(1));
        assert!(
            queue.try_recv().is_err(),
            "the same header again costs nothing"
        );
        anchoring.kept("gw-a".into(), 7);
        anchoring.take_at("gw-a", &sent(6), at(2));
        assert!(queue.try_recv().is_err(), "older than kept");
        anchoring.take_at("gw-a", &sent(7), at(3));
        assert_eq!(
            queue.try_recv().unwrap().1.seq,
            7,
            "the seq kept, sent anew"
        );
        anchoring.take_at("gw-a", &sent(8), at(4));
        assert_eq!(queue.try_recv().unwrap().1.seq, 8);
        let mut garbage = HeaderMap::new();
        garbage.insert(HEADER_CHECKPOINT, HeaderValue::from_static("not base64!"));
        anchoring.take_at("gw-a", &garbage, at(5));
        anchoring.take_at("gw-b", &HeaderMap::new(), at(5));
        assert!(queue.try_recv().is_err());
    }

    #[test]
    fn a_node_gets_one_new_checkpoint_looked_at_per_interval() {
        let anchoring = Anchoring::default();
        let mut queue = anchoring.to_keep.lock().unwrap().take().unwrap();
        let start = Instant::now();
        for seq in 1..=50 {
            anchoring.take_at(
                "gw-a",
                &sent(seq),
                start + Duration::from_millis(seq as u64),
            );
        }
        assert_eq!(queue.try_recv().unwrap().1.seq, 1);
        assert!(queue.try_recv().is_err(), "the other 49 are left");
        anchoring.take_at("gw-b", &sent(3), start);
        assert_eq!(queue.try_recv().unwrap().0, "gw-b", "each node apart");
        let later = start + Duration::from_millis(1) + CONSIDER_EVERY;
        anchoring.take_at("gw-a", &sent(50), later);
        assert_eq!(
            queue.try_recv().unwrap().1.seq,
            50,
            "the latest, sent again after the interval"
        );
    }

    #[test]
    fn the_tally_wakes_the_checkpointer_at_its_count() {
        let woken = |tally: &Tally| {
            let notified = std::pin::pin!(tally.due.notified());
            let mut context = std::task::Context::from_waker(std::task::Waker::noop());
            std::future::Future::poll(notified, &mut context).is_ready()
        };
        let tally = Tally::new(3);
        tally.add();
        tally.add();
        assert!(!woken(&tally));
        tally.add();
        assert!(woken(&tally));
    }
}
