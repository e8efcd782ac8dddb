//! A front end's side of the cases API for the proofs: requests with the API token and an actor,
//! and every answer checked against the OpenAPI document (`docs/api/cases.openapi.json`): the
//! operation's declared status and the schema of its body, resolved within the document.

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::appliance::Appliance;
use crate::common::city::TOKEN;

/// The document as the repository holds it.
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api/cases.openapi.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    })
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    /// Asserts a refusal: its status and error type.
    pub fn refused(&self, status: u16, kind: &str) -> &Reply {
        assert_eq!(self.status, status, "{:#}", self.body);
        assert_eq!(self.body["type"], kind, "{:#}", self.body);
        self
    }

    pub fn ok(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "{:#}", self.body);
        &self.body
    }
}

/// The cases API of one appliance, acting for `actor` (`official:<id>` or `applicant:<rnokpp>`).
pub struct Api<'a> {
    pub app: &'a Appliance,
    pub token: &'a str,
    client: reqwest::Client,
}

impl<'a> Api<'a> {
    pub fn new(app: &'a Appliance) -> Api<'a> {
        Api {
            app,
            token: TOKEN,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
        }
    }

    /// Sends a request and checks the answer against the document's operation `template`.
    pub async fn send(
        &self,
        method: &str,
        template: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Reply {
        let mut request = self
            .client
            .request(method.parse().unwrap(), format!("{}{path}", self.app.url))
            .bearer_auth(self.token);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\n{}", self.app.log()));
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!("{method} {path} answered {status} not in JSON ({e}): {text}")
        });
        conforms(method, template, status, &body);
        Reply { status, body }
    }

    pub async fn start(&self, actor: &str, key: &str, request: &Value) -> Reply {
        self.send(
            "POST",
            "/api/cases",
            "/api/cases",
            &[("X-Hromada-Actor", actor), ("Idempotency-Key", key)],
            Some(request),
        )
        .await
    }

    pub async fn case(&self, actor: &str, id: &str) -> Reply {
        self.send(
            "GET",
            "/api/cases/{id}",
            &format!("/api/cases/{id}"),
            &[("X-Hromada-Actor", actor)],
            None,
        )
        .await
    }

    pub async fn list(&self, actor: &str, query: &str) -> Reply {
        self.send(
            "GET",
            "/api/cases",
            &format!("/api/cases?{query}"),
            &[("X-Hromada-Actor", actor)],
            None,
        )
        .await
    }

    pub async fn fire(&self, actor: &str, id: &str, event: &str, key: &str, body: &Value) -> Reply {
        self.send(
            "POST",
            "/api/cases/{id}/transitions/{event}",
            &format!("/api/cases/{id}/transitions/{event}"),
            &[("X-Hromada-Actor", actor), ("Idempotency-Key", key)],
            Some(body),
        )
        .await
    }

    /// Fires `event` from the state the case is in now, as the actor saw it.
    pub async fn fire_seen(&self, actor: &str, case: &Value, event: &str, key: &str) -> Value {
        let reply = self
            .fire(
                actor,
                case["id"].as_str().unwrap(),
                event,
                key,
                &json!({"seen_state": case["state"]["id"]}),
            )
            .await;
        reply.ok(200).clone()
    }

    pub async fn history(&self, actor: &str, id: &str) -> Reply {
        self.send(
            "GET",
            "/api/cases/{id}/history",
            &format!("/api/cases/{id}/history"),
            &[("X-Hromada-Actor", actor)],
            None,
        )
        .await
    }
}

/// Panics, naming what differs, unless `body` is what the document declares for `status` of
/// the operation `method template`.
pub fn conforms(method: &str, template: &str, status: u16, body: &Value) {
    let responses = format!(
        "/paths/{}/{}/responses",
        template.replace('~', "~0").replace('/', "~1"),
        method.to_ascii_lowercase()
    );
    let declared = document()
        .pointer(&responses)
        .unwrap_or_else(|| panic!("the document has no operation {method} {template}"));
    let Some(response) = declared.get(status.to_string()) else {
        panic!(
            "{method} {template} answered {status}, which the document does not declare: {body:#}"
        );
    };
    let response = resolve(response);
    let schema_at = response
        .pointer("/content/application~1json/schema")
        .unwrap_or_else(|| panic!("{method} {template} {status} declares no JSON schema"));
    // The document itself is the root, so that its `#/components/…` references resolve.
    let mut schema = document().clone();
    let root = schema.as_object_mut().unwrap();
    root.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    root.insert("allOf".into(), json!([schema_at]));
    let validator = jsonschema::validator_for(&schema).unwrap_or_else(|e| {
        panic!("the schema of {method} {template} {status} does not compile: {e}")
    });
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {template} {status} does not match the OpenAPI document:\n{}\n{body:#}",
        errors.join("\n")
    );
}

/// A response object, following one `$ref` into `#/components/responses`.
fn resolve(response: &Value) -> &Value {
    match response.get("$ref").and_then(Value::as_str) {
        Some(reference) => document()
            .pointer(reference.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("the document has no {reference}")),
        None => response,
    }
}
