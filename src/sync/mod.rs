//! The sync engine: plans, push, pull, automations, runs and locks.

pub mod automations;
pub mod cancel;
pub mod filter;
pub mod lock;
pub mod plan;
pub mod progress;
pub mod pull;
pub mod push;
pub mod run;
pub mod summary;
pub mod three_way;
pub mod undo;
