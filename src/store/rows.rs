//! Reading local records, the same for contacts and organizations: by id, or every one in id
//! order without holding them all.

use anyhow::Result;
use rusqlite::{Connection, OptionalExtension as _, Row};

/// A kind of local record as its table stores it.
pub trait Rows: Sized {
    /// `SELECT 1 FROM <table> WHERE id = ?1`.
    const EXISTS: &'static str;
    /// Every column, `WHERE id = ?1`, in the order `from_row` reads.
    const BY_ID: &'static str;
    /// Every column, `ORDER BY id`.
    const IN_ORDER: &'static str;
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self>;
}

pub(crate) fn exists<R: Rows>(conn: &Connection, id: &str) -> Result<bool> {
    let mut st = conn.prepare_cached(R::EXISTS)?;
    Ok(st.exists([id])?)
}

pub fn get<R: Rows>(conn: &Connection, id: &str) -> Result<Option<R>> {
    let mut st = conn.prepare_cached(R::BY_ID)?;
    Ok(st.query_row([id], R::from_row).optional()?)
}

pub(crate) fn each<R: Rows>(conn: &Connection, mut f: impl FnMut(R) -> Result<()>) -> Result<()> {
    let mut st = conn.prepare(R::IN_ORDER)?;
    let mut rows = st.query([])?;
    while let Some(row) = rows.next()? {
        f(R::from_row(row)?)?;
    }
    Ok(())
}

/// The records of `ids` that exist, in the order of `ids`.
pub fn some<R: Rows>(conn: &Connection, ids: &[String]) -> Result<Vec<R>> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.extend(get(conn, id)?);
    }
    Ok(out)
}

/// Reading and writing one kind of record inside a transaction.
pub trait RecordWriter<R> {
    fn get(&mut self, id: &str) -> Result<Option<R>>;
    /// Write `new` over `previous` (the record as read).
    fn put(&mut self, new: &R, previous: &R) -> Result<()>;
}

pub(crate) fn all<R: Rows>(conn: &Connection) -> Result<Vec<R>> {
    let mut out = Vec::new();
    each(conn, |r| {
        out.push(r);
        Ok(())
    })?;
    Ok(out)
}

/// `exists`, `get`, `all` and `each` for one kind of record, in its module.
macro_rules! record_fns {
    ($t:ty, $name:literal) => {
        #[doc = concat!("Whether the ", $name, " `id` exists.")]
        pub fn exists(conn: &Connection, id: &str) -> Result<bool> {
            super::rows::exists::<$t>(conn, id)
        }

        #[doc = concat!("One ", $name, ".")]
        pub fn get(conn: &Connection, id: &str) -> Result<Option<$t>> {
            super::rows::get(conn, id)
        }

        #[doc = concat!("Every ", $name, ", ordered by id.")]
        pub fn all(conn: &Connection) -> Result<Vec<$t>> {
            super::rows::all(conn)
        }

        #[doc = concat!("Every ", $name, " ordered by id, one at a time (memory stays flat however big the store is).")]
        pub fn each(conn: &Connection, f: impl FnMut($t) -> Result<()>) -> Result<()> {
            super::rows::each(conn, f)
        }
    };
}
pub(crate) use record_fns;
