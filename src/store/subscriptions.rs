//! Mailing (PORTAL-11): each citizen's address and topics, the one-click unsubscribe tokens (by
//! SHA-256 only), and the notices runner's progress: a cursor per source moved in the same
//! transaction as the notices it queued, so replicas never queue one change's notices twice.

use chrono::{DateTime, Utc};

use super::{NewMail, Store, StoreError, Tx, on_pool, on_tx, time_text};

/// What a subscription is to: changes of an e-service, or outages of a participant's services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Topic {
    /// Target: an e-service id, or [`ANY_E_SERVICE`].
    EService,
    /// Target: a participant id.
    Outages,
}

/// The target of a subscription to the changes of every e-service.
pub const ANY_E_SERVICE: &str = "*";

impl Topic {
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::EService => "e-service",
            Topic::Outages => "outages",
        }
    }

    fn parse(text: &str) -> Option<Topic> {
        match text {
            "e-service" => Some(Topic::EService),
            "outages" => Some(Topic::Outages),
            _ => None,
        }
    }
}

/// A citizen's mailing settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    pub id: i64,
    pub owner: String,
    pub address: String,
    /// Notices go only to a confirmed address.
    pub confirmed: bool,
    /// When the last confirmation link was sent, for an address not confirmed yet.
    pub confirm_sent_at: Option<DateTime<Utc>>,
    /// The live subscriptions, by topic and target.
    pub topics: Vec<(Topic, String)>,
}

/// A citizen's mailing settings as saved from the subscriptions page.
#[derive(Debug, Clone)]
pub struct SubscriberChange<'a> {
    pub owner: &'a str,
    pub address: &'a str,
    pub confirmed: bool,
    /// The SHA-256 of a new confirmation link's token, sent by `confirmation`.
    pub confirm_digest: Option<&'a str>,
    pub confirmation: Option<&'a NewMail>,
    /// Every live subscription after the change: those not listed end.
    pub topics: &'a [(Topic, String)],
    pub now: DateTime<Utc>,
}

/// A subscription an unsubscribe token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribed {
    pub subscription: i64,
    pub topic: Topic,
    pub target: String,
    /// It had ended before this request.
    pub already: bool,
}

/// A confirmed subscriber of a topic, as notices address them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub subscriber: i64,
    pub subscription: i64,
    pub address: String,
    pub target: String,
}

/// What the notices runner reads, in row order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    ProcedureVersions,
    HealthResults,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::ProcedureVersions => "procedure_versions",
            Source::HealthResults => "health_results",
        }
    }

    fn newest(self) -> &'static str {
        match self {
            Source::ProcedureVersions => "SELECT COALESCE(MAX(id), 0) FROM procedure_versions",
            Source::HealthResults => "SELECT COALESCE(MAX(id), 0) FROM health_results",
        }
    }
}

/// One notice of a list: the mail and the unsubscribe token (its digest) it carries.
#[derive(Debug, Clone)]
pub struct ListMail {
    pub mail: NewMail,
    pub subscription: i64,
    pub token_digest: String,
    pub list_unsubscribe: String,
}

/// What one pass of the notices runner writes at once.
#[derive(Debug, Clone)]
pub struct NoticeBatch {
    pub source: Source,
    /// The cursor's position the pass read from, and the one it handled up to.
    pub from: i64,
    pub to: i64,
    /// Services whose state subscribers are now told: (service, up, since).
    pub outages: Vec<(String, bool, DateTime<Utc>)>,
    pub mails: Vec<ListMail>,
    pub now: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct SubscriberRow {
    id: i64,
    owner: String,
    address: String,
    confirmed_at: Option<String>,
    confirm_sent_at: Option<String>,
}

#[derive(sqlx::FromRow)]
struct TopicRow {
    topic: String,
    target: String,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    subscription: i64,
    topic: String,
    target: String,
    ended_at: Option<String>,
}

#[derive(sqlx::FromRow)]
struct RecipientRow {
    subscriber: i64,
    subscription: i64,
    address: String,
    target: String,
}

const SUBSCRIBER: &str = "SELECT id, owner, address, confirmed_at, confirm_sent_at \
     FROM mail_subscribers WHERE owner = $1";
const TOPICS: &str = "SELECT topic, target FROM mail_subscriptions \
     WHERE subscriber = $1 AND ended_at IS NULL ORDER BY topic, target";
const INSERT_SUBSCRIBER: &str = "INSERT INTO mail_subscribers (owner, address, created_at, \
     updated_at) VALUES ($1, $2, $3, $3) ON CONFLICT (owner) DO NOTHING";
/// The address and its confirmation: unchanged when `$6` (keep) is true and the address is the
/// same, else confirmed at `$3` (NULL for not yet) with a new link digest `$4` sent at `$5`.
const UPDATE_SUBSCRIBER: &str = "UPDATE mail_subscribers SET \
     confirmed_at = CASE WHEN address = $2 AND confirmed_at IS NOT NULL AND $6 \
         THEN confirmed_at ELSE $3 END, \
     confirm_digest = CASE WHEN address = $2 AND $6 THEN confirm_digest ELSE $4 END, \
     confirm_sent_at = CASE WHEN address = $2 AND $6 THEN confirm_sent_at ELSE $5 END, \
     address = $2, updated_at = $7 WHERE owner = $1 RETURNING id";
const LIVE: &str = "SELECT topic, target FROM mail_subscriptions \
     WHERE subscriber = $1 AND ended_at IS NULL";
const END_TOPIC: &str = "UPDATE mail_subscriptions SET ended_at = $4 \
     WHERE subscriber = $1 AND topic = $2 AND target = $3 AND ended_at IS NULL";
const ADD_TOPIC: &str = "INSERT INTO mail_subscriptions (subscriber, topic, target, created_at) \
     VALUES ($1, $2, $3, $4)";
const CONFIRM: &str = "UPDATE mail_subscribers SET confirmed_at = $2, confirm_digest = NULL, \
     updated_at = $2 WHERE confirm_digest = $1";
const TOKEN: &str = "SELECT s.id AS subscription, s.topic, s.target, s.ended_at \
     FROM unsubscribe_tokens t JOIN mail_subscriptions s ON s.id = t.subscription \
     WHERE t.digest = $1";
const END_SUBSCRIPTION: &str = "UPDATE mail_subscriptions SET ended_at = $2 \
     WHERE id = $1 AND ended_at IS NULL";
const RECIPIENTS: &str = "SELECT m.id AS subscriber, s.id AS subscription, m.address, s.target \
     FROM mail_subscriptions s JOIN mail_subscribers m ON m.id = s.subscriber \
     WHERE s.topic = $1 AND s.ended_at IS NULL AND m.confirmed_at IS NOT NULL \
     ORDER BY m.id, s.id";
const CURSOR: &str = "SELECT position FROM mailing_cursors WHERE name = $1";
const START_CURSOR: &str = "INSERT INTO mailing_cursors (name, position) VALUES ($1, $2) \
     ON CONFLICT (name) DO NOTHING";
const MOVE_CURSOR: &str = "UPDATE mailing_cursors SET position = $3 \
     WHERE name = $1 AND position = $2";
const OUTAGES: &str = "SELECT service, up FROM service_outages";
const SET_OUTAGE: &str = "INSERT INTO service_outages (service, up, since) VALUES ($1, $2, $3) \
     ON CONFLICT (service) DO UPDATE SET up = excluded.up, since = excluded.since";
const ADD_TOKEN: &str = "INSERT INTO unsubscribe_tokens (digest, subscription, created_at) \
     VALUES ($1, $2, $3) ON CONFLICT (digest) DO NOTHING";

impl Store {
    /// `owner`'s mailing settings, `None` before they saved any.
    pub async fn subscriber(&self, owner: &str) -> Result<Option<Subscriber>, StoreError> {
        let row: Option<SubscriberRow> = on_pool!(&self.pool, pool => sqlx::query_as(SUBSCRIBER)
            .bind(owner)
            .fetch_optional(pool)
            .await)
        .map_err(|e| self.failed("read a citizen's mailing settings from", e))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let topics: Vec<TopicRow> = on_pool!(&self.pool, pool => sqlx::query_as(TOPICS)
            .bind(row.id)
            .fetch_all(pool)
            .await)
        .map_err(|e| self.failed("read a citizen's subscriptions from", e))?;
        let what = format!("mail subscriber {}", row.id);
        let confirm_sent_at = row
            .confirm_sent_at
            .as_deref()
            .map(|text| {
                super::parse_time(text)
                    .ok_or_else(|| self.malformed(&what, "confirmation time", text))
            })
            .transpose()?;
        let topics = topics
            .into_iter()
            .map(|t| {
                Topic::parse(&t.topic)
                    .map(|topic| (topic, t.target))
                    .ok_or_else(|| self.malformed(&what, "subscription topic", &t.topic))
            })
            .collect::<Result<_, _>>()?;
        Ok(Some(Subscriber {
            id: row.id,
            owner: row.owner,
            address: row.address,
            confirmed: row.confirmed_at.is_some(),
            confirm_sent_at,
            topics,
        }))
    }

    /// Saves `change` in one transaction: the address (its confirmation kept only when the
    /// address is the same and no new link is sent), the topics (those not listed end), and the
    /// confirmation mail if any.
    pub async fn save_subscriber(&self, change: &SubscriberChange<'_>) -> Result<(), StoreError> {
        let now = time_text(&change.now);
        let mut tx = self.begin().await?;
        let cannot = |e| self.failed("save a citizen's mailing settings in", e);
        on_tx!(&mut tx, t => sqlx::query(INSERT_SUBSCRIBER)
            .bind(change.owner)
            .bind(change.address)
            .bind(&now)
            .execute(&mut **t)
            .await
            .map(drop))
        .map_err(cannot)?;
        let confirmed_at = change.confirmed.then(|| now.clone());
        let sent_at = change.confirm_digest.map(|_| now.clone());
        let keep = change.confirm_digest.is_none() && !change.confirmed;
        let id: i64 = on_tx!(&mut tx, t => sqlx::query_scalar(UPDATE_SUBSCRIBER)
            .bind(change.owner)
            .bind(change.address)
            .bind(&confirmed_at)
            .bind(change.confirm_digest)
            .bind(&sent_at)
            .bind(keep)
            .bind(&now)
            .fetch_one(&mut **t)
            .await)
        .map_err(cannot)?;
        let live: Vec<TopicRow> = on_tx!(&mut tx, t => sqlx::query_as(LIVE)
            .bind(id)
            .fetch_all(&mut **t)
            .await)
        .map_err(cannot)?;
        for row in &live {
            let wanted = change
                .topics
                .iter()
                .any(|(topic, target)| topic.as_str() == row.topic && *target == row.target);
            if !wanted {
                on_tx!(&mut tx, t => sqlx::query(END_TOPIC)
                    .bind(id)
                    .bind(&row.topic)
                    .bind(&row.target)
                    .bind(&now)
                    .execute(&mut **t)
                    .await
                    .map(drop))
                .map_err(cannot)?;
            }
        }
        for (topic, target) in change.topics {
            let present = live
                .iter()
                .any(|row| row.topic == topic.as_str() && row.target == *target);
            if !present {
                on_tx!(&mut tx, t => sqlx::query(ADD_TOPIC)
                    .bind(id)
                    .bind(topic.as_str())
                    .bind(target)
                    .bind(&now)
                    .execute(&mut **t)
                    .await
                    .map(drop))
                .map_err(cannot)?;
            }
        }
        if let Some(mail) = change.confirmation {
            self.enqueue_mail(&mut tx, mail).await?;
        }
        tx.commit().await
    }

    /// Confirms the address whose confirmation link's token has SHA-256 `digest`: whether one
    /// did (a link used once, or replaced by a newer one, confirms nothing).
    pub async fn confirm_subscriber(
        &self,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(CONFIRM)
            .bind(digest)
            .bind(time_text(&now))
            .execute(pool)
            .await
            .map(|done| done.rows_affected() == 1))
        .map_err(|e| self.failed("confirm a subscriber's address in", e))
    }

    /// The subscription the unsubscribe token with SHA-256 `digest` names, if any.
    pub async fn unsubscribe_token(
        &self,
        digest: &str,
    ) -> Result<Option<Unsubscribed>, StoreError> {
        let row: Option<TokenRow> = on_pool!(&self.pool, pool => sqlx::query_as(TOKEN)
            .bind(digest)
            .fetch_optional(pool)
            .await)
        .map_err(|e| self.failed("read an unsubscribe link from", e))?;
        row.map(|row| {
            let topic = Topic::parse(&row.topic).ok_or_else(|| {
                self.malformed(
                    &format!("subscription {}", row.subscription),
                    "topic",
                    &row.topic,
                )
            })?;
            Ok(Unsubscribed {
                subscription: row.subscription,
                topic,
                target: row.target,
                already: row.ended_at.is_some(),
            })
        })
        .transpose()
    }

    /// Ends the subscription the unsubscribe token with SHA-256 `digest` names; `None` when no
    /// token has that digest (nothing changes).
    pub async fn unsubscribe(
        &self,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Unsubscribed>, StoreError> {
        let Some(mut found) = self.unsubscribe_token(digest).await? else {
            return Ok(None);
        };
        let ended = on_pool!(&self.pool, pool => sqlx::query(END_SUBSCRIPTION)
            .bind(found.subscription)
            .bind(time_text(&now))
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(|e| self.failed("end a subscription in", e))?;
        found.already = ended == 0;
        Ok(Some(found))
    }

    /// The confirmed subscribers of `topic`, each with the target of their live subscription.
    pub async fn recipients(&self, topic: Topic) -> Result<Vec<Recipient>, StoreError> {
        let rows: Vec<RecipientRow> = on_pool!(&self.pool, pool => sqlx::query_as(RECIPIENTS)
            .bind(topic.as_str())
            .fetch_all(pool)
            .await)
        .map_err(|e| self.failed("read the subscribers of a topic from", e))?;
        Ok(rows
            .into_iter()
            .map(|r| Recipient {
                subscriber: r.subscriber,
                subscription: r.subscription,
                address: r.address,
                target: r.target,
            })
            .collect())
    }

    /// Where the notices runner stands in `source`; the first call starts it at the newest row,
    /// so that what happened before mailing existed is not mailed.
    pub async fn mailing_cursor(&self, source: Source) -> Result<i64, StoreError> {
        let cannot = |e| self.failed("read the mailing cursor from", e);
        let found: Option<i64> = on_pool!(&self.pool, pool => sqlx::query_scalar(CURSOR)
            .bind(source.name())
            .fetch_optional(pool)
            .await)
        .map_err(cannot)?;
        if let Some(position) = found {
            return Ok(position);
        }
        let newest: i64 = on_pool!(&self.pool, pool => sqlx::query_scalar(source.newest())
            .fetch_one(pool)
            .await)
        .map_err(cannot)?;
        on_pool!(&self.pool, pool => sqlx::query(START_CURSOR)
            .bind(source.name())
            .bind(newest)
            .execute(pool)
            .await
            .map(drop))
        .map_err(cannot)?;
        let position: i64 = on_pool!(&self.pool, pool => sqlx::query_scalar(CURSOR)
            .bind(source.name())
            .fetch_one(pool)
            .await)
        .map_err(cannot)?;
        Ok(position)
    }

    /// Each checked service's state as its subscribers were last told it (`true` for up).
    pub async fn service_outages(
        &self,
    ) -> Result<std::collections::BTreeMap<String, bool>, StoreError> {
        let rows: Vec<(String, bool)> = on_pool!(&self.pool, pool => sqlx::query_as(OUTAGES)
            .fetch_all(pool)
            .await)
        .map_err(|e| self.failed("read the services' published state from", e))?;
        Ok(rows.into_iter().collect())
    }

    /// Writes one pass of the notices runner at once: the cursor moved from `from` to `to`, the
    /// services' states, the tokens and the mails. `false` (and nothing written) when the cursor
    /// no longer stood at `from`: another replica handled those rows.
    pub async fn commit_notices(&self, batch: &NoticeBatch) -> Result<bool, StoreError> {
        let now = time_text(&batch.now);
        let mut tx = self.begin().await?;
        let cannot = |e| self.failed("queue notices in", e);
        let moved = on_tx!(&mut tx, t => sqlx::query(MOVE_CURSOR)
            .bind(batch.source.name())
            .bind(batch.from)
            .bind(batch.to)
            .execute(&mut **t)
            .await
            .map(|done| done.rows_affected()))
        .map_err(cannot)?;
        if moved != 1 {
            return Ok(false);
        }
        for (service, up, since) in &batch.outages {
            on_tx!(&mut tx, t => sqlx::query(SET_OUTAGE)
                .bind(service)
                .bind(up)
                .bind(time_text(since))
                .execute(&mut **t)
                .await
                .map(drop))
            .map_err(cannot)?;
        }
        for notice in &batch.mails {
            add_token(
                self,
                &mut tx,
                &notice.token_digest,
                notice.subscription,
                &now,
            )
            .await?;
            self.enqueue_list_mail(&mut tx, &notice.mail, &notice.list_unsubscribe)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

async fn add_token(
    store: &Store,
    tx: &mut Tx,
    digest: &str,
    subscription: i64,
    now: &str,
) -> Result<(), StoreError> {
    on_tx!(tx, t => sqlx::query(ADD_TOKEN)
        .bind(digest)
        .bind(subscription)
        .bind(now)
        .execute(&mut **t)
        .await
        .map(drop))
    .map_err(|e| store.failed("record an unsubscribe link in", e))
}
