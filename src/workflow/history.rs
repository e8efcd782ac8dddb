//! Verification of the case history: one hash chain over every case's events, read in pages.
//! A rewritten or removed event breaks a link; a case removed with all its events leaves a gap;
//! a case row whose state its events do not lead to was changed without an event. A registry
//! card's row is held to its events (`case_id` = the card's id) the same way, field by field.

use std::collections::HashMap;

use serde_json::Value;

use crate::store::{
    CardRow, CaseEventRow, GENESIS_HASH, HISTORY_FIELDS, Store, StoreError, case_event_hash,
};

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
            if e.case_id.starts_with(CARD_PREFIX) {
                // Held to its row by `verify_cards`.
            } else if matches!(e.kind.as_str(), "started" | "transition" | "migrated") {
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
    verify_cards(store, &mut report).await?;
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

/// The prefix of a registry card's id, under which its events are in the chain.
pub const CARD_PREFIX: &str = "card-";

/// Holds every card row to its events, page by page of cards: versions one after another from
/// 1, the row's version and status those of its last event, every field of `HISTORY_FIELDS` the
/// value its last change set; no row without events and no events without a row. Each problem
/// names the card, whatever else broke the chain.
async fn verify_cards(store: &Store, report: &mut HistoryReport) -> Result<(), StoreError> {
    let mut after = String::new();
    loop {
        let page = store.card_rows(&after, PAGE).await?;
        let (Some(first), Some(last)) = (page.first(), page.last()) else {
            break;
        };
        let events = store.card_events_between(&first.id, &last.id).await?;
        after = last.id.clone();
        for card in &page {
            let own: Vec<&CaseEventRow> = events.iter().filter(|e| e.case_id == card.id).collect();
            if let Some(problem) = card_problem(card, &own) {
                report.problems.push(format!("card {}: {problem}", card.id));
            }
        }
    }
    for id in store.card_events_without_card().await? {
        report.problems.push(format!(
            "card {id}: its history is in the chain but the card itself was deleted"
        ));
    }
    Ok(())
}

/// What is wrong with `card` given its events (oldest first), if anything.
pub fn card_problem(card: &CardRow, events: &[&CaseEventRow]) -> Option<String> {
    if events.is_empty() {
        return Some(
            "it has no history (its events were deleted, or the row was added by hand)".into(),
        );
    }
    let mut fields = serde_json::Map::new();
    let mut version = 0;
    for e in events {
        let detail: Value = serde_json::from_str(&e.detail).unwrap_or(Value::Null);
        let Some(v) = detail.get("version").and_then(Value::as_i64) else {
            return Some(format!(
                "event {} of its history has no version: it was rewritten",
                e.seq
            ));
        };
        if v != version + 1 {
            return Some(format!(
                "its history jumps from version {version} to {v} (event {}): the events in \
                 between were deleted",
                e.seq
            ));
        }
        version = v;
        for change in detail["changes"].as_array().into_iter().flatten() {
            if let Some(field) = change["field"].as_str() {
                fields.insert(field.to_string(), change["new"].clone());
            }
        }
    }
    if card.version != version {
        return Some(format!(
            "the store says version {}, its history ends at version {version}: the row was \
             changed without an event, or its last events were deleted",
            card.version
        ));
    }
    let last = events[events.len() - 1];
    if last.to_state.as_deref() != Some(card.status.as_str()) {
        return Some(format!(
            "the store says status `{}`, its history leads to `{}`: the row was changed without \
             an event",
            card.status,
            last.to_state.as_deref().unwrap_or_default()
        ));
    }
    let row = serde_json::to_value(card).unwrap_or(Value::Null);
    HISTORY_FIELDS
        .iter()
        .find(|f| row.get(**f).unwrap_or(&Value::Null) != fields.get(**f).unwrap_or(&Value::Null))
        .map(|f| {
            format!(
                "its `{f}` in the store is not what its history last set: the row was changed \
                 without an event"
            )
        })
}
