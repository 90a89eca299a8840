//! Organizations.

use anyhow::{Context as _, Result};
use rusqlite::{params, Connection, Row};

use super::contacts::json_column;
use super::{now, Store};
use crate::model::{normalize_name, Organization};

/// `SELECT <every column> FROM organizations<tail>`, in the order `from_row` reads.
macro_rules! select {
    ($tail:literal) => {
        concat!(
            "SELECT id, name, website, description, location, logo, headline, size, url, industry, ",
            "type, employees, founded, github, twitter, linkedin, crunchbase, revenue_range_min, ",
            "revenue_range_max, member_count, activity_count, joined_at, last_active, tags, emails ",
            "FROM organizations",
            $tail
        )
    };
}

impl super::rows::Rows for Organization {
    const EXISTS: &'static str = "SELECT 1 FROM organizations WHERE id = ?1";
    const BY_ID: &'static str = select!(" WHERE id = ?1");
    const IN_ORDER: &'static str = select!(" ORDER BY id");
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        from_row(r)
    }
}

super::rows::record_fns!(Organization, "organization");

/// Insert or replace an organization (its memberships are kept).
pub fn upsert(conn: &Connection, o: &Organization) -> Result<()> {
    let mut st = conn.prepare_cached(
        "INSERT INTO organizations (id, name, name_norm, website, domain, description, location, logo,
             headline, size, url, industry, type, employees, founded, github, twitter, linkedin,
             crunchbase, revenue_range_min, revenue_range_max, member_count, activity_count,
             joined_at, last_active, tags, emails, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
             ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)
         ON CONFLICT (id) DO UPDATE SET
             name = excluded.name, name_norm = excluded.name_norm, website = excluded.website,
             domain = excluded.domain, description = excluded.description,
             location = excluded.location, logo = excluded.logo, headline = excluded.headline,
             size = excluded.size, url = excluded.url, industry = excluded.industry,
             type = excluded.type, employees = excluded.employees, founded = excluded.founded,
             github = excluded.github, twitter = excluded.twitter, linkedin = excluded.linkedin,
             crunchbase = excluded.crunchbase, revenue_range_min = excluded.revenue_range_min,
             revenue_range_max = excluded.revenue_range_max, member_count = excluded.member_count,
             activity_count = excluded.activity_count, joined_at = excluded.joined_at,
             last_active = excluded.last_active, tags = excluded.tags, emails = excluded.emails,
             updated_at = excluded.updated_at",
    )?;
    st.execute(params![
        o.id,
        o.name,
        o.name.as_deref().map(normalize_name),
        o.website,
        o.domain(),
        o.description,
        o.location,
        o.logo,
        o.headline,
        o.size,
        o.url,
        o.industry,
        o.type_,
        o.employees,
        o.founded,
        o.github,
        o.twitter,
        o.linkedin,
        o.crunchbase,
        o.revenue_range_min,
        o.revenue_range_max,
        o.member_count,
        o.activity_count,
        o.joined_at,
        o.last_active,
        serde_json::to_string(&o.tags)?,
        serde_json::to_string(&o.emails)?,
        now(),
    ])
    .with_context(|| format!("cannot write organization {}", o.id))?;
    Ok(())
}

/// Ids of the organizations with this name (trimmed, case-insensitive, inner whitespace collapsed).
pub fn ids_by_name(conn: &Connection, name: &str) -> Result<Vec<String>> {
    let mut st =
        conn.prepare_cached("SELECT id FROM organizations WHERE name_norm = ?1 ORDER BY id")?;
    let ids = st
        .query_map([normalize_name(name)], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

/// Ids of the organizations whose website normalises to this domain.
pub fn ids_by_domain(conn: &Connection, domain: &str) -> Result<Vec<String>> {
    let mut st =
        conn.prepare_cached("SELECT id FROM organizations WHERE domain = ?1 ORDER BY id")?;
    let ids = st
        .query_map([domain.to_lowercase()], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

/// Number of member contacts per organization id.
pub fn member_counts(conn: &Connection) -> Result<std::collections::HashMap<String, u64>> {
    let mut st = conn.prepare(
        "SELECT organization_id, count(*) FROM contact_organizations GROUP BY organization_id",
    )?;
    let map = st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
        .map(|r| r.map(|(k, v)| (k, u64::try_from(v).unwrap_or(0))))
        .collect::<rusqlite::Result<_>>()?;
    Ok(map)
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Organization> {
    Ok(Organization {
        id: r.get(0)?,
        name: r.get(1)?,
        website: r.get(2)?,
        description: r.get(3)?,
        location: r.get(4)?,
        logo: r.get(5)?,
        headline: r.get(6)?,
        size: r.get(7)?,
        url: r.get(8)?,
        industry: r.get(9)?,
        type_: r.get(10)?,
        employees: r.get(11)?,
        founded: r.get(12)?,
        github: r.get(13)?,
        twitter: r.get(14)?,
        linkedin: r.get(15)?,
        crunchbase: r.get(16)?,
        revenue_range_min: r.get(17)?,
        revenue_range_max: r.get(18)?,
        member_count: r.get(19)?,
        activity_count: r.get(20)?,
        joined_at: r.get(21)?,
        last_active: r.get(22)?,
        tags: json_column(r, 23)?,
        emails: json_column(r, 24)?,
    })
}

impl Store {
    pub fn organization(&self, id: &str) -> Result<Option<Organization>> {
        get(self.conn(), id)
    }

    /// Every organization, ordered by id.
    pub fn organizations(&self) -> Result<Vec<Organization>> {
        all(self.conn())
    }

    /// Insert or replace one organization; returns whether it was new.
    pub fn upsert_organization(&mut self, o: &Organization) -> Result<bool> {
        let tx = self.conn_mut().transaction()?;
        let existed = exists(&tx, &o.id)?;
        upsert(&tx, o)?;
        tx.commit()?;
        Ok(!existed)
    }

    pub fn organization_ids_by_name(&self, name: &str) -> Result<Vec<String>> {
        ids_by_name(self.conn(), name)
    }

    pub fn organization_ids_by_domain(&self, domain: &str) -> Result<Vec<String>> {
        ids_by_domain(self.conn(), domain)
    }
}

/// Organizations read and written inside a transaction (see [`super::rows::RecordWriter`]).
pub struct Writer<'c>(pub &'c Connection);

impl super::rows::RecordWriter<Organization> for Writer<'_> {
    fn get(&mut self, id: &str) -> Result<Option<Organization>> {
        get(self.0, id)
    }
    fn put(&mut self, new: &Organization, _previous: &Organization) -> Result<()> {
        upsert(self.0, new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_by_normalised_name_and_domain() {
        let mut store = Store::open_in_memory().unwrap();
        let mut a = Organization::new("a");
        a.name = Some("Acme Labs".into());
        a.website = Some("https://www.AcmeLabs.io/about".into());
        let mut b = Organization::new("b");
        b.name = Some("  ACME   labs ".into());
        for o in [&a, &b] {
            store.upsert_organization(o).unwrap();
        }
        assert_eq!(
            store.organization_ids_by_name("acme labs").unwrap(),
            ["a", "b"]
        );
        assert_eq!(
            store.organization_ids_by_domain("acmelabs.io").unwrap(),
            ["a"]
        );
        assert_eq!(store.organization("a").unwrap().unwrap(), a);
        assert!(store.organization("zzz").unwrap().is_none());
    }
}
