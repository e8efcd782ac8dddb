//! What prefill and cross-checks share: the registry answers for one page of a draft, one call
//! per provider service made in-process through the gateway as the portal's subsystem (the
//! citizen as data subject, the draft as the exchange's issue), and values found in an answer.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::compile::Compiled;
use crate::gateway::in_process::{CallFailure, InProcess, OwnCall, path_key};
use crate::workflow::calls::BoxFuture;

/// Makes one call as the portal's subsystem: the gateway in-process, or a test's double.
pub trait Ask: Send + Sync {
    fn ask<'a>(&'a self, call: OwnCall<'a>) -> BoxFuture<'a, Result<Value, CallFailure>>;
}

impl Ask for InProcess {
    fn ask<'a>(&'a self, call: OwnCall<'a>) -> BoxFuture<'a, Result<Value, CallFailure>> {
        Box::pin(InProcess::ask(self, call))
    }
}

/// A registry the page needed that gave no answer, in words for the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistryProblem {
    /// The provider service, `participant/service`.
    pub service: String,
    /// The register as people know it: «service title» (provider's name).
    pub register: String,
    /// What happened and what the citizen can do, in plain Ukrainian.
    pub message: String,
    /// The service answered that it holds no such record (its 404), rather than not answering.
    pub not_found: bool,
}

/// Who asks and for what: the same for every call of one page.
pub struct Asking<'a> {
    pub compiled: &'a Compiled,
    /// The data subject, sent as `X-Road-UserId`.
    pub subject: &'a str,
    /// The draft the data is asked for, sent as `X-Road-Issue`.
    pub draft_id: &'a str,
    /// The draft's data so far: the request's path is filled from it.
    pub data: &'a Map<String, Value>,
}

impl Asking<'_> {
    /// The subsystem the portal's calls are made as.
    fn consumer(&self) -> &str {
        self.compiled
            .spec
            .system()
            .map_or(super::DEFAULT_SUBSYSTEM, |s| s.portal.subsystem.as_str())
    }

    /// Whether a call to `service` can name its record yet: the application field that fills
    /// the service's path (`account_number`, …) has a value, or the form has no such field (the
    /// path then takes the data subject's id).
    pub fn can_ask(&self, service: &str, form_names: &[&str]) -> bool {
        let Some((_, svc)) = self.compiled.spec.service(service) else {
            return true;
        };
        match path_key(svc) {
            Some(key) if form_names.contains(&key) => {
                self.data.get(key).is_some_and(|v| !is_empty(v))
            }
            _ => true,
        }
    }

    /// One call to each of `services`, in order; each answer or the problem of its registry.
    pub async fn answers(
        &self,
        ask: &dyn Ask,
        services: impl IntoIterator<Item = &str>,
    ) -> BTreeMap<String, Result<Value, RegistryProblem>> {
        let data = Value::Object(self.data.clone());
        let mut out = BTreeMap::new();
        for service in services {
            if out.contains_key(service) {
                continue;
            }
            let call = OwnCall {
                consumer: self.consumer(),
                service,
                subject: self.subject,
                issue: self.draft_id,
                data: &data,
            };
            let answer = ask.ask(call).await.map_err(|failure| {
                tracing::warn!(
                    service,
                    reason = %failure.reason,
                    "the portal's registry read for a draft got no answer; the page says so and the citizen fills the fields"
                );
                self.problem(service, &failure)
            });
            out.insert(service.to_string(), answer);
        }
        out
    }

    fn problem(&self, service: &str, failure: &CallFailure) -> RegistryProblem {
        let register = match self.compiled.spec.service(service) {
            Some((provider, svc)) => format!("«{}» ({})", svc.title, provider.name),
            None => format!("«{service}»"),
        };
        let not_found = failure.answered == Some(StatusCode::NOT_FOUND);
        let message = if not_found {
            format!(
                "У реєстрі {register} немає відомостей за даними, які ви зазначили. Перевірте їх."
            )
        } else {
            format!(
                "Реєстр {register} зараз не відповідає. Спробуйте пізніше або заповніть поля самостійно."
            )
        };
        RegistryProblem {
            service: service.to_string(),
            register,
            message,
            not_found,
        }
    }
}

/// No value: absent, `null`, an empty or blank text, an empty list.
pub fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// The values at a dotted path of an answer; a list on the way yields each of its items' values.
pub fn values_at<'v>(answer: &'v Value, path: &str) -> Vec<&'v Value> {
    let mut found = vec![answer];
    for key in path.split('.') {
        found = found
            .into_iter()
            .flat_map(|v| match v {
                Value::Array(items) => items.iter().filter_map(|i| i.get(key)).collect(),
                other => other.get(key).into_iter().collect::<Vec<_>>(),
            })
            .collect();
    }
    found
        .into_iter()
        .flat_map(|v| match v {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn values_are_found_by_dotted_path_through_objects_and_lists() {
        let answer = json!({
            "holder_name": "Іваненко",
            "address": {"street": "вул. Соборна"},
            "charges": [{"period": "2026-10"}, {"period": "2026-11"}],
            "tags": ["a", "b"],
        });
        assert_eq!(values_at(&answer, "holder_name"), vec![&json!("Іваненко")]);
        assert_eq!(
            values_at(&answer, "address.street"),
            vec![&json!("вул. Соборна")]
        );
        assert_eq!(
            values_at(&answer, "charges.period"),
            vec![&json!("2026-10"), &json!("2026-11")]
        );
        assert_eq!(values_at(&answer, "tags"), vec![&json!("a"), &json!("b")]);
        assert!(values_at(&answer, "address.house").is_empty());
        assert!(values_at(&answer, "holder_name.first").is_empty());
    }

    #[test]
    fn blank_values_are_empty() {
        for v in [json!(null), json!(""), json!("  "), json!([])] {
            assert!(is_empty(&v), "{v}");
        }
        for v in [json!(0), json!(false), json!("x"), json!({})] {
            assert!(!is_empty(&v), "{v}");
        }
    }
}

/// A test's stand-in for the gateway: canned answers by service, and the calls it was asked.
#[cfg(test)]
pub(super) mod canned {
    use std::sync::Mutex;

    use super::*;

    /// (consumer, service, subject, issue, data) of one call.
    pub type Asked = (String, String, String, String, Value);

    #[derive(Default)]
    pub struct Canned {
        pub answers: BTreeMap<String, Result<Value, CallFailure>>,
        pub asked: Mutex<Vec<Asked>>,
    }

    impl Canned {
        pub fn answering(service: &str, answer: Result<Value, CallFailure>) -> Canned {
            let mut c = Canned::default();
            c.answers.insert(service.to_string(), answer);
            c
        }

        pub fn services_asked(&self) -> Vec<String> {
            self.asked
                .lock()
                .unwrap()
                .iter()
                .map(|a| a.1.clone())
                .collect()
        }
    }

    impl Ask for Canned {
        fn ask<'a>(&'a self, call: OwnCall<'a>) -> BoxFuture<'a, Result<Value, CallFailure>> {
            self.asked.lock().unwrap().push((
                call.consumer.to_string(),
                call.service.to_string(),
                call.subject.to_string(),
                call.issue.to_string(),
                call.data.clone(),
            ));
            let answer = self
                .answers
                .get(call.service)
                .cloned()
                .unwrap_or(Err(CallFailure {
                    answered: None,
                    reason: "no canned answer".into(),
                }));
            Box::pin(async move { answer })
        }
    }

    pub fn down() -> Result<Value, CallFailure> {
        Err(CallFailure {
            answered: None,
            reason: "connection refused".into(),
        })
    }

    pub fn not_found() -> Result<Value, CallFailure> {
        Err(CallFailure {
            answered: Some(StatusCode::NOT_FOUND),
            reason: "the service answered with status 404 Not Found".into(),
        })
    }

    /// The example city of the repository, compiled for the portal's node.
    pub fn city() -> Compiled {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let loaded = crate::spec::load::load(root);
        let revision = crate::identity::Revision {
            id: "sha256:test".into(),
            content_hash: "test".into(),
        };
        crate::compile::compile(loaded.spec, revision, None, Default::default()).unwrap()
    }
}
