//! HubSpot links and sync state: local record ↔ HubSpot id, the hash of the last push, the last
//! push and pull times, and how the record was marked for sync.

use std::collections::HashMap;
use std::fmt;

use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension as _, Row};
use serde::Serialize;

use super::{now, Store};

pub use crate::model::Entity;

/// Why a record is synced every run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// Pushed by hand (`hubsync push --contact ID`).
    Manual,
    /// Matched by the named automation.
    Automation(String),
}

impl Mark {
    /// Stored form: `manual` or `automation:<name>`.
    #[must_use]
    pub fn to_db(&self) -> String {
        match self {
            Mark::Manual => "manual".to_owned(),
            Mark::Automation(name) => format!("automation:{name}"),
        }
    }

    #[must_use]
    pub fn from_db(s: &str) -> Mark {
        match s.strip_prefix("automation:") {
            Some(name) => Mark::Automation(name.to_owned()),
            None => Mark::Manual,
        }
    }
}

impl fmt::Display for Mark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_db())
    }
}

impl Serialize for Mark {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_db())
    }
}

/// The sync state of one local record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    pub entity: Entity,
    pub local_id: String,
    pub hubspot_id: Option<String>,
    pub content_hash: Option<String>,
    pub last_pushed_at: Option<String>,
    pub last_pulled_at: Option<String>,
    pub marked: Option<Mark>,
    pub marked_at: Option<String>,
}

/// `SELECT <the columns from_row reads> FROM hubspot_links<tail>`.
macro_rules! select {
    ($tail:literal) => {
        concat!(
            "SELECT entity, local_id, hubspot_id, content_hash, last_pushed_at, last_pulled_at, ",
            "marked_by, marked_at FROM hubspot_links",
            $tail
        )
    };
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Link> {
    let entity: String = r.get(0)?;
    Ok(Link {
        entity: Entity::from_db(&entity),
        local_id: r.get(1)?,
        hubspot_id: r.get(2)?,
        content_hash: r.get(3)?,
        last_pushed_at: r.get(4)?,
        last_pulled_at: r.get(5)?,
        marked: r.get::<_, Option<String>>(6)?.as_deref().map(Mark::from_db),
        marked_at: r.get(7)?,
    })
}

pub fn get(conn: &Connection, entity: Entity, local_id: &str) -> Result<Option<Link>> {
    let mut st = conn.prepare_cached(select!(" WHERE entity = ?1 AND local_id = ?2"))?;
    Ok(st
        .query_row(params![entity.as_str(), local_id], from_row)
        .optional()?)
}

/// The links of some local records, by local id (records without a link are left out).
pub fn some(
    conn: &Connection,
    entity: Entity,
    local_ids: &[String],
) -> Result<HashMap<String, Link>> {
    let mut out = HashMap::with_capacity(local_ids.len());
    for id in local_ids {
        if let Some(l) = get(conn, entity, id)? {
            out.insert(l.local_id.clone(), l);
        }
    }
    Ok(out)
}

/// Every link of one entity kind, by local id.
pub fn all(conn: &Connection, entity: Entity) -> Result<HashMap<String, Link>> {
    let mut st = conn.prepare_cached(select!(" WHERE entity = ?1"))?;
    let links = st
        .query_map([entity.as_str()], from_row)?
        .map(|l| l.map(|l| (l.local_id.clone(), l)))
        .collect::<rusqlite::Result<_>>()?;
    Ok(links)
}

/// The local record linked to a HubSpot id.
pub fn local_id(conn: &Connection, entity: Entity, hubspot_id: &str) -> Result<Option<String>> {
    let mut st = conn.prepare_cached(
        "SELECT local_id FROM hubspot_links WHERE entity = ?1 AND hubspot_id = ?2",
    )?;
    Ok(st
        .query_row(params![entity.as_str(), hubspot_id], |r| r.get(0))
        .optional()?)
}

/// Another local record linked to `hubspot_id` loses the link and its base (the HubSpot record
/// is about to be `local_id`'s).
fn take_over(conn: &Connection, entity: Entity, hubspot_id: &str, local_id: &str) -> Result<()> {
    super::base::clear_others(conn, entity, hubspot_id, local_id)?;
    conn.prepare_cached(
        "UPDATE hubspot_links SET hubspot_id = NULL WHERE entity = ?1 AND hubspot_id = ?2 AND local_id <> ?3",
    )?
    .execute(params![entity.as_str(), hubspot_id, local_id])?;
    Ok(())
}

/// Link a local record to a HubSpot id (or move the link, e.g. to a merge survivor).
/// A link of another local record to the same HubSpot id is removed first.
pub fn set_hubspot_id(
    conn: &Connection,
    entity: Entity,
    local_id: &str,
    hubspot_id: &str,
) -> Result<()> {
    take_over(conn, entity, hubspot_id, local_id)?;
    conn.prepare_cached(
        "INSERT INTO hubspot_links (entity, local_id, hubspot_id, linked_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (entity, local_id) DO UPDATE SET hubspot_id = excluded.hubspot_id,
             linked_at = excluded.linked_at",
    )?
    .execute(params![entity.as_str(), local_id, hubspot_id, now()])?;
    Ok(())
}

/// Remember a successful push: the HubSpot id, the hash of what was sent, and when; the record
/// is marked `how` unless it already has a mark. One statement (plus moving the HubSpot id away
/// from another local record that held it), as it runs for every record pushed.
pub fn record_push(
    conn: &Connection,
    entity: Entity,
    local_id: &str,
    hubspot_id: &str,
    content_hash: &str,
    how: &Mark,
) -> Result<()> {
    take_over(conn, entity, hubspot_id, local_id)?;
    conn.prepare_cached(
        "INSERT INTO hubspot_links
             (entity, local_id, hubspot_id, linked_at, content_hash, last_pushed_at, marked_by, marked_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?4, ?6, ?4)
         ON CONFLICT (entity, local_id) DO UPDATE SET
             hubspot_id = excluded.hubspot_id,
             linked_at = excluded.linked_at,
             content_hash = excluded.content_hash,
             last_pushed_at = excluded.last_pushed_at,
             marked_by = coalesce(hubspot_links.marked_by, excluded.marked_by),
             marked_at = coalesce(hubspot_links.marked_at, excluded.marked_at)",
    )?
    .execute(params![
        entity.as_str(),
        local_id,
        hubspot_id,
        now(),
        content_hash,
        how.to_db()
    ])?;
    Ok(())
}

/// Remember that data-in read this record from HubSpot.
pub fn record_pull(
    conn: &Connection,
    entity: Entity,
    local_id: &str,
    hubspot_id: &str,
) -> Result<()> {
    set_hubspot_id(conn, entity, local_id, hubspot_id)?;
    conn.prepare_cached(
        "UPDATE hubspot_links SET last_pulled_at = ?3 WHERE entity = ?1 AND local_id = ?2",
    )?
    .execute(params![entity.as_str(), local_id, now()])?;
    Ok(())
}

/// Mark a record for sync every run. An existing mark is kept (the first reason wins).
pub fn mark(conn: &Connection, entity: Entity, local_id: &str, how: &Mark) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO hubspot_links (entity, local_id, marked_by, marked_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (entity, local_id) DO UPDATE SET
             marked_by = coalesce(hubspot_links.marked_by, excluded.marked_by),
             marked_at = coalesce(hubspot_links.marked_at, excluded.marked_at)",
    )?
    .execute(params![entity.as_str(), local_id, how.to_db(), now()])?;
    Ok(())
}

/// Forget the hash of the last push, so the next run sends the record again (e.g. when its
/// associations could not be written).
pub fn forget_hash(conn: &Connection, entity: Entity, local_id: &str) -> Result<()> {
    conn.prepare_cached(
        "UPDATE hubspot_links SET content_hash = NULL WHERE entity = ?1 AND local_id = ?2",
    )?
    .execute(params![entity.as_str(), local_id])?;
    Ok(())
}

/// Set the content hash of what HubSpot holds for a record (without a push: a pull that brought
/// HubSpot's values in leaves nothing to send back).
pub fn set_hash(conn: &Connection, entity: Entity, local_id: &str, hash: &str) -> Result<()> {
    conn.prepare_cached(
        "UPDATE hubspot_links SET content_hash = ?3 WHERE entity = ?1 AND local_id = ?2",
    )?
    .execute(params![entity.as_str(), local_id, hash])?;
    Ok(())
}

/// Checkpoint key prefix of a contact's associations that were pushed but not yet written.
const PENDING_ASSOCIATIONS: &str = "associations.";

/// Remember, in the push's transaction, that `local_id` (HubSpot contact `contact_id`) still
/// needs associating to `companies`; a later run finishes it if this one stops first.
pub fn set_pending_associations(
    conn: &Connection,
    local_id: &str,
    contact_id: &str,
    companies: &[String],
    run_id: i64,
) -> Result<()> {
    let value = serde_json::json!({ "contact": contact_id, "companies": companies }).to_string();
    super::runs::set_checkpoint(
        conn,
        "push",
        &format!("{PENDING_ASSOCIATIONS}{local_id}"),
        &value,
        run_id,
    )
}

/// Associations left pending: (local contact id, HubSpot contact id, HubSpot company ids).
pub fn pending_associations(conn: &Connection) -> Result<Vec<(String, String, Vec<String>)>> {
    let mut st = conn.prepare_cached(
        "SELECT key, value FROM checkpoints WHERE kind = 'push' AND key LIKE 'associations.%' ORDER BY key",
    )?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (key, value) = row?;
        let Some(local) = key.strip_prefix(PENDING_ASSOCIATIONS) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&value) else {
            continue;
        };
        let contact = v["contact"].as_str().unwrap_or_default().to_owned();
        let companies: Vec<String> = v["companies"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if !contact.is_empty() {
            out.push((local.to_owned(), contact, companies));
        }
    }
    Ok(out)
}

/// The associations of `local_id` are written.
pub fn clear_pending_associations(conn: &Connection, local_id: &str) -> Result<()> {
    super::runs::clear_checkpoint(conn, "push", &format!("{PENDING_ASSOCIATIONS}{local_id}"))
}

impl Store {
    pub fn link(&self, entity: Entity, local_id: &str) -> Result<Option<Link>> {
        get(self.conn(), entity, local_id)
    }

    pub fn links(&self, entity: Entity) -> Result<HashMap<String, Link>> {
        all(self.conn(), entity)
    }

    pub fn set_link(&self, entity: Entity, local_id: &str, hubspot_id: &str) -> Result<()> {
        set_hubspot_id(self.conn(), entity, local_id, hubspot_id)
    }

    pub fn mark(&self, entity: Entity, local_id: &str, how: &Mark) -> Result<()> {
        mark(self.conn(), entity, local_id, how)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_move_and_marks_keep_their_first_reason() {
        let store = Store::open_in_memory().unwrap();
        store.set_link(Entity::Contact, "a", "101").unwrap();
        store.set_link(Entity::Contact, "b", "101").unwrap();
        assert_eq!(
            store
                .link(Entity::Contact, "a")
                .unwrap()
                .unwrap()
                .hubspot_id,
            None
        );
        assert_eq!(
            local_id(store.conn(), Entity::Contact, "101")
                .unwrap()
                .as_deref(),
            Some("b")
        );
        store
            .mark(Entity::Contact, "b", &Mark::Automation("devs".into()))
            .unwrap();
        store.mark(Entity::Contact, "b", &Mark::Manual).unwrap();
        let link = store.link(Entity::Contact, "b").unwrap().unwrap();
        assert_eq!(link.marked, Some(Mark::Automation("devs".into())));
        record_push(
            store.conn(),
            Entity::Contact,
            "b",
            "101",
            "h1",
            &Mark::Manual,
        )
        .unwrap();
        let link = store.link(Entity::Contact, "b").unwrap().unwrap();
        assert_eq!(link.content_hash.as_deref(), Some("h1"));
        assert!(link.last_pushed_at.is_some());
        assert_eq!(store.counts().unwrap().contacts_linked, 1);
        assert_eq!(store.counts().unwrap().marked, 1);
        assert_eq!(link.marked, Some(Mark::Automation("devs".into())));

        // A first push of another record to the same HubSpot id moves the link and marks it.
        record_push(
            store.conn(),
            Entity::Contact,
            "c",
            "101",
            "h2",
            &Mark::Manual,
        )
        .unwrap();
        let c = store.link(Entity::Contact, "c").unwrap().unwrap();
        assert_eq!(c.hubspot_id.as_deref(), Some("101"));
        assert_eq!(c.marked, Some(Mark::Manual));
        let b = store.link(Entity::Contact, "b").unwrap().unwrap();
        assert_eq!(b.hubspot_id, None);
    }
}
