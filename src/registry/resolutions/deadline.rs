//! Deadlines of execution (КМУ №55 п.171): calendar days from registration, counted from the
//! next working day for a document registered after working hours or on a day off, the last day
//! moved off a day off; a date as the moment it ends, and back.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::spec::model::{DayCount, Days};
use crate::workflow::calendar::Calendar;

/// The last day of a term of `days` calendar days from a registration at `registered_at`.
pub fn from_registration(
    calendar: &Calendar,
    registered_at: DateTime<Utc>,
    days: u32,
) -> NaiveDate {
    let end = calendar.deadline(
        registered_at,
        &Days {
            days,
            counting: DayCount::Calendar,
        },
    );
    day_of(calendar, end)
}

/// The moment day `date` ends in the city (its midnight).
pub fn end_of(calendar: &Calendar, date: NaiveDate) -> DateTime<Utc> {
    calendar.end_of(date)
}

/// The day a deadline moment (the end of a day) closes.
pub fn day_of(calendar: &Calendar, end: DateTime<Utc>) -> NaiveDate {
    (end - Duration::seconds(1))
        .with_timezone(&calendar.zone())
        .date_naive()
}

/// A `YYYY-MM-DD` date; `None` for anything else.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model;

    fn calendar() -> Calendar {
        Calendar::from_spec(&model::Calendar::default())
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_term_runs_from_the_day_of_registration_within_working_hours() {
        // Monday 7 December 2026, 10:00 in Kyiv: 10 days run to Thursday 17 December.
        let day = from_registration(&calendar(), at("2026-12-07T08:00:00Z"), 10);
        assert_eq!(day.to_string(), "2026-12-17");
    }

    #[test]
    fn after_working_hours_the_term_runs_from_the_next_working_day() {
        // Monday 19:30 in Kyiv: counted from Tuesday, to Friday 18 December.
        let day = from_registration(&calendar(), at("2026-12-07T17:30:00Z"), 10);
        assert_eq!(day.to_string(), "2026-12-18");
        // Saturday: counted from Monday 14th, 10 days to Thursday 24th.
        let day = from_registration(&calendar(), at("2026-12-12T10:00:00Z"), 10);
        assert_eq!(day.to_string(), "2026-12-24");
    }

    #[test]
    fn a_last_day_off_moves_to_the_next_working_day() {
        // Monday + 5 = Saturday 12th: moved to Monday 14th.
        let day = from_registration(&calendar(), at("2026-12-07T08:00:00Z"), 5);
        assert_eq!(day.to_string(), "2026-12-14");
    }

    #[test]
    fn a_date_and_the_moment_it_ends_agree() {
        let c = calendar();
        let d = parse_date("2026-12-31").unwrap();
        assert_eq!(day_of(&c, end_of(&c, d)), d);
        assert_eq!(parse_date("31.12.2026"), None);
    }
}
