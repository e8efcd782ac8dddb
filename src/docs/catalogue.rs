//! The service catalogue (000 §4: every participant's services with their operations, response
//! fields and data classes), the OpenAPI documents it links, the public register of access
//! agreements, and the data classes and policies those refer to. Upstream URLs are never shown.

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::Builder;
use crate::redact::Upstreams;
use crate::spec::labels;
use crate::spec::model::{
    FieldType, ItemType, Participant, ResponseField, Service, SubjectLocation,
};

pub(super) fn build(b: &mut Builder) -> Result<()> {
    let spec = b.spec;
    let mut rows = Vec::new();
    for p in &spec.participants {
        let mut services = Vec::new();
        for s in &p.services {
            services.push(service(b, p, s)?);
        }
        rows.push(json!({
            "id": p.id,
            "name": p.name,
            "edrpou": p.edrpou,
            "status": labels::status(p.status),
            "services": services,
        }));
        let ctx = participant(b, p, services.clone());
        b.page(
            &format!("catalogue/{}.html", p.id),
            "participant.html",
            "catalogue",
            &p.name,
            ctx,
        )?;
    }
    b.page(
        "catalogue/index.html",
        "catalogue.html",
        "catalogue",
        "Каталог вебсервісів",
        json!({"participants": rows}),
    )?;
    agreements(b)?;
    policies(b)
}

fn participant(b: &Builder, p: &Participant, services: Vec<Value>) -> Value {
    let c = &p.contacts;
    let responsible: Vec<Value> = c
        .responsible
        .iter()
        .map(|r| json!({"name": r.name, "unit": r.unit.as_ref().map(|u| b.unit_title(&p.id, u))}))
        .collect();
    let consumers: Vec<Value> = b
        .spec
        .agreements
        .iter()
        .filter(|a| a.consumer.split('/').next() == Some(p.id.as_str()))
        .map(|a| json!({"id": a.id, "provider": b.service_link(&a.provider), "purpose": a.purpose}))
        .collect();
    json!({
        "p": {
            "id": p.id,
            "name": p.name,
            "edrpou": p.edrpou,
            "class": labels::member_class(p.class),
            "status": labels::status(p.status),
            "suspended": p.status == crate::spec::model::Status::Suspended,
        },
        "contacts": {
            "kind": c.kind, "address": c.address, "phone": c.phone, "email": c.email,
            "website": c.website, "schedule": c.schedule, "responsible": responsible,
        },
        "units": p.units.iter().map(|u| json!({"id": u.id, "title": u.title})).collect::<Vec<_>>(),
        "subsystems": p.subsystems.iter().map(|s| json!({"id": s.id, "title": s.title})).collect::<Vec<_>>(),
        "services": services,
        "consumes": consumers,
    })
}

fn service(b: &mut Builder, p: &Participant, s: &Service) -> Result<Value> {
    let mut walked = Vec::new();
    fields_in_order(&s.response.fields, "", 0, &mut walked);
    let fields: Vec<Value> = walked
        .into_iter()
        .map(|(path, depth, f)| {
            json!({
                "path": path,
                "depth": depth,
                "type": match f.ty {
                    FieldType::Array if f.item_type() != ItemType::Object => format!(
                        "{}: {}",
                        labels::field_type(f.ty),
                        labels::field_type(f.item_type().field_type())
                    ),
                    ty => labels::field_type(ty).to_string(),
                },
                "class": b.class_link(s.response.class_of(&path).unwrap_or("public")),
                "description": f.description,
            })
        })
        .collect();
    let openapi = match &s.openapi {
        Some(doc) => Some(copy_openapi(b, p, s, doc)?),
        None => None,
    };
    let agreements: Vec<Value> = b
        .spec
        .agreements
        .iter()
        .filter(|a| a.provider == format!("{}/{}", p.id, s.id))
        .map(|a| json!({"id": a.id, "consumer": b.subsystem_link(&a.consumer)}))
        .collect();
    Ok(json!({
        "id": s.id,
        "reference": format!("{}/{}", p.id, s.id),
        "title": s.title,
        "description": s.description,
        "operations": s.operations.iter().map(|o| json!({"method": o.method.as_str(), "path": o.path})).collect::<Vec<_>>(),
        "subject": s.subject.as_ref().map(subject),
        "fields": fields,
        "health": s.health.as_ref().map(|h| json!({
            "path": h.path, "every": labels::period(&h.every), "timeout": h.timeout.as_deref().map(labels::period),
        })),
        "openapi": openapi,
        "agreements": agreements,
    }))
}

/// Response fields parent first, with their dotted paths and nesting depth.
fn fields_in_order<'s>(
    fields: &'s [ResponseField],
    prefix: &str,
    depth: usize,
    out: &mut Vec<(String, usize, &'s ResponseField)>,
) {
    for f in fields {
        let path = if prefix.is_empty() {
            f.name.clone()
        } else {
            format!("{prefix}.{}", f.name)
        };
        out.push((path.clone(), depth, f));
        fields_in_order(&f.fields, &path, depth + 1, out);
    }
}

fn subject(l: &SubjectLocation) -> String {
    let mut places = Vec::new();
    if let Some(h) = &l.header {
        places.push(format!("у заголовку запиту «{h}»"));
    }
    if let Some(n) = l.path_segment {
        places.push(format!("у {n}-му сегменті шляху"));
    }
    if let Some(q) = &l.query {
        places.push(format!("у параметрі запиту «{q}»"));
    }
    places.join("; ")
}

/// Copies a service's OpenAPI document into the site, with every upstream address of the tree
/// replaced (a `servers` entry must not reveal the internal system), and returns its site path.
fn copy_openapi(b: &mut Builder, p: &Participant, s: &Service, doc: &str) -> Result<String> {
    let relative = std::path::Path::new(doc);
    if relative.is_absolute()
        || relative
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        anyhow::bail!(
            "the OpenAPI document `{doc}` of service {}/{} must be a path inside the spec root, without `..`",
            p.id,
            s.id
        );
    }
    let source = b.root.join(relative);
    let text = std::fs::read_to_string(&source).with_context(|| {
        format!(
            "cannot read the OpenAPI document {doc} of service {}/{}",
            p.id, s.id
        )
    })?;
    let redacted = Upstreams::of(b.spec).redact(&text, "https://upstream.invalid");
    let ext = std::path::Path::new(doc)
        .extension()
        .and_then(|e| e.to_str())
        .filter(|e| e.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or("txt");
    let path = format!("openapi/{}/{}.{ext}", p.id, s.id);
    b.site.add(path.clone(), redacted);
    Ok(path)
}

fn validity(from: &str, until: Option<&str>) -> String {
    match until {
        Some(u) => format!("з {} до {}", labels::date(from), labels::date(u)),
        None => format!("з {}, безстроково", labels::date(from)),
    }
}

fn agreements(b: &mut Builder) -> Result<()> {
    let spec = b.spec;
    let mut rows = Vec::new();
    for a in &spec.agreements {
        let provider_service = spec.service(&a.provider).map(|(_, s)| s);
        let fields: Vec<Value> = a
            .fields
            .iter()
            .map(|f| {
                let class = provider_service
                    .and_then(|s| s.response.class_of(f))
                    .map(|class| b.class_link(class));
                json!({"path": f, "class": class})
            })
            .collect();
        let operations: Vec<Value> = a
            .operations
            .iter()
            .map(|o| json!({"method": o.method.as_str(), "path": o.path}))
            .collect();
        let row = json!({
            "id": a.id,
            "href": format!("agreements/{}.html", a.id),
            "consumer": b.subsystem_link(&a.consumer),
            "provider": b.service_link(&a.provider),
            "purpose": a.purpose,
            "legal_basis": a.legal_basis,
            "fields": fields,
            "operations": operations,
            "validity": validity(&a.valid.from, a.valid.until.as_deref()),
            "rate_limit": a.rate_limit.as_ref().map(|r| format!("{} запитів {}", r.requests, labels::rate_period(r.per))),
            "notify_subject": labels::yes_no(a.notify_subject),
        });
        b.page(
            &format!("agreements/{}.html", a.id),
            "agreement.html",
            "agreements",
            &format!("Договір {}", a.id),
            json!({"a": row}),
        )?;
        rows.push(row);
    }
    b.page(
        "agreements/index.html",
        "agreements.html",
        "agreements",
        "Реєстр договорів про інформаційну взаємодію",
        json!({"agreements": rows}),
    )
}

fn policies(b: &mut Builder) -> Result<()> {
    let spec = b.spec;
    let classes: Vec<Value> = spec
        .data_classes
        .iter()
        .map(|c| json!({"id": c.id, "title": c.title, "level": labels::level(c.level), "description": c.description}))
        .collect();
    let policies: Vec<Value> = spec
        .policies
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "title": p.title,
                "applies_to": p.applies_to.iter().map(|c| b.class_link(c)).collect::<Vec<_>>(),
                "require_purpose": p.require_purpose,
                "require_legal_basis": p.require_legal_basis,
                "notify_subject": p.notify_subject,
                "mask": p.mask.iter().map(|m| labels::mask_target(*m)).collect::<Vec<_>>(),
                "max_fields": p.max_fields,
                "floors": p.retention_floors.iter().map(|f| json!({
                    "record": labels::record_class(f.record), "period": labels::period(&f.period),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    b.page(
        "policies/index.html",
        "policies.html",
        "policies",
        "Класи даних і політики",
        json!({"classes": classes, "policies": policies}),
    )
}
