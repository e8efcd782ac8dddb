//! Workflow pages: the state diagram (see `diagram`) and the same machine as tables of states
//! and transitions, with deadlines, reminders, escalations, guards and actions in words.

use anyhow::Result;
use serde_json::{Value, json};

use super::eservices::used_by;
use super::{Builder, diagram};
use crate::spec::labels;
use crate::spec::model::{Action, DayCount, Days, Workflow};

pub(super) fn build(b: &mut Builder) -> Result<()> {
    let spec = b.spec;
    let mut list = Vec::new();
    for w in &spec.workflows {
        list.push(json!({
            "id": w.id, "title": w.title, "states": w.states.len(),
            "used_by": used_by(b, |e| e.workflow == w.id),
        }));
        let ctx = workflow(b, w);
        b.page(
            &format!("workflows/{}.html", w.id),
            "workflow.html",
            "workflows",
            &w.title,
            ctx,
        )?;
    }
    b.page(
        "workflows/index.html",
        "workflows.html",
        "workflows",
        "Робочі процеси",
        json!({"workflows": list}),
    )
}

fn workflow(b: &Builder, w: &Workflow) -> Value {
    let states: Vec<Value> = w
        .states
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "title": s.title,
                "start": s.id == w.start,
                "role": s.role.as_ref().map(|r| b.role_link(r)),
                "outcome": s.outcome.map(labels::outcome),
                "deadline": s.deadline.as_ref().map(labels::days),
                "reminders": s.reminders.iter().map(|r| json!({
                    "days": labels::days(&Days { days: r.days_before, counting: DayCount::Working }),
                    "to": b.role_link(&r.to),
                })).collect::<Vec<_>>(),
                "escalations": s.escalations.iter().map(|e| json!({
                    "days": labels::days(&Days { days: e.days_after, counting: DayCount::Working }),
                    "to": b.role_link(&e.to),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let transitions: Vec<Value> = w
        .states
        .iter()
        .flat_map(|s| {
            s.transitions.iter().map(move |t| {
                json!({
                    "from": s.id,
                    "event": t.event,
                    "title": t.title,
                    "to": t.to,
                    "role": t.role.as_ref().map(|r| b.role_link(r)),
                    "guard": t.guard,
                    "actions": t.actions.iter().map(|a| action(b, a)).collect::<Vec<_>>(),
                })
            })
        })
        .collect();
    let diagram_id = format!("wf-{}", w.id);
    json!({
        "w": {"id": w.id, "title": w.title, "start": w.start},
        "diagram_id": diagram_id,
        "svg": diagram::svg(w, &diagram_id),
        "states": states,
        "transitions": transitions,
        "used_by": used_by(b, |e| e.workflow == w.id),
        "scenarios": scenarios(b, w),
    })
}

/// The scenarios of the e-services this workflow serves: what each shows and must lead to.
fn scenarios(b: &Builder, w: &Workflow) -> Vec<Value> {
    b.spec
        .scenarios
        .iter()
        .filter(|s| {
            b.spec
                .e_services
                .iter()
                .any(|e| e.id == s.e_service && e.workflow == w.id)
        })
        .map(|s| {
            json!({
                "id": s.id,
                "title": s.title,
                "e_service": s.e_service,
                "states": s.expect.states,
                "outcome": s.expect.outcome.map(|o| o.outcome().map_or("не вирішено", labels::outcome)),
            })
        })
        .collect()
}

/// An action in words, with a link where it names something the site has a page for.
fn action(b: &Builder, a: &Action) -> Value {
    match a {
        Action::Notify(n) => {
            let to = b.role_link(&n.to);
            json!({"text": format!("Сповістити: {} — «{}»", to["title"].as_str().unwrap_or(&n.to), n.message), "link": null})
        }
        Action::Call(c) => {
            let service = b.service_link(&c.service);
            json!({
                "text": format!("Запит до сервісу «{}», поля: {}", service["title"].as_str().unwrap_or(&c.service), c.fields.join(", ")),
                "link": service["href"],
            })
        }
        Action::Issue(i) => {
            let title = b
                .spec
                .templates
                .iter()
                .find(|t| t.id == i.template)
                .map_or(i.template.as_str(), |t| t.title.as_str());
            let journal = i
                .journal
                .as_ref()
                .map(|j| {
                    let title = b
                        .spec
                        .journals
                        .iter()
                        .find(|x| &x.id == j)
                        .map_or(j.as_str(), |x| x.title.as_str());
                    format!(", реєстрація в журналі «{title}»")
                })
                .unwrap_or_default();
            let case = i
                .case
                .as_ref()
                .map(|c| format!(" (справа {c} за номенклатурою)"))
                .unwrap_or_default();
            json!({"text": format!("Видати документ «{title}» з кваліфікованою електронною печаткою{journal}{case}"), "link": null})
        }
        Action::Decide(d) => json!({
            "text": format!("Автоматичне рішення за даними реєстрів: {} — {}", labels::outcome(d.outcome), d.reason),
            "link": null,
        }),
    }
}
