//! Contacts, their e-mails and their organization memberships.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use rusqlite::{params, Connection, OptionalExtension as _, Row, Statement};

use super::{now, Store};
use crate::model::{normalize_email, Contact};

/// `SELECT <every column> FROM contacts<tail>`, in the order `from_row` reads.
macro_rules! select {
    ($tail:literal) => {
        concat!(
            "SELECT id, emails, display_name, identities, attributes, organizations, score, reach, ",
            "activity_count, active_days_count, average_sentiment, ",
            "number_of_open_source_contributions, joined_at, last_active, created_at, tags ",
            "FROM contacts",
            $tail
        )
    };
}

impl super::rows::Rows for Contact {
    const EXISTS: &'static str = "SELECT 1 FROM contacts WHERE id = ?1";
    const BY_ID: &'static str = select!(" WHERE id = ?1");
    const IN_ORDER: &'static str = select!(" ORDER BY id");
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        from_row(r)
    }
}

super::rows::record_fns!(Contact, "contact");

/// Insert or replace a contact. `previous` is the stored version when there is one (its e-mail
/// and membership index rows are replaced). For many contacts, use a [`Writer`].
pub fn upsert(conn: &Connection, c: &Contact, previous: Option<&Contact>) -> Result<()> {
    Writer::new(conn)?.upsert(c, previous)
}

/// Every custom attribute name some contact has.
pub fn attribute_names(conn: &Connection) -> Result<std::collections::BTreeSet<String>> {
    let mut st =
        conn.prepare("SELECT DISTINCT j.key FROM contacts, json_each(contacts.attributes) AS j")?;
    let names = st
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(names)
}

/// Prepared statements for reading and writing many contacts in one transaction (import, pull).
impl super::rows::RecordWriter<Contact> for Writer<'_> {
    fn get(&mut self, id: &str) -> Result<Option<Contact>> {
        Writer::get(self, id)
    }
    fn put(&mut self, new: &Contact, previous: &Contact) -> Result<()> {
        self.upsert(new, Some(previous))
    }
}

pub struct Writer<'c> {
    get: Statement<'c>,
    upsert: Statement<'c>,
    email_del: Statement<'c>,
    email_ins: Statement<'c>,
    org_del: Statement<'c>,
    org_ins: Statement<'c>,
    org_exists: Statement<'c>,
    /// `updated_at` of everything this writer writes.
    now: String,
    conn: &'c Connection,
}

impl<'c> Writer<'c> {
    pub fn new(conn: &'c Connection) -> Result<Self> {
        Ok(Self {
            get: conn.prepare(select!(" WHERE id = ?1"))?,
            upsert: conn.prepare(
                "INSERT INTO contacts (id, emails, display_name, identities, attributes, organizations,
                     score, reach, activity_count, active_days_count, average_sentiment,
                     number_of_open_source_contributions, joined_at, last_active, created_at, tags,
                     updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
                 ON CONFLICT (id) DO UPDATE SET
                     emails = excluded.emails, display_name = excluded.display_name,
                     identities = excluded.identities, attributes = excluded.attributes,
                     organizations = excluded.organizations, score = excluded.score,
                     reach = excluded.reach, activity_count = excluded.activity_count,
                     active_days_count = excluded.active_days_count,
                     average_sentiment = excluded.average_sentiment,
                     number_of_open_source_contributions = excluded.number_of_open_source_contributions,
                     joined_at = excluded.joined_at, last_active = excluded.last_active,
                     created_at = excluded.created_at, tags = excluded.tags,
                     updated_at = excluded.updated_at",
            )?,
            email_del: conn
                .prepare("DELETE FROM contact_emails WHERE email_norm = ?1 AND contact_id = ?2")?,
            email_ins: conn.prepare(
                "INSERT OR IGNORE INTO contact_emails (email_norm, contact_id) VALUES (?1, ?2)",
            )?,
            org_del: conn.prepare(
                "DELETE FROM contact_organizations WHERE organization_id = ?1 AND contact_id = ?2",
            )?,
            org_ins: conn.prepare(
                "INSERT OR IGNORE INTO contact_organizations (organization_id, contact_id) VALUES (?1, ?2)",
            )?,
            org_exists: conn.prepare("SELECT 1 FROM organizations WHERE id = ?1")?,
            now: now(),
            conn,
        })
    }

    /// The connection (or transaction) this writer writes to.
    #[must_use]
    pub fn conn(&self) -> &'c Connection {
        self.conn
    }

    pub fn get(&mut self, id: &str) -> Result<Option<Contact>> {
        Ok(self.get.query_row([id], from_row).optional()?)
    }

    pub fn organization_exists(&mut self, id: &str) -> Result<bool> {
        Ok(self.org_exists.exists([id])?)
    }

    pub fn upsert(&mut self, c: &Contact, previous: Option<&Contact>) -> Result<()> {
        self.upsert
            .execute(params![
                c.id,
                serde_json::to_string(&c.emails)?,
                c.display_name,
                serde_json::to_string(&c.identities)?,
                serde_json::to_string(&c.attributes)?,
                serde_json::to_string(&c.organizations)?,
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
                self.now,
            ])
            .with_context(|| format!("cannot write contact {}", c.id))?;

        let emails = |c: &Contact| -> Vec<String> {
            let mut v: Vec<String> = c.emails.iter().map(|e| normalize_email(e)).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let new_emails = emails(c);
        let old_emails = previous.map(emails).unwrap_or_default();
        for e in old_emails.iter().filter(|e| !new_emails.contains(e)) {
            self.email_del.execute(params![e, c.id])?;
        }
        for e in new_emails.iter().filter(|e| !old_emails.contains(e)) {
            self.email_ins.execute(params![e, c.id])?;
        }

        let old_orgs = previous
            .map(|p| p.organizations.as_slice())
            .unwrap_or_default();
        for o in old_orgs.iter().filter(|o| !c.organizations.contains(o)) {
            self.org_del.execute(params![o, c.id])?;
        }
        for o in c.organizations.iter().filter(|o| !old_orgs.contains(o)) {
            self.org_ins
                .execute(params![o, c.id])
                .with_context(|| format!("contact {}: no organization with id {o}", c.id))?;
        }
        Ok(())
    }
}

/// Ids of the contacts having this e-mail (compared trimmed and case-insensitively).
pub fn ids_by_email(conn: &Connection, email: &str) -> Result<Vec<String>> {
    let mut st = conn.prepare_cached(
        "SELECT contact_id FROM contact_emails WHERE email_norm = ?1 ORDER BY contact_id",
    )?;
    let ids = st
        .query_map([normalize_email(email)], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

/// Ids of the contacts that belong to an organization (the tests read membership with it).
#[cfg(test)]
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
        emails: json_column(r, 1)?,
        display_name: r.get(2)?,
        identities: json_column::<BTreeMap<_, _>>(r, 3)?,
        attributes: json_column::<BTreeMap<_, _>>(r, 4)?,
        organizations: json_column(r, 5)?,
        score: r.get(6)?,
        reach: r.get(7)?,
        activity_count: r.get(8)?,
        active_days_count: r.get(9)?,
        average_sentiment: r.get(10)?,
        number_of_open_source_contributions: r.get(11)?,
        joined_at: r.get(12)?,
        last_active: r.get(13)?,
        created_at: r.get(14)?,
        tags: json_column(r, 15)?,
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
        let previous = get(&tx, &c.id)?;
        upsert(&tx, c, previous.as_ref())?;
        tx.commit()?;
        Ok(previous.is_none())
    }

    pub fn contact_ids_by_email(&self, email: &str) -> Result<Vec<String>> {
        ids_by_email(self.conn(), email)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Organization;

    #[test]
    fn lookups_by_email_and_membership_follow_updates() {
        let mut store = Store::open_in_memory().unwrap();
        for id in ["o1", "o2"] {
            store.upsert_organization(&Organization::new(id)).unwrap();
        }
        let mut ada = Contact::new("ada");
        ada.emails = vec!["Ada@Example.com".into(), "ada@work.example".into()];
        ada.organizations = vec!["o1".into()];
        assert!(store.upsert_contact(&ada).unwrap(), "new");
        assert_eq!(
            store.contact_ids_by_email(" ADA@example.COM ").unwrap(),
            ["ada"]
        );

        ada.emails = vec!["ada@work.example".into()];
        ada.organizations = vec!["o2".into()];
        assert!(!store.upsert_contact(&ada).unwrap(), "updated");
        assert!(store
            .contact_ids_by_email("ada@example.com")
            .unwrap()
            .is_empty());
        assert_eq!(
            store.contact_ids_by_email("ada@work.example").unwrap(),
            ["ada"]
        );
        assert!(ids_in_organization(store.conn(), "o1").unwrap().is_empty());
        assert_eq!(ids_in_organization(store.conn(), "o2").unwrap(), ["ada"]);
        assert_eq!(store.contact("ada").unwrap().unwrap(), ada);
    }
}
