//! One integration binary: each module drives the real `hubsync` binary (or the sandbox over HTTP).
// Test helpers may unwrap: a panic here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod automate;
mod cli;
mod client;
mod common;
mod connect;
mod doctor;
mod edges;
mod hardening;
mod import;
mod layers;
mod map;
mod pull;
mod push;
mod records;
mod resources;
mod sandbox;
mod secrets;
mod status;
mod sync;
mod twoway;
