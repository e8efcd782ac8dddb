//! Payments of paid e-services' fees (PORTAL-9): each order handed to a payment provider, its
//! status, the receipt, and every event that changed it (creation, callbacks, expiry). A
//! payment belongs to a citizen's draft, and through its application to the case.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, Tx, on_pool, on_tx, parse_time, time_text};

const COLUMNS: &str = "id, owner, draft_id, e_service, provider, amount, currency, status, \
     created_at, expires_at, updated_at, transaction_id, paid_amount, paid_currency, paid_at";
const EVENT_COLUMNS: &str =
    "payment_id, seq, at, provider_status, status, amount, currency, transaction_id, digest, note";

/// Where a payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    /// Created; the applicant was handed to the provider and nothing came back yet.
    Pending,
    /// The provider says it is under way (3-D Secure, waiting for the bank, …).
    Processing,
    /// Paid in full: the fee is settled.
    Paid,
    /// The provider refused or failed it.
    Failed,
    /// Nothing final came back within the payment's window; a new one may be started.
    Expired,
    /// Paid, then returned to the payer by the provider: no longer settled.
    Reversed,
    /// The provider reported a success for another amount or currency than ordered: not settled.
    Mismatch,
    /// Paid while the fee had already been paid by another order: to be refunded.
    RefundDue,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 8] = [
        PaymentStatus::Pending,
        PaymentStatus::Processing,
        PaymentStatus::Paid,
        PaymentStatus::Failed,
        PaymentStatus::Expired,
        PaymentStatus::Reversed,
        PaymentStatus::Mismatch,
        PaymentStatus::RefundDue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Processing => "processing",
            PaymentStatus::Paid => "paid",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Expired => "expired",
            PaymentStatus::Reversed => "reversed",
            PaymentStatus::Mismatch => "mismatch",
            PaymentStatus::RefundDue => "refund-due",
        }
    }

    pub fn parse(text: &str) -> Option<PaymentStatus> {
        PaymentStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Nothing final has come back yet.
    pub fn open(self) -> bool {
        matches!(self, PaymentStatus::Pending | PaymentStatus::Processing)
    }
}

/// A payment about to be handed to the provider.
#[derive(Debug, Clone)]
pub struct NewPayment {
    /// The order id the provider is given (unguessable).
    pub id: String,
    pub owner: String,
    pub draft_id: String,
    pub e_service: String,
    pub provider: String,
    /// In kopiyky.
    pub amount: i64,
    pub currency: String,
    pub at: DateTime<Utc>,
    /// When, with nothing final back, it counts as expired.
    pub expires_at: DateTime<Utc>,
}

/// One payment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRow {
    pub id: String,
    pub owner: String,
    pub draft_id: String,
    pub e_service: String,
    pub provider: String,
    /// Ordered, in kopiyky.
    pub amount: i64,
    pub currency: String,
    pub status: PaymentStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The receipt, once a callback settled it (or flagged it for refund).
    pub receipt: Option<Receipt>,
}

/// What the provider confirmed was paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub transaction_id: String,
    /// In kopiyky.
    pub amount: i64,
    pub currency: String,
    pub at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct StoredPayment {
    id: String,
    owner: String,
    draft_id: String,
    e_service: String,
    provider: String,
    amount: i64,
    currency: String,
    status: String,
    created_at: String,
    expires_at: String,
    updated_at: String,
    transaction_id: Option<String>,
    paid_amount: Option<i64>,
    paid_currency: Option<String>,
    paid_at: Option<String>,
}

/// One event of a payment's history.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PaymentEventRow {
    pub payment_id: String,
    pub seq: i64,
    pub at: String,
    /// What the provider said (`success`, `failure`, …), or `created` / `expired`.
    pub provider_status: String,
    /// The payment's status after it.
    pub status: String,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub transaction_id: Option<String>,
    /// SHA-256 of the callback's signed data; `None` for the portal's own events.
    pub digest: Option<String>,
    /// Why the status is what it is, in words for the people who reconcile payments.
    pub note: String,
}

/// A verified callback about a payment.
#[derive(Debug, Clone)]
pub struct PaymentCallback {
    pub payment_id: String,
    pub at: DateTime<Utc>,
    pub provider_status: String,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub transaction_id: Option<String>,
    /// SHA-256 (hex) of the signed data: the same callback sent again is known by it.
    pub digest: String,
}

/// What a callback does to its payment, decided by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub status: PaymentStatus,
    /// Record the callback's transaction, amount, currency and time as the receipt.
    pub receipt: bool,
    pub note: String,
}

/// What recording a callback did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// No payment has that id.
    Unknown,
    /// The same callback was recorded before: nothing changed.
    Replay(Box<PaymentRow>),
    /// Recorded; the payment before and after.
    Applied {
        before: Box<PaymentRow>,
        after: Box<PaymentRow>,
    },
}

impl Store {
    /// The draft's payment still open at `payment.at` for the same amount and provider, else
    /// `payment` stored as pending with its `created` event: in one transaction that holds the
    /// draft, so that two requests at once never hand over two orders.
    pub async fn open_or_create_payment(
        &self,
        payment: &NewPayment,
    ) -> Result<PaymentRow, StoreError> {
        let mut tx = self.begin().await?;
        if let Tx::Postgres(t) = &mut tx {
            sqlx::query("SELECT id FROM drafts WHERE id = $1 FOR UPDATE")
                .bind(&payment.draft_id)
                .fetch_optional(&mut **t)
                .await
                .map_err(|e| self.failed("hold a draft in", e))?;
        }
        let held = self.draft_payments_held(&mut tx, &payment.draft_id).await?;
        if let Some(open) = held.into_iter().find(|p| {
            p.status.open()
                && p.expires_at > payment.at
                && p.amount == payment.amount
                && p.currency == payment.currency
                && p.provider == payment.provider
        }) {
            return Ok(open);
        }
        self.insert_payment(&mut tx, payment).await?;
        tx.commit().await?;
        self.stored(&payment.id).await
    }

    async fn stored(&self, id: &str) -> Result<PaymentRow, StoreError> {
        self.payment(id)
            .await?
            .ok_or_else(|| StoreError::new(format!("payment {id} was stored but is not found")))
    }

    async fn insert_payment(&self, tx: &mut Tx, payment: &NewPayment) -> Result<(), StoreError> {
        let at = time_text(&payment.at);
        let sql = format!(
            "INSERT INTO payments ({COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9, NULL, NULL, NULL, NULL)"
        );
        on_tx!(tx, t => sqlx::query(&sql)
            .bind(&payment.id)
            .bind(&payment.owner)
            .bind(&payment.draft_id)
            .bind(&payment.e_service)
            .bind(&payment.provider)
            .bind(payment.amount)
            .bind(&payment.currency)
            .bind(PaymentStatus::Pending.as_str())
            .bind(&at)
            .bind(time_text(&payment.expires_at))
            .execute(&mut **t)
            .await
            .map(drop))
        .map_err(|e| self.failed("store a payment in", e))?;
        self.insert_payment_event(
            tx,
            &PaymentEventRow {
                payment_id: payment.id.clone(),
                seq: 1,
                at,
                provider_status: "created".into(),
                status: PaymentStatus::Pending.as_str().into(),
                amount: Some(payment.amount),
                currency: Some(payment.currency.clone()),
                transaction_id: None,
                digest: None,
                note: "handed to the payment provider".into(),
            },
        )
        .await
    }

    /// Payment `id`, whoever's it is (the provider's callback names only the order).
    pub async fn payment(&self, id: &str) -> Result<Option<PaymentRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM payments WHERE id = $1");
        let row: Option<StoredPayment> = on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)
        .map_err(|e| self.failed("read a payment from", e))?;
        row.map(|r| self.payment_row(r)).transpose()
    }

    /// Payment `id` if it is `owner`'s; another person's is `None`, like one that does not exist.
    pub async fn payment_of(
        &self,
        owner: &str,
        id: &str,
    ) -> Result<Option<PaymentRow>, StoreError> {
        Ok(self.payment(id).await?.filter(|p| p.owner == owner))
    }

    /// The payments made for draft `draft_id`, newest first.
    pub async fn payments_of_draft(&self, draft_id: &str) -> Result<Vec<PaymentRow>, StoreError> {
        self.payments_where("draft_id = $1", draft_id).await
    }

    /// `owner`'s payments, newest first.
    pub async fn payments_of_owner(&self, owner: &str) -> Result<Vec<PaymentRow>, StoreError> {
        self.payments_where("owner = $1", owner).await
    }

    /// The payments of the case `case_id` (made for the draft its application was signed
    /// from), newest first.
    pub async fn payments_of_case(&self, case_id: &str) -> Result<Vec<PaymentRow>, StoreError> {
        self.payments_where(
            "draft_id IN (SELECT draft_id FROM applications WHERE case_id = $1)",
            case_id,
        )
        .await
    }

    /// Whether the fee of a draft, or of a case (by its id), is paid.
    pub async fn payment_settled(&self, draft_or_case: &str) -> Result<bool, StoreError> {
        let paid: Option<i64> = on_pool!(&self.pool, pool => sqlx::query_scalar(
            "SELECT CAST(1 AS BIGINT) FROM payments WHERE status = 'paid' AND (draft_id = $1 OR draft_id IN \
             (SELECT draft_id FROM applications WHERE case_id = $1)) LIMIT 1")
            .bind(draft_or_case)
            .fetch_optional(pool)
            .await)
        .map_err(|e| self.failed("read whether a fee is paid from", e))?;
        Ok(paid.is_some())
    }

    /// Payment `id`'s history, oldest first.
    pub async fn payment_events(&self, id: &str) -> Result<Vec<PaymentEventRow>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM payment_events WHERE payment_id = $1 ORDER BY seq"
        );
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(id).fetch_all(pool).await)
            .map_err(|e| self.failed("read a payment's history from", e))
    }

    /// Records `callback` and applies what `decide` makes of it, given the payment and whether
    /// another payment of the same draft is already paid; all in one transaction that holds
    /// the draft's payments, so that two callbacks never both settle one fee. A callback whose
    /// digest was recorded before changes nothing.
    pub async fn record_payment_callback(
        &self,
        callback: &PaymentCallback,
        decide: impl FnOnce(&PaymentRow, bool) -> Settlement,
    ) -> Result<Recorded, StoreError> {
        let mut tx = self.begin().await?;
        let Some(before) = self.payment_in(&mut tx, &callback.payment_id).await? else {
            return Ok(Recorded::Unknown);
        };
        // The draft's payments, held until commit (PostgreSQL; SQLite has one writer).
        let siblings = self.draft_payments_held(&mut tx, &before.draft_id).await?;
        let seen: Option<i64> = on_tx!(&mut tx, t => sqlx::query_scalar(
            "SELECT CAST(1 AS BIGINT) FROM payment_events WHERE digest = $1")
            .bind(&callback.digest)
            .fetch_optional(&mut **t)
            .await)
        .map_err(|e| self.failed("read a payment's history from", e))?;
        if seen.is_some() {
            return Ok(Recorded::Replay(Box::new(before)));
        }
        let other_paid = siblings
            .iter()
            .any(|p| p.id != before.id && p.status == PaymentStatus::Paid);
        let settlement = decide(&before, other_paid);
        let at = time_text(&callback.at);
        let seq: i64 = on_tx!(&mut tx, t => sqlx::query_scalar(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM payment_events WHERE payment_id = $1")
            .bind(&before.id)
            .fetch_one(&mut **t)
            .await)
        .map_err(|e| self.failed("read a payment's history from", e))?;
        self.insert_payment_event(
            &mut tx,
            &PaymentEventRow {
                payment_id: before.id.clone(),
                seq,
                at: at.clone(),
                provider_status: callback.provider_status.clone(),
                status: settlement.status.as_str().into(),
                amount: callback.amount,
                currency: callback.currency.clone(),
                transaction_id: callback.transaction_id.clone(),
                digest: Some(callback.digest.clone()),
                note: settlement.note.clone(),
            },
        )
        .await?;
        let result = if settlement.receipt {
            on_tx!(&mut tx, t => sqlx::query(
                "UPDATE payments SET status = $1, updated_at = $2, transaction_id = $3, \
                 paid_amount = $4, paid_currency = $5, paid_at = $2 WHERE id = $6")
                .bind(settlement.status.as_str())
                .bind(&at)
                .bind(&callback.transaction_id)
                .bind(callback.amount)
                .bind(&callback.currency)
                .bind(&before.id)
                .execute(&mut **t)
                .await
                .map(drop))
        } else {
            on_tx!(&mut tx, t => sqlx::query(
                "UPDATE payments SET status = $1, updated_at = $2 WHERE id = $3")
                .bind(settlement.status.as_str())
                .bind(&at)
                .bind(&before.id)
                .execute(&mut **t)
                .await
                .map(drop))
        };
        result.map_err(|e| self.failed("record a payment's status in", e))?;
        let after = self
            .payment_in(&mut tx, &before.id)
            .await?
            .ok_or_else(|| StoreError::new(format!("payment {} vanished", before.id)))?;
        tx.commit().await?;
        Ok(Recorded::Applied {
            before: Box::new(before),
            after: Box::new(after),
        })
    }

    /// Marks the draft's payments still open at `now` but past their window as expired, each
    /// with an event; returns how many.
    pub async fn expire_payments(
        &self,
        draft_id: &str,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let mut tx = self.begin().await?;
        let held = self.draft_payments_held(&mut tx, draft_id).await?;
        let mut expired = 0;
        for payment in held
            .iter()
            .filter(|p| p.status.open() && p.expires_at <= now)
        {
            let seq: i64 = on_tx!(&mut tx, t => sqlx::query_scalar(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM payment_events WHERE payment_id = $1")
                .bind(&payment.id)
                .fetch_one(&mut **t)
                .await)
            .map_err(|e| self.failed("read a payment's history from", e))?;
            let at = time_text(&now);
            self.insert_payment_event(
                &mut tx,
                &PaymentEventRow {
                    payment_id: payment.id.clone(),
                    seq,
                    at: at.clone(),
                    provider_status: "expired".into(),
                    status: PaymentStatus::Expired.as_str().into(),
                    amount: None,
                    currency: None,
                    transaction_id: None,
                    digest: None,
                    note: "the provider reported nothing final within the payment's window".into(),
                },
            )
            .await?;
            on_tx!(&mut tx, t => sqlx::query(
                "UPDATE payments SET status = $1, updated_at = $2 WHERE id = $3")
                .bind(PaymentStatus::Expired.as_str())
                .bind(&at)
                .bind(&payment.id)
                .execute(&mut **t)
                .await
                .map(drop))
            .map_err(|e| self.failed("record a payment's expiry in", e))?;
            expired += 1;
        }
        tx.commit().await?;
        Ok(expired)
    }

    /// Flags for refund each paid payment whose draft was removed unsigned (deleted by its
    /// owner, or past its retention): the fee was paid for an application that will never be
    /// made. Returns how many.
    pub async fn flag_orphaned_payments(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let orphans: Vec<String> = on_tx!(&mut tx, t => sqlx::query_scalar(
            "SELECT id FROM payments WHERE status = 'paid' \
             AND draft_id NOT IN (SELECT id FROM drafts) \
             AND draft_id NOT IN (SELECT draft_id FROM applications) ORDER BY id")
            .fetch_all(&mut **t)
            .await)
        .map_err(|e| self.failed("read the payments of removed drafts from", e))?;
        let at = time_text(&now);
        for id in &orphans {
            let seq: i64 = on_tx!(&mut tx, t => sqlx::query_scalar(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM payment_events WHERE payment_id = $1")
                .bind(id)
                .fetch_one(&mut **t)
                .await)
            .map_err(|e| self.failed("read a payment's history from", e))?;
            self.insert_payment_event(
                &mut tx,
                &PaymentEventRow {
                    payment_id: id.clone(),
                    seq,
                    at: at.clone(),
                    provider_status: "draft-removed".into(),
                    status: PaymentStatus::RefundDue.as_str().into(),
                    amount: None,
                    currency: None,
                    transaction_id: None,
                    digest: None,
                    note:
                        "the draft was removed before it was submitted: refund the fee paid for it"
                            .into(),
                },
            )
            .await?;
            on_tx!(&mut tx, t => sqlx::query(
                "UPDATE payments SET status = $1, updated_at = $2 WHERE id = $3")
                .bind(PaymentStatus::RefundDue.as_str())
                .bind(&at)
                .bind(id)
                .execute(&mut **t)
                .await
                .map(drop))
            .map_err(|e| self.failed("flag a payment for refund in", e))?;
        }
        tx.commit().await?;
        Ok(orphans.len() as u64)
    }

    async fn payments_where(
        &self,
        condition: &str,
        value: &str,
    ) -> Result<Vec<PaymentRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM payments WHERE {condition} ORDER BY created_at DESC, id DESC"
        );
        let rows: Vec<StoredPayment> = on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(value)
            .fetch_all(pool)
            .await)
        .map_err(|e| self.failed("read payments from", e))?;
        rows.into_iter().map(|r| self.payment_row(r)).collect()
    }

    async fn payment_in(&self, tx: &mut Tx, id: &str) -> Result<Option<PaymentRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM payments WHERE id = $1");
        let row: Option<StoredPayment> = on_tx!(tx, t => sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(&mut **t)
            .await)
        .map_err(|e| self.failed("read a payment from", e))?;
        row.map(|r| self.payment_row(r)).transpose()
    }

    async fn draft_payments_held(
        &self,
        tx: &mut Tx,
        draft_id: &str,
    ) -> Result<Vec<PaymentRow>, StoreError> {
        let select = format!("SELECT {COLUMNS} FROM payments WHERE draft_id = $1 ORDER BY id");
        let rows: Vec<StoredPayment> = match tx {
            Tx::Sqlite(t, _) => {
                sqlx::query_as(&select)
                    .bind(draft_id)
                    .fetch_all(&mut **t)
                    .await
            }
            Tx::Postgres(t) => {
                sqlx::query_as(&format!("{select} FOR UPDATE"))
                    .bind(draft_id)
                    .fetch_all(&mut **t)
                    .await
            }
        }
        .map_err(|e| self.failed("read a draft's payments from", e))?;
        rows.into_iter().map(|r| self.payment_row(r)).collect()
    }

    async fn insert_payment_event(
        &self,
        tx: &mut Tx,
        event: &PaymentEventRow,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO payment_events ({EVENT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        );
        on_tx!(tx, t => sqlx::query(&sql)
            .bind(&event.payment_id)
            .bind(event.seq)
            .bind(&event.at)
            .bind(&event.provider_status)
            .bind(&event.status)
            .bind(event.amount)
            .bind(&event.currency)
            .bind(&event.transaction_id)
            .bind(&event.digest)
            .bind(&event.note)
            .execute(&mut **t)
            .await
            .map(drop))
        .map_err(|e| self.failed("record a payment's event in", e))
    }

    fn payment_row(&self, r: StoredPayment) -> Result<PaymentRow, StoreError> {
        let row = format!("payment {}", r.id);
        let time = |what: &str, text: &str| {
            parse_time(text).ok_or_else(|| self.malformed(&row, what, text))
        };
        let status = PaymentStatus::parse(&r.status)
            .ok_or_else(|| self.malformed(&row, "status", &r.status))?;
        let receipt = match (r.transaction_id, r.paid_amount, r.paid_currency, r.paid_at) {
            (Some(transaction_id), Some(amount), Some(currency), Some(at)) => Some(Receipt {
                transaction_id,
                amount,
                currency,
                at: time("payment time", &at)?,
            }),
            (None, None, None, None) => None,
            _ => {
                return Err(self.malformed(&row, "receipt", "(partly empty)"));
            }
        };
        Ok(PaymentRow {
            created_at: time("creation time", &r.created_at)?,
            expires_at: time("expiry time", &r.expires_at)?,
            updated_at: time("update time", &r.updated_at)?,
            id: r.id,
            owner: r.owner,
            draft_id: r.draft_id,
            e_service: r.e_service,
            provider: r.provider,
            amount: r.amount,
            currency: r.currency,
            status,
            receipt,
        })
    }
}
