//! What an agreement means, written once for `check`, `plan` and the gateway: when it is in
//! force (with an explicit rule for a date that does not parse), which fields and operations it
//! grants, and how request paths and operation globs match. Every doubt resolves to a refusal.

use chrono::NaiveDate;

use crate::spec::Spec;
use crate::spec::model::{Agreement, Method, Operation, Service, Status, Validity};

/// A date as the spec writes it, `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// Whether a validity period covers a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InForce {
    Yes,
    No,
    /// `from` or `until` is not a `YYYY-MM-DD` date, so the period cannot be judged. `validate`
    /// reports the date itself (H0305); at run time such an agreement is not in force.
    Unreadable,
}

/// Whether `valid` covers `day`: both bounds inclusive, `until` open when absent.
pub fn in_force(valid: &Validity, day: NaiveDate) -> InForce {
    let Some(from) = parse_date(&valid.from) else {
        return InForce::Unreadable;
    };
    let until = match valid.until.as_deref() {
        None => None,
        Some(text) => match parse_date(text) {
            Some(until) => Some(until),
            None => return InForce::Unreadable,
        },
    };
    if from <= day && until.is_none_or(|until| day <= until) {
        InForce::Yes
    } else {
        InForce::No
    }
}

/// Whether the agreement is in force on `day`, the safe reading the gateway takes: an agreement
/// with a date that does not parse is not.
pub fn valid_on(agreement: &Agreement, day: NaiveDate) -> bool {
    in_force(&agreement.valid, day) == InForce::Yes
}

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

/// Whether a granted dotted path (`address`) grants `field`: itself and everything beneath it
/// (`address.street`), never a sibling that merely shares a prefix (`address-line`).
pub fn grants_field(granted: &str, field: &str) -> bool {
    field == granted
        || field
            .strip_prefix(granted)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// Whether one dotted path is the other or lies inside it: a use of `address.street` uses a
/// grant of `address`, and the other way round.
pub fn overlaps(a: &str, b: &str) -> bool {
    let inside = |long: &str, short: &str| {
        long.strip_prefix(short)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    };
    inside(a, b) || inside(b, a)
}

/// Whether every path matched by glob `inner` is also matched by glob `outer`
/// (`*` one segment, `**` any number of segments). Greedy, backtracking only to the last `**`
/// of `outer`: time in the product of the two lengths, never exponential in the `**`s.
pub fn glob_covers(outer: &str, inner: &str) -> bool {
    let o: Vec<&str> = outer.split('/').collect();
    let i: Vec<&str> = inner.split('/').collect();
    let one = |x: &str, y: &str| y != "**" && (x == "*" || (x == y && y != "*"));
    let (mut a, mut b) = (0, 0);
    // After the last `**` of `outer` seen: where `outer` resumes and how much of `inner` it took.
    let mut star: Option<(usize, usize)> = None;
    while b < i.len() {
        if o.get(a) == Some(&"**") {
            a += 1;
            star = Some((a, b));
        } else if a < o.len() && one(o[a], i[b]) {
            a += 1;
            b += 1;
        } else if let Some((resume, taken)) = star {
            a = resume;
            b = taken + 1;
            star = Some((resume, b));
        } else {
            return false;
        }
    }
    o[a..].iter().all(|x| *x == "**")
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn unparseable_validity_is_unreadable_and_never_in_force() {
        let soon = agreement("soon", None);
        assert_eq!(
            in_force(&soon.valid, day("2026-06-01")),
            InForce::Unreadable
        );
        let dotted = agreement("2026-01-01", Some("31.12.2027"));
        assert_eq!(
            in_force(&dotted.valid, day("2026-06-01")),
            InForce::Unreadable
        );
        assert_eq!(
            in_force(&dotted.valid, day("2020-01-01")),
            InForce::Unreadable
        );
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

    #[test]
    fn globs_cover_equal_and_narrower_paths() {
        assert!(glob_covers("/accounts/*/debt", "/accounts/*/debt"));
        assert!(glob_covers("/accounts/*/debt", "/accounts/42/debt"));
        assert!(glob_covers("/a/**", "/a"));
        assert!(glob_covers("/a/**", "/a/b/*/c"));
        assert!(glob_covers("/a/**", "/a/**"));
        assert!(glob_covers("/**/x", "/a/b/x"));
    }

    /// The definition, by recursion over both globs (exponential in the `**`s).
    fn covers_by_definition(o: &[&str], i: &[&str]) -> bool {
        match (o.first(), i.first()) {
            (None, None) => true,
            (Some(&"**"), _) => {
                covers_by_definition(&o[1..], i)
                    || (!i.is_empty() && covers_by_definition(o, &i[1..]))
            }
            (Some(_), Some(&"**")) | (None, Some(_)) | (Some(_), None) => false,
            (Some(&"*"), Some(_)) => covers_by_definition(&o[1..], &i[1..]),
            (Some(x), Some(y)) => x == y && *y != "*" && covers_by_definition(&o[1..], &i[1..]),
        }
    }

    #[test]
    fn the_greedy_match_agrees_with_the_definition_on_every_short_glob() {
        let tokens = ["a", "b", "*", "**"];
        let mut globs = vec![vec![]];
        for _ in 0..4 {
            let longer: Vec<Vec<&str>> = globs
                .iter()
                .filter(|g: &&Vec<&str>| g.len() == globs.last().unwrap().len())
                .flat_map(|g| tokens.iter().map(move |t| [g.clone(), vec![*t]].concat()))
                .collect();
            globs.extend(longer);
        }
        for o in &globs {
            for i in &globs {
                let (o, i) = (o.join("/"), i.join("/"));
                let segments = |g: &str| g.split('/').map(str::to_string).collect::<Vec<_>>();
                let (os, is) = (segments(&o), segments(&i));
                let (os, is): (Vec<&str>, Vec<&str>) = (
                    os.iter().map(String::as_str).collect(),
                    is.iter().map(String::as_str).collect(),
                );
                assert_eq!(
                    glob_covers(&o, &i),
                    covers_by_definition(&os, &is),
                    "{o:?} over {i:?}"
                );
            }
        }
    }

    #[test]
    fn globs_do_not_cover_wider_or_other_paths() {
        assert!(!glob_covers("/accounts/42/debt", "/accounts/*/debt"));
        let many = "/a".to_string() + &"/**".repeat(40) + "/z";
        let long = "/a".to_string() + &"/b".repeat(40) + "/y";
        assert!(
            !glob_covers(&many, &long),
            "answered without trying every split"
        );
        assert!(glob_covers(&many, &(long + "/z")));
        assert!(!glob_covers("/accounts/*/debt", "/accounts/*"));
        assert!(!glob_covers("/accounts/*", "/accounts/*/debt"));
        assert!(!glob_covers("/a/*", "/a/**"));
        assert!(!glob_covers("/a/**", "/b"));
        assert!(!glob_covers("/a/b", "/a/c"));
    }

    #[test]
    fn a_granted_path_grants_itself_and_what_lies_beneath() {
        assert!(grants_field("address", "address"));
        assert!(grants_field("address", "address.street"));
        assert!(!grants_field("address.street", "address"));
        assert!(!grants_field("address", "address-line"));
        assert!(!grants_field("address", "addresses"));
    }

    #[test]
    fn dotted_paths_overlap_on_segment_boundaries() {
        assert!(overlaps("address", "address.street"));
        assert!(overlaps("address.street", "address"));
        assert!(overlaps("debt", "debt"));
        assert!(!overlaps("debt", "debt-uah"));
        assert!(!overlaps("address.street", "address.city"));
    }
}
