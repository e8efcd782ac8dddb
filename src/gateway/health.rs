//! The health checks of the services this gateway node serves (those of participants whose
//! `gateway` is this node): each runs on its own interval, first after a random delay, and every
//! result goes to the store and the metrics. A service's state change is logged once; the
//! upstream's address never reaches a log, the store or a metric label.

use std::collections::{BTreeMap, HashSet};
use std::hash::BuildHasher;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::compile::Compiled;
use crate::compile::current::Revisions;
use crate::redact::Upstreams;
use crate::store::{HealthResult, Store};

/// How often results older than `KEEP` are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// How long results are kept: the catalogue's longest window (30 days) and a day to spare.
const KEEP_DAYS: i64 = 31;

/// One scheduled check: GET `url`, 2xx within `timeout` is healthy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// `participant/service`.
    pub service: String,
    /// The node running it (this one).
    pub node: String,
    pub url: String,
    pub every: Duration,
    pub timeout: Duration,
}

/// The checks this node runs for a revision: the services with a `health` block whose
/// participant's gateway is the node.
pub fn local_checks(compiled: &Compiled) -> Vec<Check> {
    let local: HashSet<&str> = compiled
        .spec
        .participants
        .iter()
        .filter(|p| p.gateway == compiled.node)
        .map(|p| p.id.as_str())
        .collect();
    compiled
        .actuation
        .health_checks
        .iter()
        .filter(|h| {
            h.service
                .split_once('/')
                .is_some_and(|(participant, _)| local.contains(participant))
        })
        .map(|h| Check {
            service: h.service.clone(),
            node: compiled.node.clone(),
            url: join(&h.upstream, &h.path),
            every: Duration::from_millis(h.every_ms.max(1) as u64),
            timeout: Duration::from_millis(h.timeout_ms.max(1) as u64),
        })
        .collect()
}

/// `upstream` + `path`, with exactly one `/` between them.
fn join(upstream: &str, path: &str) -> String {
    format!(
        "{}/{}",
        upstream.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// A delay before a check's first run, below its interval, so that checks started together
/// (at start-up, or by one revision) spread over the interval.
fn jitter(service: &str, every: Duration) -> Duration {
    let spread = every.as_millis().max(1) as u64;
    let random = std::collections::hash_map::RandomState::new().hash_one(service);
    Duration::from_millis(random % spread)
}

/// Runs the checks of the applied revision, rescheduling as each new one is announced, until
/// `stop` turns true (or its sender is gone). Checks in flight finish before it returns.
pub async fn run(mut revisions: Revisions, store: Store, mut stop: watch::Receiver<bool>) {
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!(
            "hromada/",
            env!("CARGO_PKG_VERSION"),
            " health-check"
        ))
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            tracing::error!("cannot start the health checks: no HTTP client ({e})");
            return;
        }
    };
    let mut running: BTreeMap<String, Running> = BTreeMap::new();
    let mut prune = tokio::time::interval(PRUNE_EVERY);
    prune.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
            compiled = revisions.next() => {
                reschedule(&mut running, local_checks(&compiled), &client, &store).await;
            }
            _ = prune.tick() => {
                let before = Utc::now() - chrono::Duration::days(KEEP_DAYS);
                match store.prune_health(before).await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!("deleted {n} health checks older than {KEEP_DAYS} days"),
                    Err(e) => tracing::warn!("{e}; old health checks stay until the next try"),
                }
            }
        }
    }
    for (_, check) in std::mem::take(&mut running) {
        check.stop().await;
    }
}

/// A check's task and the sender whose drop stops it.
struct Running {
    check: Check,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Running {
    async fn stop(self) {
        drop(self.stop);
        let _ = self.task.await;
    }
}

/// Keeps the checks that did not change (and their state), stops the others and starts the new.
async fn reschedule(
    running: &mut BTreeMap<String, Running>,
    checks: Vec<Check>,
    client: &reqwest::Client,
    store: &Store,
) {
    let wanted: BTreeMap<String, Check> =
        checks.into_iter().map(|c| (c.service.clone(), c)).collect();
    let stale: Vec<String> = running
        .iter()
        .filter(|(service, r)| wanted.get(*service) != Some(&r.check))
        .map(|(service, _)| service.clone())
        .collect();
    for service in stale {
        if let Some(old) = running.remove(&service) {
            old.stop().await;
        }
    }
    for (service, check) in wanted {
        if running.contains_key(&service) {
            continue;
        }
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(check_loop(
            check.clone(),
            client.clone(),
            store.clone(),
            stopped,
        ));
        running.insert(service, Running { check, stop, task });
    }
    tracing::debug!(
        "health checks scheduled for {} services of this node",
        running.len()
    );
}

/// Checks one service on its interval until its sender is dropped.
async fn check_loop(
    check: Check,
    client: reqwest::Client,
    store: Store,
    mut stop: watch::Receiver<bool>,
) {
    let first = Instant::now() + jitter(&check.service, check.every);
    let mut ticks = tokio::time::interval_at(first, check.every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut up: Option<bool> = None;
    let mut store_failing = false;
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = ticks.tick() => {}
        }
        let result = tokio::select! {
            _ = stop.changed() => return,
            result = probe(&client, &check) => result,
        };
        report_change(&check, &result, up);
        up = Some(result.ok);
        metrics::gauge!("hromada_service_up", "service" => check.service.clone())
            .set(if result.ok { 1.0 } else { 0.0 });
        metrics::histogram!(
            "hromada_health_check_duration_seconds",
            "service" => check.service.clone()
        )
        .record(result.latency_ms as f64 / 1000.0);
        match store.record_health(&result).await {
            Ok(()) if store_failing => {
                store_failing = false;
                tracing::info!("health checks of {} are recorded again", check.service);
            }
            Ok(()) => {}
            Err(e) if !store_failing => {
                store_failing = true;
                tracing::warn!("{e}; the catalogue shows stale health until the store answers");
            }
            Err(_) => {}
        }
    }
}

/// Logs the first state seen and every change of state, never a repeated one.
fn report_change(check: &Check, result: &HealthResult, before: Option<bool>) {
    let why = reason(result);
    match (before, result.ok) {
        (Some(true), true) | (Some(false), false) => {}
        (None, true) => tracing::info!(service = %check.service, "service {} is up", check.service),
        (Some(false), true) => {
            tracing::info!(service = %check.service, "service {} is up again", check.service)
        }
        (None, false) => tracing::warn!(
            service = %check.service,
            "service {} is down: {why}; checked every {}",
            check.service,
            humantime::format_duration(check.every)
        ),
        (Some(true), false) => tracing::warn!(
            service = %check.service,
            "service {} went down: {why}; checked every {}",
            check.service,
            humantime::format_duration(check.every)
        ),
    }
}

fn reason(result: &HealthResult) -> String {
    match (&result.error, result.status_code) {
        (Some(error), _) => error.clone(),
        (None, Some(code)) => format!("its health check answered HTTP {code}"),
        (None, None) => "no answer".into(),
    }
}

/// One GET of the check's URL; redirects are answers, not followed.
async fn probe(client: &reqwest::Client, check: &Check) -> HealthResult {
    let checked_at = Utc::now();
    let started = Instant::now();
    let answer = client.get(&check.url).timeout(check.timeout).send().await;
    let latency_ms = started.elapsed().as_millis().min(i64::MAX as u128) as i64;
    let (ok, status_code, error) = match answer {
        Ok(response) => {
            let status = response.status();
            (status.is_success(), Some(status.as_u16()), None)
        }
        Err(e) => (false, None, Some(describe(&e, check))),
    };
    HealthResult {
        service: check.service.clone(),
        node: check.node.clone(),
        checked_at,
        ok,
        status_code,
        latency_ms,
        error,
    }
}

/// Why a check got no answer, in words, without the upstream's address.
fn describe(e: &reqwest::Error, check: &Check) -> String {
    if e.is_timeout() {
        return format!(
            "no answer within {}",
            humantime::format_duration(check.timeout)
        );
    }
    let mut innermost: &dyn std::error::Error = e;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    let what = if e.is_connect() {
        "cannot connect to the upstream"
    } else {
        "the request to the upstream failed"
    };
    let detail = redact(&innermost.to_string(), &check.url);
    format!("{what} ({detail})")
}

/// `text` with the upstream address replaced in any spelling, should an error message quote it.
fn redact(text: &str, url: &str) -> String {
    Upstreams::new([url]).redact(text, "the upstream")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_urls_have_one_slash_between_upstream_and_path() {
        assert_eq!(
            join("http://10.0.0.5:8080/api/v1/", "/health"),
            "http://10.0.0.5:8080/api/v1/health"
        );
        assert_eq!(join("http://a:1", "ping"), "http://a:1/ping");
    }

    #[test]
    fn jitter_stays_below_the_interval() {
        for service in ["a/b", "vodokanal/balance", "x/y"] {
            assert!(jitter(service, Duration::from_secs(30)) < Duration::from_secs(30));
            assert_eq!(jitter(service, Duration::from_millis(1)), Duration::ZERO);
        }
    }

    #[test]
    fn errors_never_quote_the_upstream() {
        let url = "http://billing.internal:8080/api/health";
        let text = "tcp connect error to billing.internal:8080 (http://billing.internal:8080)";
        let redacted = redact(text, url);
        assert!(!redacted.contains("billing.internal"), "{redacted}");
        assert!(!redacted.contains("8080"), "{redacted}");
    }

    #[test]
    fn only_the_services_of_this_nodes_participants_are_checked() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let loaded = crate::spec::load::load(root);
        let revision = crate::identity::Revision {
            id: "sha256:test".into(),
            content_hash: "test".into(),
        };
        let compiled = crate::compile::compile(
            loaded.spec,
            revision,
            Some("gw-vodokanal"),
            Default::default(),
        )
        .unwrap();
        let checks = local_checks(&compiled);
        let services: Vec<&str> = checks.iter().map(|c| c.service.as_str()).collect();
        assert_eq!(services, ["vodokanal/balance", "vodokanal/outages"]);
        assert!(checks.iter().all(|c| c.node == "gw-vodokanal"));
        assert_eq!(checks[1].every, Duration::from_secs(60));
        assert_eq!(checks[1].url, "http://127.0.0.1:9103/outages/health");
    }
}
