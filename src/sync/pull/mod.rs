//! Data-in (SPEC §6): read HubSpot contacts and companies, plan (see [`plan`]), then
//! apply the plan locally with history in the same transaction.
//!
//! Every search page is a fresh query keyed on the object id (`hs_object_id > last` or
//! `< last`, sorted by `hs_object_id`), so the 10,000-result cap of one search query never
//! applies and a record modified while we read cannot shift another one out of view.
//! - Full pass: through both of HubSpot's budgets at once. The list endpoint reads ascending by
//!   id (100 per page, the ten-second budget) while the search reads descending (200 per page,
//!   the search budget); they stop where they meet, and each keeps only ids the other has not
//!   read. A last search reads the ids above the highest one seen: records created meanwhile.
//!   Up to [`LIST_FROM`] records, the search reads alone.
//! - Incremental: search only, `lastmodifieddate` (contacts) / `hs_lastmodifieddate`
//!   (companies) `>=` the watermark, ascending by id.
//!
//! The watermark saved after a pass is `min(newest modification read, read start - overlap)`,
//! never earlier than the previous one: every record modified before it was read, and the
//! overlap covers HubSpot's search index delay. It is saved in the transaction that applies
//! the last changes, so it moves only after the local commit.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, SecondsFormat, Utc};

use super::progress::Progress;
use super::push;
use super::summary::Summary;
use super::three_way::{self};
use crate::hubspot::{Client, ObjectType};
use crate::mapping::check::Properties;
use crate::mapping::{Entity, Mapping};
use crate::model::{Contact, Organization};
use crate::store::{runs, Store};
use plan::PullField;
use stage::Stage;

mod apply;
mod local;
pub mod plan;
mod read;
pub mod stage;

use apply::{apply, apply_deferred};
use local::Local;
use read::{verify, Echo, Reader};

/// Records per search page (HubSpot's maximum).
pub const PAGE: u32 = crate::hubspot::search::PAGE_LIMIT;
/// Records per list page (HubSpot's maximum).
const LIST_PAGE: u32 = 100;
/// A full read adds the list endpoint only above this many records: below it the search alone
/// takes about a second, and list calls would spend the ten-second budget that a push after
/// the pull (in `sync`) needs.
const LIST_FROM: u64 = 1_000;
/// Matched records applied per transaction.
const APPLY_BATCH: usize = 500;
/// Staged records claimed (or verified) at a time.
const STAGE_PAGE: usize = 1_000;
/// Competing e-mails or names collected before they are looked up in HubSpot.
const CONTEXT_BATCH: usize = 2_000;
/// Search bodies above this size are refused by HubSpot (3,000 characters); past this estimate
/// the properties are fetched with batch read instead.
const SEARCH_BODY_BUDGET: usize = 2_600;
/// The checkpoint kind of data-in.
pub const CHECKPOINT_KIND: &str = "pull";
/// Default overlap: how far before the last read each incremental pull starts again.
pub const DEFAULT_OVERLAP: Duration = Duration::from_secs(120);

/// What to pull and how.
#[derive(Debug, Clone)]
pub struct Options {
    pub entities: Vec<Entity>,
    /// Read everything, not only what changed since the watermark.
    pub full: bool,
    /// Plan only: nothing is written anywhere.
    pub dry_run: bool,
    pub overlap: Duration,
    /// The `sync` run this pull belongs to.
    pub parent: Option<i64>,
}

/// The checkpoint key of an entity's watermark, e.g. `contacts.watermark`.
#[must_use]
pub fn watermark_key(entity: Entity) -> String {
    format!("{}.watermark", entity.section())
}

/// The modification-date property HubSpot keeps per object type.
#[must_use]
pub fn modified_property(entity: Entity) -> &'static str {
    match entity {
        Entity::Contact => "lastmodifieddate",
        Entity::Organization => "hs_lastmodifieddate",
    }
}

fn identity_properties(entity: Entity) -> &'static [&'static str] {
    match entity {
        Entity::Contact => &["email", "hs_additional_emails"],
        Entity::Organization => &["name"],
    }
}

/// HubSpot timestamps: ISO 8601 or epoch milliseconds.
fn millis(raw: &str) -> Option<i64> {
    raw.trim().parse::<i64>().ok().or_else(|| {
        DateTime::parse_from_rfc3339(raw.trim())
            .ok()
            .map(|t| t.timestamp_millis())
    })
}

fn iso(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Pull every entity in `opts`; the summary of the whole run. `progress` hears of the records
/// read.
pub async fn run(
    store: &mut Store,
    client: &Client,
    mapping: &Mapping,
    props: &Properties,
    opts: &Options,
    progress: &dyn Progress,
) -> Result<Summary> {
    let mut summary = crate::sync::run::start(store.conn(), "pull", opts.parent, opts.dry_run)?;
    let mut result = Ok(());
    for &entity in &opts.entities {
        result = pull_entity(
            store,
            client,
            mapping,
            props,
            opts,
            entity,
            progress,
            &mut summary,
        )
        .await;
        if result.is_err() {
            break;
        }
    }
    crate::sync::run::finish(store.conn(), &mut summary, &result)?;
    result.map(|()| summary)
}

#[allow(clippy::too_many_arguments)]
async fn pull_entity(
    store: &mut Store,
    client: &Client,
    mapping: &Mapping,
    props: &Properties,
    opts: &Options,
    entity: Entity,
    progress: &dyn Progress,
    summary: &mut Summary,
) -> Result<()> {
    let fields = plan::pull_fields(entity, mapping, props)?;
    let key = watermark_key(entity);
    let previous = runs::checkpoint(store.conn(), CHECKPOINT_KIND, &key)?
        .as_deref()
        .and_then(millis);
    let since = if opts.full { None } else { previous };
    let read_start = Utc::now().timestamp_millis();

    let stage = Stage::new(store.conn())?;
    progress.start(&format!("reading {}", ObjectType::from(entity).as_str()), 0);
    let reader = Reader::new(client, entity, &fields, progress, &stage);
    match since {
        None => reader.read_all().await?,
        Some(ms) => reader.read_search(Some(ms), None, true).await?,
    }
    progress.finish();
    let max_ts = reader.max_ts();
    let read = stage.count()?;
    summary.add("read", read);
    tracing::info!(
        entity = entity.section(),
        read,
        full = since.is_none(),
        "read HubSpot records"
    );

    let overlap_ms = i64::try_from(opts.overlap.as_millis()).unwrap_or(i64::MAX);
    let safe = read_start.saturating_sub(overlap_ms);
    let watermark = match (since, max_ts) {
        (None, Some(m)) => m.min(safe),
        (None, None) => safe,
        (Some(old), Some(m)) => old.max(m.min(safe)),
        (Some(old), None) => old,
    };

    let echo = Echo {
        mapping,
        props,
        companies: match entity {
            Entity::Contact => push::company_ids(store.conn())?,
            Entity::Organization => HashMap::new(),
        },
    };
    let pass = Pass {
        store,
        client,
        echo: &echo,
        stage: &stage,
        entity,
        fields: &fields,
        opts,
    };
    let result = match entity {
        Entity::Contact => reconcile::<Contact>(&pass, since, summary).await,
        Entity::Organization => reconcile::<Organization>(&pass, since, summary).await,
    };
    if result.is_ok() && !opts.dry_run {
        // The watermark moves only after every change read is committed.
        runs::set_checkpoint(
            store.conn(),
            CHECKPOINT_KIND,
            &watermark_key(entity),
            &iso(watermark),
            summary.run_id,
        )?;
    }
    stage.clear()?;
    result
}

/// What matching and applying one entity's staged records works with.
struct Pass<'a> {
    store: &'a Store,
    client: &'a Client,
    echo: &'a Echo<'a>,
    stage: &'a Stage<'a>,
    entity: Entity,
    fields: &'a [PullField],
    opts: &'a Options,
}

/// Match and apply what was staged: competing records looked up (incremental pulls), the plan
/// applied, then the `newest` conflicts decided with HubSpot's timestamps.
async fn reconcile<L: Local>(
    p: &Pass<'_>,
    since: Option<i64>,
    summary: &mut Summary,
) -> Result<()> {
    if since.is_some() {
        verify::<L>(p.store, p.client, p.entity, p.stage).await?;
    }
    let deferred = apply::<L>(p, summary)?;
    apply_deferred::<L>(p, summary, deferred).await
}

/// Reads HubSpot records page by page into the stage.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_in_both_forms() {
        assert_eq!(millis("1709596800000"), Some(1_709_596_800_000));
        assert_eq!(millis("2024-03-05T00:00:00.000Z"), Some(1_709_596_800_000));
        assert_eq!(iso(1_709_596_800_000), "2024-03-05T00:00:00.000Z");
        assert_eq!(millis("soon"), None);
    }
}
