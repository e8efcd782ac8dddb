//! Verification of the case history: one hash chain over every case's events, read in pages.
//! A rewritten or removed event breaks a link; a case removed with all its events leaves a gap;
//! a case row whose state its events do not lead to was changed without an event.

use std::collections::HashMap;

use crate::store::{GENESIS_HASH, Store, StoreError, case_event_hash};

const PAGE: i64 = 1000;

/// What verifying the case history found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryReport {
    pub events: i64,
    pub cases: i64,
    /// Each problem, naming the event (by seq) or the case it is in; empty when all is intact.
    pub problems: Vec<String>,
}

impl HistoryReport {
    pub fn intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Verifies the case history chain and holds every case row to the state its events lead to.
pub async fn verify(store: &Store) -> Result<HistoryReport, StoreError> {
    let mut report = HistoryReport::default();
    let mut prev_hash = GENESIS_HASH.to_string();
    let mut expected_seq = 1;
    // Per case: the state its events lead to.
    let mut states: HashMap<String, Option<String>> = HashMap::new();
    let mut broken = false;
    loop {
        let page = store.case_event_page(expected_seq - 1, PAGE).await?;
        if page.is_empty() {
            break;
        }
        for e in page {
            if broken {
                break;
            }
            if e.seq != expected_seq {
                report.problems.push(format!(
                    "case history: events {expected_seq} to {} are missing (the chain jumps to \
                     event {} of case {}): events, or whole cases, were deleted",
                    e.seq - 1,
                    e.seq,
                    e.case_id
                ));
                broken = true;
                break;
            }
            if e.prev_hash != prev_hash {
                report.problems.push(format!(
                    "case history: event {} of case {} does not link to the event before it: an \
                     event before it was rewritten or removed",
                    e.seq, e.case_id
                ));
                broken = true;
                break;
            }
            if case_event_hash(&e.prev_hash, e.seq, &e.as_new()) != e.hash {
                report.problems.push(format!(
                    "case history: event {} of case {} was changed after it was written (its \
                     hash does not match its content)",
                    e.seq, e.case_id
                ));
                broken = true;
                break;
            }
            if matches!(e.kind.as_str(), "started" | "transition" | "migrated") {
                states.insert(e.case_id.clone(), e.to_state.clone());
            } else {
                states.entry(e.case_id.clone()).or_insert(None);
            }
            report.events = e.seq;
            prev_hash = e.hash;
            expected_seq += 1;
        }
        if broken {
            break;
        }
    }
    let (head_seq, head_hash) = store.case_events_head().await?;
    if !broken && (head_seq != report.events || head_hash != prev_hash) {
        report.problems.push(format!(
            "case history: the head says {head_seq} events, the chain holds {} ending in a \
             different hash: the newest events were deleted or rewritten",
            report.events
        ));
    }
    let mut after = String::new();
    loop {
        let page = store.case_page(&after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id.clone();
        for case in &page {
            report.cases += 1;
            match states.remove(&case.id) {
                None if !broken => report.problems.push(format!(
                    "case {}: it has no history (its events were deleted, or the row was added \
                     by hand)",
                    case.id
                )),
                Some(Some(state)) if !broken && state != case.state => {
                    report.problems.push(format!(
                        "case {}: the store says state `{}`, its history leads to `{state}`: the \
                         row was changed without an event",
                        case.id, case.state
                    ))
                }
                _ => {}
            }
        }
    }
    if !broken {
        let mut orphans: Vec<&String> = states.keys().collect();
        orphans.sort();
        for id in orphans {
            report.problems.push(format!(
                "case {id}: its history is in the chain but the case itself was deleted"
            ));
        }
    }
    Ok(report)
}
