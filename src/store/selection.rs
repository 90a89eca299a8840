//! What one push works through, kept in temporary tables beside the connection (never in the
//! store file) so memory stays flat however many records are selected:
//!
//! - `selection`: the records chosen, numbered in the order they are sent (linked ones first);
//! - `selection_keys`: the matching keys (primary e-mails, domains) planned so far, so a second
//!   record with the same key is skipped;
//! - `selection_reported`: what an earlier push of the same run already reported (a `sync`'s
//!   push, for the automations after it).

use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension as _};

use super::Entity;

fn create(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS selection (
           entity TEXT NOT NULL, local_id TEXT NOT NULL, ord INTEGER,
           PRIMARY KEY (entity, local_id)) WITHOUT ROWID;
         CREATE INDEX IF NOT EXISTS temp.selection_ord ON selection(entity, ord);
         CREATE TEMP TABLE IF NOT EXISTS selection_keys (
           entity TEXT NOT NULL, key TEXT NOT NULL, local_id TEXT NOT NULL,
           PRIMARY KEY (entity, key)) WITHOUT ROWID;
         CREATE TEMP TABLE IF NOT EXISTS selection_reported (
           entity TEXT NOT NULL, local_id TEXT NOT NULL,
           PRIMARY KEY (entity, local_id)) WITHOUT ROWID;",
    )?;
    Ok(())
}

/// Run `f` in one transaction unless one is open already: a statement per row, each its own
/// transaction on the temporary database, would write its journal for every row.
fn batched<T>(conn: &Connection, f: impl FnOnce() -> Result<T>) -> Result<T> {
    if !conn.is_autocommit() {
        return f();
    }
    conn.execute_batch("BEGIN")?;
    match f() {
        Ok(v) => {
            conn.execute_batch("COMMIT")?;
            Ok(v)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Start a new selection (the reported set of the run is kept).
pub fn reset(conn: &Connection) -> Result<()> {
    create(conn)?;
    conn.execute_batch("DELETE FROM temp.selection; DELETE FROM temp.selection_keys;")?;
    Ok(())
}

/// Start a new run: nothing reported yet.
pub fn reset_reported(conn: &Connection) -> Result<()> {
    create(conn)?;
    conn.execute_batch("DELETE FROM temp.selection_reported;")?;
    Ok(())
}

/// Add records by id.
pub fn add<'a>(
    conn: &Connection,
    entity: Entity,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<()> {
    batched(conn, || {
        let mut st = conn.prepare_cached(
            "INSERT OR IGNORE INTO temp.selection (entity, local_id) VALUES (?1, ?2)",
        )?;
        for id in ids {
            st.execute(params![entity.as_str(), id])?;
        }
        Ok(())
    })
}

/// Add every marked record of `entity`, and every one whose `operation` failed last time.
pub fn add_marked_and_failed(conn: &Connection, entity: Entity, operation: &str) -> Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO temp.selection (entity, local_id)
         SELECT entity, local_id FROM hubspot_links WHERE entity = ?1 AND marked_by IS NOT NULL
         UNION SELECT entity, local_id FROM failed_records WHERE entity = ?1 AND operation = ?2",
        params![entity.as_str(), operation],
    )?;
    Ok(())
}

/// Add every record of `entity` the automation being run matched
/// (`store::automations::matches`).
pub fn add_automation_matches(conn: &Connection, entity: Entity) -> Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO temp.selection (entity, local_id)
         SELECT entity, local_id FROM temp.automation_matches WHERE entity = ?1",
        params![entity.as_str()],
    )?;
    Ok(())
}

/// Number the selection in sending order: linked records first (their updates reach HubSpot
/// before any upsert by a key they may be giving up), then by id. Returns how many there are.
pub fn number(conn: &Connection, entity: Entity) -> Result<u64> {
    let n = conn.execute(
        "UPDATE temp.selection SET ord = n.rn
         FROM (SELECT s.local_id AS id,
                      row_number() OVER (ORDER BY l.hubspot_id IS NULL, s.local_id) AS rn
               FROM temp.selection s
               LEFT JOIN hubspot_links l ON l.entity = s.entity AND l.local_id = s.local_id
               WHERE s.entity = ?1) AS n
         WHERE selection.entity = ?1 AND selection.local_id = n.id",
        params![entity.as_str()],
    )?;
    Ok(n as u64)
}

/// The next `limit` ids after position `after` (0 for the first page), with the last position.
pub fn page(
    conn: &Connection,
    entity: Entity,
    after: i64,
    limit: usize,
) -> Result<(Vec<String>, i64)> {
    let mut st = conn.prepare_cached(
        "SELECT ord, local_id FROM temp.selection WHERE entity = ?1 AND ord > ?2
         ORDER BY ord LIMIT ?3",
    )?;
    let mut last = after;
    let mut ids = Vec::with_capacity(limit);
    let rows = st.query_map(
        params![
            entity.as_str(),
            after,
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
    )?;
    for row in rows {
        let (ord, id) = row?;
        last = ord;
        ids.push(id);
    }
    Ok((ids, last))
}

/// The local ids already planned for each of `keys` (a page's worth).
pub fn keys_seen<'a>(
    conn: &Connection,
    entity: Entity,
    keys: impl IntoIterator<Item = &'a str>,
) -> Result<std::collections::HashMap<String, String>> {
    let mut st = conn.prepare_cached(
        "SELECT local_id FROM temp.selection_keys WHERE entity = ?1 AND key = ?2",
    )?;
    let mut out = std::collections::HashMap::new();
    for key in keys {
        if let Some(id) = st
            .query_row(params![entity.as_str(), key], |r| r.get::<_, String>(0))
            .optional()?
        {
            out.insert(key.to_owned(), id);
        }
    }
    Ok(out)
}

/// Remember the keys a page planned.
pub fn remember_keys<'a>(
    conn: &Connection,
    entity: Entity,
    seen: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Result<()> {
    batched(conn, || {
        let mut st = conn.prepare_cached(
            "INSERT OR IGNORE INTO temp.selection_keys (entity, key, local_id) VALUES (?1, ?2, ?3)",
        )?;
        for (key, id) in seen {
            st.execute(params![entity.as_str(), key, id])?;
        }
        Ok(())
    })
}

/// Count the whole selection as reported, for later pushes of the same run.
pub fn report_all(conn: &Connection) -> Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO temp.selection_reported SELECT entity, local_id FROM temp.selection",
        [],
    )?;
    Ok(())
}

/// Whether an earlier push of this run reported the record.
pub fn reported(conn: &Connection, entity: Entity, local_id: &str) -> Result<bool> {
    let mut st = conn.prepare_cached(
        "SELECT 1 FROM temp.selection_reported WHERE entity = ?1 AND local_id = ?2",
    )?;
    Ok(st.exists(params![entity.as_str(), local_id])?)
}
