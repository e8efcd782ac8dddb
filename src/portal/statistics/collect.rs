//! The raw figures of the statistics, per e-service and month of the city's calendar: read from
//! the store in one aggregate query per table and never shown as they are (`published` decides
//! what of them may be).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::store::{Store, StoreError};
use crate::workflow::calendar::Calendar;

/// How many months the statistics cover, the current one included.
pub const MONTHS: u32 = 12;

/// One e-service's figures for one month, as counted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub views: u64,
    pub started: u64,
    pub submitted: u64,
    pub granted: u64,
    pub refused: u64,
    pub withdrawn: u64,
    pub overdue: u64,
    /// Working days from submission to decision of each case granted or refused, ascending.
    pub days: Vec<u32>,
    /// The stars of each rating given, ascending.
    pub ratings: Vec<u8>,
}

/// Tallies by e-service, then month (`YYYY-MM`).
pub type Tallies = BTreeMap<String, BTreeMap<String, Tally>>;

/// The months the statistics cover, ending with the one `now` falls in (city time).
#[derive(Debug, Clone)]
pub struct Window {
    /// `YYYY-MM`, oldest first.
    pub months: Vec<String>,
    /// The first moment of the oldest month.
    pub from: DateTime<Utc>,
    zone: Tz,
}

impl Window {
    pub fn ending_at(now: DateTime<Utc>, zone: Tz) -> Window {
        let local = now.with_timezone(&zone);
        let mut first = NaiveDate::from_ymd_opt(local.year(), local.month(), 1).unwrap_or_default();
        for _ in 1..MONTHS {
            first = first
                .pred_opt()
                .and_then(|d| NaiveDate::from_ymd_opt(d.year(), d.month(), 1))
                .unwrap_or(first);
        }
        let months = first
            .iter_days()
            .filter(|d| d.day() == 1)
            .take(MONTHS as usize)
            .map(|d| d.format("%Y-%m").to_string())
            .collect();
        let from = zone
            .from_local_datetime(&first.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map_or(now, |t| t.with_timezone(&Utc));
        Window { months, from, zone }
    }

    /// The month (`YYYY-MM`, city time) `at` falls in.
    pub fn month_of(&self, at: DateTime<Utc>) -> String {
        month_in(at, self.zone)
    }

    fn covers(&self, month: &str) -> bool {
        self.months.first().is_some_and(|m| month >= m.as_str())
            && self.months.last().is_some_and(|m| month <= m.as_str())
    }
}

/// The tally of `e_service` in `month`, if the window covers the month.
fn cell<'a>(
    tallies: &'a mut Tallies,
    window: &Window,
    e_service: &str,
    month: String,
) -> Option<&'a mut Tally> {
    window.covers(&month).then(|| {
        tallies
            .entry(e_service.to_string())
            .or_default()
            .entry(month)
            .or_default()
    })
}

/// The month (`YYYY-MM`) `at` falls in, in `zone`.
pub fn month_in(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone).format("%Y-%m").to_string()
}

/// Every figure of `window`, of `e_service` or of all.
pub async fn collect(
    store: &Store,
    calendar: &Calendar,
    window: &Window,
    e_service: Option<&str>,
) -> Result<Tallies, StoreError> {
    let mut tallies = Tallies::new();
    let first_month = window.months.first().cloned().unwrap_or_default();
    for c in store.portal_counters(e_service, &first_month).await? {
        if let Some(t) = cell(&mut tallies, window, &c.e_service, c.month) {
            t.views += c.views.unsigned_abs();
            t.started += c.started.unsigned_abs();
        }
    }
    for h in store.cases_submitted_hourly(e_service, window.from).await? {
        if let Some(t) = cell(&mut tallies, window, &h.e_service, window.month_of(h.hour)) {
            t.submitted += h.count.unsigned_abs();
        }
    }
    for c in store.cases_closed_since(e_service, window.from).await? {
        let Some(t) = cell(
            &mut tallies,
            window,
            &c.e_service,
            window.month_of(c.closed_at),
        ) else {
            continue;
        };
        match c.outcome.as_str() {
            "granted" => t.granted += 1,
            "refused" => t.refused += 1,
            "withdrawn" => {
                t.withdrawn += 1;
                continue;
            }
            other => {
                return Err(StoreError::new(format!(
                    "case {} of e-service {} holds the outcome `{other}`, which is none of \
                     granted, refused or withdrawn; the row was changed outside hromada",
                    c.case_id, c.e_service
                )));
            }
        }
        t.days
            .push(calendar.working_days_between(c.submitted_at, c.closed_at));
    }
    let mut overdue: BTreeMap<(String, String), std::collections::BTreeSet<String>> =
        BTreeMap::new();
    for o in store.cases_overdue_hourly(e_service, window.from).await? {
        overdue
            .entry((o.e_service, window.month_of(o.hour)))
            .or_default()
            .insert(o.case_id);
    }
    for ((e, month), cases) in overdue {
        if let Some(t) = cell(&mut tallies, window, &e, month) {
            t.overdue += cases.len() as u64;
        }
    }
    // Ratings are kept by UTC month; their month is the one they were kept under.
    let ratings_from = Utc
        .with_ymd_and_hms(window.from.year(), window.from.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(window.from);
    for r in store.ratings_monthly(e_service, ratings_from).await? {
        if let Some(t) = cell(
            &mut tallies,
            window,
            &r.e_service,
            r.month.format("%Y-%m").to_string(),
        ) {
            let n = usize::try_from(r.count).unwrap_or(0);
            t.ratings.extend(std::iter::repeat_n(r.stars, n));
        }
    }
    for t in tallies.values_mut().flat_map(|months| months.values_mut()) {
        t.days.sort_unstable();
        t.ratings.sort_unstable();
    }
    Ok(tallies)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_the_last_twelve_months_of_the_city() {
        // 22:30 UTC on 31 December is already January in Kyiv.
        let now = Utc.with_ymd_and_hms(2026, 12, 31, 22, 30, 0).unwrap();
        let w = Window::ending_at(now, chrono_tz::Europe::Kyiv);
        assert_eq!(w.months.len(), 12);
        assert_eq!(w.months.first().unwrap(), "2026-02");
        assert_eq!(w.months.last().unwrap(), "2027-01");
        assert_eq!(w.from, Utc.with_ymd_and_hms(2026, 1, 31, 22, 0, 0).unwrap());
        assert_eq!(w.month_of(now), "2027-01");
        assert!(w.covers("2026-07") && !w.covers("2026-01") && !w.covers("2027-02"));
    }
}
