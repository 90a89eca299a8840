//! `hubsync lists`: HubSpot contact lists; static ones can take members from automations.
//! Lists are cached in the store; `--refresh` fetches them again.

use anyhow::{Context as _, Result};
use rusqlite::{params, Connection};

use super::{block_on, Context};
use crate::cli::ListsArgs;
use crate::hubspot::lists;
use crate::hubspot::models::List;
use crate::mapping::{ApiVersion, Mapping};
use crate::store::Store;

pub fn run(ctx: &Context, args: &ListsArgs) -> Result<()> {
    let mut store = Store::open(&ctx.paths.db)?;
    let cached = if args.refresh {
        None
    } else {
        read_cache(store.conn())?
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
            write_cache(store.conn_mut(), &all, &now)?;
            (all, now)
        }
    };
    print(ctx, &all, &fetched_at)
}

fn has_cache(conn: &Connection) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'lists_cache'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .context("cannot read the store")?
        > 0)
}

/// The cached lists and when they were fetched; `None` when nothing is cached.
fn read_cache(conn: &Connection) -> Result<Option<(Vec<List>, String)>> {
    if !has_cache(conn)? {
        return Ok(None);
    }
    let mut stmt =
        conn.prepare("SELECT json, fetched_at FROM lists_cache ORDER BY name, list_id")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    let mut at = String::new();
    for row in rows {
        let (json, fetched_at) = row?;
        match serde_json::from_str::<List>(&json) {
            Ok(l) => out.push(l),
            // A cache row this version can't read: fetch again.
            Err(_) => return Ok(None),
        }
        at = fetched_at;
    }
    Ok((!out.is_empty()).then_some((out, at)))
}

fn write_cache(conn: &mut Connection, all: &[List], now: &str) -> Result<()> {
    if !has_cache(conn)? {
        return Ok(());
    }
    let tx = conn.transaction()?;
    tx.execute("DELETE FROM lists_cache", [])?;
    {
        let mut stmt = tx.prepare(
            "INSERT INTO lists_cache (list_id, name, processing_type, size, json, fetched_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for l in all {
            let size = l.member_count().and_then(|n| i64::try_from(n).ok());
            stmt.execute(params![
                l.list_id,
                l.name,
                l.processing_type,
                size,
                serde_json::to_string(l)?,
                now
            ])?;
        }
    }
    tx.commit().context("cannot cache the lists in the store")
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
