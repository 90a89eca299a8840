//! The local SQLite store (temporary minimal version).
pub mod properties;
use anyhow::Result;
use std::path::Path;
pub struct Store {
    conn: rusqlite::Connection,
}
impl Store {
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d)?;
        }
        let conn = rusqlite::Connection::open(path)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS property_cache (
  object_type TEXT NOT NULL CHECK (object_type IN ('contacts','companies')),
  name TEXT NOT NULL, type TEXT NOT NULL, field_type TEXT NOT NULL, label TEXT NOT NULL DEFAULT '',
  json TEXT NOT NULL, fetched_at TEXT NOT NULL, PRIMARY KEY (object_type, name));",
        )?;
        Ok(Store { conn })
    }
    pub fn conn(&self) -> &rusqlite::Connection {
        &self.conn
    }
    pub fn conn_mut(&mut self) -> &mut rusqlite::Connection {
        &mut self.conn
    }
}
