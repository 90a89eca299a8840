//! `hubsync contacts list|show ID`, and the table and JSON output shared with `organizations`.

use std::io::Write;

use anyhow::Result;
use serde_json::{json, Value};
use unicode_width::UnicodeWidthStr as _;

use super::Context;
use crate::cli::RecordsCommand;
use crate::store::{Entity, Link, Store};

pub fn run(ctx: &Context, cmd: &RecordsCommand) -> Result<()> {
    let store = Store::open(&ctx.paths.db)?;
    let links = store.links(Entity::Contact)?;
    match cmd {
        RecordsCommand::List => {
            let contacts = store.contacts()?;
            if ctx.json() {
                let all: Vec<Value> = contacts
                    .iter()
                    .map(|c| with_hubspot(c, links.get(&c.id)))
                    .collect::<Result<_>>()?;
                return print_json(&Value::Array(all));
            }
            if contacts.is_empty() {
                return print_lines(&[
                    "no contacts in the store; add them with `hubsync import contacts FILE`".into(),
                ]);
            }
            let rows = contacts.iter().map(|c| {
                let [hubspot_id, marked, pushed] = link_cells(links.get(&c.id));
                vec![
                    c.id.clone(),
                    c.display_name.clone().unwrap_or_default(),
                    c.primary_email().unwrap_or_default().to_owned(),
                    c.organizations.len().to_string(),
                    hubspot_id,
                    marked,
                    pushed,
                ]
            });
            print_table(
                &[
                    "ID",
                    "NAME",
                    "E-MAIL",
                    "ORGS",
                    "HUBSPOT ID",
                    "MARKED",
                    "LAST PUSHED",
                ],
                rows,
            )
        }
        RecordsCommand::Show { id } => {
            let Some(contact) = store.contact(id)? else {
                anyhow::bail!("no contact with id {id}; `hubsync contacts list` shows the ids");
            };
            let record = with_hubspot(&contact, links.get(id))?;
            if ctx.json() {
                print_json(&record)
            } else {
                print_lines(&describe_record(&record))
            }
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

/// `key: value` lines for `show` (nested objects flattened to dotted paths).
pub(super) fn describe_record(record: &Value) -> Vec<String> {
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
            Value::String(s) => s.clone(),
            v => v.to_string(),
        }
    }
    let mut pairs = Vec::new();
    walk("", record, &mut pairs);
    let width = pairs.iter().map(|(k, _)| k.width()).max().unwrap_or(0);
    pairs
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}:{} {v}", " ".repeat(width - k.width())))
        .collect()
}

/// An aligned table with a header row.
pub(super) fn print_table(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Result<()> {
    let rows: Vec<Vec<String>> = rows
        .map(|r| {
            r.into_iter()
                .map(|c| {
                    if c.is_empty() {
                        "-".to_owned()
                    } else {
                        one_line(&c)
                    }
                })
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    let render = |cells: &mut dyn Iterator<Item = &str>| {
        let mut line = String::new();
        for (i, (cell, w)) in cells.zip(&widths).enumerate() {
            if i + 1 < widths.len() {
                line.push_str(cell);
                line.push_str(&" ".repeat(w - cell.width() + 2));
            } else {
                line.push_str(cell);
            }
        }
        line
    };
    let mut lines = Vec::with_capacity(rows.len() + 1);
    lines.push(render(&mut header.iter().copied()));
    for row in &rows {
        lines.push(render(&mut row.iter().map(String::as_str)));
    }
    print_lines(&lines)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(super) fn print_json(v: &Value) -> Result<()> {
    let mut text = serde_json::to_string_pretty(v)?;
    text.push('\n');
    write_stdout(text.as_bytes())
}

pub(super) fn print_lines(lines: &[String]) -> Result<()> {
    let mut text = lines.join("\n");
    text.push('\n');
    write_stdout(text.as_bytes())
}

/// Write to stdout; a closed pipe (`| head`) is not an error.
fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
