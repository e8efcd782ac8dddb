//! Citizens' drafts of applications (PORTAL-3): created when a citizen applies, saved at every
//! page, read and changed only by their owner, locked for good once signed, and removed when the
//! retention period for drafts has passed.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, Tx, on_pool, on_tx, parse_time, time_text};

const COLUMNS: &str = "id, owner, e_service, form, revision, data, consents, page, created_at, \
     updated_at, expires_at, submitted_at";

/// A `drafts` row as stored.
#[derive(sqlx::FromRow)]
struct StoredDraft {
    id: String,
    owner: String,
    e_service: String,
    form: String,
    revision: String,
    data: String,
    consents: String,
    page: String,
    created_at: String,
    updated_at: String,
    expires_at: String,
    submitted_at: Option<String>,
}

/// A citizen's draft of an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftRow {
    pub id: String,
    /// Whose it is: the RNOKPP, or `sub:<subject>` when the identity provider gave none.
    pub owner: String,
    pub e_service: String,
    pub form: String,
    /// The revision whose form the draft is filled against.
    pub revision: String,
    /// JSON text: field id → typed value; group id → list of entry objects.
    pub data: String,
    /// JSON text: consent or declaration id → given.
    pub consents: String,
    /// The page last saved.
    pub page: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// When it was signed; `Some` means locked.
    pub submitted_at: Option<DateTime<Utc>>,
}

impl DraftRow {
    pub fn locked(&self) -> bool {
        self.submitted_at.is_some()
    }
}

/// A draft to create.
#[derive(Debug, Clone)]
pub struct NewDraft {
    pub owner: String,
    pub e_service: String,
    pub form: String,
    pub revision: String,
    /// JSON text, e.g. prefilled values.
    pub data: String,
    pub page: String,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What became of a change to a draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftWrite {
    Done,
    /// The draft is signed: nothing of it changes any more.
    Locked,
    /// No such draft of this owner (never was, removed, or someone else's).
    Missing,
}

impl Store {
    /// Creates a draft and returns it with its new id.
    pub async fn create_draft(&self, new: &NewDraft) -> Result<DraftRow, StoreError> {
        let row = DraftRow {
            id: uuid::Uuid::now_v7().simple().to_string(),
            owner: new.owner.clone(),
            e_service: new.e_service.clone(),
            form: new.form.clone(),
            revision: new.revision.clone(),
            data: new.data.clone(),
            consents: "{}".into(),
            page: new.page.clone(),
            created_at: new.now,
            updated_at: new.now,
            expires_at: new.expires_at,
            submitted_at: None,
        };
        let sql = format!(
            "INSERT INTO drafts ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL)"
        );
        on_pool!(&self.pool, pool => sqlx::query(&sql)
            .bind(&row.id)
            .bind(&row.owner)
            .bind(&row.e_service)
            .bind(&row.form)
            .bind(&row.revision)
            .bind(&row.data)
            .bind(&row.consents)
            .bind(&row.page)
            .bind(time_text(&row.created_at))
            .bind(time_text(&row.updated_at))
            .bind(time_text(&row.expires_at))
            .execute(pool)
            .await
            .map(drop))
        .map_err(|e| self.failed("create a draft in", e))?;
        Ok(row)
    }

    /// The draft `id` if `owner` owns it (locked or not); someone else's is `None`.
    pub async fn draft(&self, owner: &str, id: &str) -> Result<Option<DraftRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM drafts WHERE id = $1 AND owner = $2");
        let row: Option<StoredDraft> = on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(id)
            .bind(owner)
            .fetch_optional(pool)
            .await)
        .map_err(|e| self.failed("read a draft from", e))?;
        row.map(|r| self.draft_row(r)).transpose()
    }

    /// `owner`'s drafts not yet signed, the last changed first.
    pub async fn drafts_of(&self, owner: &str) -> Result<Vec<DraftRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM drafts WHERE owner = $1 AND submitted_at IS NULL \
             ORDER BY updated_at DESC, id DESC"
        );
        let rows: Vec<StoredDraft> = on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(owner)
            .fetch_all(pool)
            .await)
        .map_err(|e| self.failed("list drafts in", e))?;
        rows.into_iter().map(|r| self.draft_row(r)).collect()
    }

    /// Saves `data`, `consents` and the page reached of `owner`'s unlocked draft `id`.
    pub async fn save_draft(
        &self,
        owner: &str,
        id: &str,
        data: &str,
        consents: &str,
        page: &str,
        now: DateTime<Utc>,
    ) -> Result<DraftWrite, StoreError> {
        let changed = on_pool!(&self.pool, pool => sqlx::query(
            "UPDATE drafts SET data = $1, consents = $2, page = $3, updated_at = $4 \
             WHERE id = $5 AND owner = $6 AND submitted_at IS NULL")
            .bind(data)
            .bind(consents)
            .bind(page)
            .bind(time_text(&now))
            .bind(id)
            .bind(owner)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(|e| self.failed("save a draft in", e))?;
        self.written(changed, owner, id).await
    }

    /// Removes `owner`'s unlocked draft `id`.
    pub async fn delete_draft(&self, owner: &str, id: &str) -> Result<DraftWrite, StoreError> {
        let removed = on_pool!(&self.pool, pool => sqlx::query(
            "DELETE FROM drafts WHERE id = $1 AND owner = $2 AND submitted_at IS NULL")
            .bind(id)
            .bind(owner)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(|e| self.failed("delete a draft in", e))?;
        self.written(removed, owner, id).await
    }

    /// Locks `owner`'s draft `id` in `tx` (the transaction that records the signed application):
    /// `Done` only for the one call that locked it, so a double submission makes one application.
    pub async fn lock_draft(
        &self,
        tx: &mut Tx,
        owner: &str,
        id: &str,
    ) -> Result<DraftWrite, StoreError> {
        let now = time_text(&Utc::now());
        let locked = on_tx!(tx, t => sqlx::query(
            "UPDATE drafts SET submitted_at = $1, updated_at = $1 \
             WHERE id = $2 AND owner = $3 AND submitted_at IS NULL")
            .bind(&now)
            .bind(id)
            .bind(owner)
            .execute(&mut **t)
            .await
            .map(|done| done.rows_affected()))
        .map_err(|e| self.failed("lock a draft in", e))?;
        if locked == 1 {
            return Ok(DraftWrite::Done);
        }
        let exists: Option<String> = on_tx!(tx, t => sqlx::query_scalar(
            "SELECT id FROM drafts WHERE id = $1 AND owner = $2")
            .bind(id)
            .bind(owner)
            .fetch_optional(&mut **t)
            .await)
        .map_err(|e| self.failed("read a draft from", e))?;
        Ok(match exists {
            Some(_) => DraftWrite::Locked,
            None => DraftWrite::Missing,
        })
    }

    /// Removes the unlocked drafts whose retention ended before `now`; how many.
    pub async fn remove_expired_drafts(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(
            "DELETE FROM drafts WHERE expires_at < $1 AND submitted_at IS NULL")
            .bind(time_text(&now))
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(|e| self.failed("remove expired drafts from", e))
    }

    /// `Done` when a change touched the row; otherwise whether it is locked or missing.
    async fn written(&self, changed: u64, owner: &str, id: &str) -> Result<DraftWrite, StoreError> {
        if changed > 0 {
            return Ok(DraftWrite::Done);
        }
        Ok(match self.draft(owner, id).await? {
            Some(_) => DraftWrite::Locked,
            None => DraftWrite::Missing,
        })
    }

    fn draft_row(&self, r: StoredDraft) -> Result<DraftRow, StoreError> {
        let row = format!("draft {}", r.id);
        let time = |what: &str, value: &str| {
            parse_time(value).ok_or_else(|| self.malformed(&row, what, value))
        };
        Ok(DraftRow {
            created_at: time("creation time", &r.created_at)?,
            updated_at: time("time of change", &r.updated_at)?,
            expires_at: time("expiry time", &r.expires_at)?,
            submitted_at: r
                .submitted_at
                .as_deref()
                .map(|t| time("submission time", t))
                .transpose()?,
            id: r.id,
            owner: r.owner,
            e_service: r.e_service,
            form: r.form,
            revision: r.revision,
            data: r.data,
            consents: r.consents,
            page: r.page,
        })
    }
}
