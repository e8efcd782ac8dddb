//! `/registry/reports` (REG-6; 004 §4.7): the volume of document flow per journal and month,
//! and per executor and unit how the work stands, on a page and as open data (CSV, JSON and a
//! Frictionless descriptor). Only the reader's participant's cards; executors masked in the
//! files when a policy masks personal data in exports.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate, TimeZone};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::labels;
use crate::compile::Compiled;
use crate::portal::PortalState;
use crate::portal::office::access_log;
use crate::portal::office::blocking::zone;
use crate::portal::office::official::Official;
use crate::portal::office::users::{starting, unavailable};
use crate::spec::model::{Level, MaskTarget, Permission, by_id};
use crate::store::{ExecutionRow, FlowRow, ReportScope, StoreError, time_text};

/// The query every report takes.
#[derive(Debug, Default, Deserialize)]
pub struct ReportQuery {
    pub journal: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// One column of a file: its name, Frictionless type, title and description.
struct Column {
    name: &'static str,
    kind: &'static str,
    title: &'static str,
    description: &'static str,
}

const FLOW: &[Column] = &[
    Column {
        name: "journal",
        kind: "string",
        title: "Журнал",
        description: "The journal's id in the city's specification.",
    },
    Column {
        name: "journal_title",
        kind: "string",
        title: "Назва журналу",
        description: "The journal's title.",
    },
    Column {
        name: "month",
        kind: "yearmonth",
        title: "Місяць",
        description: "The month of registration (YYYY-MM), the city's calendar.",
    },
    Column {
        name: "direction",
        kind: "string",
        title: "Напрям",
        description: "incoming, outgoing or internal.",
    },
    Column {
        name: "kind",
        kind: "string",
        title: "Вид документа",
        description: "The document kind's id in the city's specification.",
    },
    Column {
        name: "registered",
        kind: "integer",
        title: "Зареєстровано",
        description: "Cards registered in the journal that month with that direction and kind.",
    },
];

const EXECUTION: &[Column] = &[
    Column {
        name: "unit",
        kind: "string",
        title: "Підрозділ",
        description: "The responsible unit, participant/unit; empty when the card names none.",
    },
    Column {
        name: "executor",
        kind: "string",
        title: "Виконавець",
        description: "The main executor's login; empty when the policies mask personal data in \
                      exports (the row then counts every executor of the unit in that position).",
    },
    Column {
        name: "executor_name",
        kind: "string",
        title: "ПІБ виконавця",
        description: "The main executor's name; empty when masked, as `executor`.",
    },
    Column {
        name: "executor_position",
        kind: "string",
        title: "Посада виконавця",
        description: "The main executor's position.",
    },
    Column {
        name: "assigned",
        kind: "integer",
        title: "Доручено",
        description: "Cards registered in the period with this main executor.",
    },
    Column {
        name: "on_control",
        kind: "integer",
        title: "На контролі",
        description: "Of those, on control now.",
    },
    Column {
        name: "executed",
        kind: "integer",
        title: "Виконано",
        description: "Of those, executed.",
    },
    Column {
        name: "executed_on_time",
        kind: "integer",
        title: "Виконано вчасно",
        description: "Executed by the end of the deadline's day (the city's time).",
    },
    Column {
        name: "executed_late",
        kind: "integer",
        title: "Виконано із запізненням",
        description: "Executed after the deadline's day.",
    },
    Column {
        name: "overdue",
        kind: "integer",
        title: "Прострочено",
        description: "Not executed, not removed from control, the deadline passed (as of the \
                      report's day).",
    },
];

/// A report's scope as asked and checked.
struct Scope {
    store: ReportScope,
    today: String,
    zone: Tz,
}

/// `GET /registry/reports`.
pub async fn page(
    State(portal): State<PortalState>,
    official: Official,
    Query(query): Query<ReportQuery>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    let chrome = official.chrome(&compiled);
    if let Err(refused) = official
        .require(&portal, &compiled, Permission::DocumentsRead)
        .await
    {
        return refused;
    }
    let scope = match scope(&compiled, &official, &query) {
        Ok(scope) => scope,
        Err(why) => {
            return portal.pages.problem(
                StatusCode::BAD_REQUEST,
                &chrome,
                "Неправильні умови звіту",
                &why,
            );
        }
    };
    let read = tokio::try_join!(flow(&portal, &scope), execution(&portal, &scope));
    let (flow, execution) = match read {
        Ok(read) => read,
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    if let Err(e) = access_log::record(&portal.store, &official, "report", None, "page").await {
        return unavailable(&portal, &chrome, &e.to_string());
    }
    let flow_rows: Vec<Value> = flow
        .iter()
        .map(|r| {
            json!({
                "journal": journal_title(&compiled, &r.journal),
                "month": r.month,
                "direction": labels::direction(&r.direction),
                "kind": r.kind,
                "registered": r.registered,
            })
        })
        .collect();
    let execution_rows: Vec<Value> = execution
        .iter()
        .map(|r| {
            let (name, position) = official_of(&compiled, &r.executor);
            json!({
                "unit": r.unit, "executor": name, "position": position,
                "assigned": r.assigned, "on_control": r.on_control, "executed": r.executed,
                "on_time": r.executed_on_time, "late": r.executed_late, "overdue": r.overdue,
            })
        })
        .collect();
    let journals: Vec<Value> = compiled
        .spec
        .journals
        .iter()
        .filter(|j| j.participant == official.participant())
        .map(|j| {
            json!({"id": j.id, "title": j.title,
                   "selected": scope.store.journal.as_deref() == Some(j.id.as_str())})
        })
        .collect();
    portal.pages.render(
        StatusCode::OK,
        "registry/reports.html",
        &chrome,
        json!({
            "from": scope.store.from,
            "to": scope.store.to,
            "journals": journals,
            "query": query_text(&scope.store),
            "registered": flow.iter().map(|r| r.registered).sum::<i64>(),
            "flow": flow_rows,
            "execution": execution_rows,
            "masked": masked(&compiled),
        }),
    )
}

/// `GET /registry/reports/{file}`: `flow.csv`, `flow.json`, `execution.csv`, `execution.json`
/// or `datapackage.json`; 400 naming a bad parameter, 404 for any other file.
pub async fn file(
    State(portal): State<PortalState>,
    official: Official,
    Path(name): Path<String>,
    Query(query): Query<ReportQuery>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    if let Err(refused) = official
        .require(&portal, &compiled, Permission::DocumentsRead)
        .await
    {
        return refused;
    }
    let scope = match scope(&compiled, &official, &query) {
        Ok(scope) => scope,
        Err(why) => return plain(StatusCode::BAD_REQUEST, why),
    };
    let rows = match name.as_str() {
        "flow.csv" | "flow.json" => flow(&portal, &scope)
            .await
            .map(|rows| flow_records(&compiled, &rows)),
        "execution.csv" | "execution.json" => execution(&portal, &scope)
            .await
            .map(|rows| execution_records(&compiled, &rows)),
        "datapackage.json" => Ok(Vec::new()),
        _ => {
            return plain(
                StatusCode::NOT_FOUND,
                format!(
                    "Звіту «{name}» немає: є flow.csv, flow.json, execution.csv, \
                     execution.json і datapackage.json."
                ),
            );
        }
    };
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!("the registry cannot make report {name}: {e}");
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "Не вдалося прочитати дані звіту. Спробуйте ще раз за кілька хвилин.".into(),
            );
        }
    };
    if let Err(e) = access_log::record(&portal.store, &official, "report", None, &name).await {
        tracing::error!("the access log did not take a report: {e}");
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "Не вдалося записати звернення до звіту. Спробуйте ще раз за кілька хвилин.".into(),
        );
    }
    match name.as_str() {
        "flow.csv" => answer("text/csv; charset=utf-8", Some(&name), csv(FLOW, &rows)),
        "execution.csv" => answer(
            "text/csv; charset=utf-8",
            Some(&name),
            csv(EXECUTION, &rows),
        ),
        "datapackage.json" => answer(
            "application/json",
            None,
            pretty(&descriptor(&compiled, &scope.store)),
        ),
        _ => answer("application/json", None, pretty(&Value::Array(rows))),
    }
}

/// The scope `query` asks for, checked: dates as `YYYY-MM-DD` (from the first day of this
/// year through today unless given), `from` not after `to`, a journal of the official's own
/// participant. The error names the parameter and what is wrong with it.
fn scope(compiled: &Compiled, official: &Official, query: &ReportQuery) -> Result<Scope, String> {
    let zone = zone(compiled);
    let today = official.now().with_timezone(&zone).date_naive();
    let date = |name: &str, given: &Option<String>, default: NaiveDate| match given
        .as_deref()
        .map(str::trim)
    {
        None | Some("") => Ok(default),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .filter(|d| d.format("%Y-%m-%d").to_string() == text)
            .ok_or_else(|| {
                format!(
                    "Параметр «{name}»: «{}» — не дата у вигляді РРРР-ММ-ДД (наприклад, \
                     2026-03-01).",
                    text.chars().take(40).collect::<String>()
                )
            }),
    };
    let start = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
    let from = date("from", &query.from, start)?;
    let to = date("to", &query.to, today)?;
    if from > to {
        return Err(format!(
            "Параметр «from» ({from}) пізніший за «to» ({to}): початок періоду має бути не \
             пізніше за його кінець."
        ));
    }
    let journal = match query.journal.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(id) => match by_id(&compiled.spec.journals, id) {
            Some(j) if j.participant == official.participant() => Some(id.to_string()),
            _ => {
                return Err(format!(
                    "Параметр «journal»: «{}» — не журнал вашої установи.",
                    id.chars().take(60).collect::<String>()
                ));
            }
        },
    };
    Ok(Scope {
        store: ReportScope {
            participant: official.participant().to_string(),
            journal,
            from: from.to_string(),
            to: to.to_string(),
        },
        today: today.to_string(),
        zone,
    })
}

async fn flow(portal: &PortalState, scope: &Scope) -> Result<Vec<FlowRow>, StoreError> {
    portal.store.card_flow(&scope.store).await
}

/// The execution figures: the deadlines' day ends in the city's zone, then one aggregate query.
async fn execution(portal: &PortalState, scope: &Scope) -> Result<Vec<ExecutionRow>, StoreError> {
    let deadlines = portal.store.card_deadlines(&scope.store).await?;
    let ends: Vec<(String, String)> = deadlines
        .into_iter()
        .filter_map(|d| {
            let next = NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()?.succ_opt()?;
            let end = scope
                .zone
                .from_local_datetime(&next.and_hms_opt(0, 0, 0)?)
                .earliest()?;
            Some((d, time_text(&end.with_timezone(&chrono::Utc))))
        })
        .collect();
    portal
        .store
        .card_execution(&scope.store, &scope.today, &ends)
        .await
}

/// Whether a policy masks personal data (any class above public) in exports.
pub fn masked(compiled: &Compiled) -> bool {
    compiled.spec.policies.iter().any(|p| {
        p.mask.contains(&MaskTarget::Exports)
            && p.applies_to.iter().any(|class| {
                by_id(&compiled.spec.data_classes, class).is_some_and(|c| c.level != Level::Public)
            })
    })
}

fn flow_records(compiled: &Compiled, rows: &[FlowRow]) -> Vec<Value> {
    rows.iter()
        .map(|r| {
            record(
                FLOW,
                &[
                    json!(r.journal),
                    json!(journal_title(compiled, &r.journal)),
                    json!(r.month),
                    json!(r.direction),
                    json!(r.kind),
                    json!(r.registered),
                ],
            )
        })
        .collect()
}

/// One object per executor (or, masked, per unit and position), in `EXECUTION`'s order.
fn execution_records(compiled: &Compiled, rows: &[ExecutionRow]) -> Vec<Value> {
    let masked = masked(compiled);
    let mut merged: BTreeMap<(String, String, String), [i64; 6]> = BTreeMap::new();
    let mut names: BTreeMap<(String, String, String), String> = BTreeMap::new();
    for r in rows {
        let (name, position) = official_of(compiled, &r.executor);
        let key = if masked {
            (r.unit.clone(), String::new(), position)
        } else {
            names.insert((r.unit.clone(), r.executor.clone(), position.clone()), name);
            (r.unit.clone(), r.executor.clone(), position)
        };
        let sums = merged.entry(key).or_default();
        for (sum, n) in sums.iter_mut().zip([
            r.assigned,
            r.on_control,
            r.executed,
            r.executed_on_time,
            r.executed_late,
            r.overdue,
        ]) {
            *sum += n;
        }
    }
    merged
        .into_iter()
        .map(|(key, sums)| {
            let name = names.get(&key).cloned().unwrap_or_default();
            let (unit, executor, position) = key;
            let mut cells = vec![json!(unit), json!(executor), json!(name), json!(position)];
            cells.extend(sums.iter().map(|n| json!(n)));
            record(EXECUTION, &cells)
        })
        .collect()
}

/// Values in a file's column order as one object (the JSON file's row; the CSV's cells).
fn record(columns: &[Column], values: &[Value]) -> Value {
    Value::Object(
        columns
            .iter()
            .zip(values)
            .map(|(c, v)| (c.name.to_string(), v.clone()))
            .collect::<Map<String, Value>>(),
    )
}

/// A CSV file (RFC 4180): the header row, then each record's cells in column order.
fn csv(columns: &[Column], rows: &[Value]) -> String {
    let mut out = String::new();
    line(&mut out, columns.iter().map(|c| c.name.to_string()));
    for r in rows {
        line(
            &mut out,
            columns.iter().map(|c| match &r[c.name] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            }),
        );
    }
    out
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

/// The Frictionless data-package descriptor of the four files for `scope`.
pub fn descriptor(compiled: &Compiled, scope: &ReportScope) -> Value {
    let query = query_text(scope);
    let resource = |name: &str, columns: &[Column], format: &str| {
        let mut r = json!({
            "name": format!("{name}-{format}"),
            "path": format!("{name}.{format}?{query}"),
            "profile": "tabular-data-resource",
            "format": format,
            "mediatype": if format == "csv" { "text/csv" } else { "application/json" },
            "encoding": "utf-8",
            "schema": schema(columns),
        });
        if format == "csv" {
            r["dialect"] = json!({"delimiter": ",", "lineTerminator": "\r\n",
                                  "quoteChar": "\"", "header": true});
        }
        r
    };
    let masking = if masked(compiled) {
        "The city's policies mask personal data in exports: executors are given by unit and \
         position only, never by name or login."
    } else {
        "Executors are named: the city's policies do not mask personal data in exports."
    };
    json!({
        "profile": "tabular-data-package",
        "name": "document-registry-reports",
        "title": format!("Звіти документообігу: {}", scope.participant),
        "description": format!(
            "Cards of participant {} registered from {} through {}{}: the volume of document \
             flow per journal, month, direction and kind, and per main executor and unit how \
             many are on control, executed on time, executed late and overdue. No field holds \
             a correspondent's or citizen's data. {masking}",
            scope.participant,
            scope.from,
            scope.to,
            scope
                .journal
                .as_deref()
                .map(|j| format!(", journal {j}"))
                .unwrap_or_default()
        ),
        "resources": [
            resource("flow", FLOW, "csv"),
            resource("flow", FLOW, "json"),
            resource("execution", EXECUTION, "csv"),
            resource("execution", EXECUTION, "json"),
        ],
    })
}

fn schema(columns: &[Column]) -> Value {
    let fields: Vec<Value> = columns
        .iter()
        .map(|c| {
            let mut f = json!({"name": c.name, "type": c.kind, "title": c.title,
                               "description": c.description});
            if c.kind == "integer" {
                f["constraints"] = json!({"required": true, "minimum": 0});
            }
            f
        })
        .collect();
    json!({"fields": fields, "missingValues": [""]})
}

/// The report's query string (for links and the descriptor's paths).
fn query_text(scope: &ReportScope) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("from", &scope.from)
        .append_pair("to", &scope.to);
    if let Some(j) = &scope.journal {
        q.append_pair("journal", j);
    }
    q.finish()
}

fn journal_title(compiled: &Compiled, id: &str) -> String {
    by_id(&compiled.spec.journals, id).map_or_else(|| id.to_string(), |j| j.title.clone())
}

/// An official's name and position in the spec; their login and nothing when it has none.
fn official_of(compiled: &Compiled, id: &str) -> (String, String) {
    by_id(&compiled.spec.officials, id).map_or_else(
        || (id.to_string(), String::new()),
        |o| (o.name.clone(), o.position.clone()),
    )
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

fn answer(content_type: &'static str, attachment: Option<&str>, body: String) -> Response {
    let mut response = (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response();
    if let Some(name) = attachment
        && let Ok(value) = format!("attachment; filename=\"{name}\"").parse()
    {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

fn plain(status: StatusCode, text: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        format!("{text}\n"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_with_a_comma_quote_or_line_break_is_quoted() {
        let mut out = String::new();
        line(
            &mut out,
            [
                "a".to_string(),
                "b, c".into(),
                "say \"hi\"".into(),
                "x\ny".into(),
            ],
        );
        assert_eq!(out, "a,\"b, c\",\"say \"\"hi\"\"\",\"x\ny\"\r\n");
    }

    #[test]
    fn the_csv_header_is_the_schema_fields_in_order() {
        let header = csv(FLOW, &[]);
        let names: Vec<&str> = FLOW.iter().map(|c| c.name).collect();
        assert_eq!(header, format!("{}\r\n", names.join(",")));
    }
}
