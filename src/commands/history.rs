//! `hubsync history`: the field-level change log of data-in.

use anyhow::Result;

use super::Context;
use crate::cli::HistoryArgs;
use crate::store::history::{self, Entry, Filter};
use crate::store::{Entity, Store};

pub fn run(ctx: &Context, args: &HistoryArgs) -> Result<()> {
    let store = Store::open_existing(&ctx.paths.db)?;
    let filter = Filter {
        entity: args.entity.map(Entity::from),
        local_id: args.id.clone(),
        run_id: args.run,
    };
    let entries = history::list(store.conn(), &filter)?;
    if ctx.json() {
        super::print_json(&entries)?;
        return Ok(());
    }
    if entries.is_empty() {
        outln!(
            "no local changes recorded{}",
            if args.entity.is_some() || args.id.is_some() || args.run.is_some() {
                " for this selection"
            } else {
                " yet; `hubsync pull` records every change it makes"
            }
        );
        return Ok(());
    }
    let header = [
        "RUN", "ENTITY", "ID", "HUBSPOT", "FIELD", "OLD", "NEW", "AT",
    ];
    let rows: Vec<[String; 8]> = entries.iter().map(row).collect();
    out!("{}", crate::output::table::render(&header, &rows));
    Ok(())
}

fn cell(v: Option<&serde_json::Value>) -> String {
    match v {
        None => "-".into(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn row(e: &Entry) -> [String; 8] {
    let mut undone = e
        .undone_by
        .map(|r| format!(" (undone by {r})"))
        .unwrap_or_default();
    if let Some(kept) = e
        .conflict
        .as_ref()
        .and_then(|c| c.get("kept"))
        .and_then(serde_json::Value::as_str)
    {
        // Edited on both sides: which value was kept.
        undone.push_str(&format!(" (conflict: kept {kept})"));
    }
    [
        e.run_id.to_string(),
        e.entity.to_string(),
        e.id.clone(),
        e.hubspot_id.clone().unwrap_or_else(|| "-".into()),
        e.field.clone(),
        cell(e.old.as_ref()),
        cell(e.new.as_ref()),
        format!("{}{undone}", e.at),
    ]
}
