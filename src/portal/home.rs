//! The portal's home page (`/`, PORTAL-1): search and the catalogue of e-services of the applied
//! revision by category and user category, open to everyone without signing in, as links and a
//! GET form that work without JavaScript.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::PortalState;
use super::catalogue::{self, Filters, USER_CATEGORIES};
use super::citizen::Citizen;
use super::pages::Chrome;
use crate::compile::Compiled;
use crate::spec::labels;

/// `GET /`.
pub async fn page(
    State(portal): State<PortalState>,
    citizen: Option<Citizen>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    let chrome = citizen.map_or_else(|| chrome(&compiled), |c| c.chrome(&compiled));
    let (filters, errors) = Filters::parse(query.as_deref());
    let spec = &compiled.spec;
    let found = catalogue::matching(spec, &filters);
    let categories: Vec<Value> = catalogue::categories(spec)
        .into_iter()
        .map(|(name, count)| {
            json!({
                "href": catalogue::link("category", &name),
                "selected": filters.category.as_deref() == Some(name.as_str()),
                "name": name,
                "count": count,
            })
        })
        .collect();
    let users: Vec<Value> = USER_CATEGORIES
        .iter()
        .map(|&c| {
            let value = catalogue::user_value(c);
            json!({
                "href": catalogue::link("user", &value),
                "selected": filters.user == Some(c),
                "value": value,
                "label": labels::user_category(c),
            })
        })
        .collect();
    let services: Vec<Value> = found.iter().map(|e| catalogue::entry(spec, e)).collect();
    let context = json!({
        "q": filters.q,
        "category": filters.category,
        "user_label": filters.user.map(labels::user_category),
        "filtered": filters.any(),
        "errors": errors,
        "categories": categories,
        "users": users,
        "groups": if filters.any() { Value::Null } else { by_category(&services) },
        "services": services,
    });
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let redacted = catalogue::redacted(context, &compiled);
    portal.pages.render(status, "home.html", &chrome, redacted)
}

/// The catalogue's services under their categories in alphabetical order; those without one
/// last.
fn by_category(services: &[Value]) -> Value {
    let mut groups: Vec<(Option<&str>, Vec<&Value>)> = Vec::new();
    for service in services {
        let category = service["category"].as_str();
        match groups.iter_mut().find(|(c, _)| *c == category) {
            Some((_, list)) => list.push(service),
            None => groups.push((category, vec![service])),
        }
    }
    groups.sort_by_cached_key(|(c, _)| (c.is_none(), c.map(catalogue::alphabetical)));
    Value::Array(
        groups
            .into_iter()
            .map(|(c, list)| json!({ "category": c.unwrap_or("Інші послуги"), "services": list }))
            .collect(),
    )
}

/// The page for a request that comes before the first revision is applied.
pub fn starting(portal: &PortalState) -> Response {
    portal.pages.problem(
        StatusCode::SERVICE_UNAVAILABLE,
        &Chrome::default(),
        "Портал ще запускається",
        "Портал готує перелік послуг. Оновіть сторінку за хвилину.",
    )
}

/// The layout of a page nobody is signed in to, for revision `compiled`.
pub fn chrome(compiled: &Compiled) -> Chrome {
    Chrome {
        site_title: compiled
            .spec
            .systems
            .first()
            .map(|s| s.title.clone())
            .unwrap_or_default(),
        ..Chrome::default()
    }
}
