//! The applications citizens signed on the portal: the canonical document and its signature,
//! the registration number in the provider's incoming journal and the case started for it.
//! Written once in the signing transaction; only the case id is filled in later.

use super::{Store, StoreError, Tx, on_pool, on_tx};

pub(super) const COLUMNS: &str = "id, owner, draft_id, e_service, journal, period, seq, number, \
     received_at, case_id, document, signature";

/// One registered application as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApplicationRow {
    pub id: String,
    /// Who it belongs to: the citizen's `owner` key (their RNOKPP, or `sub:<sub>`).
    pub owner: String,
    /// The draft it was made from; one application per draft.
    pub draft_id: String,
    pub e_service: String,
    /// The provider's incoming journal that registered it.
    pub journal: String,
    /// The journal's numbering period (`2026`, or `` when it never resets).
    pub period: String,
    pub seq: i64,
    /// The registration number, as the journal's pattern writes it.
    pub number: String,
    /// When it was received (store time, UTC).
    pub received_at: String,
    /// The case the engine started for it; `None` until then.
    pub case_id: Option<String>,
    /// The canonical JSON document, exactly the bytes signed.
    pub document: String,
    /// The applicant's detached CMS signature (DER) over `document`; `None` where the form
    /// asks for no signature.
    pub signature: Option<Vec<u8>>,
}

impl Store {
    /// Stores `application` in `tx`.
    pub async fn insert_application(
        &self,
        tx: &mut Tx,
        application: &ApplicationRow,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO applications ({COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        );
        on_tx!(tx, t => sqlx::query(&sql)
            .bind(&application.id)
            .bind(&application.owner)
            .bind(&application.draft_id)
            .bind(&application.e_service)
            .bind(&application.journal)
            .bind(&application.period)
            .bind(application.seq)
            .bind(&application.number)
            .bind(&application.received_at)
            .bind(&application.case_id)
            .bind(&application.document)
            .bind(&application.signature)
            .execute(&mut **t)
            .await
            .map(drop))
        .map_err(|e| self.failed("store an application in", e))
    }

    /// The application made from draft `draft_id`, read in `tx` (a second signing of the same
    /// draft finds the first).
    pub async fn application_of_draft(
        &self,
        tx: &mut Tx,
        draft_id: &str,
    ) -> Result<Option<ApplicationRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM applications WHERE draft_id = $1");
        on_tx!(tx, t => sqlx::query_as(&sql).bind(draft_id).fetch_optional(&mut **t).await)
            .map_err(|e| self.failed("read an application from", e))
    }

    /// `owner`'s application made from their draft `draft_id`.
    pub async fn application_for_draft(
        &self,
        owner: &str,
        draft_id: &str,
    ) -> Result<Option<ApplicationRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM applications WHERE draft_id = $1 AND owner = $2");
        on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(draft_id)
            .bind(owner)
            .fetch_optional(pool)
            .await)
        .map_err(|e| self.failed("read an application from", e))
    }

    /// `owner`'s applications, newest first.
    pub async fn applications_of(&self, owner: &str) -> Result<Vec<ApplicationRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM applications WHERE owner = $1 \
             ORDER BY received_at DESC, id DESC"
        );
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(owner).fetch_all(pool).await)
            .map_err(|e| self.failed("read a citizen's applications from", e))
    }

    /// Application `id` if it is `owner`'s; another person's is `None`, like one that does not
    /// exist.
    pub async fn application(
        &self,
        owner: &str,
        id: &str,
    ) -> Result<Option<ApplicationRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM applications WHERE id = $1 AND owner = $2");
        on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(id)
            .bind(owner)
            .fetch_optional(pool)
            .await)
        .map_err(|e| self.failed("read an application from", e))
    }

    /// Records that case `case_id` was started for application `id`; a case already recorded
    /// stays.
    pub async fn set_application_case(&self, id: &str, case_id: &str) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(
            "UPDATE applications SET case_id = $1 WHERE id = $2 AND case_id IS NULL")
            .bind(case_id)
            .bind(id)
            .execute(pool)
            .await
            .map(drop))
        .map_err(|e| self.failed("record the case of an application in", e))
    }

    /// Applications registered but whose case was not started yet (a crash between the two),
    /// oldest first, at most `limit`.
    pub async fn applications_without_case(
        &self,
        limit: i64,
    ) -> Result<Vec<ApplicationRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM applications WHERE case_id IS NULL \
             ORDER BY received_at, id LIMIT $1"
        );
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(limit).fetch_all(pool).await)
            .map_err(|e| self.failed("read the applications awaiting their case from", e))
    }

    /// The application whose case is `case_id`, whoever's it is (an official's reading).
    pub async fn application_of_case(
        &self,
        case_id: &str,
    ) -> Result<Option<ApplicationRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM applications WHERE case_id = $1");
        on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(case_id)
            .fetch_optional(pool)
            .await)
        .map_err(|e| self.failed("read a case's application from", e))
    }
}
