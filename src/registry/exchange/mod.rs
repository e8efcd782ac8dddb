//! The exchange of documents between participants' registries (issue 16): signed documents and
//! the notices about them, carried in СЕВ ОВВ's `Header` envelope (`sev`).

pub mod sev;
