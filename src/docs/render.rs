//! The minijinja environment of the site: every template is embedded in the binary with
//! `include_str!`, HTML is auto-escaped, and an undefined variable is an error, not a blank.

use anyhow::{Context, Result};
use minijinja::{Environment, UndefinedBehavior};

use crate::html::{format_value, to_value};

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/docs/base.html")),
    (
        "macros.html",
        include_str!("../../templates/docs/macros.html"),
    ),
    (
        "index.html",
        include_str!("../../templates/docs/index.html"),
    ),
    (
        "catalogue.html",
        include_str!("../../templates/docs/catalogue.html"),
    ),
    (
        "participant.html",
        include_str!("../../templates/docs/participant.html"),
    ),
    (
        "agreements.html",
        include_str!("../../templates/docs/agreements.html"),
    ),
    (
        "agreement.html",
        include_str!("../../templates/docs/agreement.html"),
    ),
    (
        "e-services.html",
        include_str!("../../templates/docs/e-services.html"),
    ),
    (
        "e-service.html",
        include_str!("../../templates/docs/e-service.html"),
    ),
    (
        "forms.html",
        include_str!("../../templates/docs/forms.html"),
    ),
    ("form.html", include_str!("../../templates/docs/form.html")),
    (
        "workflows.html",
        include_str!("../../templates/docs/workflows.html"),
    ),
    (
        "workflow.html",
        include_str!("../../templates/docs/workflow.html"),
    ),
    (
        "retention.html",
        include_str!("../../templates/docs/retention.html"),
    ),
    (
        "journals.html",
        include_str!("../../templates/docs/journals.html"),
    ),
    (
        "classifiers.html",
        include_str!("../../templates/docs/classifiers.html"),
    ),
    (
        "roles.html",
        include_str!("../../templates/docs/roles.html"),
    ),
    (
        "policies.html",
        include_str!("../../templates/docs/policies.html"),
    ),
    (
        "reference.html",
        include_str!("../../templates/docs/reference.html"),
    ),
    (
        "reference-kind.html",
        include_str!("../../templates/docs/reference-kind.html"),
    ),
];

/// The site's stylesheet, copied as is.
pub const STYLE: &str = include_str!("../../templates/docs/style.css");

pub struct Renderer {
    env: Environment<'static>,
}

impl Renderer {
    pub fn new() -> Result<Renderer> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_formatter(format_value);
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .build()?,
        );
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .with_context(|| format!("docs template {name} does not compile"))?;
        }
        Ok(Renderer { env })
    }

    pub fn render(&self, template: &str, context: &serde_json::Value) -> Result<String> {
        let tmpl = self.env.get_template(template)?;
        tmpl.render(to_value(context))
            .map_err(|e| anyhow::anyhow!("rendering docs template {template}: {e:#}"))
    }
}
