//! The appliance's SMTP server (`--smtp`, `--mail-from`) as the reconciler's notifications send
//! mail through it: `serve` composes the two, which import neither each other.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use lettre::message::Mailbox;

use crate::reconcile::notify::email::{MailFailure, Mailer};
use crate::workflow::outbox::SmtpSettings;

struct Smtp(SmtpSettings);

impl Mailer for Smtp {
    fn send_plain<'a>(
        &'a self,
        to: &'a Mailbox,
        subject: &'a str,
        body: String,
    ) -> Pin<Box<dyn Future<Output = Result<(), MailFailure>> + Send + 'a>> {
        Box::pin(async move {
            self.0
                .send_now(to, subject, body)
                .await
                .map_err(|e| MailFailure {
                    reason: e.reason,
                    permanent: e.permanent,
                })
        })
    }

    fn describe(&self) -> String {
        self.0.describe()
    }
}

pub fn mailer(smtp: SmtpSettings) -> Arc<dyn Mailer> {
    Arc::new(Smtp(smtp))
}
