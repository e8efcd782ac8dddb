//! Which rule of the applied retention schedule keeps an original (003 §5.11): the rule for its
//! class of records filed in its case of the case index, else the class's rule for no case, else
//! the class's rule that keeps records longest (never less than the policy asks).

use crate::spec::model::{RecordClass, Retention, RetentionAction, parse_duration_days};

/// The rule of `rules` that keeps a record of `class` filed in `case`, if any names the class.
pub fn rule_for<'a>(
    rules: &'a [Retention],
    class: RecordClass,
    case: Option<&str>,
) -> Option<&'a Retention> {
    let of_class = || rules.iter().filter(move |r| r.record == class);
    if let Some(case) = case
        && let Some(rule) = of_class().find(|r| r.case.as_deref() == Some(case))
    {
        return Some(rule);
    }
    of_class().find(|r| r.case.is_none()).or_else(|| {
        of_class().fold(None, |best, r| match best {
            Some(b) if !keeps_longer(r, b) => Some(b),
            _ => Some(r),
        })
    })
}

/// Whether `a` keeps records longer than `b`: a longer period, or as long and an end that keeps
/// them (archive, then review, anonymise, destroy).
fn keeps_longer(a: &Retention, b: &Retention) -> bool {
    let days = |r: &Retention| parse_duration_days(&r.period).unwrap_or(f64::INFINITY);
    let end = |r: &Retention| match r.action {
        RetentionAction::Archive => 3,
        RetentionAction::Review => 2,
        RetentionAction::Anonymise => 1,
        RetentionAction::Destroy => 0,
    };
    match days(a).total_cmp(&days(b)) {
        std::cmp::Ordering::Equal => end(a) > end(b),
        longer => longer == std::cmp::Ordering::Greater,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::Trigger;

    fn rule(id: &str, class: RecordClass, period: &str, case: Option<&str>) -> Retention {
        Retention {
            id: id.into(),
            record: class,
            period: period.into(),
            trigger: Trigger::Closed,
            action: if id.ends_with("short") {
                RetentionAction::Destroy
            } else {
                RetentionAction::Archive
            },
            legal_hold: false,
            case: case.map(str::to_string),
        }
    }

    #[test]
    fn the_rule_of_the_case_then_the_general_one_then_the_longest() {
        let rules = [
            rule("documents", RecordClass::Document, "5y", None),
            rule(
                "decisions",
                RecordClass::Document,
                "permanent",
                Some("01-01"),
            ),
            rule("aid", RecordClass::Application, "5y", Some("03-10")),
            rule("apps-short", RecordClass::Application, "10y", Some("05-01")),
            rule("apps", RecordClass::Application, "10y", Some("04-01")),
            rule("log", RecordClass::MessageLog, "3y", None),
        ];
        let id = |class, case| rule_for(&rules, class, case).map(|r| r.id.as_str());
        assert_eq!(id(RecordClass::Document, Some("01-01")), Some("decisions"));
        assert_eq!(id(RecordClass::Document, Some("07-01")), Some("documents"));
        assert_eq!(id(RecordClass::Document, None), Some("documents"));
        assert_eq!(id(RecordClass::Application, Some("03-10")), Some("aid"));
        assert_eq!(id(RecordClass::Application, None), Some("apps"));
        assert_eq!(id(RecordClass::Draft, None), None);
    }
}
