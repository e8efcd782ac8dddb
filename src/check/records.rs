//! Records management (H0309, H09xx): journal numbering patterns, one retention rule per record
//! class (and case), unique case codes within a case index, journals of one participant whose
//! registration numbers would collide, the case an issued document is filed in, and that every
//! journal's cards can be judged by a case index's retention (H0910, H0911).

use std::collections::HashMap;

use crate::spec::model::Action;
use crate::spec::{Diagnostic, Kind};

use super::Checker;

const PLACEHOLDERS: &[&str] = &["seq", "yyyy", "yy", "mm", "dd", "case"];

pub(super) fn check(c: &mut Checker) {
    numbering(c);
    retention_duplicates(c);
    case_duplicates(c);
    journal_collisions(c);
    filing_cases(c);
    journals_without_case_index(c);
    case_periods_agree(c);
}

/// The `{…}` placeholders of a numbering pattern, in order, or an error for an unclosed `{`.
pub(super) fn placeholders(pattern: &str) -> Result<Vec<&str>, &'static str> {
    let mut found = Vec::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or("a `{` is never closed")?;
        found.push(&after[..close]);
        rest = &after[close + 1..];
    }
    Ok(found)
}

/// H0309: a numbering pattern without `{seq}`, with an unknown placeholder, or an unclosed `{`.
fn numbering(c: &mut Checker) {
    let allowed = PLACEHOLDERS
        .iter()
        .map(|p| format!("{{{p}}}"))
        .collect::<Vec<_>>()
        .join(", ");
    for j in &c.spec().journals {
        let at = c.at(Kind::Journal, &j.id, "/numbering");
        let bad = |summary: String| {
            Diagnostic::error("H0309", summary)
                .at(at)
                .detail(format!(
                    "journal `{}` numbers documents as `{}`",
                    j.id, j.numbering
                ))
                .help(format!(
                    "placeholders are {allowed}; `{{seq}}` is required, e.g. `{{seq}}/01-{{yyyy}}`"
                ))
        };
        match placeholders(&j.numbering) {
            Err(problem) => c.report(bad(format!(
                "numbering pattern `{}`: {problem}",
                j.numbering
            ))),
            Ok(found) => {
                for p in found.iter().filter(|p| !PLACEHOLDERS.contains(p)) {
                    c.report(bad(format!(
                        "numbering pattern `{}` uses unknown placeholder `{{{p}}}`",
                        j.numbering
                    )));
                }
                if !found.contains(&"seq") {
                    c.report(bad(format!(
                        "numbering pattern `{}` has no `{{seq}}`, so every document would get the same number",
                        j.numbering
                    )));
                }
            }
        }
    }
}

/// H0901: two retention rules for the same record class (and the same case, or both for none).
fn retention_duplicates(c: &mut Checker) {
    let mut first: HashMap<_, &str> = HashMap::new();
    for r in &c.spec().retention {
        let key = (r.record, r.case.as_deref());
        let Some(earlier) = first.get(&key).copied() else {
            first.insert(key, &r.id);
            continue;
        };
        let record = serde_json::to_value(r.record)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let scope = match &r.case {
            Some(case) => format!("`{record}` records of case `{case}`"),
            None => format!("`{record}` records"),
        };
        c.report(
            Diagnostic::error(
                "H0901",
                format!(
                    "retention rules `{earlier}` and `{}` both govern {scope}",
                    r.id
                ),
            )
            .at(c.at(Kind::Retention, &r.id, "/record"))
            .related(
                c.at(Kind::Retention, earlier, "/record"),
                format!("`{earlier}` governs them here"),
            )
            .detail("records of one class would have two periods; only one can be applied")
            .help("merge the rules into one, or give each its own `case`"),
        );
    }
}

/// H0902: a case code written twice in one case index.
fn case_duplicates(c: &mut Checker) {
    for ci in &c.spec().case_indexes {
        let mut first: HashMap<&str, usize> = HashMap::new();
        for (i, case) in ci.cases.iter().enumerate() {
            let Some(&earlier) = first.get(case.code.as_str()) else {
                first.insert(&case.code, i);
                continue;
            };
            c.report(
                Diagnostic::error(
                    "H0902",
                    format!(
                        "case `{}` appears twice in case index `{}`",
                        case.code, ci.id
                    ),
                )
                .at(c.at(Kind::CaseIndex, &ci.id, &format!("/cases/{i}/code")))
                .related(
                    c.at(Kind::CaseIndex, &ci.id, &format!("/cases/{earlier}/code")),
                    "first written here",
                )
                .help("give each case of the index its own code, or merge the two entries"),
            );
        }
    }
}

/// H0903: two journals of one participant with the same direction and the same numbering pattern.
fn journal_collisions(c: &mut Checker) {
    let journals = &c.spec().journals;
    for (i, j) in journals.iter().enumerate() {
        let same = |k: &&crate::spec::model::Journal| {
            k.participant == j.participant
                && k.direction == j.direction
                && k.numbering == j.numbering
        };
        let Some(earlier) = journals[..i].iter().find(same).map(|k| k.id.as_str()) else {
            continue;
        };
        c.report(
            Diagnostic::error(
                "H0903",
                format!("journals `{earlier}` and `{}` of `{}` would issue the same numbers", j.id, j.participant),
            )
            .at(c.at(Kind::Journal, &j.id, "/numbering"))
            .related(c.at(Kind::Journal, earlier, "/numbering"), format!("`{earlier}` uses the same pattern"))
            .detail(format!(
                "both register documents of the same direction as `{}`, so two documents could get one number",
                j.numbering
            ))
            .help("add a distinguishing part to one pattern, e.g. an index such as `{seq}/02-{yyyy}`"),
        );
    }
}

/// H0904: a document issued into a journal numbered by `{case}` must name its case (`case=`),
/// and a case named must be one of the journal keeper's case index.
fn filing_cases(c: &mut Checker) {
    let spec = c.spec();
    let mut found = Vec::new();
    for w in &spec.workflows {
        for (si, s) in w.states.iter().enumerate() {
            for (ti, t) in s.transitions.iter().enumerate() {
                for (ai, action) in t.actions.iter().enumerate() {
                    let Action::Issue(issue) = action else {
                        continue;
                    };
                    let Some(journal) = issue
                        .journal
                        .as_ref()
                        .and_then(|j| spec.journals.iter().find(|k| &k.id == j))
                    else {
                        continue;
                    };
                    let ptr = format!("/states/{si}/transitions/{ti}/actions/{ai}/issue");
                    found.push((w.id.clone(), ptr, journal, issue.case.clone()));
                }
            }
        }
    }
    for (workflow, ptr, journal, case) in found {
        let numbered_by_case = placeholders(&journal.numbering).is_ok_and(|p| p.contains(&"case"));
        let problem = match &case {
            None if numbered_by_case => format!(
                "`issue` into journal `{}` names no case, and its numbers need one",
                journal.id
            ),
            Some(code)
                if !spec.case_indexes.iter().any(|ci| {
                    ci.participant == journal.participant
                        && ci.cases.iter().any(|k| &k.code == code)
                }) =>
            {
                format!(
                    "`issue` files its document in case `{code}`, which no case index of `{}` lists",
                    journal.participant
                )
            }
            _ => continue,
        };
        let at = match case {
            Some(_) => c.at(Kind::Workflow, &workflow, &format!("{ptr}/case")),
            None => c.at(Kind::Workflow, &workflow, &format!("{ptr}/journal")),
        };
        c.report(
            Diagnostic::error("H0904", problem)
                .at(at)
                .related(
                    c.at(Kind::Journal, &journal.id, "/numbering"),
                    format!("journal `{}` numbers documents as `{}`", journal.id, journal.numbering),
                )
                .detail(format!(
                    "`{{case}}` is the case of `{}`'s case index (номенклатура справ) the document is filed in",
                    journal.participant
                ))
                .help("name the case with `case=\"…\"`, e.g. `issue \"decision\" journal=\"outgoing\" case=\"01-25\"`, with a code of the participant's case index"),
        );
    }
}

/// H0910: in a spec that keeps case indexes, a journal whose participant has none: its cards
/// fall in no case, so no retention period ever runs for them and no review lists them.
fn journals_without_case_index(c: &mut Checker) {
    let spec = c.spec();
    if spec.case_indexes.is_empty() {
        return;
    }
    let mut reported: Vec<&str> = Vec::new();
    for j in &spec.journals {
        if reported.contains(&j.participant.as_str())
            || spec
                .case_indexes
                .iter()
                .any(|ci| ci.participant == j.participant)
        {
            continue;
        }
        reported.push(&j.participant);
        c.report(
            Diagnostic::warning(
                "H0910",
                format!(
                    "journal `{}` registers documents of `{}`, which has no case index",
                    j.id, j.participant
                ),
            )
            .at(c.at(Kind::Journal, &j.id, "/participant"))
            .detail(
                "a card's retention comes from its case in its participant's case index for \
                 the card's year; without one its period never runs and no expert review lists it",
            )
            .help(format!(
                "declare `case-index \"{}-2026\" {{ participant \"{}\"; year 2026; case \"01-01\" \
                 title=\"…\" retention=\"5y\" }}` with the participant's cases",
                j.participant, j.participant
            )),
        );
    }
}

/// H0911: a retention rule for the documents of a case whose period differs from the one the
/// case index gives that case: the review counts the case index's, so the rule would mislead.
fn case_periods_agree(c: &mut Checker) {
    let spec = c.spec();
    for r in &spec.retention {
        let (crate::spec::model::RecordClass::Document, Some(code)) = (r.record, &r.case) else {
            continue;
        };
        for ci in &spec.case_indexes {
            let Some(i) = ci.cases.iter().position(|k| &k.code == code) else {
                continue;
            };
            let case = &ci.cases[i];
            if case.retention == r.period {
                continue;
            }
            c.report(
                Diagnostic::error(
                    "H0911",
                    format!(
                        "retention rule `{}` keeps documents of case `{code}` for `{}`, but case \
                         index `{}` keeps that case for `{}`",
                        r.id, r.period, ci.id, case.retention
                    ),
                )
                .at(c.at(Kind::Retention, &r.id, "/period"))
                .related(
                    c.at(Kind::CaseIndex, &ci.id, &format!("/cases/{i}/retention")),
                    "the case index's period, which the expert review counts",
                )
                .help("write the same period in both, as the list of standard documents sets it"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_in_order() {
        assert_eq!(placeholders("{seq}/01-{yyyy}"), Ok(vec!["seq", "yyyy"]));
        assert_eq!(
            placeholders("{case}-{seq}{mm}"),
            Ok(vec!["case", "seq", "mm"])
        );
        assert_eq!(placeholders("fixed"), Ok(vec![]));
        assert!(placeholders("{seq}/{yyyy").is_err());
    }
}
