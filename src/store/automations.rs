//! Automations and the records each has matched.

use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension as _, Row};
use serde::Serialize;

use super::{now, Entity};

/// A stored automation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Automation {
    pub id: i64,
    pub name: String,
    pub entity: Entity,
    /// `all` or `any`.
    pub match_mode: String,
    /// The filter expressions as the user wrote them.
    pub filters: Vec<String>,
    pub list_id: String,
    pub list_name: String,
    pub sync_contacts: bool,
    pub paused: bool,
    pub created_at: String,
    pub last_run_id: Option<i64>,
    pub last_run_at: Option<String>,
}

const COLUMNS: &str = "id, name, entity, match_mode, filters, list_id, list_name, sync_contacts, paused, created_at, last_run_id, last_run_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Automation> {
    let entity: String = r.get(2)?;
    let filters: String = r.get(4)?;
    Ok(Automation {
        id: r.get(0)?,
        name: r.get(1)?,
        entity: Entity::from_db(&entity),
        match_mode: r.get(3)?,
        filters: serde_json::from_str(&filters).unwrap_or_default(),
        list_id: r.get(5)?,
        list_name: r.get(6)?,
        sync_contacts: r.get(7)?,
        paused: r.get(8)?,
        created_at: r.get(9)?,
        last_run_id: r.get(10)?,
        last_run_at: r.get(11)?,
    })
}

/// What `automate add` stores.
#[derive(Debug, Clone)]
pub struct NewAutomation<'a> {
    pub name: &'a str,
    pub entity: Entity,
    pub match_all: bool,
    pub filters: &'a [String],
    pub list_id: &'a str,
    pub list_name: &'a str,
    pub sync_contacts: bool,
}

/// Store a new automation; returns its id.
pub fn insert(conn: &Connection, a: &NewAutomation<'_>) -> Result<i64> {
    conn.execute(
        "INSERT INTO automations (name, entity, match_mode, filters, list_id, list_name, sync_contacts, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            a.name,
            a.entity.as_str(),
            if a.match_all { "all" } else { "any" },
            serde_json::to_string(a.filters)?,
            a.list_id,
            a.list_name,
            a.sync_contacts,
            now()
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// An automation by name.
pub fn get(conn: &Connection, name: &str) -> Result<Option<Automation>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM automations WHERE name = ?1"),
            params![name],
            from_row,
        )
        .optional()?)
}

/// Every automation, in creation order.
pub fn all(conn: &Connection) -> Result<Vec<Automation>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM automations ORDER BY id"))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Delete an automation (and its member bookkeeping). Records it marked stay marked until
/// their mark is changed; returns whether it existed.
pub fn remove(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn.execute("DELETE FROM automations WHERE name = ?1", params![name])? > 0)
}

/// Pause or resume; returns whether it existed.
pub fn set_paused(conn: &Connection, name: &str, paused: bool) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE automations SET paused = ?2 WHERE name = ?1",
        params![name, paused],
    )? > 0)
}

/// Remember the last run of an automation.
pub fn record_run(conn: &Connection, id: i64, run_id: i64) -> Result<()> {
    conn.execute(
        "UPDATE automations SET last_run_id = ?2, last_run_at = ?3 WHERE id = ?1",
        params![id, run_id, now()],
    )?;
    Ok(())
}

/// Remember that the automation matched a record (idempotent).
pub fn record_match(
    conn: &Connection,
    automation_id: i64,
    entity: Entity,
    local_id: &str,
) -> Result<()> {
    conn.execute(
        "INSERT INTO automation_members (automation_id, entity, local_id, matched_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT DO NOTHING",
        params![automation_id, entity.as_str(), local_id, now()],
    )?;
    Ok(())
}

/// Remember that a record is now in the automation's list.
pub fn record_added(
    conn: &Connection,
    automation_id: i64,
    entity: Entity,
    local_id: &str,
) -> Result<()> {
    let at = now();
    conn.execute(
        "INSERT INTO automation_members (automation_id, entity, local_id, matched_at, added_to_list_at)
         VALUES (?1, ?2, ?3, ?4, ?4)
         ON CONFLICT (automation_id, entity, local_id) DO UPDATE SET added_to_list_at = excluded.added_to_list_at",
        params![automation_id, entity.as_str(), local_id, at],
    )?;
    Ok(())
}

/// Local ids already added to the automation's list (the tests read membership with it; a
/// run pages through `matches::not_in_list`).
#[cfg(test)]
pub fn added(
    conn: &Connection,
    automation_id: i64,
    entity: Entity,
) -> Result<std::collections::HashSet<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT local_id FROM automation_members
         WHERE automation_id = ?1 AND entity = ?2 AND added_to_list_at IS NOT NULL",
    )?;
    let rows = stmt.query_map(params![automation_id, entity.as_str()], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The records one automation run matched, kept in a temporary table beside the connection
/// (never in the store file) so memory stays flat however many match.
pub mod matches {
    use anyhow::Result;
    use rusqlite::{params, Connection};

    use crate::store::Entity;

    /// Start empty.
    pub fn reset(conn: &Connection) -> Result<()> {
        conn.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS automation_matches (
               entity TEXT NOT NULL, local_id TEXT NOT NULL,
               PRIMARY KEY (entity, local_id)) WITHOUT ROWID;
             DELETE FROM temp.automation_matches;",
        )?;
        Ok(())
    }

    /// Add one record.
    pub fn add(conn: &Connection, entity: Entity, local_id: &str) -> Result<()> {
        conn.prepare_cached(
            "INSERT OR IGNORE INTO temp.automation_matches (entity, local_id) VALUES (?1, ?2)",
        )?
        .execute(params![entity.as_str(), local_id])?;
        Ok(())
    }

    /// Add the contacts of every organization matched.
    pub fn add_contacts_of_organizations(conn: &Connection) -> Result<()> {
        conn.execute(
            "INSERT OR IGNORE INTO temp.automation_matches (entity, local_id)
             SELECT 'contact', co.contact_id FROM contact_organizations co
             JOIN temp.automation_matches m
               ON m.entity = 'organization' AND m.local_id = co.organization_id",
            [],
        )?;
        Ok(())
    }

    /// How many records of `entity` matched.
    pub fn count(conn: &Connection, entity: Entity) -> Result<u64> {
        let n: i64 = conn.query_row(
            "SELECT count(*) FROM temp.automation_matches WHERE entity = ?1",
            [entity.as_str()],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Matched contacts not yet added to `automation_id`'s list, after `after` in id order, at
    /// most `limit`: each with its HubSpot id when it has one.
    pub fn not_in_list(
        conn: &Connection,
        automation_id: i64,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, Option<String>)>> {
        let mut st = conn.prepare_cached(
            "SELECT m.local_id, l.hubspot_id FROM temp.automation_matches m
             LEFT JOIN hubspot_links l ON l.entity = 'contact' AND l.local_id = m.local_id
             WHERE m.entity = 'contact' AND m.local_id > ?2
               AND NOT EXISTS (SELECT 1 FROM automation_members a
                 WHERE a.automation_id = ?1 AND a.entity = 'contact'
                   AND a.local_id = m.local_id AND a.added_to_list_at IS NOT NULL)
             ORDER BY m.local_id LIMIT ?3",
        )?;
        let rows = st.query_map(
            params![
                automation_id,
                after,
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
