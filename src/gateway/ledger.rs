// TEMPORARY local stand-in until the ledger branch lands; never committed.
use super::record::{Exchange, SubjectUse};
use crate::store::Store;
#[derive(Clone)]
pub struct Ledger;
pub struct LogReceipt {
    pub seq: i64,
    pub hash: String,
}
#[derive(Debug)]
pub struct LedgerError(String);
impl std::fmt::Display for LedgerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl Ledger {
    pub fn start(_store: Store) -> Ledger {
        Ledger
    }
    pub async fn record(
        &self,
        _e: Exchange,
        _s: Option<SubjectUse>,
    ) -> Result<LogReceipt, LedgerError> {
        Ok(LogReceipt {
            seq: 0,
            hash: String::new(),
        })
    }
    pub async fn close(&self) {}
}
