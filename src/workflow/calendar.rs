//! The system's working-day calendar in the city's time zone: deadlines in working days, or in
//! calendar days counted as КМУ №55 п.171 says (from the next working day for a document that
//! arrives after hours, a last day off moved to the next working day); reminders and escalations.

use std::collections::HashSet;

use chrono::{DateTime, Datelike, Days as DateDays, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::spec::model::{self, DayCount};

/// Where a zone or hours in the spec cannot be read (`validate` refuses them first).
const FALLBACK_ZONE: Tz = chrono_tz::Europe::Kyiv;

/// The most days counted one by one (a century of calendar days, some 140 years of working
/// days): a longer term from a hand-written spec ends there rather than keep the engine counting.
const MAX_DAYS: u32 = 36_600;

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
            zone: calendar.zone().unwrap_or(FALLBACK_ZONE),
            week,
            holidays: calendar
                .holidays
                .iter()
                .filter_map(|h| NaiveDate::parse_from_str(&h.date, "%Y-%m-%d").ok())
                .collect(),
            closes: calendar
                .working_hours
                .closing()
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
                    .checked_add_days(DateDays::new(u64::from(days.days.min(MAX_DAYS))))
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
        for _ in 0..days.min(MAX_DAYS) {
            d = self.previous_working_day(d);
        }
        self.at_same_time(at, date, d, end_of_day)
    }

    /// `days` working days after `at`, at the same time of day (the end of a day counted as
    /// that day's).
    pub fn working_days_after(&self, at: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        let (date, end_of_day) = self.day_of(at);
        let mut d = date;
        for _ in 0..days.min(MAX_DAYS) {
            d = self.next_working_day(d);
        }
        self.at_same_time(at, date, d, end_of_day)
    }

    /// The city's time zone.
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// How many working days passed from `from` to `to`, counted as deadlines are: the local day
    /// of `from` not counted, that of `to` counted; 0 within one day or when `to` is earlier.
    pub fn working_days_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
        let (first, last) = (
            from.with_timezone(&self.zone).date_naive(),
            to.with_timezone(&self.zone).date_naive(),
        );
        let mut n = 0;
        let mut d = first;
        while n < MAX_DAYS {
            d = self.next_working_day(d);
            if d > last {
                break;
            }
            n += 1;
        }
        n
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
        for _ in 0..n.min(MAX_DAYS) {
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
    pub fn end_of(&self, date: NaiveDate) -> DateTime<Utc> {
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

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::LazyLock;

    use chrono::{TimeDelta, Timelike};
    use proptest::prelude::*;

    use super::*;
    use crate::spec::model::Days;

    /// The example city's calendar (spec/system.kdl): 2026–2027 holidays, Mon–Fri, Kyiv.
    static CITY: LazyLock<Calendar> = LazyLock::new(|| {
        let loaded = crate::spec::load::load(Path::new(env!("CARGO_MANIFEST_DIR")));
        Calendar::from_spec(&loaded.spec.systems[0].calendar)
    });

    fn kyiv(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_str(&format!("{text} +0000"), "%Y-%m-%d %H:%M %z")
            .map(|t| {
                chrono_tz::Europe::Kyiv
                    .from_local_datetime(&t.naive_utc())
                    .unwrap()
                    .with_timezone(&Utc)
            })
            .unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn working(days: u32) -> Days {
        Days {
            days,
            counting: DayCount::Working,
        }
    }

    fn calendar(days: u32) -> Days {
        Days {
            days,
            counting: DayCount::Calendar,
        }
    }

    #[test]
    fn working_days_skip_weekends_and_the_citys_holidays() {
        // 1 May and 8 May 2026 are Fridays and holidays.
        assert_eq!(
            CITY.deadline(kyiv("2026-04-30 10:00"), &working(1)),
            utc("2026-05-04T21:00:00Z")
        );
        assert_eq!(
            CITY.deadline(kyiv("2026-05-04 10:00"), &working(5)),
            utc("2026-05-12T21:00:00Z")
        );
        // Christmas (Friday) and New Year (Friday) into 2027, in winter time.
        assert_eq!(
            CITY.deadline(kyiv("2026-12-24 12:00"), &working(1)),
            utc("2026-12-28T22:00:00Z")
        );
        assert_eq!(
            CITY.deadline(kyiv("2026-12-30 12:00"), &working(2)),
            utc("2027-01-04T22:00:00Z")
        );
        // Independence Day 2027 is a Tuesday.
        assert_eq!(
            CITY.deadline(kyiv("2027-08-23 09:30"), &working(1)),
            utc("2027-08-25T21:00:00Z")
        );
        // Received on a Saturday: the first working day after it is Monday.
        assert_eq!(
            CITY.deadline(kyiv("2026-06-06 11:00"), &working(1)),
            utc("2026-06-08T21:00:00Z")
        );
    }

    #[test]
    fn a_deadline_ends_at_the_citys_midnight_across_the_clock_change() {
        // Summer time starts on Sunday 29 March 2026: Friday is +02:00, Monday's end +03:00.
        assert_eq!(
            CITY.deadline(kyiv("2026-03-27 10:00"), &working(1)),
            utc("2026-03-30T21:00:00Z")
        );
        // Winter time from Sunday 25 October 2026.
        assert_eq!(
            CITY.deadline(kyiv("2026-10-23 10:00"), &working(1)),
            utc("2026-10-26T22:00:00Z")
        );
    }

    #[test]
    fn calendar_days_count_from_the_next_working_day_after_hours() {
        // КМУ №55 п.171: in hours on Friday, counted from Friday: Sunday, moved to Monday.
        assert_eq!(
            CITY.deadline(kyiv("2026-07-10 10:00"), &calendar(2)),
            utc("2026-07-13T21:00:00Z")
        );
        // After closing on Friday: counted from Monday; Wednesday 15 July is a holiday.
        assert_eq!(
            CITY.deadline(kyiv("2026-07-10 19:30"), &calendar(2)),
            utc("2026-07-16T21:00:00Z")
        );
        // Closing time is the city's: 18:30 in Kyiv is 15:30 UTC, 17:30 is 14:30 UTC.
        assert_eq!(
            CITY.deadline(utc("2026-07-10T15:30:00Z"), &calendar(2)),
            utc("2026-07-16T21:00:00Z")
        );
        assert_eq!(
            CITY.deadline(utc("2026-07-10T14:30:00Z"), &calendar(2)),
            utc("2026-07-13T21:00:00Z")
        );
        // Before opening counts that day; a Saturday counts from Monday.
        assert_eq!(
            CITY.deadline(kyiv("2026-08-03 07:00"), &calendar(30)),
            utc("2026-09-02T21:00:00Z")
        );
        assert_eq!(
            CITY.deadline(kyiv("2026-08-01 10:00"), &calendar(30)),
            utc("2026-09-02T21:00:00Z")
        );
        // Easter 2027 falls on Sunday 2 May: the last day moves to Monday.
        assert_eq!(
            CITY.deadline(kyiv("2027-04-29 10:00"), &calendar(3)),
            utc("2027-05-03T21:00:00Z")
        );
    }

    #[test]
    fn reminders_and_escalations_move_by_working_days() {
        let deadline = utc("2026-05-12T21:00:00Z"); // the end of Tuesday 12 May
        assert_eq!(
            CITY.working_days_before(deadline, 1),
            utc("2026-05-11T21:00:00Z")
        );
        assert_eq!(
            CITY.working_days_before(deadline, 2),
            utc("2026-05-07T21:00:00Z")
        );
        assert_eq!(CITY.working_days_before(deadline, 0), deadline);
        // A term no one means ends after some 140 years instead of keeping the engine counting.
        let far = CITY.deadline(deadline, &working(u32::MAX));
        assert!(far > deadline && far < deadline + TimeDelta::days(366 * 150));
        assert_eq!(
            CITY.working_days_after(utc("2026-04-30T21:00:00Z"), 1),
            utc("2026-05-04T21:00:00Z")
        );
        // At a time of day: 24 August 2026 (Monday) is a holiday.
        assert_eq!(
            CITY.working_days_after(kyiv("2026-08-19 11:00"), 3),
            kyiv("2026-08-25 11:00")
        );
        assert_eq!(
            CITY.working_days_before(kyiv("2026-08-25 11:00"), 3),
            kyiv("2026-08-19 11:00")
        );
    }

    #[test]
    fn declared_hours_zone_and_week_are_used() {
        let spec = model::Calendar {
            working_week: vec![model::Weekday::Sun, model::Weekday::Mon],
            working_hours: model::WorkingHours {
                opens: "08:00".into(),
                closes: "13:00".into(),
            },
            time_zone: "UTC".into(),
            holidays: vec![],
        };
        let short = Calendar::from_spec(&spec);
        // Tuesday 14:00 UTC: the next working day is Sunday, then Monday.
        assert_eq!(
            short.deadline(utc("2026-09-01T14:00:00Z"), &working(2)),
            utc("2026-09-08T00:00:00Z")
        );
        // Monday 13:30 is after its closing time.
        assert_eq!(
            short.deadline(utc("2026-09-07T13:30:00Z"), &calendar(0)),
            utc("2026-09-14T00:00:00Z")
        );
    }

    fn moments() -> impl Strategy<Value = DateTime<Utc>> {
        let from = utc("2026-01-01T00:00:00Z").timestamp();
        let to = utc("2027-10-01T00:00:00Z").timestamp();
        (from..to).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap())
    }

    fn counting() -> impl Strategy<Value = DayCount> {
        prop_oneof![Just(DayCount::Working), Just(DayCount::Calendar)]
    }

    /// The local day a deadline (a local midnight) ends.
    fn last_day(deadline: DateTime<Utc>) -> NaiveDate {
        let local = deadline.with_timezone(&chrono_tz::Europe::Kyiv);
        assert_eq!(
            (local.hour(), local.minute(), local.second()),
            (0, 0, 0),
            "{deadline} is not the city's midnight"
        );
        local.date_naive().pred_opt().unwrap()
    }

    proptest! {
        #[test]
        fn a_deadline_ends_a_working_day_after_its_start(
            from in moments(), days in 0u32..70, counting in counting()
        ) {
            let deadline = CITY.deadline(from, &Days { days, counting });
            prop_assert!(CITY.is_working_day(last_day(deadline)));
            prop_assert!(deadline > from);
        }

        #[test]
        fn a_longer_period_never_ends_sooner(
            from in moments(), days in 0u32..70, counting in counting()
        ) {
            let shorter = CITY.deadline(from, &Days { days, counting });
            let longer = CITY.deadline(from, &Days { days: days + 1, counting });
            prop_assert!(shorter <= longer);
            if counting == DayCount::Working && days > 0 {
                prop_assert!(shorter < longer);
            }
        }

        #[test]
        fn working_days_are_counted_exactly(from in moments(), days in 1u32..70) {
            let last = last_day(CITY.deadline(from, &working(days)));
            let first = from.with_timezone(&chrono_tz::Europe::Kyiv).date_naive();
            let counted = first
                .iter_days()
                .skip(1)
                .take_while(|d| *d <= last)
                .filter(|d| CITY.is_working_day(*d))
                .count();
            prop_assert_eq!(counted, days as usize);
        }

        #[test]
        fn before_undoes_after_at_the_end_of_a_working_day(
            from in moments(), after in 0u32..70, n in 0u32..20
        ) {
            let deadline = CITY.deadline(from, &working(after));
            let reminder = CITY.working_days_before(deadline, n);
            prop_assert!(reminder <= deadline);
            prop_assert!(deadline - reminder >= TimeDelta::days(i64::from(n)));
            prop_assert_eq!(CITY.working_days_after(reminder, n), deadline);
        }

        #[test]
        fn the_days_between_a_start_and_its_deadline_are_the_term(
            from in moments(), days in 1u32..70
        ) {
            let deadline = CITY.deadline(from, &working(days));
            // The deadline is the midnight ending its last day: a moment before it is that day.
            let last_moment = deadline - TimeDelta::seconds(1);
            prop_assert_eq!(CITY.working_days_between(from, last_moment), days);
            prop_assert_eq!(CITY.working_days_between(last_moment, from), 0);
        }
    }

    #[test]
    fn days_to_a_decision_skip_weekends_and_holidays() {
        // Monday 21 December 2026; Friday the 25th is Christmas.
        let monday = kyiv("2026-12-21 09:00");
        assert_eq!(
            CITY.working_days_between(monday, kyiv("2026-12-21 17:59")),
            0
        );
        assert_eq!(
            CITY.working_days_between(monday, kyiv("2026-12-22 00:30")),
            1
        );
        assert_eq!(
            CITY.working_days_between(monday, kyiv("2026-12-27 12:00")),
            3
        );
        assert_eq!(
            CITY.working_days_between(monday, kyiv("2026-12-28 08:00")),
            4
        );
        assert_eq!(CITY.zone(), chrono_tz::Europe::Kyiv);
    }
}
