//! A clock read from a file, for integration tests only: `hromada serve --clock-file FILE`
//! (debug builds only; the option does not exist in a release build) lets a test move the
//! engine's time by rewriting one RFC 3339 line, so a month of deadlines runs in a second.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::clock::Clock;

/// The time written in a file, read again on every `now`.
pub struct FileClock {
    path: PathBuf,
    /// The last time read, kept while the file is being rewritten or holds no time.
    last: Mutex<DateTime<Utc>>,
}

impl FileClock {
    /// A clock at the time `path` holds; an error naming the file when it holds none.
    pub fn open(path: &Path) -> Result<FileClock, String> {
        let now = read(path)?;
        Ok(FileClock {
            path: path.to_path_buf(),
            last: Mutex::new(now),
        })
    }
}

impl Clock for FileClock {
    fn now(&self) -> DateTime<Utc> {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Ok(now) = read(&self.path) {
            *last = now;
        }
        *last
    }
}

fn read(path: &Path) -> Result<DateTime<Utc>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the clock file {}: {e}", path.display()))?;
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            format!(
                "the clock file {} must hold one RFC 3339 time such as 2026-12-07T09:00:00Z: {e}",
                path.display()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_follows_the_file_and_keeps_its_time_while_the_file_is_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clock");
        assert!(FileClock::open(&path).is_err());
        std::fs::write(&path, "2026-12-07T09:00:00Z\n").unwrap();
        let clock = FileClock::open(&path).unwrap();
        assert_eq!(clock.now().to_rfc3339(), "2026-12-07T09:00:00+00:00");
        std::fs::write(&path, "2026-12-24T17:30:00+02:00").unwrap();
        assert_eq!(clock.now().to_rfc3339(), "2026-12-24T15:30:00+00:00");
        std::fs::write(&path, "").unwrap();
        assert_eq!(clock.now().to_rfc3339(), "2026-12-24T15:30:00+00:00");
    }
}
