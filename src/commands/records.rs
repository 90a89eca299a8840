//! `hubsync contacts|organizations list|show ID`: the local records with their HubSpot link.

use std::io::{BufWriter, Write};

use anyhow::Result;
use serde_json::{json, Value};
use unicode_width::UnicodeWidthStr as _;

use super::Context;
use crate::cli::RecordsCommand;
use crate::model::Entity;
use crate::store::{contacts, organizations, Link, Store};

pub fn run(ctx: &Context, entity: Entity, cmd: &RecordsCommand) -> Result<()> {
    let store = Store::open_existing(&ctx.paths.db)?;
    let links = store.links(entity)?;
    let plural = entity.section();
    match cmd {
        RecordsCommand::List if ctx.json() => print_json_array(|emit| match entity {
            Entity::Contact => {
                contacts::each(store.conn(), |c| emit(with_hubspot(&c, links.get(&c.id))?))
            }
            Entity::Organization => {
                organizations::each(store.conn(), |o| emit(with_hubspot(&o, links.get(&o.id))?))
            }
        }),
        RecordsCommand::List => {
            // The record's own columns, then its HubSpot link.
            let mut rows: Vec<[String; 7]> = Vec::new();
            let mut row = |id: &str, own: [String; 3]| {
                let [hubspot_id, marked, pushed] = link_cells(links.get(id));
                let [a, b, c] = own;
                rows.push([id.to_owned(), a, b, c, hubspot_id, marked, pushed]);
                Ok(())
            };
            let header = match entity {
                Entity::Contact => {
                    contacts::each(store.conn(), |c| {
                        let email = c.emails.first().cloned().unwrap_or_default();
                        let orgs = c.organizations.len().to_string();
                        row(&c.id, [c.display_name.unwrap_or_default(), email, orgs])
                    })?;
                    [
                        "ID",
                        "NAME",
                        "E-MAIL",
                        "ORGS",
                        "HUBSPOT ID",
                        "MARKED",
                        "LAST PUSHED",
                    ]
                }
                Entity::Organization => {
                    let members = organizations::member_counts(store.conn())?;
                    organizations::each(store.conn(), |o| {
                        let domain = o.domain().unwrap_or_default();
                        let count = members.get(&o.id).copied().unwrap_or(0).to_string();
                        row(&o.id, [o.name.clone().unwrap_or_default(), domain, count])
                    })?;
                    [
                        "ID",
                        "NAME",
                        "DOMAIN",
                        "CONTACTS",
                        "HUBSPOT ID",
                        "MARKED",
                        "LAST PUSHED",
                    ]
                }
            };
            if rows.is_empty() {
                return print_lines(&[format!(
                    "no {plural} in the store; add them with `hubsync import {plural} FILE`"
                )]);
            }
            write_stdout(|out| {
                Ok(out.write_all(crate::output::table::render(&header, &rows).as_bytes())?)
            })
        }
        RecordsCommand::Show { id } => {
            let record = match entity {
                Entity::Contact => store.contact(id)?.map(|c| with_hubspot(&c, links.get(id))),
                Entity::Organization => store
                    .organization(id)?
                    .map(|o| with_hubspot(&o, links.get(id))),
            };
            let Some(record) = record else {
                anyhow::bail!(
                    "no {} with id {id}; `hubsync {plural} list` shows the ids",
                    entity.as_str()
                );
            };
            print_record(ctx, &record?)
        }
    }
}

/// The record as imported, plus its HubSpot link and sync state.
fn with_hubspot<T: serde::Serialize>(record: &T, link: Option<&Link>) -> Result<Value> {
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
fn link_cells(link: Option<&Link>) -> [String; 3] {
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
fn print_record(ctx: &Context, record: &Value) -> Result<()> {
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
            Value::String(s) => crate::output::table::escape_controls(s),
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

/// A JSON array on stdout, one record per line, written as the records come.
fn print_json_array(
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

fn print_lines(lines: &[impl AsRef<str>]) -> Result<()> {
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
