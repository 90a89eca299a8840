//! Automations: which local records match, and which HubSpot list they go to.

use anyhow::{bail, Context as _, Result};
use chrono::{DateTime, Utc};

use super::filter::{self, Filter};
use super::push::{self, Progress, PushRequest};
use super::summary::{Planned, Summary};
use crate::error::Exit;
use crate::hubspot::models::List;
use crate::hubspot::{lists, Client};
use crate::mapping::{Entity, Mapping};
use crate::model::Record;
use crate::store::automations::matches;
use crate::store::automations::{self, Automation};
use crate::store::{self, Mark, Store};

/// The automation's filters, checked against the current mapping (declared attributes).
pub fn filters(mapping: &Mapping, entity: Entity, exprs: &[String]) -> Result<Vec<Filter>> {
    let section = mapping.section(entity == Entity::Contact);
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

/// Refuse a filter on a custom attribute that the mapping file doesn't declare and no contact
/// has: it would match nothing forever (a typo, usually); the closest known name is suggested.
pub fn check_attribute_names(
    store: &Store,
    mapping: &Mapping,
    entity: Entity,
    filters: &[Filter],
) -> Result<()> {
    if entity != Entity::Contact {
        return Ok(());
    }
    let section = mapping.section(true);
    let mut present: Option<std::collections::BTreeSet<String>> = None;
    let mut errors = Vec::new();
    for f in filters {
        let Some(name) = f.field.strip_prefix("attributes.") else {
            continue;
        };
        if section.attributes.contains_key(name)
            || crate::mapping::catalogue::BUILTIN_ATTRIBUTES.contains(&name)
        {
            continue;
        }
        let known = match &mut present {
            Some(p) => p,
            None => present.insert(store::contacts::attribute_names(store.conn())?),
        };
        if known.contains(name) {
            continue;
        }
        let candidates = section
            .attributes
            .keys()
            .map(String::as_str)
            .chain(
                crate::mapping::catalogue::BUILTIN_ATTRIBUTES
                    .iter()
                    .copied(),
            )
            .chain(known.iter().map(String::as_str));
        let best = candidates
            .map(|c| {
                (
                    strsim::jaro_winkler(&name.to_lowercase(), &c.to_lowercase()),
                    c,
                )
            })
            .filter(|(score, _)| *score > 0.8)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, c)| c.to_owned());
        errors.push(format!(
            "filter `{}`: no contact has an attribute `{name}` and the mapping file doesn't declare it, so it would match nothing{}",
            f.source,
            best.map_or_else(String::new, |b| format!("; did you mean `attributes.{b}`?"))
        ));
    }
    if !errors.is_empty() {
        bail!("{}", errors.join("\n"));
    }
    Ok(())
}

/// Put the local records that match the automation now in `store::automations::matches`
/// (with `sync_contacts`, the contacts of the organizations matched too).
pub fn collect_matches(
    store: &Store,
    mapping: &Mapping,
    a: &Automation,
    now: DateTime<Utc>,
) -> Result<()> {
    let conn = store.conn();
    matches::reset(conn)?;
    let tx = conn.unchecked_transaction()?;
    match a.entity {
        store::Entity::Contact => {
            matching(conn, mapping, a, now, |f| store::contacts::each(conn, f))?;
        }
        store::Entity::Organization => {
            matching(conn, mapping, a, now, |f| {
                store::organizations::each(conn, f)
            })?;
            if a.sync_contacts {
                matches::add_contacts_of_organizations(conn)?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

/// Add the records `scan` hands over that match the automation's filters.
fn matching<R: Record>(
    conn: &rusqlite::Connection,
    mapping: &Mapping,
    a: &Automation,
    now: DateTime<Utc>,
    scan: impl FnOnce(&mut dyn FnMut(R) -> Result<()>) -> Result<()>,
) -> Result<()> {
    let fs = filters(mapping, a.entity, &a.filters)?;
    let all = a.match_mode == "all";
    scan(&mut |r: R| {
        let values: Vec<_> = fs.iter().map(|f| r.get(&f.field)).collect();
        if matches(&fs, &values, all, now) {
            matches::add(conn, R::ENTITY, r.id())?;
        }
        Ok(())
    })
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

/// What an automation run works with.
#[derive(Clone, Copy)]
pub struct Engine<'a> {
    pub client: &'a Client,
    pub store: &'a Store,
    pub mapping: &'a Mapping,
    pub props: &'a crate::mapping::check::Properties,
    pub progress: &'a dyn Progress,
    /// Records an earlier step of the same run already pushed (`contact:ID`,
    /// `organization:ID`): planned again (an organization pushed since may have given them a
    /// company to associate), but an unchanged, skipped or failed one is not reported twice.
    pub pushed: bool,
}

/// Members added to a list per call.
const MEMBERSHIP_BATCH: usize = 100;

/// Run one automation inside an async runtime: push its matches (marked by the automation),
/// then add to its list the contacts not yet added. Sub-runs are folded into `summary`.
pub async fn run_one(
    cx: &Engine<'_>,
    a: &Automation,
    dry_run: bool,
    summary: &mut Summary,
) -> Result<()> {
    let Engine {
        client,
        store,
        mapping,
        props,
        progress,
        pushed,
    } = *cx;
    let now = Utc::now();
    let mark = Mark::Automation(a.name.clone());
    collect_matches(store, mapping, a, now)?;
    let conn = store.conn();
    let contacts = matches::count(conn, store::Entity::Contact)?;
    let organizations = matches::count(conn, store::Entity::Organization)?;
    summary.add("automation_matches", contacts + organizations);
    if contacts + organizations > 0 {
        let req = PushRequest {
            automation_matches: true,
            reported: pushed,
            dry_run,
            mark: mark.clone(),
            parent: (!dry_run && summary.run_id != 0).then_some(summary.run_id),
            ..PushRequest::default()
        };
        let pushed = push::push(client, store, mapping, props, &req, progress).await?;
        summary.merge(pushed);
    }
    if a.list_id.is_empty() {
        if !dry_run {
            automations::record_run(conn, a.id, summary.run_id)?;
        }
        return Ok(());
    }
    // Contacts that have a HubSpot id now and are not in the list yet, a batch at a time.
    let mut after = String::new();
    let mut planned = 0;
    loop {
        super::cancel::check()?;
        let page = matches::not_in_list(conn, a.id, &after, MEMBERSHIP_BATCH)?;
        let Some((last, _)) = page.last() else {
            break;
        };
        after.clone_from(last);
        let mut to_add: Vec<(String, String)> = Vec::with_capacity(page.len());
        for (id, hubspot_id) in page {
            if let Some(hubspot_id) = hubspot_id {
                to_add.push((id, hubspot_id));
            } else if dry_run
                && store::contacts::get(conn, &id)?.is_some_and(|c| c.primary_email().is_some())
            {
                // Not in HubSpot yet: the push before the list addition creates it.
                to_add.push((id, "new".into()));
            }
        }
        if dry_run {
            planned += to_add.len() as u64;
            for (id, hs) in to_add {
                summary.plan.push(Planned::ListAddition {
                    action: format!("add to list `{}`:", a.list_name),
                    entity: "contact",
                    id,
                    hubspot_id: hs,
                    list: a.list_name.clone(),
                    list_id: a.list_id.clone(),
                });
            }
            continue;
        }
        if to_add.is_empty() {
            continue;
        }
        let ids: Vec<String> = to_add.iter().map(|(_, hs)| hs.clone()).collect();
        lists::change_members(client, &a.list_id, lists::MembershipEdit::Add, &ids).await?;
        let tx = conn.unchecked_transaction()?;
        for (local, _) in &to_add {
            automations::record_added(&tx, a.id, store::Entity::Contact, local)?;
        }
        tx.commit()?;
        summary.add("list_additions", to_add.len() as u64);
    }
    if dry_run {
        summary.add("list_additions_planned", planned);
        return Ok(());
    }
    automations::record_run(conn, a.id, summary.run_id)?;
    Ok(())
}

/// Every automation in `chosen`, one after another (a failure to reach HubSpot stops them all).
pub async fn run_all(
    cx: &Engine<'_>,
    chosen: &[Automation],
    dry_run: bool,
    summary: &mut Summary,
) -> Result<()> {
    for a in chosen {
        super::cancel::check()?;
        if !a.list_id.is_empty() {
            // The list may have been deleted or made dynamic since the automation was added.
            // Context, not a new error: a daily limit or a refused token keeps its exit code.
            resolve_list(cx.client, &a.list_id)
                .await
                .with_context(|| format!("automation `{}`", a.name))?;
        }
        run_one(cx, a, dry_run, summary).await?;
    }
    Ok(())
}
