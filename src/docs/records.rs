//! Records management and directories: the retention schedule with the case indexes, document
//! journals, classifiers, and roles with their officials (name, position and unit only).

use anyhow::Result;
use serde_json::{Value, json};

use super::Builder;
use crate::spec::labels;

pub(super) fn build(b: &mut Builder) -> Result<()> {
    let spec = b.spec;
    let rules: Vec<Value> = spec
        .retention
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "record": labels::record_class(r.record),
                "period": labels::period(&r.period),
                "trigger": labels::trigger(r.trigger),
                "action": labels::retention_action(r.action),
                "legal_hold": labels::yes_no(r.legal_hold),
                "case": r.case,
            })
        })
        .collect();
    let indexes: Vec<Value> = spec
        .case_indexes
        .iter()
        .map(|ci| {
            json!({
                "id": ci.id,
                "participant": b.participant_link(&ci.participant),
                "year": ci.year,
                "cases": ci.cases.iter().map(|c| json!({
                    "code": c.code, "title": c.title, "retention": labels::period(&c.retention), "article": c.article,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    b.page(
        "retention/index.html",
        "retention.html",
        "retention",
        "Строки зберігання",
        json!({"rules": rules, "indexes": indexes}),
    )?;

    let journals: Vec<Value> = spec
        .journals
        .iter()
        .map(|j| {
            json!({
                "id": j.id, "title": j.title, "participant": b.participant_link(&j.participant),
                "direction": labels::direction(j.direction), "numbering": j.numbering, "reset": labels::reset(j.reset),
            })
        })
        .collect();
    b.page(
        "journals/index.html",
        "journals.html",
        "journals",
        "Журнали реєстрації документів",
        json!({"journals": journals}),
    )?;

    let classifiers: Vec<Value> = spec
        .classifiers
        .iter()
        .map(|c| {
            json!({
                "id": c.id, "title": c.title,
                "items": c.items.iter().map(|i| json!({"code": i.code, "label": i.label})).collect::<Vec<_>>(),
            })
        })
        .collect();
    b.page(
        "classifiers/index.html",
        "classifiers.html",
        "classifiers",
        "Класифікатори та довідники",
        json!({"classifiers": classifiers}),
    )?;

    let roles: Vec<Value> = spec
        .roles
        .iter()
        .map(|r| {
            json!({
                "id": r.id, "title": r.title,
                "permissions": r.permissions.iter().map(|p| labels::permission(*p)).collect::<Vec<_>>(),
            })
        })
        .collect();
    // Only what an official's public duties make public: no RNOKPP, phone or e-mail.
    let officials: Vec<Value> = spec
        .officials
        .iter()
        .map(|o| {
            let (participant, unit) = o.unit.split_once('/').unwrap_or((o.unit.as_str(), ""));
            json!({
                "name": o.name,
                "position": o.position,
                "unit": b.unit_title(participant, unit),
                "participant": b.participant_link(participant),
                "roles": o.roles.iter().map(|r| b.role_link(r)).collect::<Vec<_>>(),
            })
        })
        .collect();
    b.page(
        "roles/index.html",
        "roles.html",
        "roles",
        "Ролі та посадові особи",
        json!({"roles": roles, "officials": officials}),
    )
}
