//! Export: the local records (pulled values included) in the import formats, so an export
//! imports back unchanged. Records are streamed in id order; memory does not grow with them.

use std::collections::BTreeSet;
use std::io::Write;

use anyhow::Result;
use serde_json::Value;

use crate::import::{Entity, Format};
use crate::model::Record;
use crate::model::{Contact, Organization, CONTACT_FIELDS, ORGANIZATION_FIELDS};
use crate::store::{contacts, organizations, Store};

/// Write every record of `kind` to `out` in `format`; returns how many.
pub fn export(store: &Store, kind: Entity, format: Format, out: &mut dyn Write) -> Result<u64> {
    match format {
        Format::Ndjson | Format::Json => json(store, kind, format == Format::Json, out),
        Format::Csv => csv(store, kind, out),
    }
}

fn each(store: &Store, kind: Entity, mut f: impl FnMut(Value) -> Result<()>) -> Result<()> {
    match kind {
        Entity::Contact => contacts::each(store.conn(), |c| f(serde_json::to_value(&c)?)),
        Entity::Organization => organizations::each(store.conn(), |o| f(serde_json::to_value(&o)?)),
    }
}

fn json(store: &Store, kind: Entity, array: bool, out: &mut dyn Write) -> Result<u64> {
    let mut n = 0u64;
    if array {
        out.write_all(b"[")?;
    }
    each(store, kind, |record| {
        let text = serde_json::to_string(&record)?;
        if array {
            out.write_all(if n == 0 { b"\n  " } else { b",\n  " })?;
            out.write_all(text.as_bytes())?;
        } else {
            out.write_all(text.as_bytes())?;
            out.write_all(b"\n")?;
        }
        n += 1;
        Ok(())
    })?;
    if array {
        out.write_all(if n == 0 { b"]\n" } else { b"\n]\n" })?;
    }
    Ok(n)
}

/// A value as a CSV cell of the import: lists joined with `;`, absent values empty.
fn cell(v: Option<Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s,
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|i| cell(Some(i)))
            .collect::<Vec<_>>()
            .join(";"),
        Some(other) => other.to_string(),
    }
}

fn csv(store: &Store, kind: Entity, out: &mut dyn Write) -> Result<u64> {
    // The columns: the fixed fields, then every identity and attribute some contact has.
    let mut columns: Vec<String> = vec!["id".to_owned()];
    match kind {
        Entity::Contact => {
            columns.extend(CONTACT_FIELDS.iter().map(|f| f.path.to_owned()));
            let mut identities = BTreeSet::new();
            let mut attributes = BTreeSet::new();
            contacts::each(store.conn(), |c: Contact| {
                identities.extend(c.identities.into_keys());
                attributes.extend(c.attributes.into_keys());
                Ok(())
            })?;
            columns.extend(identities.into_iter().map(|k| format!("identities.{k}")));
            columns.extend(attributes.into_iter().map(|k| format!("attributes.{k}")));
        }
        Entity::Organization => {
            columns.extend(ORGANIZATION_FIELDS.iter().map(|f| f.path.to_owned()));
        }
    }
    let mut w = ::csv::Writer::from_writer(out);
    w.write_record(&columns).map_err(csv_error)?;
    let mut n = 0u64;
    let mut row = |values: Vec<String>| -> Result<()> {
        w.write_record(&values).map_err(csv_error)?;
        n += 1;
        Ok(())
    };
    match kind {
        Entity::Contact => contacts::each(store.conn(), |c: Contact| row(cells(&columns, &c)))?,
        Entity::Organization => {
            organizations::each(store.conn(), |o: Organization| row(cells(&columns, &o)))?;
        }
    }
    w.flush()?;
    Ok(n)
}

/// One record's cells, column by column.
fn cells<R: Record>(columns: &[String], r: &R) -> Vec<String> {
    columns
        .iter()
        .map(|p| {
            if p == "id" {
                r.id().to_owned()
            } else {
                cell(r.get(p))
            }
        })
        .collect()
}

/// A CSV write error, with an I/O error (a closed pipe) kept as one.
fn csv_error(e: ::csv::Error) -> anyhow::Error {
    match e.into_kind() {
        ::csv::ErrorKind::Io(io) => io.into(),
        other => anyhow::anyhow!("cannot write CSV: {other:?}"),
    }
}
