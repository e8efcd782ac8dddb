//! The notices runner (PORTAL-11): reads, in row order, the procedure versions the
//! `procedure_since` runner records and the health checks the gateway records, and queues in the
//! outbox a mail to each confirmed subscriber of an e-service's change and of a registry's
//! service going down or coming back, each with its own one-click unsubscribe link.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::PortalSettings;
use super::cabinet::words;
use super::session::{digest, random_token};
use crate::compile::Compiled;
use crate::compile::current::Current;
use crate::store::{
    ANY_E_SERVICE, HealthResult, ListMail, NewMail, NoticeBatch, RecordedProcedure, Source, Store,
    StoreError, Topic,
};
use crate::workflow::clock::SharedClock;

/// How often the runner looks for new rows.
const POLL: Duration = Duration::from_secs(1);
/// How many rows of a source one pass reads at most.
const BATCH: i64 = 200;

/// Runs until `stopped` turns true: a pass over both sources each `POLL`.
pub fn spawn(
    current: Current,
    store: Store,
    settings: Arc<PortalSettings>,
    clock: SharedClock,
    mut stopped: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut failing = false;
        loop {
            if let (Some(compiled), Some(public)) = (current.load_full(), settings.public_url.get())
            {
                let notices = Notices {
                    store: &store,
                    compiled: &compiled,
                    public,
                };
                let now = clock.now();
                let passed = async {
                    let mut more = notices.procedures(now).await?;
                    more |= notices.outages(now).await?;
                    Ok::<bool, StoreError>(more)
                }
                .await;
                match passed {
                    Ok(more) => {
                        if failing {
                            tracing::info!("notices to subscribers are queued again");
                        }
                        failing = false;
                        if more && !*stopped.borrow() {
                            continue;
                        }
                    }
                    Err(e) => {
                        if !failing {
                            tracing::error!(
                                "cannot queue notices to subscribers: {e}; trying again, nothing \
                                 is lost meanwhile"
                            );
                        }
                        failing = true;
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                changed = stopped.changed() => {
                    if changed.is_err() || *stopped.borrow() {
                        return;
                    }
                }
            }
        }
    })
}

/// One pass's view: the store, the applied revision (titles, names) and the portal's address.
pub struct Notices<'a> {
    pub store: &'a Store,
    pub compiled: &'a Compiled,
    /// The portal's public URL, without a trailing slash.
    pub public: &'a str,
}

impl Notices<'_> {
    /// Queues the notices of the procedure changes recorded since the last pass; whether a full
    /// batch was read (more may wait).
    pub async fn procedures(&self, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let from = self.store.mailing_cursor(Source::ProcedureVersions).await?;
        let rows = self.store.procedures_after(from, BATCH).await?;
        let Some(last) = rows.last() else {
            return Ok(false);
        };
        let to = last.id;
        let changes: Vec<&RecordedProcedure> = rows.iter().filter(|r| r.is_change).collect();
        let recipients = if changes.is_empty() {
            Vec::new()
        } else {
            self.store.recipients(Topic::EService).await?
        };
        let mut mails = Vec::new();
        for change in changes {
            let e_service = &change.version.e_service;
            let mut told = BTreeSet::new();
            for r in recipients
                .iter()
                .filter(|r| r.target == *e_service || r.target == ANY_E_SERVICE)
            {
                if told.insert(r.subscriber) {
                    let key = format!("notice:procedure:{}:{}", change.id, r.subscriber);
                    let (subject, body) = self.procedure_mail(change);
                    mails.push(self.list_mail(key, &r.address, r.subscription, subject, body));
                }
            }
        }
        self.commit(Source::ProcedureVersions, from, to, Vec::new(), mails, now)
            .await?;
        Ok(rows.len() as i64 >= BATCH)
    }

    /// Queues the notices of services that went down or came back in the checks recorded since
    /// the last pass; whether a full batch was read.
    pub async fn outages(&self, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let from = self.store.mailing_cursor(Source::HealthResults).await?;
        let rows = self.store.health_after(from, BATCH).await?;
        let Some((to, _)) = rows.last() else {
            return Ok(false);
        };
        let to = *to;
        let mut told = self.store.service_outages().await?;
        let mut changed: BTreeMap<String, (bool, DateTime<Utc>)> = BTreeMap::new();
        let mut transitions: Vec<(i64, &HealthResult)> = Vec::new();
        for (id, check) in &rows {
            let before = told.get(&check.service).copied();
            if before == Some(check.ok) {
                continue;
            }
            told.insert(check.service.clone(), check.ok);
            changed.insert(check.service.clone(), (check.ok, check.checked_at));
            // A service first seen up was never announced down: nothing to tell.
            if before.is_some() || !check.ok {
                transitions.push((*id, check));
            }
        }
        let recipients = if transitions.is_empty() {
            Vec::new()
        } else {
            self.store.recipients(Topic::Outages).await?
        };
        let mut mails = Vec::new();
        for (id, check) in transitions {
            let participant = check.service.split_once('/').map_or("", |(p, _)| p);
            for r in recipients.iter().filter(|r| r.target == participant) {
                let key = format!("notice:outage:{id}:{}", r.subscriber);
                let (subject, body) = self.outage_mail(check);
                mails.push(self.list_mail(key, &r.address, r.subscription, subject, body));
            }
        }
        let outages = changed
            .into_iter()
            .map(|(service, (up, since))| (service, up, since))
            .collect();
        self.commit(Source::HealthResults, from, to, outages, mails, now)
            .await?;
        Ok(rows.len() as i64 >= BATCH)
    }

    async fn commit(
        &self,
        source: Source,
        from: i64,
        to: i64,
        outages: Vec<(String, bool, DateTime<Utc>)>,
        mails: Vec<ListMail>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let count = mails.len();
        let batch = NoticeBatch {
            source,
            from,
            to,
            outages,
            mails,
            now,
        };
        if self.store.commit_notices(&batch).await? && count > 0 {
            let topic = match source {
                Source::ProcedureVersions => "e-service",
                Source::HealthResults => "outages",
            };
            metrics::counter!("hromada_portal_notices_total", "topic" => topic)
                .increment(count as u64);
            tracing::info!("{count} notices about {topic} queued for subscribers");
        }
        Ok(())
    }

    fn list_mail(
        &self,
        key: String,
        address: &str,
        subscription: i64,
        subject: String,
        body: String,
    ) -> ListMail {
        let token = random_token();
        let link = format!("{}/unsubscribe/{token}", self.public);
        let site = super::home::chrome(self.compiled).site_title;
        ListMail {
            mail: NewMail {
                key,
                to: address.to_string(),
                subject,
                body: format!(
                    "{body}\nВи отримали цей лист, бо підписалися на сповіщення порталу «{site}». \
                     Відписатися від них: {link}\nКерувати підписками: {}/cabinet/subscriptions\n",
                    self.public
                ),
                case_id: None,
            },
            subscription,
            token_digest: digest(&token),
            list_unsubscribe: link,
        }
    }

    fn zone(&self) -> Tz {
        self.compiled
            .spec
            .system()
            .map_or(chrono_tz::Europe::Kyiv, |s| words::zone_of(&s.calendar))
    }

    fn procedure_mail(&self, change: &RecordedProcedure) -> (String, String) {
        let id = &change.version.e_service;
        let title = super::cabinet::service_title(&self.compiled.spec, id);
        (
            format!("Змінився порядок надання послуги «{title}»"),
            format!(
                "Добрий день!\n\nЗ {} діє новий порядок надання послуги «{title}». Що змінилося \
                 і як тепер отримати послугу — на її сторінці: {}/services/{id}\n",
                words::at(&change.version.since, self.zone()),
                self.public
            ),
        )
    }

    fn outage_mail(&self, check: &HealthResult) -> (String, String) {
        let (participant, service) = check
            .service
            .split_once('/')
            .unwrap_or((check.service.as_str(), ""));
        let owner = self
            .compiled
            .spec
            .participants
            .iter()
            .find(|p| p.id == participant);
        let registry = owner.map_or(participant, |p| p.name.as_str());
        let title = owner
            .and_then(|p| p.services.iter().find(|s| s.id == service))
            .map_or(check.service.as_str(), |s| s.title.as_str());
        let when = words::at(&check.checked_at, self.zone());
        if check.ok {
            (
                format!("Роботу відновлено: {title}"),
                format!(
                    "Добрий день!\n\nЗ {when} знову працює «{title}» ({registry}). Послуги, яким \
                     потрібні ці дані, надаються як звичайно.\n"
                ),
            )
        } else {
            (
                format!("Перерва в роботі: {title}"),
                format!(
                    "Добрий день!\n\nЗ {when} не відповідає «{title}» ({registry}). Послуги, яким \
                     потрібні ці дані, можуть тимчасово затримуватися. Ми напишемо, коли роботу \
                     буде відновлено.\n"
                ),
            )
        }
    }
}
