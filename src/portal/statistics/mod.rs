//! Quality statistics (PORTAL-10, MIN-5; 003 §3.1.11–3.1.12): `/statistics` (every e-service,
//! the latest twelve months) and `/statistics/{e-service}`, each chart an accessible SVG with a
//! table of the same numbers beside it; only what `published` lets out is ever shown.

pub mod chart;
pub mod collect;
pub mod disclosure;
pub mod published;
pub mod views;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::PortalState;
use super::citizen::Citizen;
use super::{catalogue, home};
use crate::compile::Compiled;
use crate::workflow::calendar::Calendar;
use collect::{Tallies, Tally, Window};
use published::{FIELDS, Figures, index};

/// How long figures once read are served again before they are read anew: a public page's
/// views never make the store recount twelve months of cases each time.
const FRESH_FOR: Duration = Duration::from_secs(60);

/// What the statistics' handlers share: the page views not yet in the store, and the figures
/// read last.
#[derive(Default)]
pub struct Shared {
    pub views: views::Views,
    last: tokio::sync::Mutex<Option<Cached>>,
}

struct Cached {
    read_at: Instant,
    revision: String,
    stats: Arc<Statistics>,
}

/// The statistics of one moment: the months covered, the e-services (the spec's, then any
/// others the store still counts), and their tallies.
#[derive(Debug)]
pub struct Statistics {
    pub window: Window,
    /// `(id, title)`.
    pub e_services: Vec<(String, String)>,
    pub tallies: Tallies,
}

impl Statistics {
    /// Everything counted in the latest twelve months, as read at most [`FRESH_FOR`] ago for
    /// the same revision and window (one reader at a time; the views still in memory are added
    /// to the store first). `None` (logged) when the store cannot say.
    pub async fn read(portal: &PortalState, compiled: &Compiled) -> Option<Arc<Statistics>> {
        let system = compiled.spec.systems.first()?;
        let calendar = Calendar::from_spec(&system.calendar);
        let window = Window::ending_at(portal.engine.clock().now(), calendar.zone());
        let mut last = portal.statistics.last.lock().await;
        if let Some(cached) = last.as_ref().filter(|c| {
            c.read_at.elapsed() < FRESH_FOR
                && c.revision == compiled.revision.id
                && c.stats.window.months == window.months
        }) {
            return Some(cached.stats.clone());
        }
        if let Err(e) = portal.statistics.views.flush(&portal.store).await {
            tracing::warn!("{e}; the statistics show the views counted up to the last flush");
        }
        let tallies = match collect::collect(&portal.store, &calendar, &window, None).await {
            Ok(tallies) => tallies,
            Err(e) => {
                tracing::error!("cannot read the portal's statistics: {e}");
                return None;
            }
        };
        let mut e_services: Vec<(String, String)> = compiled
            .spec
            .e_services
            .iter()
            .map(|e| (e.id.clone(), e.title.clone()))
            .collect();
        for id in tallies.keys() {
            if !e_services.iter().any(|(e, _)| e == id) {
                e_services.push((id.clone(), id.clone()));
            }
        }
        let stats = Arc::new(Statistics {
            window,
            e_services,
            tallies,
        });
        *last = Some(Cached {
            read_at: Instant::now(),
            revision: compiled.revision.id.clone(),
            stats: stats.clone(),
        });
        Some(stats)
    }

    /// The tally of `e_service` in `month` (empty if nothing was counted).
    pub fn tally(&self, e_service: &str, month: &str) -> Tally {
        self.tallies
            .get(e_service)
            .and_then(|months| months.get(month))
            .cloned()
            .unwrap_or_default()
    }

    /// The published figures of every e-service and month, in order.
    pub fn grid(&self) -> Vec<(&str, &str, &str, Figures)> {
        self.e_services
            .iter()
            .flat_map(|(id, title)| {
                self.window.months.iter().map(move |month| {
                    (
                        id.as_str(),
                        title.as_str(),
                        month.as_str(),
                        Figures::of(&self.tally(id, month)),
                    )
                })
            })
            .collect()
    }

    fn months_of(&self, e_service: &str) -> Vec<Tally> {
        self.window
            .months
            .iter()
            .map(|m| self.tally(e_service, m))
            .collect()
    }

    fn e_services_in(&self, month: &str) -> Vec<Tally> {
        self.e_services
            .iter()
            .map(|(e, _)| self.tally(e, month))
            .collect()
    }

    fn period(&self) -> String {
        match (self.window.months.first(), self.window.months.last()) {
            (Some(first), Some(last)) => format!(
                "з {} до {}",
                chart::month_words(first),
                chart::month_words(last)
            ),
            _ => String::new(),
        }
    }
}

/// The city's time zone, by which the statistics' months are counted.
pub fn city_zone(spec: &crate::spec::Spec) -> chrono_tz::Tz {
    spec.systems
        .first()
        .and_then(|s| s.calendar.zone())
        .unwrap_or(chrono_tz::Europe::Kyiv)
}

/// Counts an application started (a draft created) of `e_service` at `at` (city month); a
/// failure is logged, never the citizen's problem.
pub async fn count_started(
    store: &crate::store::Store,
    spec: &crate::spec::Spec,
    e_service: &str,
    at: chrono::DateTime<chrono::Utc>,
) {
    let started = crate::store::PortalCounters {
        e_service: e_service.to_string(),
        month: collect::month_in(at, city_zone(spec)),
        views: 0,
        started: 1,
    };
    if let Err(e) = store.add_portal_counts(&[started]).await {
        tracing::warn!("{e}; the statistics miss one application started of e-service {e_service}");
    }
}

/// A chart of `measure` with its table: one figure a month.
fn chart_of(id: &str, title: &str, measure: &str, months: &[(String, Figures)]) -> Value {
    let field = FIELDS[index(measure)];
    let figures: Vec<(String, disclosure::Figure)> = months
        .iter()
        .map(|(m, f)| (m.clone(), f.get(measure)))
        .collect();
    chart::bars(id, title, field, &figures)
}

/// `GET /statistics`.
pub async fn overview(State(portal): State<PortalState>, citizen: Option<Citizen>) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return home::starting(&portal);
    };
    let chrome = citizen.map_or_else(|| home::chrome(&compiled), |c| c.chrome(&compiled));
    let Some(stats) = Statistics::read(&portal, &compiled).await else {
        return unavailable(&portal, &chrome);
    };
    let monthly: Vec<(String, Figures)> = stats
        .window
        .months
        .iter()
        .map(|m| (m.clone(), Figures::sum(&stats.e_services_in(m))))
        .collect();
    let e_services: Vec<Value> = stats
        .e_services
        .iter()
        .map(|(id, title)| {
            json!({
                "id": id,
                "title": title,
                "href": compiled.spec.e_services.iter().any(|e| &e.id == id)
                    .then(|| format!("/statistics/{id}")),
                "figures": Figures::sum(&stats.months_of(id)).view(),
            })
        })
        .collect();
    let context = json!({
        "period": stats.period(),
        "fields": FIELDS.iter().map(|f| f.title).collect::<Vec<_>>(),
        "charts": [
            chart_of("submitted", "Подані заяви за місяцями, усі послуги", "submitted", &monthly),
            chart_of("views", "Перегляди сторінок послуг за місяцями", "views", &monthly),
        ],
        "e_services": e_services,
    });
    portal.pages.render(
        StatusCode::OK,
        "statistics/overview.html",
        &chrome,
        catalogue::redacted(context, &compiled),
    )
}

/// `GET /statistics/{e-service}`.
pub async fn e_service(
    State(portal): State<PortalState>,
    citizen: Option<Citizen>,
    Path(id): Path<String>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return home::starting(&portal);
    };
    let chrome = citizen.map_or_else(|| home::chrome(&compiled), |c| c.chrome(&compiled));
    let Some(e) = compiled.spec.e_services.iter().find(|e| e.id == id) else {
        return portal.pages.problem(
            StatusCode::NOT_FOUND,
            &chrome,
            "Такої послуги немає",
            "Посилання застаріле або містить помилку. Статистику всіх послуг наведено на сторінці «Статистика».",
        );
    };
    let Some(stats) = Statistics::read(&portal, &compiled).await else {
        return unavailable(&portal, &chrome);
    };
    let monthly: Vec<(String, Figures)> = stats
        .window
        .months
        .iter()
        .map(|m| (m.clone(), Figures::of(&stats.tally(&e.id, m))))
        .collect();
    let context = json!({
        "e": { "id": e.id, "title": e.title, "href": format!("/services/{}", e.id) },
        "period": stats.period(),
        "fields": FIELDS.iter().map(|f| f.title).collect::<Vec<_>>(),
        "charts": [
            chart_of("submitted", "Подані заяви", "submitted", &monthly),
            chart_of("granted", "Надано послугу", "granted", &monthly),
            chart_of("refused", "Відмовлено в наданні", "refused", &monthly),
            chart_of("days", "Медіана строку рішення, робочих днів", "decision_days_median", &monthly),
        ],
        "months": monthly
            .iter()
            .map(|(m, f)| json!({ "month": chart::month_words(m), "figures": f.view() }))
            .collect::<Vec<_>>(),
        "total": Figures::sum(&stats.months_of(&e.id)).view(),
    });
    portal.pages.render(
        StatusCode::OK,
        "statistics/e-service.html",
        &chrome,
        catalogue::redacted(context, &compiled),
    )
}

fn unavailable(portal: &PortalState, chrome: &super::pages::Chrome) -> Response {
    portal.pages.problem(
        StatusCode::SERVICE_UNAVAILABLE,
        chrome,
        "Статистика тимчасово недоступна",
        "Не вдалося прочитати дані статистики. Спробуйте ще раз за кілька хвилин.",
    )
}
