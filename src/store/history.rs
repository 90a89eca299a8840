//! The field-level history of data-in: every local change (old → new) with its run and HubSpot
//! id, written in the same transaction as the change, so `undo --run N` can restore it.

use anyhow::Result;
use rusqlite::{params, Connection, Row};
use serde::Serialize;
use serde_json::Value;

use super::{now, Entity};

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    #[serde(skip)]
    pub row_id: i64,
    pub run_id: i64,
    pub entity: Entity,
    /// The local id.
    pub id: String,
    pub hubspot_id: Option<String>,
    pub field: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
    pub at: String,
    #[serde(skip)]
    pub undone_by: Option<i64>,
    /// Set when the field was edited on both sides since they last agreed: `{"local",
    /// "hubspot", "base", "kept"}`. A conflict that kept the local value changed nothing
    /// locally (`old` = `new`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict: Option<Value>,
}

/// Which entries to read; `None` = any.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub entity: Option<Entity>,
    pub local_id: Option<String>,
    pub run_id: Option<i64>,
}

fn json_text(v: Option<&Value>) -> Result<Option<String>> {
    Ok(v.map(serde_json::to_string).transpose()?)
}

/// Record one change, or a conflict (`conflict` set; `old` = `new` when the local value was
/// kept); call it in the transaction that makes the change.
#[allow(clippy::too_many_arguments)]
pub fn record(
    conn: &Connection,
    run_id: i64,
    entity: Entity,
    local_id: &str,
    hubspot_id: Option<&str>,
    field: &str,
    old: Option<&Value>,
    new: Option<&Value>,
    conflict: Option<&Value>,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO history (run_id, entity, local_id, hubspot_id, field, old, new, at, conflict)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        run_id,
        entity.as_str(),
        local_id,
        hubspot_id,
        field,
        json_text(old)?,
        json_text(new)?,
        now(),
        json_text(conflict)?
    ])?;
    Ok(())
}

/// Mark an entry as undone by run `by`.
pub fn mark_undone(conn: &Connection, row_id: i64, by: i64) -> Result<()> {
    conn.prepare_cached("UPDATE history SET undone_by = ?2 WHERE id = ?1")?
        .execute(params![row_id, by])?;
    Ok(())
}

fn json_value(text: Option<String>) -> Option<Value> {
    // A value that is not JSON is shown as the text it is.
    text.map(|t| serde_json::from_str(&t).unwrap_or(Value::String(t)))
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Entry> {
    let entity: String = r.get(2)?;
    Ok(Entry {
        row_id: r.get(0)?,
        run_id: r.get(1)?,
        entity: Entity::from_db(&entity),
        id: r.get(3)?,
        hubspot_id: r.get(4)?,
        field: r.get(5)?,
        old: json_value(r.get(6)?),
        new: json_value(r.get(7)?),
        at: r.get(8)?,
        undone_by: r.get(9)?,
        conflict: json_value(r.get(10)?),
    })
}

/// Entries matching `filter`, oldest first.
pub fn list(conn: &Connection, filter: &Filter) -> Result<Vec<Entry>> {
    let mut st = conn.prepare_cached(
        "SELECT id, run_id, entity, local_id, hubspot_id, field, old, new, at, undone_by, conflict
         FROM history
         WHERE (?1 IS NULL OR entity = ?1) AND (?2 IS NULL OR local_id = ?2)
           AND (?3 IS NULL OR run_id = ?3)
         ORDER BY id",
    )?;
    let rows = st.query_map(
        params![
            filter.entity.map(Entity::as_str),
            filter.local_id,
            filter.run_id
        ],
        from_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The latest field conflicts (edited on both sides), newest first.
pub fn recent_conflicts(conn: &Connection, limit: usize) -> Result<Vec<Entry>> {
    let mut st = conn.prepare_cached(
        "SELECT id, run_id, entity, local_id, hubspot_id, field, old, new, at, undone_by, conflict
         FROM history WHERE conflict IS NOT NULL ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = st.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether a later run changed `field` of this record after history row `row_id`.
pub fn changed_since(
    conn: &Connection,
    entity: Entity,
    local_id: &str,
    field: &str,
    row_id: i64,
) -> Result<Option<i64>> {
    use rusqlite::OptionalExtension as _;
    Ok(conn
        .prepare_cached(
            "SELECT run_id FROM history WHERE entity = ?1 AND local_id = ?2 AND field = ?3 AND id > ?4
               AND old IS NOT new
             ORDER BY id LIMIT 1",
        )?
        .query_row(params![entity.as_str(), local_id, field, row_id], |r| {
            r.get(0)
        })
        .optional()?)
}
