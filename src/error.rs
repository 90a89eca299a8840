//! Errors that decide the process exit code. Everything else is exit 1.

/// An outcome that maps to a specific exit code of SPEC §3. `main` finds it by downcasting.
#[derive(Debug, thiserror::Error)]
pub enum Exit {
    /// Exit 3: the run finished but some records failed (they are listed and retried next run).
    #[error("{0}")]
    Partial(String),
    /// Exit 4: not connected, token revoked, or missing scopes.
    #[error("{0}")]
    Auth(String),
    /// Exit 75: daily limit reached, HubSpot unavailable after retries, or the lock is held.
    #[error("{0}")]
    TryLater(String),
    /// Exit 130: stopped by Ctrl-C or SIGTERM after saving what was in flight.
    #[error("{0}")]
    Interrupted(String),
    /// Exit 1 with a message already printed in full (e.g. every `map check` problem listed).
    #[error("{0}")]
    Failed(String),
}

impl Exit {
    #[must_use]
    pub fn code(&self) -> u8 {
        match self {
            Exit::Partial(_) => 3,
            Exit::Auth(_) => 4,
            Exit::TryLater(_) => 75,
            Exit::Interrupted(_) => 130,
            Exit::Failed(_) => 1,
        }
    }
}

/// The exit code for any error returned from a command.
#[must_use]
pub fn exit_code(err: &anyhow::Error) -> u8 {
    err.chain()
        .find_map(|e| {
            if let Some(exit) = e.downcast_ref::<Exit>() {
                return Some(exit.code());
            }
            match e.downcast_ref::<crate::hubspot::Error>()? {
                crate::hubspot::Error::Auth(_) => Some(4),
                crate::hubspot::Error::TryLater(_) => Some(75),
                _ => None,
            }
        })
        .unwrap_or(1)
}
