//! A portal agreement whose legal basis is the data subject's consent given in the application
//! (H0618) is used only by forms that ask for that consent: every form that reads through it
//! (prefill, cross-check) or whose e-service's workflow `call`s through it declares a required
//! `consent`.

use crate::spec::agreement_rules::grants_field;
use crate::spec::model::{Action, Agreement, Form, Spec};
use crate::spec::{Diagnostic, Kind, Span};

use super::Checker;

/// Whether a legal basis says the subject's consent was given in the application ("згода
/// суб'єкта, надана в заяві"): it names consent (`згод…`) and the application (`в заяві`,
/// `у заяві`), in any apostrophe and letter case.
pub(super) fn consent_in_application(legal_basis: &str) -> bool {
    let text = legal_basis.to_lowercase();
    text.contains("згод") && (text.contains("в заяві") || text.contains("у заяві"))
}

pub(super) fn check(c: &mut Checker) {
    let spec = c.spec();
    let Some(portal) = spec.system().map(|s| s.portal.subsystem.as_str()) else {
        return;
    };
    let by_consent: Vec<&Agreement> = spec
        .agreements
        .iter()
        .filter(|a| a.consumer == portal)
        .filter(|a| a.legal_basis.as_deref().is_some_and(consent_in_application))
        .collect();
    if by_consent.is_empty() {
        return;
    }
    for form in &spec.forms {
        if form.consents.iter().any(|k| k.required) {
            continue;
        }
        let Some(usage) = first_use(c, spec, form, &by_consent) else {
            continue;
        };
        let a = usage.agreement;
        let d = Diagnostic::error(
            "H0618",
            format!(
                "form `{}` asks for no consent, but agreement `{}` relies on consent given in the application",
                form.id, a.id
            ),
        )
        .at(c.at(Kind::Form, &form.id, "/id"))
        .related(usage.at, usage.what)
        .related(
            c.at(Kind::Agreement, &a.id, "/legal-basis"),
            "its legal basis is the subject's consent",
        )
        .detail(format!(
            "`{}` is read from `{}` through agreement `{}`, whose only lawful ground is the consent the applicant gives in this application; without it the portal has no right to ask",
            usage.field, a.provider, a.id
        ))
        .help(format!(
            "declare `consent \"personal-data\" text=\"…\" required=#true` in form `{}`, saying what `{}` is asked for and why",
            form.id, a.provider
        ));
        c.report(d);
    }
}

/// Where a form (or its e-service's workflow) reads through a consent-based agreement.
struct Use<'a> {
    agreement: &'a Agreement,
    field: &'a str,
    at: Option<Span>,
    what: &'static str,
}

/// The first read of `form` through one of `agreements`: its own prefills and cross-checks, then
/// the `call`s of the workflows of the e-services that use it.
fn first_use<'a>(
    c: &Checker,
    spec: &'a Spec,
    form: &'a Form,
    agreements: &[&'a Agreement],
) -> Option<Use<'a>> {
    let through = |service: &str, field: &str| {
        agreements
            .iter()
            .copied()
            .find(|a| a.provider == service && a.fields.iter().any(|g| grants_field(g, field)))
    };
    for (pi, page) in form.pages.iter().enumerate() {
        let fields = page
            .fields
            .iter()
            .enumerate()
            .map(move |(fi, f)| (format!("/pages/{pi}/fields/{fi}"), f));
        let grouped = page.groups.iter().enumerate().flat_map(move |(gi, g)| {
            g.fields
                .iter()
                .enumerate()
                .map(move |(fi, f)| (format!("/pages/{pi}/groups/{gi}/fields/{fi}"), f))
        });
        for (ptr, f) in fields.chain(grouped) {
            let reads = [
                f.prefill.as_ref().map(|p| ("prefill", &p.from, &p.field)),
                f.cross_check
                    .as_ref()
                    .map(|x| ("cross-check", &x.from, &x.field)),
            ];
            for (node, from, field) in reads.into_iter().flatten() {
                if let Some(agreement) = through(from, field) {
                    return Some(Use {
                        agreement,
                        field,
                        at: c.at(Kind::Form, &form.id, &format!("{ptr}/{node}")),
                        what: "read here",
                    });
                }
            }
        }
    }
    for e in spec.e_services.iter().filter(|e| e.form == form.id) {
        let Some(w) = spec.workflows.iter().find(|w| w.id == e.workflow) else {
            continue;
        };
        for (si, s) in w.states.iter().enumerate() {
            for (ti, t) in s.transitions.iter().enumerate() {
                for (ai, action) in t.actions.iter().enumerate() {
                    let Action::Call(call) = action else { continue };
                    for (k, field) in call.fields.iter().enumerate() {
                        if let Some(agreement) = through(&call.service, field) {
                            let ptr = format!(
                                "/states/{si}/transitions/{ti}/actions/{ai}/call/fields/{k}"
                            );
                            return Some(Use {
                                agreement,
                                field,
                                at: c.at(Kind::Workflow, &w.id, &ptr),
                                what: "the e-service's workflow reads here",
                            });
                        }
                    }
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::consent_in_application;

    #[test]
    fn the_legal_basis_names_consent_given_in_the_application() {
        for yes in [
            "ЗУ «Про захист персональних даних», ст. 11 ч. 1 п. 1 (згода суб'єкта, надана в заяві)",
            "Згода заявника, надана у заяві",
            "ЗГОДА СУБʼЄКТА, НАДАНА В ЗАЯВІ",
        ] {
            assert!(consent_in_application(yes), "{yes}");
        }
        for no in [
            "ЗУ «Про захист персональних даних», ст. 11",
            "ЗУ «Про захист персональних даних», ст. 11 ч. 1 п. 1 (згода заявника)",
            "Відомості, зазначені в заяві",
        ] {
            assert!(!consent_in_application(no), "{no}");
        }
    }
}
