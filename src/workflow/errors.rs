//! Why the engine refused or failed a request, each with a stable code for APIs and a message
//! for people: what, to which case, and what to do.

use std::fmt;

use crate::store::StoreError;

/// Why the engine refused or failed a request; the message says what, to which case, and what
/// to do.
#[derive(Debug)]
pub enum EngineError {
    /// No revision has been applied to the engine yet.
    NoRevision,
    UnknownEService(String),
    UnknownCase(String),
    /// The event is not a transition of the case's state.
    UnknownEvent {
        case_id: String,
        state: String,
        event: String,
        events: Vec<String>,
    },
    /// The actor may not fire the transition.
    NotAllowed {
        case_id: String,
        message: String,
    },
    /// The transition's guard does not hold.
    GuardFailed {
        case_id: String,
        event: String,
        guard: String,
        why: Option<String>,
    },
    /// The case is no longer in the state the caller saw (someone else moved it).
    Stale {
        case_id: String,
        seen: String,
        now: String,
    },
    /// The case has an outcome; nothing moves it any more.
    Closed {
        case_id: String,
        outcome: String,
    },
    /// The idempotency key was used for a different request.
    KeyReused {
        key: String,
    },
    /// A request is malformed (empty key, data that is not an object, …).
    Invalid(String),
    /// The pinned definition is missing or broken, or an action cannot be done.
    Definition(String),
    Store(StoreError),
}

impl EngineError {
    /// A stable short name of the error's kind, for APIs.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::NoRevision => "no-revision",
            EngineError::UnknownEService(_) => "unknown-e-service",
            EngineError::UnknownCase(_) => "unknown-case",
            EngineError::UnknownEvent { .. } => "unknown-event",
            EngineError::NotAllowed { .. } => "not-allowed",
            EngineError::GuardFailed { .. } => "guard-failed",
            EngineError::Stale { .. } => "stale",
            EngineError::Closed { .. } => "closed",
            EngineError::KeyReused { .. } => "key-reused",
            EngineError::Invalid(_) => "invalid",
            EngineError::Definition(_) => "definition",
            EngineError::Store(_) => "store",
        }
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::NoRevision => f.write_str(
                "the case engine has no revision of the spec yet; wait until the appliance has \
                 applied one (see /api/status)",
            ),
            EngineError::UnknownEService(id) => write!(
                f,
                "e-service `{id}` is not declared in the applied revision; check its id in the catalogue"
            ),
            EngineError::UnknownCase(id) => write!(f, "there is no case `{id}`"),
            EngineError::UnknownEvent {
                case_id,
                state,
                event,
                events,
            } => write!(
                f,
                "case {case_id} is in state `{state}`, which has no transition `{event}`; it has: {}",
                if events.is_empty() {
                    "none".to_string()
                } else {
                    events.join(", ")
                }
            ),
            EngineError::NotAllowed { case_id, message } => {
                write!(f, "case {case_id}: {message}")
            }
            EngineError::GuardFailed {
                case_id,
                event,
                guard,
                why,
            } => {
                write!(
                    f,
                    "case {case_id}: transition `{event}` is not allowed now: its condition \
                     `{guard}` does not hold"
                )?;
                match why {
                    Some(why) => write!(f, " (it could not be judged: {why})"),
                    None => Ok(()),
                }
            }
            EngineError::Stale { case_id, seen, now } => write!(
                f,
                "case {case_id} is no longer in state `{seen}`: someone else moved it to `{now}`; \
                 reload the case and decide again"
            ),
            EngineError::Closed { case_id, outcome } => write!(
                f,
                "case {case_id} is closed with outcome `{outcome}`; nothing can move it any more"
            ),
            EngineError::KeyReused { key } => write!(
                f,
                "the idempotency key `{key}` was already used for a different request; send a new \
                 key for a new request"
            ),
            EngineError::Invalid(message) => f.write_str(message),
            EngineError::Definition(message) => f.write_str(message),
            EngineError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for EngineError {}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> EngineError {
        EngineError::Store(e)
    }
}
