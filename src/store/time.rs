//! The one way the store writes a moment: RFC 3339 UTC text with nanoseconds, which reads back
//! exactly and sorts as time does, so windows and expiries are plain text comparisons on either
//! database.

use chrono::{DateTime, SecondsFormat, Utc};

/// `t` as the store writes it, e.g. `2026-12-07T09:30:00.000000000Z`.
pub fn time_text(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// A moment the store wrote with [`time_text`] (or any RFC 3339 text), read back; `None` for text
/// that is not one.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_moment_reads_back_exactly_and_sorts_as_text() {
        let earlier = Utc.timestamp_opt(1_780_000_000, 5).unwrap();
        let later = Utc.timestamp_opt(1_780_000_000, 123_456_789).unwrap();
        let (a, b) = (time_text(&earlier), time_text(&later));
        assert_eq!(a, "2026-05-28T20:26:40.000000005Z");
        assert!(a < b);
        assert_eq!(parse_time(&a), Some(earlier));
        assert_eq!(parse_time(&b), Some(later));
        assert_eq!(parse_time("2026-05-28 20:26"), None);
    }
}
