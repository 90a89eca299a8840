//! Stopping a run cleanly (Ctrl-C, SIGTERM): the engine stops sending new work, lets the calls
//! already on their way commit their answers, and returns [`interrupted`], which closes the run
//! as interrupted and exits 130.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::Exit;

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Ask the running engine to stop at the next safe point.
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Whether a stop was asked for.
#[must_use]
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// The error that ends a stopped run.
#[must_use]
pub fn interrupted() -> anyhow::Error {
    Exit::Interrupted(
        "interrupted: what HubSpot had answered is saved; run the same command again to finish (nothing is sent twice)"
            .to_owned(),
    )
    .into()
}

/// `Err(interrupted())` when a stop was asked for.
pub fn check() -> anyhow::Result<()> {
    if requested() {
        Err(interrupted())
    } else {
        Ok(())
    }
}
