//! One integration binary: each module drives the real `hubsync` binary (or the sandbox over HTTP).

mod automate;
mod cli;
mod client;
mod common;
mod connect;
mod doctor;
mod edges;
mod hardening;
mod import;
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
