//! The local SQLite store: opening (WAL, foreign keys), append-only migrations, and one module per
//! table family. Functions that must also run inside a transaction take a `&Connection` (a
//! `rusqlite::Transaction` derefs to one); [`Store`] offers the same as methods for plain use.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result};
use rusqlite::Connection;
use serde::Serialize;

pub mod automations;
pub mod base;
pub mod contacts;
pub mod history;
pub mod links;
pub mod lists;
pub mod organizations;
pub mod properties;
pub mod rows;
pub mod runs;
pub mod selection;
#[cfg(test)]
mod tables_tests;

pub use links::{Entity, Link, Mark};

/// Schema migrations, applied in order; schema version N = the first N applied.
/// Append only: a released migration is never edited.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_sync_base.sql"),
];

/// The schema version this hubsync writes.
#[allow(clippy::cast_possible_truncation)] // a handful of migrations, known at compile time
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// The local store.
pub struct Store {
    conn: Connection,
}

/// Row counts shown by `status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StoreCounts {
    pub contacts: u64,
    pub organizations: u64,
    /// Contacts with a HubSpot id.
    pub contacts_linked: u64,
    /// Organizations with a HubSpot id.
    pub organizations_linked: u64,
    /// Contacts and organizations marked for sync.
    pub marked: u64,
    /// Records a run could not send, waiting for the next run.
    pub pending_failures: u64,
    pub runs: u64,
}

impl Store {
    /// Open (or create) the store at `path`, creating its directory, and migrate it. The
    /// store holds people's personal data: a directory it creates is private (0700), and the
    /// database with its WAL and shared-memory files is readable by its owner only (0600).
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                create_private_dir(dir).with_context(|| {
                    format!(
                        "cannot create the store's directory {}; pass --db PATH to put it elsewhere",
                        dir.display()
                    )
                })?;
            }
        }
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open the store {}", path.display()))?;
        make_private(path);
        let store = Self::setup(conn, true)
            .with_context(|| format!("cannot use the store {}", path.display()))?;
        make_private(path);
        Ok(store)
    }

    /// Open the store at `path` only if it exists: commands that only read say there is none
    /// instead of creating an empty one (and its folders) where a mistyped `--db` points.
    pub fn open_existing(path: &Path) -> Result<Store> {
        if !path.exists() {
            return Err(crate::error::Exit::Failed(format!(
                "there is no hubsync store at {}; `hubsync import` creates it (check --db or HUBSYNC_DB)",
                path.display()
            ))
            .into());
        }
        Self::open(path)
    }

    /// What SQLite's integrity check finds wrong; empty when the store is sound.
    pub fn integrity_problems(&self) -> Result<Vec<String>> {
        let mut st = self.conn.prepare("PRAGMA integrity_check")?;
        let rows: Vec<String> = st
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(if rows.len() == 1 && rows[0] == "ok" {
            Vec::new()
        } else {
            rows
        })
    }

    /// A fresh store in memory (tests, dry runs).
    pub fn open_in_memory() -> Result<Store> {
        Self::setup(Connection::open_in_memory()?, false)
    }

    fn setup(conn: Connection, file: bool) -> Result<Store> {
        conn.busy_timeout(Duration::from_secs(10))?;
        // Push and pull keep a few dozen statements hot; the default cache holds 16.
        conn.set_prepared_statement_cache_capacity(64);
        if file {
            // `journal_mode` answers with the mode; a file that is not SQLite fails here.
            let _mode: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .context("not a hubsync store (SQLite could not read it)")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
        }
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut store = Store { conn };
        store.migrate()?;
        Ok(store)
    }

    /// Apply pending migrations, each in its own transaction; refuse a store from a newer hubsync.
    fn migrate(&mut self) -> Result<()> {
        migrate(&mut self.conn, MIGRATIONS)
    }

    #[must_use]
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The schema version recorded in the store (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<u32> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    pub fn counts(&self) -> Result<StoreCounts> {
        let n = |sql: &str| -> Result<u64> {
            let v: i64 = self.conn.query_row(sql, [], |r| r.get(0))?;
            Ok(u64::try_from(v).unwrap_or(0))
        };
        Ok(StoreCounts {
            contacts: n("SELECT count(*) FROM contacts")?,
            organizations: n("SELECT count(*) FROM organizations")?,
            contacts_linked: n(
                "SELECT count(*) FROM hubspot_links WHERE entity = 'contact' AND hubspot_id IS NOT NULL",
            )?,
            organizations_linked: n(
                "SELECT count(*) FROM hubspot_links WHERE entity = 'organization' AND hubspot_id IS NOT NULL",
            )?,
            marked: n("SELECT count(*) FROM hubspot_links WHERE marked_by IS NOT NULL")?,
            pending_failures: n("SELECT count(*) FROM failed_records")?,
            runs: n("SELECT count(*) FROM runs")?,
        })
    }
}

#[cfg(unix)]
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Owner-only permissions on the database and its `-wal` / `-shm` files (SQLite creates later
/// WAL and SHM files with the database file's permissions).
fn make_private(db: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for suffix in ["", "-wal", "-shm"] {
            let mut p = db.as_os_str().to_owned();
            p.push(suffix);
            let p = std::path::PathBuf::from(p);
            if let Ok(meta) = std::fs::metadata(&p) {
                if meta.permissions().mode() & 0o077 != 0 {
                    if let Err(e) =
                        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))
                    {
                        tracing::warn!(path = %p.display(), error = %e, "cannot make the store private");
                    }
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = db;
}

/// Bring a database to the last of `migrations`; schema version N = the first N applied.
fn migrate(conn: &mut Connection, migrations: &[&str]) -> Result<()> {
    let known = u32::try_from(migrations.len()).unwrap_or(u32::MAX);
    let current: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > known {
        anyhow::bail!(
            "this store was written by a newer hubsync (schema {current}, this one knows {known}); upgrade hubsync"
        );
    }
    for (i, sql) in migrations.iter().enumerate().skip(current as usize) {
        let version = i + 1;
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .with_context(|| format!("migrating the store to schema {version} failed"))?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        tracing::info!(version, "store migrated");
    }
    Ok(())
}

/// Now, as stored: RFC 3339 UTC with a `Z`, whole seconds.
#[must_use]
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_store_has_the_latest_schema_and_is_empty() {
        let store = Store::open_in_memory().unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(store.counts().unwrap(), StoreCounts::default());
    }

    #[test]
    fn an_older_store_is_migrated_and_keeps_its_data() {
        let mut conn = Connection::open_in_memory().unwrap();
        let v1 = "CREATE TABLE t (id TEXT PRIMARY KEY);";
        let v2 = "ALTER TABLE t ADD COLUMN name TEXT; UPDATE t SET name = 'old';";
        migrate(&mut conn, &[v1]).unwrap();
        conn.execute("INSERT INTO t (id) VALUES ('a')", []).unwrap();
        migrate(&mut conn, &[v1, v2]).unwrap();
        let (version, name): (u32, String) = (
            conn.query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap(),
            conn.query_row("SELECT name FROM t WHERE id = 'a'", [], |r| r.get(0))
                .unwrap(),
        );
        assert_eq!((version, name.as_str()), (2, "old"));
        // Nothing is applied twice.
        migrate(&mut conn, &[v1, v2]).unwrap();
    }

    #[test]
    fn a_failed_migration_leaves_the_store_at_its_old_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        let v1 = "CREATE TABLE t (id TEXT PRIMARY KEY);";
        migrate(&mut conn, &[v1]).unwrap();
        let err = migrate(&mut conn, &[v1, "CREATE TABLE u (x); SELEC nonsense;"]).unwrap_err();
        assert!(err.to_string().contains("schema 2"), "{err}");
        let version: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, 1);
        let u_exists: bool = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'u'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(!u_exists);
    }

    #[test]
    fn open_creates_directories_and_uses_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/hubsync.db");
        let store = Store::open(&path).unwrap();
        assert!(path.exists());
        let mode: String = store
            .conn()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = store
            .conn()
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
    }
}
