//! The sync engine: plans, push, pull, automations, runs and locks.

pub mod automations;
pub mod filter;
pub mod lock;
pub mod summary;
