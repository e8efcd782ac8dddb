//! Officials' accounts as those with `users-manage` set them (003 §6.8, §6.11; 001 §4.6):
//! blocked until a day or for good, or annulled (never lifted); every change kept with who,
//! when and why. The current state and its change commit together.

use chrono::{DateTime, NaiveDate, Utc};

use super::{Store, StoreError, on_tx, parse_time, time_text};

const BLOCK: &str = "INSERT INTO official_blocks (official, state, until, reason, by_official, at) \
     VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (official) DO UPDATE SET state = excluded.state, until = excluded.until, \
     reason = excluded.reason, by_official = excluded.by_official, at = excluded.at \
     WHERE official_blocks.state <> 'annulled'";
const UNBLOCK: &str = "DELETE FROM official_blocks WHERE official = $1 AND state = 'blocked'";
const STATE_OF: &str = "SELECT official AS block_official, state, until, reason, by_official, at \
     FROM official_blocks WHERE official = $1";
const ALL: &str = "SELECT official AS block_official, state, until, reason, by_official, at \
     FROM official_blocks ORDER BY official";
const RECORD: &str = "INSERT INTO official_account_changes \
     (official, action, until, reason, by_official, at) VALUES ($1, $2, $3, $4, $5, $6)";
const CHANGES: &str = "SELECT id, official, action, until, reason, by_official, at \
     FROM official_account_changes ORDER BY id DESC LIMIT $1";

/// How an account is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountHold {
    /// Blocked through the day `until` (in the system's time zone), or for good.
    Blocked { until: Option<NaiveDate> },
    /// Annulled: for good, and never lifted.
    Annulled,
}

/// An account's block as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficialBlock {
    pub official: String,
    pub hold: AccountHold,
    pub reason: String,
    /// The official who set it.
    pub by: String,
    pub at: DateTime<Utc>,
}

/// What a change does to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountAction {
    Block { until: Option<NaiveDate> },
    Unblock,
    Annul,
}

impl AccountAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountAction::Block { .. } => "block",
            AccountAction::Unblock => "unblock",
            AccountAction::Annul => "annul",
        }
    }

    fn until(self) -> Option<NaiveDate> {
        match self {
            AccountAction::Block { until } => until,
            _ => None,
        }
    }
}

/// One change of an account: what, to whom, by whom, when and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountChange {
    pub official: String,
    pub action: AccountAction,
    pub reason: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// A recorded change with its number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountChangeRow {
    pub id: i64,
    pub change: AccountChange,
}

/// Why a change was not made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeRefused {
    /// The account is annulled: nothing changes it any more.
    Annulled,
    /// Unblocking an account that is not blocked.
    NotBlocked,
}

/// The block columns as read (all NULL when an account has no row, in a join).
#[derive(sqlx::FromRow)]
pub(super) struct StoredBlock {
    block_official: Option<String>,
    state: Option<String>,
    until: Option<String>,
    reason: Option<String>,
    by_official: Option<String>,
    at: Option<String>,
}

#[derive(sqlx::FromRow)]
struct StoredChange {
    id: i64,
    official: String,
    action: String,
    until: Option<String>,
    reason: String,
    by_official: String,
    at: String,
}

/// A stored block read back; a row changed outside hromada is a clear error.
pub(super) fn read_block(
    store: &Store,
    row: StoredBlock,
) -> Result<Option<OfficialBlock>, StoreError> {
    let Some(official) = row.block_official else {
        return Ok(None);
    };
    let what = format!("the account block of official `{official}`");
    let text = |v: Option<String>| v.unwrap_or_default();
    let until = read_day(store, &what, row.until.as_deref())?;
    let hold = match row.state.as_deref() {
        Some("blocked") => AccountHold::Blocked { until },
        Some("annulled") => AccountHold::Annulled,
        other => return Err(store.malformed(&what, "state", other.unwrap_or(""))),
    };
    let at = text(row.at);
    Ok(Some(OfficialBlock {
        hold,
        reason: text(row.reason),
        by: text(row.by_official),
        at: parse_time(&at).ok_or_else(|| store.malformed(&what, "time", &at))?,
        official,
    }))
}

fn read_day(store: &Store, what: &str, day: Option<&str>) -> Result<Option<NaiveDate>, StoreError> {
    day.map(|d| {
        NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| store.malformed(what, "day", d))
    })
    .transpose()
}

fn day_text(day: Option<NaiveDate>) -> Option<String> {
    day.map(|d| d.format("%Y-%m-%d").to_string())
}

impl Store {
    /// Makes `change` and records it, together; refused (nothing written) when the account is
    /// annulled, or when unblocking one that is not blocked. The same block or annulment sent
    /// again (a double submit) writes nothing.
    pub async fn change_official_account(
        &self,
        change: &AccountChange,
    ) -> Result<Result<(), ChangeRefused>, StoreError> {
        let mut tx = self.begin().await?;
        let at = time_text(&change.at);
        let wanted = match change.action {
            AccountAction::Block { until } => Some(AccountHold::Blocked { until }),
            AccountAction::Annul => Some(AccountHold::Annulled),
            AccountAction::Unblock => None,
        };
        if let Some(wanted) = wanted {
            let held: Option<StoredBlock> = on_tx!(&mut tx, t => sqlx::query_as(STATE_OF)
                .bind(&change.official)
                .fetch_optional(&mut **t)
                .await)
            .map_err(|e| self.failed("read an official's account from", e))?;
            let held = held.map_or(Ok(None), |row| read_block(self, row))?;
            if held
                .is_some_and(|h| h.hold == wanted && h.reason == change.reason && h.by == change.by)
            {
                return Ok(Ok(()));
            }
        }
        let changed = match change.action {
            AccountAction::Block { until } => {
                on_tx!(&mut tx, t => sqlx::query(BLOCK)
                    .bind(&change.official)
                    .bind("blocked")
                    .bind(day_text(until))
                    .bind(&change.reason)
                    .bind(&change.by)
                    .bind(&at)
                    .execute(&mut **t)
                    .await
                    .map(|done| done.rows_affected()))
            }
            AccountAction::Annul => {
                on_tx!(&mut tx, t => sqlx::query(BLOCK)
                    .bind(&change.official)
                    .bind("annulled")
                    .bind(None::<String>)
                    .bind(&change.reason)
                    .bind(&change.by)
                    .bind(&at)
                    .execute(&mut **t)
                    .await
                    .map(|done| done.rows_affected()))
            }
            AccountAction::Unblock => {
                on_tx!(&mut tx, t => sqlx::query(UNBLOCK)
                    .bind(&change.official)
                    .execute(&mut **t)
                    .await
                    .map(|done| done.rows_affected()))
            }
        }
        .map_err(|e| self.failed("change an official's account in", e))?;
        if changed == 0 {
            let held: Option<StoredBlock> = on_tx!(&mut tx, t => sqlx::query_as(STATE_OF)
                .bind(&change.official)
                .fetch_optional(&mut **t)
                .await)
            .map_err(|e| self.failed("read an official's account from", e))?;
            let annulled = held.is_some_and(|b| b.state.as_deref() == Some("annulled"));
            return Ok(Err(if annulled {
                ChangeRefused::Annulled
            } else {
                ChangeRefused::NotBlocked
            }));
        }
        on_tx!(&mut tx, t => sqlx::query(RECORD)
            .bind(&change.official)
            .bind(change.action.as_str())
            .bind(day_text(change.action.until()))
            .bind(&change.reason)
            .bind(&change.by)
            .bind(&at)
            .execute(&mut **t)
            .await
            .map(drop))
        .map_err(|e| self.failed("record a change of an official's account in", e))?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// The block on `official`'s account, if any.
    pub async fn official_block(
        &self,
        official: &str,
    ) -> Result<Option<OfficialBlock>, StoreError> {
        let row: Option<StoredBlock> = super::on_pool!(&self.pool, pool => sqlx::query_as(STATE_OF)
            .bind(official)
            .fetch_optional(pool)
            .await)
        .map_err(|e| self.failed("read an official's account from", e))?;
        row.map_or(Ok(None), |row| read_block(self, row))
    }

    /// Every account block, by official.
    pub async fn official_blocks(&self) -> Result<Vec<OfficialBlock>, StoreError> {
        let rows: Vec<StoredBlock> = super::on_pool!(&self.pool, pool => sqlx::query_as(ALL)
            .fetch_all(pool)
            .await)
        .map_err(|e| self.failed("read the officials' accounts from", e))?;
        let mut blocks = Vec::with_capacity(rows.len());
        for row in rows {
            blocks.extend(read_block(self, row)?);
        }
        Ok(blocks)
    }

    /// The latest `limit` changes of officials' accounts, newest first.
    pub async fn official_account_changes(
        &self,
        limit: i64,
    ) -> Result<Vec<AccountChangeRow>, StoreError> {
        let rows: Vec<StoredChange> = super::on_pool!(&self.pool, pool => sqlx::query_as(CHANGES)
            .bind(limit)
            .fetch_all(pool)
            .await)
        .map_err(|e| self.failed("read the changes of officials' accounts from", e))?;
        rows.into_iter()
            .map(|row| {
                let what = format!("account change {}", row.id);
                let until = read_day(self, &what, row.until.as_deref())?;
                let action = match row.action.as_str() {
                    "block" => AccountAction::Block { until },
                    "unblock" => AccountAction::Unblock,
                    "annul" => AccountAction::Annul,
                    other => return Err(self.malformed(&what, "action", other)),
                };
                Ok(AccountChangeRow {
                    id: row.id,
                    change: AccountChange {
                        at: parse_time(&row.at)
                            .ok_or_else(|| self.malformed(&what, "time", &row.at))?,
                        official: row.official,
                        action,
                        reason: row.reason,
                        by: row.by_official,
                    },
                })
            })
            .collect()
    }
}
