pub mod access;
pub mod minimise;
