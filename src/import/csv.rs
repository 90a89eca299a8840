//! CSV reader: a header row of field paths (`identities.github`, `attributes.jobTitle`), `;`
//! inside list cells, an empty cell is an absent value. Cells are parsed per field type.

use std::io::BufRead;

use anyhow::Result;
use serde_json::{Map, Value};

use super::{ImportError, Location, Sink};
use crate::mapping::ValueType;
use crate::model::parse_text;

/// One CSV column: where its value goes in the record, and its type.
struct Column {
    /// `identities` / `attributes` for nested paths.
    parent: Option<String>,
    key: String,
    path: String,
    ty: Option<ValueType>,
}

pub(crate) fn read(input: &mut dyn BufRead, what: &str, sink: &mut dyn Sink) -> Result<()> {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(input);
    let header_error = |problem: String| ImportError {
        location: Location::Line(1),
        problem,
    };
    let headers = reader
        .headers()
        .map_err(|e| header_error(format!("cannot read the header row: {e}")))?
        .clone();
    let mut columns = Vec::with_capacity(headers.len());
    for name in &headers {
        let path = name.trim().trim_start_matches('\u{feff}').to_owned();
        if path.is_empty() {
            return Err(header_error("a column has no name in the header row".into()).into());
        }
        if columns.iter().any(|c: &Column| c.path == path) {
            return Err(header_error(format!("column `{path}` appears twice")).into());
        }
        let ty = sink
            .column_type(&path)
            .map_err(|p| header_error(format!("column `{path}`: {p}")))?;
        let (parent, key) = match path.split_once('.') {
            Some((p, k)) => (Some(p.to_owned()), k.to_owned()),
            None => (None, path.clone()),
        };
        columns.push(Column {
            parent,
            key,
            path,
            ty,
        });
    }
    if !columns.iter().any(|c| c.path == "id") {
        return Err(header_error(format!(
            "the header row has no `id` column; every {what} needs an id"
        ))
        .into());
    }

    let mut record = ::csv::StringRecord::new();
    loop {
        let more = reader.read_record(&mut record).map_err(|e| {
            let line = e.position().map_or(0, ::csv::Position::line);
            let problem = match e.kind() {
                ::csv::ErrorKind::UnequalLengths {
                    expected_len, len, ..
                } => format!("has {len} cells, the header row has {expected_len}"),
                ::csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8".to_owned(),
                _ => format!("cannot be read: {e}"),
            };
            ImportError {
                location: Location::Line(line),
                problem,
            }
        })?;
        if !more {
            return Ok(());
        }
        let line = record.position().map_or(0, ::csv::Position::line);
        let fail = |problem: String| ImportError {
            location: Location::Line(line),
            problem,
        };
        let mut obj = Map::new();
        for (col, cell) in columns.iter().zip(record.iter()) {
            let value =
                parse_text(col.ty, cell).map_err(|m| fail(format!("field `{}`: {m}", col.path)))?;
            let Some(value) = value else { continue };
            match &col.parent {
                None => {
                    obj.insert(col.key.clone(), value);
                }
                Some(parent) => {
                    let nested = obj
                        .entry(parent.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(m) = nested {
                        m.insert(col.key.clone(), value);
                    }
                }
            }
        }
        sink.record(obj).map_err(fail)?;
    }
}
