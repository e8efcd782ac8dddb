//! The outbox against a real SMTP server on loopback (aiosmtpd), on SQLite and PostgreSQL: a
//! queued mail is delivered once, tried again after the server was down, a permanent refusal is
//! recorded and never retried, and two deliverers on one database send each mail once.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use hromada::store::{NewMail, Store};
use hromada::workflow::clock::{FakeClock, SharedClock};
use hromada::workflow::outbox::{self, Deliverer, Pass, SmtpSettings};

use crate::both;
use crate::common::db::Db;
use crate::common::smtp::SmtpServer;

const FROM: &str = "noreply@zp.gov.ua";

fn clock() -> FakeClock {
    FakeClock::at(Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap())
}

fn mail(key: &str, to: &str) -> NewMail {
    NewMail {
        key: key.into(),
        to: to.into(),
        subject: "Заяву отримано".into(),
        body: format!("Вашу заяву {key} зареєстровано.\nРішення — в особистому кабінеті."),
        case_id: Some("case-7".into()),
    }
}

async fn enqueue(store: &Store, mail: &NewMail) {
    let mut tx = store.begin().await.unwrap();
    store.enqueue_mail(&mut tx, mail).await.unwrap();
    tx.commit().await.unwrap();
}

fn deliverer(store: &Store, server: &SmtpServer, clock: &FakeClock) -> Deliverer {
    let smtp = SmtpSettings::parse(&server.url(), FROM, None).unwrap();
    let clock: SharedClock = Arc::new(clock.clone());
    Deliverer::new(store.clone(), &smtp, clock).unwrap()
}

both! {
    async fn a_queued_mail_is_delivered_once(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let server = SmtpServer::start();
        let clock = clock();
        let first = mail("case-7/received", "olena@example.org");
        enqueue(&store, &first).await;
        // A retried transition queues the same key again: still one mail.
        enqueue(&store, &NewMail { body: "інший текст".into(), ..first.clone() }).await;
        let deliverer = deliverer(&store, &server, &clock);
        assert_eq!(deliverer.deliver_due().await.unwrap(), Pass { sent: 1, ..Pass::default() });
        assert_eq!(deliverer.deliver_due().await.unwrap(), Pass::default());
        let received = server.received();
        assert_eq!(received.len(), 1, "{received:?}");
        let got = &received[0];
        assert_eq!(got.rcpt_tos, ["olena@example.org"]);
        assert_eq!(got.mail_from, FROM);
        assert_eq!(got.subject, "Заяву отримано");
        // Lines travel as CRLF, as SMTP has them.
        assert_eq!(got.body.replace("\r\n", "\n").trim_end(), first.body);
        let status = store.mail_status("case-7/received").await.unwrap().unwrap();
        assert_eq!((status.status.as_str(), status.attempts), ("sent", 1));
        assert_eq!(status.last_error, None);
        assert_eq!(store.queued_mail().await.unwrap(), 0);
    }

    async fn a_rolled_back_transition_queues_no_mail(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        store.enqueue_mail(&mut tx, &mail("case-7/refused", "olena@example.org")).await.unwrap();
        drop(tx);
        assert_eq!(store.mail_status("case-7/refused").await.unwrap(), None);
        assert_eq!(store.queued_mail().await.unwrap(), 0);
    }

    async fn a_mail_is_retried_after_the_server_was_down(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let mut server = SmtpServer::start();
        let clock = clock();
        let deliverer = deliverer(&store, &server, &clock);
        enqueue(&store, &mail("case-7/reminder", "olena@example.org")).await;
        server.stop();
        assert_eq!(deliverer.deliver_due().await.unwrap(), Pass { retried: 1, ..Pass::default() });
        let status = store.mail_status("case-7/reminder").await.unwrap().unwrap();
        assert_eq!((status.status.as_str(), status.attempts), ("queued", 1));
        let error = status.last_error.unwrap();
        assert!(!error.contains("olena"), "{error}");
        server.resume();
        // Not due before its backoff has passed, then sent.
        clock.advance(outbox::backoff(1) - Duration::seconds(1));
        assert_eq!(deliverer.deliver_due().await.unwrap(), Pass::default());
        assert!(server.received().is_empty());
        clock.advance(Duration::seconds(1));
        assert_eq!(deliverer.deliver_due().await.unwrap(), Pass { sent: 1, ..Pass::default() });
        assert_eq!(server.received().len(), 1);
        let status = store.mail_status("case-7/reminder").await.unwrap().unwrap();
        assert_eq!((status.status.as_str(), status.attempts), ("sent", 2));
    }

    async fn a_permanent_refusal_is_recorded_and_not_retried(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let server = SmtpServer::start();
        let clock = clock();
        let deliverer = deliverer(&store, &server, &clock);
        enqueue(&store, &mail("case-8/received", "refuse.petro@example.org")).await;
        enqueue(&store, &mail("case-9/received", "not an address")).await;
        assert_eq!(deliverer.deliver_due().await.unwrap(), Pass { failed: 2, ..Pass::default() });
        let refused = store.mail_status("case-8/received").await.unwrap().unwrap();
        assert_eq!((refused.status.as_str(), refused.attempts), ("failed", 1));
        let error = refused.last_error.unwrap();
        assert!(error.contains("550") && error.contains("refused"), "{error}");
        assert!(!error.contains("petro"), "the address reached the error: {error}");
        let invalid = store.mail_status("case-9/received").await.unwrap().unwrap();
        assert_eq!(invalid.status, "failed");
        assert!(invalid.last_error.unwrap().contains("not a valid e-mail address"));
        clock.advance(Duration::days(3));
        assert_eq!(deliverer.deliver_due().await.unwrap(), Pass::default());
        assert!(server.received().is_empty());
    }

    async fn a_mail_that_keeps_failing_is_given_up(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let mut server = SmtpServer::start();
        server.stop();
        let clock = clock();
        let deliverer = deliverer(&store, &server, &clock);
        enqueue(&store, &mail("case-7/decided", "olena@example.org")).await;
        for attempt in 1..outbox::MAX_ATTEMPTS {
            assert_eq!(deliverer.deliver_due().await.unwrap().retried, 1, "attempt {attempt}");
            clock.advance(outbox::backoff(attempt));
        }
        assert_eq!(deliverer.deliver_due().await.unwrap().failed, 1);
        let status = store.mail_status("case-7/decided").await.unwrap().unwrap();
        assert_eq!((status.status.as_str(), status.attempts), ("failed", outbox::MAX_ATTEMPTS));
        assert!(status.last_error.unwrap().starts_with("gave up after 20 attempts"));
    }

    async fn two_deliverers_send_each_mail_once(db: Db) {
        let server = SmtpServer::start();
        let clock = clock();
        let replicas = [
            Store::connect(&db.url).await.unwrap(),
            Store::connect(&db.url).await.unwrap(),
        ];
        let mut keys = BTreeSet::new();
        for n in 0..30 {
            let key = format!("case-{n}/received");
            enqueue(&replicas[n % 2], &mail(&key, &format!("person{n}@example.org"))).await;
            keys.insert(key);
        }
        let tasks: Vec<_> = replicas
            .iter()
            .map(|store| {
                let deliverer = deliverer(store, &server, &clock);
                tokio::spawn(async move {
                    let mut sent = 0;
                    loop {
                        let pass = deliverer.deliver_due().await.unwrap();
                        assert_eq!(pass.leased(), pass.sent, "{pass:?}");
                        if pass.sent == 0 {
                            return sent;
                        }
                        sent += pass.sent;
                    }
                })
            })
            .collect();
        let mut sent = 0;
        for task in tasks {
            sent += task.await.unwrap();
        }
        assert_eq!(sent, 30);
        let received = server.received();
        let ids: BTreeSet<_> = received.iter().map(|r| r.message_id.clone()).collect();
        assert_eq!((received.len(), ids.len()), (30, 30));
        let recipients: BTreeSet<_> = received.iter().map(|r| r.rcpt_tos.join(",")).collect();
        assert_eq!(recipients.len(), 30);
        for key in &keys {
            let status = replicas[0].mail_status(key).await.unwrap().unwrap();
            assert_eq!((status.status.as_str(), status.attempts), ("sent", 1), "{key}");
        }
    }

    async fn the_runner_sends_queued_mail_and_stops_when_told(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let server = SmtpServer::start();
        let clock: SharedClock = Arc::new(clock());
        let smtp = SmtpSettings::parse(&server.url(), FROM, None).unwrap();
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let runner = outbox::spawn(store.clone(), smtp, clock, shutdown);
        enqueue(&store, &mail("case-7/granted", "olena@example.org")).await;
        assert!(crate::common::holds_within_30s(|| async { server.received().len() == 1 }).await);
        stop.send(true).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(30), runner)
            .await
            .expect("the runner stops within 30 s")
            .unwrap();
    }
}
