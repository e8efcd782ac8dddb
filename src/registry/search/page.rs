//! `GET /registry/search`: the filter form (words, kind, number, dates, correspondent, signer,
//! executor, status, case, journal) and a page of the cards found, only those the official may
//! read; each search is recorded in the access log by its count, never by its words.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};

use super::words;
use crate::compile::Compiled;
use crate::portal::PortalState;
use crate::portal::cabinet::words::zone_of;
use crate::portal::office::access_log;
use crate::portal::office::case::unavailable;
use crate::portal::office::official::Official;
use crate::portal::office::users::starting;
use crate::registry::access::Reader;
use crate::spec::model::Permission;
use crate::store::{CardQuery, CardRow, SearchFailed, Visibility};

/// Cards a page shows.
pub const PER_PAGE: i64 = 20;
/// The longest value a filter takes (characters).
const MAX_FIELD: usize = 300;
/// The furthest page a search pages to (5,000 cards deep: past that, narrowing finds sooner).
const MAX_PAGE: i64 = 250;
/// What a reader is told when a search ran past its deadline.
const TOO_LONG: &str = "Пошук тривав задовго і був зупинений. Звузьте його: додайте слово, \
     журнал, вид документа або період дат.";

/// The statuses of a card and their names.
pub const STATUSES: &[(&str, &str)] = &[
    ("draft", "Чернетка"),
    ("registered", "Зареєстровано"),
    ("executed", "Виконано"),
    ("filed", "До справи"),
    ("archived", "В архіві"),
    ("destroyed", "Знищено"),
];

/// The form as the query string gives it; each value is checked before use.
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    q: Option<String>,
    kind: Option<String>,
    number: Option<String>,
    from: Option<String>,
    to: Option<String>,
    correspondent: Option<String>,
    signer: Option<String>,
    executor: Option<String>,
    status: Option<String>,
    case: Option<String>,
    journal: Option<String>,
    page: Option<String>,
}

impl Filters {
    fn asked(&self) -> bool {
        [
            &self.q,
            &self.kind,
            &self.number,
            &self.from,
            &self.to,
            &self.correspondent,
            &self.signer,
            &self.executor,
            &self.status,
            &self.case,
            &self.journal,
            &self.page,
        ]
        .iter()
        .any(|v| v.is_some())
    }

    /// The filters as the form shows them again, and as the paging links carry them.
    fn echo(&self) -> Vec<(&'static str, String)> {
        [
            ("q", &self.q),
            ("kind", &self.kind),
            ("number", &self.number),
            ("from", &self.from),
            ("to", &self.to),
            ("correspondent", &self.correspondent),
            ("signer", &self.signer),
            ("executor", &self.executor),
            ("status", &self.status),
            ("case", &self.case),
            ("journal", &self.journal),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.as_deref().unwrap_or("").trim().to_string()))
        .collect()
    }
}

/// What the form's lists offer, as `(id, title)`.
struct Choices {
    journals: Vec<(String, String)>,
    officials: Vec<(String, String)>,
    kinds: Vec<(String, String)>,
}

/// What is wrong with one field, for the error summary and the field.
#[derive(Debug)]
struct Problem {
    field: &'static str,
    message: String,
}

/// `filters` checked against what `official` may choose: the store's query, or the problems.
fn check(filters: &Filters, choices: &Choices) -> Result<CardQuery, Vec<Problem>> {
    let Choices {
        journals,
        officials,
        kinds,
    } = choices;
    let mut problems = Vec::new();
    let mut text = |field: &'static str, name: &str, value: &Option<String>| {
        let value = value.as_deref().map(str::trim).filter(|v| !v.is_empty())?;
        if value.chars().count() > MAX_FIELD {
            problems.push(Problem {
                field,
                message: format!("{name}: не більше {MAX_FIELD} символів"),
            });
            return None;
        }
        Some(value.to_string())
    };
    let q = text("q", "Слова", &filters.q);
    let kind = text("kind", "Вид документа", &filters.kind);
    let number = text("number", "Номер", &filters.number);
    let correspondent = text("correspondent", "Кореспондент", &filters.correspondent);
    let signer = text("signer", "Хто підписав", &filters.signer);
    let case_code = text("case", "Справа", &filters.case);
    let from = text("from", "Дата реєстрації з", &filters.from);
    let to = text("to", "Дата реєстрації по", &filters.to);
    let executor = text("executor", "Виконавець", &filters.executor);
    let status = text("status", "Стан", &filters.status);
    let journal = text("journal", "Журнал", &filters.journal);
    let page = text("page", "Сторінка", &filters.page);
    let mut date = |field: &'static str, name: &str, value: Option<String>| {
        let value = value?;
        if NaiveDate::parse_from_str(&value, "%Y-%m-%d").is_err() {
            problems.push(Problem {
                field,
                message: format!("{name}: введіть дату у форматі РРРР-ММ-ДД, наприклад 2026-12-07"),
            });
            return None;
        }
        Some(value)
    };
    let from = date("from", "Дата реєстрації з", from);
    let to = date("to", "Дата реєстрації по", to);
    if let (Some(f), Some(t)) = (&from, &to)
        && f > t
    {
        problems.push(Problem {
            field: "to",
            message: "Дата реєстрації по: має бути не раніше дати «з»".into(),
        });
    }
    if let Some(e) = &executor
        && !officials.iter().any(|(id, _)| id == e)
    {
        problems.push(Problem {
            field: "executor",
            message: "Виконавець: виберіть посадову особу зі списку".into(),
        });
    }
    if let Some(k) = &kind
        && !kinds.iter().any(|(id, _)| id == k)
    {
        problems.push(Problem {
            field: "kind",
            message: "Вид документа: виберіть вид зі списку".into(),
        });
    }
    if let Some(s) = &status
        && !STATUSES.iter().any(|(id, _)| id == s)
    {
        problems.push(Problem {
            field: "status",
            message: "Стан: виберіть стан зі списку".into(),
        });
    }
    if let Some(j) = &journal
        && !journals.iter().any(|(id, _)| id == j)
    {
        problems.push(Problem {
            field: "journal",
            message: "Журнал: виберіть журнал зі списку".into(),
        });
    }
    let page = match page.map(|p| p.parse::<i64>()) {
        None => 1,
        Some(Ok(p)) if (1..=MAX_PAGE).contains(&p) => p,
        Some(_) => {
            problems.push(Problem {
                field: "page",
                message: format!("Сторінка: ціле число від 1 до {MAX_PAGE}"),
            });
            1
        }
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(CardQuery {
        words: q.as_deref().map(words::words).unwrap_or_default(),
        kind,
        number,
        from,
        to,
        correspondent: correspondent
            .as_deref()
            .map(words::words)
            .unwrap_or_default(),
        signer: signer.as_deref().map(words::words).unwrap_or_default(),
        executor,
        status,
        case_code,
        journal,
        page,
        per_page: PER_PAGE,
    })
}

/// `GET /registry/search`.
pub async fn page(
    State(portal): State<PortalState>,
    official: Official,
    Query(filters): Query<Filters>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    let chrome = official.chrome(&compiled);
    if !Permission::DOCUMENTS
        .iter()
        .any(|p| official.may(&compiled, *p))
    {
        // Refused, logged and recorded as every page that needs a documents role is.
        if let Err(refusal) = official
            .require(&portal, &compiled, Permission::DocumentsRead)
            .await
        {
            return refusal;
        }
    }
    let participant = official.participant().to_string();
    let journals: Vec<(String, String)> = compiled
        .spec
        .journals
        .iter()
        .filter(|j| j.participant == participant)
        .map(|j| (j.id.clone(), j.title.clone()))
        .collect();
    let officials: Vec<(String, String)> = compiled
        .spec
        .officials
        .iter()
        .filter(|o| o.unit.split('/').next() == Some(participant.as_str()))
        .map(|o| (o.id.clone(), o.name.clone()))
        .collect();
    let kinds: Vec<(String, String)> = compiled
        .spec
        .document_kinds
        .iter()
        .map(|k| (k.id.clone(), k.title.clone()))
        .collect();
    let choices = Choices {
        journals,
        officials,
        kinds,
    };
    let echo = filters.echo();
    let mut view = json!({
        "filters": echo
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect::<serde_json::Map<String, Value>>(),
        "journals": listed(&choices.journals),
        "officials": listed(&choices.officials),
        "kinds": listed(&choices.kinds),
        "statuses": STATUSES.iter().map(|(id, t)| json!({"id": id, "title": t})).collect::<Vec<_>>(),
        "errors": [],
        "invalid": {},
        "asked": false,
        "cards": [],
        "total": 0,
        "more": false,
        "page": 1,
        "pages": 1,
        "previous": null,
        "next": null,
    });
    if !filters.asked() {
        return render(&portal, &compiled, &official, StatusCode::OK, view);
    }
    let query = match check(&filters, &choices) {
        Ok(query) => query,
        Err(problems) => {
            view["errors"] = problems
                .iter()
                .map(|p| json!({"field": p.field, "message": p.message}))
                .collect();
            view["invalid"] = problems
                .iter()
                .rev()
                .map(|p| (p.field.to_string(), json!(p.message)))
                .collect::<serde_json::Map<String, Value>>()
                .into();
            return render(&portal, &compiled, &official, StatusCode::BAD_REQUEST, view);
        }
    };
    let zone = compiled
        .spec
        .system()
        .map_or(chrono_tz::Europe::Kyiv, |s| zone_of(&s.calendar));
    let today = official
        .now()
        .with_timezone(&zone)
        .format("%Y-%m-%d")
        .to_string();
    let reader = match Reader::of(&portal.store, &compiled, &official, &today).await {
        Ok(reader) => reader,
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    let visible = Visibility {
        sql: Reader::visible_sql,
        binds: reader.binds(),
    };
    let found = match portal.store.search_cards(&query, &visible).await {
        Ok(found) => found,
        Err(SearchFailed::TooLong) => {
            view["errors"] = json!([{"field": "q", "message": TOO_LONG}]);
            view["invalid"] = json!({"q": TOO_LONG});
            return render(
                &portal,
                &compiled,
                &official,
                StatusCode::SERVICE_UNAVAILABLE,
                view,
            );
        }
        Err(SearchFailed::Store(e)) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    let detail = format!(
        "searched, {}{} results",
        if found.more { "over " } else { "" },
        found.total
    );
    if let Err(e) =
        access_log::record(&portal.store, &official, "registry-search", None, &detail).await
    {
        return unavailable(&portal, &chrome, &e.to_string());
    }
    let pages = ((found.total + PER_PAGE - 1) / PER_PAGE).max(1);
    let link = |page: i64| {
        let mut q: Vec<String> = echo
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
                )
            })
            .collect();
        q.push(format!("page={page}"));
        format!("/registry/search?{}", q.join("&"))
    };
    view["asked"] = json!(true);
    view["cards"] = found.cards.iter().map(|c| row(&compiled, c)).collect();
    view["total"] = json!(found.total);
    view["more"] = json!(found.more);
    view["page"] = json!(query.page);
    view["pages"] = json!(pages);
    view["previous"] = json!((query.page > 1).then(|| link(query.page - 1)));
    view["next"] = json!((query.page < pages || found.more).then(|| link(query.page + 1)));
    view["first"] = json!(link(1));
    render(&portal, &compiled, &official, StatusCode::OK, view)
}

fn render(
    portal: &PortalState,
    compiled: &Compiled,
    official: &Official,
    status: StatusCode,
    mut view: Value,
) -> Response {
    if view.get("first").is_none() {
        view["first"] = json!("/registry/search");
    }
    portal.pages.render(
        status,
        "registry/search.html",
        &official.chrome(compiled),
        view,
    )
}

fn listed(list: &[(String, String)]) -> Vec<Value> {
    list.iter()
        .map(|(id, title)| json!({"id": id, "title": title}))
        .collect()
}

/// One card as the results list shows it.
fn row(compiled: &Compiled, card: &CardRow) -> Value {
    let status = STATUSES
        .iter()
        .find(|(id, _)| *id == card.status)
        .map_or(card.status.as_str(), |(_, t)| t);
    let journal = compiled
        .spec
        .journals
        .iter()
        .find(|j| j.id == card.journal)
        .map_or(card.journal.as_str(), |j| j.title.as_str());
    let kind = compiled
        .spec
        .document_kinds
        .iter()
        .find(|k| k.id == card.kind)
        .map_or(card.kind.as_str(), |k| k.title.as_str());
    json!({
        "href": format!("/registry/cards/{}", card.id),
        "number": card.reg_number,
        "date": card.reg_date,
        "kind": kind,
        "journal": journal,
        "summary": card.summary,
        "correspondent": card.correspondent,
        "status": status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filters(pairs: &[(&str, &str)]) -> Filters {
        let query: String = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        serde_urlencoded_like(&query)
    }

    fn urlencode(v: &str) -> String {
        percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string()
    }

    fn serde_urlencoded_like(query: &str) -> Filters {
        let uri: axum::http::Uri = format!("/registry/search?{query}").parse().unwrap();
        Query::<Filters>::try_from_uri(&uri).unwrap().0
    }

    fn choices() -> Choices {
        Choices {
            journals: vec![("incoming".into(), "Вхідні".into())],
            officials: vec![("koval-o".into(), "Коваль О.".into())],
            kinds: vec![("letter".into(), "Лист".into())],
        }
    }

    #[test]
    fn words_of_the_query_are_stemmed_like_the_index() {
        let query = check(
            &filters(&[
                ("q", "Допомогою, ЗАЯВИ"),
                ("correspondent", "Пенсійного фонду"),
            ]),
            &choices(),
        )
        .unwrap();
        assert_eq!(query.words, words::words("допомога заява"));
        assert_eq!(query.correspondent, words::words("пенсійний фонд"));
        assert_eq!(query.page, 1);
    }

    #[test]
    fn bad_filters_name_each_field() {
        let problems = check(
            &filters(&[
                ("from", "07.12.2026"),
                ("executor", "stranger"),
                ("status", "lost"),
                ("journal", "other"),
                ("page", "0"),
                ("kind", "spell"),
                ("q", &"а".repeat(MAX_FIELD + 1)),
            ]),
            &choices(),
        )
        .err()
        .unwrap();
        let fields: Vec<&str> = problems.iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            ["q", "from", "executor", "kind", "status", "journal", "page"]
        );
        let reversed = check(
            &filters(&[("from", "2026-12-07"), ("to", "2026-12-01")]),
            &choices(),
        )
        .err()
        .unwrap();
        assert_eq!(reversed[0].field, "to");
    }

    #[test]
    fn empty_fields_are_no_filter() {
        let query = check(
            &filters(&[("q", "  "), ("kind", ""), ("page", "2")]),
            &choices(),
        )
        .unwrap();
        assert!(query.words.is_empty() && query.kind.is_none());
        assert_eq!(query.page, 2);
    }
}
