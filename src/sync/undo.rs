//! `undo --run N`: put back the local values a pull changed.

use anyhow::{Context as _, Result};

use crate::model::Entity;
use crate::model::Record;
use crate::store::base;
use crate::store::{contacts, history, organizations, runs, Store};

/// What `undo --run N` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UndoReport {
    /// The run that recorded the undo.
    pub run_id: i64,
    /// The pull run undone.
    pub undone_run: i64,
    /// Changes reverted (old and new as the pull recorded them).
    pub restored: Vec<history::Entry>,
    /// Changes left alone because the field changed again since, with the reason.
    pub left: Vec<(history::Entry, String)>,
}

/// Restore the local values a pull run changed. A field changed again since (by a later run or
/// locally) is left alone and reported. The undo is recorded as its own run, with history.
pub fn undo(store: &mut Store, pull_run: i64) -> Result<UndoReport> {
    let Some(run) = runs::get(store.conn(), pull_run)? else {
        anyhow::bail!(
            "there is no run {pull_run}; `hubsync history` shows the runs that changed local data"
        );
    };
    // A `sync` run's local changes are its pull's.
    let pull_run = if run.kind == "sync" {
        let child: Option<i64> = {
            use rusqlite::OptionalExtension as _;
            store
                .conn()
                .query_row(
                    "SELECT id FROM runs WHERE parent_id = ?1 AND kind = 'pull' ORDER BY id LIMIT 1",
                    [pull_run],
                    |r| r.get(0),
                )
                .optional()?
        };
        match child {
            Some(c) => c,
            None => anyhow::bail!(
                "sync run {pull_run} pulled nothing (its pull did not run); there is nothing to undo"
            ),
        }
    } else {
        pull_run
    };
    if run.kind != "pull" && run.kind != "sync" {
        anyhow::bail!(
            "run {pull_run} is a `{}` run; only pull runs (and the pull of a sync run) change local data and can be undone",
            run.kind
        );
    }
    let entries = history::list(
        store.conn(),
        &history::Filter {
            run_id: Some(pull_run),
            ..history::Filter::default()
        },
    )?;
    // Conflicts that kept the local value are logged but changed nothing.
    let entries: Vec<history::Entry> = entries.into_iter().filter(|e| e.old != e.new).collect();
    if entries.is_empty() {
        anyhow::bail!("pull run {pull_run} changed no local data; there is nothing to undo");
    }
    let pending: Vec<history::Entry> = entries
        .iter()
        .filter(|e| e.undone_by.is_none())
        .cloned()
        .collect();
    if pending.is_empty() {
        let by = entries.iter().find_map(|e| e.undone_by).unwrap_or_default();
        anyhow::bail!("pull run {pull_run} was already undone by run {by}");
    }
    let mut summary = crate::sync::run::start(store.conn(), "undo", None, false)?;
    let run_id = summary.run_id;
    let mut report = UndoReport {
        run_id,
        undone_run: pull_run,
        restored: Vec::new(),
        left: Vec::new(),
    };
    let apply = || -> Result<()> {
        let tx = store.conn_mut().transaction()?;
        let mut writer = contacts::Writer::new(&tx)?;
        for e in pending {
            let later = history::changed_since(&tx, e.entity, &e.id, &e.field, e.row_id)?;
            let outcome = match e.entity {
                Entity::Contact => {
                    let current = writer.get(&e.id)?;
                    restore(current, &e, later, |c| writer.upsert(c.0, Some(c.1)))?
                }
                Entity::Organization => {
                    let current = organizations::get(&tx, &e.id)?;
                    restore(current, &e, later, |c| organizations::upsert(&tx, c.0))?
                }
            };
            match outcome {
                Ok(now) => {
                    // The restored value is the local side's latest edit: the next sync pushes
                    // it (the base still holds HubSpot's value) instead of pulling it again.
                    base::touch_local_edit(&tx, e.entity, &e.id)?;
                    history::record(
                        &tx,
                        run_id,
                        e.entity,
                        &e.id,
                        e.hubspot_id.as_deref(),
                        &e.field,
                        now.as_ref(),
                        e.old.as_ref(),
                        None,
                    )?;
                    history::mark_undone(&tx, e.row_id, run_id)?;
                    report.restored.push(e);
                }
                Err(reason) => report.left.push((e, reason)),
            }
        }
        drop(writer);
        tx.commit().context("cannot save the undo in the store")
    };
    let result = apply();
    summary.add("restored", report.restored.len() as u64);
    summary.add("left_alone", report.left.len() as u64);
    crate::sync::run::finish(store.conn(), &mut summary, &result)?;
    result.map(|()| report)
}

/// Put `e.old` back into the record when the field still holds `e.new`: `Ok(value replaced)`,
/// or `Err(why it was left alone)`.
fn restore<L: Record>(
    current: Option<L>,
    e: &history::Entry,
    later: Option<i64>,
    write: impl FnOnce((&L, &L)) -> Result<()>,
) -> Result<std::result::Result<Option<serde_json::Value>, String>> {
    let Some(current) = current else {
        return Ok(Err(format!("{} {} no longer exists", e.entity, e.id)));
    };
    if let Some(r) = later {
        return Ok(Err(format!("changed again by run {r}")));
    }
    let now = current.get(&e.field);
    if now != e.new {
        return Ok(Err("changed locally since".to_owned()));
    }
    let mut updated = current.clone();
    if let Err(err) = updated.set(&e.field, e.old.clone().unwrap_or(serde_json::Value::Null)) {
        return Ok(Err(err.to_string()));
    }
    write((&updated, &current))?;
    Ok(Ok(now))
}
