//! E-service catalogue entries (H08xx): every item of 003 Annex 1 is present, a paid service has
//! payment details and a positive amount (a free one none), its provider takes part (is not
//! suspended), and a portal e-service has one incoming journal to register applications in.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

use crate::spec::model::{EService, FeeKind, JournalProblem, PayWhen, Status};
use crate::spec::{Diagnostic, Kind};

use super::Checker;

static AMOUNT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[0-9]+(\.[0-9]{1,2})?$").expect("amount pattern"));

/// One item of 003 Annex 1: its KDL node, English and Ukrainian names, the Annex item number.
struct Item {
    node: &'static str,
    english: &'static str,
    ukrainian: &'static str,
    annex: &'static str,
}

const fn item(
    node: &'static str,
    english: &'static str,
    ukrainian: &'static str,
    annex: &'static str,
) -> Item {
    Item {
        node,
        english,
        ukrainian,
        annex,
    }
}

/// The Annex 1 items an e-service lacks, in the Annex's order (the code is optional, "за наявності").
fn missing_items(e: &EService) -> Vec<Item> {
    let blank = |s: &Option<String>| s.as_deref().is_none_or(|s| s.trim().is_empty());
    let checks = [
        (
            e.provider.is_none(),
            item("provider", "provider", "надавач електронної послуги", "1"),
        ),
        (
            e.user_category.is_empty(),
            item(
                "user-category",
                "user category",
                "категорія користувачів",
                "2",
            ),
        ),
        (
            e.legal_basis.is_empty(),
            item("legal-basis", "legal basis", "правові підстави", "3"),
        ),
        (
            blank(&e.conditions),
            item(
                "conditions",
                "conditions and cases of provision",
                "умови та випадки надання послуги",
                "3",
            ),
        ),
        (
            e.faq.is_empty(),
            item(
                "faq",
                "frequently asked questions with answers",
                "перелік найбільш поширених питань з відповідями",
                "3",
            ),
        ),
        (
            e.documents.is_empty(),
            item(
                "document",
                "required documents",
                "вичерпний перелік документів",
                "3",
            ),
        ),
        (
            e.submission.is_empty(),
            item(
                "submission",
                "submission methods",
                "способи подання заяви та документів",
                "3",
            ),
        ),
        (
            e.term.is_none(),
            item("term", "term of provision", "строк надання послуги", "3"),
        ),
        (
            e.refusal_grounds.is_empty(),
            item(
                "refusal-ground",
                "grounds for refusal",
                "перелік підстав для відмови",
                "3",
            ),
        ),
        (
            blank(&e.appeal),
            item(
                "appeal",
                "appeal procedure",
                "порядок оскарження рішень, дій або бездіяльності",
                "3",
            ),
        ),
        (
            e.fee.is_none(),
            item("fee", "fee", "розмір плати (або безоплатність)", "4"),
        ),
        (
            e.result.is_none(),
            item("result", "result", "результат надання послуги", "5"),
        ),
        (
            e.result.as_ref().is_some_and(|r| r.delivery.is_empty()),
            item(
                "delivery",
                "ways to receive the result",
                "способи отримання результату",
                "5",
            ),
        ),
    ];
    checks
        .into_iter()
        .filter(|(missing, _)| *missing)
        .map(|(_, i)| i)
        .collect()
}

pub(super) fn check(c: &mut Checker) {
    let spec = c.spec();
    for e in &spec.e_services {
        for missing in missing_items(e) {
            let pointer = match missing.node {
                "delivery" => "/result/delivery",
                "user-category" => "/user-category",
                "legal-basis" => "/legal-basis",
                "conditions" => "/conditions",
                "appeal" => "/appeal",
                _ => "",
            };
            c.report(
                Diagnostic::error(
                    "H0801",
                    format!(
                        "e-service `{}` lacks the {} ({})",
                        e.id, missing.english, missing.ukrainian
                    ),
                )
                .at(c.at(Kind::EService, &e.id, pointer))
                .detail(format!(
                    "003 Annex 1 item {} requires it in every catalogue entry of the portal",
                    missing.annex
                ))
                .help(format!("add `{}` to the e-service", missing.node)),
            );
        }
        fee(c, e);
        pay(c, e);
        incoming_journal(c, e);
        if let Some(p) = e
            .provider
            .as_ref()
            .and_then(|p| spec.participant(&p.participant))
            && p.status == Status::Suspended
        {
            c.report(
                    Diagnostic::warning("H0804", format!("e-service `{}` is provided by suspended participant `{}`", e.id, p.id))
                        .at(c.at(Kind::EService, &e.id, "/provider/participant"))
                        .related(c.at(Kind::Participant, &p.id, "/status"), "suspended here")
                        .detail("a suspended participant cannot take part in electronic interaction (000 §16), so applications cannot be served")
                        .help("hand the service to an active participant, or take it out of the catalogue while the suspension lasts"),
                );
        }
    }
    unused(c);
}

/// H0802 (paid without payment details) and H0803 (amount missing, malformed, or on a free service).
fn fee(c: &mut Checker, e: &EService) {
    let Some(fee) = &e.fee else { return };
    match fee.kind {
        FeeKind::Paid => {
            if fee.payment.is_none() {
                c.report(
                    Diagnostic::error("H0802", format!("paid e-service `{}` has no payment details", e.id))
                        .at(c.at(Kind::EService, &e.id, "/fee"))
                        .detail("applicants cannot pay without the recipient, its EDRPOU, IBAN and the purpose of payment")
                        .help("add `payment recipient=\"…\" edrpou=\"…\" iban=\"UA…\" purpose=\"…\"` inside `fee`"),
                );
            }
            match fee.amount.as_deref() {
                None => c.report(
                    Diagnostic::error("H0803", format!("paid e-service `{}` states no amount", e.id))
                        .at(c.at(Kind::EService, &e.id, "/fee"))
                        .detail("003 Annex 1 item 4 requires the amount of the fee")
                        .help("add `amount=\"85.00\"` (hryvnias) to `fee`"),
                ),
                Some(amount) if !positive_amount(amount) => c.report(
                    Diagnostic::error("H0803", format!("fee amount `{amount}` of e-service `{}` is not a positive amount", e.id))
                        .at(c.at(Kind::EService, &e.id, "/fee/amount"))
                        .help("write the amount in hryvnias with at most two decimals, greater than zero, e.g. `85.00`"),
                ),
                Some(_) => {}
            }
        }
        FeeKind::Free => {
            if let Some(amount) = &fee.amount {
                c.report(
                    Diagnostic::error(
                        "H0803",
                        format!("free e-service `{}` states an amount `{amount}`", e.id),
                    )
                    .at(c.at(Kind::EService, &e.id, "/fee/amount"))
                    .help("remove `amount`, or make the fee `paid`"),
                );
            }
            if fee.payment.is_some() {
                c.report(
                    Diagnostic::error(
                        "H0803",
                        format!("free e-service `{}` gives payment details", e.id),
                    )
                    .at(c.at(Kind::EService, &e.id, "/fee/payment"))
                    .detail(
                        "an applicant shown payment details for a free service may pay for nothing",
                    )
                    .help("remove `payment`, or make the fee `paid` with its amount"),
                );
            }
        }
    }
}

/// H0807 (`pay` on a free fee), H0808 (`pay` with no payment provider in `system`) and H0809
/// (a warning: `pay` on an e-service not submitted through the portal, which never asks for it).
fn pay(c: &mut Checker, e: &EService) {
    let Some(fee) = &e.fee else { return };
    let Some(when) = fee.pay else { return };
    let at = c.at(Kind::EService, &e.id, "/fee/pay");
    if fee.kind == FeeKind::Free {
        c.report(
            Diagnostic::error("H0807", format!("free e-service `{}` asks for payment", e.id))
                .at(at)
                .detail("the portal would hand applicants to a payment provider for a service that costs nothing")
                .help("remove `pay`, or make the fee `paid` with its amount and payment details"),
        );
        return;
    }
    if c.spec().system().is_none_or(|s| s.payments.is_none()) {
        c.report(
            Diagnostic::error("H0808", format!("e-service `{}` asks for payment on the portal, but the system names no payment provider", e.id))
                .at(at)
                .detail(format!("applicants would be stopped {} with no way to pay", match when {
                    PayWhen::BeforeSubmission => "before submitting",
                    PayWhen::BeforeResult => "before receiving the result",
                }))
                .help("add `payments { provider \"liqpay\" checkout-url \"…\" public-key \"…\" private-key-file \"…\" }` to `system`, or remove `pay` so that the fee is paid outside the portal"),
        );
    }
    if !e.on_portal() {
        c.report(
            Diagnostic::warning(
                "H0809",
                format!(
                    "e-service `{}` asks for payment on the portal but is not submitted through it",
                    e.id
                ),
            )
            .at(at)
            .detail(
                "only applications made on the portal are asked to pay there; `pay` has no effect",
            )
            .help("add `\"portal\"` to `submission`, or remove `pay`"),
        );
    }
}

/// H0806: a portal e-service registers its applications in exactly one incoming journal of its
/// provider (003 §5.10): the one its `journal` names, or the provider's only one.
fn incoming_journal(c: &mut Checker, e: &EService) {
    if !e.on_portal() {
        return;
    }
    let spec = c.spec();
    let Err(problem) = e.incoming_journal(spec) else {
        return;
    };
    let (summary, pointer, help) = match problem {
        JournalProblem::NoProvider => return,
        JournalProblem::Unknown(id) => (
            format!(
                "e-service `{}` registers applications in journal `{id}`, which is not declared",
                e.id
            ),
            "/journal",
            "name an incoming journal of the provider, or declare it".to_string(),
        ),
        JournalProblem::Unfit(j) => (
            format!(
                "e-service `{}` registers applications in journal `{}`, which is not an incoming journal of its provider",
                e.id, j.id
            ),
            "/journal",
            format!(
                "journal `{}` is kept by `{}` with direction `{}`; name an incoming journal of the provider",
                j.id,
                j.participant,
                serde_json::to_value(j.direction)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            ),
        ),
        JournalProblem::NoneKept(provider) => (
            format!(
                "e-service `{}` is on the portal, but its provider `{provider}` keeps no incoming journal",
                e.id
            ),
            "/provider/participant",
            format!(
                "declare `journal \"…\" {{ participant \"{provider}\"; direction \"incoming\"; … }}`"
            ),
        ),
        JournalProblem::Several(kept) => (
            format!(
                "e-service `{}` is on the portal, but its provider keeps {} incoming journals and the e-service names none",
                e.id,
                kept.len()
            ),
            "/provider/participant",
            format!(
                "add `journal` with one of {} to the e-service",
                kept.iter()
                    .map(|j| format!("`{}`", j.id))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
    };
    c.report(
        Diagnostic::error("H0806", summary)
            .at(c.at(Kind::EService, &e.id, pointer))
            .detail("an application signed on the portal is registered in the provider's incoming journal with its number and time of receipt (003 §5.10)")
            .help(help),
    );
}

/// H0805 (a warning): a form or workflow that no e-service names (nor a journal, as its
/// executors' work) is never shown or run.
fn unused(c: &mut Checker) {
    let spec = c.spec();
    let forms: HashSet<&str> = spec.e_services.iter().map(|e| e.form.as_str()).collect();
    let workflows: HashSet<&str> = spec
        .e_services
        .iter()
        .map(|e| e.workflow.as_str())
        .chain(spec.journals.iter().filter_map(|j| j.execution.as_deref()))
        .collect();
    for f in &spec.forms {
        if !forms.contains(f.id.as_str()) {
            c.report(
                Diagnostic::warning(
                    "H0805",
                    format!("form `{}` is not the form of any e-service", f.id),
                )
                .at(c.at(Kind::Form, &f.id, "/id"))
                .detail("citizens only ever see a form through the e-service that names it")
                .help("name it in an e-service's `form`, or remove it"),
            );
        }
    }
    for w in &spec.workflows {
        if !workflows.contains(w.id.as_str()) {
            c.report(
                Diagnostic::warning(
                    "H0805",
                    format!(
                        "workflow `{}` is not the workflow of any e-service or journal",
                        w.id
                    ),
                )
                .at(c.at(Kind::Workflow, &w.id, "/id"))
                .detail("applications only ever move through the workflow their e-service names")
                .help(
                    "name it in an e-service's `workflow` or a journal's `execution`, or remove it",
                ),
            );
        }
    }
}

/// A decimal number of hryvnias with at most two decimals, greater than zero.
fn positive_amount(s: &str) -> bool {
    AMOUNT.is_match(s) && s.chars().any(|c| ('1'..='9').contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        for good in ["85.00", "85", "0.50", "1200.5"] {
            assert!(positive_amount(good), "{good} should be accepted");
        }
        for bad in ["0", "0.00", "-5.00", "85,00", "85.001", "", "1e3", ".5"] {
            assert!(!positive_amount(bad), "{bad} should be refused");
        }
    }
}
