//! Pages of cases for the cases API: narrowed by workflow, state, the roles working them,
//! assignee, applicant and deadline, newest first, with the total for paging.

use chrono::{DateTime, Utc};

use super::CaseRow;
use super::reconciles::time_text;
use super::{Store, StoreError, on_pool};

/// Which cases to list; every field given narrows the list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseQuery {
    pub workflow: Option<String>,
    pub state: Option<String>,
    /// Cases worked now by one of these roles, or (with `or_assignee`) assigned to that
    /// official; `None` does not narrow, an empty list matches only `or_assignee`'s cases.
    pub roles: Option<Vec<String>>,
    pub or_assignee: Option<String>,
    pub assignee: Option<String>,
    pub applicant: Option<String>,
    /// Open cases whose deadline is before this time.
    pub overdue_at: Option<DateTime<Utc>>,
    pub open_only: bool,
    /// 1-based page of `per_page` cases.
    pub page: i64,
    pub per_page: i64,
}

/// One page of cases and how many match in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CasePage {
    pub cases: Vec<CaseRow>,
    pub total: i64,
}

impl Store {
    /// The page of cases `query` asks for.
    pub async fn list_cases(&self, query: &CaseQuery) -> Result<CasePage, StoreError> {
        let (condition, binds) = condition(query);
        let offset = (query.page.max(1) - 1).saturating_mul(query.per_page);
        let select = format!(
            "SELECT * FROM cases WHERE {condition} ORDER BY created_at DESC, id LIMIT {} OFFSET {offset}",
            query.per_page.clamp(1, 1000)
        );
        let count = format!("SELECT COUNT(*) FROM cases WHERE {condition}");
        let cases: Vec<CaseRow> = on_pool!(&self.pool, pool => {
            let mut q = sqlx::query_as(&select);
            for b in &binds {
                q = q.bind(b.as_str());
            }
            q.fetch_all(pool).await
        })
        .map_err(|e| self.failed("list cases in", e))?;
        let (total,): (i64,) = on_pool!(&self.pool, pool => {
            let mut q = sqlx::query_as(&count);
            for b in &binds {
                q = q.bind(b.as_str());
            }
            q.fetch_one(pool).await
        })
        .map_err(|e| self.failed("count cases in", e))?;
        Ok(CasePage { cases, total })
    }
}

/// The `WHERE` condition of `query` with its bound values, in order (`$1`, `$2`, …).
fn condition(query: &CaseQuery) -> (String, Vec<String>) {
    let mut parts = vec!["1 = 1".to_string()];
    let overdue_at = query.overdue_at.as_ref().map(time_text);
    let mut binds: Vec<String> = Vec::new();
    let bind = |value: &str, binds: &mut Vec<String>| {
        binds.push(value.to_string());
        format!("${}", binds.len())
    };
    for (column, op, value) in [
        ("workflow", "=", &query.workflow),
        ("state", "=", &query.state),
        ("assignee", "=", &query.assignee),
        ("applicant", "=", &query.applicant),
        ("deadline_at", "<", &overdue_at),
    ] {
        if let Some(value) = value {
            let placeholder = bind(value, &mut binds);
            parts.push(format!("{column} {op} {placeholder}"));
        }
    }
    if let Some(roles) = &query.roles {
        let mut any: Vec<String> = roles
            .iter()
            .map(|role| format!("role = {}", bind(role, &mut binds)))
            .collect();
        if let Some(official) = &query.or_assignee {
            let placeholder = bind(official, &mut binds);
            any.push(format!("assignee = {placeholder}"));
        }
        if any.is_empty() {
            any.push("1 = 0".into());
        }
        parts.push(format!("({})", any.join(" OR ")));
    }
    if query.open_only || query.overdue_at.is_some() {
        parts.push("outcome IS NULL".into());
    }
    (parts.join(" AND "), binds)
}
