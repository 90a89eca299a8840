//! Data-in (SPEC §6): read HubSpot contacts and companies, plan (see [`super::pull_plan`]), then
//! apply the plan locally with history in the same transaction.
//!
//! Reading uses the search API for both passes, so properties travel in the request body and
//! pages hold 200 records (list pages hold 100 and take properties in the URL). Every page is a
//! fresh query keyed on the object id (`hs_object_id > last`, sorted by `hs_object_id`), so the
//! 10,000-result cap of one search query never applies and a record modified while we read
//! cannot shift another one out of view:
//! - full pass: no other filter;
//! - incremental: `lastmodifieddate` (contacts) / `hs_lastmodifieddate` (companies) `>=` the
//!   watermark.
//!
//! The watermark saved after a pass is `min(newest modification read, read start - overlap)`,
//! never earlier than the previous one: every record modified before it was read, and the
//! overlap covers HubSpot's search index delay. It is saved in the transaction that applies
//! the last changes, so it moves only after the local commit.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use anyhow::{Context as _, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use super::plan::{self, PlanOptions, PushOp};
use super::progress::Progress;
use super::pull_plan::{
    self, hubspot_keys, merged_ids, ClaimOn, Claimed, LocalIndex, LocalRecord, PullField,
};
use super::pull_stage::{Cursor, Stage};
use super::push;
use super::summary::Summary;
use super::three_way::{self, Side};
use crate::hubspot::models::{
    Direction as SortDirection, Filter, FilterGroup, Operator, SearchRequest, SimplePublicObject,
    Sort,
};
use crate::hubspot::{objects, search, Client, ObjectType};
use crate::mapping::check::Properties;
use crate::mapping::{Entity, Mapping};
use crate::model::{normalize_email, Contact, Organization};
use crate::store::base::{self, Base};
use crate::store::{
    contacts, history, links, organizations, runs, Entity as StoreEntity, Link, Store,
};

/// Records per search page (HubSpot's maximum).
pub const PAGE: u32 = 200;
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

fn object_type(entity: Entity) -> ObjectType {
    match entity {
        Entity::Contacts => ObjectType::Contacts,
        Entity::Organizations => ObjectType::Companies,
    }
}

/// The modification-date property HubSpot keeps per object type.
#[must_use]
pub fn modified_property(entity: Entity) -> &'static str {
    match entity {
        Entity::Contacts => "lastmodifieddate",
        Entity::Organizations => "hs_lastmodifieddate",
    }
}

fn identity_properties(entity: Entity) -> &'static [&'static str] {
    match entity {
        Entity::Contacts => &["email", "hs_additional_emails"],
        Entity::Organizations => &["name"],
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
    let run_id = if opts.dry_run {
        0
    } else {
        runs::start(store.conn(), "pull", opts.parent)?
    };
    let mut summary = Summary::new(run_id);
    if opts.dry_run {
        summary.status = "dry-run".into();
    }
    for &entity in &opts.entities {
        let one = pull_entity(
            store,
            client,
            mapping,
            props,
            opts,
            entity,
            progress,
            &mut summary,
        );
        if let Err(e) = one.await {
            if !opts.dry_run {
                let status = if matches!(crate::error::exit_code(&e), 75 | 130) {
                    "interrupted"
                } else {
                    "failed"
                };
                let _ = runs::finish(
                    store.conn(),
                    run_id,
                    status,
                    &summary.counts,
                    Some(&format!("{e:#}")),
                );
            }
            return Err(e);
        }
    }
    if !opts.dry_run {
        runs::finish(
            store.conn(),
            run_id,
            summary.final_status(),
            &summary.counts,
            None,
        )?;
    }
    Ok(summary)
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
    let fields = pull_plan::pull_fields(entity, mapping, props)?;
    let key = watermark_key(entity);
    let previous = runs::checkpoint(store.conn(), CHECKPOINT_KIND, &key)?
        .as_deref()
        .and_then(millis);
    let since = if opts.full { None } else { previous };
    let read_start = Utc::now().timestamp_millis();

    let stage = Stage::new(store.conn())?;
    progress.start(&format!("reading {}", object_type(entity).as_str()), 0);
    let mut reader = Reader::new(client, entity, &fields, progress, &stage);
    reader.read(since).await?;
    progress.finish();
    let max_ts = reader.max_ts;
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
            Entity::Contacts => push::company_ids(store.conn())?,
            Entity::Organizations => HashMap::new(),
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
        Entity::Contacts => reconcile::<Contact>(&pass, since, summary).await,
        Entity::Organizations => reconcile::<Organization>(&pass, since, summary).await,
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
async fn reconcile<L: Local + Writable>(
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
struct Reader<'a> {
    client: &'a Client,
    entity: Entity,
    object: ObjectType,
    /// Properties asked in the search body.
    search_properties: Vec<String>,
    /// When the property list is too long for a search body: read them with batch read.
    batch_properties: Option<Vec<String>>,
    progress: &'a dyn Progress,
    stage: &'a Stage<'a>,
    read: u64,
    max_ts: Option<i64>,
}

impl<'a> Reader<'a> {
    fn new(
        client: &'a Client,
        entity: Entity,
        fields: &[PullField],
        progress: &'a dyn Progress,
        stage: &'a Stage<'a>,
    ) -> Self {
        let mut all: Vec<String> = [
            "hs_object_id",
            modified_property(entity),
            "hs_merged_object_ids",
        ]
        .into_iter()
        .chain(identity_properties(entity).iter().copied())
        .map(str::to_owned)
        .collect();
        for f in fields {
            if !all.contains(&f.property) {
                all.push(f.property.clone());
            }
        }
        let size: usize = all.iter().map(|p| p.len() + 3).sum::<usize>() + 300;
        let (search_properties, batch_properties) = if size > SEARCH_BODY_BUDGET {
            (
                all[..3 + identity_properties(entity).len()].to_vec(),
                Some(all),
            )
        } else {
            (all, None)
        };
        Self {
            client,
            entity,
            object: object_type(entity),
            search_properties,
            batch_properties,
            progress,
            stage,
            read: 0,
            max_ts: None,
        }
    }

    /// Every record (or every record modified at or after `since`, epoch ms).
    async fn read(&mut self, since: Option<i64>) -> Result<()> {
        let mut last: Option<String> = None;
        let mut first = true;
        loop {
            super::cancel::check()?;
            let mut filters = Vec::new();
            if let Some(ms) = since {
                filters.push(Filter::new(
                    modified_property(self.entity),
                    Operator::Gte,
                    ms.to_string(),
                ));
            }
            if let Some(id) = &last {
                filters.push(Filter::new("hs_object_id", Operator::Gt, id.clone()));
            }
            let req = SearchRequest {
                filter_groups: if filters.is_empty() {
                    Vec::new()
                } else {
                    vec![FilterGroup { filters }]
                },
                sorts: vec![Sort {
                    property_name: "hs_object_id".into(),
                    direction: SortDirection::Ascending,
                }],
                query: None,
                properties: self.search_properties.clone(),
                limit: PAGE,
                after: None,
            };
            let resp = search::search(self.client, self.object, &req)
                .await
                .with_context(|| format!("cannot read HubSpot {}", self.object))?;
            if first {
                self.progress.set_total(resp.total);
                first = false;
            }
            // Each page is a fresh query, so `total` counts what is left: stop when this page
            // held all of it (saves the empty last request).
            let n = resp.results.len() as u64;
            let more = n >= u64::from(PAGE) && resp.paging.is_some() && resp.total > n;
            let Some(tail) = resp.results.last().map(|r| r.id.clone()) else {
                break;
            };
            let page = match &self.batch_properties {
                None => resp.results,
                Some(props) => self.batch_read(&resp.results, props).await?,
            };
            self.keep(&page)?;
            self.progress.advance(page.len() as u64);
            if !more {
                break;
            }
            last = Some(tail);
        }
        Ok(())
    }

    async fn batch_read(
        &self,
        page: &[SimplePublicObject],
        props: &[String],
    ) -> Result<Vec<SimplePublicObject>> {
        let mut out = Vec::with_capacity(page.len());
        for chunk in page.chunks(objects::BATCH_LIMIT) {
            let ids: Vec<String> = chunk.iter().map(|r| r.id.clone()).collect();
            let resp = objects::batch_read(self.client, self.object, &ids, props, None)
                .await
                .with_context(|| format!("cannot read HubSpot {}", self.object))?;
            out.extend(resp.results);
        }
        Ok(out)
    }

    fn keep(&mut self, page: &[SimplePublicObject]) -> Result<()> {
        for r in page {
            let ts = r.prop(modified_property(self.entity)).and_then(millis);
            if let Some(ts) = ts {
                self.max_ts = Some(self.max_ts.map_or(ts, |m| m.max(ts)));
            }
        }
        self.read += page.len() as u64;
        self.stage.put(page)
    }
}

/// The local side of one entity, as the planner needs it.
trait Local: LocalRecord + Sized {
    fn load(store: &Store, id: &str) -> Result<Option<Self>>;
    fn ids_by_key(store: &Store, key: &str) -> Result<Vec<String>>;
    fn keys(&self) -> Vec<String>;
    /// How push would plan this record, given its link (see [`super::plan`]).
    fn plan_push(&self, link: &Link, echo: &Echo<'_>) -> PushOp;
}

/// What a push plan of one record needs, to derive the base of a record linked before the
/// base existed.
struct Echo<'a> {
    mapping: &'a Mapping,
    props: &'a Properties,
    /// Local organization id → HubSpot company id (contacts only).
    companies: HashMap<String, String>,
}

impl Echo<'_> {
    /// A record pushed to `hubspot_id` by a hubsync from before the base existed, whose stored
    /// hash says HubSpot holds exactly what it would push now: those values are the base.
    fn legacy_base<L: Local>(
        &self,
        conn: &rusqlite::Connection,
        entity: StoreEntity,
        hubspot_id: &str,
        record: &L,
    ) -> Result<Option<Base>> {
        let Some(link) = links::get(conn, entity, record.id())? else {
            return Ok(None);
        };
        if link.hubspot_id.as_deref() != Some(hubspot_id) || link.content_hash.is_none() {
            return Ok(None);
        }
        Ok(match record.plan_push(&link, self) {
            PushOp::Unchanged { base, .. } => base,
            _ => None,
        })
    }
}

fn one_op(mut ops: Vec<PushOp>) -> PushOp {
    ops.pop().unwrap_or(PushOp::Skip {
        local_id: String::new(),
        reason: String::new(),
    })
}

impl Local for Contact {
    fn load(store: &Store, id: &str) -> Result<Option<Self>> {
        contacts::get(store.conn(), id)
    }
    fn ids_by_key(store: &Store, key: &str) -> Result<Vec<String>> {
        contacts::ids_by_email(store.conn(), key)
    }
    fn keys(&self) -> Vec<String> {
        self.emails.iter().map(|e| normalize_email(e)).collect()
    }
    fn plan_push(&self, link: &Link, echo: &Echo<'_>) -> PushOp {
        one_op(plan::plan_contacts(
            &mut HashMap::new(),
            std::slice::from_ref(self),
            &HashMap::from([(self.id.clone(), link.clone())]),
            &HashMap::new(),
            &echo.mapping.file.contacts,
            echo.props.of(Entity::Contacts),
            &echo.companies,
            PlanOptions::default(),
        ))
    }
}

impl Local for Organization {
    fn load(store: &Store, id: &str) -> Result<Option<Self>> {
        organizations::get(store.conn(), id)
    }
    fn ids_by_key(store: &Store, key: &str) -> Result<Vec<String>> {
        organizations::ids_by_name(store.conn(), key)
    }
    fn keys(&self) -> Vec<String> {
        self.name
            .as_deref()
            .map(crate::model::normalize_name)
            .into_iter()
            .collect()
    }
    fn plan_push(&self, link: &Link, echo: &Echo<'_>) -> PushOp {
        one_op(plan::plan_organizations(
            &mut HashMap::new(),
            std::slice::from_ref(self),
            &HashMap::from([(self.id.clone(), link.clone())]),
            &HashMap::new(),
            &echo.mapping.file.organizations,
            echo.props.of(Entity::Organizations),
            PlanOptions::default(),
        ))
    }
}

/// What the planner needs to claim one page of HubSpot records: the links of their ids and
/// merged ids, and the local ids having each of their keys.
fn page_index<L: Local>(
    store: &Store,
    entity: Entity,
    records: &[SimplePublicObject],
) -> Result<LocalIndex<L>> {
    let se = StoreEntity::from(entity);
    let mut idx = LocalIndex::default();
    for r in records {
        for id in std::iter::once(&r.id).chain(merged_ids(r).iter()) {
            if idx.links.contains_key(id) {
                continue;
            }
            if let Some(l) = links::local_id(store.conn(), se, id)? {
                idx.links.insert(id.clone(), l);
            }
        }
        for k in hubspot_keys(entity, r) {
            if idx.by_key.contains_key(&k) {
                continue;
            }
            let ids = L::ids_by_key(store, &k)?;
            idx.by_key.insert(k, ids);
        }
    }
    Ok(idx)
}

/// HubSpot records that compete with a new key match, for incremental pulls (a full pass sees
/// them all anyway): other companies with the same name, other contacts having another e-mail
/// of the matched local contact.
async fn verify<L: Local>(
    store: &Store,
    client: &Client,
    entity: Entity,
    stage: &Stage<'_>,
) -> Result<()> {
    let se = StoreEntity::from(entity);
    let mut values: BTreeSet<String> = BTreeSet::new();
    let mut cursor = Cursor::default();
    loop {
        let records = stage.page(true, &mut cursor, STAGE_PAGE)?;
        if records.is_empty() {
            break;
        }
        for r in &records {
            let mut linked = false;
            for id in std::iter::once(&r.id).chain(merged_ids(r).iter()) {
                if links::local_id(store.conn(), se, id)?.is_some() {
                    linked = true;
                    break;
                }
            }
            if linked {
                continue;
            }
            let keys = hubspot_keys(entity, r);
            for k in &keys {
                for l in L::ids_by_key(store, k)? {
                    let Some(local) = L::load(store, &l)? else {
                        continue;
                    };
                    for lk in local.keys() {
                        if entity == Entity::Organizations || !keys.contains(&lk) {
                            values.insert(lk.to_lowercase());
                        }
                    }
                }
            }
        }
        // Look them up as they collect, so memory stays flat however many records changed.
        if values.len() >= CONTEXT_BATCH {
            search_context(client, entity, stage, std::mem::take(&mut values)).await?;
        }
    }
    search_context(client, entity, stage, values).await
}

/// Stage the HubSpot records having any of `values` (e-mails or names) as context.
async fn search_context(
    client: &Client,
    entity: Entity,
    stage: &Stage<'_>,
    values: BTreeSet<String>,
) -> Result<()> {
    if values.is_empty() {
        return Ok(());
    }
    let property = match entity {
        Entity::Contacts => "email",
        Entity::Organizations => "name",
    };
    let object = object_type(entity);
    let props: Vec<String> = ["hs_object_id", "hs_merged_object_ids"]
        .into_iter()
        .chain(identity_properties(entity).iter().copied())
        .map(str::to_owned)
        .collect();
    let values: Vec<String> = values.into_iter().collect();
    // Keep each body well under HubSpot's 3,000 characters.
    let mut chunks: Vec<Vec<String>> = vec![Vec::new()];
    let mut size = 0;
    for v in values {
        if size + v.len() + 3 > 2_000 && chunks.last().is_some_and(|c| !c.is_empty()) {
            chunks.push(Vec::new());
            size = 0;
        }
        size += v.len() + 3;
        if let Some(c) = chunks.last_mut() {
            c.push(v);
        }
    }
    for chunk in chunks {
        let mut after: Option<String> = None;
        loop {
            let req = SearchRequest {
                filter_groups: vec![FilterGroup {
                    filters: vec![Filter::any_of(property, chunk.clone())],
                }],
                properties: props.clone(),
                limit: PAGE,
                after: after.clone(),
                ..SearchRequest::default()
            };
            let resp = search::search(client, object, &req)
                .await
                .with_context(|| format!("cannot look up HubSpot {object} by {property}"))?;
            stage.put_context(&resp.results)?;
            match resp.paging.and_then(|p| p.next).map(|n| n.after) {
                Some(a)
                    if a.parse::<u64>()
                        .is_ok_and(|n| n + u64::from(PAGE) <= 10_000) =>
                {
                    after = Some(a);
                }
                _ => break,
            }
        }
    }
    Ok(())
}

/// Plan the staged records page by page and, unless dry-running, apply the plan with history.
/// Claims (step 1) are staged too; they are then resolved local record by local record, and
/// the winners applied `APPLY_BATCH` at a time, each batch in one transaction that plans the
/// record again as stored at that moment. The watermark moves after the last batch.
fn apply<L: Local + Writable>(p: &Pass<'_>, summary: &mut Summary) -> Result<Vec<Deferred>> {
    let Pass {
        store,
        stage,
        entity,
        opts,
        ..
    } = *p;
    let se = StoreEntity::from(entity);
    let mut deferred = Vec::new();
    // 1. Claims, in read order: records to apply first, then the context.
    let mut seq = 0u64;
    for apply in [true, false] {
        let mut cursor = Cursor::default();
        loop {
            let records = stage.page(apply, &mut cursor, STAGE_PAGE)?;
            if records.is_empty() {
                break;
            }
            let index = page_index::<L>(store, entity, &records)?;
            let mut claims = Vec::new();
            for r in &records {
                seq += 1;
                match pull_plan::claim(entity, r, &index) {
                    Claimed::Local { local_id, via, key } => claims.push((
                        local_id,
                        seq,
                        ClaimOn {
                            hubspot_id: r.id.clone(),
                            via,
                            key,
                            apply,
                        },
                    )),
                    Claimed::Conflict(c) if apply => {
                        summary.add("conflicts", 1);
                        summary.conflicts.push(serde_json::to_value(&c)?);
                    }
                    Claimed::Unmatched if apply => summary.add("unmatched", 1),
                    Claimed::Conflict(_) | Claimed::Unmatched => {}
                }
            }
            stage.claim(&claims)?;
        }
    }

    // 2. Resolve by local record, and apply the winners.
    let mut after = String::new();
    loop {
        super::cancel::check()?;
        let locals = stage.claimed_locals(&after, APPLY_BATCH)?;
        let Some(last) = locals.last() else {
            break;
        };
        after.clone_from(last);
        let mut winners: Vec<(String, String, pull_plan::Via)> = Vec::new();
        for local_id in locals {
            let claims = stage.claims_on(&local_id)?;
            let linked = links::get(store.conn(), se, &local_id)?.and_then(|l| l.hubspot_id);
            let (winner, conflicts) =
                pull_plan::resolve(entity, &local_id, &claims, linked.as_deref());
            for c in &conflicts {
                summary.add("conflicts", 1);
                summary.conflicts.push(serde_json::to_value(c)?);
            }
            if let Some(w) = winner {
                winners.push((local_id.clone(), w.hubspot_id.clone(), w.via));
            }
        }
        let tx = store.conn().unchecked_transaction()?;
        {
            let mut writer = L::writer(&tx)?;
            for (local_id, hubspot_id, via) in winners {
                let target = Target {
                    local_id,
                    hubspot_id,
                    via,
                };
                if let Some(d) = apply_one::<L>(p, &tx, &mut writer, summary, &target, None)? {
                    deferred.push(d);
                }
            }
        }
        if opts.dry_run {
            // A dry run writes nothing.
            tx.rollback()?;
        } else {
            tx.commit()
                .with_context(|| format!("cannot save pulled {} in the store", entity.section()))?;
        }
    }
    Ok(deferred)
}

/// A HubSpot record won by a local record.
#[derive(Debug, Clone)]
struct Target {
    local_id: String,
    hubspot_id: String,
    via: pull_plan::Via,
}

/// A record with `newest` conflicts, waiting for HubSpot's property timestamps.
struct Deferred {
    target: Target,
    properties: Vec<String>,
}

/// Plan one matched record against the record as stored now (inside the transaction) and its
/// base, and apply it: local changes with history, the new base, the link. A record with
/// `newest` conflicts and no `times` yet is left alone and returned.
fn apply_one<L: Local + Writable>(
    p: &Pass<'_>,
    tx: &rusqlite::Connection,
    writer: &mut L::Writer<'_>,
    summary: &mut Summary,
    t: &Target,
    times: Option<&HashMap<String, bool>>,
) -> Result<Option<Deferred>> {
    let Pass {
        echo,
        stage,
        entity,
        fields,
        opts,
        ..
    } = *p;
    let se = StoreEntity::from(entity);
    let run_id = summary.run_id;
    let Some(hs) = stage.get(&t.hubspot_id)? else {
        return Ok(None);
    };
    let Some(current) = L::read(writer, tx, &t.local_id)? else {
        return Ok(None);
    };
    let mut agreed = base::get(tx, se, &t.local_id)?;
    if agreed.is_empty() {
        if let Some(derived) = echo.legacy_base(tx, se, &t.hubspot_id, &current)? {
            base::replace(tx, se, &t.local_id, &derived)?;
            agreed = derived;
        }
    }
    if t.via == pull_plan::Via::Merge {
        // The base moves to the merge survivor for the fields this pull reconciles (HubSpot's
        // value there is compared with it); what the survivor holds in the push-only
        // properties is not known, so push sends them again.
        let pulled: BTreeSet<&str> = fields.iter().map(|f| f.property.as_str()).collect();
        let before = agreed.len();
        agreed.retain(|p, _| pulled.contains(p.as_str()));
        if agreed.len() != before {
            base::replace(tx, se, &t.local_id, &agreed)?;
        }
    }
    let newer = |p: &str| times.map(|t| t.get(p).copied().unwrap_or(false));
    let plan = pull_plan::field_changes(fields, &hs, &current, &agreed, &newer);
    if times.is_none() && !plan.needs_times.is_empty() {
        return Ok(Some(Deferred {
            target: t.clone(),
            properties: plan.needs_times,
        }));
    }
    summary.add("matched", 1);
    for p in &plan.problems {
        summary.skip(se.as_str(), &t.local_id, format!("field {p}"));
    }
    for c in &plan.conflicts {
        summary.add("conflicts", 1);
        summary.conflicts.push(conflict_json(se, t, c));
    }
    if plan.changes.is_empty() {
        summary.add("unchanged", 1);
    } else if opts.dry_run {
        summary.add("changed", 1);
        summary.plan.push(json!({
            "action": "update local",
            "entity": se.as_str(),
            "id": t.local_id,
            "hubspot_id": t.hubspot_id,
            "matched_by": t.via,
            "changes": plan.changes,
        }));
    } else {
        L::write(writer, tx, &plan.updated, &current)?;
        for c in &plan.changes {
            let conflict = c.conflict.as_ref().map(conflict_detail);
            history::record(
                tx,
                run_id,
                se,
                &t.local_id,
                Some(&t.hubspot_id),
                &c.field,
                c.old.as_ref(),
                Some(&c.new),
                conflict.as_ref(),
            )?;
        }
        summary.add("changed", 1);
        summary.add("fields_changed", plan.changes.len() as u64);
    }
    if !opts.dry_run {
        // Conflicts that kept the local value changed nothing locally; logged all the same.
        for c in plan.conflicts.iter().filter(|c| c.kept == Side::Local) {
            let value = current.get(&c.field);
            history::record(
                tx,
                run_id,
                se,
                &t.local_id,
                Some(&t.hubspot_id),
                &c.field,
                value.as_ref(),
                value.as_ref(),
                Some(&conflict_detail(c)),
            )?;
        }
        // The base is in hand: write it whole when something changed (no second read).
        let mut moved = false;
        for (property, value) in plan.agreed {
            if agreed.get(&property) != Some(&value) {
                agreed.insert(property, value);
                moved = true;
            }
        }
        if moved {
            base::replace(tx, se, &t.local_id, &agreed)?;
        }
        links::record_pull(tx, se, &t.local_id, &t.hubspot_id)?;
    }
    Ok(None)
}

/// A field conflict as the history keeps it.
fn conflict_detail(c: &pull_plan::FieldConflict) -> serde_json::Value {
    json!({"local": c.local, "hubspot": c.hubspot, "base": c.base, "kept": c.kept})
}

/// A field conflict as a run reports it (SPEC §7 `conflicts`).
fn conflict_json(se: StoreEntity, t: &Target, c: &pull_plan::FieldConflict) -> serde_json::Value {
    let show = |v: Option<&str>| v.map_or_else(|| "(empty)".to_owned(), |v| format!("{v:?}"));
    json!({
        "entity": se.as_str(),
        "id": t.local_id,
        "hubspot_id": t.hubspot_id,
        "field": c.field,
        "local": c.local,
        "hubspot": c.hubspot,
        "base": c.base,
        "kept": c.kept,
        "message": format!(
            "{} {} field {}: edited on both sides (here {}, in HubSpot {}, last agreed {}); kept the {} value",
            se.as_str(),
            t.local_id,
            c.field,
            show(c.local.as_deref()),
            show(Some(&c.hubspot)),
            show(c.base.as_deref()),
            match c.kept {
                Side::Hubspot => "HubSpot",
                Side::Local => "local",
            }
        ),
    })
}

/// Decide the `newest` conflicts: read HubSpot's property timestamps for those records only
/// (`propertiesWithHistory`, 50 records per call), compare them with the local records' last
/// edit, and apply them in one more transaction.
async fn apply_deferred<L: Local + Writable>(
    p: &Pass<'_>,
    summary: &mut Summary,
    deferred: Vec<Deferred>,
) -> Result<()> {
    if deferred.is_empty() {
        return Ok(());
    }
    let Pass {
        store,
        client,
        entity,
        opts,
        ..
    } = *p;
    let se = StoreEntity::from(entity);
    let object = object_type(entity);
    let mut times: HashMap<String, HashMap<String, bool>> = HashMap::new();
    for chunk in deferred.chunks(objects::HISTORY_BATCH_LIMIT) {
        let ids: Vec<String> = chunk.iter().map(|d| d.target.hubspot_id.clone()).collect();
        let mut props: Vec<String> = chunk.iter().flat_map(|d| d.properties.clone()).collect();
        props.sort();
        props.dedup();
        let resp = objects::batch_read_with_history(client, object, &ids, &props, &props, None)
            .await
            .with_context(|| format!("cannot read the history of HubSpot {object}"))?;
        for d in chunk {
            let local_ms = base::local_edit_ms(store.conn(), se, &d.target.local_id)?;
            let record = resp.results.iter().find(|r| r.id == d.target.hubspot_id);
            let per: HashMap<String, bool> = d
                .properties
                .iter()
                .map(|p| {
                    let hubspot_ms = record.and_then(|r| r.property_changed_ms(p));
                    (p.clone(), three_way::local_is_newer(local_ms, hubspot_ms))
                })
                .collect();
            times.insert(d.target.hubspot_id.clone(), per);
        }
    }
    let tx = store.conn().unchecked_transaction()?;
    {
        let mut writer = L::writer(&tx)?;
        for d in &deferred {
            let empty = HashMap::new();
            let t = times.get(&d.target.hubspot_id).unwrap_or(&empty);
            apply_one::<L>(p, &tx, &mut writer, summary, &d.target, Some(t))?;
        }
    }
    if opts.dry_run {
        tx.rollback()?;
    } else {
        tx.commit()
            .with_context(|| format!("cannot save pulled {} in the store", entity.section()))?;
    }
    Ok(())
}

/// Writing one kind of local record inside a transaction.
pub(crate) trait Writable: Sized {
    type Writer<'c>;
    fn writer<'c>(conn: &'c rusqlite::Connection) -> Result<Self::Writer<'c>>;
    fn read(
        w: &mut Self::Writer<'_>,
        conn: &rusqlite::Connection,
        id: &str,
    ) -> Result<Option<Self>>;
    fn write(
        w: &mut Self::Writer<'_>,
        conn: &rusqlite::Connection,
        new: &Self,
        previous: &Self,
    ) -> Result<()>;
}

impl Writable for Contact {
    type Writer<'c> = contacts::Writer<'c>;
    fn writer<'c>(conn: &'c rusqlite::Connection) -> Result<Self::Writer<'c>> {
        contacts::Writer::new(conn)
    }
    fn read(
        w: &mut Self::Writer<'_>,
        _conn: &rusqlite::Connection,
        id: &str,
    ) -> Result<Option<Self>> {
        w.get(id)
    }
    fn write(
        w: &mut Self::Writer<'_>,
        _conn: &rusqlite::Connection,
        new: &Self,
        previous: &Self,
    ) -> Result<()> {
        w.upsert(new, Some(previous))
    }
}

impl Writable for Organization {
    type Writer<'c> = ();
    fn writer<'c>(_conn: &'c rusqlite::Connection) -> Result<Self::Writer<'c>> {
        Ok(())
    }
    fn read(
        _w: &mut Self::Writer<'_>,
        conn: &rusqlite::Connection,
        id: &str,
    ) -> Result<Option<Self>> {
        organizations::get(conn, id)
    }
    fn write(
        _w: &mut Self::Writer<'_>,
        conn: &rusqlite::Connection,
        new: &Self,
        _previous: &Self,
    ) -> Result<()> {
        organizations::upsert(conn, new)
    }
}

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

/// What `undo --run N` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UndoReport {
    /// The run that recorded the undo.
    pub run_id: i64,
    /// The pull run undone.
    pub undone_run: i64,
    /// Changes reverted (old and new as the pull recorded them).
    pub restored: Vec<history::Entry>,
    /// Changes left alone because the field changed again since, with the reason.
    pub left: Vec<(history::Entry, String)>,
}

/// Restore the local values a pull run changed. A field changed again since (by a later run or
/// locally) is left alone and reported. The undo is recorded as its own run, with history.
pub fn undo(store: &mut Store, pull_run: i64) -> Result<UndoReport> {
    let Some(run) = runs::get(store.conn(), pull_run)? else {
        anyhow::bail!(
            "there is no run {pull_run}; `hubsync history` shows the runs that changed local data"
        );
    };
    // A `sync` run's local changes are its pull's.
    let pull_run = if run.kind == "sync" {
        let child: Option<i64> = {
            use rusqlite::OptionalExtension as _;
            store
                .conn()
                .query_row(
                    "SELECT id FROM runs WHERE parent_id = ?1 AND kind = 'pull' ORDER BY id LIMIT 1",
                    [pull_run],
                    |r| r.get(0),
                )
                .optional()?
        };
        match child {
            Some(c) => c,
            None => anyhow::bail!(
                "sync run {pull_run} pulled nothing (its pull did not run); there is nothing to undo"
            ),
        }
    } else {
        pull_run
    };
    if run.kind != "pull" && run.kind != "sync" {
        anyhow::bail!(
            "run {pull_run} is a `{}` run; only pull runs (and the pull of a sync run) change local data and can be undone",
            run.kind
        );
    }
    let entries = history::list(
        store.conn(),
        &history::Filter {
            run_id: Some(pull_run),
            ..history::Filter::default()
        },
    )?;
    // Conflicts that kept the local value are logged but changed nothing.
    let entries: Vec<history::Entry> = entries.into_iter().filter(|e| e.old != e.new).collect();
    if entries.is_empty() {
        anyhow::bail!("pull run {pull_run} changed no local data; there is nothing to undo");
    }
    let pending: Vec<history::Entry> = entries
        .iter()
        .filter(|e| e.undone_by.is_none())
        .cloned()
        .collect();
    if pending.is_empty() {
        let by = entries.iter().find_map(|e| e.undone_by).unwrap_or_default();
        anyhow::bail!("pull run {pull_run} was already undone by run {by}");
    }
    let run_id = runs::start(store.conn(), "undo", None)?;
    let mut report = UndoReport {
        run_id,
        undone_run: pull_run,
        restored: Vec::new(),
        left: Vec::new(),
    };
    let tx = store.conn_mut().transaction()?;
    {
        let mut writer = contacts::Writer::new(&tx)?;
        for e in pending {
            let later = history::changed_since(&tx, e.entity, &e.id, &e.field, e.row_id)?;
            let outcome = match e.entity {
                StoreEntity::Contact => {
                    let current = writer.get(&e.id)?;
                    restore(current, &e, later, |c| writer.upsert(c.0, Some(c.1)))?
                }
                StoreEntity::Organization => {
                    let current = organizations::get(&tx, &e.id)?;
                    restore(current, &e, later, |c| organizations::upsert(&tx, c.0))?
                }
            };
            match outcome {
                Ok(now) => {
                    // The restored value is the local side's latest edit: the next sync pushes
                    // it (the base still holds HubSpot's value) instead of pulling it again.
                    base::touch_local_edit(&tx, e.entity, &e.id)?;
                    history::record(
                        &tx,
                        run_id,
                        e.entity,
                        &e.id,
                        e.hubspot_id.as_deref(),
                        &e.field,
                        now.as_ref(),
                        e.old.as_ref(),
                        None,
                    )?;
                    history::mark_undone(&tx, e.row_id, run_id)?;
                    report.restored.push(e);
                }
                Err(reason) => report.left.push((e, reason)),
            }
        }
    }
    tx.commit().context("cannot save the undo in the store")?;
    let mut counts = std::collections::BTreeMap::new();
    counts.insert("restored".to_owned(), report.restored.len() as u64);
    counts.insert("left_alone".to_owned(), report.left.len() as u64);
    runs::finish(store.conn(), run_id, "ok", &counts, None)?;
    Ok(report)
}

/// Put `e.old` back into the record when the field still holds `e.new`: `Ok(value replaced)`,
/// or `Err(why it was left alone)`.
fn restore<L: LocalRecord>(
    current: Option<L>,
    e: &history::Entry,
    later: Option<i64>,
    write: impl FnOnce((&L, &L)) -> Result<()>,
) -> Result<std::result::Result<Option<serde_json::Value>, String>> {
    let Some(current) = current else {
        return Ok(Err(format!("{} {} no longer exists", e.entity, e.id)));
    };
    if let Some(r) = later {
        return Ok(Err(format!("changed again by run {r}")));
    }
    let now = current.get(&e.field);
    if now != e.new {
        return Ok(Err("changed locally since".to_owned()));
    }
    let mut updated = current.clone();
    if let Err(err) = updated.set(&e.field, e.old.clone().unwrap_or(serde_json::Value::Null)) {
        return Ok(Err(err.to_string()));
    }
    write((&updated, &current))?;
    Ok(Ok(now))
}
