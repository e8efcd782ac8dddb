//! What citizens tell the city (PORTAL-11): feedback to the administrator, ratings of decided
//! applications (once each, kept by e-service and month) and poll answers (one per person, kept
//! as counts: who answered is a keyed digest, what they chose is only a count).

use chrono::{DateTime, Datelike, TimeZone, Utc};

use super::{Store, StoreError, Tx, on_pool, on_tx, parse_time, time_text};

/// A message to the administrator, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFeedback {
    /// `feedback`, `proposal` or `complaint`.
    pub kind: String,
    /// The portal page it was sent from (a path).
    pub page: String,
    pub body: String,
    /// Where the sender wants the answer, if they want one.
    pub email: Option<String>,
    /// Whether the sender was signed in; who they are is not kept.
    pub signed_in: bool,
    pub received_at: DateTime<Utc>,
}

/// A stored message to the administrator.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FeedbackRow {
    pub id: String,
    pub kind: String,
    pub page: String,
    pub body: String,
    pub email: Option<String>,
    pub signed_in: bool,
    /// Store time text.
    pub received_at: String,
}

/// A rating of a decided application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRating {
    /// A keyed digest of the application: one rating per application, and the rating cannot be
    /// joined to the application (nor its applicant) without the portal's key.
    pub application_key: String,
    pub e_service: String,
    /// 1 to 5.
    pub stars: i64,
    pub comment: Option<String>,
    /// When it was given; only its month is kept.
    pub at: DateTime<Utc>,
}

/// A stored rating.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RatingRow {
    pub e_service: String,
    /// The first moment (UTC) of the month it was given in, as store time text.
    pub month: String,
    pub stars: i64,
    pub comment: Option<String>,
}

/// The first moment of `at`'s month (UTC), as the store keeps a rating's time.
pub fn month_of(at: &DateTime<Utc>) -> String {
    let start = Utc
        .with_ymd_and_hms(at.year(), at.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(*at);
    time_text(&start)
}

impl Store {
    /// Stores a message to the administrator; returns its id.
    pub async fn record_feedback(&self, feedback: &NewFeedback) -> Result<String, StoreError> {
        let id = uuid::Uuid::now_v7().to_string();
        on_pool!(&self.pool, pool => sqlx::query(
            "INSERT INTO feedback (id, kind, page, body, email, signed_in, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&id)
            .bind(&feedback.kind)
            .bind(&feedback.page)
            .bind(&feedback.body)
            .bind(&feedback.email)
            .bind(feedback.signed_in)
            .bind(time_text(&feedback.received_at))
            .execute(pool)
            .await
            .map(drop))
        .map_err(|e| self.failed("store a message to the administrator in", e))?;
        Ok(id)
    }

    /// Messages to the administrator, newest first: `limit` of them after skipping `offset`,
    /// with how many there are in all.
    pub async fn feedback(
        &self,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<FeedbackRow>, i64), StoreError> {
        let rows: Vec<FeedbackRow> = on_pool!(&self.pool, pool => sqlx::query_as(
            "SELECT id, kind, page, body, email, signed_in, received_at FROM feedback \
             ORDER BY received_at DESC, id DESC LIMIT $1 OFFSET $2")
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await)
        .map_err(|e| self.failed("read the messages to the administrator from", e))?;
        let total: i64 = on_pool!(&self.pool, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM feedback")
            .fetch_one(pool)
            .await)
        .map_err(|e| self.failed("count the messages to the administrator in", e))?;
        for row in &rows {
            if parse_time(&row.received_at).is_none() {
                return Err(self.malformed(
                    &format!("message to the administrator {}", row.id),
                    "time of receipt",
                    &row.received_at,
                ));
            }
        }
        Ok((rows, total))
    }

    /// Stores `rating` unless its application was rated already; `false` then, and the first
    /// rating stays as it was.
    pub async fn rate(&self, rating: &NewRating) -> Result<bool, StoreError> {
        let done = on_pool!(&self.pool, pool => sqlx::query(
            "INSERT INTO ratings (application_key, e_service, month, stars, comment) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (application_key) DO NOTHING")
            .bind(&rating.application_key)
            .bind(&rating.e_service)
            .bind(month_of(&rating.at))
            .bind(rating.stars)
            .bind(&rating.comment)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(|e| self.failed("store a rating in", e))?;
        Ok(done == 1)
    }

    /// The rating given to the application whose digest is `application_key`, if any.
    pub async fn rating_of(&self, application_key: &str) -> Result<Option<RatingRow>, StoreError> {
        let row: Option<RatingRow> = on_pool!(&self.pool, pool => sqlx::query_as(
            "SELECT e_service, month, stars, comment FROM ratings WHERE application_key = $1")
            .bind(application_key)
            .fetch_optional(pool)
            .await)
        .map_err(|e| self.failed("read a rating from", e))?;
        match row {
            Some(row) => self.checked_rating(row).map(Some),
            None => Ok(None),
        }
    }

    /// The ratings of `e_service` given in the months that start in `[from, to)`, as
    /// `(stars, month)` with the month's first moment as store time text, oldest first.
    pub async fn ratings(
        &self,
        e_service: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let rows: Vec<RatingRow> = on_pool!(&self.pool, pool => sqlx::query_as(
            "SELECT e_service, month, stars, comment FROM ratings \
             WHERE e_service = $1 AND month >= $2 AND month < $3 ORDER BY month")
            .bind(e_service)
            .bind(time_text(&from))
            .bind(time_text(&to))
            .fetch_all(pool)
            .await)
        .map_err(|e| self.failed("read the ratings from", e))?;
        rows.into_iter()
            .map(|row| self.checked_rating(row).map(|r| (r.stars, r.month)))
            .collect()
    }

    /// `row` if it holds what hromada writes, else an error naming what is wrong.
    fn checked_rating(&self, row: RatingRow) -> Result<RatingRow, StoreError> {
        let what = format!("a rating of e-service {}", row.e_service);
        if parse_time(&row.month).is_none_or(|at| month_of(&at) != row.month) {
            return Err(self.malformed(&what, "month", &row.month));
        }
        if !(1..=5).contains(&row.stars) {
            return Err(self.malformed(&what, "number of stars", &row.stars.to_string()));
        }
        Ok(row)
    }

    /// Counts `choice` in `poll` for `voter` (a keyed digest of the person and the poll), in
    /// one transaction; `false` when that voter answered already, and nothing changes.
    pub async fn answer_poll(
        &self,
        poll: &str,
        voter: &str,
        choice: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let first = self.add_voter(&mut tx, poll, voter).await?;
        if !first {
            return Ok(false);
        }
        on_tx!(&mut tx, t => sqlx::query(
            "INSERT INTO poll_counts (poll, choice, answers) VALUES ($1, $2, 1) \
             ON CONFLICT (poll, choice) DO UPDATE SET answers = poll_counts.answers + 1")
            .bind(poll)
            .bind(choice)
            .execute(&mut **t)
            .await
            .map(drop))
        .map_err(|e| self.failed("count a poll answer in", e))?;
        tx.commit().await?;
        Ok(true)
    }

    async fn add_voter(&self, tx: &mut Tx, poll: &str, voter: &str) -> Result<bool, StoreError> {
        let done = on_tx!(tx, t => sqlx::query(
            "INSERT INTO poll_voters (poll, voter) VALUES ($1, $2) \
             ON CONFLICT (poll, voter) DO NOTHING")
            .bind(poll)
            .bind(voter)
            .execute(&mut **t)
            .await
            .map(|done| done.rows_affected()))
        .map_err(|e| self.failed("record a poll's voter in", e))?;
        Ok(done == 1)
    }

    /// Whether `voter` answered `poll`.
    pub async fn has_answered(&self, poll: &str, voter: &str) -> Result<bool, StoreError> {
        let found: i64 = on_pool!(&self.pool, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM poll_voters WHERE poll = $1 AND voter = $2")
            .bind(poll)
            .bind(voter)
            .fetch_one(pool)
            .await)
        .map_err(|e| self.failed("read a poll's voters from", e))?;
        Ok(found > 0)
    }

    /// How many answered `poll`, and each choice's count (choices nobody chose are absent).
    /// Counts that do not add up to the voters mean a row was changed outside hromada.
    pub async fn poll_counts(&self, poll: &str) -> Result<(i64, Vec<(String, i64)>), StoreError> {
        let counts: Vec<(String, i64)> = on_pool!(&self.pool, pool => sqlx::query_as(
            "SELECT choice, answers FROM poll_counts WHERE poll = $1 ORDER BY choice")
            .bind(poll)
            .fetch_all(pool)
            .await)
        .map_err(|e| self.failed("read a poll's results from", e))?;
        let voters: i64 = on_pool!(&self.pool, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM poll_voters WHERE poll = $1")
            .bind(poll)
            .fetch_one(pool)
            .await)
        .map_err(|e| self.failed("count a poll's voters in", e))?;
        let counted: i64 = counts.iter().map(|(_, n)| n).sum();
        if counted != voters {
            return Err(StoreError::new(format!(
                "the results of poll {poll} in the {} database {} count {counted} answers for \
                 {voters} people who answered; a row of poll_counts or poll_voters was changed \
                 outside hromada, so the results are not shown",
                self.backend().name(),
                self.target
            )));
        }
        Ok((voters, counts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rating_keeps_only_the_month_it_was_given_in() {
        let at = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 58).unwrap();
        assert_eq!(month_of(&at), "2026-12-01T00:00:00.000000000Z");
    }
}
