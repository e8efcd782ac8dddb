//! The exchange of documents between participants' registries (issue 16: REG-5, GW-4): signed
//! documents and the notices about them, carried in СЕВ ОВВ's `Header` envelope (`sev`); each
//! received file is scanned by ClamAV's daemon (`scan`); `receive` checks, takes and refuses
//! the documents other participants send.

pub mod post;
pub mod receive;
pub mod recipient;
pub mod scan;
pub mod send;
pub mod sev;
