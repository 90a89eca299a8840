//! The property cache: HubSpot's contact and company property definitions, as last fetched.

use anyhow::{Context as _, Result};
use rusqlite::{params, Connection};
use serde::de::DeserializeOwned;

/// The cached properties of `object_type` (`contacts` or `companies`), by name, each decoded
/// from HubSpot's JSON as `T` (the mapping's `CachedProperty`, or a plain JSON value).
pub fn load<T: DeserializeOwned>(conn: &Connection, object_type: &str) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, json FROM property_cache WHERE object_type = ?1 ORDER BY name",
    )?;
    let rows = stmt.query_map(params![object_type], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (name, json) = row?;
        let prop: T = serde_json::from_str(&json).with_context(|| {
            format!("the cached HubSpot property `{name}` is unreadable; run `hubsync map refresh`")
        })?;
        out.push(prop);
    }
    Ok(out)
}

/// When the cache for `object_type` was last filled, if ever.
pub fn fetched_at(conn: &Connection, object_type: &str) -> Result<Option<String>> {
    Ok(conn.query_row(
        "SELECT max(fetched_at) FROM property_cache WHERE object_type = ?1",
        params![object_type],
        |r| r.get(0),
    )?)
}

/// Replace the cache for `object_type` with `props` (HubSpot property objects), atomically.
pub fn replace(
    conn: &mut Connection,
    object_type: &str,
    props: &[serde_json::Value],
) -> Result<usize> {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let tx = conn.transaction()?;
    tx.execute(
        "DELETE FROM property_cache WHERE object_type = ?1",
        params![object_type],
    )?;
    {
        let mut ins = tx.prepare_cached(
            "INSERT INTO property_cache (object_type, name, type, field_type, label, json, fetched_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for value in props {
            let text = |key: &str| value.get(key).and_then(serde_json::Value::as_str);
            let (Some(name), Some(type_)) = (text("name"), text("type")) else {
                anyhow::bail!(
                    "HubSpot returned a property definition hubsync cannot read (no `name` or `type`)"
                );
            };
            ins.execute(params![
                object_type,
                name,
                type_,
                text("fieldType").unwrap_or_default(),
                text("label").unwrap_or_default(),
                value.to_string(),
                now
            ])?;
        }
    }
    tx.commit()?;
    Ok(props.len())
}
