//! The officials' inbox: one page of the open cases an official may act on now (worked by one
//! of their roles, or assigned to them), of their participant's e-services, most urgent first,
//! with the total, the application's number and whether the case was escalated — one query.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, on_pool, time_text};

/// Which deadlines a page narrows to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// The deadline ends by the end of today and has not passed.
    Today,
    /// The deadline has passed.
    Overdue,
    /// Escalated in the state the case is in now.
    Escalated,
}

/// What an inbox page asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxQuery {
    /// The official whose cases these are (their assigned cases whatever the role).
    pub official: String,
    pub roles: Vec<String>,
    /// The e-services whose cases the official may see at all (their participant's); an empty
    /// list matches nothing.
    pub e_services: Vec<String>,
    /// Narrow to one of those e-services.
    pub e_service: Option<String>,
    pub state: Option<String>,
    pub due: Option<Due>,
    pub now: DateTime<Utc>,
    /// The end of today in the city (the start of tomorrow), for `Due::Today`.
    pub end_of_today: DateTime<Utc>,
    /// 1-based.
    pub page: i64,
    pub per_page: i64,
}

/// One case of an inbox page.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InboxRow {
    pub id: String,
    pub workflow: String,
    pub revision: String,
    pub e_service: String,
    pub state: String,
    pub role: Option<String>,
    pub assignee: Option<String>,
    pub deadline_at: Option<String>,
    pub version: i64,
    pub created_at: String,
    /// The application's registration number; `None` for a case not started from the portal.
    pub number: Option<String>,
    /// 1 when the case was escalated in its current state.
    pub escalated: i64,
    /// How many cases the whole query matches.
    pub total: i64,
}

/// One page of the inbox and how many cases match in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxPage {
    pub cases: Vec<InboxRow>,
    pub total: i64,
}

const ESCALATED: &str = "EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id \
     AND e.kind = 'escalated' AND e.at >= c.state_entered_at)";

impl Store {
    /// The page of the inbox `query` asks for. The matching cases are read from the inbox
    /// indexes alone (id and deadline: the cases of the official's roles, and those assigned to
    /// them in any other role), counted and ordered; only the page's rows are read whole.
    pub async fn inbox(&self, query: &InboxQuery) -> Result<InboxPage, StoreError> {
        let per_page = query.per_page.clamp(1, 200);
        let offset = (query.page.max(1) - 1).saturating_mul(per_page);
        let (matching, binds) = matching(query);
        let sql = format!(
            "WITH m AS ({matching}) \
             SELECT c.id, c.workflow, c.revision, c.e_service, c.state, c.role, c.assignee, \
                    c.deadline_at, c.version, c.created_at, a.number, \
                    CAST(CASE WHEN {ESCALATED} THEN 1 ELSE 0 END AS BIGINT) AS escalated, \
                    (SELECT COUNT(*) FROM m) AS total \
             FROM (SELECT id FROM m ORDER BY (deadline_at IS NULL), deadline_at, id \
                   LIMIT {per_page} OFFSET {offset}) pg \
             JOIN cases c ON c.id = pg.id \
             LEFT JOIN applications a ON a.case_id = c.id \
             ORDER BY (c.deadline_at IS NULL), c.deadline_at, c.id"
        );
        let cases: Vec<InboxRow> = on_pool!(&self.pool, pool => {
            let mut q = sqlx::query_as(&sql);
            for b in &binds {
                q = q.bind(b.as_str());
            }
            q.fetch_all(pool).await
        })
        .map_err(|e| self.failed("read an official's inbox from", e))?;
        let total = cases.first().map_or(0, |c| c.total);
        Ok(InboxPage { cases, total })
    }
}

/// The `SELECT id, deadline_at` of the cases `query` matches, with its bound values in order:
/// the cases of the official's roles, and (all of it) those assigned to them in another role.
/// Each placeholder first appears in its number's order, as SQLite numbers named parameters.
fn matching(query: &InboxQuery) -> (String, Vec<String>) {
    let mut binds: Vec<String> = Vec::new();
    let mut bind = |value: &str| {
        binds.push(value.to_string());
        format!("${}", binds.len())
    };
    let mut narrow = vec!["c.outcome IS NULL".to_string()];
    let services: Vec<String> = query.e_services.iter().map(|s| bind(s)).collect();
    if services.is_empty() {
        narrow.push("1 = 0".into());
    } else {
        narrow.push(format!("c.e_service IN ({})", services.join(", ")));
    }
    if let Some(e_service) = &query.e_service {
        narrow.push(format!("c.e_service = {}", bind(e_service)));
    }
    if let Some(state) = &query.state {
        narrow.push(format!("c.state = {}", bind(state)));
    }
    match query.due {
        Some(Due::Today) => {
            let now = bind(&time_text(&query.now));
            let end = bind(&time_text(&query.end_of_today));
            narrow.push(format!("c.deadline_at > {now} AND c.deadline_at <= {end}"));
        }
        Some(Due::Overdue) => {
            narrow.push(format!("c.deadline_at <= {}", bind(&time_text(&query.now))));
        }
        // The few escalated cases drive the search (from the escalations' partial index), rather
        // than a look into the history for each of a role's cases.
        Some(Due::Escalated) => narrow.push(format!(
            "c.id IN (SELECT e.case_id FROM case_events e WHERE e.kind = 'escalated') \
             AND {ESCALATED}"
        )),
        None => {}
    }
    let narrow = narrow.join(" AND ");
    let select = "SELECT c.id, c.deadline_at FROM cases c WHERE";
    let roles: Vec<String> = query.roles.iter().map(|r| bind(r)).collect();
    let official = bind(&query.official);
    if roles.is_empty() {
        return (
            format!("{select} {narrow} AND c.assignee = {official}"),
            binds,
        );
    }
    let roles = roles.join(", ");
    (
        format!(
            "{select} {narrow} AND c.role IN ({roles}) \
             UNION ALL {select} {narrow} AND c.assignee = {official} \
             AND (c.role IS NULL OR c.role NOT IN ({roles}))"
        ),
        binds,
    )
}
