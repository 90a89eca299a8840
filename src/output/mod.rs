//! What hubsync prints for people: styles and the streams that honour the terminal.
//!
//! Colour is used on a terminal only. `NO_COLOR` (any value) turns it off, `CLICOLOR=0` too,
//! `CLICOLOR_FORCE=1` turns it on for a pipe, and `--color never|always` decides over all of them.
//! Machine output (`--json`, `export`, NDJSON) never carries escapes: it is written raw.

use std::io::{StderrLock, StdoutLock};
use std::sync::OnceLock;

use anstream::{AutoStream, ColorChoice};
use anstyle::{AnsiColor, Style};

/// A record that failed, a doctor problem, the `error:` prefix.
pub const BAD: Style = AnsiColor::Red.on_default().bold();
/// A conflict, a skipped record, a `warning:` or `note:`.
pub const WARN: Style = AnsiColor::Yellow.on_default().bold();
/// A check that passed.
pub const GOOD: Style = AnsiColor::Green.on_default();
/// The phase of a run (`pull`, `push`, `automations`) and headings.
pub const HEADING: Style = Style::new().bold();
/// What a reader may skip: hints, run numbers.
pub const DIM: Style = Style::new().dimmed();

/// `text` wrapped in `style`'s escapes (stripped again by [`stdout`]/[`stderr`] when colour is off).
pub fn paint(style: Style, text: impl std::fmt::Display) -> String {
    format!("{style}{text}{style:#}")
}

/// Set the choice from `--color` before anything is printed; `auto` leaves it to the environment.
pub fn set_color(choice: ColorChoice) {
    choice.write_global();
}

/// The colour choice for a stream, made once per stream for the process.
fn choice<S: anstream::stream::RawStream>(cell: &OnceLock<ColorChoice>, raw: &S) -> ColorChoice {
    *cell.get_or_init(|| AutoStream::choice(raw))
}

/// Stdout, stripping colour unless it goes to a terminal that wants it.
#[must_use]
pub fn stdout() -> AutoStream<StdoutLock<'static>> {
    static CHOICE: OnceLock<ColorChoice> = OnceLock::new();
    let raw = std::io::stdout();
    AutoStream::new(raw.lock(), choice(&CHOICE, &raw))
}

/// Stderr, as [`stdout`].
#[must_use]
pub fn stderr() -> AutoStream<StderrLock<'static>> {
    static CHOICE: OnceLock<ColorChoice> = OnceLock::new();
    let raw = std::io::stderr();
    AutoStream::new(raw.lock(), choice(&CHOICE, &raw))
}

/// Whether text written to stderr is coloured (for the log lines, which tracing colours itself).
#[must_use]
pub fn stderr_colored() -> bool {
    stderr().current_choice() != ColorChoice::Never
}

pub mod plan;
pub mod summary;
pub mod table;
