//! The series of `/metrics` that name a revision: `hromada_applied_revision_info` and
//! `hromada_head_refused`. They are written from the reconciler's state at each scrape rather
//! than kept by the recorder, so each has exactly one series and a replaced revision's is gone.

use std::fmt::Write;

/// The Prometheus text of both families: the revision served, and the source's newest revision
/// attempted with 1 when it was refused (0 when applied).
pub fn render(applied: Option<&str>, head: Option<(&str, bool)>) -> String {
    let mut text = String::new();
    if let Some(revision) = applied {
        family(
            &mut text,
            "hromada_applied_revision_info",
            "The revision this replica serves (one series).",
            revision,
            1,
        );
    }
    if let Some((revision, refused)) = head {
        family(
            &mut text,
            "hromada_head_refused",
            "1 when the source's newest revision was refused, 0 when it was applied (one series).",
            revision,
            u8::from(refused),
        );
    }
    text
}

fn family(text: &mut String, name: &str, help: &str, revision: &str, value: u8) {
    let _ = write!(
        text,
        "# HELP {name} {help}\n# TYPE {name} gauge\n{name}{{revision=\"{}\"}} {value}\n\n",
        escape(revision)
    );
}

/// A label value as the text format wants it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_series_each_and_nothing_before_a_revision() {
        assert_eq!(render(None, None), "");
        let text = render(Some("abc"), Some(("de\"f", true)));
        assert!(text.contains("hromada_applied_revision_info{revision=\"abc\"} 1\n"));
        assert!(text.contains("hromada_head_refused{revision=\"de\\\"f\"} 1\n"));
        assert_eq!(text.matches("revision=").count(), 2);
    }
}
