//! A run's summary in words, one line per phase, then what needs a person.

use std::fmt::Write as _;

use super::{paint, BAD, DIM, HEADING, WARN};
use crate::sync::summary::{sentence, Summary};

/// `what (run N): 2 contacts created`, or one indented line per phase of a `sync`, followed by
/// the skipped and failed records and the conflicts. Styled; the stream strips the styles when
/// colour is off.
#[must_use]
pub fn render(summary: &Summary, what: &str) -> String {
    let mut out = String::new();
    let run = |id: i64| {
        if id > 0 {
            paint(DIM, format_args!(" (run {id})"))
        } else {
            String::new()
        }
    };
    if summary.phases.is_empty() {
        let _ = writeln!(
            out,
            "{}{}: {}",
            paint(HEADING, what),
            run(summary.run_id),
            sentence(&summary.counts)
        );
    } else {
        let _ = writeln!(out, "{}{}:", paint(HEADING, what), run(summary.run_id));
        for p in &summary.phases {
            let _ = writeln!(
                out,
                "  {}{}: {}",
                paint(HEADING, &p.name),
                run(p.run_id),
                sentence(&p.counts)
            );
        }
    }
    let mut problem = |tag: String, entity: &str, id: &str, why: &str| {
        let _ = writeln!(out, "  {tag} {entity} {id}: {why}");
    };
    for s in &summary.skipped {
        problem(paint(WARN, "skipped"), &s.entity, &s.id, &s.reason);
    }
    for f in &summary.failed {
        problem(paint(BAD, "failed"), &f.entity, &f.id, &f.error);
    }
    for c in &summary.conflicts {
        let _ = writeln!(out, "  {} {}", paint(WARN, "conflict:"), c.message);
    }
    out
}
