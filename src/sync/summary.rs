//! The result of a push, pull, automation run or sync: what it did, what it skipped, what failed.

use std::collections::BTreeMap;

use serde::Serialize;

/// A record left out on purpose (no e-mail, no website), reported by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub entity: String,
    pub id: String,
    pub reason: String,
}

/// A record that failed; it is kept and retried by the next run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failed {
    pub entity: String,
    pub id: String,
    pub error: String,
}

/// The `--json` document of SPEC §7 for `push`, `pull`, `automate run` and `sync`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub run_id: i64,
    /// `ok`, `partial` (some records failed), `dry-run`, or `interrupted` (exit 75).
    pub status: String,
    pub counts: BTreeMap<String, u64>,
    pub skipped: Vec<Skipped>,
    pub failed: Vec<Failed>,
    pub conflicts: Vec<serde_json::Value>,
    /// The plan, for `--dry-run`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plan: Vec<serde_json::Value>,
    /// Push with `remember_selected` only: the records it selected, as `contact:ID` / `organization:ID`, so later steps of
    /// the same `sync` don't plan them again. Not merged, not printed.
    #[serde(skip)]
    pub selected: std::collections::HashSet<String>,
}

impl Summary {
    #[must_use]
    pub fn new(run_id: i64) -> Self {
        Self {
            run_id,
            status: "ok".into(),
            ..Self::default()
        }
    }

    /// Add `n` to a counter.
    pub fn add(&mut self, counter: &str, n: u64) {
        *self.counts.entry(counter.to_owned()).or_default() += n;
    }

    pub fn skip(&mut self, entity: &str, id: &str, reason: impl Into<String>) {
        self.skipped.push(Skipped {
            entity: entity.into(),
            id: id.into(),
            reason: reason.into(),
        });
    }

    pub fn fail(&mut self, entity: &str, id: &str, error: impl Into<String>) {
        self.failed.push(Failed {
            entity: entity.into(),
            id: id.into(),
            error: error.into(),
        });
    }

    /// Fold a sub-run's summary into this one (for `sync`).
    pub fn merge(&mut self, other: Summary) {
        for (k, v) in other.counts {
            *self.counts.entry(k).or_default() += v;
        }
        self.skipped.extend(other.skipped);
        self.failed.extend(other.failed);
        self.conflicts.extend(other.conflicts);
        self.plan.extend(other.plan);
    }

    /// The status to record: `partial` when records failed.
    #[must_use]
    pub fn final_status(&self) -> &'static str {
        if self.status == "dry-run" {
            "dry-run"
        } else if self.failed.is_empty() {
            "ok"
        } else {
            "partial"
        }
    }

    /// Record how the run `self.run_id` ended: its status, counts, and the error that stopped it.
    pub fn record<T>(
        &self,
        conn: &rusqlite::Connection,
        result: &anyhow::Result<T>,
    ) -> anyhow::Result<()> {
        let (status, err) = match result {
            Ok(_) => (self.final_status(), None),
            Err(e) => ("interrupted", Some(format!("{e:#}"))),
        };
        crate::store::runs::finish(conn, self.run_id, status, &self.counts, err.as_deref())
    }

    /// The human text: counters, then skipped, failed and conflicting records by id.
    #[must_use]
    pub fn render(&self, what: &str) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let counts: Vec<String> = self
            .counts
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        let _ = writeln!(
            out,
            "{what} (run {}): {}",
            self.run_id,
            if counts.is_empty() {
                "nothing to do".to_owned()
            } else {
                counts.join(", ")
            }
        );
        for s in &self.skipped {
            let _ = writeln!(out, "  skipped {} {}: {}", s.entity, s.id, s.reason);
        }
        for f in &self.failed {
            let _ = writeln!(out, "  failed {} {}: {}", f.entity, f.id, f.error);
        }
        for c in &self.conflicts {
            let text = c
                .get("message")
                .and_then(|m| m.as_str())
                .map_or_else(|| c.to_string(), str::to_owned);
            let _ = writeln!(out, "  conflict: {text}");
        }
        out
    }
}
