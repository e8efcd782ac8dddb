//! The message log's anchors in the store: the signed checkpoints of this store's chains, the
//! copies of other nodes' checkpoints received over mutual TLS (countersigned here), and the
//! disposal of kept bodies by retention, which leaves entries, digests and hashes alone.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{LogHead, Store, StoreError, on_pool, time_text};

/// A chain head signed with its node's key: the node vouches that its chain held `seq` records
/// ending in `hash` at `signed_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Checkpoint {
    pub node: String,
    pub seq: i64,
    pub hash: String,
    pub signed_at: String,
    /// Base64 DER ECDSA over the checkpoint's text, by the node's key.
    pub signature: String,
}

/// Another node's checkpoint as this node received and countersigned it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct PeerCheckpoint {
    #[sqlx(flatten)]
    pub checkpoint: Checkpoint,
    pub received_by: String,
    pub received_at: String,
    /// Base64 DER ECDSA by the receiving node's key over the checkpoint and its receipt.
    pub countersignature: String,
}

const CHECKPOINT_COLUMNS: &str = "node, seq, hash, signed_at, signature";
const SAVE_CHECKPOINT: &str = "INSERT INTO message_log_checkpoints \
     (node, seq, hash, signed_at, signature) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (node, seq) DO NOTHING";
const SAVE_PEER_CHECKPOINT: &str = "INSERT INTO peer_checkpoints (node, seq, hash, signed_at, \
     signature, received_by, received_at, countersignature) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (node, seq) DO NOTHING";
const DISPOSE: &str = "UPDATE message_log SET bodies = NULL, disposed_at = $1 \
     WHERE bodies IS NOT NULL AND logged_at < $2";
const HEAD: &str = "SELECT node, seq, hash FROM message_log_head WHERE node = $1";

impl Store {
    /// Stores a checkpoint of this store's chain; `false` when one of that seq was stored already
    /// (by a replica of the node).
    pub async fn save_checkpoint(&self, c: &Checkpoint) -> Result<bool, StoreError> {
        let done = on_pool!(&self.pool, pool => sqlx::query(SAVE_CHECKPOINT)
            .bind(&c.node).bind(c.seq).bind(&c.hash).bind(&c.signed_at).bind(&c.signature)
            .execute(pool).await.map(|r| r.rows_affected()))
        .map_err(|e| self.failed("store a message log checkpoint in", e))?;
        Ok(done == 1)
    }

    /// The checkpoints of `node`'s chain, by seq.
    pub async fn checkpoints(&self, node: &str) -> Result<Vec<Checkpoint>, StoreError> {
        let sql = format!(
            "SELECT {CHECKPOINT_COLUMNS} FROM message_log_checkpoints WHERE node = $1 ORDER BY seq"
        );
        on_pool!(&self.pool, pool =>
            sqlx::query_as(&sql).bind(node).fetch_all(pool).await)
        .map_err(|e| self.failed(&format!("read the checkpoints of node {node} from"), e))
    }

    /// The nodes this store holds checkpoints of.
    pub async fn checkpoint_nodes(&self) -> Result<Vec<String>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_scalar(
            "SELECT DISTINCT node FROM message_log_checkpoints ORDER BY node"
        ).fetch_all(pool).await)
        .map_err(|e| self.failed("read the checkpointed nodes from", e))
    }

    /// The copy of `node`'s checkpoint `seq` this store holds, if any.
    pub async fn peer_checkpoint(
        &self,
        node: &str,
        seq: i64,
    ) -> Result<Option<PeerCheckpoint>, StoreError> {
        let copies = self.peer_checkpoints_where(node, Some(seq)).await?;
        Ok(copies.into_iter().next())
    }

    /// The latest checkpoint of `node`'s chain.
    pub async fn latest_checkpoint(&self, node: &str) -> Result<Option<Checkpoint>, StoreError> {
        let sql = format!(
            "SELECT {CHECKPOINT_COLUMNS} FROM message_log_checkpoints WHERE node = $1 \
             ORDER BY seq DESC LIMIT 1"
        );
        on_pool!(&self.pool, pool =>
            sqlx::query_as(&sql).bind(node).fetch_optional(pool).await)
        .map_err(|e| {
            self.failed(
                &format!("read the latest checkpoint of node {node} from"),
                e,
            )
        })
    }

    /// Stores another node's countersigned checkpoint; `false` when one of that node and seq is
    /// held already.
    pub async fn save_peer_checkpoint(&self, p: &PeerCheckpoint) -> Result<bool, StoreError> {
        let c = &p.checkpoint;
        let done = on_pool!(&self.pool, pool => sqlx::query(SAVE_PEER_CHECKPOINT)
            .bind(&c.node).bind(c.seq).bind(&c.hash).bind(&c.signed_at).bind(&c.signature)
            .bind(&p.received_by).bind(&p.received_at).bind(&p.countersignature)
            .execute(pool).await.map(|r| r.rows_affected()))
        .map_err(|e| self.failed("store another node's checkpoint in", e))?;
        Ok(done == 1)
    }

    /// The copies of `node`'s checkpoints this store received from it, by seq.
    pub async fn peer_checkpoints(&self, node: &str) -> Result<Vec<PeerCheckpoint>, StoreError> {
        self.peer_checkpoints_where(node, None).await
    }

    async fn peer_checkpoints_where(
        &self,
        node: &str,
        seq: Option<i64>,
    ) -> Result<Vec<PeerCheckpoint>, StoreError> {
        let sql = format!(
            "SELECT {CHECKPOINT_COLUMNS}, received_by, received_at, countersignature \
             FROM peer_checkpoints WHERE node = $1 AND ($2 IS NULL OR seq = $2) ORDER BY seq"
        );
        on_pool!(&self.pool, pool =>
            sqlx::query_as(&sql).bind(node).bind(seq).fetch_all(pool).await)
        .map_err(|e| {
            self.failed(
                &format!("read the copies of node {node}'s checkpoints from"),
                e,
            )
        })
    }

    /// The end of `node`'s chain, if it has one.
    pub async fn message_log_head(&self, node: &str) -> Result<Option<LogHead>, StoreError> {
        on_pool!(&self.pool, pool =>
            sqlx::query_as(HEAD).bind(node).fetch_optional(pool).await)
        .map_err(|e| self.failed(&format!("read the message log head of node {node} from"), e))
    }

    /// Disposes of the bodies kept with records logged before `before` (every node's): sets
    /// them to NULL and `disposed_at` to `now`. Entries, digests and hashes stay, so the chain
    /// still verifies. Answers how many records lost their bodies.
    pub async fn dispose_bodies(
        &self,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let (before, now) = (time_text(&before), time_text(&now));
        on_pool!(&self.pool, pool => sqlx::query(DISPOSE).bind(&now).bind(&before)
            .execute(pool).await.map(|r| r.rows_affected()))
        .map_err(|e| self.failed("dispose of message log bodies in", e))
    }
}
