//! When a card's retention period has run (КМУ №55): its case in its participant's case index
//! for the card's year decides the period, counted from 1 January of the year after the case
//! was closed (the end of that year's record keeping); `permanent` never runs out.

use chrono::{Months, NaiveDate};

use crate::spec::model::{Case, CaseIndex, Spec};
use crate::store::CardRow;

/// Where a card stands against its retention period on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// The period ran: from `since` the card may be reviewed for destruction.
    Expired { since: NaiveDate },
    /// The period runs until the day before `until`.
    Kept { until: NaiveDate },
    /// The case is kept forever.
    Permanent,
    /// The period cannot be known; the reason names what is missing.
    Unknown(String),
}

/// The first day after the period `retention` (`5y`, `18mo`, `30d`, `2w`, `permanent`) of a
/// case closed in `case_year`: `None` for `permanent`; an error for text that is no period.
pub fn period_end(case_year: i32, retention: &str) -> Result<Option<NaiveDate>, String> {
    if retention == "permanent" {
        return Ok(None);
    }
    let bad = || format!("`{retention}` is not a retention period");
    let start = NaiveDate::from_ymd_opt(case_year + 1, 1, 1).ok_or_else(bad)?;
    let split = retention
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(bad)?;
    let n: u32 = retention[..split].parse().map_err(|_| bad())?;
    let end = match &retention[split..] {
        "y" => start.checked_add_months(Months::new(n.checked_mul(12).ok_or_else(bad)?)),
        "mo" => start.checked_add_months(Months::new(n)),
        "w" => start.checked_add_days(chrono::Days::new(u64::from(n) * 7)),
        "d" => start.checked_add_days(chrono::Days::new(u64::from(n))),
        // Shorter than a day: the period ends with the day it starts.
        "h" | "m" | "s" => Some(start),
        _ => None,
    };
    end.map(Some).ok_or_else(bad)
}

/// The case index of `participant` for `year`, if the spec has one.
pub fn case_index<'a>(spec: &'a Spec, participant: &str, year: i32) -> Option<&'a CaseIndex> {
    spec.case_indexes
        .iter()
        .find(|ci| ci.participant == participant && i64::from(ci.year) == i64::from(year))
}

/// The year of record keeping a card belongs to: its registration date's, else its creation's.
pub fn card_year(card: &CardRow) -> Option<i32> {
    let date = card.reg_date.as_deref().unwrap_or(&card.created_at);
    date.get(..4)?.parse().ok()
}

/// The case of the case index `card` is filed in, or why there is none.
pub fn case_of<'a>(spec: &'a Spec, card: &CardRow) -> Result<&'a Case, String> {
    let year = card_year(card).ok_or("the card has no year of registration")?;
    let code = card
        .case_code
        .as_deref()
        .ok_or("the card is filed in no case of the case index")?;
    let index = case_index(spec, &card.participant, year).ok_or_else(|| {
        format!(
            "`{}` has no case index for {year}, so the card's case `{code}` has no period",
            card.participant
        )
    })?;
    index
        .cases
        .iter()
        .find(|c| c.code == code)
        .ok_or_else(|| format!("case index `{}` has no case `{code}`", index.id))
}

/// Where `card` stands against its retention period on `today`.
pub fn fate(spec: &Spec, card: &CardRow, today: NaiveDate) -> Fate {
    let case = match case_of(spec, card) {
        Ok(case) => case,
        Err(why) => return Fate::Unknown(why),
    };
    let year = card_year(card).unwrap_or_default();
    match period_end(year, &case.retention) {
        Err(why) => Fate::Unknown(why),
        Ok(None) => Fate::Permanent,
        Ok(Some(end)) if end <= today => Fate::Expired { since: end },
        Ok(Some(end)) => Fate::Kept { until: end },
    }
}

/// The cases of `participant` whose period has run by `today`, as `(year, case)`: the cards
/// filed in them in that year are the ones a review lists.
pub fn expired_cases<'a>(
    spec: &'a Spec,
    participant: &str,
    today: NaiveDate,
) -> Vec<(i32, &'a Case)> {
    let mut found = Vec::new();
    for index in spec
        .case_indexes
        .iter()
        .filter(|ci| ci.participant == participant)
    {
        let Ok(year) = i32::try_from(index.year) else {
            continue;
        };
        for case in &index.cases {
            if let Ok(Some(end)) = period_end(year, &case.retention)
                && end <= today
            {
                found.push((year, case));
            }
        }
    }
    found.sort_by(|a, b| (a.0, &a.1.code).cmp(&(b.0, &b.1.code)));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn periods_count_from_the_first_of_january_after_the_case_closed() {
        assert_eq!(period_end(2026, "5y"), Ok(Some(date("2032-01-01"))));
        assert_eq!(period_end(2026, "3y"), Ok(Some(date("2030-01-01"))));
        assert_eq!(period_end(2026, "18mo"), Ok(Some(date("2028-07-01"))));
        assert_eq!(period_end(2026, "10d"), Ok(Some(date("2027-01-11"))));
        assert_eq!(period_end(2026, "2w"), Ok(Some(date("2027-01-15"))));
        assert_eq!(period_end(2026, "permanent"), Ok(None));
        assert!(period_end(2026, "five years").is_err());
        assert!(period_end(2026, "5").is_err());
        assert!(period_end(2026, "y").is_err());
    }

    fn spec() -> Spec {
        let mut spec = Spec::default();
        spec.case_indexes.push(CaseIndex {
            id: "council-2026".into(),
            participant: "council".into(),
            year: 2026,
            cases: vec![
                Case {
                    code: "01-01".into(),
                    title: "Рішення".into(),
                    retention: "permanent".into(),
                    article: None,
                },
                Case {
                    code: "01-25".into(),
                    title: "Листування".into(),
                    retention: "5y".into(),
                    article: None,
                },
                Case {
                    code: "05-02".into(),
                    title: "Журнали".into(),
                    retention: "3y".into(),
                    article: None,
                },
            ],
        });
        spec
    }

    fn card(case: Option<&str>, reg_date: Option<&str>) -> CardRow {
        let at = "2025-12-30T10:00:00Z".parse().expect("a time");
        CardRow {
            status: "executed".into(),
            reg_date: reg_date.map(str::to_string),
            case_code: case.map(str::to_string),
            ..CardRow::draft(
                "card-1",
                ("council", "incoming", "incoming"),
                "letter",
                "official:x",
                &at,
            )
        }
    }

    #[test]
    fn a_card_expires_on_the_first_day_after_its_period_and_not_before() {
        let spec = spec();
        let letter = card(Some("01-25"), Some("2026-12-31"));
        assert_eq!(
            fate(&spec, &letter, date("2031-12-31")),
            Fate::Kept {
                until: date("2032-01-01")
            }
        );
        assert_eq!(
            fate(&spec, &letter, date("2032-01-01")),
            Fate::Expired {
                since: date("2032-01-01")
            }
        );
        let decision = card(Some("01-01"), Some("2026-02-01"));
        assert_eq!(fate(&spec, &decision, date("2999-01-01")), Fate::Permanent);
    }

    #[test]
    fn the_cards_year_picks_the_case_index() {
        let spec = spec();
        // Created in 2025, registered in 2026: the 2026 case index applies.
        assert!(matches!(
            fate(
                &spec,
                &card(Some("05-02"), Some("2026-01-02")),
                date("2030-01-01")
            ),
            Fate::Expired { .. }
        ));
        // A draft of 2025 has no case index: its period is unknown, never "expired".
        match fate(&spec, &card(Some("05-02"), None), date("2090-01-01")) {
            Fate::Unknown(why) => assert!(why.contains("no case index for 2025"), "{why}"),
            other => panic!("{other:?}"),
        }
        match fate(
            &spec,
            &card(Some("09-99"), Some("2026-03-01")),
            date("2090-01-01"),
        ) {
            Fate::Unknown(why) => assert!(why.contains("no case `09-99`"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            fate(&spec, &card(None, Some("2026-03-01")), date("2090-01-01")),
            Fate::Unknown(_)
        ));
    }

    #[test]
    fn expired_cases_are_those_whose_period_ran() {
        let spec = spec();
        let codes = |d: &str| {
            expired_cases(&spec, "council", date(d))
                .iter()
                .map(|(y, c)| format!("{y}/{}", c.code))
                .collect::<Vec<_>>()
        };
        assert!(codes("2029-12-31").is_empty());
        assert_eq!(codes("2030-01-01"), ["2026/05-02"]);
        assert_eq!(codes("2032-06-01"), ["2026/01-25", "2026/05-02"]);
        assert!(expired_cases(&spec, "other", date("2090-01-01")).is_empty());
    }
}
