//! The property cache: HubSpot's contact and company property definitions, as last fetched.

use anyhow::{Context as _, Result};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

/// An option of an enumeration property.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyOption {
    pub value: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub hidden: bool,
}

/// The parts of a HubSpot property definition that mapping and formatting need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedProperty {
    pub name: String,
    #[serde(default)]
    pub label: String,
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(default)]
    pub field_type: String,
    #[serde(default)]
    pub options: Vec<PropertyOption>,
    #[serde(default)]
    pub calculated: bool,
    #[serde(default)]
    pub hubspot_defined: bool,
    #[serde(default)]
    pub modification_metadata: ModificationMetadata,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModificationMetadata {
    #[serde(default)]
    pub read_only_value: bool,
}

impl CachedProperty {
    /// HubSpot refuses writes to this property.
    #[must_use]
    pub fn read_only(&self) -> bool {
        self.modification_metadata.read_only_value || self.calculated
    }

    /// Whether `value` is one of the property's option values.
    #[must_use]
    pub fn has_option(&self, value: &str) -> bool {
        self.options.iter().any(|o| o.value == value)
    }
}

/// The cached properties of `object_type` (`contacts` or `companies`), by name.
pub fn load(conn: &Connection, object_type: &str) -> Result<Vec<CachedProperty>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, json FROM property_cache WHERE object_type = ?1 ORDER BY name",
    )?;
    let rows = stmt.query_map(params![object_type], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (name, json) = row?;
        let prop: CachedProperty = serde_json::from_str(&json).with_context(|| {
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
            let p: CachedProperty = serde_path_to_error::deserialize(value)
                .context("HubSpot returned a property definition hubsync cannot read")?;
            ins.execute(params![
                object_type,
                p.name,
                p.type_,
                p.field_type,
                p.label,
                value.to_string(),
                now
            ])?;
        }
    }
    tx.commit()?;
    Ok(props.len())
}
