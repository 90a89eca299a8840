//! The base of the three-way rule (SPEC §6): per linked record and HubSpot property, the value
//! both sides last agreed on, as push sends it. Push compares the local value with it to send
//! only what moved locally; pull compares HubSpot's value with it to take only what moved there.

use std::collections::BTreeMap;

use anyhow::Result;
use rusqlite::{params, Connection};

use super::{now, Entity};

/// HubSpot property → the agreed value, for one record. Empty when none is known.
pub type Base = BTreeMap<String, String>;

/// The pseudo-property holding the HubSpot company ids a contact was last associated with
/// (sorted, `;`-joined), so a change of organizations alone is pushed too.
pub const COMPANIES: &str = "@companies";

/// The base of one record. A stored base that can't be read counts as none (the next sync
/// derives or rebuilds it).
pub fn get(conn: &Connection, entity: Entity, local_id: &str) -> Result<Base> {
    use rusqlite::OptionalExtension as _;
    let text: Option<String> = conn
        .prepare_cached("SELECT base FROM sync_base WHERE entity = ?1 AND local_id = ?2")?
        .query_row(params![entity.as_str(), local_id], |r| r.get(0))
        .optional()?;
    Ok(text
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default())
}

/// The bases of some records, by local id (records without one are left out).
pub fn some(
    conn: &Connection,
    entity: Entity,
    local_ids: &[String],
) -> Result<std::collections::HashMap<String, Base>> {
    let mut out = std::collections::HashMap::new();
    for id in local_ids {
        let b = get(conn, entity, id)?;
        if !b.is_empty() {
            out.insert(id.clone(), b);
        }
    }
    Ok(out)
}

/// Forget what was agreed for one property (HubSpot's value is no longer known).
pub fn forget(conn: &Connection, entity: Entity, local_id: &str, property: &str) -> Result<()> {
    let mut b = get(conn, entity, local_id)?;
    if b.remove(property).is_some() {
        replace(conn, entity, local_id, &b)?;
    }
    Ok(())
}

/// Both sides agree on exactly `values` now (nothing else is known).
pub fn replace(conn: &Connection, entity: Entity, local_id: &str, values: &Base) -> Result<()> {
    if values.is_empty() {
        return clear(conn, entity, local_id);
    }
    conn.prepare_cached(
        "INSERT INTO sync_base (entity, local_id, base, agreed_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (entity, local_id) DO UPDATE SET base = excluded.base,
             agreed_at = excluded.agreed_at",
    )?
    .execute(params![
        entity.as_str(),
        local_id,
        serde_json::to_string(values)?,
        now()
    ])?;
    Ok(())
}

/// Forget the whole base of a record (its link went to another record).
pub fn clear(conn: &Connection, entity: Entity, local_id: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM sync_base WHERE entity = ?1 AND local_id = ?2")?
        .execute(params![entity.as_str(), local_id])?;
    Ok(())
}

/// Forget the base of every other local record linked to `hubspot_id` (before the link moves
/// to `local_id`).
pub fn clear_others(
    conn: &Connection,
    entity: Entity,
    hubspot_id: &str,
    local_id: &str,
) -> Result<()> {
    conn.prepare_cached(
        "DELETE FROM sync_base WHERE entity = ?1 AND local_id IN
             (SELECT local_id FROM hubspot_links WHERE entity = ?1 AND hubspot_id = ?2 AND local_id <> ?3)",
    )?
    .execute(params![entity.as_str(), hubspot_id, local_id])?;
    Ok(())
}

/// Remember that a local record was edited locally now (import, undo).
pub fn touch_local_edit(conn: &Connection, entity: Entity, local_id: &str) -> Result<()> {
    let sql = match entity {
        Entity::Contact => "UPDATE contacts SET edited_at = ?2 WHERE id = ?1",
        Entity::Organization => "UPDATE organizations SET edited_at = ?2 WHERE id = ?1",
    };
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    conn.prepare_cached(sql)?.execute(params![local_id, at])?;
    Ok(())
}

/// When a local record was last edited locally, in epoch milliseconds.
pub fn local_edit_ms(conn: &Connection, entity: Entity, local_id: &str) -> Result<Option<i64>> {
    use rusqlite::OptionalExtension as _;
    let sql = match entity {
        Entity::Contact => "SELECT coalesce(edited_at, updated_at) FROM contacts WHERE id = ?1",
        Entity::Organization => {
            "SELECT coalesce(edited_at, updated_at) FROM organizations WHERE id = ?1"
        }
    };
    let at: Option<String> = conn
        .prepare_cached(sql)?
        .query_row([local_id], |r| r.get(0))
        .optional()?;
    Ok(at
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp_millis()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{links, Store};

    /// Both sides agree on `value` for `property` (the others are kept).
    fn set(c: &Connection, e: Entity, id: &str, property: &str, value: &str) -> Result<()> {
        let mut b = get(c, e, id)?;
        b.insert(property.to_owned(), value.to_owned());
        replace(c, e, id, &b)
    }

    #[test]
    fn a_base_is_set_replaced_and_follows_the_link() {
        let store = Store::open_in_memory().unwrap();
        let c = store.conn();
        set(c, Entity::Contact, "a", "firstname", "Ada").unwrap();
        set(c, Entity::Contact, "a", "jobtitle", "CTO").unwrap();
        set(c, Entity::Contact, "a", "firstname", "Ada L.").unwrap();
        let b = get(c, Entity::Contact, "a").unwrap();
        assert_eq!(b.get("firstname").map(String::as_str), Some("Ada L."));
        assert_eq!(b.len(), 2);
        replace(
            c,
            Entity::Contact,
            "a",
            &Base::from([("email".to_owned(), "a@x.io".to_owned())]),
        )
        .unwrap();
        assert_eq!(get(c, Entity::Contact, "a").unwrap().len(), 1);
        forget(c, Entity::Contact, "a", "email").unwrap();
        assert!(get(c, Entity::Contact, "a").unwrap().is_empty());

        // The HubSpot record moves to another local record: the old one's base goes.
        links::set_hubspot_id(c, Entity::Contact, "a", "101").unwrap();
        set(c, Entity::Contact, "a", "firstname", "Ada").unwrap();
        links::set_hubspot_id(c, Entity::Contact, "b", "101").unwrap();
        assert!(get(c, Entity::Contact, "a").unwrap().is_empty());
        // An organization with the same local id is another record.
        set(c, Entity::Organization, "b", "name", "Acme").unwrap();
        assert!(get(c, Entity::Contact, "b").unwrap().is_empty());
    }
}
