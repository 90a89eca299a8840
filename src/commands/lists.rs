//! `hubsync lists`: HubSpot contact lists; static ones can take members from automations.
//! Lists are cached in the store; `--refresh` fetches them again.

use anyhow::Result;

use super::{block_on, Context};
use crate::cli::ListsArgs;
use crate::hubspot::lists;
use crate::hubspot::models::List;
use crate::mapping::{ApiVersion, Mapping};
use crate::store::{lists as store_lists, Store};

pub fn run(ctx: &Context, args: &ListsArgs) -> Result<()> {
    let mut store = Store::open(&ctx.paths.db)?;
    let cached = if args.refresh {
        None
    } else {
        store_lists::read(store.conn())?
    };
    let (all, fetched_at) = match cached {
        Some(c) => c,
        None => {
            let version = Mapping::load_optional(&ctx.paths.mappings)?
                .map_or_else(ApiVersion::default, |m| m.file.api_version);
            let all = block_on(async {
                let client = ctx.client(version).await?;
                Ok(lists::all(&client).await?)
            })?;
            let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let rows = all
                .iter()
                .map(|l| {
                    Ok(store_lists::Row {
                        list_id: &l.list_id,
                        name: &l.name,
                        processing_type: &l.processing_type,
                        size: l.member_count().and_then(|n| i64::try_from(n).ok()),
                        json: serde_json::to_string(l)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            store_lists::write(store.conn_mut(), &rows, &now)?;
            (all, now)
        }
    };
    print(ctx, &all, &fetched_at)
}

fn print(ctx: &Context, all: &[List], fetched_at: &str) -> Result<()> {
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
                    "fetched_at": fetched_at,
                })
            })
            .collect();
        super::print_json(&rows)?;
        return Ok(());
    }
    if all.is_empty() {
        outln!(
            "no contact lists in HubSpot; create a static list there: Contacts → Lists → Create list"
        );
        return Ok(());
    }
    outln!(
        "{:<10} {:<9} {:>7}  {:<6}  NAME",
        "ID",
        "TYPE",
        "SIZE",
        "USABLE"
    );
    for l in all {
        let size = l
            .member_count()
            .map_or_else(|| "-".to_owned(), |n| n.to_string());
        let usable = if l.is_static() { "yes" } else { "no" };
        outln!(
            "{:<10} {:<9} {:>7}  {:<6}  {}",
            l.list_id,
            l.processing_type,
            size,
            usable,
            l.name
        );
    }
    errln!(
        "as of {fetched_at}; `hubsync lists --refresh` fetches them again. Automations can add \
         contacts only to static (MANUAL or SNAPSHOT) lists."
    );
    Ok(())
}
