//! The statistics as open data (PORTAL-10, MIN-5; 003 §3.1.12): `/open-data/statistics.csv`,
//! `/open-data/statistics.json` and their Frictionless descriptor `/open-data/datapackage.json`
//! (CC BY 4.0). Only `statistics::published` figures: no personal field, small counts suppressed.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::PortalState;
use super::statistics::Statistics;
use super::statistics::disclosure::THRESHOLD;
use super::statistics::published::{self, FIELDS, Figures};

/// The columns before and after the measures.
const E_SERVICE: &str = "e_service";
const TITLE: &str = "e_service_title";
const MONTH: &str = "month";
const SUPPRESSED: &str = "suppressed";

/// `GET /open-data/statistics.csv`: RFC 4180, a header row, an empty cell where a figure is
/// suppressed or there is nothing to measure (`suppressed` names the former).
pub async fn csv(State(portal): State<PortalState>) -> Response {
    let Some(stats) = read(&portal).await else {
        return unavailable();
    };
    let mut out = String::new();
    let header: Vec<&str> = [E_SERVICE, TITLE, MONTH]
        .into_iter()
        .chain(FIELDS.iter().map(|f| f.name))
        .chain([SUPPRESSED])
        .collect();
    line(&mut out, header.iter().map(|h| h.to_string()));
    for (id, title, month, figures) in stats.grid() {
        let cells = [id.to_string(), title.to_string(), month.to_string()]
            .into_iter()
            .chain(
                FIELDS
                    .iter()
                    .zip(&figures.0)
                    .map(|(f, v)| published::plain(*f, *v)),
            )
            .chain([figures.hidden().join(" ")]);
        line(&mut out, cells);
    }
    answer("text/csv; charset=utf-8", out)
}

/// `GET /open-data/statistics.json`: the same rows as objects, `null` where the CSV is empty.
pub async fn json(State(portal): State<PortalState>) -> Response {
    let Some(stats) = read(&portal).await else {
        return unavailable();
    };
    let rows: Vec<Value> = stats
        .grid()
        .into_iter()
        .map(|(id, title, month, figures)| row(id, title, month, &figures))
        .collect();
    answer(
        "application/json",
        serde_json::to_string_pretty(&rows).unwrap_or_default(),
    )
}

/// `GET /open-data/datapackage.json`: what the two files hold, field by field.
pub async fn datapackage(State(portal): State<PortalState>) -> Response {
    let title = portal
        .current
        .load_full()
        .and_then(|c| c.spec.systems.first().map(|s| s.title.clone()))
        .unwrap_or_default();
    answer(
        "application/json",
        serde_json::to_string_pretty(&descriptor(&title)).unwrap_or_default(),
    )
}

/// The Frictionless data-package descriptor of the two resources.
pub fn descriptor(site_title: &str) -> Value {
    let schema = schema();
    json!({
        "profile": "tabular-data-package",
        "name": "e-services-statistics",
        "title": format!("Статистика електронних послуг: {site_title}"),
        "description": format!(
            "Per e-service and month (the city's calendar), the latest 12 months: views of the \
             e-service's page, applications started and submitted, cases granted, refused, \
             withdrawn and overdue, working days to decision (median, 90th percentile) and the \
             applicants' ratings. Depersonalised: no field names a person, and a figure standing \
             for fewer than {THRESHOLD} people is left empty, as is any figure from which one \
             could be computed; the `suppressed` column names them."
        ),
        "licenses": [{
            "name": "CC-BY-4.0",
            "title": "Creative Commons Attribution 4.0",
            "path": "https://creativecommons.org/licenses/by/4.0/",
        }],
        "resources": [
            {
                "name": "statistics-csv",
                "path": "statistics.csv",
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "dialect": { "delimiter": ",", "lineTerminator": "\r\n", "quoteChar": "\"", "header": true },
                "schema": schema,
            },
            {
                "name": "statistics-json",
                "path": "statistics.json",
                "profile": "tabular-data-resource",
                "format": "json",
                "mediatype": "application/json",
                "encoding": "utf-8",
                "schema": schema,
            },
        ],
    })
}

fn schema() -> Value {
    let mut fields = vec![
        json!({"name": E_SERVICE, "type": "string", "title": "Ідентифікатор послуги",
               "description": "The e-service's id in the city's specification.",
               "constraints": {"required": true}}),
        json!({"name": TITLE, "type": "string", "title": "Назва послуги",
               "description": "The e-service's title."}),
        json!({"name": MONTH, "type": "yearmonth", "title": "Місяць",
               "description": "The month (YYYY-MM) in the city's time zone; ratings by the UTC month they were given in.",
               "constraints": {"required": true}}),
    ];
    for f in FIELDS {
        let mut field = json!({
            "name": f.name,
            "type": if f.integer { "integer" } else { "number" },
            "title": f.title,
            "description": format!("{} Empty when suppressed (see `suppressed`) or when there is nothing to measure.", f.description),
            "constraints": {"minimum": 0},
        });
        if !f.integer {
            field["decimalChar"] = json!(".");
        }
        fields.push(field);
    }
    fields.push(json!({"name": SUPPRESSED, "type": "string", "title": "Приховані показники",
        "description": format!("The names of the figures of the row left empty because they would stand for fewer than {THRESHOLD} people or give such a figure away, separated by spaces.")}));
    json!({
        "fields": fields,
        "primaryKey": [E_SERVICE, MONTH],
        "missingValues": [""],
    })
}

fn row(id: &str, title: &str, month: &str, figures: &Figures) -> Value {
    let mut object = Map::new();
    object.insert(E_SERVICE.into(), json!(id));
    object.insert(TITLE.into(), json!(title));
    object.insert(MONTH.into(), json!(month));
    object.extend(figures.json());
    object.insert(SUPPRESSED.into(), json!(figures.hidden().join(" ")));
    Value::Object(object)
}

async fn read(portal: &PortalState) -> Option<Arc<Statistics>> {
    let compiled = portal.current.load_full()?;
    Statistics::read(portal, &compiled).await
}

/// One CSV record: a cell with a comma, quote or line break quoted, its quotes doubled.
fn line(out: &mut String, cells: impl IntoIterator<Item = String>) {
    let cells: Vec<String> = cells
        .into_iter()
        .map(|c| {
            if c.contains([',', '"', '\r', '\n']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c
            }
        })
        .collect();
    out.push_str(&cells.join(","));
    out.push_str("\r\n");
}

fn answer(content_type: &'static str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "60")],
        "The statistics cannot be read at the moment; try again in a minute.\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_with_a_comma_or_quote_is_quoted() {
        let mut out = String::new();
        line(
            &mut out,
            [
                "a".to_string(),
                "b, c".into(),
                "say \"hi\"".into(),
                String::new(),
            ],
        );
        assert_eq!(out, "a,\"b, c\",\"say \"\"hi\"\"\",\r\n");
    }

    #[test]
    fn the_descriptor_names_both_resources_every_field_and_the_licence() {
        let d = descriptor("Місто");
        assert_eq!(d["licenses"][0]["name"], "CC-BY-4.0");
        let resources = d["resources"].as_array().unwrap();
        assert_eq!(resources.len(), 2);
        for r in resources {
            let names: Vec<&str> = r["schema"]["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["name"].as_str().unwrap())
                .collect();
            assert_eq!(names.len(), FIELDS.len() + 4);
            assert!(names.contains(&"rating_mean") && names.contains(&"suppressed"));
        }
    }
}
