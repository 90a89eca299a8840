//! The cache of HubSpot's contact lists (`hubsync lists`), with when it was fetched.

use anyhow::{Context as _, Result};
use rusqlite::{params, Connection};
use serde::de::DeserializeOwned;

/// One cached list: the columns it is sorted and shown by, and HubSpot's JSON.
pub struct Row<'a> {
    pub list_id: &'a str,
    pub name: &'a str,
    pub processing_type: &'a str,
    pub size: Option<i64>,
    pub json: String,
}

fn has_cache(conn: &Connection) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'lists_cache'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .context("cannot read the store")?
        > 0)
}

/// The cached lists, decoded as `T`, and when they were fetched; `None` when nothing is cached
/// or a row can't be read by this version (then they are fetched again).
pub fn read<T: DeserializeOwned>(conn: &Connection) -> Result<Option<(Vec<T>, String)>> {
    if !has_cache(conn)? {
        return Ok(None);
    }
    let mut stmt =
        conn.prepare("SELECT json, fetched_at FROM lists_cache ORDER BY name, list_id")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    let mut at = String::new();
    for row in rows {
        let (json, fetched_at) = row?;
        match serde_json::from_str::<T>(&json) {
            Ok(l) => out.push(l),
            Err(_) => return Ok(None),
        }
        at = fetched_at;
    }
    Ok((!out.is_empty()).then_some((out, at)))
}

/// Replace the cache with `rows`, fetched at `now`.
pub fn write(conn: &mut Connection, rows: &[Row<'_>], now: &str) -> Result<()> {
    if !has_cache(conn)? {
        return Ok(());
    }
    let tx = conn.transaction()?;
    tx.execute("DELETE FROM lists_cache", [])?;
    {
        let mut stmt = tx.prepare(
            "INSERT INTO lists_cache (list_id, name, processing_type, size, json, fetched_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for r in rows {
            stmt.execute(params![
                r.list_id,
                r.name,
                r.processing_type,
                r.size,
                r.json,
                now
            ])?;
        }
    }
    tx.commit().context("cannot cache the lists in the store")
}
