//! Transition guards: the spec's minijinja expressions, compiled once per definition, judged
//! over the application's fields (also as `application`), the `registry` data fetched so far
//! and the `decision`. A guard that cannot be judged (an error while evaluating) does not hold.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use minijinja::{Environment, Expression, Value};

use crate::spec::model::Workflow;

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(Environment::new)
}

/// The compiled guards of one workflow, by (state, event).
pub struct Guards {
    compiled: HashMap<(String, String), Expression<'static, 'static>>,
}

/// What a guard sees of a case.
pub struct Facts<'a> {
    pub data: &'a serde_json::Value,
    pub registry: &'a serde_json::Value,
    pub decision: Option<&'a serde_json::Value>,
}

impl Guards {
    /// Compiles every guard of `workflow`; an expression that does not compile is named with
    /// its state and transition (the checks refuse such a spec, so this means a bad definition).
    pub fn compile(workflow: &Workflow) -> Result<Guards, String> {
        let mut compiled = HashMap::new();
        for s in &workflow.states {
            for t in &s.transitions {
                if let Some(g) = &t.guard {
                    let expr = environment()
                        .compile_expression_owned(g.clone())
                        .map_err(|e| {
                            format!(
                                "the guard `{g}` of transition `{}` in state `{}` of workflow \
                                 `{}` does not compile: {e}",
                                t.event, s.id, workflow.id
                            )
                        })?;
                    compiled.insert((s.id.clone(), t.event.clone()), expr);
                }
            }
        }
        Ok(Guards { compiled })
    }

    /// Whether the guard of `event` in `state` holds (no guard: it holds). `Err` says why it
    /// could not be judged.
    pub fn holds(&self, state: &str, event: &str, facts: &Facts) -> Result<bool, String> {
        let Some(expr) = self.compiled.get(&(state.to_string(), event.to_string())) else {
            return Ok(true);
        };
        expr.eval(context(facts))
            .map(|v| v.is_true())
            .map_err(|e| e.to_string())
    }
}

fn context(facts: &Facts) -> Value {
    let mut ctx: BTreeMap<String, Value> = BTreeMap::new();
    if let serde_json::Value::Object(fields) = facts.data {
        for (k, v) in fields {
            ctx.insert(k.clone(), value(v));
        }
    }
    ctx.insert("application".into(), value(facts.data));
    ctx.insert("registry".into(), value(facts.registry));
    ctx.insert(
        "decision".into(),
        facts.decision.map(value).unwrap_or(Value::UNDEFINED),
    );
    Value::from(ctx)
}

/// JSON as minijinja sees it. Numbers keep their exact digits in the store (serde_json's
/// `arbitrary_precision`); a guard compares them as integers or, with a fraction, as floats.
pub fn value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::from(()),
        serde_json::Value::Bool(b) => Value::from(*b),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(Value::from)
            .or_else(|| n.as_f64().map(Value::from))
            .unwrap_or(Value::UNDEFINED),
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(items) => Value::from(items.iter().map(value).collect::<Vec<_>>()),
        serde_json::Value::Object(fields) => Value::from(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), value(v)))
                .collect::<BTreeMap<String, Value>>(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn workflow(guard: &str) -> Workflow {
        serde_json::from_value(json!({
            "id": "w", "title": "W", "start": "a",
            "states": [{"id": "a", "transitions": [{"event": "go", "to": "b", "guard": guard}]},
                       {"id": "b", "outcome": "granted"}]
        }))
        .unwrap()
    }

    fn holds(guard: &str, data: serde_json::Value, registry: serde_json::Value) -> bool {
        let g = Guards::compile(&workflow(guard)).unwrap();
        let facts = Facts {
            data: &data,
            registry: &registry,
            decision: None,
        };
        g.holds("a", "go", &facts).unwrap()
    }

    #[test]
    fn guards_read_fields_registry_and_absent_answers() {
        let debt: serde_json::Value =
            serde_json::from_str(r#"{"balance": {"debt_uah": 0.00}}"#).unwrap();
        let g = "registry.balance and registry.balance.debt_uah <= 0";
        assert!(holds(g, json!({}), debt.clone()));
        let owing: serde_json::Value =
            serde_json::from_str(r#"{"balance": {"debt_uah": 12.50}}"#).unwrap();
        assert!(!holds(g, json!({}), owing));
        assert!(!holds(g, json!({}), json!({})));
        assert!(holds("not registry.balance", json!({}), json!({})));
        assert!(holds(
            "monthly_income >= 0",
            json!({"monthly_income": 1200}),
            json!({})
        ));
        assert!(holds(
            "application.monthly_income == 1200",
            json!({"monthly_income": 1200}),
            json!({})
        ));
    }

    #[test]
    fn a_guard_that_does_not_compile_is_named() {
        let e = Guards::compile(&workflow("a ==")).err().unwrap();
        assert!(e.contains("transition `go` in state `a`"), "{e}");
    }

    #[test]
    fn an_unknown_filter_is_an_error_when_judged() {
        let g = Guards::compile(&workflow("x|nosuchfilter")).unwrap();
        let facts = Facts {
            data: &json!({"x": 1}),
            registry: &json!({}),
            decision: None,
        };
        assert!(g.holds("a", "go", &facts).is_err());
    }
}
