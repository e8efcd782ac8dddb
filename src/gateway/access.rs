//! Access rules of the gateway as pure functions: which request paths an agreement's operation
//! globs admit, whether an agreement is in force on a day and between active participants, and a
//! per-agreement rate limiter driven by the caller's clock. Every doubt resolves to a refusal.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::NaiveDate;

use crate::spec::Spec;
use crate::spec::model::{Agreement, Method, Operation, RateLimit, RatePeriod, Service, Status};

/// Whether the request `path` (without query string) is matched by the operation `glob`.
///
/// Both start with `/`. In the glob `*` matches exactly one segment and `**` any number of
/// segments, zero included; every other segment compares exactly. `/` alone is the root, with no
/// segments. A path is never matched when it has an empty segment (`//`, or a trailing `/`
/// other than the root): upstreams disagree on whether `/a/b/` and `/a//b` mean `/a/b`, so the
/// consumer must send the path as granted. Paths with `.`/`..` segments, percent-encoded dots,
/// slashes or backslashes are refused too: an upstream that resolves them would serve a path the
/// glob never admitted.
pub fn path_matches(glob: &str, path: &str) -> bool {
    let (Some(glob), Some(path)) = (glob_segments(glob), path_segments(path)) else {
        return false;
    };
    matches(&glob, &path)
}

fn matches(glob: &[&str], path: &[&str]) -> bool {
    match glob.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => {
            matches(rest, path) || (!path.is_empty() && matches(glob, &path[1..]))
        }
        Some((&"*", rest)) => !path.is_empty() && matches(rest, &path[1..]),
        Some((literal, rest)) => path.first() == Some(literal) && matches(rest, &path[1..]),
    }
}

fn glob_segments(glob: &str) -> Option<Vec<&str>> {
    let rest = glob.strip_prefix('/')?;
    Some(if rest.is_empty() {
        Vec::new()
    } else {
        rest.split('/').collect()
    })
}

fn path_segments(path: &str) -> Option<Vec<&str>> {
    let rest = path.strip_prefix('/')?;
    if rest.is_empty() {
        return Some(Vec::new());
    }
    let segments: Vec<&str> = rest.split('/').collect();
    segments.iter().all(|s| safe_segment(s)).then_some(segments)
}

fn safe_segment(segment: &str) -> bool {
    let lower = segment.to_ascii_lowercase();
    !segment.is_empty()
        && segment != "."
        && segment != ".."
        && !segment.contains('\\')
        && !["%2e", "%2f", "%5c", "%00"]
            .iter()
            .any(|encoded| lower.contains(encoded))
}

/// Whether `method` on `path` is admitted by one of `ops` (`HEAD` by `GET`). An empty list allows
/// nothing: an agreement that lists no operations grants those of its service, so pass
/// [`granted_operations`].
pub fn operation_allowed(ops: &[Operation], method: Method, path: &str) -> bool {
    ops.iter()
        .any(|op| op.method.admits(method) && path_matches(&op.path, path))
}

/// The operations an agreement grants on its provider service: its own list, or every operation
/// of the service when it lists none.
pub fn granted_operations<'a>(agreement: &'a Agreement, service: &'a Service) -> &'a [Operation] {
    if agreement.operations.is_empty() {
        &service.operations
    } else {
        &agreement.operations
    }
}

/// Whether the agreement is valid on `day`, both bounds inclusive and `until` open when absent.
/// A date that does not parse as `YYYY-MM-DD` makes the agreement invalid (the checker reports it).
pub fn valid_on(agreement: &Agreement, day: NaiveDate) -> bool {
    let parse = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
    let Some(from) = parse(&agreement.valid.from) else {
        return false;
    };
    let until = match agreement.valid.until.as_deref() {
        None => None,
        Some(text) => match parse(text) {
            Some(until) => Some(until),
            None => return false,
        },
    };
    from <= day && until.is_none_or(|until| day <= until)
}

/// The first party of the agreement (consumer, then provider) whose participant is suspended or
/// not declared at all; `None` when both may take part in electronic interaction.
pub fn inactive_party<'a>(spec: &Spec, agreement: &'a Agreement) -> Option<&'a str> {
    [&agreement.consumer, &agreement.provider]
        .into_iter()
        .find(|reference| {
            let participant = reference.split('/').next().unwrap_or_default();
            spec.participant(participant)
                .is_none_or(|p| p.status == Status::Suspended)
        })
        .map(String::as_str)
}

/// Token buckets keyed by agreement id: a bucket holds up to `limit.requests` tokens and refills
/// continuously at `limit.requests` per period, so a full period's allowance may come as a burst.
/// Time is passed in by the caller; a clock that goes backwards refills nothing.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: HashMap<String, Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one token for `key`, or says how long until one is available. A limit of zero
    /// requests refuses every call, asking to retry after a whole period. A changed limit (a
    /// reloaded spec) applies at once: tokens above the new capacity are dropped.
    pub fn check(&mut self, key: &str, limit: &RateLimit, now: Instant) -> Result<(), Duration> {
        let period = period(limit.per);
        if limit.requests == 0 {
            return Err(period);
        }
        let capacity = f64::from(limit.requests);
        let per_second = capacity / period.as_secs_f64();
        let bucket = self.buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        if now > bucket.at {
            bucket.at = now;
        }
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / per_second;
            Err(Duration::from_secs_f64(wait).max(Duration::from_millis(1)))
        }
    }

    /// Forgets the buckets of agreements no longer declared, so the map stays as small as the spec.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.buckets.retain(|key, _| keep(key));
    }
}

/// The length of a rate limit's period.
pub fn period(per: RatePeriod) -> Duration {
    Duration::from_secs(match per {
        RatePeriod::Second => 1,
        RatePeriod::Minute => 60,
        RatePeriod::Hour => 3_600,
        RatePeriod::Day => 86_400,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::Validity;

    #[test]
    fn star_matches_exactly_one_non_empty_segment() {
        assert!(path_matches("/accounts/*/debt", "/accounts/42/debt"));
        assert!(!path_matches("/accounts/*/debt", "/accounts/debt"));
        assert!(!path_matches("/accounts/*/debt", "/accounts/1/2/debt"));
        assert!(!path_matches("/accounts/*/debt", "/accounts//debt"));
        assert!(!path_matches("/accounts/*/debt", "/accounts/42/debt/extra"));
        assert!(!path_matches("/accounts/*/debt", "/accounts/42/Debt"));
    }

    #[test]
    fn double_star_matches_any_number_of_segments() {
        assert!(path_matches("/**", "/"));
        assert!(path_matches("/**", "/a"));
        assert!(path_matches("/**", "/a/b/c"));
        assert!(path_matches("/a/**/b", "/a/b"));
        assert!(path_matches("/a/**/b", "/a/x/b"));
        assert!(path_matches("/a/**/b", "/a/x/y/b"));
        assert!(!path_matches("/a/**/b", "/a/x/y"));
        assert!(!path_matches("/a/**/b", "/b"));
        assert!(path_matches("/a/**", "/a"));
        assert!(!path_matches("/a/**", "/ab"));
    }

    #[test]
    fn root_and_literal_paths() {
        assert!(path_matches("/", "/"));
        assert!(!path_matches("/", "/a"));
        assert!(path_matches("/health", "/health"));
        assert!(!path_matches("/health", "/"));
    }

    #[test]
    fn empty_segments_and_trailing_slashes_never_match() {
        assert!(!path_matches("/accounts/*/debt", "/accounts/42/debt/"));
        assert!(!path_matches("/**", "/a/"));
        assert!(!path_matches("/**", "//"));
        assert!(!path_matches("/a/**", "/a//b"));
        assert!(!path_matches("/a/", "/a/"));
    }

    #[test]
    fn traversal_and_encoded_separators_are_refused() {
        assert!(!path_matches("/a/**", "/a/../admin"));
        assert!(!path_matches("/a/**", "/a/./b"));
        assert!(!path_matches("/accounts/*/debt", "/accounts/%2E%2E/debt"));
        assert!(!path_matches(
            "/accounts/*/debt",
            "/accounts/1%2fadmin/debt"
        ));
        assert!(!path_matches("/accounts/*/debt", "/accounts/1\\admin/debt"));
        assert!(path_matches("/accounts/*/debt", "/accounts/%D0%86/debt"));
    }

    #[test]
    fn paths_and_globs_must_start_with_a_slash() {
        assert!(!path_matches("/**", "accounts/1"));
        assert!(!path_matches("**", "/accounts/1"));
        assert!(!path_matches("/**", ""));
    }

    fn op(method: Method, path: &str) -> Operation {
        Operation {
            method,
            path: path.into(),
        }
    }

    #[test]
    fn operations_need_both_method_and_path() {
        let ops = [
            op(Method::Get, "/accounts/*/debt"),
            op(Method::Post, "/claims"),
        ];
        assert!(operation_allowed(&ops, Method::Get, "/accounts/7/debt"));
        assert!(!operation_allowed(&ops, Method::Delete, "/accounts/7/debt"));
        assert!(!operation_allowed(&ops, Method::Get, "/claims"));
        assert!(operation_allowed(&ops, Method::Post, "/claims"));
        assert!(!operation_allowed(&[], Method::Get, "/accounts/7/debt"));
    }

    #[test]
    fn head_rides_on_get_and_options_must_be_named() {
        let ops = [
            op(Method::Get, "/accounts/*/debt"),
            op(Method::Post, "/claims"),
        ];
        assert!(operation_allowed(&ops, Method::Head, "/accounts/7/debt"));
        assert!(!operation_allowed(&ops, Method::Head, "/claims"));
        assert!(!operation_allowed(
            &ops,
            Method::Options,
            "/accounts/7/debt"
        ));
        let ops = [op(Method::Options, "/claims"), op(Method::Head, "/status")];
        assert!(operation_allowed(&ops, Method::Options, "/claims"));
        assert!(operation_allowed(&ops, Method::Head, "/status"));
        assert!(!operation_allowed(&ops, Method::Get, "/status"));
    }

    fn agreement(from: &str, until: Option<&str>) -> Agreement {
        Agreement {
            id: "subsidy-reads-water-debt".into(),
            consumer: "social-dept/subsidies".into(),
            provider: "vodokanal/abonent-debt".into(),
            purpose: None,
            legal_basis: None,
            fields: vec!["account".into()],
            operations: vec![],
            parameters: vec![],
            body_fields: vec![],
            allow_non_json: false,
            valid: Validity {
                from: from.into(),
                until: until.map(String::from),
            },
            rate_limit: None,
            notify_subject: false,
        }
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn validity_bounds_are_inclusive() {
        let a = agreement("2026-01-01", Some("2027-12-31"));
        assert!(!valid_on(&a, day("2025-12-31")));
        assert!(valid_on(&a, day("2026-01-01")));
        assert!(valid_on(&a, day("2027-12-31")));
        assert!(!valid_on(&a, day("2028-01-01")));
        let open = agreement("2026-01-01", None);
        assert!(valid_on(&open, day("2099-01-01")));
    }

    #[test]
    fn unparseable_validity_is_never_valid() {
        assert!(!valid_on(&agreement("soon", None), day("2026-06-01")));
        assert!(!valid_on(
            &agreement("2026-01-01", Some("31.12.2027")),
            day("2026-06-01")
        ));
    }

    #[test]
    fn an_agreement_without_operations_grants_the_services() {
        let mut a = agreement("2026-01-01", None);
        let service: Service = serde_json::from_value(serde_json::json!({
            "id": "abonent-debt", "title": "t", "description": "d",
            "upstream": "http://billing.local",
            "operations": [{"method": "GET", "path": "/accounts/*/debt"}],
        }))
        .unwrap();
        assert_eq!(granted_operations(&a, &service), &service.operations[..]);
        a.operations = vec![op(Method::Get, "/accounts/1/debt")];
        let granted = granted_operations(&a, &service);
        assert!(operation_allowed(granted, Method::Get, "/accounts/1/debt"));
        assert!(!operation_allowed(granted, Method::Get, "/accounts/2/debt"));
    }

    fn participant(id: &str, status: &str) -> crate::spec::model::Participant {
        serde_json::from_value(serde_json::json!({
            "id": id, "name": id, "edrpou": "03327121", "class": "GOV", "status": status,
            "gateway": "gw-core", "seal": {"cert": "pki/x.crt"},
            "contacts": {"kind": "k", "address": "a", "phone": "+380440000000",
                         "email": "e@city.example", "schedule": "s"},
        }))
        .unwrap()
    }

    #[test]
    fn suspended_or_undeclared_parties_are_named() {
        let a = agreement("2026-01-01", None);
        let mut spec = Spec {
            participants: vec![
                participant("social-dept", "active"),
                participant("vodokanal", "active"),
            ],
            ..Spec::default()
        };
        assert_eq!(inactive_party(&spec, &a), None);
        let member = Agreement {
            consumer: "social-dept".into(),
            ..a.clone()
        };
        assert_eq!(inactive_party(&spec, &member), None, "a member consumer");
        spec.participants[1] = participant("vodokanal", "suspended");
        assert_eq!(inactive_party(&spec, &a), Some("vodokanal/abonent-debt"));
        spec.participants.remove(0);
        assert_eq!(inactive_party(&spec, &a), Some("social-dept/subsidies"));
    }

    fn per_minute(requests: u32) -> RateLimit {
        RateLimit {
            requests,
            per: RatePeriod::Minute,
        }
    }

    #[test]
    fn rate_limiter_allows_the_burst_then_asks_to_wait() {
        let mut limiter = RateLimiter::new();
        let limit = per_minute(3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check("a", &limit, t0), Ok(()));
        }
        let wait = limiter.check("a", &limit, t0).unwrap_err();
        assert_eq!(wait.as_secs(), 20, "one token per 20 s, got {wait:?}");
        assert!(
            limiter
                .check("a", &limit, t0 + Duration::from_secs(10))
                .is_err()
        );
        assert_eq!(
            limiter.check("a", &limit, t0 + Duration::from_secs(20)),
            Ok(())
        );
        assert!(
            limiter
                .check("a", &limit, t0 + Duration::from_secs(20))
                .is_err()
        );
    }

    #[test]
    fn rate_limiter_keys_are_independent_and_refill_is_capped() {
        let mut limiter = RateLimiter::new();
        let limit = per_minute(1);
        let t0 = Instant::now();
        assert_eq!(limiter.check("a", &limit, t0), Ok(()));
        assert!(limiter.check("a", &limit, t0).is_err());
        assert_eq!(limiter.check("b", &limit, t0), Ok(()));
        let later = t0 + Duration::from_secs(3_600);
        assert_eq!(limiter.check("a", &limit, later), Ok(()));
        assert!(limiter.check("a", &limit, later).is_err());
    }

    #[test]
    fn rate_limiter_refuses_zero_and_survives_a_clock_going_back() {
        let mut limiter = RateLimiter::new();
        let t0 = Instant::now() + Duration::from_secs(60);
        assert_eq!(
            limiter.check("z", &per_minute(0), t0),
            Err(Duration::from_secs(60))
        );
        let limit = per_minute(1);
        assert_eq!(limiter.check("a", &limit, t0), Ok(()));
        assert!(
            limiter
                .check("a", &limit, t0 - Duration::from_secs(30))
                .is_err()
        );
        assert_eq!(
            limiter.check("a", &limit, t0 + Duration::from_secs(60)),
            Ok(())
        );
    }

    #[test]
    fn a_lowered_limit_applies_at_once_and_retain_forgets_buckets() {
        let mut limiter = RateLimiter::new();
        let t0 = Instant::now();
        assert_eq!(limiter.check("a", &per_minute(100), t0), Ok(()));
        assert_eq!(limiter.check("a", &per_minute(1), t0), Ok(()));
        assert!(limiter.check("a", &per_minute(1), t0).is_err());
        limiter.retain(|key| key != "a");
        assert_eq!(limiter.check("a", &per_minute(1), t0), Ok(()));
    }
}
