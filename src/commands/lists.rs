//! `hubsync lists`: HubSpot contact lists; static ones can take members from automations.

use anyhow::Result;

use super::{block_on, Context};
use crate::cli::ListsArgs;
use crate::hubspot::models::List;
use crate::hubspot::{lists, Client};
use crate::mapping::{ApiVersion, Mapping};

pub fn run(ctx: &Context, args: &ListsArgs) -> Result<()> {
    let _ = args.refresh;
    let version = Mapping::load_optional(&ctx.paths.mappings)?
        .map_or_else(ApiVersion::default, |m| m.file.api_version);
    let all = block_on(async {
        let client = Client::from_context(ctx, version).await?;
        Ok(lists::all(&client).await?)
    })?;
    print(ctx, &all)
}

fn print(ctx: &Context, all: &[List]) -> Result<()> {
    if ctx.json() {
        let rows: Vec<_> = all
            .iter()
            .map(|l| {
                serde_json::json!({
                    "id": l.list_id,
                    "name": l.name,
                    "processing_type": l.processing_type,
                    "size": l.member_count(),
                    "usable": l.is_static(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if all.is_empty() {
        println!("no contact lists in HubSpot; create a static list there: Contacts → Lists → Create list");
        return Ok(());
    }
    println!(
        "{:<10} {:<9} {:>7}  {:<6}  NAME",
        "ID", "TYPE", "SIZE", "USABLE"
    );
    for l in all {
        let size = l
            .member_count()
            .map_or_else(|| "-".to_owned(), |n| n.to_string());
        let usable = if l.is_static() { "yes" } else { "no" };
        println!(
            "{:<10} {:<9} {:>7}  {:<6}  {}",
            l.list_id, l.processing_type, size, usable, l.name
        );
    }
    Ok(())
}
