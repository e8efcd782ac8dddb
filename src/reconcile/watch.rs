//! Watches the spec root with `notify` and turns bursts of file events into single triggers: a
//! `git pull` touching fifty files is one reconcile. Events under `.git/`, `target/`, hidden
//! folders and the appliance's own data folder are ignored, or the store's writes would loop.

use std::path::Path;
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How long the tree must stay quiet before a burst of events counts as done.
pub const QUIET: Duration = Duration::from_millis(60);
/// The longest a burst may delay its reconcile.
pub const MAX_DELAY: Duration = Duration::from_secs(1);

/// Starts watching `root`; each relevant event sends `()` on `tx`. The watcher stops when the
/// returned handle is dropped.
pub fn watch(
    root: &Path,
    data_dir: &Path,
    tx: mpsc::UnboundedSender<()>,
) -> notify::Result<RecommendedWatcher> {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let ignored_data = data_dir
        .canonicalize()
        .unwrap_or_else(|_| data_dir.to_path_buf());
    let watched_root = root.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let relevant = match &event {
            Ok(event) => {
                !event.kind.is_access()
                    && event
                        .paths
                        .iter()
                        .any(|p| is_relevant(&watched_root, &ignored_data, p))
            }
            Err(_) => true,
        };
        if relevant {
            let _ = tx.send(());
        }
    })?;
    watcher.watch(&root, RecursiveMode::Recursive)?;
    Ok(watcher)
}

fn is_relevant(root: &Path, data_dir: &Path, path: &Path) -> bool {
    // The data folder is the appliance's own writing only when it sits inside the root; a root
    // kept inside the data folder (`/var/lib/hromada/spec`) is the spec all the same.
    let data_inside_root = data_dir != root && data_dir.starts_with(root);
    if data_inside_root && path.starts_with(data_dir) {
        return false;
    }
    let Ok(rel) = path.strip_prefix(root) else {
        return true;
    };
    let first_is_build_output = rel
        .components()
        .next()
        .is_some_and(|c| c.as_os_str() == "target");
    !first_is_build_output
        && !rel
            .components()
            .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
}

/// Waits out a burst that has just begun: returns once `rx` has been quiet for `QUIET`, or
/// `MAX_DELAY` after the burst began. Returns false when the channel is closed.
pub async fn settle(rx: &mut mpsc::UnboundedReceiver<()>) -> bool {
    let deadline = Instant::now() + MAX_DELAY;
    loop {
        let wait = QUIET.min(deadline.saturating_duration_since(Instant::now()));
        if wait.is_zero() {
            return true;
        }
        match tokio::time::timeout(wait, rx.recv()).await {
            Ok(Some(())) => continue,
            Ok(None) => return false,
            Err(_) => return true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_folder_git_and_hidden_files_are_not_changes_to_the_spec() {
        let root = Path::new("/r");
        let data = Path::new("/r/data");
        assert!(is_relevant(root, data, Path::new("/r/spec/a.kdl")));
        assert!(is_relevant(root, data, Path::new("/r/pki/ca.crt")));
        assert!(!is_relevant(
            root,
            data,
            Path::new("/r/data/hromada.db-wal")
        ));
        assert!(!is_relevant(root, data, Path::new("/r/.git/index")));
        assert!(!is_relevant(root, data, Path::new("/r/spec/.a.kdl.swp")));
        assert!(!is_relevant(root, data, Path::new("/r/target/debug/x")));
        let inside_data = Path::new("/var/lib/hromada/spec");
        let data = Path::new("/var/lib/hromada");
        assert!(is_relevant(
            inside_data,
            data,
            Path::new("/var/lib/hromada/spec/spec/a.kdl")
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_fifty_events_settles_once_after_the_last() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let writer = tokio::spawn(async move {
            for _ in 0..50 {
                tx.send(()).unwrap();
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            tx
        });
        rx.recv().await.unwrap();
        let began = Instant::now();
        assert!(settle(&mut rx).await);
        let waited = began.elapsed();
        assert!(
            waited >= Duration::from_millis(49 * 2) + QUIET,
            "{waited:?}"
        );
        assert!(
            rx.try_recv().is_err(),
            "every event of the burst was consumed"
        );
        drop(writer.await.unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn an_endless_stream_of_events_delays_a_reconcile_by_at_most_max_delay() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while tx.send(()).is_ok() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        rx.recv().await.unwrap();
        let began = Instant::now();
        assert!(settle(&mut rx).await);
        assert_eq!(began.elapsed(), MAX_DELAY);
    }
}
