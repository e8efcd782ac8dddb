//! The registry exchange (REG-5, GW-4): signed documents between participants' registries in
//! the СЕВ ОВВ envelope; each received file is scanned by ClamAV's daemon (`scan`).

pub mod scan;
