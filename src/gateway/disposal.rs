//! Retention of the message log's bodies: periodically, the bodies kept with records older than
//! the period of the spec's `message-log` retention rule are disposed of. Entries, digests and
//! hashes stay, so the chain still verifies and `audit export` says what was disposed of when.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::watch;

use crate::compile::Compiled;
use crate::compile::current::Current;
use crate::spec::model::parse_duration_days;
use crate::store::{RetentionRow, Store};

/// Disposes of due bodies every `every` under the applied revision's rules, until `stopped`.
pub async fn run(
    current: Current,
    store: Store,
    every: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped.changed() => return,
        }
        let Some(compiled) = current.load_full() else {
            continue;
        };
        match dispose(&compiled, &store, Utc::now()).await {
            Ok(Some((0, _))) | Ok(None) => {}
            Ok(Some((n, rule))) => tracing::info!(
                "disposed of the bodies of {n} message log record(s) older than {} (retention \
                 rule `{}`); their digests and the chain stay",
                rule.period,
                rule.id
            ),
            Err(e) => tracing::error!("{e}"),
        }
    }
}

/// Disposes of the bodies the `message-log` rule of `compiled` says are due at `now`: how many,
/// and by which rule; `None` when no rule disposes of bodies.
pub async fn dispose(
    compiled: &Compiled,
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Option<(u64, RetentionRow)>, String> {
    let Some((before, rule)) = due(&compiled.actuation.retention, now) else {
        return Ok(None);
    };
    let n = store
        .dispose_bodies(before, now)
        .await
        .map_err(|e| format!("message log bodies were not disposed of: {e}"))?;
    Ok(Some((n, rule.clone())))
}

/// The time before which bodies are due for disposal, and the rule that says so
/// ([`kept_for`]).
fn due(rules: &[RetentionRow], now: DateTime<Utc>) -> Option<(DateTime<Utc>, &RetentionRow)> {
    let (kept, rule) = kept_for(rules)?;
    Some((now.checked_sub_signed(kept)?, rule))
}

/// How long bodies are kept, and the rule that says so: of the `message-log` rules that destroy
/// or anonymise and are not on legal hold, the one keeping bodies longest (a record of the log
/// has one event, its creation, from which it counts). `None` when no rule disposes of bodies
/// (none, on hold, archive or review, or permanent).
pub fn kept_for(rules: &[RetentionRow]) -> Option<(TimeDelta, &RetentionRow)> {
    let rules: Vec<_> = rules.iter().filter(|r| r.record == "message-log").collect();
    if rules
        .iter()
        .any(|r| r.legal_hold || !matches!(r.action.as_str(), "destroy" | "anonymise"))
    {
        return None;
    }
    let (days, rule) = rules
        .into_iter()
        .filter_map(|r| Some((parse_duration_days(&r.period)?, r)))
        .max_by(|a, b| a.0.total_cmp(&b.0))?;
    if !days.is_finite() {
        return None;
    }
    let kept = TimeDelta::try_milliseconds((days * 86_400_000.0).round() as i64)?;
    Some((kept, rule))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(period: &str, action: &str, legal_hold: bool) -> RetentionRow {
        RetentionRow {
            id: format!("log-{period}"),
            record: "message-log".into(),
            period: period.into(),
            trigger: "created".into(),
            action: action.into(),
            legal_hold,
        }
    }

    #[test]
    fn bodies_are_due_after_the_longest_disposing_rule() {
        let now: DateTime<Utc> = "2026-12-06T12:00:00Z".parse().unwrap();
        let rules = [rule("30d", "destroy", false), rule("3y", "destroy", false)];
        let (before, by) = due(&rules, now).unwrap();
        assert_eq!(by.id, "log-3y");
        assert_eq!(before, now - TimeDelta::days(3 * 365));
        assert_eq!(
            due(&[rule("2s", "anonymise", false)], now).unwrap().0,
            now - TimeDelta::seconds(2)
        );
        for kept in [
            vec![],
            vec![rule("3y", "destroy", true)],
            vec![rule("3y", "archive", false)],
            vec![rule("3y", "destroy", false), rule("1y", "review", false)],
            vec![rule("permanent", "destroy", false)],
        ] {
            assert_eq!(due(&kept, now).map(|(t, _)| t), None, "{kept:?}");
        }
        let mut other = rule("1d", "destroy", false);
        other.record = "audit-log".into();
        assert_eq!(due(&[other], now).map(|(t, _)| t), None);
    }
}
