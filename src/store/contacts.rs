//! Contacts, their e-mails and their organization memberships.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use rusqlite::{params, Connection, OptionalExtension as _, Row};

use super::{now, Store};
use crate::model::{normalize_email, Contact};

const COLUMNS: &str = "id, display_name, identities, attributes, score, reach, activity_count, \
     active_days_count, average_sentiment, number_of_open_source_contributions, joined_at, \
     last_active, created_at, tags";

/// Whether a contact with this id exists.
pub fn exists(conn: &Connection, id: &str) -> Result<bool> {
    let mut st = conn.prepare_cached("SELECT 1 FROM contacts WHERE id = ?1")?;
    Ok(st.exists([id])?)
}

/// One contact with its e-mails and organizations.
pub fn get(conn: &Connection, id: &str) -> Result<Option<Contact>> {
    let mut st = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM contacts WHERE id = ?1"))?;
    let Some(mut contact) = st.query_row([id], from_row).optional()? else {
        return Ok(None);
    };
    let mut st = conn.prepare_cached(
        "SELECT email FROM contact_emails WHERE contact_id = ?1 ORDER BY position",
    )?;
    contact.emails = st
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut st = conn.prepare_cached(
        "SELECT organization_id FROM contact_organizations WHERE contact_id = ?1 ORDER BY position",
    )?;
    contact.organizations = st
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(contact))
}

/// Every contact, ordered by id (three ordered scans merged, not one query per contact).
pub fn all(conn: &Connection) -> Result<Vec<Contact>> {
    let mut st = conn.prepare(&format!("SELECT {COLUMNS} FROM contacts ORDER BY id"))?;
    let mut contacts: Vec<Contact> = st
        .query_map([], from_row)?
        .collect::<rusqlite::Result<_>>()?;
    attach(
        conn,
        &mut contacts,
        "SELECT contact_id, email FROM contact_emails ORDER BY contact_id, position",
        |c, v| c.emails.push(v),
    )?;
    attach(
        conn,
        &mut contacts,
        "SELECT contact_id, organization_id FROM contact_organizations ORDER BY contact_id, position",
        |c, v| c.organizations.push(v),
    )?;
    Ok(contacts)
}

/// Merge child rows `(contact_id, value)` ordered by contact id into contacts ordered by id.
fn attach(
    conn: &Connection,
    contacts: &mut [Contact],
    sql: &str,
    mut push: impl FnMut(&mut Contact, String),
) -> Result<()> {
    let mut st = conn.prepare(sql)?;
    let mut rows = st.query([])?;
    let mut i = 0;
    while let Some(row) = rows.next()? {
        let id: String = row.get(0)?;
        while i < contacts.len() && contacts[i].id < id {
            i += 1;
        }
        if let Some(c) = contacts.get_mut(i).filter(|c| c.id == id) {
            push(c, row.get(1)?);
        }
    }
    Ok(())
}

/// Insert or replace a contact (with its e-mails and organizations). `existed` says whether a
/// row with this id is already there (then its e-mails and memberships are replaced).
pub fn upsert(conn: &Connection, c: &Contact, existed: bool) -> Result<()> {
    let mut st = conn.prepare_cached(
        "INSERT INTO contacts (id, display_name, identities, attributes, score, reach, activity_count,
             active_days_count, average_sentiment, number_of_open_source_contributions, joined_at,
             last_active, created_at, tags, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
         ON CONFLICT (id) DO UPDATE SET
             display_name = excluded.display_name, identities = excluded.identities,
             attributes = excluded.attributes, score = excluded.score, reach = excluded.reach,
             activity_count = excluded.activity_count, active_days_count = excluded.active_days_count,
             average_sentiment = excluded.average_sentiment,
             number_of_open_source_contributions = excluded.number_of_open_source_contributions,
             joined_at = excluded.joined_at, last_active = excluded.last_active,
             created_at = excluded.created_at, tags = excluded.tags, updated_at = excluded.updated_at",
    )?;
    st.execute(params![
        c.id,
        c.display_name,
        serde_json::to_string(&c.identities)?,
        serde_json::to_string(&c.attributes)?,
        c.score,
        c.reach,
        c.activity_count,
        c.active_days_count,
        c.average_sentiment,
        c.number_of_open_source_contributions,
        c.joined_at,
        c.last_active,
        c.created_at,
        serde_json::to_string(&c.tags)?,
        now(),
    ])
    .with_context(|| format!("cannot write contact {}", c.id))?;
    if existed {
        conn.prepare_cached("DELETE FROM contact_emails WHERE contact_id = ?1")?
            .execute([&c.id])?;
        conn.prepare_cached("DELETE FROM contact_organizations WHERE contact_id = ?1")?
            .execute([&c.id])?;
    }
    let mut st = conn.prepare_cached(
        "INSERT INTO contact_emails (contact_id, position, email, email_norm) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (i, e) in c.emails.iter().enumerate() {
        st.execute(params![c.id, i, e, normalize_email(e)])?;
    }
    let mut st = conn.prepare_cached(
        "INSERT INTO contact_organizations (contact_id, organization_id, position) VALUES (?1, ?2, ?3)",
    )?;
    for (i, o) in c.organizations.iter().enumerate() {
        st.execute(params![c.id, o, i])
            .with_context(|| format!("contact {}: no organization with id {o}", c.id))?;
    }
    Ok(())
}

/// Ids of the contacts having this e-mail (compared trimmed and case-insensitively).
pub fn ids_by_email(conn: &Connection, email: &str) -> Result<Vec<String>> {
    let mut st = conn.prepare_cached(
        "SELECT DISTINCT contact_id FROM contact_emails WHERE email_norm = ?1 ORDER BY contact_id",
    )?;
    let ids = st
        .query_map([normalize_email(email)], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

/// Ids of the contacts that belong to an organization.
pub fn ids_in_organization(conn: &Connection, organization_id: &str) -> Result<Vec<String>> {
    let mut st = conn.prepare_cached(
        "SELECT contact_id FROM contact_organizations WHERE organization_id = ?1 ORDER BY contact_id",
    )?;
    let ids = st
        .query_map([organization_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Contact> {
    Ok(Contact {
        id: r.get(0)?,
        emails: Vec::new(),
        display_name: r.get(1)?,
        identities: json_column::<BTreeMap<_, _>>(r, 2)?,
        attributes: json_column::<BTreeMap<_, _>>(r, 3)?,
        organizations: Vec::new(),
        score: r.get(4)?,
        reach: r.get(5)?,
        activity_count: r.get(6)?,
        active_days_count: r.get(7)?,
        average_sentiment: r.get(8)?,
        number_of_open_source_contributions: r.get(9)?,
        joined_at: r.get(10)?,
        last_active: r.get(11)?,
        created_at: r.get(12)?,
        tags: json_column(r, 13)?,
    })
}

/// A JSON text column decoded into `T`.
pub(crate) fn json_column<T: serde::de::DeserializeOwned>(
    r: &Row<'_>,
    i: usize,
) -> rusqlite::Result<T> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

impl Store {
    pub fn contact(&self, id: &str) -> Result<Option<Contact>> {
        get(self.conn(), id)
    }

    /// Every contact, ordered by id.
    pub fn contacts(&self) -> Result<Vec<Contact>> {
        all(self.conn())
    }

    /// Insert or replace one contact in its own transaction; returns whether it was new.
    pub fn upsert_contact(&mut self, c: &Contact) -> Result<bool> {
        let tx = self.conn_mut().transaction()?;
        let existed = exists(&tx, &c.id)?;
        upsert(&tx, c, existed)?;
        tx.commit()?;
        Ok(!existed)
    }

    pub fn contact_ids_by_email(&self, email: &str) -> Result<Vec<String>> {
        ids_by_email(self.conn(), email)
    }
}
