//! The run log, failed records and checkpoints.

use std::collections::BTreeMap;

use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension as _};
use serde::Serialize;

use super::{now, Entity};

/// One row of the run log.
#[derive(Debug, Clone, Serialize)]
pub struct RunRow {
    pub id: i64,
    pub kind: String,
    pub parent_id: Option<i64>,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub status: String,
    pub counts: serde_json::Value,
    pub error: Option<String>,
}

/// What a run left "running" by a process that ended is closed with.
pub const STALE: &str =
    "left running by a hubsync process that ended without closing it (killed, or the machine stopped); the next run resumed its work";

/// Start a run of `kind` (`push`, `pull`, `automate`, `sync`); returns its id. A top-level run
/// is started under the run lock, so a run still marked running is one whose process ended
/// without closing it: it is closed as interrupted.
pub fn start(conn: &Connection, kind: &str, parent: Option<i64>) -> Result<i64> {
    if parent.is_none() {
        conn.execute(
            "UPDATE runs SET status = 'interrupted', finished_at = ?1, error = coalesce(error, ?2)
             WHERE status = 'running'",
            params![now(), STALE],
        )?;
    }
    conn.execute(
        "INSERT INTO runs (kind, parent_id, started_at) VALUES (?1, ?2, ?3)",
        params![kind, parent, now()],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Record how a run ended.
pub fn finish(
    conn: &Connection,
    id: i64,
    status: &str,
    counts: &BTreeMap<String, u64>,
    error: Option<&str>,
) -> Result<()> {
    conn.execute(
        "UPDATE runs SET finished_at = ?2, status = ?3, counts = ?4, error = ?5 WHERE id = ?1",
        params![id, now(), status, serde_json::to_string(counts)?, error],
    )?;
    Ok(())
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunRow> {
    let counts: String = r.get(6)?;
    Ok(RunRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        parent_id: r.get(2)?,
        started_at: r.get(3)?,
        finished_at: r.get(4)?,
        status: r.get(5)?,
        counts: serde_json::from_str(&counts).unwrap_or(serde_json::Value::Null),
        error: r.get(7)?,
    })
}

const COLUMNS: &str = "id, kind, parent_id, started_at, finished_at, status, counts, error";

/// The latest top-level runs, newest first.
pub fn recent(conn: &Connection, limit: usize) -> Result<Vec<RunRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM runs WHERE parent_id IS NULL ORDER BY id DESC LIMIT ?1"
    ))?;
    let rows = stmt.query_map(params![i64::try_from(limit).unwrap_or(i64::MAX)], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A run by id.
pub fn get(conn: &Connection, id: i64) -> Result<Option<RunRow>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM runs WHERE id = ?1"),
            params![id],
            row,
        )
        .optional()?)
}

/// The latest run of `kind` that finished with one of `statuses`.
pub fn last_finished(conn: &Connection, kind: &str, statuses: &[&str]) -> Result<Option<RunRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM runs WHERE kind = ?1 AND finished_at IS NOT NULL ORDER BY id DESC"
    ))?;
    let mut rows = stmt.query_map(params![kind], row)?;
    for r in rows.by_ref() {
        let r = r?;
        if statuses.contains(&r.status.as_str()) {
            return Ok(Some(r));
        }
    }
    Ok(None)
}

/// A record a run could not send or apply.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub entity: String,
    pub local_id: String,
    pub operation: String,
    pub error: String,
    pub attempts: i64,
    pub run_id: Option<i64>,
    pub first_failed_at: String,
    pub last_failed_at: String,
}

/// Remember that `local_id` failed `operation`; it is retried by the next run.
pub fn record_failure(
    conn: &Connection,
    entity: Entity,
    local_id: &str,
    operation: &str,
    error: &str,
    run_id: i64,
) -> Result<()> {
    let at = now();
    conn.prepare_cached(
        "INSERT INTO failed_records (entity, local_id, operation, error, attempts, run_id, first_failed_at, last_failed_at)
         VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?6)
         ON CONFLICT (entity, local_id, operation) DO UPDATE SET
           error = excluded.error, attempts = attempts + 1, run_id = excluded.run_id,
           last_failed_at = excluded.last_failed_at",
    )?
    .execute(params![entity.as_str(), local_id, operation, error, run_id, at])?;
    Ok(())
}

/// Forget a failure once the record went through.
pub fn clear_failure(
    conn: &Connection,
    entity: Entity,
    local_id: &str,
    operation: &str,
) -> Result<()> {
    conn.prepare_cached(
        "DELETE FROM failed_records WHERE entity = ?1 AND local_id = ?2 AND operation = ?3",
    )?
    .execute(params![entity.as_str(), local_id, operation])?;
    Ok(())
}

/// Every pending failure, oldest first.
pub fn failures(conn: &Connection) -> Result<Vec<Failure>> {
    let mut stmt = conn.prepare_cached(
        "SELECT entity, local_id, operation, error, attempts, run_id, first_failed_at, last_failed_at
         FROM failed_records ORDER BY first_failed_at, entity, local_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Failure {
            entity: r.get(0)?,
            local_id: r.get(1)?,
            operation: r.get(2)?,
            error: r.get(3)?,
            attempts: r.get(4)?,
            run_id: r.get(5)?,
            first_failed_at: r.get(6)?,
            last_failed_at: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The local ids of `entity` with a pending failure of `operation`.
pub fn failed_ids(conn: &Connection, entity: Entity, operation: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT local_id FROM failed_records WHERE entity = ?1 AND operation = ?2 ORDER BY local_id",
    )?;
    let rows = stmt.query_map(params![entity.as_str(), operation], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A checkpoint value (e.g. a pull watermark).
pub fn checkpoint(conn: &Connection, kind: &str, key: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT value FROM checkpoints WHERE kind = ?1 AND key = ?2")?
        .query_row(params![kind, key], |r| r.get(0))
        .optional()?)
}

/// Set a checkpoint; call it in the same transaction as the work it records.
pub fn set_checkpoint(
    conn: &Connection,
    kind: &str,
    key: &str,
    value: &str,
    run_id: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO checkpoints (kind, key, value, run_id, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, run_id = excluded.run_id,
           updated_at = excluded.updated_at",
    )?
    .execute(params![kind, key, value, run_id, now()])?;
    Ok(())
}

/// Remove a checkpoint (e.g. `pull --full`).
pub fn clear_checkpoint(conn: &Connection, kind: &str, key: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM checkpoints WHERE kind = ?1 AND key = ?2")?
        .execute(params![kind, key])?;
    Ok(())
}
