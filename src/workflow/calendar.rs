//! The system's working-day calendar in the city's time zone: deadlines in working days, or in
//! calendar days counted as КМУ №55 п.171 says (from the next working day for a document that
//! arrives after hours, a last day off moved to the next working day); reminders and escalations.

use std::collections::HashSet;

use chrono::{DateTime, Datelike, Days as DateDays, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::spec::model::{self, DayCount};

/// Where a zone or hours in the spec cannot be read (`validate` refuses them first).
const FALLBACK_ZONE: Tz = chrono_tz::Europe::Kyiv;

/// A calendar ready to count days.
#[derive(Debug, Clone)]
pub struct Calendar {
    zone: Tz,
    /// Working weekdays, Monday first.
    week: [bool; 7],
    holidays: HashSet<NaiveDate>,
    closes: NaiveTime,
}

impl Calendar {
    /// The calendar of the spec's `system`. What `validate` refuses (an unknown zone, hours that
    /// do not parse, a week without working days) falls back to Europe/Kyiv, 18:00, Mon–Fri.
    pub fn from_spec(calendar: &model::Calendar) -> Calendar {
        let mut week = [false; 7];
        for day in &calendar.working_week {
            week[weekday_index(*day)] = true;
        }
        if !week.contains(&true) {
            week = [true, true, true, true, true, false, false];
        }
        Calendar {
            zone: calendar.time_zone.parse().unwrap_or(FALLBACK_ZONE),
            week,
            holidays: calendar
                .holidays
                .iter()
                .filter_map(|h| NaiveDate::parse_from_str(&h.date, "%Y-%m-%d").ok())
                .collect(),
            closes: parse_hour(&calendar.working_hours.closes)
                .unwrap_or(NaiveTime::from_hms_opt(18, 0, 0).expect("18:00")),
        }
    }

    /// Whether `date` is a working day: a working weekday that is not a holiday.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.week[date.weekday().num_days_from_monday() as usize] && !self.holidays.contains(&date)
    }

    /// The moment a period of `days` (working or calendar, as declared) started at `from` ends:
    /// the end (the city's midnight) of its last day, always a working day.
    ///
    /// Working days: the day of `from` is not counted; the period ends with the `days`-th
    /// working day after it. Calendar days (КМУ №55 п.171): counted from the day `from` falls
    /// on if that is a working day and it is before closing time, otherwise from the next
    /// working day; the last day is that day plus `days`, moved to the next working day if off.
    pub fn deadline(&self, from: DateTime<Utc>, days: &model::Days) -> DateTime<Utc> {
        let local = from.with_timezone(&self.zone);
        let last = match days.counting {
            DayCount::Working => self.nth_working_day_after(local.date_naive(), days.days),
            DayCount::Calendar => {
                let arrived = local.date_naive();
                let start = if self.is_working_day(arrived) && local.time() < self.closes {
                    arrived
                } else {
                    self.next_working_day(arrived)
                };
                let end = start
                    .checked_add_days(DateDays::new(u64::from(days.days)))
                    .unwrap_or(NaiveDate::MAX);
                if self.is_working_day(end) {
                    end
                } else {
                    self.next_working_day(end)
                }
            }
        };
        self.end_of(last)
    }

    /// `days` working days before `at`, at the same time of day (the end of a day counted as
    /// that day's): `days` working days are left between it and `at`.
    pub fn working_days_before(&self, at: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        let (date, end_of_day) = self.day_of(at);
        let mut d = date;
        for _ in 0..days {
            d = self.previous_working_day(d);
        }
        self.at_same_time(at, date, d, end_of_day)
    }

    /// `days` working days after `at`, at the same time of day (the end of a day counted as
    /// that day's).
    pub fn working_days_after(&self, at: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        let (date, end_of_day) = self.day_of(at);
        let mut d = date;
        for _ in 0..days {
            d = self.next_working_day(d);
        }
        self.at_same_time(at, date, d, end_of_day)
    }

    /// The `n`-th working day after `date`; for `n` = 0, `date` itself if it is a working day,
    /// otherwise the next one.
    fn nth_working_day_after(&self, date: NaiveDate, n: u32) -> NaiveDate {
        if n == 0 {
            return if self.is_working_day(date) {
                date
            } else {
                self.next_working_day(date)
            };
        }
        let mut d = date;
        for _ in 0..n {
            d = self.next_working_day(d);
        }
        d
    }

    fn next_working_day(&self, date: NaiveDate) -> NaiveDate {
        let mut d = date;
        loop {
            match d.succ_opt() {
                Some(next) => d = next,
                None => return NaiveDate::MAX,
            }
            if self.is_working_day(d) {
                return d;
            }
        }
    }

    fn previous_working_day(&self, date: NaiveDate) -> NaiveDate {
        let mut d = date;
        loop {
            match d.pred_opt() {
                Some(previous) => d = previous,
                None => return NaiveDate::MIN,
            }
            if self.is_working_day(d) {
                return d;
            }
        }
    }

    /// The city's midnight that ends `date`.
    fn end_of(&self, date: NaiveDate) -> DateTime<Utc> {
        let next = date.succ_opt().unwrap_or(NaiveDate::MAX);
        self.local(next, NaiveTime::MIN)
    }

    /// The local day `at` belongs to, and whether `at` is that day's end (the next midnight).
    fn day_of(&self, at: DateTime<Utc>) -> (NaiveDate, bool) {
        let local = at.with_timezone(&self.zone);
        if local.time() == NaiveTime::MIN {
            (
                local.date_naive().pred_opt().unwrap_or(NaiveDate::MIN),
                true,
            )
        } else {
            (local.date_naive(), false)
        }
    }

    /// `at` moved from its local day `from` to the day `to`, at the same local time.
    fn at_same_time(
        &self,
        at: DateTime<Utc>,
        from: NaiveDate,
        to: NaiveDate,
        end_of_day: bool,
    ) -> DateTime<Utc> {
        if to == from {
            return at;
        }
        if end_of_day {
            return self.end_of(to);
        }
        self.local(to, at.with_timezone(&self.zone).time())
    }

    /// The instant of a local date and time: the earlier of an hour that repeats, the hour after
    /// one the clocks skip.
    fn local(&self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let naive = date.and_time(time);
        match self.zone.from_local_datetime(&naive) {
            chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
                t.with_timezone(&Utc)
            }
            chrono::LocalResult::None => self
                .zone
                .from_local_datetime(&(naive + chrono::TimeDelta::hours(1)))
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| naive.and_utc()),
        }
    }
}

/// `HH:MM` of the spec, as a time of day.
pub fn parse_hour(text: &str) -> Option<NaiveTime> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

fn weekday_index(day: model::Weekday) -> usize {
    use model::Weekday::*;
    match day {
        Mon => 0,
        Tue => 1,
        Wed => 2,
        Thu => 3,
        Fri => 4,
        Sat => 5,
        Sun => 6,
    }
}
