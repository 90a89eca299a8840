//! `hubsync contacts list|show ID`, and the table and JSON output shared with `organizations`.

use std::io::{BufWriter, Write};

use anyhow::Result;
use serde_json::{json, Value};
use unicode_width::UnicodeWidthStr as _;

use super::Context;
use crate::cli::RecordsCommand;
use crate::store::{contacts, Entity, Link, Store};

const HEADER: [&str; 7] = [
    "ID",
    "NAME",
    "E-MAIL",
    "ORGS",
    "HUBSPOT ID",
    "MARKED",
    "LAST PUSHED",
];

pub fn run(ctx: &Context, cmd: &RecordsCommand) -> Result<()> {
    let store = Store::open_existing(&ctx.paths.db)?;
    let links = store.links(Entity::Contact)?;
    match cmd {
        RecordsCommand::List if ctx.json() => print_json_array(|emit| {
            contacts::each(store.conn(), |c| emit(with_hubspot(&c, links.get(&c.id))?))
        }),
        RecordsCommand::List => {
            let mut rows = Vec::new();
            contacts::each(store.conn(), |c| {
                let [hubspot_id, marked, pushed] = link_cells(links.get(&c.id));
                rows.push([
                    c.id,
                    c.display_name.unwrap_or_default(),
                    c.emails.into_iter().next().unwrap_or_default(),
                    c.organizations.len().to_string(),
                    hubspot_id,
                    marked,
                    pushed,
                ]);
                Ok(())
            })?;
            if rows.is_empty() {
                return print_lines(&[
                    "no contacts in the store; add them with `hubsync import contacts FILE`",
                ]);
            }
            print_table(&HEADER, &rows)
        }
        RecordsCommand::Show { id } => {
            let Some(contact) = store.contact(id)? else {
                anyhow::bail!("no contact with id {id}; `hubsync contacts list` shows the ids");
            };
            print_record(ctx, &with_hubspot(&contact, links.get(id))?)
        }
    }
}

/// The record as imported, plus its HubSpot link and sync state.
pub(super) fn with_hubspot<T: serde::Serialize>(record: &T, link: Option<&Link>) -> Result<Value> {
    let mut value = serde_json::to_value(record)?;
    if let Value::Object(map) = &mut value {
        map.insert(
            "hubspot".into(),
            json!({
                "id": link.and_then(|l| l.hubspot_id.clone()),
                "marked": link.and_then(|l| l.marked.as_ref()).map(ToString::to_string),
                "last_pushed_at": link.and_then(|l| l.last_pushed_at.clone()),
                "last_pulled_at": link.and_then(|l| l.last_pulled_at.clone()),
            }),
        );
    }
    Ok(value)
}

/// HubSpot id, mark, last push, for a table row.
pub(super) fn link_cells(link: Option<&Link>) -> [String; 3] {
    let dash = || "-".to_owned();
    [
        link.and_then(|l| l.hubspot_id.clone()).unwrap_or_else(dash),
        link.and_then(|l| l.marked.as_ref())
            .map_or_else(dash, ToString::to_string),
        link.and_then(|l| l.last_pushed_at.clone())
            .unwrap_or_else(|| "never".to_owned()),
    ]
}

/// `show`: the JSON document, or `key: value` lines (nested objects as dotted paths).
pub(super) fn print_record(ctx: &Context, record: &Value) -> Result<()> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&path, v, out);
                }
            }
            Value::Array(items) => {
                let text: Vec<String> = items.iter().map(scalar).collect();
                out.push((prefix.to_owned(), text.join(", ")));
            }
            Value::Null => out.push((prefix.to_owned(), "-".to_owned())),
            v => out.push((prefix.to_owned(), scalar(v))),
        }
    }
    fn scalar(v: &Value) -> String {
        match v {
            Value::String(s) => super::escape_controls(s),
            v => v.to_string(),
        }
    }
    if ctx.json() {
        return write_stdout(|out| {
            serde_json::to_writer_pretty(&mut *out, record)?;
            writeln!(out)?;
            Ok(())
        });
    }
    let mut pairs = Vec::new();
    walk("", record, &mut pairs);
    let width = pairs.iter().map(|(k, _)| k.width()).max().unwrap_or(0);
    let lines: Vec<String> = pairs
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}:{} {v}", " ".repeat(width.saturating_sub(k.width()))))
        .collect();
    print_lines(&lines)
}

/// An aligned table with a header row; empty cells show as `-`.
pub(super) fn print_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> Result<()> {
    let cell = |c: &str| -> String {
        if c.trim().is_empty() {
            "-".to_owned()
        } else {
            super::cell_text(c, super::CELL_WIDTH)
        }
    };
    let rows: Vec<[String; N]> = rows.iter().map(|r| r.each_ref().map(|c| cell(c))).collect();
    let mut widths = header.map(|h| h.width());
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.width());
        }
    }
    write_stdout(|out| {
        let mut line = |cells: [&str; N]| -> std::io::Result<()> {
            for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
                if i + 1 < N {
                    let pad = " ".repeat(w.saturating_sub(c.width()) + 2);
                    write!(out, "{c}{pad}")?;
                } else {
                    writeln!(out, "{c}")?;
                }
            }
            Ok(())
        };
        line(*header)?;
        for row in &rows {
            line(row.each_ref().map(String::as_str))?;
        }
        Ok(())
    })
}

/// A JSON array on stdout, one record per line, written as the records come.
pub(super) fn print_json_array(
    each: impl FnOnce(&mut dyn FnMut(Value) -> Result<()>) -> Result<()>,
) -> Result<()> {
    write_stdout(|out| {
        let mut first = true;
        out.write_all(b"[")?;
        each(&mut |record| {
            out.write_all(if first { b"\n  " } else { b",\n  " })?;
            first = false;
            serde_json::to_writer(&mut *out, &record)?;
            Ok(())
        })?;
        out.write_all(if first { b"]\n" } else { b"\n]\n" })?;
        Ok(())
    })
}

pub(super) fn print_lines(lines: &[impl AsRef<str>]) -> Result<()> {
    write_stdout(|out| {
        for l in lines {
            writeln!(out, "{}", l.as_ref())?;
        }
        Ok(())
    })
}

/// Write to a buffered stdout; a closed pipe (`| head`) ends the output quietly.
fn write_stdout(f: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    crate::stdout_used();
    let mut out = BufWriter::new(std::io::stdout().lock());
    let result = f(&mut out).and_then(|()| Ok(out.flush()?));
    match result {
        Err(e) if e.chain().any(is_broken_pipe) => Ok(()),
        other => other,
    }
}

fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    let kind = match (
        e.downcast_ref::<std::io::Error>(),
        e.downcast_ref::<serde_json::Error>(),
    ) {
        (Some(io), _) => Some(io.kind()),
        (None, Some(json)) => json.io_error_kind(),
        (None, None) => None,
    };
    kind == Some(std::io::ErrorKind::BrokenPipe)
}
