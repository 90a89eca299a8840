//! `hubsync push`: send contacts and organizations to HubSpot.

use anyhow::Result;

use super::{block_on, Context};
use crate::cli::PushArgs;
use crate::mapping::Mapping;
use crate::store::Store;
use crate::sync::lock::RunLock;
use crate::sync::push::{self, PushRequest};

pub fn run(ctx: &Context, args: &PushArgs) -> Result<()> {
    let mapping = Mapping::load(&ctx.paths.mappings)?;
    let store = Store::open(&ctx.paths.db)?;
    let props =
        super::map::usable_properties(&store, &mapping, &["contacts", "organizations"], "pushed")?;
    let req = PushRequest {
        contacts: args.contact.clone(),
        organizations: args.organization.clone(),
        marked: args.marked,
        dry_run: args.dry_run,
        force: args.force,
        ..PushRequest::default()
    };
    // A dry run writes nothing, the lock file included.
    let _lock = if args.dry_run {
        None
    } else {
        Some(RunLock::acquire(ctx.paths.data_dir(), "push")?)
    };
    let bars = super::Bars::for_terminal(ctx);
    let progress = &bars;
    let version = mapping.file.api_version;
    let summary = block_on(async {
        let client = ctx.client(version).await?;
        push::push(&client, &store, &mapping, &props, &req, progress).await
    })?;
    if args.dry_run && !ctx.json() {
        print_plan(&summary.plan)?;
    }
    super::print_summary(
        summary,
        ctx.json(),
        if args.dry_run {
            "push --dry-run"
        } else {
            "push"
        },
    )
}

/// The dry-run plan as text: one line per record, then its field changes.
pub fn print_plan(plan: &[serde_json::Value]) -> Result<()> {
    for entry in plan {
        let s = |k: &str| entry[k].as_str().unwrap_or("").to_owned();
        let target = entry["hubspot_id"]
            .as_str()
            .map_or_else(String::new, |h| format!(" (HubSpot {h})"));
        outln!("{} {} {}{}", s("action"), s("entity"), s("id"), target);
        for c in entry["changes"].as_array().into_iter().flatten() {
            let new = c["new"].as_str().unwrap_or("");
            match c["old"].as_str() {
                Some(old) => outln!(
                    "    {}: {old} → {new}",
                    c["property"].as_str().unwrap_or("")
                ),
                None => outln!("    {}: {new}", c["property"].as_str().unwrap_or("")),
            }
        }
        let companies: Vec<&str> = entry["companies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str())
            .collect();
        if !companies.is_empty() {
            outln!("    associated to companies {}", companies.join(", "));
        }
    }
    Ok(())
}
