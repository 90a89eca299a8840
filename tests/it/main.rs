//! One integration binary: each module drives the real `hubsync` binary (or the sandbox over HTTP).

mod common;
mod import;
mod map;
mod records;
mod sandbox;
mod cli;
mod client;
