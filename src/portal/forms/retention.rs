//! How long drafts are kept (003 §4.6(5)): the spec's `retention` rule for `draft` records (the
//! shortest when several), counted from when the draft was started; and the runner that removes
//! drafts whose period has ended (an expired draft is also refused when it is opened), and then
//! the attached files no draft holds any more (deleted drafts' too).

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::spec::Spec;
use crate::spec::model::{RecordClass, parse_duration_days};
use crate::store::Store;
use crate::workflow::clock::SharedClock;

/// How long a draft is kept when the spec has no rule for drafts.
pub const DEFAULT_DAYS: i64 = 30;
/// `permanent`, as far ahead as a date goes in practice.
const PERMANENT_DAYS: f64 = 1_000.0 * 365.0;
/// How often the runner looks for expired drafts.
const SWEEP_EVERY: StdDuration = StdDuration::from_secs(15 * 60);

/// How long a draft started under `spec` is kept.
pub fn period(spec: &Spec) -> Duration {
    spec.retention
        .iter()
        .filter(|r| r.record == RecordClass::Draft)
        .filter_map(|r| parse_duration_days(&r.period))
        .map(|days| Duration::seconds((days.min(PERMANENT_DAYS) * 86_400.0) as i64))
        .min()
        .unwrap_or(Duration::days(DEFAULT_DAYS))
}

/// A moment as the pages show it: the date in Kyiv, `31.12.2026`.
pub fn date(at: DateTime<Utc>) -> String {
    at.with_timezone(&chrono_tz::Europe::Kyiv)
        .format("%d.%m.%Y")
        .to_string()
}

/// Removes expired drafts and unused files now and every quarter of an hour, until `stopped`.
pub fn spawn(
    store: Store,
    clock: SharedClock,
    mut stopped: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while !*stopped.borrow() {
            match store.remove_expired_drafts(clock.now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!("removed {n} drafts whose retention period ended"),
                Err(e) => tracing::warn!(
                    "expired drafts could not be removed: {e}; the next attempt is in {} minutes",
                    SWEEP_EVERY.as_secs() / 60
                ),
            }
            match store.flag_orphaned_payments(clock.now()).await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(
                    "{n} paid fees belong to drafts removed unsigned: flagged for refund"
                ),
                Err(e) => tracing::warn!("paid fees of removed drafts could not be flagged: {e}"),
            }
            match store.remove_unused_blobs().await {
                Ok(0) => {}
                Ok(n) => tracing::info!("removed {n} attached files of drafts no longer kept"),
                Err(e) => tracing::warn!(
                    "attached files of removed drafts could not be removed: {e}; the next \
                     attempt is in {} minutes",
                    SWEEP_EVERY.as_secs() / 60
                ),
            }
            tokio::select! {
                _ = tokio::time::sleep(SWEEP_EVERY) => {}
                _ = stopped.changed() => {}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(schedule: &str) -> Spec {
        let sources = crate::spec::source::SourceSet::from_files(
            std::path::PathBuf::from("."),
            vec![("spec/retention.kdl".to_string(), schedule.to_string())],
        );
        crate::spec::load::load_sources(sources).spec
    }

    #[test]
    fn the_shortest_rule_for_drafts_decides() {
        let rule = |id: &str, record: &str, period: &str| {
            format!(
                "retention \"{id}\" {{\n record \"{record}\"\n period \"{period}\"\n trigger \
                 \"created\"\n action \"destroy\"\n}}\n"
            )
        };
        let both = rule("a", "draft", "90d")
            + &rule("b", "draft", "2mo")
            + &rule("c", "notification", "1d");
        assert_eq!(period(&spec(&both)), Duration::days(60));
        assert_eq!(
            period(&spec(&rule("c", "notification", "1d"))),
            Duration::days(30)
        );
        assert_eq!(
            period(&spec(&rule("p", "draft", "permanent"))),
            Duration::days(365_000)
        );
    }

    #[test]
    fn dates_are_shown_in_kyiv() {
        let at = DateTime::parse_from_rfc3339("2026-12-31T22:30:00Z").unwrap();
        assert_eq!(date(at.with_timezone(&Utc)), "01.01.2027");
    }
}
