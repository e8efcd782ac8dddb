//! The citizens' portal through `hromada serve` (issue 13): its pages over HTTP and in a real
//! browser, against the example city with real upstreams and a real OpenID provider on loopback.

#[path = "../common/mod.rs"]
mod common;

mod attachments;
mod browser;
mod browser_office;
mod browser_registry;
mod cabinet;
mod catalogue;
mod data_requests_peer;
mod delivery;
mod fake_issuer;
mod feedback;
mod feedback_store;
mod forms;
mod home;
mod mailing;
mod office_cases;
mod officials;
mod officials_store;
mod payment_double;
mod payments;
mod polls;
mod portal;
mod prefill;
mod procedure_versions;
mod registry_archive;
mod registry_cards;
mod registry_exchange_federation;
mod registry_exchange_post;
mod registry_exchange_post_store;
mod registry_exchange_receive;
mod registry_exchange_send;
mod registry_exchange_sent_store;
mod registry_history;
mod registry_home;
mod registry_reports;
mod registry_resolutions;
mod registry_scan;
mod registry_search;
mod registry_search_order;
mod registry_search_store;
mod registry_sev;
mod results;
mod sessions_store;
mod sign_in;
mod signing;
mod statistics;
