//! hubsync: keep a community's contacts and organizations in step with HubSpot.
//!
//! Data flows one way: CLI → command → sync engine → (store, HubSpot client).

/// `println!` for results on stdout that returns the error (a closed pipe, as when the output is
/// piped into `head`) to the caller instead of panicking; `main` ends quietly on a closed pipe.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

/// `print!` that returns the error instead of panicking (see `outln!`).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)?
    }};
}

pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod export;
pub mod hubspot;
pub mod import;
pub mod man;
pub mod mapping;
pub mod model;
pub mod store;
pub mod sync;
