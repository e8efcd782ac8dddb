//! E-service pages laid out in the order of 003 Annex 1 (provider, user category, the service
//! itself, fee, result) and the application forms: pages, fields, groups, rules, attachments.

use anyhow::Result;
use serde_json::{Value, json};

use super::Builder;
use crate::spec::labels;
use crate::spec::model::{EService, FeeKind, Form, FormField, InputType};

pub(super) fn build(b: &mut Builder) -> Result<()> {
    let spec = b.spec;
    let mut list = Vec::new();
    for e in &spec.e_services {
        let ctx = eservice(b, e);
        list.push(json!({
            "id": e.id, "title": e.title, "code": e.code,
            "provider": ctx["provider"]["name"],
            "term": ctx["term"],
        }));
        b.page(
            &format!("e-services/{}.html", e.id),
            "e-service.html",
            "e-services",
            &e.title,
            ctx,
        )?;
    }
    b.page(
        "e-services/index.html",
        "e-services.html",
        "e-services",
        "Електронні послуги",
        json!({"services": list}),
    )?;

    let mut list = Vec::new();
    for f in &spec.forms {
        list.push(json!({"id": f.id, "title": f.title, "used_by": used_by(b, |e| e.form == f.id)}));
        let ctx = form(b, f);
        b.page(
            &format!("forms/{}.html", f.id),
            "form.html",
            "forms",
            &f.title,
            ctx,
        )?;
    }
    b.page(
        "forms/index.html",
        "forms.html",
        "forms",
        "Форми заяв",
        json!({"forms": list}),
    )
}

/// The e-services that satisfy `pred`, as links.
pub(super) fn used_by(b: &Builder, pred: impl Fn(&EService) -> bool) -> Vec<Value> {
    b.spec
        .e_services
        .iter()
        .filter(|e| pred(e))
        .map(|e| json!({"title": e.title, "href": format!("e-services/{}.html", e.id)}))
        .collect()
}

fn eservice(b: &Builder, e: &EService) -> Value {
    let provider = e.provider.as_ref().map(|pr| {
        let p = b.spec.participant(&pr.participant);
        json!({
            "name": p.map(|p| p.name.clone()).unwrap_or_else(|| pr.participant.clone()),
            "edrpou": p.map(|p| p.edrpou.clone()),
            "href": format!("catalogue/{}.html", pr.participant),
            "unit": pr.unit.as_ref().map(|u| b.unit_title(&pr.participant, u)),
            "kind": p.map(|p| p.contacts.kind.clone()),
            "address": p.map(|p| p.contacts.address.clone()),
            "phone": p.map(|p| p.contacts.phone.clone()),
            "website": p.and_then(|p| p.contacts.website.clone()),
            "email": p.map(|p| p.contacts.email.clone()),
            "schedule": p.map(|p| p.contacts.schedule.clone()),
        })
    });
    let fee = e.fee.as_ref().map(|f| {
        json!({
            "paid": f.kind == FeeKind::Paid,
            "amount": f.amount.as_ref().map(|a| a.replace('.', ",")),
            "pay": f.pay.map(labels::pay_when),
            "payment": f.payment.as_ref().map(|p| json!({
                "recipient": p.recipient, "edrpou": p.edrpou, "iban": p.iban, "purpose": p.purpose,
            })),
        })
    });
    let form_title = b
        .spec
        .forms
        .iter()
        .find(|f| f.id == e.form)
        .map(|f| f.title.clone());
    let workflow_title = b
        .spec
        .workflows
        .iter()
        .find(|w| w.id == e.workflow)
        .map(|w| w.title.clone());
    let handled_by = e.handled_by.as_ref().map(|h| {
        let system = b
            .spec
            .subsystem(&h.subsystem)
            .map_or_else(|| h.subsystem.clone(), |(_, s)| s.title.clone());
        json!({"system": system, "href": format!("catalogue/{}.html", h.participant())})
    });
    json!({
        "e": {"id": e.id, "title": e.title, "code": e.code, "conditions": e.conditions, "appeal": e.appeal},
        "handled_by": handled_by,
        "provider": provider.unwrap_or(Value::Null),
        "categories": e.user_category.iter().map(|c| labels::user_category(*c)).collect::<Vec<_>>(),
        "legal_basis": e.legal_basis,
        "faq": e.faq.iter().map(|f| json!({"q": f.question, "a": f.answer})).collect::<Vec<_>>(),
        "documents": e.documents,
        "submission": e.submission.iter().map(|s| labels::submission(*s)).collect::<Vec<_>>(),
        "term": e.term.as_ref().map(labels::days),
        "refusal_grounds": e.refusal_grounds,
        "fee": fee,
        "result": e.result.as_ref().map(|r| json!({
            "description": r.description,
            "delivery": r.delivery.iter().map(|d| labels::delivery(*d)).collect::<Vec<_>>(),
        })),
        "form": {"title": form_title.unwrap_or_else(|| e.form.clone()), "href": format!("forms/{}.html", e.form)},
        "workflow": {"title": workflow_title.unwrap_or_else(|| e.workflow.clone()), "href": format!("workflows/{}.html", e.workflow)},
    })
}

fn form(b: &Builder, f: &Form) -> Value {
    let pages: Vec<Value> = f
        .pages
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "title": p.title,
                "visible_if": p.visible_if,
                "fields": p.fields.iter().map(|x| field(b, x)).collect::<Vec<_>>(),
                "groups": p.groups.iter().map(|g| json!({
                    "id": g.id,
                    "label": g.label,
                    "count": match g.max {
                        Some(max) => format!("від {} до {max}", g.min),
                        None => format!("щонайменше {}", g.min),
                    },
                    "visible_if": g.visible_if,
                    "fields": g.fields.iter().map(|x| field(b, x)).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "f": {"id": f.id, "title": f.title, "signature": labels::signature(f.signature)},
        "pages": pages,
        "rules": f.rules.iter().map(|r| json!({"expr": r.expr, "message": r.message})).collect::<Vec<_>>(),
        "attachments": f.attachments.iter().map(|a| json!({
            "id": a.id, "label": a.label, "required": labels::yes_no(a.required),
            "accept": a.accept.iter().map(|x| x.to_uppercase()).collect::<Vec<_>>().join(", "),
            "limits": format!("до {} файлів, кожен до {} МБ", a.max_files(), a.max_bytes() / (1024 * 1024)),
        })).collect::<Vec<_>>(),
        "consents": f.consents.iter().map(|c| json!({
            "id": c.id, "text": c.text, "required": labels::yes_no(c.required),
        })).collect::<Vec<_>>(),
        "declaration": f.declaration,
        "used_by": used_by(b, |e| e.form == f.id),
    })
}

fn field(b: &Builder, f: &FormField) -> Value {
    let mut constraints = Vec::new();
    let textual = matches!(f.ty, InputType::Text | InputType::Textarea);
    match (f.min, f.max) {
        (Some(lo), Some(hi)) if textual => constraints.push(format!(
            "довжина від {} до {} символів",
            labels::number(lo),
            labels::number(hi)
        )),
        (Some(lo), Some(hi)) => constraints.push(format!(
            "від {} до {}",
            labels::number(lo),
            labels::number(hi)
        )),
        (Some(lo), None) if textual => {
            constraints.push(format!("щонайменше {} символів", labels::number(lo)))
        }
        (Some(lo), None) => constraints.push(format!("не менше {}", labels::number(lo))),
        (None, Some(hi)) if textual => {
            constraints.push(format!("не більше {} символів", labels::number(hi)))
        }
        (None, Some(hi)) => constraints.push(format!("не більше {}", labels::number(hi))),
        (None, None) => {}
    }
    if let Some(bind) = f.bind {
        constraints.push(format!(
            "заповнюється з облікового запису заявника ({}), змінити не можна",
            labels::identity_binding(bind)
        ));
    }
    let classifier = f.classifier.as_ref().map(|c| {
        let title = b.spec.classifiers.iter().find(|x| &x.id == c).map(|x| x.title.clone());
        json!({"title": title.unwrap_or_else(|| c.clone()), "href": format!("classifiers/index.html#classifier-{c}")})
    });
    json!({
        "id": f.id,
        "label": f.label,
        "type": labels::input_type(f.ty),
        "required": labels::yes_no(f.required),
        "hint": f.hint,
        "pattern": f.pattern,
        "constraints": constraints,
        "visible_if": f.visible_if,
        "classifier": classifier,
        "prefill": f.prefill.as_ref().map(|p| json!({"service": b.service_link(&p.from), "field": p.field})),
        "cross_check": f.cross_check.as_ref().map(|c| json!({
            "service": b.service_link(&c.from), "field": c.field, "message": c.message,
        })),
    })
}
