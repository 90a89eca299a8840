//! Importers: JSON array, NDJSON and CSV into the local store, all or nothing (SPEC §7).
//!
//! Input is streamed record by record; every record is checked and written inside one
//! transaction, and the first invalid record rolls the whole import back. Records are upserts by
//! `id`: fields present in the record replace the stored ones (`null` or `""` clears a field),
//! fields absent from it are kept.

use std::collections::BTreeMap;
use std::fmt;
use std::io::BufRead;
use std::path::Path;

use anyhow::Result;
use rusqlite::TransactionBehavior;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::mapping::ValueType;
use crate::store::Store;

mod csv;
mod json;
#[cfg(test)]
mod proptests;
mod records;

pub use crate::model::Entity;

/// Input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// A header row of field paths, then one record per row.
    Csv,
}

impl Format {
    /// The format a file name's extension implies.
    #[must_use]
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "json" => Some(Format::Json),
            "ndjson" | "jsonl" => Some(Format::Ndjson),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// The outcome of a successful import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub entity: &'static str,
    pub imported: u64,
    pub created: u64,
    pub updated: u64,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "imported {} {} ({} new, {} updated)",
            self.imported, self.entity, self.created, self.updated
        )
    }
}

/// Where in the input a record is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// 1-based line (NDJSON; CSV with the header as line 1).
    Line(u64),
    /// 1-based index in a JSON array, and the record's id when it has one.
    Record { index: u64, id: Option<String> },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::Record {
                index,
                id: Some(id),
            } => write!(f, "record {index} (id \"{id}\")"),
            Location::Record { index, id: None } => write!(f, "record {index} (no id)"),
        }
    }
}

/// An import that failed: where, and what is wrong. Nothing was written.
#[derive(Debug, thiserror::Error)]
#[error("{location}: {problem}\nnothing was imported; fix this and run the import again")]
pub struct ImportError {
    pub location: Location,
    pub problem: String,
}

/// Something wrong with one record (the reader adds the location).
pub(crate) type Problem = String;

/// Receives the records of the input, one JSON object at a time.
pub(crate) trait Sink {
    fn record(&mut self, obj: Map<String, Value>) -> std::result::Result<(), Problem>;
    /// The type of a field path, for CSV columns; `Err` for unknown paths.
    fn column_type(&self, path: &str) -> std::result::Result<Option<ValueType>, Problem>;
}

/// Import `input` into the store in one transaction. `attributes` are the contact attributes the
/// mapping file declares, with their types.
pub fn import(
    store: &mut Store,
    kind: Entity,
    format: Format,
    input: &mut dyn BufRead,
    attributes: &BTreeMap<String, ValueType>,
) -> Result<Summary> {
    // A bigger page cache keeps the index pages of a large import in memory instead of
    // re-reading them from the write-ahead log (about 32 MB; the default is 2 MB). The importer
    // checks organization ids itself, naming the record; per-row foreign-key checks would only
    // repeat that work, so they are off for the import's transaction.
    store.conn().pragma_update(None, "cache_size", -32_000)?;
    store.conn().pragma_update(None, "foreign_keys", "OFF")?;
    let result = (|| {
        let tx = store
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let counts = {
            let mut sink: Box<dyn SinkCounts> = match kind {
                Entity::Contact => Box::new(records::Contacts::new(&tx, attributes)?),
                Entity::Organization => Box::new(records::Organizations::new(&tx)?),
            };
            let read = match format {
                Format::Json => json::read_array(input, kind.as_str(), sink.as_sink()),
                Format::Ndjson => json::read_lines(input, sink.as_sink()),
                Format::Csv => csv::read(input, kind.as_str(), sink.as_sink()),
            };
            read?;
            sink.counts()
        };
        tx.commit()?;
        Ok(Summary {
            entity: kind.section(),
            imported: counts.0 + counts.1,
            created: counts.0,
            updated: counts.1,
        })
    })();
    store.conn().pragma_update(None, "foreign_keys", "ON")?;
    result
}

/// A sink that also counts (created, updated).
pub(crate) trait SinkCounts {
    fn as_sink(&mut self) -> &mut dyn Sink;
    fn counts(&self) -> (u64, u64);
}
