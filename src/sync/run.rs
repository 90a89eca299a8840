//! One run's lifecycle, the same for push, pull, automations, sync and undo: recorded as
//! `running` when it starts (a dry run records nothing), then finished once with the status
//! its outcome gives.

use anyhow::Result;
use rusqlite::Connection;
use serde::Serialize;

use super::summary::Summary;
use crate::store::runs;

/// How a run ended: the `status` of the `runs` table and of the `--json` summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Everything done.
    #[default]
    Ok,
    /// Done, but some records failed; they are retried by the next run (exit 3).
    Partial,
    /// Nothing written: the plan only.
    DryRun,
    /// Stopped where waiting or running again finishes it: Ctrl-C, the daily limit, HubSpot
    /// unavailable (exit 130 or 75).
    Interrupted,
    /// Stopped by an error a person must fix.
    Failed,
}

impl Status {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Partial => "partial",
            Status::DryRun => "dry-run",
            Status::Interrupted => "interrupted",
            Status::Failed => "failed",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Start a run of `kind` (a sub-run when `parent` is given) and the summary it fills. A dry run
/// is not recorded: its summary has run id 0 and the `dry-run` status.
pub fn start(conn: &Connection, kind: &str, parent: Option<i64>, dry_run: bool) -> Result<Summary> {
    if dry_run {
        let mut summary = Summary::new(0);
        summary.status = Status::DryRun;
        return Ok(summary);
    }
    Ok(Summary::new(runs::start(conn, kind, parent)?))
}

/// Close the run with what `result` says: `ok` or `partial` (records failed) when it
/// succeeded, `interrupted` when waiting or running again finishes it, `failed` otherwise,
/// with the error. A failure to record a failed run is logged, so the run's own error is the
/// one returned.
pub fn finish<T>(conn: &Connection, summary: &mut Summary, result: &Result<T>) -> Result<()> {
    if summary.status == Status::DryRun {
        return Ok(());
    }
    match result {
        Ok(_) => {
            summary.status = summary.final_status();
            runs::finish(
                conn,
                summary.run_id,
                summary.status.as_str(),
                &summary.counts,
                None,
            )
        }
        Err(e) => {
            summary.status = if matches!(crate::error::exit_code(e), 75 | 130) {
                Status::Interrupted
            } else {
                Status::Failed
            };
            let message = format!("{e:#}");
            if let Err(record) = runs::finish(
                conn,
                summary.run_id,
                summary.status.as_str(),
                &summary.counts,
                Some(&message),
            ) {
                tracing::warn!(run = summary.run_id, error = %record, "could not record how the run ended");
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Exit;
    use crate::store::Store;

    fn ended(result: &Result<()>, failed_record: bool) -> (String, Option<String>, Status) {
        let store = Store::open_in_memory().unwrap();
        let c = store.conn();
        let mut summary = start(c, "push", None, false).unwrap();
        summary.add("contacts_created", 2);
        if failed_record {
            summary.fail("contact", "c1", "bad option");
        }
        finish(c, &mut summary, result).unwrap();
        let row = runs::get(c, summary.run_id).unwrap().unwrap();
        assert_eq!(row.counts["contacts_created"], 2);
        (row.status, row.error, summary.status)
    }

    #[test]
    fn a_run_ends_with_the_status_its_outcome_gives() {
        let ok = ended(&Ok(()), false);
        assert_eq!((ok.0.as_str(), ok.1, ok.2), ("ok", None, Status::Ok));
        let partial = ended(&Ok(()), true);
        assert_eq!(
            (partial.0.as_str(), partial.2),
            ("partial", Status::Partial)
        );
        // Waiting or running again finishes it: interrupted.
        for stop in [
            Exit::TryLater("daily limit".into()),
            Exit::Interrupted("Ctrl-C".into()),
        ] {
            let (status, error, typed) = ended(&Err(stop.into()), false);
            assert_eq!(
                (status.as_str(), typed),
                ("interrupted", Status::Interrupted)
            );
            assert!(error.is_some());
        }
        // A mistake a person must fix: failed, with the error.
        let failed = ended(&Err(anyhow::anyhow!("the mapping file is broken")), false);
        assert_eq!(failed.0, "failed");
        assert_eq!(failed.1.as_deref(), Some("the mapping file is broken"));
    }

    #[test]
    fn a_dry_run_records_nothing() {
        let store = Store::open_in_memory().unwrap();
        let c = store.conn();
        let mut summary = start(c, "push", None, true).unwrap();
        assert_eq!((summary.run_id, summary.status), (0, Status::DryRun));
        finish(c, &mut summary, &Ok(())).unwrap();
        assert_eq!(summary.status, Status::DryRun);
        assert!(runs::recent(c, 10).unwrap().is_empty());
    }
}
