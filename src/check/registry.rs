//! The registry's spec (H0140–H0149, H0235–H0239, H0330–H0339): document kinds with directions,
//! fields of one id each whose `choice` has a classifier and whose rule compiles over `value` and
//! `card`; journals that register only declared kinds of their own direction, in known formats.

use std::collections::BTreeSet;

use crate::spec::diagnostics::did_you_mean;
use crate::spec::model::{CARD_FORMATS, KindFieldType, OptionalRequisite, by_id};
use crate::spec::{Diagnostic, Kind};

use super::Checker;
use super::expressions::analyse;

pub(super) fn check(c: &mut Checker) {
    kinds(c);
    journals(c);
}

/// H0140 a kind used in no direction; H0141 two fields (or a field and a requisite) with one id;
/// H0142 a `choice` without a classifier, or a classifier on another type; H0143 a rule that
/// does not compile or reads a name other than `value` and `card`; H0236 an undeclared
/// classifier.
fn kinds(c: &mut Checker) {
    let spec = c.spec();
    let scope: BTreeSet<String> = ["value".to_string(), "card".to_string()].into();
    for k in &spec.document_kinds {
        if k.directions.is_empty() {
            c.report(
                Diagnostic::error(
                    "H0140",
                    format!("document kind `{}` is used in no direction", k.id),
                )
                .at(c.at(Kind::DocumentKind, &k.id, "/directions"))
                .help("list where it is registered, e.g. `directions \"incoming\" \"outgoing\"`"),
            );
        }
        let mut seen: BTreeSet<&str> = OptionalRequisite::ALL.iter().map(|r| r.id()).collect();
        for (i, f) in k.fields.iter().enumerate() {
            let loaded = c.loaded;
            let at = |p: &str| {
                loaded
                    .map
                    .at(Kind::DocumentKind, &k.id, &format!("/fields/{i}{p}"))
            };
            if !seen.insert(f.id.as_str()) {
                let summary = if OptionalRequisite::ALL.iter().any(|r| r.id() == f.id) {
                    format!(
                        "document kind `{}` has a field `{}`, the id of an optional requisite of п.42",
                        k.id, f.id
                    )
                } else {
                    format!("document kind `{}` has two fields `{}`", k.id, f.id)
                };
                c.report(
                    Diagnostic::error("H0141", summary)
                    .at(at("/id"))
                    .detail("a card keeps each field's value under its id, with the optional requisites of п.42 (access-mark, language, annexes, control-mark, delivery, copies)")
                    .help("give the field an id of its own"),
                );
            }
            match (f.ty, &f.classifier) {
                (KindFieldType::Choice, None) => c.report(
                    Diagnostic::error(
                        "H0142",
                        format!("field `{}` of document kind `{}` is a choice with nothing to choose from", f.id, k.id),
                    )
                    .at(at("/type"))
                    .help("add `classifier=\"…\"` naming the classifier whose items it offers"),
                ),
                (ty, Some(_)) if ty != KindFieldType::Choice => c.report(
                    Diagnostic::error(
                        "H0142",
                        format!("field `{}` of document kind `{}` names a classifier but is not a choice", f.id, k.id),
                    )
                    .at(at("/classifier"))
                    .help("make it `type=\"choice\"`, or remove `classifier`"),
                ),
                (_, Some(classifier)) if by_id(&spec.classifiers, classifier).is_none() => {
                    let mut d = Diagnostic::error(
                        "H0236",
                        format!("field `{}` of document kind `{}` offers the items of unknown classifier `{classifier}`", f.id, k.id),
                    )
                    .at(at("/classifier"));
                    if let Some(h) = did_you_mean(classifier, spec.classifiers.iter().map(|x| x.id.as_str())) {
                        d = d.help(h);
                    }
                    c.report(d);
                }
                _ => {}
            }
            if let Some(rule) = &f.validate {
                let problem = match analyse(rule, Some(&scope)) {
                    Err(e) => Some(format!("does not compile: {}", e.message)),
                    Ok(unknown) if !unknown.is_empty() => Some(format!(
                        "reads {}, but a field's rule sees only `value` and `card`",
                        unknown
                            .iter()
                            .map(|u| format!("`{u}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                    Ok(_) => None,
                };
                if let Some(problem) = problem {
                    c.report(
                        Diagnostic::error(
                            "H0143",
                            format!(
                                "the rule of field `{}` of document kind `{}` {problem}",
                                f.id, k.id
                            ),
                        )
                        .at(at("/validate"))
                        .help("write a minijinja expression over `value`, e.g. `value >= 0`"),
                    );
                }
            }
        }
    }
}

/// H0235 a journal registering an undeclared kind; H0144 a kind not used in the journal's
/// direction; H0330 an unknown file format; H0331 `{case}` in the pattern of a journal whose
/// participant keeps no case index.
fn journals(c: &mut Checker) {
    let spec = c.spec();
    for j in &spec.journals {
        for (i, kind) in j.kinds.iter().enumerate() {
            let at = c.at(Kind::Journal, &j.id, &format!("/kinds/{i}"));
            match by_id(&spec.document_kinds, kind) {
                None => {
                    let mut d = Diagnostic::error(
                        "H0235",
                        format!("journal `{}` registers unknown document kind `{kind}`", j.id),
                    )
                    .at(at);
                    d = match did_you_mean(kind, spec.document_kinds.iter().map(|k| k.id.as_str())) {
                        Some(h) => d.help(h),
                        None => d.help("declare it with `document-kind \"…\" { … }`"),
                    };
                    c.report(d);
                }
                Some(k) if !k.directions.contains(&j.direction) => c.report(
                    Diagnostic::error(
                        "H0144",
                        format!("journal `{}` registers document kind `{kind}`, which is not used in its direction", j.id),
                    )
                    .at(at)
                    .detail(format!("the journal is `{}`; the kind lists other directions", serde_json::to_value(j.direction).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()))
                    .help("add the journal's direction to the kind's `directions`, or register the kind elsewhere"),
                ),
                Some(_) => {}
            }
        }
        for (i, format) in j.formats.iter().enumerate() {
            if !CARD_FORMATS.contains(&format.as_str()) {
                let mut d = Diagnostic::error(
                    "H0330",
                    format!("journal `{}` accepts unknown file format `{format}`", j.id),
                )
                .at(c.at(Kind::Journal, &j.id, &format!("/formats/{i}")))
                .detail("a card's files are judged by their bytes; only formats the registry recognises can be accepted");
                d = match did_you_mean(format, CARD_FORMATS.iter().copied()) {
                    Some(h) => d.help(h),
                    None => d.help(format!("use some of: {}", CARD_FORMATS.join(", "))),
                };
                c.report(d);
            }
        }
        // A pattern that does not parse is H0309's alone.
        let by_case = super::records::placeholders(&j.numbering).is_ok_and(|p| p.contains(&"case"));
        if by_case
            && !spec
                .case_indexes
                .iter()
                .any(|ci| ci.participant == j.participant)
        {
            c.report(
                Diagnostic::error(
                    "H0331",
                    format!("journal `{}` numbers by `{{case}}`, but `{}` keeps no case index", j.id, j.participant),
                )
                .at(c.at(Kind::Journal, &j.id, "/numbering"))
                .detail("`{case}` is the case of the participant's case index (номенклатура справ) a document is filed in")
                .help(format!("declare `case-index \"…\" {{ participant \"{}\"; … }}`, or drop `{{case}}`", j.participant)),
            );
        }
    }
}
