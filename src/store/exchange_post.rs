//! The registries' СЕВ ОВВ messages on the wire: those queued to be posted to another
//! participant's exchange service (leased by one poster at a time, retried until posted), and
//! those received from one, stored once per sender and `msg_id` and handled exactly once.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, Tx, on_pool, on_tx, parse_time, time_text};

const QUEUE: &str = "INSERT INTO exchange_post_out (msg_id, sender, addressee, kind, card_id, \
     xml, queued_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (msg_id) DO NOTHING";
const QUEUED_AS: &str =
    "SELECT sender, addressee, kind, xml FROM exchange_post_out WHERE msg_id = $1";
/// Leases up to `$4` due messages to `$1` until `$2`; the outer conditions are checked again on
/// a row another replica leased meanwhile, so only one poster gets it (as the outbox does).
const LEASE_OUT: &str = "UPDATE exchange_post_out SET leased_by = $1, lease_until = $2 \
     WHERE id IN (SELECT id FROM exchange_post_out WHERE posted_at IS NULL \
         AND next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until < $3) \
         ORDER BY next_attempt_at, id LIMIT $4) \
     AND posted_at IS NULL AND (lease_until IS NULL OR lease_until < $3) \
     RETURNING id, msg_id, sender, addressee, kind, card_id, xml, attempts";
const POSTED: &str = "UPDATE exchange_post_out SET posted_at = $3, attempts = attempts + 1, \
     last_error = NULL, leased_by = NULL, lease_until = NULL \
     WHERE id = $1 AND leased_by = $2 AND posted_at IS NULL";
const RETRY_OUT: &str = "UPDATE exchange_post_out SET attempts = attempts + 1, \
     next_attempt_at = $3, last_error = $4, leased_by = NULL, lease_until = NULL \
     WHERE id = $1 AND leased_by = $2 AND posted_at IS NULL";
const POSTED_AT: &str = "SELECT posted_at FROM exchange_post_out WHERE msg_id = $1";
const OUT_STATUS: &str = "SELECT msg_id, sender, addressee, kind, card_id, queued_at, attempts, \
     next_attempt_at, last_error, posted_at FROM exchange_post_out WHERE msg_id = $1";

const RECEIVE: &str = "INSERT INTO exchange_post_in (participant, sender, msg_id, xml, \
     received_at) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (participant, sender, msg_id) DO NOTHING RETURNING id";
const RECEIVED_BY: &str = "SELECT id, participant, sender, msg_id, xml, received_at \
     FROM exchange_post_in WHERE participant = $1 AND sender = $2 AND msg_id = $3";
const RECEIVED_ID: &str =
    "SELECT id FROM exchange_post_in WHERE participant = $1 AND sender = $2 AND msg_id = $3";
const RECEIVED: &str = "SELECT id, participant, sender, msg_id, xml, received_at \
     FROM exchange_post_in WHERE id = $1";
const LEASE_IN: &str = "UPDATE exchange_post_in SET leased_by = $1, lease_until = $2 \
     WHERE id IN (SELECT id FROM exchange_post_in WHERE finished_at IS NULL \
         AND next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until < $3) \
         ORDER BY next_attempt_at, id LIMIT $4) \
     AND finished_at IS NULL AND (lease_until IS NULL OR lease_until < $3) \
     RETURNING id, participant, sender, msg_id, xml, received_at";
const FINISH_IN: &str = "UPDATE exchange_post_in SET finished_at = $2, last_error = NULL, \
     attempts = attempts + 1, leased_by = NULL, lease_until = NULL \
     WHERE id = $1 AND finished_at IS NULL";
const RETRY_IN: &str = "UPDATE exchange_post_in SET attempts = attempts + 1, \
     next_attempt_at = $3, last_error = $4, leased_by = NULL, lease_until = NULL \
     WHERE id = $1 AND leased_by = $2 AND finished_at IS NULL";
const UNPOSTED: &str = "SELECT COUNT(*) FROM exchange_post_out WHERE posted_at IS NULL";
const UNFINISHED: &str = "SELECT COUNT(*) FROM exchange_post_in WHERE finished_at IS NULL";
const IN_STATUS: &str = "SELECT attempts, last_error, finished_at FROM exchange_post_in \
     WHERE id = $1";

/// Which of the two kinds of СЕВ ОВВ message a queued one is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// A document sent to another participant's registry.
    Document,
    /// An `Acknowledgement` about a document received.
    Notice,
}

impl MessageKind {
    /// The word stored for it.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Document => "document",
            MessageKind::Notice => "notice",
        }
    }

    fn parse(text: &str) -> Option<MessageKind> {
        match text {
            "document" => Some(MessageKind::Document),
            "notice" => Some(MessageKind::Notice),
            _ => None,
        }
    }
}

/// A message to post to another participant's exchange service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The envelope's `msg_id` as `Uuid::to_string` writes it (the receiver's receipt names it
    /// so, and the poster checks it): one message, however often it is posted.
    pub msg_id: String,
    /// Our participant, whose registry subsystem posts it.
    pub from: String,
    /// The addressee participant, whose exchange service receives it.
    pub to: String,
    pub kind: MessageKind,
    /// The registry card the message is about, if any.
    pub card_id: Option<String>,
    /// The whole СЕВ ОВВ XML, as posted.
    pub xml: Vec<u8>,
}

/// A queued message leased to one poster, to be posted now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeasedMessage {
    pub id: i64,
    pub message: OutgoingMessage,
    /// Attempts made before this one.
    pub attempts: i64,
}

/// What became of one attempt to post a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostOutcome {
    /// The addressee's node stored it, at the time it answered.
    Posted { at: DateTime<Utc> },
    /// Try again at `at`; `error` says what went wrong (no message content).
    Retry { at: DateTime<Utc>, error: String },
}

/// Where a queued message stands, without its XML.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PostStatus {
    pub msg_id: String,
    pub sender: String,
    pub addressee: String,
    pub kind: String,
    pub card_id: Option<String>,
    pub queued_at: String,
    pub attempts: i64,
    /// When an unposted message is due ('' for at once).
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub posted_at: Option<String>,
}

/// A message one of this node's exchange services received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub id: i64,
    /// Ours: the participant whose exchange service received it.
    pub participant: String,
    /// The sending participant, as the gateway authenticated its client.
    pub sender: String,
    pub msg_id: String,
    pub xml: Vec<u8>,
    pub received_at: DateTime<Utc>,
}

/// Where a received message's handling stands.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HandlingStatus {
    /// Attempts made, the one that finished it included.
    pub attempts: i64,
    pub last_error: Option<String>,
    pub finished_at: Option<String>,
}

#[derive(sqlx::FromRow)]
struct OutRow {
    id: i64,
    msg_id: String,
    sender: String,
    addressee: String,
    kind: String,
    card_id: Option<String>,
    xml: Vec<u8>,
    attempts: i64,
}

#[derive(sqlx::FromRow)]
struct InRow {
    id: i64,
    participant: String,
    sender: String,
    msg_id: String,
    xml: Vec<u8>,
    received_at: String,
}

impl Store {
    /// Queues a message in the caller's transaction; the poster posts it (retrying with
    /// backoff). Queuing the same message again changes nothing; another message under a
    /// `msg_id` already queued is refused.
    pub async fn queue_exchange_message(
        &self,
        tx: &mut Tx,
        m: &OutgoingMessage,
    ) -> Result<(), StoreError> {
        let inserted = on_tx!(tx, t => sqlx::query(QUEUE)
            .bind(&m.msg_id)
            .bind(&m.from)
            .bind(&m.to)
            .bind(m.kind.as_str())
            .bind(&m.card_id)
            .bind(&m.xml)
            .bind(time_text(&Utc::now()))
            .execute(&mut **t)
            .await
            .map(|done| done.rows_affected()))
        .map_err(|e| self.failed("queue an exchange message in", e))?;
        if inserted == 1 {
            // Early, as for the indexer: on SQLite the poster's lease waits for this
            // transaction; on PostgreSQL a poster woken before the commit finds it next poll.
            self.wake_poster();
            return Ok(());
        }
        let (from, to, kind, xml): (String, String, String, Vec<u8>) = on_tx!(tx, t =>
            sqlx::query_as(QUEUED_AS).bind(&m.msg_id).fetch_one(&mut **t).await)
        .map_err(|e| self.failed("read a queued exchange message from", e))?;
        if (from.as_str(), to.as_str(), kind.as_str(), xml.as_slice())
            == (&m.from, &m.to, m.kind.as_str(), m.xml.as_slice())
        {
            return Ok(());
        }
        Err(StoreError::new(format!(
            "cannot queue the exchange message {} from {} to {}: another message with that \
             msg_id is already queued (from {from} to {to}); every message needs a new msg_id",
            m.msg_id, m.from, m.to
        )))
    }

    /// Wakes this process's poster: a message was queued or received.
    pub fn wake_poster(&self) {
        self.exchange_changed.notify_one();
    }

    /// What [`Store::wake_poster`] notifies.
    pub fn exchange_changed(&self) -> &tokio::sync::Notify {
        &self.exchange_changed
    }

    /// When a queued message was posted (the addressee's node stored it), or None; by msg_id.
    pub async fn exchange_message_posted(
        &self,
        msg_id: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let posted: Option<Option<String>> = on_pool!(&self.pool, pool =>
            sqlx::query_scalar(POSTED_AT).bind(msg_id).fetch_optional(pool).await)
        .map_err(|e| self.failed("read a queued exchange message from", e))?;
        match posted.flatten() {
            None => Ok(None),
            Some(text) => parse_time(&text).map(Some).ok_or_else(|| {
                StoreError::new(format!(
                    "the exchange message {msg_id} in {} has a posting time that is not a time \
                     ({text:?}): the row was changed outside hromada; restore it from a backup",
                    self.target
                ))
            }),
        }
    }

    /// Where the message queued under `msg_id` stands, if there is one.
    pub async fn exchange_post_status(
        &self,
        msg_id: &str,
    ) -> Result<Option<PostStatus>, StoreError> {
        on_pool!(&self.pool, pool =>
            sqlx::query_as(OUT_STATUS).bind(msg_id).fetch_optional(pool).await)
        .map_err(|e| self.failed("read a queued exchange message from", e))
    }

    /// Leases up to `limit` messages due at `now` to `holder` until `until`; a message leased
    /// to another holder is left alone until its lease ends.
    pub async fn lease_exchange_messages(
        &self,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<LeasedMessage>, StoreError> {
        let rows: Vec<OutRow> = on_pool!(&self.pool, pool => sqlx::query_as(LEASE_OUT)
            .bind(holder)
            .bind(time_text(&until))
            .bind(time_text(&now))
            .bind(limit)
            .fetch_all(pool)
            .await)
        .map_err(|e| self.failed("lease exchange messages to post from", e))?;
        let mut leased = Vec::with_capacity(rows.len());
        for row in rows {
            let Some(kind) = MessageKind::parse(&row.kind) else {
                return Err(StoreError::new(format!(
                    "the queued exchange message {} in {} is of no known kind ({:?}): the row \
                     was changed outside hromada; restore it from a backup",
                    row.msg_id, self.target, row.kind
                )));
            };
            leased.push(LeasedMessage {
                id: row.id,
                attempts: row.attempts,
                message: OutgoingMessage {
                    msg_id: row.msg_id,
                    from: row.sender,
                    to: row.addressee,
                    kind,
                    card_id: row.card_id,
                    xml: row.xml,
                },
            });
        }
        leased.sort_by_key(|m| m.id);
        Ok(leased)
    }

    /// Records the outcome of `holder`'s attempt at message `id`; `false` when the lease was
    /// no longer `holder`'s (it ran out and another poster took the message).
    pub async fn finish_exchange_post(
        &self,
        id: i64,
        holder: &str,
        outcome: &PostOutcome,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(&self.pool, pool => {
            let query = match outcome {
                PostOutcome::Posted { at } => {
                    sqlx::query(POSTED).bind(id).bind(holder).bind(time_text(at))
                }
                PostOutcome::Retry { at, error } => sqlx::query(RETRY_OUT)
                    .bind(id)
                    .bind(holder)
                    .bind(time_text(at))
                    .bind(error),
            };
            query.execute(pool).await.map(|done| done.rows_affected())
        })
        .map_err(|e| self.failed("record an exchange message's posting in", e))?;
        Ok(done == 1)
    }

    /// Stores a received message durably; a second message with the same (participant,
    /// sender, msg_id) is not stored again and returns the first one's id with `fresh: false`.
    pub async fn receive_exchange_message(
        &self,
        participant: &str,
        sender: &str,
        msg_id: &str,
        xml: &[u8],
    ) -> Result<(i64, bool), StoreError> {
        let _turn = self.write_turn_for_statement().await?;
        let inserted: Option<i64> = on_pool!(&self.pool, pool => sqlx::query_scalar(RECEIVE)
            .bind(participant)
            .bind(sender)
            .bind(msg_id)
            .bind(xml)
            .bind(time_text(&Utc::now()))
            .fetch_optional(pool)
            .await)
        .map_err(|e| self.failed("store a received exchange message in", e))?;
        if let Some(id) = inserted {
            self.wake_poster();
            return Ok((id, true));
        }
        let id: i64 = on_pool!(&self.pool, pool => sqlx::query_scalar(RECEIVED_ID)
            .bind(participant)
            .bind(sender)
            .bind(msg_id)
            .fetch_one(pool)
            .await)
        .map_err(|e| self.failed("read a received exchange message from", e))?;
        Ok((id, false))
    }

    /// The received message `id`, if there is one.
    pub async fn received_exchange_message(
        &self,
        id: i64,
    ) -> Result<Option<ReceivedMessage>, StoreError> {
        let row: Option<InRow> = on_pool!(&self.pool, pool =>
            sqlx::query_as(RECEIVED).bind(id).fetch_optional(pool).await)
        .map_err(|e| self.failed("read a received exchange message from", e))?;
        row.map(|row| self.received(row)).transpose()
    }

    /// The message `participant` received from `sender` under `msg_id`, if it did: a message
    /// received again is recognised by it.
    pub async fn received_exchange_message_by(
        &self,
        participant: &str,
        sender: &str,
        msg_id: &str,
    ) -> Result<Option<ReceivedMessage>, StoreError> {
        let row: Option<InRow> = on_pool!(&self.pool, pool => sqlx::query_as(RECEIVED_BY)
            .bind(participant)
            .bind(sender)
            .bind(msg_id)
            .fetch_optional(pool)
            .await)
        .map_err(|e| self.failed("read a received exchange message from", e))?;
        row.map(|row| self.received(row)).transpose()
    }

    /// Leases up to `limit` unfinished received messages due at `now` to `holder` until
    /// `until`, to be handed to their recipient.
    pub async fn lease_received_messages(
        &self,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ReceivedMessage>, StoreError> {
        let rows: Vec<InRow> = on_pool!(&self.pool, pool => sqlx::query_as(LEASE_IN)
            .bind(holder)
            .bind(time_text(&until))
            .bind(time_text(&now))
            .bind(limit)
            .fetch_all(pool)
            .await)
        .map_err(|e| self.failed("lease received exchange messages from", e))?;
        let mut leased = rows
            .into_iter()
            .map(|row| self.received(row))
            .collect::<Result<Vec<_>, _>>()?;
        leased.sort_by_key(|m| m.id);
        Ok(leased)
    }

    /// Marks a received message handled, in the handler's own transaction (with whatever it
    /// stored and the notices it queued): a crash before that commit handles it again, once.
    /// A message already handled (by another replica meanwhile) is an error, so that the
    /// handler's transaction rolls back rather than handle it twice.
    pub async fn finish_received_message(&self, tx: &mut Tx, id: i64) -> Result<(), StoreError> {
        let done = on_tx!(tx, t => sqlx::query(FINISH_IN)
            .bind(id)
            .bind(time_text(&Utc::now()))
            .execute(&mut **t)
            .await
            .map(|done| done.rows_affected()))
        .map_err(|e| self.failed("mark a received exchange message handled in", e))?;
        if done == 1 {
            return Ok(());
        }
        Err(StoreError::new(format!(
            "the received exchange message {id} is already handled (or not stored) in {}; what \
             this handling wrote is rolled back so that it counts once",
            self.target
        )))
    }

    /// Records that handling the received message `id` failed, to be tried again at `at`;
    /// `false` when the lease was no longer `holder`'s.
    pub async fn retry_received_message(
        &self,
        id: i64,
        holder: &str,
        at: DateTime<Utc>,
        error: &str,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(&self.pool, pool => sqlx::query(RETRY_IN)
            .bind(id)
            .bind(holder)
            .bind(time_text(&at))
            .bind(error)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(|e| self.failed("record a failed handling of an exchange message in", e))?;
        Ok(done == 1)
    }

    /// Where the handling of the received message `id` stands, if it is stored.
    pub async fn received_message_handling(
        &self,
        id: i64,
    ) -> Result<Option<HandlingStatus>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_as(IN_STATUS).bind(id).fetch_optional(pool).await)
            .map_err(|e| self.failed("read a received exchange message from", e))
    }

    /// How many queued messages wait to be posted.
    pub async fn unposted_exchange_messages(&self) -> Result<i64, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_scalar(UNPOSTED).fetch_one(pool).await)
            .map_err(|e| self.failed("count the queued exchange messages in", e))
    }

    /// How many received messages wait to be handled.
    pub async fn unfinished_received_messages(&self) -> Result<i64, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_scalar(UNFINISHED).fetch_one(pool).await)
            .map_err(|e| self.failed("count the received exchange messages in", e))
    }

    fn received(&self, row: InRow) -> Result<ReceivedMessage, StoreError> {
        let Some(received_at) = parse_time(&row.received_at) else {
            return Err(StoreError::new(format!(
                "the received exchange message {} in {} has a receipt time that is not a time \
                 ({:?}): the row was changed outside hromada; restore it from a backup",
                row.id, self.target, row.received_at
            )));
        };
        Ok(ReceivedMessage {
            id: row.id,
            participant: row.participant,
            sender: row.sender,
            msg_id: row.msg_id,
            xml: row.xml,
            received_at,
        })
    }
}
