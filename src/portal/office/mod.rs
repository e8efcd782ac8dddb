//! The officials' office (PORTAL-7; 003 §6): officials sign in through the citizens' identity
//! provider into their own session (`sign_in.rs`, `official.rs`), are blocked by those who manage
//! users (`blocking.rs`, `users.rs`), and every view and action is logged (`access_log.rs`,
//! `audit.rs`); they work the cases their roles may act on (`inbox.rs`, `case.rs`, `act.rs`).

pub mod access_log;
pub mod act;
pub mod audit;
pub mod blocking;
pub mod case;
pub mod deadlines;
pub mod feedback;
pub mod inbox;
pub mod official;
pub mod revoke;
pub mod sign_in;
pub mod users;

use super::PortalSettings;

/// The office's session cookie: apart from a citizen's, so that neither session stands for the
/// other.
pub fn cookie_name(settings: &PortalSettings) -> &'static str {
    if settings.secure_cookies {
        "__Host-hromada-office"
    } else {
        "hromada-office"
    }
}
