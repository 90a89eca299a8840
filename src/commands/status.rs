//! `hubsync status`: connection, paths, store counts, mapping validity, last runs, pending
//! failures and automations. Makes no HubSpot request.

use std::fmt::Write as _;

use anyhow::Result;
use serde::Serialize;

use super::Context;
use crate::hubspot::auth::{connection_status, ConnectionStatus};
use crate::mapping::check::{self, Severity};
use crate::mapping::Mapping;
use crate::store::automations::{self, Automation};
use crate::store::history;
use crate::store::runs::{self, Failure, RunRow};
use crate::store::{Store, StoreCounts};
use crate::sync::lock::RunLock;

#[derive(Debug, Serialize)]
struct MappingStatus {
    path: String,
    valid: bool,
    problems: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Paths {
    db: String,
    mappings: String,
}

#[derive(Debug, Serialize)]
struct Status {
    connection: ConnectionStatus,
    paths: Paths,
    store: StoreCounts,
    mapping: MappingStatus,
    runs: Vec<RunRow>,
    /// Runs marked running whose process ended without closing them (killed); the next run
    /// closes them as interrupted.
    stale_runs: Vec<i64>,
    pending_failures: usize,
    failures: Vec<Failure>,
    /// The latest fields edited on both sides, newest first.
    conflicts: Vec<history::Entry>,
    automations: Vec<Automation>,
}

pub fn run(ctx: &Context) -> Result<()> {
    let connection = connection_status(ctx.token_store(), &ctx.paths);
    let store = Store::open(&ctx.paths.db)?;
    let mapping = mapping_status(ctx, &store);
    let failures = runs::failures(store.conn())?;
    let recent = runs::recent(store.conn(), 10)?;
    let status = Status {
        connection,
        paths: Paths {
            db: ctx.paths.db.display().to_string(),
            mappings: ctx.paths.mappings.display().to_string(),
        },
        store: store.counts()?,
        mapping,
        stale_runs: if RunLock::is_held(ctx.paths.data_dir()) {
            Vec::new()
        } else {
            recent
                .iter()
                .filter(|r| r.status == "running")
                .map(|r| r.id)
                .collect()
        },
        runs: recent,
        pending_failures: failures.len(),
        failures,
        conflicts: history::recent_conflicts(store.conn(), 20)?,
        automations: automations::all(store.conn())?,
    };
    if ctx.json() {
        super::print_json(&status)?;
    } else {
        out!("{}", render(&status));
    }
    Ok(())
}

fn mapping_status(ctx: &Context, store: &Store) -> MappingStatus {
    let path = ctx.paths.mappings.display().to_string();
    let problems = match Mapping::load(&ctx.paths.mappings) {
        Err(e) => vec![format!("{e:#}")],
        Ok(m) => match crate::sync::properties::cached(store) {
            Err(e) => vec![format!("{e:#}")],
            Ok(props) => check::check(&m, &props)
                .into_iter()
                .filter(|p| p.severity == Severity::Error)
                .map(|p| p.to_string())
                .collect(),
        },
    };
    MappingStatus {
        path,
        valid: problems.is_empty(),
        problems,
    }
}

fn render(s: &Status) -> String {
    let mut out = String::new();
    let c = &s.connection;
    if c.connected {
        let portal = c.portal_id.map_or_else(
            || "a private-app token".to_owned(),
            |p| format!("portal {p}"),
        );
        let _ = writeln!(
            out,
            "HubSpot:     connected to {portal} (token store: {})",
            c.token_store
        );
        if let Some(at) = &c.expires_at {
            let _ = writeln!(
                out,
                "             access token valid until {at} (refreshed automatically)"
            );
        }
        if !c.missing_scopes.is_empty() {
            let _ = writeln!(
                out,
                "             missing scopes: {} (run `hubsync connect`)",
                c.missing_scopes.join(", ")
            );
        }
    } else {
        let why = c.problem.as_deref().unwrap_or("run `hubsync connect`");
        let _ = writeln!(out, "HubSpot:     not connected: {why}");
    }
    let _ = writeln!(out, "Store:       {}", s.paths.db);
    let st = &s.store;
    let _ = writeln!(
        out,
        "             {} contacts ({} linked to HubSpot), {} organizations ({} linked), {} marked for sync",
        st.contacts, st.contacts_linked, st.organizations, st.organizations_linked, st.marked
    );
    if s.mapping.valid {
        let _ = writeln!(out, "Mapping:     {} (ok)", s.mapping.path);
    } else {
        let _ = writeln!(
            out,
            "Mapping:     {} ({} problem{}; run `hubsync map check`)",
            s.mapping.path,
            s.mapping.problems.len(),
            if s.mapping.problems.len() == 1 {
                ""
            } else {
                "s"
            }
        );
        for p in s.mapping.problems.iter().take(5) {
            let _ = writeln!(out, "             {p}");
        }
    }
    if s.runs.is_empty() {
        let _ = writeln!(out, "Runs:        none yet");
    } else {
        let _ = writeln!(out, "Runs:");
        for r in &s.runs {
            // In words, as the run printed them (`3 local records changed`).
            let counts = r
                .counts
                .as_object()
                .map(|m| {
                    let counts = m
                        .iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_u64()?)))
                        .collect();
                    crate::sync::summary::sentence(&counts)
                })
                .filter(|c| c != "nothing to do")
                .unwrap_or_default();
            let took = r
                .finished_at
                .as_deref()
                .and_then(|f| duration(&r.started_at, f))
                .map_or_else(String::new, |d| format!(" in {d}"));
            let status = if s.stale_runs.contains(&r.id) {
                "running, but its process ended (killed?); the next run finishes its work"
            } else {
                r.status.as_str()
            };
            let _ = writeln!(
                out,
                "  #{:<5} {:<9} {} {}{took}{}{}",
                r.id,
                r.kind,
                r.started_at,
                status,
                if counts.is_empty() {
                    String::new()
                } else {
                    format!(": {counts}")
                },
                r.error
                    .as_deref()
                    .map_or_else(String::new, |e| format!(" ({e})")),
            );
        }
    }
    if s.failures.is_empty() {
        let _ = writeln!(out, "Failures:    none pending");
    } else {
        let _ = writeln!(
            out,
            "Failures:    {} pending (retried by the next run)",
            s.pending_failures
        );
        for f in s.failures.iter().take(20) {
            let _ = writeln!(
                out,
                "  {} {} ({}, {} attempt{}): {}",
                f.entity,
                f.local_id,
                f.operation,
                f.attempts,
                if f.attempts == 1 { "" } else { "s" },
                f.error
            );
        }
        if s.failures.len() > 20 {
            let _ = writeln!(
                out,
                "  … and {} more (`hubsync status --json` lists all)",
                s.failures.len() - 20
            );
        }
    }
    if !s.conflicts.is_empty() {
        let _ = writeln!(
            out,
            "Conflicts:   the latest fields edited on both sides (`hubsync history --json` has them all)"
        );
        for e in &s.conflicts {
            let c = e.conflict.as_ref();
            let text = |k: &str| {
                c.and_then(|c| c.get(k))
                    .and_then(serde_json::Value::as_str)
                    .map_or_else(|| "(empty)".to_owned(), |v| format!("{v:?}"))
            };
            let _ = writeln!(
                out,
                "  run #{} {} {} {}: here {}, in HubSpot {}; kept {}",
                e.run_id,
                e.entity,
                e.id,
                e.field,
                text("local"),
                text("hubspot"),
                c.and_then(|c| c.get("kept"))
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("?")
            );
        }
    }
    if s.automations.is_empty() {
        let _ = writeln!(out, "Automations: none");
    } else {
        let _ = writeln!(out, "Automations:");
        for a in &s.automations {
            let _ = writeln!(
                out,
                "  {} ({}s → list {}{}){}",
                a.name,
                a.entity,
                if a.list_name.is_empty() {
                    &a.list_id
                } else {
                    &a.list_name
                },
                if a.paused { ", paused" } else { "" },
                a.last_run_at
                    .as_deref()
                    .map_or_else(String::new, |t| format!(", last run {t}"))
            );
        }
    }
    out
}

fn duration(start: &str, end: &str) -> Option<String> {
    let s = chrono::DateTime::parse_from_rfc3339(start).ok()?;
    let e = chrono::DateTime::parse_from_rfc3339(end).ok()?;
    let ms = (e - s).num_milliseconds().max(0);
    Some(if ms < 10_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        format!("{}s", ms / 1000)
    })
}
