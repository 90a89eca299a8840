//! The HubSpot records of one pull pass, staged in a temporary SQLite table so a pass over
//! hundreds of thousands of records keeps a flat memory profile: pages are written there as
//! they are read, then claimed, resolved and applied a few hundred at a time.
//!
//! The tables are `TEMP`: they live beside the connection (in a temporary file), never in the
//! store, and vanish with it.

use anyhow::{Context as _, Result};
use rusqlite::{params, Connection, OptionalExtension as _};

use super::plan::{ClaimOn, Via};
use crate::hubspot::models::SimplePublicObject;

/// Staged records and their claims.
pub struct Stage<'c> {
    conn: &'c Connection,
}

/// Where a page of staged records starts: after `(ord, id)`.
#[derive(Debug, Clone)]
pub struct Cursor {
    ord: i64,
    id: String,
}

impl Default for Cursor {
    /// Before every record.
    fn default() -> Self {
        Self {
            ord: i64::MIN,
            id: String::new(),
        }
    }
}

/// The numeric order of a HubSpot id (ids are numbers; anything else sorts last).
fn ord(id: &str) -> i64 {
    id.parse::<i64>().unwrap_or(i64::MAX)
}

fn via_text(v: Via) -> &'static str {
    match v {
        Via::Link => "link",
        Via::Merge => "merge",
        Via::Key => "key",
    }
}

fn via_from(s: &str) -> Via {
    match s {
        "link" => Via::Link,
        "merge" => Via::Merge,
        _ => Via::Key,
    }
}

impl<'c> Stage<'c> {
    /// Empty staging tables on this connection.
    pub fn new(conn: &'c Connection) -> Result<Self> {
        conn.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS pull_stage (
               id     TEXT PRIMARY KEY NOT NULL,
               ord    INTEGER NOT NULL,
               apply  INTEGER NOT NULL,
               record TEXT NOT NULL
             );
             CREATE INDEX IF NOT EXISTS temp.pull_stage_order ON pull_stage(apply, ord, id);
             CREATE TEMP TABLE IF NOT EXISTS pull_claims (
               local_id   TEXT NOT NULL,
               seq        INTEGER NOT NULL,
               hubspot_id TEXT NOT NULL,
               via        TEXT NOT NULL,
               key        TEXT NOT NULL,
               apply      INTEGER NOT NULL,
               PRIMARY KEY (local_id, seq)
             );
             DELETE FROM temp.pull_stage;
             DELETE FROM temp.pull_claims;",
        )
        .context("cannot create the temporary tables a pull stages HubSpot records in")?;
        Ok(Self { conn })
    }

    /// Stage records read to be applied (a record read twice keeps its last version).
    pub fn put(&self, records: &[SimplePublicObject]) -> Result<()> {
        self.insert(records, true)
    }

    /// Stage records read only to find competing claims (ignored when already staged).
    pub fn put_context(&self, records: &[SimplePublicObject]) -> Result<()> {
        self.insert(records, false)
    }

    fn insert(&self, records: &[SimplePublicObject], apply: bool) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        {
            let sql = if apply {
                "INSERT OR REPLACE INTO temp.pull_stage (id, ord, apply, record) VALUES (?1, ?2, 1, ?3)"
            } else {
                "INSERT OR IGNORE INTO temp.pull_stage (id, ord, apply, record) VALUES (?1, ?2, 0, ?3)"
            };
            let mut st = tx.prepare_cached(sql)?;
            for r in records {
                st.execute(params![r.id, ord(&r.id), serde_json::to_string(r)?])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Records staged to be applied.
    pub fn count(&self) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM temp.pull_stage WHERE apply = 1",
            [],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The next page of staged records (in HubSpot id order) after `cursor`, and moves it.
    pub fn page(
        &self,
        apply: bool,
        cursor: &mut Cursor,
        limit: usize,
    ) -> Result<Vec<SimplePublicObject>> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, ord, record FROM temp.pull_stage WHERE apply = ?1 AND (ord, id) > (?2, ?3)
             ORDER BY ord, id LIMIT ?4",
        )?;
        let rows = st.query_map(
            params![
                apply,
                cursor.ord,
                cursor.id,
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                ))
            },
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (id, ord, text) = row?;
            out.push(serde_json::from_str(&text).context("a staged HubSpot record is unreadable")?);
            *cursor = Cursor { ord, id };
        }
        Ok(out)
    }

    /// One staged record.
    pub fn get(&self, id: &str) -> Result<Option<SimplePublicObject>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT record FROM temp.pull_stage WHERE id = ?1")?;
        let text: Option<String> = st.query_row([id], |r| r.get(0)).optional()?;
        text.map(|t| serde_json::from_str(&t).context("a staged HubSpot record is unreadable"))
            .transpose()
    }

    /// Record claims: (local id, claim), `seq` giving the order records were read in.
    pub fn claim(&self, claims: &[(String, u64, ClaimOn)]) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO temp.pull_claims (local_id, seq, hubspot_id, via, key, apply)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for (local, seq, c) in claims {
                st.execute(params![
                    local,
                    i64::try_from(*seq).unwrap_or(i64::MAX),
                    c.hubspot_id,
                    via_text(c.via),
                    c.key,
                    c.apply
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The next local ids having claims, after `after`.
    pub fn claimed_locals(&self, after: &str, limit: usize) -> Result<Vec<String>> {
        let mut st = self.conn.prepare_cached(
            "SELECT DISTINCT local_id FROM temp.pull_claims WHERE local_id > ?1
             ORDER BY local_id LIMIT ?2",
        )?;
        let ids = st
            .query_map(
                params![after, i64::try_from(limit).unwrap_or(i64::MAX)],
                |r| r.get(0),
            )?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    /// Every claim on one local record, in read order.
    pub fn claims_on(&self, local_id: &str) -> Result<Vec<ClaimOn>> {
        let mut st = self.conn.prepare_cached(
            "SELECT hubspot_id, via, key, apply FROM temp.pull_claims WHERE local_id = ?1
             ORDER BY seq",
        )?;
        let claims = st
            .query_map([local_id], |r| {
                Ok(ClaimOn {
                    hubspot_id: r.get(0)?,
                    via: via_from(&r.get::<_, String>(1)?),
                    key: r.get(2)?,
                    apply: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(claims)
    }

    /// Empty the tables (their pages go back to the temporary file's free list).
    pub fn clear(&self) -> Result<()> {
        self.conn
            .execute_batch("DELETE FROM temp.pull_stage; DELETE FROM temp.pull_claims;")?;
        Ok(())
    }
}
