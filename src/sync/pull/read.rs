//! Reading: HubSpot pages into the stage, the local side of each entity, and the competing
//! records an incremental pull looks up before it claims.

use super::{
    identity_properties, millis, modified_property, CONTEXT_BATCH, LIST_FROM, LIST_PAGE, PAGE,
    SEARCH_BODY_BUDGET, STAGE_PAGE,
};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};

use anyhow::{Context as _, Result};

use super::local::Local;
use super::plan::{hubspot_keys, merged_ids, LocalIndex, PullField};
use super::stage::{Cursor, Stage};
use crate::hubspot::models::{
    Direction as SortDirection, Filter, FilterGroup, Operator, SearchRequest, SearchResponse,
    SimplePublicObject, Sort,
};
use crate::hubspot::{objects, search, Client, ObjectType};
use crate::mapping::check::Properties;
use crate::mapping::{Entity, Mapping};
use crate::store::base::Base;
use crate::store::{links, Link, Store};
use crate::sync::plan::{self as push_plan, PlanOptions, PushOp};
use crate::sync::progress::Progress;

pub(super) struct Reader<'a> {
    client: &'a Client,
    entity: Entity,
    object: ObjectType,
    /// Properties asked in the search body (and the list URL).
    search_properties: Vec<String>,
    /// When the property list is too long for a search body: read them with batch read.
    batch_properties: Option<Vec<String>>,
    progress: &'a dyn Progress,
    stage: &'a Stage<'a>,
    max_ts: Cell<Option<i64>>,
}

/// Where the two halves of a full read stand. The list has read every id up to `low`
/// (ascending); the search every id from `high` up to `top` (descending). Each keeps only what
/// the other has not read, and both stop when the two ranges touch or either has read all it
/// can. A half whose pages stop moving (a server ignoring its cursor or filter) leaves the rest
/// to the other.
#[derive(Debug, Default)]
struct Meet {
    low: Option<u64>,
    high: Option<u64>,
    top: Option<u64>,
    list: Half,
    search: Half,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Half {
    #[default]
    Reading,
    /// Read to the end of what it sees.
    Exhausted,
    /// Its pages stopped moving.
    Stalled,
}

impl Half {
    /// Where a half stands after a page: `more` to read, and whether the page `moved` past the
    /// last one.
    fn after_page(more: bool, moved: bool, object: ObjectType, this: &str, other: &str) -> Half {
        match (more, moved) {
            (false, _) => Half::Exhausted,
            (true, true) => Half::Reading,
            (true, false) => {
                tracing::warn!(%object, "HubSpot's {this} pages stopped moving; the {other} reads the rest");
                Half::Stalled
            }
        }
    }
}

impl Meet {
    fn met(&self) -> bool {
        self.list == Half::Exhausted
            || self.search == Half::Exhausted
            || matches!((self.low, self.high), (Some(l), Some(h)) if l.saturating_add(1) >= h)
    }

    fn list_goes_on(&self) -> bool {
        !self.met() && self.list == Half::Reading
    }

    fn search_goes_on(&self) -> bool {
        !self.met() && self.search == Half::Reading
    }

    /// A list page arrived (`more`: it has a next one): what of it to keep.
    fn listed(
        &mut self,
        items: Vec<SimplePublicObject>,
        more: bool,
        object: ObjectType,
    ) -> Result<Vec<SimplePublicObject>> {
        let ids = numeric_ids(&items)?;
        let last = ids.iter().max().copied();
        // The search may have read the top of this page while it was on its way.
        let high = self.high;
        let records = keep_where(items, &ids, |id| high.is_none_or(|h| id < h));
        let moved = last > self.low;
        self.low = self.low.max(last);
        self.list = Half::after_page(more, moved, object, "list", "search");
        Ok(records)
    }

    /// A search page below `high` arrived (`full`: there may be more): what of it to keep.
    fn searched(
        &mut self,
        items: Vec<SimplePublicObject>,
        high: Option<u64>,
        full: bool,
        object: ObjectType,
    ) -> Result<Vec<SimplePublicObject>> {
        let ids = numeric_ids(&items)?;
        let lowest = ids.iter().min().copied();
        if high.is_none() {
            self.top = ids.iter().max().copied();
        }
        // The list may have read the bottom of this page while it was on its way.
        let low = self.low;
        let records = keep_where(items, &ids, |id| low.is_none_or(|l| id > l));
        let moved = lowest.is_some() && high.is_none_or(|h| lowest < Some(h));
        if moved {
            self.high = lowest;
        }
        self.search = Half::after_page(full, moved, object, "search", "list");
        Ok(records)
    }
}

/// The records' HubSpot ids as numbers, to compare the two halves of a full read.
fn numeric_ids(records: &[SimplePublicObject]) -> Result<Vec<u64>> {
    records
        .iter()
        .map(|r| {
            r.id.trim().parse().map_err(|_| {
                anyhow::anyhow!(
                    "HubSpot sent a record id that is not a number ({:?}); run `hubsync pull --full` again, and report it if it repeats",
                    r.id
                )
            })
        })
        .collect()
}

/// The records whose id (`ids`, in the same order) passes `keep`.
fn keep_where(
    records: Vec<SimplePublicObject>,
    ids: &[u64],
    keep: impl Fn(u64) -> bool,
) -> Vec<SimplePublicObject> {
    records
        .into_iter()
        .zip(ids)
        .filter(|(_, &id)| keep(id))
        .map(|(r, _)| r)
        .collect()
}

impl<'a> Reader<'a> {
    pub(super) fn new(
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
            object: ObjectType::from(entity),
            search_properties,
            batch_properties,
            progress,
            stage,
            max_ts: Cell::new(None),
        }
    }

    /// The newest modification time read, epoch ms.
    pub(super) fn max_ts(&self) -> Option<i64> {
        self.max_ts.get()
    }

    /// Every record, through both of HubSpot's budgets at once: the list endpoint ascending by
    /// id (the ten-second budget) and the search descending by `hs_object_id` (the search
    /// budget), until they meet. Then the records created while they read (ids above the
    /// highest one seen), by search. When the first search page shows no more than
    /// [`LIST_FROM`] records, the search reads them alone.
    pub(super) async fn read_all(&self) -> Result<()> {
        let meet = RefCell::new(Meet::default());
        let total = self.search_step(&meet).await?;
        self.progress.set_total(total);
        if total > LIST_FROM {
            tokio::try_join!(self.list_up(&meet), self.search_down(&meet))?;
        } else {
            self.search_down(&meet).await?;
        }
        let seen = {
            let m = meet.borrow();
            m.top.max(m.low)
        };
        self.read_search(None, seen, false).await
    }

    /// The ascending half of [`Self::read_all`].
    async fn list_up(&self, meet: &RefCell<Meet>) -> Result<()> {
        let mut after: Option<String> = None;
        while meet.borrow().list_goes_on() {
            crate::sync::cancel::check()?;
            let page = objects::list_page(
                self.client,
                self.object,
                &self.search_properties,
                after.as_deref(),
                LIST_PAGE,
            )
            .await
            .with_context(|| format!("cannot read HubSpot {}", self.object))?;
            let records = meet
                .borrow_mut()
                .listed(page.items, page.next.is_some(), self.object)?;
            self.keep(self.complete(records).await?)?;
            after = page.next;
        }
        Ok(())
    }

    /// The descending half of [`Self::read_all`]: keyset pages `hs_object_id < lowest read`.
    async fn search_down(&self, meet: &RefCell<Meet>) -> Result<()> {
        while meet.borrow().search_goes_on() {
            self.search_step(meet).await?;
        }
        Ok(())
    }

    /// One page of [`Self::search_down`]; HubSpot's count of the records below the bound.
    async fn search_step(&self, meet: &RefCell<Meet>) -> Result<u64> {
        crate::sync::cancel::check()?;
        let high = meet.borrow().high;
        let filters: Vec<Filter> = high
            .map(|h| Filter::new("hs_object_id", Operator::Lt, h.to_string()))
            .into_iter()
            .collect();
        let resp = self.search_page(filters, SortDirection::Descending).await?;
        let full = resp.results.len() >= PAGE as usize && resp.paging.is_some();
        let records = meet
            .borrow_mut()
            .searched(resp.results, high, full, self.object)?;
        self.keep(self.complete(records).await?)?;
        Ok(resp.total)
    }

    /// Every record modified at or after `since` (epoch ms), or every record, with an id above
    /// `above` when given; by search, ascending by `hs_object_id`. `count` sets the progress
    /// total from the first answer.
    pub(super) async fn read_search(
        &self,
        since: Option<i64>,
        above: Option<u64>,
        count: bool,
    ) -> Result<()> {
        let mut last = above;
        let mut first = count;
        loop {
            crate::sync::cancel::check()?;
            let mut filters = Vec::new();
            if let Some(ms) = since {
                filters.push(Filter::new(
                    modified_property(self.entity),
                    Operator::Gte,
                    ms.to_string(),
                ));
            }
            if let Some(id) = last {
                filters.push(Filter::new("hs_object_id", Operator::Gt, id.to_string()));
            }
            let resp = self.search_page(filters, SortDirection::Ascending).await?;
            if first {
                self.progress.set_total(resp.total);
                first = false;
            }
            // Each page is a fresh query, so `total` counts what is left: stop when this page
            // held all of it (saves the empty last request).
            let n = resp.results.len() as u64;
            let more = n >= u64::from(PAGE) && resp.paging.is_some() && resp.total > n;
            let tail = numeric_ids(&resp.results)?.into_iter().max();
            self.keep(self.complete(resp.results).await?)?;
            // A page that does not move past the last one would repeat forever.
            if !more || tail.is_none() || tail <= last {
                break;
            }
            last = tail;
        }
        Ok(())
    }

    /// One search page: `filters`, sorted by `hs_object_id` in `direction`.
    async fn search_page(
        &self,
        filters: Vec<Filter>,
        direction: SortDirection,
    ) -> Result<SearchResponse> {
        let body = SearchRequest {
            filter_groups: if filters.is_empty() {
                Vec::new()
            } else {
                vec![FilterGroup { filters }]
            },
            sorts: vec![Sort {
                property_name: "hs_object_id".into(),
                direction,
            }],
            query: None,
            properties: self.search_properties.clone(),
            limit: PAGE,
            after: None,
        };
        search::search(self.client, self.object, &body)
            .await
            .with_context(|| format!("cannot read HubSpot {}", self.object))
    }

    /// `page` with every property pulled: as read, or read again by batch when the property
    /// list is too long for one search body.
    async fn complete(&self, page: Vec<SimplePublicObject>) -> Result<Vec<SimplePublicObject>> {
        match &self.batch_properties {
            None => Ok(page),
            Some(props) => self.batch_read(&page, props).await,
        }
    }

    pub(super) async fn batch_read(
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

    pub(super) fn keep(&self, page: Vec<SimplePublicObject>) -> Result<()> {
        for r in &page {
            if let Some(ts) = r.prop(modified_property(self.entity)).and_then(millis) {
                self.max_ts
                    .set(Some(self.max_ts.get().map_or(ts, |m| m.max(ts))));
            }
        }
        self.progress.advance(page.len() as u64);
        self.stage.put(&page)
    }
}

/// What a push plan of one record needs, to derive the base of a record linked before the
/// base existed.
pub(super) struct Echo<'a> {
    pub(super) mapping: &'a Mapping,
    pub(super) props: &'a Properties,
    /// Local organization id → HubSpot company id (contacts only).
    pub(super) companies: HashMap<String, String>,
}

impl Echo<'_> {
    /// A record pushed to `hubspot_id` by a hubsync from before the base existed, whose stored
    /// hash says HubSpot holds exactly what it would push now: those values are the base.
    pub(super) fn legacy_base<L: Local>(
        &self,
        conn: &rusqlite::Connection,
        entity: Entity,
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

impl Echo<'_> {
    /// How push would plan `record` alone, linked by `link`, with no base.
    pub(super) fn plan<L: Local>(
        &self,
        record: &L,
        link: &Link,
        f: impl FnOnce(push_plan::Page<'_>) -> Vec<PushOp>,
    ) -> PushOp {
        let links = HashMap::from([(record.id().to_owned(), link.clone())]);
        let bases = HashMap::new();
        one_op(f(push_plan::Page {
            links: &links,
            bases: &bases,
            section: self.mapping.section(L::ENTITY == Entity::Contact),
            props: self.props.of(L::ENTITY),
            opts: PlanOptions::default(),
        }))
    }
}

fn one_op(mut ops: Vec<PushOp>) -> PushOp {
    ops.pop().unwrap_or(PushOp::Skip {
        local_id: String::new(),
        reason: String::new(),
    })
}

/// What the planner needs to claim one page of HubSpot records: the links of their ids and
/// merged ids, and the local ids having each of their keys.
pub(super) fn page_index<L: Local>(
    store: &Store,
    entity: Entity,
    records: &[SimplePublicObject],
) -> Result<LocalIndex<L>> {
    let mut idx = LocalIndex::default();
    for r in records {
        for id in std::iter::once(&r.id).chain(merged_ids(r).iter()) {
            if idx.links.contains_key(id) {
                continue;
            }
            if let Some(l) = links::local_id(store.conn(), entity, id)? {
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
pub(super) async fn verify<L: Local>(
    store: &Store,
    client: &Client,
    entity: Entity,
    stage: &Stage<'_>,
) -> Result<()> {
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
                if links::local_id(store.conn(), entity, id)?.is_some() {
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
                        if entity == Entity::Organization || !keys.contains(&lk) {
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
pub(super) async fn search_context(
    client: &Client,
    entity: Entity,
    stage: &Stage<'_>,
    values: BTreeSet<String>,
) -> Result<()> {
    if values.is_empty() {
        return Ok(());
    }
    let property = match entity {
        Entity::Contact => "email",
        Entity::Organization => "name",
    };
    let object = ObjectType::from(entity);
    let props: Vec<String> = ["hs_object_id", "hs_merged_object_ids"]
        .into_iter()
        .chain(identity_properties(entity).iter().copied())
        .map(str::to_owned)
        .collect();
    let values: Vec<String> = values.into_iter().collect();
    // Keep each body well under HubSpot's 3,000 characters.
    search::any_of(client, object, property, &values, &props, 2_000, |page| {
        stage.put_context(&page)
    })
    .await
    .with_context(|| format!("cannot look up HubSpot {object} by {property}"))
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod tests;
