//! The live service catalogue (GW-1): every published service of the applied revision with its
//! provider, X-Road identifier, operations, OpenAPI document and health from the store, as an
//! HTML page (`/catalogue`) and JSON (`/api/catalogue`). No output ever carries an upstream address.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use axum::Json;
use axum::extract::{FromRef, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;
use serde_json::json;

use super::GatewayState;
use crate::compile::Compiled;
use crate::compile::gateway::routes::member_class;
use crate::http_error::error;
use crate::identity::ServiceId;
use crate::redact::Upstreams;
use crate::spec::model::{Participant, Service, Status};
use crate::store::{Availability, HealthCheckRow, ServiceHealth, Store};

/// What replaces an upstream address that a published text would otherwise carry.
const HIDDEN: &str = "https://upstream.invalid";

pub fn routes<S>() -> axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
    GatewayState: FromRef<S>,
{
    axum::Router::new()
        .route("/catalogue", get(page))
        .route("/api/catalogue", get(api))
        .route(
            "/api/catalogue/{participant}/{service}/openapi",
            get(openapi),
        )
}

/// The catalogue of one revision, as `/api/catalogue` serves it.
#[derive(Debug, Serialize)]
pub struct Catalogue {
    pub revision: String,
    /// The gateway node that answered (and checks its own participants' services).
    pub node: String,
    pub generated_at: DateTime<Utc>,
    /// False when the store could not be read: every health then shows as unknown.
    pub health_available: bool,
    pub services: Vec<Entry>,
}

#[derive(Debug, Serialize)]
pub struct Entry {
    /// `participant/service` in the spec.
    pub reference: String,
    /// The X-Road identifier `instance/class/code/subsystem/service`.
    pub id: Option<String>,
    /// The gateway's base address of the service, `/r1/<id>`.
    pub base: Option<String>,
    pub provider: Provider,
    pub title: String,
    pub description: String,
    pub operations: Vec<Op>,
    /// Where the service's OpenAPI document is served, if it has one.
    pub openapi: Option<String>,
    /// The gateway node serving the provider.
    pub gateway: String,
    pub health: Health,
}

#[derive(Debug, Serialize)]
pub struct Provider {
    pub id: String,
    pub name: String,
    pub edrpou: String,
    pub member_class: String,
    pub suspended: bool,
}

#[derive(Debug, Serialize)]
pub struct Op {
    pub method: &'static str,
    pub path: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthState {
    Up,
    Down,
    /// Checked, but no recent result.
    Unknown,
    /// The service has no health check.
    Unchecked,
}

impl HealthState {
    fn label(self) -> &'static str {
        match self {
            HealthState::Up => "працює",
            HealthState::Down => "не працює",
            HealthState::Unknown => "невідомо",
            HealthState::Unchecked => "не перевіряється",
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Health {
    pub state: HealthState,
    /// The check interval, in milliseconds.
    pub every_ms: Option<i64>,
    pub last_checked_at: Option<DateTime<Utc>>,
    pub status_code: Option<u16>,
    pub latency_ms: Option<i64>,
    pub availability_24h: Option<Window>,
    pub availability_30d: Option<Window>,
}

/// Checks in a window and how many passed; `ratio` 0.0–1.0, absent with no checks.
#[derive(Debug, Serialize)]
pub struct Window {
    pub ok: i64,
    pub total: i64,
    pub ratio: Option<f64>,
}

impl From<Availability> for Window {
    fn from(a: Availability) -> Window {
        Window {
            ok: a.ok,
            total: a.total,
            ratio: a.ratio(),
        }
    }
}

/// Builds the catalogue of `compiled` with health read from `store` as of `now`.
pub async fn catalogue(compiled: &Compiled, store: &Store, now: DateTime<Utc>) -> Catalogue {
    let addresses = &compiled.gateway.upstreams;
    let checks: HashMap<&str, &HealthCheckRow> = compiled
        .actuation
        .health_checks
        .iter()
        .map(|h| (h.service.as_str(), h))
        .collect();
    let measured = store
        .health_by_service(
            now - chrono::Duration::hours(24),
            now - chrono::Duration::days(30),
        )
        .await;
    if let Err(e) = &measured {
        tracing::warn!("{e}; the catalogue shows health as unknown");
    }
    let mut services = Vec::new();
    for p in &compiled.spec.participants {
        for s in &p.services {
            let reference = format!("{}/{}", p.id, s.id);
            let check = checks.get(reference.as_str()).copied();
            let health = match (&measured, check) {
                (Ok(measured), Some(check)) => Health::of(check, measured.get(&reference), now),
                _ => Health::unknown(check),
            };
            services.push(entry(compiled, p, s, reference, health, addresses));
        }
    }
    Catalogue {
        revision: compiled.revision.id.clone(),
        node: compiled.node.clone(),
        generated_at: now,
        health_available: measured.is_ok(),
        services,
    }
}

fn entry(
    compiled: &Compiled,
    p: &Participant,
    s: &Service,
    reference: String,
    health: Health,
    addresses: &Upstreams,
) -> Entry {
    let id = service_id(compiled, p, s);
    Entry {
        base: id.as_ref().map(base_url),
        id: id.map(|id| id.to_string()),
        openapi: s.openapi.as_ref().map(|_| {
            format!(
                "/api/catalogue/{}/{}/openapi",
                encode_part(&p.id),
                encode_part(&s.id)
            )
        }),
        reference,
        provider: Provider {
            id: p.id.clone(),
            name: redact(&p.name, addresses),
            edrpou: p.edrpou.clone(),
            member_class: member_class(p),
            suspended: p.status == Status::Suspended,
        },
        title: redact(&s.title, addresses),
        description: redact(&s.description, addresses),
        operations: s
            .operations
            .iter()
            .map(|o| Op {
                method: o.method.as_str(),
                path: redact(&o.path, addresses),
            })
            .collect(),
        gateway: p.gateway.clone(),
        health,
    }
}

impl Health {
    fn unknown(check: Option<&HealthCheckRow>) -> Health {
        Health {
            state: if check.is_some() {
                HealthState::Unknown
            } else {
                HealthState::Unchecked
            },
            every_ms: check.map(|c| c.every_ms),
            last_checked_at: None,
            status_code: None,
            latency_ms: None,
            availability_24h: None,
            availability_30d: None,
        }
    }
}

impl Health {
    /// The health of a checked service: its newest result, unless older than three intervals
    /// (then unknown), and its availability over the last 24 hours and 30 days.
    fn of(check: &HealthCheckRow, measured: Option<&ServiceHealth>, now: DateTime<Utc>) -> Health {
        let latest = measured.map(|m| &m.latest);
        let fresh_for = chrono::Duration::milliseconds(3 * check.every_ms + check.timeout_ms);
        let state = match latest {
            Some(r) if now - r.checked_at > fresh_for => HealthState::Unknown,
            Some(r) if r.ok => HealthState::Up,
            Some(_) => HealthState::Down,
            None => HealthState::Unknown,
        };
        let none = Availability { ok: 0, total: 0 };
        Health {
            state,
            every_ms: Some(check.every_ms),
            last_checked_at: latest.map(|r| r.checked_at),
            status_code: latest.and_then(|r| r.status_code),
            latency_ms: latest.map(|r| r.latency_ms),
            availability_24h: Some(measured.map_or(none, |m| m.short).into()),
            availability_30d: Some(measured.map_or(none, |m| m.long).into()),
        }
    }
}

fn service_id(compiled: &Compiled, p: &Participant, s: &Service) -> Option<ServiceId> {
    Some(ServiceId {
        instance: compiled.gateway.routes.instance.clone(),
        member_class: member_class(p),
        member_code: p.edrpou.clone(),
        subsystem: p.provider_subsystem(s)?.to_string(),
        service: s.id.clone(),
    })
}

/// The gateway's own base address of a service: `/r1/` and its identifier, each part encoded.
pub fn base_url(id: &ServiceId) -> String {
    let parts = [
        &id.instance,
        &id.member_class,
        &id.member_code,
        &id.subsystem,
        &id.service,
    ];
    let encoded: Vec<String> = parts.iter().map(|p| encode_part(p)).collect();
    format!("/r1/{}", encoded.join("/"))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode_part(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for byte in part.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn redact(text: &str, addresses: &Upstreams) -> String {
    addresses.redact(text, HIDDEN)
}

/// The OpenAPI `document` of the service `id` as the catalogue and `getOpenAPI` publish it: its
/// servers set to the gateway's address ([`public_openapi`]) and every upstream address of the
/// revision hidden from its text; with its content type (JSON stays JSON, YAML stays YAML).
pub fn published_openapi(
    compiled: &Compiled,
    document: &[u8],
    id: &ServiceId,
) -> Result<(String, &'static str), String> {
    let public = public_openapi(document, &base_url(id))?;
    let text = redact(
        &String::from_utf8_lossy(&public),
        &compiled.gateway.upstreams,
    );
    let content_type = if text.trim_start().starts_with('{') {
        "application/json"
    } else {
        "application/yaml; charset=utf-8"
    };
    Ok((text, content_type))
}

/// A service's OpenAPI document as consumers may see it: `servers` is exactly the gateway's
/// `base_url`, and every `servers` of a path or operation (and Swagger 2's `host`, `basePath`,
/// `schemes`) is removed, so the provider's own address is not published through them. JSON
/// stays JSON (key order kept); YAML is written back as YAML (comments are not kept).
pub fn public_openapi(bytes: &[u8], base_url: &str) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| "the OpenAPI document is not UTF-8 text".to_string())?;
    if text.trim_start().starts_with('{') {
        let mut doc: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| format!("the OpenAPI document is not valid JSON: {e}"))?;
        let top = doc
            .as_object_mut()
            .ok_or("the OpenAPI document's top level is not an object")?;
        if !top.contains_key("openapi") && !top.contains_key("swagger") {
            return Err("the document does not declare an `openapi` version".into());
        }
        for key in ["host", "basePath", "schemes"] {
            top.remove(key);
        }
        let servers = json!([{ "url": base_url }]);
        match top.get_mut("servers") {
            Some(existing) => *existing = servers,
            None => {
                top.insert("servers".into(), servers);
            }
        }
        for section in ["paths", "webhooks"] {
            if let Some(items) = top.get_mut(section).and_then(|v| v.as_object_mut()) {
                for item in items.values_mut() {
                    strip_json_servers(item);
                }
            }
        }
        let mut out = serde_json::to_vec_pretty(&doc).map_err(|e| e.to_string())?;
        out.push(b'\n');
        Ok(out)
    } else {
        public_yaml(text, base_url)
    }
}

/// Removes `servers` from a path item and its operations.
fn strip_json_servers(item: &mut serde_json::Value) {
    let Some(item) = item.as_object_mut() else {
        return;
    };
    item.remove("servers");
    for operation in item.values_mut() {
        if let Some(operation) = operation.as_object_mut() {
            operation.remove("servers");
        }
    }
}

fn public_yaml(text: &str, base_url: &str) -> Result<Vec<u8>, String> {
    use yaml_rust2::{Yaml, YamlEmitter, YamlLoader, yaml::Hash};
    let key = |k: &str| Yaml::String(k.to_string());
    let mut docs = YamlLoader::load_from_str(text)
        .map_err(|e| format!("the OpenAPI document is not valid YAML: {e}"))?;
    if docs.len() != 1 {
        return Err(format!(
            "the OpenAPI document holds {} YAML documents; it must hold exactly one",
            docs.len()
        ));
    }
    let mut doc = docs.remove(0);
    let Yaml::Hash(top) = &mut doc else {
        return Err("the OpenAPI document's top level is not a mapping".into());
    };
    if !top.contains_key(&key("openapi")) && !top.contains_key(&key("swagger")) {
        return Err("the document does not declare an `openapi` version".into());
    }
    for k in ["host", "basePath", "schemes"] {
        top.remove(&key(k));
    }
    let mut server = Hash::new();
    server.insert(key("url"), key(base_url));
    let servers = Yaml::Array(vec![Yaml::Hash(server)]);
    match top.get_mut(&key("servers")) {
        Some(existing) => *existing = servers,
        None => {
            top.insert(key("servers"), servers);
        }
    }
    for section in ["paths", "webhooks"] {
        if let Some(Yaml::Hash(items)) = top.get_mut(&key(section)) {
            for (_, item) in items.iter_mut() {
                if let Yaml::Hash(item) = item {
                    item.remove(&key("servers"));
                    for (_, operation) in item.iter_mut() {
                        if let Yaml::Hash(operation) = operation {
                            operation.remove(&key("servers"));
                        }
                    }
                }
            }
        }
    }
    let mut out = String::new();
    YamlEmitter::new(&mut out)
        .dump(&doc)
        .map_err(|e| format!("cannot write the OpenAPI document back as YAML: {e}"))?;
    out.push('\n');
    Ok(out.into_bytes())
}

fn not_ready() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "not_ready",
        "no revision of the spec is applied yet; try again shortly",
    )
}

async fn api(State(app): State<GatewayState>) -> Response {
    let Some(compiled) = app.current.load_full() else {
        return not_ready();
    };
    Json(catalogue(&compiled, app.store(), Utc::now()).await).into_response()
}

async fn page(State(app): State<GatewayState>) -> Response {
    let Some(compiled) = app.current.load_full() else {
        return not_ready();
    };
    let catalogue = catalogue(&compiled, app.store(), Utc::now()).await;
    match render(&compiled, &catalogue) {
        Ok(html) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(e) => {
            tracing::error!("cannot render the catalogue page: {e}");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the catalogue page could not be rendered; /api/catalogue has the same data",
            )
        }
    }
}

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_formatter(crate::html::format_value);
    env.add_template(
        "catalogue.html",
        include_str!("../../templates/catalogue.html"),
    )
    .expect("the embedded catalogue template parses");
    env
});

fn render(compiled: &Compiled, catalogue: &Catalogue) -> Result<String, minijinja::Error> {
    let title = compiled
        .spec
        .system()
        .map(|s| s.title.clone())
        .unwrap_or_default();
    let services: Vec<serde_json::Value> = catalogue.services.iter().map(view).collect();
    let context = json!({
        "system_title": title,
        "revision": catalogue.revision,
        "node": catalogue.node,
        "generated_at": time_label(catalogue.generated_at),
        "generated_at_iso": catalogue.generated_at.to_rfc3339(),
        "health_available": catalogue.health_available,
        "services": services,
    });
    TEMPLATES
        .get_template("catalogue.html")?
        .render(crate::html::to_value(&context))
}

/// An entry with the texts the page shows.
fn view(e: &Entry) -> serde_json::Value {
    let h = &e.health;
    json!({
        "anchor": format!("service-{}", e.reference.replace('/', "-")),
        "reference": e.reference,
        "id": e.id,
        "base": e.base,
        "provider": e.provider,
        "title": e.title,
        "description": e.description,
        "operations": e.operations,
        "openapi": e.openapi,
        "gateway": e.gateway,
        "state": h.state,
        "state_label": h.state.label(),
        "every": h.every_ms.map(interval_label),
        "checked_at": h.last_checked_at.map(time_label),
        "checked_at_iso": h.last_checked_at.map(|t| t.to_rfc3339()),
        "status_code": h.status_code,
        "day": h.availability_24h.as_ref().map(window_label),
        "month": h.availability_30d.as_ref().map(window_label),
    })
}

fn time_label(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn window_label(w: &Window) -> String {
    match w.ratio {
        None => "перевірок не було".into(),
        Some(ratio) => {
            let percent = format!("{:.1}", ratio * 100.0).replace('.', ",");
            format!("{percent} % (успішних перевірок: {} з {})", w.ok, w.total)
        }
    }
}

/// A check interval in Ukrainian abbreviations: `30 с`, `1 хв`, `2 год`, `1500 мс`.
fn interval_label(ms: i64) -> String {
    match ms {
        ms if ms % 3_600_000 == 0 => format!("{} год", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{} хв", ms / 60_000),
        ms if ms % 1_000 == 0 => format!("{} с", ms / 1_000),
        ms => format!("{ms} мс"),
    }
}

async fn openapi(
    State(app): State<GatewayState>,
    Path((participant, service)): Path<(String, String)>,
) -> Response {
    let Some(compiled) = app.current.load_full() else {
        return not_ready();
    };
    openapi_response(&compiled, &participant, &service)
}

fn openapi_response(compiled: &Arc<Compiled>, participant: &str, service: &str) -> Response {
    let reference = format!("{participant}/{service}");
    let found = compiled
        .spec
        .participant(participant)
        .and_then(|p| p.services.iter().find(|s| s.id == service).map(|s| (p, s)));
    let Some((p, s)) = found else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("the catalogue has no service {reference}; /api/catalogue lists them"),
        );
    };
    let Some(path) = &s.openapi else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("service {reference} publishes no OpenAPI document"),
        );
    };
    let Some(id) = service_id(compiled, p, s) else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("service {reference} has no X-Road identifier (its subsystem is not named)"),
        );
    };
    let Some(bytes) = compiled.documents.get(path) else {
        tracing::error!(
            "the OpenAPI document {path} of {reference} was not read with revision {}",
            compiled.revision.id
        );
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("the OpenAPI document of {reference} is not available in this revision"),
        );
    };
    match published_openapi(compiled, bytes, &id) {
        Ok((text, content_type)) => ([(header::CONTENT_TYPE, content_type)], text).into_response(),
        Err(e) => {
            tracing::error!(
                "cannot publish the OpenAPI document {path} of {reference}: {e}; fix the document in the spec"
            );
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("the OpenAPI document of {reference} cannot be published: {e}"),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "/r1/city/GOV/04363395/registry/extract";

    #[test]
    fn json_servers_become_the_gateway_base_and_inner_servers_go() {
        let doc = br#"{
  "openapi": "3.0.3",
  "info": {"title": "t", "version": "1"},
  "servers": [{"url": "http://10.1.2.3:9000/api"}, {"url": "https://internal.example"}],
  "paths": {
    "/a": {
      "servers": [{"url": "http://10.1.2.3:9000/other"}],
      "get": {"servers": [{"url": "http://10.1.2.3:9000/op"}], "responses": {}}
    }
  }
}"#;
        let out = public_openapi(doc, BASE).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["servers"], json!([{"url": BASE}]));
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("10.1.2.3"), "{text}");
        assert!(!text.contains("internal.example"), "{text}");
        let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["openapi", "info", "servers", "paths"], "order kept");
    }

    #[test]
    fn yaml_stays_yaml_with_the_gateway_base() {
        let doc = b"openapi: 3.0.3\ninfo:\n  title: t\n  version: '1'\nhost: 10.1.2.3\npaths:\n  /a:\n    get:\n      servers:\n        - url: http://10.1.2.3:9000/op\n      responses: {}\n";
        let out = String::from_utf8(public_openapi(doc, BASE).unwrap()).unwrap();
        assert!(!out.contains("10.1.2.3"), "{out}");
        let parsed = yaml_rust2::YamlLoader::load_from_str(&out).unwrap();
        assert_eq!(parsed[0]["servers"][0]["url"].as_str(), Some(BASE));
        assert_eq!(parsed[0]["openapi"].as_str(), Some("3.0.3"));
        assert!(parsed[0]["paths"]["/a"]["get"]["responses"].is_hash());
    }

    #[test]
    fn what_is_not_an_openapi_document_is_refused() {
        for (doc, why) in [
            (&b"{\"openapi\": "[..], "not valid JSON"),
            (b"[1, 2]", "not a mapping"),
            (b"{\"info\": {}}", "does not declare"),
            (b"- a\n- b\n", "not a mapping"),
            (b"openapi: [\n", "not valid YAML"),
            (b"info: {}\n", "does not declare"),
            (b"\xff\xfe", "not UTF-8"),
        ] {
            let e = public_openapi(doc, BASE).unwrap_err();
            assert!(e.contains(why), "{e} should say {why}");
        }
    }

    #[test]
    fn intervals_read_in_ukrainian() {
        assert_eq!(interval_label(30_000), "30 с");
        assert_eq!(interval_label(60_000), "1 хв");
        assert_eq!(interval_label(7_200_000), "2 год");
        assert_eq!(interval_label(1_500), "1500 мс");
    }

    #[test]
    fn base_urls_encode_each_part() {
        let id = ServiceId {
            instance: "city".into(),
            member_class: "GOV".into(),
            member_code: "0436 3395".into(),
            subsystem: "reg/istry".into(),
            service: "extract".into(),
        };
        assert_eq!(
            base_url(&id),
            "/r1/city/GOV/0436%203395/reg%2Fistry/extract"
        );
    }
}
