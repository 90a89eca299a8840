//! hubsync: keep a community's contacts and organizations in step with HubSpot.
//!
//! Data flows one way: CLI → command → sync engine → (store, HubSpot client).

/// `println!` for results on stdout that returns the error (a closed pipe, as when the output is
/// piped into `head`) to the caller instead of panicking; `main` ends quietly on a closed pipe.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        $crate::stdout_used();
        writeln!($crate::output::stdout(), $($arg)*)?
    }};
}

/// `print!` that returns the error instead of panicking (see `outln!`).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        $crate::stdout_used();
        write!($crate::output::stdout(), $($arg)*)?
    }};
}

/// `eprintln!` through the colour-aware stderr; a failed write to stderr is not worth an error.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!($crate::output::stderr(), $($arg)*);
    }};
}

static STDOUT_USED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Note that a command wrote its result to stdout (`main` then adds no JSON error document).
pub fn stdout_used() {
    STDOUT_USED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Whether a command wrote to stdout.
#[must_use]
pub fn wrote_stdout() -> bool {
    STDOUT_USED.load(std::sync::atomic::Ordering::Relaxed)
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
pub mod output;
pub mod store;
pub mod sync;

#[cfg(test)]
mod proptest_support;
