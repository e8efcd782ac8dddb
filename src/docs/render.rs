//! The minijinja environment of the site: every template is embedded in the binary with
//! `include_str!`, HTML is auto-escaped, and an undefined variable is an error, not a blank.

use anyhow::{Context, Result};
use minijinja::{AutoEscape, Environment, Output, State, UndefinedBehavior, Value};

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

/// Writes a value into a page: HTML-escaped (only `& < > " '`, so paths stay readable) unless
/// marked safe, and `none` as nothing rather than the word "none".
pub(crate) fn format_value(
    out: &mut Output,
    state: &mut State,
    value: &Value,
) -> Result<(), minijinja::Error> {
    if value.is_none() || value.is_undefined() {
        return Ok(());
    }
    let escape = matches!(state.auto_escape(), AutoEscape::Html) && !value.is_safe();
    let text = value.to_string();
    let text = if escape { escape_html(&text) } else { text };
    out.write_str(&text)
        .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string()))
}

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Converts JSON view data into template values (minijinja is built without serde support).
pub(crate) fn to_value(v: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match v {
        J::Null => Value::from(()),
        J::Bool(b) => Value::from(*b),
        J::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::from(i),
            (None, Some(u)) => Value::from(u),
            _ => Value::from(n.as_f64().unwrap_or_default()),
        },
        J::String(s) => Value::from(s.as_str()),
        J::Array(items) => Value::from(items.iter().map(to_value).collect::<Vec<_>>()),
        J::Object(map) => Value::from(
            map.iter()
                .map(|(k, v)| (k.clone(), to_value(v)))
                .collect::<std::collections::BTreeMap<String, Value>>(),
        ),
    }
}
