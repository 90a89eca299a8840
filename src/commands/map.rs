//! `hubsync map show|check`.

use std::fmt::Write as _;

use anyhow::Result;

use super::{block_on, Context};
use crate::cli::MapCommand;
use crate::error::Exit;
use crate::hubspot::paths::ObjectType;
use crate::hubspot::{properties as hs_properties, Client};
use crate::mapping::check::{self, Properties, Severity};
use crate::mapping::ApiVersion;
use crate::mapping::Mapping;
use crate::store::{properties, Store};

pub fn run(ctx: &Context, cmd: &MapCommand) -> Result<()> {
    match cmd {
        MapCommand::Show => show(ctx),
        MapCommand::Check => check_cmd(ctx),
        MapCommand::Refresh => refresh(ctx),
    }
}

/// The property cache as `map check` sees it.
pub fn cached_properties(store: &Store) -> Result<Properties> {
    Ok(Properties::new(
        properties::load(store.conn(), "contacts")?,
        properties::load(store.conn(), "companies")?,
    ))
}

fn load(ctx: &Context) -> Result<(Mapping, Properties)> {
    let mapping = Mapping::load(&ctx.paths.mappings)?;
    let store = Store::open(&ctx.paths.db)?;
    let props = cached_properties(&store)?;
    Ok((mapping, props))
}

fn show(ctx: &Context) -> Result<()> {
    let (mapping, props) = load(ctx)?;
    let rows = check::table(&mapping, &props);
    if ctx.json() {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let header = [
        "ENTITY",
        "LOCAL FIELD",
        "TYPE",
        "DIR",
        "HUBSPOT PROPERTY",
        "HUBSPOT TYPE",
        "PULL",
        "STATUS",
    ];
    let cells: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            [
                r.entity.to_owned(),
                r.field.clone(),
                r.ty.clone(),
                r.direction.to_owned(),
                r.property.clone().unwrap_or_else(|| "-".into()),
                r.property_type.clone().unwrap_or_else(|| "-".into()),
                r.pull.unwrap_or("-").to_owned(),
                r.status.as_str().to_owned(),
            ]
        })
        .collect();
    print!("{}", render_table(&header, &cells));
    let problems = check::check(&mapping, &props);
    for p in problems.iter().filter(|p| p.severity == Severity::Warning) {
        eprintln!("{p}");
    }
    println!("→ = read-only locally: pushed to HubSpot, never pulled.");
    Ok(())
}

/// The "Update attributes" step: reload HubSpot's properties, then check the mapping.
fn refresh(ctx: &Context) -> Result<()> {
    let version = Mapping::load_optional(&ctx.paths.mappings)?
        .map_or_else(ApiVersion::default, |m| m.file.api_version);
    let (contacts, companies) = block_on(async {
        let client = Client::from_context(ctx, version).await?;
        let contacts = hs_properties::list(&client, ObjectType::Contacts).await?;
        let companies = hs_properties::list(&client, ObjectType::Companies).await?;
        Ok((contacts, companies))
    })?;
    let mut store = Store::open(&ctx.paths.db)?;
    let to_json = |props: &[crate::hubspot::models::Property]| -> Result<Vec<serde_json::Value>> {
        props
            .iter()
            .filter(|p| !p.archived)
            .map(|p| Ok(serde_json::to_value(p)?))
            .collect()
    };
    let n_contacts = properties::replace(store.conn_mut(), "contacts", &to_json(&contacts)?)?;
    let n_companies = properties::replace(store.conn_mut(), "companies", &to_json(&companies)?)?;
    if !ctx.json() {
        println!("fetched {n_contacts} contact and {n_companies} company properties from HubSpot");
    }
    if ctx.paths.mappings.exists() {
        check_cmd(ctx)
    } else {
        if !ctx.json() {
            println!(
                "no mapping file at {}; copy mappings.example.yaml there to start",
                ctx.paths.mappings.display()
            );
        }
        Ok(())
    }
}

fn check_cmd(ctx: &Context) -> Result<()> {
    let (mapping, props) = load(ctx)?;
    let problems = check::check(&mapping, &props);
    let errors = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    if ctx.json() {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "valid": errors == 0,
                "problems": problems,
            }))?
        );
    } else {
        for p in &problems {
            println!("{}: {p}", ctx.paths.mappings.display());
        }
        if errors == 0 {
            println!("{}: mapping ok", ctx.paths.mappings.display());
        }
    }
    if errors > 0 {
        return Err(Exit::Failed(format!(
            "the mapping file has {errors} problem{}; fix {} and run `hubsync map check` again",
            if errors == 1 { "" } else { "s" },
            if errors == 1 { "it" } else { "them" }
        ))
        .into());
    }
    Ok(())
}

/// Left-aligned columns padded to the widest cell.
#[must_use]
pub fn render_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths: [usize; N] = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for (i, c) in cells.enumerate() {
            if i + 1 == N {
                l.push_str(c);
            } else {
                let pad = widths[i] - c.chars().count();
                let _ = write!(l, "{c}{}  ", " ".repeat(pad));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}
