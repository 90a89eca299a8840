//! Progress of a long run, reported by the engine and drawn by the command (a bar on a
//! terminal, nothing otherwise).

/// Progress of one kind of work (reading contacts, pushing organizations, ...).
pub trait Progress {
    /// A new piece of work of `total` items (0 when unknown yet).
    fn start(&self, what: &str, total: u64);
    /// The total became known or changed.
    fn set_total(&self, _total: u64) {}
    fn advance(&self, n: u64);
    fn finish(&self);
}

/// No progress display.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}
