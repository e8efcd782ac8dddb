//! The outbox against a real SMTP server on loopback (aiosmtpd), on SQLite and PostgreSQL: a
//! queued mail is delivered once, tried again after the server was down, a permanent refusal is
//! recorded and never retried, and two deliverers on one database send each mail once.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use hromada::store::{MailOutcome, NewMail, Store};
use hromada::workflow::clock::{Clock, FakeClock, SharedClock};
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
    deliverer_with(
        store,
        &SmtpSettings::parse(&server.url(), FROM).unwrap(),
        clock,
    )
}

fn deliverer_with(store: &Store, smtp: &SmtpSettings, clock: &FakeClock) -> Deliverer {
    let clock: SharedClock = Arc::new(clock.clone());
    Deliverer::new(store.clone(), smtp, clock).unwrap()
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

    async fn a_subject_or_body_cannot_add_recipients_or_headers(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let server = SmtpServer::start();
        let clock = clock();
        let hostile = NewMail {
            subject: "Заяву отримано\r\nBcc: spy@example.org".into(),
            body: "Текст\r\n.\r\nRCPT TO:<spy@example.org>\r\n".into(),
            ..mail("case-7/hostile", "olena@example.org")
        };
        enqueue(&store, &hostile).await;
        let deliverer = deliverer(&store, &server, &clock);
        assert_eq!(deliverer.deliver_due().await.unwrap().sent, 1);
        let received = server.received();
        assert_eq!(received.len(), 1, "{received:?}");
        assert_eq!(received[0].rcpt_tos, ["olena@example.org"]);
        assert!(!received[0].to.contains("spy"), "{:?}", received[0]);
        assert!(received[0].body.contains("RCPT TO:<spy@example.org>"), "{:?}", received[0]);
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

    async fn a_lease_left_by_a_crashed_deliverer_ends_and_its_late_outcome_is_ignored(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        enqueue(&store, &mail("case-7/lease", "olena@example.org")).await;
        let now = clock().now();
        let until = now + Duration::minutes(5);
        let crashed = store.lease_mail("replica-a", now, until, 10).await.unwrap();
        assert_eq!(crashed.len(), 1);
        assert!(store.lease_mail("replica-b", now, until, 10).await.unwrap().is_empty());
        let later = until + Duration::seconds(1);
        let taken = store
            .lease_mail("replica-b", later, later + Duration::minutes(5), 10)
            .await
            .unwrap();
        assert_eq!(taken, crashed);
        assert!(!store.finish_mail(crashed[0].id, "replica-a", later, &MailOutcome::Sent).await.unwrap());
        assert!(store.finish_mail(taken[0].id, "replica-b", later, &MailOutcome::Sent).await.unwrap());
        let status = store.mail_status("case-7/lease").await.unwrap().unwrap();
        assert_eq!((status.status.as_str(), status.attempts), ("sent", 1));
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
        let smtp = SmtpSettings::parse(&server.url(), FROM).unwrap();
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

#[test]
fn serve_says_once_that_mail_stays_queued_without_smtp() {
    let tree = tempfile::tempdir().unwrap();
    crate::common::copy_tree(&crate::common::minimal(), tree.path());
    let data = tempfile::tempdir().unwrap();
    let appliance = crate::common::appliance::Appliance::start(tree.path(), data.path(), &[]);
    appliance.wait_for("the first revision", |s| s["applied"].is_object());
    let log = appliance.log();
    assert_eq!(log.matches("e-mail is not configured").count(), 1, "{log}");
    assert!(log.contains("--smtp and --mail-from"), "{log}");
    appliance.stop();
}

#[test]
fn serve_refuses_smtp_credentials_on_the_command_line_and_smtp_without_a_sender() {
    let data = tempfile::tempdir().unwrap();
    let root = crate::common::minimal();
    let base = [
        "serve",
        root.to_str().unwrap(),
        "--data-dir",
        data.path().to_str().unwrap(),
    ];
    let secret = [
        &base[..],
        &[
            "--smtp",
            "smtp://mailer:s3cret@mail.example.org",
            "--mail-from",
            FROM,
        ],
    ]
    .concat();
    let out = crate::common::hromada(&secret);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("--smtp-credentials"), "{said}");
    assert!(
        !said.contains("s3cret"),
        "the password reached the log: {said}"
    );
    let out = crate::common::hromada(&[&base[..], &["--smtp", "smtp://127.0.0.1:25"]].concat());
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("--mail-from"), "{said}");
}

/// A TLS identity for 127.0.0.1 from a fresh development CA: (CA file, certificate, key), in `dir`.
fn tls_identity(
    dir: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    use hromada::crypto::dev_ca::{self, LeafProfile, LeafRequest};
    let validity = dev_ca::validity_from_now(30);
    let name = dev_ca::ca_name("Поштовий ЦСК", "Запорізька міська рада").unwrap();
    let ca = dev_ca::self_signed_ca(dev_ca::new_key().unwrap(), &name, &validity).unwrap();
    let key = dev_ca::new_key().unwrap();
    let request = LeafRequest {
        common_name: "mail".into(),
        organisation: "Запорізька міська рада".into(),
        profile: LeafProfile::Tls {
            dns: vec!["localhost".into()],
            ips: vec!["127.0.0.1".parse().unwrap()],
        },
        validity,
    };
    let cert = dev_ca::issue(&ca, &request, &key).unwrap();
    let paths = (
        dir.join("ca.crt"),
        dir.join("mail.crt"),
        dir.join("mail.key"),
    );
    std::fs::write(&paths.0, ca.cert.to_pem().unwrap()).unwrap();
    std::fs::write(&paths.1, cert.to_pem().unwrap()).unwrap();
    std::fs::write(&paths.2, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    paths
}

#[tokio::test]
async fn smtps_with_a_login_from_a_file_and_an_internal_ca_delivers() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = tls_identity(dir.path());
    let server = SmtpServer::start_tls(&cert, &key, "portal", "пароль s3cret");
    let credentials = dir.path().join("smtp-credentials");
    std::fs::write(&credentials, "portal\nпароль s3cret\n").unwrap();
    let store = Store::connect("sqlite::memory:").await.unwrap();
    enqueue(&store, &mail("case-7/tls", "olena@example.org")).await;
    let clock = clock();
    // Without the internal CA the server's certificate is not trusted: nothing is sent.
    let untrusted = SmtpSettings::parse(&server.url(), FROM)
        .unwrap()
        .with_credentials_file(&credentials)
        .unwrap();
    let pass = deliverer_with(&store, &untrusted, &clock)
        .deliver_due()
        .await
        .unwrap();
    assert_eq!(pass.retried, 1);
    assert!(server.received().is_empty());
    let smtp = untrusted.with_ca_file(&ca).unwrap();
    let settings = format!("{smtp:?}");
    assert!(
        !settings.contains("s3cret") && !settings.contains("portal"),
        "{settings}"
    );
    // A wrong password is the configuration's fault, not the mail's: it stays queued.
    let wrong = dir.path().join("wrong-credentials");
    std::fs::write(&wrong, "portal\nпароль\n").unwrap();
    let misconfigured = smtp.clone().with_credentials_file(&wrong).unwrap();
    clock.advance(outbox::backoff(1));
    let pass = deliverer_with(&store, &misconfigured, &clock)
        .deliver_due()
        .await
        .unwrap();
    assert_eq!(pass.retried, 1);
    let status = store.mail_status("case-7/tls").await.unwrap().unwrap();
    let error = status.last_error.unwrap();
    assert!(
        error.contains("refused the login") && error.contains("535"),
        "{error}"
    );
    assert!(server.received().is_empty());
    clock.advance(outbox::backoff(2));
    let pass = deliverer_with(&store, &smtp, &clock)
        .deliver_due()
        .await
        .unwrap();
    let status = store.mail_status("case-7/tls").await.unwrap().unwrap();
    assert_eq!(pass.sent, 1, "{status:?}");
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].login.as_deref(), Some("portal"));
    assert_eq!(received[0].rcpt_tos, ["olena@example.org"]);
}

#[test]
fn a_credentials_file_must_hold_a_user_and_a_password() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("smtp-credentials");
    std::fs::write(&file, "portal\n").unwrap();
    let smtp = SmtpSettings::parse("smtps://mail.example.org", FROM).unwrap();
    let error = smtp.clone().with_credentials_file(&file).unwrap_err();
    assert!(
        error.contains("first line") && error.contains("smtp-credentials"),
        "{error}"
    );
    let error = smtp.with_ca_file(&file).unwrap_err();
    assert!(error.contains("--smtp-ca"), "{error}");
}
