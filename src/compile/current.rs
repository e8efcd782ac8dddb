//! The applied revision as the runtime shares it: a request reads the served snapshot once
//! (`Current::load_full`), a background runner is told of each newly applied one (`Revisions`)
//! instead of polling for it. Only the reconciler's `Publisher` changes it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use tokio::sync::watch;

use super::Compiled;

struct Inner {
    served: ArcSwapOption<Compiled>,
    announced: watch::Receiver<Option<Arc<Compiled>>>,
}

/// A handle on the applied revision, cheap to clone.
#[derive(Clone)]
pub struct Current {
    inner: Arc<Inner>,
}

/// The one side that applies revisions: it swaps the served snapshot, then announces it.
pub struct Publisher {
    inner: Arc<Inner>,
    announce: watch::Sender<Option<Arc<Compiled>>>,
}

/// A runner's subscription: each revision applied from now on, and the one applied already.
pub struct Revisions {
    announced: watch::Receiver<Option<Arc<Compiled>>>,
}

/// A publisher and the handle it publishes to, nothing applied yet.
pub fn channel() -> (Publisher, Current) {
    let (announce, announced) = watch::channel(None);
    let inner = Arc::new(Inner {
        served: ArcSwapOption::empty(),
        announced,
    });
    let current = Current {
        inner: inner.clone(),
    };
    (Publisher { inner, announce }, current)
}

impl Current {
    /// The snapshot being served, `None` before a revision is applied.
    pub fn load_full(&self) -> Option<Arc<Compiled>> {
        self.inner.served.load_full()
    }

    /// The applied revision's id, without holding its snapshot.
    pub fn revision_id(&self) -> Option<String> {
        self.inner
            .served
            .load()
            .as_ref()
            .map(|c| c.revision.id.clone())
    }

    pub fn is_applied(&self) -> bool {
        self.inner.served.load().is_some()
    }

    /// The revisions applied from now on, starting with the one applied already (if any).
    pub fn subscribe(&self) -> Revisions {
        let mut announced = self.inner.announced.clone();
        announced.mark_changed();
        Revisions { announced }
    }
}

impl Publisher {
    pub fn current(&self) -> Current {
        Current {
            inner: self.inner.clone(),
        }
    }

    /// Serves `compiled` from now on and announces it to every subscriber; returns the snapshot
    /// it replaces. Requests already holding that one finish on it.
    pub fn publish(&self, compiled: Compiled) -> Option<Arc<Compiled>> {
        let compiled = Arc::new(compiled);
        let previous = self.inner.served.swap(Some(compiled.clone()));
        self.announce.send_replace(Some(compiled));
        previous
    }
}

impl Revisions {
    /// Waits for a revision this subscription has not yet given: the one applied when it was
    /// made, then each applied after it (one applied while the runner was busy replaces any
    /// before it that the runner did not see). Cancel-safe; never returns once the publisher
    /// is gone, since nothing more can be applied.
    pub async fn next(&mut self) -> Arc<Compiled> {
        loop {
            if self.announced.changed().await.is_err() {
                return std::future::pending().await;
            }
            if let Some(compiled) = self.announced.borrow_and_update().clone() {
                return compiled;
            }
        }
    }
}

impl Current {
    /// Hands each applied revision to `take` until `stopped` turns. A revision `take` could not
    /// take (`Err`, which `take` has logged) is handed again every `retry`, until a newer one
    /// replaces it.
    pub async fn follow<F, Fut>(
        &self,
        retry: Duration,
        mut stopped: watch::Receiver<bool>,
        mut take: F,
    ) where
        F: FnMut(Arc<Compiled>) -> Fut,
        Fut: Future<Output = Result<(), ()>>,
    {
        let mut revisions = self.subscribe();
        let mut pending: Option<Arc<Compiled>> = None;
        loop {
            let again = async {
                match pending {
                    Some(_) => tokio::time::sleep(retry).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                compiled = revisions.next() => pending = Some(compiled),
                _ = again => {}
                changed = stopped.changed() => if changed.is_err() || *stopped.borrow() { return },
            }
            let Some(compiled) = pending.take() else {
                continue;
            };
            if take(compiled.clone()).await.is_err() {
                pending = Some(compiled);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::compile::compile;
    use crate::identity::Revision;

    fn compiled(id: &str) -> Compiled {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/minimal");
        let spec = crate::spec::load(&root).spec;
        let revision = Revision {
            id: id.into(),
            content_hash: format!("hash-{id}"),
        };
        compile(spec, revision, None, Default::default()).expect("the minimal tree compiles")
    }

    async fn next(revisions: &mut Revisions) -> String {
        tokio::time::timeout(Duration::from_secs(30), revisions.next())
            .await
            .expect("a revision is announced")
            .revision
            .id
            .clone()
    }

    #[tokio::test]
    async fn a_subscriber_gets_the_applied_revision_then_each_new_one() {
        let (publisher, current) = channel();
        let mut early = current.subscribe();
        assert!(current.load_full().is_none());
        assert!(publisher.publish(compiled("one")).is_none());
        assert_eq!(current.revision_id().as_deref(), Some("one"));
        assert_eq!(next(&mut early).await, "one");

        let mut late = current.subscribe();
        assert_eq!(next(&mut late).await, "one", "the applied one comes first");
        let previous = publisher.publish(compiled("two"));
        assert_eq!(
            previous.map(|p| p.revision.id.clone()).as_deref(),
            Some("one")
        );
        assert_eq!(next(&mut early).await, "two");
        assert_eq!(next(&mut late).await, "two");
        assert_eq!(current.load_full().unwrap().revision.id, "two");
    }

    #[tokio::test]
    async fn a_busy_subscriber_skips_to_the_newest_revision() {
        let (publisher, current) = channel();
        let mut revisions = current.subscribe();
        publisher.publish(compiled("one"));
        publisher.publish(compiled("two"));
        assert_eq!(next(&mut revisions).await, "two");
        assert!(
            !revisions.announced.has_changed().unwrap(),
            "no revision is given twice"
        );
    }

    #[tokio::test]
    async fn nothing_is_applied_before_a_revision_is_published() {
        let (_publisher, current) = channel();
        let mut revisions = current.subscribe();
        assert!(revisions.announced.has_changed().unwrap());
        assert!(revisions.announced.borrow_and_update().is_none());
        assert!(!current.is_applied());
    }
}
