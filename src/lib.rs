//! hubsync: keep a community's contacts and organizations in step with HubSpot.
//!
//! Data flows one way: CLI → command → sync engine → (store, HubSpot client).

pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod hubspot;
pub mod import;
pub mod man;
pub mod mapping;
pub mod model;
pub mod store;
pub mod sync;

#[cfg(feature = "sandbox")]
pub mod sandbox;
