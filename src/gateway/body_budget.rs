//! How many request-body bytes a node holds at once, over all its connections. A body is read
//! whole before it is checked, and before its caller is authenticated, so without this bound
//! many large bodies sent at once could exhaust the node's memory.

use std::sync::Arc;

use axum::http::HeaderMap;
use axum::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How many bodies of the largest size a node holds at once.
pub const LARGEST_BODIES_AT_ONCE: usize = 64;

/// The bytes of request bodies being read or held; each body reserves its size first.
pub struct BodyBudget {
    bytes: Arc<Semaphore>,
    max_body: usize,
}

/// The node holds as many body bytes as it may; the request was not read.
#[derive(Debug)]
pub struct Full {
    pub budget: usize,
}

impl BodyBudget {
    pub fn new(max_body: usize) -> BodyBudget {
        let total = max_body
            .saturating_mul(LARGEST_BODIES_AT_ONCE)
            .clamp(1, Semaphore::MAX_PERMITS);
        BodyBudget {
            bytes: Arc::new(Semaphore::new(total)),
            max_body,
        }
    }

    /// Reserves room for the body `headers` announce: its `Content-Length`, or the largest body
    /// when its length is not known beforehand (chunked). Nothing is reserved for a request
    /// without a body, or with one over the largest, which is refused before it is read.
    pub fn reserve(&self, headers: &HeaderMap) -> Result<Option<OwnedSemaphorePermit>, Full> {
        let chunked = headers.contains_key(TRANSFER_ENCODING);
        let declared = headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<usize>().ok());
        let size = match (chunked, declared) {
            (true, _) => self.max_body,
            (false, Some(n)) if n <= self.max_body => n,
            _ => return Ok(None),
        };
        if size == 0 {
            return Ok(None);
        }
        let size = u32::try_from(size).unwrap_or(u32::MAX);
        match self.bytes.clone().try_acquire_many_owned(size) {
            Ok(permit) => Ok(Some(permit)),
            Err(_) => {
                metrics::counter!("hromada_gateway_bodies_refused_total").increment(1);
                Err(Full {
                    budget: self.max_body.saturating_mul(LARGEST_BODIES_AT_ONCE),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    #[test]
    fn bodies_reserve_their_size_until_the_budget_is_spent() {
        let budget = BodyBudget::new(10);
        assert!(budget.reserve(&headers(&[])).unwrap().is_none());
        assert!(
            budget
                .reserve(&headers(&[("content-length", "11")]))
                .unwrap()
                .is_none()
        );
        let mut held = Vec::new();
        for _ in 0..LARGEST_BODIES_AT_ONCE - 1 {
            held.push(
                budget
                    .reserve(&headers(&[("content-length", "10")]))
                    .unwrap(),
            );
        }
        held.push(
            budget
                .reserve(&headers(&[("content-length", "5")]))
                .unwrap(),
        );
        assert!(
            budget
                .reserve(&headers(&[("content-length", "6")]))
                .is_err()
        );
        assert!(
            budget
                .reserve(&headers(&[("transfer-encoding", "chunked")]))
                .is_err()
        );
        held.pop();
        assert!(
            budget
                .reserve(&headers(&[("transfer-encoding", "chunked")]))
                .is_ok()
        );
    }
}
