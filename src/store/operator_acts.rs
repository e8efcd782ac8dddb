//! What operators did to the GitOps loop: one row per suspend, resume or pin of a node, never
//! changed afterwards. The newest row of a node is the state every replica sharing the store
//! follows, so the state lives here and not in any one process.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{Store, StoreError, on_pool, parse_time, time_text};

/// What an operator did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActKind {
    Suspend,
    Resume,
    Pin,
}

impl ActKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActKind::Suspend => "suspend",
            ActKind::Resume => "resume",
            ActKind::Pin => "pin",
        }
    }

    pub fn parse(text: &str) -> Option<ActKind> {
        match text {
            "suspend" => Some(ActKind::Suspend),
            "resume" => Some(ActKind::Resume),
            "pin" => Some(ActKind::Pin),
            _ => None,
        }
    }
}

/// An act to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOperatorAct {
    pub node: String,
    pub instance: String,
    pub actor: String,
    pub act: ActKind,
    /// For a pin: the tag or commit given, and the commit it named; `None` unpins.
    pub reference: Option<String>,
    pub commit: Option<String>,
    pub why: String,
    pub acted_at: DateTime<Utc>,
}

/// A recorded act.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatorAct {
    pub id: i64,
    pub node: String,
    pub instance: String,
    pub actor: String,
    pub act: ActKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    pub why: String,
    pub acted_at: DateTime<Utc>,
}

const INSERT: &str = "INSERT INTO operator_acts (node, instance, actor, act, reference, \
     commit_id, why, acted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";

const RECENT: &str = "SELECT id, node, instance, actor, act, reference, commit_id, why, acted_at \
     FROM operator_acts WHERE node = $1 ORDER BY id DESC LIMIT $2";

#[derive(sqlx::FromRow)]
struct ActRow {
    id: i64,
    node: String,
    instance: String,
    actor: String,
    act: String,
    reference: Option<String>,
    commit_id: Option<String>,
    why: String,
    acted_at: String,
}

impl Store {
    /// Records an operator's act; returns its id.
    pub async fn record_operator_act(&self, act: &NewOperatorAct) -> Result<i64, StoreError> {
        on_pool!(&self.pool, pool => {
            sqlx::query(INSERT)
                .bind(&act.node)
                .bind(&act.instance)
                .bind(&act.actor)
                .bind(act.act.as_str())
                .bind(&act.reference)
                .bind(&act.commit)
                .bind(&act.why)
                .bind(time_text(&act.acted_at))
                .fetch_one(pool)
                .await
                .and_then(|row| row.try_get::<i64, _>(0))
        })
        .map_err(|e| {
            self.failed(
                &format!(
                    "record {}'s {} of node {} in",
                    act.actor,
                    act.act.as_str(),
                    act.node
                ),
                e,
            )
        })
    }

    /// The node's latest acts, newest first; the first is the node's state.
    pub async fn recent_operator_acts(
        &self,
        node: &str,
        limit: u32,
    ) -> Result<Vec<OperatorAct>, StoreError> {
        let rows: Vec<ActRow> = on_pool!(&self.pool, pool => {
            sqlx::query_as(RECENT)
                .bind(node)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
        })
        .map_err(|e| self.failed(&format!("read the operators' acts on node {node} from"), e))?;
        rows.into_iter().map(|row| self.operator_act(row)).collect()
    }

    fn operator_act(&self, row: ActRow) -> Result<OperatorAct, StoreError> {
        let what = format!("operator act {}", row.id);
        Ok(OperatorAct {
            act: ActKind::parse(&row.act).ok_or_else(|| self.malformed(&what, "act", &row.act))?,
            acted_at: parse_time(&row.acted_at)
                .ok_or_else(|| self.malformed(&what, "time", &row.acted_at))?,
            id: row.id,
            node: row.node,
            instance: row.instance,
            actor: row.actor,
            reference: row.reference,
            commit: row.commit_id,
            why: row.why,
        })
    }
}
