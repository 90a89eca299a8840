//! Automations: which local records match, and which HubSpot list they go to.

use anyhow::{bail, Result};
use chrono::{DateTime, Utc};

use super::filter::{self, Filter};
use crate::error::Exit;
use crate::hubspot::models::List;
use crate::hubspot::{lists, Client};
use crate::mapping::{Entity, Mapping};
use crate::model::{Contact, Organization};
use crate::store::automations::Automation;
use crate::store::{self, Store};

/// The automation's filters, checked against the current mapping (declared attributes).
pub fn filters(mapping: &Mapping, entity: Entity, exprs: &[String]) -> Result<Vec<Filter>> {
    let section = mapping.section(entity == Entity::Contacts);
    let mut out = Vec::with_capacity(exprs.len());
    let mut errors = Vec::new();
    for e in exprs {
        match filter::parse(entity, section, e) {
            Ok(f) => out.push(f),
            Err(err) => errors.push(err.to_string()),
        }
    }
    if !errors.is_empty() {
        bail!("{}", errors.join("\n"));
    }
    Ok(out)
}

fn store_entity(a: &Automation) -> Entity {
    match a.entity {
        store::Entity::Contact => Entity::Contacts,
        store::Entity::Organization => Entity::Organizations,
    }
}

/// The local contacts that match the automation now.
pub fn matching_contacts(
    store: &Store,
    mapping: &Mapping,
    a: &Automation,
    now: DateTime<Utc>,
) -> Result<Vec<Contact>> {
    let fs = filters(mapping, store_entity(a), &a.filters)?;
    let all = a.match_mode == "all";
    let mut out = Vec::new();
    store::contacts::each(store.conn(), |c| {
        let values: Vec<_> = fs.iter().map(|f| c.field(&f.field)).collect();
        if matches(&fs, &values, all, now) {
            out.push(c);
        }
        Ok(())
    })?;
    Ok(out)
}

/// The local organizations that match the automation now.
pub fn matching_organizations(
    store: &Store,
    mapping: &Mapping,
    a: &Automation,
    now: DateTime<Utc>,
) -> Result<Vec<Organization>> {
    let fs = filters(mapping, store_entity(a), &a.filters)?;
    let all = a.match_mode == "all";
    let mut out = Vec::new();
    store::organizations::each(store.conn(), |o| {
        let values: Vec<_> = fs.iter().map(|f| o.field(&f.field)).collect();
        if matches(&fs, &values, all, now) {
            out.push(o);
        }
        Ok(())
    })?;
    Ok(out)
}

fn matches(
    fs: &[Filter],
    values: &[Option<serde_json::Value>],
    all: bool,
    now: DateTime<Utc>,
) -> bool {
    let mut it = fs
        .iter()
        .zip(values)
        .map(|(f, v)| f.matches(v.as_ref(), now));
    if all {
        it.all(|m| m)
    } else {
        it.any(|m| m)
    }
}

/// Find the HubSpot list named by id or exact name, and make sure members can be added to it.
pub async fn resolve_list(client: &Client, spec: &str) -> Result<List> {
    let spec = spec.trim();
    let list = if !spec.is_empty() && spec.chars().all(|c| c.is_ascii_digit()) {
        lists::get(client, spec).await?
    } else {
        lists::get_by_name(client, spec).await?
    };
    let Some(list) = list.filter(|l| l.deleted_at.is_none()) else {
        bail!(
            "HubSpot has no contact list `{spec}`; `hubsync lists --refresh` shows the lists, or create a static list in HubSpot: Contacts → Lists → Create list"
        );
    };
    if list.list_id != spec && list.name != spec {
        bail!(
            "HubSpot's list is called `{}`, not `{spec}`; give the exact name or the list id {}",
            list.name,
            list.list_id
        );
    }
    if list.object_type_id.as_deref().is_some_and(|t| t != "0-1") {
        bail!(
            "list `{}` is not a contact list; automations add contacts to contact lists",
            list.name
        );
    }
    if !list.is_static() {
        return Err(Exit::Failed(format!(
            "list `{}` is a {} (active) list: HubSpot fills it from its own filters and won't take members from hubsync. Create a static list in HubSpot (Contacts → Lists → Create list, type \"Static\") and use that",
            list.name,
            list.processing_type
        ))
        .into());
    }
    Ok(list)
}

/// Run automations and print their summary.
pub fn run_and_report(
    ctx: &crate::commands::Context,
    store: &Store,
    mapping: &Mapping,
    chosen: &[Automation],
    dry_run: bool,
) -> Result<()> {
    let _ = (ctx, store, mapping, chosen, dry_run);
    bail!("automation runs need the push engine")
}
