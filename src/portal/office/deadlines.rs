//! A case's deadline as an official reads it in the inbox: in working days of the case's
//! calendar, in words ("сьогодні", "ще 3 робочі дні", "прострочено на 2 робочі дні").

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::workflow::calendar::Calendar;

/// Days looked at one by one at most (a deadline decades away or ago is still told).
const MAX_DAYS: u64 = 3_660;

/// How urgent a deadline is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Urgency {
    Overdue,
    Today,
    Later,
}

/// A deadline told in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Told {
    pub urgency: Urgency,
    pub words: String,
    /// The last day, `31.12.2026`.
    pub date: String,
}

/// `deadline` (the end of its last day, as the engine sets it) as seen at `now`.
pub fn tell(calendar: &Calendar, zone: Tz, deadline: DateTime<Utc>, now: DateTime<Utc>) -> Told {
    let last = last_day(zone, deadline);
    let today = now.with_timezone(&zone).date_naive();
    let date = last.format("%d.%m.%Y").to_string();
    if now < deadline {
        if last <= today {
            return Told {
                urgency: Urgency::Today,
                words: "сьогодні".into(),
                date,
            };
        }
        let n = working_days_between(calendar, today, last);
        let words = if n == 0 {
            format!("до {date}")
        } else {
            format!("ще {}", working_days(n))
        };
        return Told {
            urgency: Urgency::Later,
            words,
            date,
        };
    }
    let n = working_days_between(calendar, last, today);
    let words = if n == 0 {
        format!("строк сплив {date}")
    } else {
        format!("прострочено на {}", working_days(n))
    };
    Told {
        urgency: Urgency::Overdue,
        words,
        date,
    }
}

/// The end of today in `zone` (the start of tomorrow): deadlines up to it are due today.
pub fn end_of_today(zone: Tz, now: DateTime<Utc>) -> DateTime<Utc> {
    let tomorrow = now
        .with_timezone(&zone)
        .date_naive()
        .checked_add_days(Days::new(1))
        .unwrap_or(NaiveDate::MAX);
    zone.from_local_datetime(&tomorrow.and_hms_opt(0, 0, 0).expect("midnight"))
        .earliest()
        .map_or(now, |t| t.with_timezone(&Utc))
}

/// The day a deadline ends with: the engine sets it to the city's midnight after that day.
fn last_day(zone: Tz, deadline: DateTime<Utc>) -> NaiveDate {
    (deadline - chrono::Duration::nanoseconds(1))
        .with_timezone(&zone)
        .date_naive()
}

/// Working days after `from` up to and including `to`.
fn working_days_between(calendar: &Calendar, from: NaiveDate, to: NaiveDate) -> u64 {
    let mut n = 0;
    let mut d = from;
    for _ in 0..MAX_DAYS {
        let Some(next) = d.checked_add_days(Days::new(1)) else {
            break;
        };
        if next > to {
            break;
        }
        d = next;
        if calendar.is_working_day(d) {
            n += 1;
        }
    }
    n
}

/// `n` working days in Ukrainian: 1 робочий день, 2 робочі дні, 5 робочих днів, 21 робочий день.
pub fn working_days(n: u64) -> String {
    let words = match (n % 10, n % 100) {
        (_, 11..=14) => "робочих днів",
        (1, _) => "робочий день",
        (2..=4, _) => "робочі дні",
        _ => "робочих днів",
    };
    format!("{n} {words}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calendar() -> Calendar {
        let spec: crate::spec::model::Calendar = serde_json::from_value(serde_json::json!({
            "time-zone": "Europe/Kyiv",
            "holidays": [{"date": "2026-12-25", "name": "Різдво"}],
        }))
        .unwrap();
        Calendar::from_spec(&spec)
    }

    /// The end of `day` of December 2026 in Kyiv (UTC+2): a deadline ending with that day.
    fn end_of(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, day, 22, 0, 0).unwrap()
    }

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, day, hour, 0, 0).unwrap()
    }

    fn words(deadline: DateTime<Utc>, now: DateTime<Utc>) -> (Urgency, String) {
        let told = tell(&calendar(), chrono_tz::Europe::Kyiv, deadline, now);
        (told.urgency, told.words)
    }

    #[test]
    fn a_deadline_reads_in_working_days() {
        // Monday 7 December 2026.
        assert_eq!(
            words(end_of(7), at(7, 9)),
            (Urgency::Today, "сьогодні".into())
        );
        assert_eq!(
            words(end_of(8), at(7, 9)),
            (Urgency::Later, "ще 1 робочий день".into())
        );
        // Friday the 11th from Monday, and past a weekend to Monday the 14th.
        assert_eq!(words(end_of(11), at(7, 9)).1, "ще 4 робочі дні");
        assert_eq!(words(end_of(14), at(7, 9)).1, "ще 5 робочих днів");
        // Christmas (Friday the 25th) is a holiday: from Monday the 21st to Monday the 28th.
        assert_eq!(words(end_of(28), at(21, 9)).1, "ще 4 робочі дні");
    }

    #[test]
    fn an_overdue_deadline_counts_the_working_days_since() {
        // Ended with Friday the 4th; on Tuesday the 8th two working days have passed.
        assert_eq!(
            words(end_of(4), at(8, 9)),
            (Urgency::Overdue, "прострочено на 2 робочі дні".into())
        );
        assert_eq!(
            words(end_of(4), at(7, 9)).1,
            "прострочено на 1 робочий день"
        );
        // On the Saturday after, no working day has passed yet.
        assert_eq!(words(end_of(4), at(5, 9)).1, "строк сплив 04.12.2026");
        // Just after midnight in Kyiv (22:00 UTC) the deadline has passed.
        assert_eq!(words(end_of(7), end_of(7)).0, Urgency::Overdue);
    }

    #[test]
    fn ukrainian_plurals_of_working_days() {
        for (n, expected) in [
            (1, "1 робочий день"),
            (3, "3 робочі дні"),
            (5, "5 робочих днів"),
            (11, "11 робочих днів"),
            (12, "12 робочих днів"),
            (21, "21 робочий день"),
            (22, "22 робочі дні"),
            (111, "111 робочих днів"),
        ] {
            assert_eq!(working_days(n), expected);
        }
    }

    #[test]
    fn today_ends_at_the_citys_midnight() {
        let kyiv = chrono_tz::Europe::Kyiv;
        assert_eq!(end_of_today(kyiv, at(7, 9)), end_of(7));
        // 23:30 in Kyiv is still the 7th there, though the 8th has begun nowhere else.
        assert_eq!(
            end_of_today(kyiv, at(7, 21) + chrono::Duration::minutes(30)),
            end_of(7)
        );
    }
}
