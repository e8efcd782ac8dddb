//! The documentation site of a spec tree (`hromada docs`): service catalogue, public register of
//! agreements, e-service pages in the order of 003 Annex 1, forms, workflows drawn as SVG, records
//! management, directories and the spec-language reference. Static, offline, no JavaScript.

mod catalogue;
mod diagram;
mod eservices;
mod records;
mod reference;
pub(crate) mod render;
mod site;
mod workflows;

use std::path::Path;

use anyhow::{Result, bail};
use serde_json::{Value, json};

use crate::redact::Upstreams;
use crate::spec::{Spec, labels};
use render::Renderer;
pub use site::{MARKER, Site};

/// Builds the whole site of a valid spec tree whose files live under `root`.
pub fn build(spec: &Spec, root: &Path) -> Result<Site> {
    let mut b = Builder {
        spec,
        root,
        renderer: Renderer::new()?,
        site: Site::default(),
    };
    b.site.add("style.css", render::STYLE);
    index(&mut b)?;
    catalogue::build(&mut b)?;
    eservices::build(&mut b)?;
    workflows::build(&mut b)?;
    records::build(&mut b)?;
    reference::build(&mut b)?;
    b.refuse_upstream_leaks()?;
    Ok(b.site)
}

/// What every page builder works with: the tree, the templates and the site being filled.
pub(crate) struct Builder<'a> {
    spec: &'a Spec,
    root: &'a Path,
    renderer: Renderer,
    site: Site,
}

impl<'a> Builder<'a> {
    /// Renders `template` into the page at `path`; `section` marks the current navigation item.
    fn page(
        &mut self,
        path: &str,
        template: &str,
        section: &str,
        title: &str,
        mut ctx: Value,
    ) -> Result<()> {
        let depth = path.matches('/').count();
        let system = self
            .spec
            .system()
            .map(|s| s.title.clone())
            .unwrap_or_default();
        ctx["root"] = json!("../".repeat(depth));
        ctx["section"] = json!(section);
        ctx["title"] = json!(title);
        ctx["system_title"] = json!(system);
        let html = self.renderer.render(template, &ctx)?;
        self.site.add(path, html);
        Ok(())
    }

    fn participant_name(&self, id: &str) -> String {
        self.spec
            .participant(id)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| id.to_string())
    }

    fn participant_link(&self, id: &str) -> Value {
        json!({"id": id, "name": self.participant_name(id), "href": format!("catalogue/{id}.html")})
    }

    /// A `participant/service` reference with the names the reader needs.
    fn service_link(&self, reference: &str) -> Value {
        match self.spec.service(reference) {
            Some((p, s)) => json!({
                "reference": reference,
                "participant": p.name,
                "title": s.title,
                "href": format!("catalogue/{}.html#service-{}", p.id, s.id),
            }),
            None => {
                json!({"reference": reference, "participant": "", "title": reference, "href": null})
            }
        }
    }

    /// A `participant/subsystem` reference with the names the reader needs.
    fn subsystem_link(&self, reference: &str) -> Value {
        match self.spec.subsystem(reference) {
            Some((p, s)) => json!({
                "reference": reference,
                "participant": p.name,
                "title": s.title,
                "href": format!("catalogue/{}.html#subsystem-{}", p.id, s.id),
            }),
            None => {
                json!({"reference": reference, "participant": "", "title": reference, "href": null})
            }
        }
    }

    fn class_link(&self, id: &str) -> Value {
        match self.spec.data_class(id) {
            Some(c) => json!({
                "id": id, "title": c.title, "level": labels::level(c.level),
                "href": format!("policies/index.html#class-{id}"),
            }),
            None => json!({"id": id, "title": id, "level": "", "href": null}),
        }
    }

    /// A role id, or one of the pseudo-roles `applicant` and `assignee`.
    fn role_link(&self, id: &str) -> Value {
        match id {
            "applicant" => json!({"id": id, "title": "заявник", "href": null}),
            "assignee" => {
                json!({"id": id, "title": "виконавець, якому доручено заяву", "href": null})
            }
            _ => match self.spec.roles.iter().find(|r| r.id == id) {
                Some(r) => {
                    json!({"id": id, "title": r.title, "href": format!("roles/index.html#role-{id}")})
                }
                None => json!({"id": id, "title": id, "href": null}),
            },
        }
    }

    fn unit_title(&self, participant: &str, unit: &str) -> String {
        self.spec
            .participant(participant)
            .and_then(|p| p.units.iter().find(|u| u.id == unit))
            .map(|u| u.title.clone())
            .unwrap_or_else(|| unit.to_string())
    }

    /// Upstream URLs are internal addresses: no file of the site may carry one, in any spelling
    /// `redact::Upstreams` knows (with or without scheme, port or path, the host alone, …).
    fn refuse_upstream_leaks(&self) -> Result<()> {
        let mut upstreams: Vec<(&str, String)> = self
            .spec
            .participants
            .iter()
            .flat_map(|p| {
                p.services.iter().filter_map(move |s| {
                    Some((s.upstream.as_deref()?.trim(), format!("{}/{}", p.id, s.id)))
                })
            })
            .filter(|(url, _)| !url.is_empty())
            .collect();
        // Longest first, so that of two services on one host the one whose URL leaked is named.
        upstreams.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.cmp(b)));
        for (url, service) in upstreams {
            let spellings = Upstreams::new([url]);
            for (path, bytes) in self.site.files() {
                let text = String::from_utf8_lossy(bytes);
                if spellings.appears_in(&text) {
                    bail!(
                        "{path} would publish the internal upstream address of {service}; remove it from that document"
                    );
                }
            }
        }
        Ok(())
    }
}

fn index(b: &mut Builder) -> Result<()> {
    let spec = b.spec;
    let services: usize = spec.participants.iter().map(|p| p.services.len()).sum();
    let system = spec.system().map(|s| {
        json!({
            "id": s.id,
            "title": s.title,
            "holder": {"name": s.holder.name, "edrpou": s.holder.edrpou},
            "administrator": {"name": s.administrator.name, "edrpou": s.administrator.edrpou},
        })
    });
    let counts = json!([
        {"label": "Учасники електронної взаємодії", "count": spec.participants.len(), "href": "catalogue/index.html"},
        {"label": "Вебсервіси в каталозі", "count": services, "href": "catalogue/index.html"},
        {"label": "Договори про інформаційну взаємодію", "count": spec.agreements.len(), "href": "agreements/index.html"},
        {"label": "Електронні послуги", "count": spec.e_services.len(), "href": "e-services/index.html"},
        {"label": "Форми заяв", "count": spec.forms.len(), "href": "forms/index.html"},
        {"label": "Робочі процеси", "count": spec.workflows.len(), "href": "workflows/index.html"},
        {"label": "Правила зберігання", "count": spec.retention.len(), "href": "retention/index.html"},
        {"label": "Журнали реєстрації", "count": spec.journals.len(), "href": "journals/index.html"},
        {"label": "Класифікатори", "count": spec.classifiers.len(), "href": "classifiers/index.html"},
        {"label": "Ролі", "count": spec.roles.len(), "href": "roles/index.html"},
        {"label": "Посадові особи", "count": spec.officials.len(), "href": "roles/index.html#officials"},
        {"label": "Класи даних", "count": spec.data_classes.len(), "href": "policies/index.html"},
    ]);
    let title = spec
        .system()
        .map(|s| s.title.clone())
        .unwrap_or_else(|| "Система електронної взаємодії".into());
    b.page(
        "index.html",
        "index.html",
        "index",
        &title,
        json!({"system": system, "counts": counts}),
    )
}
