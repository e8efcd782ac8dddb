//! Notices to officials (004 §5.1): a message in their registry cabinet (`case_notices`,
//! recipient kind `official`) and a mail to their work address through the outbox, written in
//! the transaction of what they tell of, once per cause and official.

use chrono::{DateTime, Utc};

use crate::compile::Compiled;
use crate::store::{NewMail, NewNotice, Store, StoreError, Tx, time_text};

/// One official to tell, and the case (or card) the notice belongs to.
pub struct Recipient<'a> {
    pub official: &'a str,
    pub case_id: &'a str,
}

/// Leaves `message` for each of `to` and queues a mail to each with a work address; `cause`
/// (unique per event) keeps a retried write from telling anyone twice.
pub async fn tell(
    store: &Store,
    tx: &mut Tx,
    compiled: &Compiled,
    to: &[Recipient<'_>],
    what: (&str, &str, &str),
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    tell_linking(
        store,
        tx,
        compiled,
        to,
        what,
        "Мої доручення: /registry/tasks",
        at,
    )
    .await
}

/// As [`tell`], the mail ending with `link` (a line naming the page to open).
pub async fn tell_linking(
    store: &Store,
    tx: &mut Tx,
    compiled: &Compiled,
    to: &[Recipient<'_>],
    (cause, subject, message): (&str, &str, &str),
    link: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    for r in to {
        let key = format!("registry:{cause}/official:{}", r.official);
        store
            .add_notice(
                tx,
                &NewNotice {
                    key: key.clone(),
                    case_id: r.case_id.to_string(),
                    recipient_kind: "official".into(),
                    recipient: r.official.to_string(),
                    message: message.to_string(),
                    created_at: time_text(&at),
                },
            )
            .await?;
        let email = super::official_of(compiled, r.official)
            .map(|o| o.email.trim().to_string())
            .filter(|e| !e.is_empty());
        if let Some(to) = email {
            store
                .enqueue_mail(
                    tx,
                    &NewMail {
                        key,
                        to,
                        subject: subject.to_string(),
                        body: format!("{message}\n\n{link}"),
                        case_id: Some(r.case_id.to_string()),
                    },
                )
                .await?;
        }
    }
    Ok(())
}
