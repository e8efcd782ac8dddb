//! The `poll` kind: a question the city asks on the portal (003 §2.2(10)), its options, who it
//! is for and the days it is open. One answer per person; results are public after the close.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::Validity;
use super::eservice::UserCategory;

/// A poll of the portal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-example" = r#"poll "park-renewal" {
    question "Що насамперед облаштувати в парку Перемоги?"
    description "Результати врахують у плані робіт на 2027 рік."
    audience "signed-in"
    period from="2026-12-01" until="2026-12-31"
    option "trees" "Висадити дерева"
    option "benches" "Встановити лавки"
    option "lighting" "Освітлити алеї"
}"#))]
pub struct Poll {
    /// Poll id.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// The question, as people read it.
    pub question: String,
    /// What the poll is for and what happens with its results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Who sees the poll and may answer it; answering always needs signing in.
    pub audience: Audience,
    /// The days it is open, `from` to `until` inclusive, in the system's calendar; results are
    /// shown from the day after `until`.
    pub period: Validity,
    /// The answers to choose from, at least two.
    #[schemars(extend("x-kdl" = "children", "x-kdl-node" = "option"))]
    pub options: Vec<PollOption>,
}

/// Who a poll is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Audience {
    /// Shown to everyone; anyone who signs in may answer.
    Everyone,
    /// Shown to and answered by signed-in people only.
    SignedIn,
    /// Signed-in individuals only (no EDRPOU in their sign-in).
    Individual,
    /// Signed-in entrepreneurs only (their sign-in's EDRPOU is a 10-digit RNOKPP).
    Entrepreneur,
    /// Signed-in representatives of legal entities only (an 8-digit EDRPOU).
    LegalEntity,
}

impl Audience {
    /// The user category the poll is limited to, if any.
    pub fn category(self) -> Option<UserCategory> {
        match self {
            Audience::Everyone | Audience::SignedIn => None,
            Audience::Individual => Some(UserCategory::Individual),
            Audience::Entrepreneur => Some(UserCategory::Entrepreneur),
            Audience::LegalEntity => Some(UserCategory::LegalEntity),
        }
    }
}

/// One answer of a poll.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PollOption {
    /// Option id, unique within the poll: what the counts are kept by.
    #[schemars(extend("x-kdl" = "arg"))]
    pub id: String,
    /// The answer as people read it.
    #[schemars(extend("x-kdl" = "arg"))]
    pub label: String,
}

/// Where a poll stands on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollPhase {
    /// Its first day is still to come.
    Upcoming,
    Open,
    /// Its last day has passed: results are public.
    Closed,
}

impl Poll {
    /// First and last day, when both are readable (an open-ended poll has no last day).
    pub fn days(&self) -> Option<(NaiveDate, Option<NaiveDate>)> {
        let from = NaiveDate::parse_from_str(&self.period.from, "%Y-%m-%d").ok()?;
        let until = match &self.period.until {
            Some(until) => Some(NaiveDate::parse_from_str(until, "%Y-%m-%d").ok()?),
            None => None,
        };
        Some((from, until))
    }

    /// Where the poll stands on `today`; `None` when its period does not read.
    pub fn phase(&self, today: NaiveDate) -> Option<PollPhase> {
        let (from, until) = self.days()?;
        Some(if today < from {
            PollPhase::Upcoming
        } else if until.is_some_and(|until| today > until) {
            PollPhase::Closed
        } else {
            PollPhase::Open
        })
    }

    pub fn option(&self, id: &str) -> Option<&PollOption> {
        self.options.iter().find(|o| o.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll(from: &str, until: Option<&str>) -> Poll {
        Poll {
            id: "p".into(),
            question: "?".into(),
            description: None,
            audience: Audience::Everyone,
            period: Validity {
                from: from.into(),
                until: until.map(str::to_string),
            },
            options: vec![],
        }
    }

    #[test]
    fn a_poll_is_open_on_its_first_and_last_day_and_closed_after() {
        let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
        let p = poll("2026-12-01", Some("2026-12-31"));
        assert_eq!(p.phase(day("2026-11-30")), Some(PollPhase::Upcoming));
        assert_eq!(p.phase(day("2026-12-01")), Some(PollPhase::Open));
        assert_eq!(p.phase(day("2026-12-31")), Some(PollPhase::Open));
        assert_eq!(p.phase(day("2027-01-01")), Some(PollPhase::Closed));
        assert_eq!(
            poll("2026-12-01", None).phase(day("2099-01-01")),
            Some(PollPhase::Open)
        );
        assert_eq!(poll("1 грудня", None).phase(day("2026-12-01")), None);
    }
}
