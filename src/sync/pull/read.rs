//! Reading: HubSpot pages into the stage, the local side of each entity, and the competing
//! records an incremental pull looks up before it claims.

use super::{
    identity_properties, millis, modified_property, CONTEXT_BATCH, PAGE, SEARCH_BODY_BUDGET,
    STAGE_PAGE,
};
use std::collections::{BTreeSet, HashMap};

use anyhow::{Context as _, Result};

use super::local::Local;
use super::plan::{hubspot_keys, merged_ids, LocalIndex, PullField};
use super::stage::{Cursor, Stage};
use crate::hubspot::models::{
    Direction as SortDirection, Filter, FilterGroup, Operator, SearchRequest, SimplePublicObject,
    Sort,
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
    /// Properties asked in the search body.
    search_properties: Vec<String>,
    /// When the property list is too long for a search body: read them with batch read.
    batch_properties: Option<Vec<String>>,
    progress: &'a dyn Progress,
    stage: &'a Stage<'a>,
    pub(super) read: u64,
    pub(super) max_ts: Option<i64>,
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
            read: 0,
            max_ts: None,
        }
    }

    /// Every record (or every record modified at or after `since`, epoch ms).
    pub(super) async fn read(&mut self, since: Option<i64>) -> Result<()> {
        let mut last: Option<String> = None;
        let mut first = true;
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

    pub(super) fn keep(&mut self, page: &[SimplePublicObject]) -> Result<()> {
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
