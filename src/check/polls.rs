//! Polls (H0130–H0133): at least two options, options that read differently, a period that
//! ends on or after it starts, and a question and options with words in them. Unreadable dates
//! are H0305's (formats), duplicate option ids H0201's (nested ids).

use std::collections::HashMap;

use crate::spec::model::Poll;
use crate::spec::{Diagnostic, Kind};

use super::Checker;

pub(super) fn check(c: &mut Checker) {
    for poll in &c.spec().polls {
        options(c, poll);
        period(c, poll);
        blank_text(c, poll);
    }
}

/// H0130: fewer than two options; H0131: two options a person reads as the same answer.
fn options(c: &mut Checker, poll: &Poll) {
    if poll.options.len() < 2 {
        c.report(
            Diagnostic::error(
                "H0130",
                format!(
                    "poll `{}` has {} option{}, so there is nothing to choose",
                    poll.id,
                    poll.options.len(),
                    if poll.options.len() == 1 { "" } else { "s" }
                ),
            )
            .at(c.at(Kind::Poll, &poll.id, ""))
            .help("give the poll at least two `option \"id\" \"answer\"` lines"),
        );
    }
    let mut first: HashMap<String, usize> = HashMap::new();
    for (i, option) in poll.options.iter().enumerate() {
        let key = normalised(&option.label);
        if key.is_empty() {
            continue;
        }
        match first.get(&key) {
            None => {
                first.insert(key, i);
            }
            Some(&earlier) => c.report(
                Diagnostic::error(
                    "H0131",
                    format!(
                        "poll `{}` offers the answer «{}» twice (options `{}` and `{}`)",
                        poll.id, option.label, poll.options[earlier].id, option.id
                    ),
                )
                .at(c.at(Kind::Poll, &poll.id, &format!("/options/{i}/label")))
                .related(
                    c.at(Kind::Poll, &poll.id, &format!("/options/{earlier}/label")),
                    "the same answer first offered here",
                )
                .detail("people could not tell the two apart, and their answers would be split")
                .help("remove one of the options, or reword it so that it says something else"),
            ),
        }
    }
}

/// An answer as people read it: case, spacing and final punctuation aside.
fn normalised(label: &str) -> String {
    label
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches(['.', '!', '?', ';', ','])
        .to_lowercase()
}

/// H0132: the poll closes before it opens.
fn period(c: &mut Checker, poll: &Poll) {
    let Some((from, Some(until))) = poll.days() else {
        return;
    };
    if until < from {
        c.report(
            Diagnostic::error(
                "H0132",
                format!("poll `{}` closes before it opens", poll.id),
            )
            .at(c.at(Kind::Poll, &poll.id, "/period/until"))
            .related(c.at(Kind::Poll, &poll.id, "/period/from"), "it opens here")
            .detail(format!(
                "it is open from {from} until {until}: nobody could ever answer it"
            ))
            .help("swap the dates, or correct `until` to a day on or after `from`"),
        );
    }
}

/// H0133: a question or an option without words.
fn blank_text(c: &mut Checker, poll: &Poll) {
    let blank = |c: &mut Checker, pointer: String, what: String| {
        c.report(
            Diagnostic::error("H0133", format!("poll `{}` has an empty {what}", poll.id))
                .at(c.at(Kind::Poll, &poll.id, &pointer))
                .help("write what people read on the portal, in plain words"),
        );
    };
    if poll.question.trim().is_empty() {
        blank(c, "/question".into(), "question".into());
    }
    for (i, option) in poll.options.iter().enumerate() {
        if option.label.trim().is_empty() {
            blank(
                c,
                format!("/options/{i}/label"),
                format!("answer for option `{}`", option.id),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::normalised;

    #[test]
    fn answers_differing_only_in_case_spacing_or_final_stop_read_the_same() {
        assert_eq!(
            normalised("  Висадити   дерева. "),
            normalised("висадити дерева")
        );
        assert_ne!(normalised("Висадити дерева"), normalised("Висадити кущі"));
    }
}
