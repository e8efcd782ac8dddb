//! The registry's archive (REG-8): acts of destruction (drawn up, approved by another official,
//! then carried out card by card in one transaction) and named legal holds that stop every
//! disposal of what they cover. Acts, holds and destroyed cards' metadata are never deleted.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use super::{CardChange, CardRow, Store, StoreError, Tx, on_pool, on_tx, time_text};

const ACT_COLUMNS: &str = "id, participant, number, reason, drawn_by, drawn_at, approved_by, \
     approved_at";
const ACT_CARD_COLUMNS: &str = "act_id, card_id, case_code, reg_number, reg_date, summary, \
     outcome, hold_id, hold_name";
const HOLD_COLUMNS: &str = "id, participant, name, reason, scope, case_code, journal, \
     created_by, created_at, released_by, released_at, release_reason";

/// The statuses a card may be destroyed or archived from: its work is over.
pub const CLOSED_STATUSES: &[&str] = &["executed", "filed", "archived"];

/// An act of destruction as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ActRow {
    pub id: String,
    pub participant: String,
    /// `<seq>/<year>` within the participant.
    pub number: String,
    pub reason: String,
    /// The official who drew it up (their id).
    pub drawn_by: String,
    pub drawn_at: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
}

/// One card of an act, as the act lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ActCardRow {
    pub act_id: String,
    pub card_id: String,
    pub case_code: String,
    pub reg_number: Option<String>,
    pub reg_date: Option<String>,
    pub summary: String,
    /// `None` until approved; then `destroyed`, or `held` by the hold named.
    pub outcome: Option<String>,
    pub hold_id: Option<String>,
    pub hold_name: Option<String>,
}

/// A legal hold as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct HoldRow {
    pub id: String,
    pub participant: String,
    pub name: String,
    pub reason: String,
    /// `case` (all cards of `case_code`), `journal` (all of `journal`), or `cards` (listed).
    pub scope: String,
    pub case_code: Option<String>,
    pub journal: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub released_by: Option<String>,
    pub released_at: Option<String>,
    pub release_reason: Option<String>,
}

/// Why an act was not drawn up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActRefused {
    /// The card is not the participant's, or no longer closed (`executed`, `filed`, `archived`).
    NotClosed(String),
    /// The card is already in an act not yet approved, or destroyed.
    InAnotherAct(String),
}

/// What approving an act did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    /// Approved now; its cards with their outcomes.
    Approved(Vec<ActCardRow>),
    NoSuchAct,
    AlreadyApproved,
    /// The official who drew the act up may not approve it.
    SameOfficial,
}

impl Store {
    /// The cards of `participant` filed in case `case_code` in `year` whose work is over, by
    /// registration date.
    pub async fn closed_cards_of_case(
        &self,
        participant: &str,
        year: i32,
        case_code: &str,
    ) -> Result<Vec<CardRow>, StoreError> {
        let sql = format!(
            "SELECT {} FROM cards WHERE participant = $1 AND case_code = $2 \
             AND reg_date >= $3 AND reg_date <= $4 AND status IN ($5, $6, $7) \
             ORDER BY reg_date, id",
            super::cards::COLUMNS
        );
        on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(participant).bind(case_code)
            .bind(format!("{year}-01-01")).bind(format!("{year}-12-31"))
            .bind(CLOSED_STATUSES[0]).bind(CLOSED_STATUSES[1]).bind(CLOSED_STATUSES[2])
            .fetch_all(pool).await)
        .map_err(|e| self.failed("read the cards of a case from", e))
    }

    /// Up to `limit` cards of `participant` executed or filed and not yet archived: those a
    /// transfer to the archive takes, oldest first.
    pub async fn cards_to_transfer(
        &self,
        participant: &str,
        limit: i64,
    ) -> Result<Vec<CardRow>, StoreError> {
        let sql = format!(
            "SELECT {} FROM cards WHERE participant = $1 AND status IN ($2, $3) \
             AND archived_at IS NULL ORDER BY reg_date, id LIMIT $4",
            super::cards::COLUMNS
        );
        on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(participant).bind(CLOSED_STATUSES[0]).bind(CLOSED_STATUSES[1]).bind(limit)
            .fetch_all(pool).await)
        .map_err(|e| self.failed("read the cards to transfer from", e))
    }

    /// The cards of `participant` an act not yet approved lists.
    pub async fn cards_in_open_acts(
        &self,
        participant: &str,
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let ids: Vec<String> = on_pool!(&self.pool, pool => sqlx::query_scalar(
            "SELECT ac.card_id FROM archive_act_cards ac JOIN archive_acts a ON a.id = ac.act_id \
             WHERE a.participant = $1 AND a.approved_at IS NULL")
            .bind(participant).fetch_all(pool).await)
        .map_err(|e| self.failed("read the open acts from", e))?;
        Ok(ids.into_iter().collect())
    }

    /// Draws up act `act` over `cards` (each with the case it is destroyed under), numbered
    /// after the participant's acts of the year `act.number` ends with. The act as written, or
    /// why not (nothing written).
    pub async fn draw_act(
        &self,
        act: &ActRow,
        cards: &[(String, String)],
    ) -> Result<Result<ActRow, ActRefused>, StoreError> {
        let mut tx = self.begin().await?;
        // Two acts drawn up at once would read the same last number: one waits for the other.
        self.take_archive_turn(&mut tx, &act.participant, &act.drawn_at)
            .await?;
        let year = act
            .number
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let numbers: Vec<String> = on_tx!(&mut tx, t => sqlx::query_scalar(
            "SELECT number FROM archive_acts WHERE participant = $1")
            .bind(&act.participant).fetch_all(&mut **t).await)
        .map_err(|e| self.failed("read the acts of destruction from", e))?;
        let last = numbers
            .iter()
            .filter_map(|n| n.split_once('/'))
            .filter(|(_, y)| *y == year)
            .filter_map(|(seq, _)| seq.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        let mut act = act.clone();
        act.number = format!("{}/{year}", last + 1);
        let sql = format!(
            "INSERT INTO archive_acts ({ACT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        );
        on_tx!(&mut tx, t => sqlx::query(&sql)
            .bind(&act.id).bind(&act.participant).bind(&act.number).bind(&act.reason)
            .bind(&act.drawn_by).bind(&act.drawn_at).bind(&act.approved_by).bind(&act.approved_at)
            .execute(&mut **t).await.map(drop))
        .map_err(|e| self.failed("write an act of destruction to", e))?;
        for (card_id, case_code) in cards {
            let Some(card) = self.card_in(&mut tx, card_id).await? else {
                return Ok(Err(ActRefused::NotClosed(card_id.clone())));
            };
            if card.participant != act.participant
                || !CLOSED_STATUSES.contains(&card.status.as_str())
            {
                return Ok(Err(ActRefused::NotClosed(card_id.clone())));
            }
            let open: i64 = on_tx!(&mut tx, t => sqlx::query_scalar(
                "SELECT COUNT(*) FROM archive_act_cards ac JOIN archive_acts a ON a.id = ac.act_id \
                 WHERE ac.card_id = $1 AND (a.approved_at IS NULL OR ac.outcome = 'destroyed')")
                .bind(card_id).fetch_one(&mut **t).await)
            .map_err(|e| self.failed("read the acts of a card from", e))?;
            if open > 0 {
                return Ok(Err(ActRefused::InAnotherAct(card_id.clone())));
            }
            let sql = format!(
                "INSERT INTO archive_act_cards ({ACT_CARD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, \
                 $6, NULL, NULL, NULL)"
            );
            on_tx!(&mut tx, t => sqlx::query(&sql)
                .bind(&act.id).bind(card_id).bind(case_code).bind(&card.reg_number)
                .bind(&card.reg_date).bind(&card.summary)
                .execute(&mut **t).await.map(drop))
            .map_err(|e| self.failed("list a card in an act of destruction in", e))?;
        }
        tx.commit().await?;
        Ok(Ok(act))
    }

    /// The acts of `participant`, newest first.
    pub async fn acts(&self, participant: &str) -> Result<Vec<ActRow>, StoreError> {
        let sql = format!(
            "SELECT {ACT_COLUMNS} FROM archive_acts WHERE participant = $1 \
             ORDER BY drawn_at DESC, id"
        );
        on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(participant).fetch_all(pool).await)
        .map_err(|e| self.failed("read the acts of destruction from", e))
    }

    /// Act `id`, if there is one.
    pub async fn act(&self, id: &str) -> Result<Option<ActRow>, StoreError> {
        let sql = format!("SELECT {ACT_COLUMNS} FROM archive_acts WHERE id = $1");
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
            .map_err(|e| self.failed("read an act of destruction from", e))
    }

    /// The cards act `id` lists, by case and number.
    pub async fn act_cards(&self, id: &str) -> Result<Vec<ActCardRow>, StoreError> {
        let sql = format!(
            "SELECT {ACT_CARD_COLUMNS} FROM archive_act_cards WHERE act_id = $1 \
             ORDER BY case_code, reg_date, card_id"
        );
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(id).fetch_all(pool).await)
            .map_err(|e| self.failed("read the cards of an act from", e))
    }

    /// Approves act `id` as `approver` and carries it out in one transaction: each card a
    /// legal hold in force covers is kept (the act says which hold); every other card becomes
    /// `destroyed` through `write_card`, its files' content is removed (a blob only when no
    /// draft, case or other card's living file holds it) and the files' rows keep their digest.
    pub async fn approve_act(
        &self,
        id: &str,
        approver: &str,
        now: DateTime<Utc>,
    ) -> Result<Approval, StoreError> {
        let mut tx = self.begin().await?;
        let at = time_text(&now);
        let sql = format!("SELECT {ACT_COLUMNS} FROM archive_acts WHERE id = $1");
        let act: Option<ActRow> = on_tx!(&mut tx, t => sqlx::query_as(&sql)
            .bind(id).fetch_optional(&mut **t).await)
        .map_err(|e| self.failed("read an act of destruction from", e))?;
        let Some(act) = act else {
            return Ok(Approval::NoSuchAct);
        };
        if act.drawn_by == approver {
            return Ok(Approval::SameOfficial);
        }
        self.take_archive_turn(&mut tx, &act.participant, &at)
            .await?;
        let approved = on_tx!(&mut tx, t => sqlx::query(
            "UPDATE archive_acts SET approved_by = $2, approved_at = $3 \
             WHERE id = $1 AND approved_at IS NULL")
            .bind(id).bind(approver).bind(&at)
            .execute(&mut **t).await.map(|d| d.rows_affected()))
        .map_err(|e| self.failed("approve an act of destruction in", e))?;
        if approved != 1 {
            return Ok(Approval::AlreadyApproved);
        }
        let sql = format!("SELECT {ACT_CARD_COLUMNS} FROM archive_act_cards WHERE act_id = $1");
        let lines: Vec<ActCardRow> = on_tx!(&mut tx, t => sqlx::query_as(&sql)
            .bind(id).fetch_all(&mut **t).await)
        .map_err(|e| self.failed("read the cards of an act from", e))?;
        let actor = format!("official:{approver}");
        for line in &lines {
            let card = self.card_in(&mut tx, &line.card_id).await?.ok_or_else(|| {
                StoreError::new(format!(
                    "act {} lists card {}, which the store no longer has",
                    act.number, line.card_id
                ))
            })?;
            if !CLOSED_STATUSES.contains(&card.status.as_str()) {
                return Err(StoreError::new(format!(
                    "act {} lists card {}, which is `{}` now, not executed, filed or archived: \
                     the act cannot be carried out as drawn up; draw up a new one",
                    act.number, card.id, card.status
                )));
            }
            let (outcome, hold) = match self.holds_on_in(&mut tx, &card).await?.into_iter().next() {
                Some(hold) => ("held", Some(hold)),
                None => {
                    self.destroy_card(&mut tx, &card, &act, &actor, now).await?;
                    ("destroyed", None)
                }
            };
            on_tx!(&mut tx, t => sqlx::query(
                "UPDATE archive_act_cards SET outcome = $3, hold_id = $4, hold_name = $5 \
                 WHERE act_id = $1 AND card_id = $2")
                .bind(id).bind(&line.card_id).bind(outcome)
                .bind(hold.as_ref().map(|h| h.id.clone()))
                .bind(hold.as_ref().map(|h| h.name.clone()))
                .execute(&mut **t).await.map(drop))
            .map_err(|e| self.failed("record what an act did to a card in", e))?;
        }
        tx.commit().await?;
        Ok(Approval::Approved(self.act_cards(id).await?))
    }

    /// `card` destroyed under `act` in `tx`: its status, its history event, its files' content.
    async fn destroy_card(
        &self,
        tx: &mut Tx,
        card: &CardRow,
        act: &ActRow,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let at = time_text(&now);
        let mut after = card.clone();
        after.status = "destroyed".into();
        after.version = card.version + 1;
        after.updated_at = at.clone();
        let written = self
            .write_card(
                tx,
                &CardChange {
                    before: Some(card),
                    after: &after,
                    actor,
                    on_behalf: None,
                    kind: "destroyed",
                    note: json!({"act": act.id, "act_number": act.number}),
                    at: now,
                },
            )
            .await?;
        if !written {
            return Err(StoreError::new(format!(
                "card {} changed while act {} was carried out; approve it again",
                card.id, act.number
            )));
        }
        let digests: Vec<String> = on_tx!(&mut *tx, t => sqlx::query_scalar(
            "UPDATE card_files SET destroyed_at = $2 WHERE card_id = $1 AND destroyed_at IS NULL \
             RETURNING sha256")
            .bind(&card.id).bind(&at).fetch_all(&mut **t).await)
        .map_err(|e| self.failed("mark a card's files destroyed in", e))?;
        for digest in digests {
            on_tx!(&mut *tx, t => sqlx::query(
                "DELETE FROM attachment_blobs WHERE sha256 = $1 \
                 AND NOT EXISTS (SELECT 1 FROM draft_attachments WHERE sha256 = $1) \
                 AND NOT EXISTS (SELECT 1 FROM case_attachments WHERE sha256 = $1) \
                 AND NOT EXISTS (SELECT 1 FROM card_files WHERE sha256 = $1 \
                     AND destroyed_at IS NULL)")
                .bind(&digest).execute(&mut **t).await.map(drop))
            .map_err(|e| self.failed("remove a destroyed file's content from", e))?;
        }
        Ok(())
    }

    /// Takes `participant`'s archive turn in `tx`: acts drawn up or approved and holds placed
    /// queue on it, on any replica.
    async fn take_archive_turn(
        &self,
        tx: &mut Tx,
        participant: &str,
        at: &str,
    ) -> Result<(), StoreError> {
        on_tx!(&mut *tx, t => sqlx::query(
            "INSERT INTO archive_turns (participant, taken_at) VALUES ($1, $2) \
             ON CONFLICT (participant) DO UPDATE SET taken_at = excluded.taken_at")
            .bind(participant).bind(at).execute(&mut **t).await.map(drop))
        .map_err(|e| self.failed("take the archive's turn in", e))
    }

    /// Places `hold`, covering `cards` when its scope is `cards`.
    pub async fn place_hold(&self, hold: &HoldRow, cards: &[String]) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        self.take_archive_turn(&mut tx, &hold.participant, &hold.created_at)
            .await?;
        let sql = format!(
            "INSERT INTO legal_holds ({HOLD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
             $9, $10, $11, $12)"
        );
        on_tx!(&mut tx, t => sqlx::query(&sql)
            .bind(&hold.id).bind(&hold.participant).bind(&hold.name).bind(&hold.reason)
            .bind(&hold.scope).bind(&hold.case_code).bind(&hold.journal)
            .bind(&hold.created_by).bind(&hold.created_at).bind(&hold.released_by)
            .bind(&hold.released_at).bind(&hold.release_reason)
            .execute(&mut **t).await.map(drop))
        .map_err(|e| self.failed("place a legal hold in", e))?;
        for card in cards {
            on_tx!(&mut tx, t => sqlx::query(
                "INSERT INTO legal_hold_cards (hold_id, card_id) VALUES ($1, $2) \
                 ON CONFLICT (hold_id, card_id) DO NOTHING")
                .bind(&hold.id).bind(card).execute(&mut **t).await.map(drop))
            .map_err(|e| self.failed("list a card under a legal hold in", e))?;
        }
        tx.commit().await
    }

    /// The legal holds of `participant`, those in force first, newest first.
    pub async fn holds(&self, participant: &str) -> Result<Vec<HoldRow>, StoreError> {
        let sql = format!(
            "SELECT {HOLD_COLUMNS} FROM legal_holds WHERE participant = $1 \
             ORDER BY CASE WHEN released_at IS NULL THEN 0 ELSE 1 END, created_at DESC, id"
        );
        on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(participant).fetch_all(pool).await)
        .map_err(|e| self.failed("read the legal holds from", e))
    }

    /// Hold `id`, if there is one.
    pub async fn hold(&self, id: &str) -> Result<Option<HoldRow>, StoreError> {
        let sql = format!("SELECT {HOLD_COLUMNS} FROM legal_holds WHERE id = $1");
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
            .map_err(|e| self.failed("read a legal hold from", e))
    }

    /// The cards hold `id` lists by name.
    pub async fn hold_cards(&self, id: &str) -> Result<Vec<String>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_scalar(
            "SELECT card_id FROM legal_hold_cards WHERE hold_id = $1 ORDER BY card_id")
            .bind(id).fetch_all(pool).await)
        .map_err(|e| self.failed("read the cards of a legal hold from", e))
    }

    /// Releases hold `id` of `participant`; `false` when there is no such hold in force.
    pub async fn release_hold(
        &self,
        id: &str,
        participant: &str,
        by: &str,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(
            "UPDATE legal_holds SET released_by = $3, released_at = $4, release_reason = $5 \
             WHERE id = $1 AND participant = $2 AND released_at IS NULL")
            .bind(id).bind(participant).bind(by).bind(time_text(&now)).bind(why)
            .execute(pool).await.map(|d| d.rows_affected() == 1))
        .map_err(|e| self.failed("release a legal hold in", e))
    }

    /// The holds in force that cover `card`.
    pub async fn holds_on(&self, card: &CardRow) -> Result<Vec<HoldRow>, StoreError> {
        let sql = holds_on_sql();
        on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(&card.participant).bind(&card.case_code).bind(&card.journal).bind(&card.id)
            .fetch_all(pool).await)
        .map_err(|e| self.failed("read the legal holds on a card from", e))
    }

    /// As `holds_on`, in `tx`.
    async fn holds_on_in(&self, tx: &mut Tx, card: &CardRow) -> Result<Vec<HoldRow>, StoreError> {
        let sql = holds_on_sql();
        on_tx!(&mut *tx, t => sqlx::query_as(&sql)
            .bind(&card.participant).bind(&card.case_code).bind(&card.journal).bind(&card.id)
            .fetch_all(&mut **t).await)
        .map_err(|e| self.failed("read the legal holds on a card from", e))
    }

    /// The acts that list card `card_id`, with the card's line in each.
    pub async fn acts_of_card(
        &self,
        card_id: &str,
    ) -> Result<Vec<(ActRow, ActCardRow)>, StoreError> {
        let sql = format!(
            "SELECT {ACT_CARD_COLUMNS} FROM archive_act_cards WHERE card_id = $1 ORDER BY act_id"
        );
        let lines: Vec<ActCardRow> = on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(card_id).fetch_all(pool).await)
        .map_err(|e| self.failed("read the acts of a card from", e))?;
        let mut found = Vec::new();
        for line in lines {
            if let Some(act) = self.act(&line.act_id).await? {
                found.push((act, line));
            }
        }
        Ok(found)
    }
}

/// Holds in force of a card's participant covering its case (`$2`), journal (`$3`) or itself.
fn holds_on_sql() -> String {
    format!(
        "SELECT {HOLD_COLUMNS} FROM legal_holds h WHERE h.participant = $1 \
         AND h.released_at IS NULL AND ((h.scope = 'case' AND h.case_code = $2) \
         OR (h.scope = 'journal' AND h.journal = $3) OR (h.scope = 'cards' AND EXISTS \
         (SELECT 1 FROM legal_hold_cards hc WHERE hc.hold_id = h.id AND hc.card_id = $4))) \
         ORDER BY h.created_at, h.id"
    )
}
