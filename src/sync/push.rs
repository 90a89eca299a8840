//! Data-out: send planned contacts and organizations to HubSpot.
//!
//! Organizations go first (found by link or by domain search, then batch update / create), so
//! contacts can be associated to their companies. Contacts are updated by link or upserted by
//! e-mail. Every HubSpot call is followed by one store transaction with its links, hashes,
//! marks and failures; at most three batch calls are on their way at once, so an interrupted
//! run resends at most three batches. A batch HubSpot rejects
//! as a whole is split in halves until the bad inputs are alone.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use anyhow::{Context as _, Result};
use rusqlite::Connection;
use serde_json::json;

use super::plan::{self, PlanOptions, PushItem, PushOp};
use super::summary::Summary;
use crate::error::Exit;
use crate::hubspot::models::{
    AssociationInput, Filter, FilterGroup, ObjectInput, SearchRequest, SimplePublicObject,
};
use crate::hubspot::objects::{self, BatchWrite, BATCH_LIMIT};
use crate::hubspot::{associations, search, ApiError, Client, Error, ObjectType};
use crate::mapping::check::Properties;
use crate::mapping::{Entity as MapEntity, Mapping};
use crate::store::{base, contacts, links, organizations, runs, Entity, Mark, Store};

/// The failure-log operation of push.
pub const OPERATION: &str = "push";

/// Association pairs sent per call (HubSpot takes up to 2,000).
const ASSOCIATION_BATCH: usize = associations::BATCH_LIMIT;

/// Search bodies above 3,000 characters are refused; keep the `IN` list well under it.
const SEARCH_VALUES_CHARS: usize = 2_400;

/// How often a batch create whose outcome is unknown is tried again (after checking HubSpot).
const CREATE_ATTEMPTS: u32 = 3;

/// Batch calls on their way at once. Each is committed as its answer arrives, so an
/// interrupted run resends at most this many batches.
const IN_FLIGHT: usize = 3;

/// Records read, planned and sent at a time: enough batches to keep `IN_FLIGHT` calls busy, and
/// about one association call's worth of contacts. Memory stays flat however many are selected.
const PAGE: usize = ASSOCIATION_BATCH;

/// What to push.
#[derive(Debug, Clone)]
pub struct PushRequest {
    /// Local contact ids named on the command line.
    pub contacts: Vec<String>,
    /// Local organization ids named on the command line.
    pub organizations: Vec<String>,
    /// Every marked record (and every record a previous push could not send).
    pub marked: bool,
    /// Print the plan; write nothing anywhere.
    pub dry_run: bool,
    /// Send even records whose content hash is unchanged.
    pub force: bool,
    /// How newly pushed records are marked (an existing mark is kept).
    pub mark: Mark,
    /// The `sync` run this push belongs to.
    pub parent: Option<i64>,
    /// Records an earlier push of the same run already reported (`contact:ID`,
    /// `organization:ID`): when they are unchanged, skipped or fail to format again, they are
    /// not counted or listed a second time.
    pub reported: Option<Arc<HashSet<String>>>,
    /// Return the selected records in [`Summary::selected`] (for the later steps of a `sync`).
    pub remember_selected: bool,
}

impl Default for PushRequest {
    fn default() -> Self {
        Self {
            contacts: Vec::new(),
            organizations: Vec::new(),
            marked: false,
            dry_run: false,
            force: false,
            mark: Mark::Manual,
            parent: None,
            reported: None,
            remember_selected: false,
        }
    }
}

/// Progress of one entity type. The command draws it (a bar on a terminal); the engine only
/// reports.
pub trait Progress {
    fn start(&self, what: &str, total: u64);
    fn advance(&self, n: u64);
    fn finish(&self);
}

/// No progress display.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// Run a push: plan, then send, committing after every HubSpot call. Returns the summary
/// (failures are in it; the caller turns them into exit 3). Errors that stop the run (auth,
/// daily limit) are returned after the run is recorded as interrupted.
pub async fn push(
    client: &Client,
    store: &Store,
    mapping: &Mapping,
    props: &Properties,
    req: &PushRequest,
    progress: &dyn Progress,
) -> Result<Summary> {
    let conn = store.conn();
    let run_id = if req.dry_run {
        0
    } else {
        runs::start(conn, "push", req.parent)?
    };
    let mut summary = Summary::new(run_id);
    if req.dry_run {
        summary.status = "dry-run".into();
    }
    let mut pusher = Pusher {
        client,
        conn,
        mapping,
        props,
        req,
        progress,
        run_id,
        summary: &mut summary,
        written: HashMap::new(),
        failing: HashSet::new(),
    };
    let result = pusher.run().await;
    if req.dry_run {
        return result.map(|()| summary);
    }
    match result {
        Ok(()) => {
            let status = summary.final_status();
            runs::finish(conn, run_id, status, &summary.counts, None)?;
            Ok(summary)
        }
        Err(e) => {
            summary.status = "interrupted".into();
            runs::finish(
                conn,
                run_id,
                "interrupted",
                &summary.counts,
                Some(&e.to_string()),
            )?;
            Err(e)
        }
    }
}

struct Pusher<'a> {
    client: &'a Client,
    conn: &'a Connection,
    mapping: &'a Mapping,
    props: &'a Properties,
    req: &'a PushRequest,
    progress: &'a dyn Progress,
    run_id: i64,
    summary: &'a mut Summary,
    /// Contacts of the current page written in this run that have companies to associate:
    /// local id → HubSpot id.
    written: HashMap<String, String>,
    /// `entity:id` of the records with a failure on record (loaded at the start, added to as
    /// records fail), so the failure log is only touched for them.
    failing: HashSet<String>,
}

/// Local organization id → HubSpot company id, for synced organizations. An organization
/// that shares its domain with a synced one uses that company.
pub fn company_ids(conn: &Connection) -> Result<HashMap<String, String>> {
    let linked: HashMap<String, String> = links::all(conn, Entity::Organization)?
        .into_values()
        .filter_map(|l| l.hubspot_id.map(|h| (l.local_id, h)))
        .collect();
    let mut by_domain: HashMap<String, String> = HashMap::new();
    let mut domains: Vec<(String, String)> = Vec::new();
    organizations::each(conn, |o| {
        if let Some(d) = o.domain() {
            if let Some(h) = linked.get(&o.id) {
                by_domain.entry(d.clone()).or_insert_with(|| h.clone());
            }
            domains.push((o.id, d));
        }
        Ok(())
    })?;
    let mut out = linked.clone();
    for (id, d) in domains {
        if let Some(h) = by_domain.get(&d) {
            out.entry(id).or_insert_with(|| h.clone());
        }
    }
    Ok(out)
}

/// Which batch endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Create,
    Update,
    Upsert,
}

/// A refused input: HubSpot's message.
#[derive(Debug, Clone)]
struct Refusal {
    message: String,
}

/// What one HubSpot call did, by index into the items of the round.
#[derive(Debug, Default)]
struct Part {
    /// (item, HubSpot id, created)
    written: Vec<(usize, String, bool)>,
    refused: Vec<(usize, Refusal)>,
    /// Update targets HubSpot doesn't know (deleted or merged away).
    not_found: Vec<usize>,
}

/// `contact:ID` / `organization:ID`: how a record is named in [`Summary::selected`],
/// [`PushRequest::reported`] and the set of failing records.
fn record_key(entity: Entity, id: &str) -> String {
    format!("{entity}:{id}")
}

fn entity_name(e: Entity) -> &'static str {
    match e {
        Entity::Contact => "contacts",
        Entity::Organization => "organizations",
    }
}

impl Pusher<'_> {
    async fn run(&mut self) -> Result<()> {
        for entity in [Entity::Organization, Entity::Contact] {
            for id in runs::failed_ids(self.conn, entity, OPERATION)? {
                self.failing.insert(record_key(entity, &id));
            }
        }
        let orgs = self.select(Entity::Organization, &self.req.organizations)?;
        let contacts = self.select(Entity::Contact, &self.req.contacts)?;
        if self.req.remember_selected {
            for (entity, ids) in [(Entity::Organization, &orgs), (Entity::Contact, &contacts)] {
                self.summary
                    .selected
                    .extend(ids.iter().map(|id| record_key(entity, id)));
            }
        }
        if !orgs.is_empty() {
            self.organizations(&orgs).await?;
        }
        if !contacts.is_empty() || (!self.req.dry_run && self.req.marked) {
            self.contacts(&contacts).await?;
        }
        Ok(())
    }

    /// The ids to push: those named, plus (with `--marked`) marked and previously failed ones.
    fn select(&self, entity: Entity, named: &[String]) -> Result<Vec<String>> {
        let map_entity = MapEntity::from(entity);
        let section = self.mapping.section(map_entity == MapEntity::Contacts);
        for id in named {
            let exists = match entity {
                Entity::Contact => contacts::exists(self.conn, id)?,
                Entity::Organization => organizations::exists(self.conn, id)?,
            };
            if !exists {
                return Err(Exit::Failed(format!(
                    "there is no local {entity} `{id}`; `hubsync {} list` shows them",
                    entity_name(entity)
                ))
                .into());
            }
        }
        if !named.is_empty() && !section.enabled {
            return Err(Exit::Failed(format!(
                "{} are not enabled in the mapping file; set `{}: enabled: true` there",
                entity_name(entity),
                map_entity.section()
            ))
            .into());
        }
        if !section.enabled {
            return Ok(Vec::new());
        }
        let mut ids: Vec<String> = named.to_vec();
        if self.req.marked {
            ids.extend(links::marked(self.conn, entity)?);
            ids.extend(runs::failed_ids(self.conn, entity, OPERATION)?);
        }
        ids.sort();
        ids.dedup();
        if entity == Entity::Contact {
            // Linked contacts first: their updates reach HubSpot before any upsert by e-mail,
            // as a linked contact may be giving up the e-mail an unlinked one is upserted by.
            // Between contacts sharing a primary e-mail, the linked one is therefore the one
            // sent.
            let linked = links::linked_ids(self.conn, entity)?;
            let (mut first, rest): (Vec<String>, Vec<String>) =
                ids.into_iter().partition(|id| linked.contains(id));
            first.extend(rest);
            ids = first;
        }
        Ok(ids)
    }

    // ---- bookkeeping ----

    /// Forget a record's failure, if it has one.
    fn clear_failure(&mut self, tx: &Connection, entity: Entity, local_id: &str) -> Result<()> {
        if self.failing.remove(&record_key(entity, local_id)) {
            runs::clear_failure(tx, entity, local_id, OPERATION)?;
        }
        Ok(())
    }

    fn count(&mut self, entity: Entity, what: &str, n: u64) {
        if n > 0 {
            self.summary
                .add(&format!("{}_{what}", entity_name(entity)), n);
        }
    }

    /// Record the planned outcomes that need no HubSpot call: skips, format failures,
    /// unchanged records. Returns the items to send.
    fn settle_plan(&mut self, entity: Entity, ops: Vec<PushOp>) -> Result<Vec<PushItem>> {
        let mut send = Vec::new();
        let tx = self.conn.unchecked_transaction()?;
        for op in ops {
            let again = self
                .req
                .reported
                .as_ref()
                .is_some_and(|r| r.contains(&record_key(entity, op.local_id())));
            match op {
                // A dry run can't know what the earlier push would have changed: its plan
                // already lists the record once.
                PushOp::Send(_) if again && self.req.dry_run => {}
                // HubSpot refused it moments ago in this run: not sent (or counted) twice.
                PushOp::Send(ref item)
                    if again && self.failing.contains(&record_key(entity, &item.local_id)) => {}
                PushOp::Send(item) => send.push(item),
                PushOp::Unchanged { .. } if again => {}
                PushOp::Skip { .. } if again => {}
                PushOp::Unchanged {
                    local_id,
                    base: derived,
                    ..
                } => {
                    self.count(entity, "unchanged", 1);
                    if !self.req.dry_run {
                        links::mark(&tx, entity, &local_id, &self.req.mark)?;
                        self.clear_failure(&tx, entity, &local_id)?;
                        if let Some(b) = derived {
                            base::replace(&tx, entity, &local_id, &b)?;
                        }
                    }
                }
                PushOp::Skip { local_id, reason } => {
                    self.count(entity, "skipped", 1);
                    self.summary.skip(entity.as_str(), &local_id, reason);
                }
                PushOp::Fail { .. } if again => {}
                PushOp::Fail { local_id, error } => {
                    self.count(entity, "failed", 1);
                    if !self.req.dry_run {
                        links::mark(&tx, entity, &local_id, &self.req.mark)?;
                        runs::record_failure(
                            &tx,
                            entity,
                            &local_id,
                            OPERATION,
                            &error,
                            self.run_id,
                        )?;
                        self.failing.insert(record_key(entity, &local_id));
                    }
                    self.summary.fail(entity.as_str(), &local_id, error);
                }
            }
        }
        tx.commit()?;
        Ok(send)
    }

    /// Commit what one HubSpot call did.
    fn commit(&mut self, entity: Entity, items: &[PushItem], part: &Part) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        for (i, hubspot_id, created) in &part.written {
            let item = &items[*i];
            links::record_push(
                &tx,
                entity,
                &item.local_id,
                hubspot_id,
                &item.hash,
                &self.req.mark,
            )?;
            // HubSpot now holds what was sent: the new base. An update of the linked record
            // sent only what moved (the rest already equals the base); any other write sent
            // the whole record, and HubSpot's other values are unknown.
            let partial = item.changed.is_some() && item.hubspot_id.as_ref() == Some(hubspot_id);
            if partial {
                base::set_all(&tx, entity, &item.local_id, &item.agreed(false, false))?;
            } else {
                base::replace(&tx, entity, &item.local_id, &item.agreed(true, *created))?;
            }
            self.clear_failure(&tx, entity, &item.local_id)?;
            if entity == Entity::Contact && !item.companies.is_empty() {
                self.written
                    .insert(item.local_id.clone(), hubspot_id.clone());
                links::set_pending_associations(
                    &tx,
                    &item.local_id,
                    hubspot_id,
                    &item.companies,
                    self.run_id,
                )?;
            }
        }
        for (i, refusal) in &part.refused {
            let item = &items[*i];
            links::mark(&tx, entity, &item.local_id, &self.req.mark)?;
            runs::record_failure(
                &tx,
                entity,
                &item.local_id,
                OPERATION,
                &refusal.message,
                self.run_id,
            )?;
            self.failing.insert(record_key(entity, &item.local_id));
        }
        tx.commit()
            .context("cannot save the push's progress in the store")?;
        for (_, _, created) in &part.written {
            self.count(entity, if *created { "created" } else { "updated" }, 1);
        }
        for (i, refusal) in &part.refused {
            self.count(entity, "failed", 1);
            self.summary.fail(
                entity.as_str(),
                &items[*i].local_id,
                refusal.message.clone(),
            );
        }
        self.progress
            .advance((part.written.len() + part.refused.len()) as u64);
        Ok(())
    }

    // ---- organizations ----

    async fn organizations(&mut self, ids: &[String]) -> Result<()> {
        self.progress.start("organizations", ids.len() as u64);
        let mut seen = HashMap::new();
        for page in ids.chunks(PAGE) {
            super::cancel::check()?;
            self.organization_page(&mut seen, page).await?;
        }
        self.progress.finish();
        Ok(())
    }

    /// Plan and send one page of organizations.
    async fn organization_page(
        &mut self,
        seen: &mut HashMap<String, String>,
        ids: &[String],
    ) -> Result<()> {
        let entity = Entity::Organization;
        let mut records = Vec::with_capacity(ids.len());
        for id in ids {
            records.extend(organizations::get(self.conn, id)?);
        }
        let ops = plan::plan_organizations(
            seen,
            &records,
            &links::some(self.conn, entity, ids)?,
            &base::some(self.conn, entity, ids)?,
            &self.mapping.file.organizations,
            self.props.of(MapEntity::Organizations),
            PlanOptions {
                force: self.req.force,
            },
        );
        drop(records);
        let settled = ops.iter().filter(|o| !matches!(o, PushOp::Send(_))).count();
        self.progress.advance(settled as u64);
        let mut items = self.settle_plan(entity, ops)?;

        // Unlinked organizations: find their companies by domain.
        let mut to_search: Vec<usize> = (0..items.len())
            .filter(|&i| items[i].hubspot_id.is_none())
            .collect();
        let mut to_update: Vec<usize> = (0..items.len())
            .filter(|&i| items[i].hubspot_id.is_some())
            .collect();
        let mut to_create: Vec<usize> = Vec::new();
        for _round in 0..2 {
            if !to_search.is_empty() {
                let domains: Vec<String> =
                    to_search.iter().map(|&i| items[i].key.clone()).collect();
                let found = self.search_domains(&domains).await?;
                for i in std::mem::take(&mut to_search) {
                    match found.get(&items[i].key) {
                        Some(companies) => {
                            let chosen = oldest(companies);
                            if companies.len() > 1 {
                                let ids: Vec<&str> =
                                    companies.iter().map(|c| c.id.as_str()).collect();
                                self.summary.conflicts.push(json!({
                                    "entity": "organization",
                                    "id": items[i].local_id,
                                    "message": format!(
                                        "organization {}: HubSpot has {} companies with domain {} ({}); pushed to the oldest, {}",
                                        items[i].local_id, companies.len(), items[i].key, ids.join(", "), chosen
                                    ),
                                }));
                            }
                            items[i].hubspot_id = Some(chosen);
                            to_update.push(i);
                        }
                        None => to_create.push(i),
                    }
                }
            }
            if to_update.is_empty() {
                break;
            }
            let batch = std::mem::take(&mut to_update);
            let lost = self
                .write_all(entity, ObjectType::Companies, Op::Update, &items, &batch)
                .await?;
            // Companies deleted or merged away in HubSpot: look them up by domain again.
            for i in lost {
                items[i].hubspot_id = None;
                to_search.push(i);
            }
            if to_search.is_empty() {
                break;
            }
        }
        to_create.append(&mut to_search);
        if !to_create.is_empty() {
            self.write_all(
                entity,
                ObjectType::Companies,
                Op::Create,
                &items,
                &to_create,
            )
            .await?;
        }
        Ok(())
    }

    /// Companies by domain (`domain IN [...]`, chunked to HubSpot's body limit).
    async fn search_domains(&self, domains: &[String]) -> Result<HashMap<String, Vec<Found>>> {
        let mut out: HashMap<String, Vec<Found>> = HashMap::new();
        let wanted: HashSet<&str> = domains.iter().map(String::as_str).collect();
        for chunk in chunk_by_chars(domains, BATCH_LIMIT, SEARCH_VALUES_CHARS) {
            let mut after: Option<String> = None;
            loop {
                let body = SearchRequest {
                    filter_groups: vec![FilterGroup {
                        filters: vec![Filter::any_of("domain", chunk.clone())],
                    }],
                    properties: vec!["domain".into(), "createdate".into(), "name".into()],
                    limit: 200,
                    after: after.clone(),
                    ..SearchRequest::default()
                };
                let page = search::search(self.client, ObjectType::Companies, &body).await?;
                for r in page.results {
                    let Some(domain) = r.prop("domain").and_then(crate::model::normalize_domain)
                    else {
                        continue;
                    };
                    if wanted.contains(domain.as_str()) {
                        out.entry(domain).or_default().push(Found::from(&r));
                    }
                }
                match page.paging.and_then(|p| p.next).map(|n| n.after) {
                    Some(a) if Some(&a) != after.as_ref() => after = Some(a),
                    _ => break,
                }
            }
        }
        Ok(out)
    }

    // ---- contacts ----

    async fn contacts(&mut self, ids: &[String]) -> Result<()> {
        let mut pending: Vec<(String, String, Vec<String>)> = if self.req.dry_run {
            Vec::new()
        } else {
            links::pending_associations(self.conn)?
        };
        if ids.is_empty() && pending.is_empty() {
            return Ok(());
        }
        let companies = company_ids(self.conn)?;
        self.progress.start("contacts", ids.len() as u64);
        // Associations a previous run wrote the contacts for but not the associations.
        self.flush_associations(&mut pending, 1).await?;
        let mut seen = HashMap::new();
        for page in ids.chunks(PAGE) {
            super::cancel::check()?;
            self.contact_page(&mut seen, &companies, page, &mut pending)
                .await?;
        }
        self.flush_associations(&mut pending, 1).await?;
        self.progress.finish();
        Ok(())
    }

    /// Plan and send one page of contacts: updates of linked ones, then upserts by e-mail.
    async fn contact_page(
        &mut self,
        seen: &mut HashMap<String, String>,
        companies: &HashMap<String, String>,
        ids: &[String],
        pending: &mut Vec<(String, String, Vec<String>)>,
    ) -> Result<()> {
        let entity = Entity::Contact;
        let mut records = Vec::with_capacity(ids.len());
        for id in ids {
            records.extend(contacts::get(self.conn, id)?);
        }
        let ops = plan::plan_contacts(
            seen,
            &records,
            &links::some(self.conn, entity, ids)?,
            &base::some(self.conn, entity, ids)?,
            &self.mapping.file.contacts,
            self.props.of(MapEntity::Contacts),
            companies,
            PlanOptions {
                force: self.req.force,
            },
        );
        drop(records);
        let settled = ops.iter().filter(|o| !matches!(o, PushOp::Send(_))).count();
        self.progress.advance(settled as u64);
        let items = self.settle_plan(entity, ops)?;
        let linked: Vec<usize> = (0..items.len())
            .filter(|&i| items[i].hubspot_id.is_some())
            .collect();
        let mut unlinked: Vec<usize> = (0..items.len())
            .filter(|&i| items[i].hubspot_id.is_none())
            .collect();
        if self.req.dry_run {
            self.write_all(entity, ObjectType::Contacts, Op::Update, &items, &linked)
                .await?;
            self.write_all(entity, ObjectType::Contacts, Op::Upsert, &items, &unlinked)
                .await?;
            return Ok(());
        }
        let lost = self
            .write_all(entity, ObjectType::Contacts, Op::Update, &items, &linked)
            .await?;
        unlinked.extend(lost);
        self.queue_associations(&items, &linked, pending);
        self.flush_associations(pending, ASSOCIATION_BATCH).await?;
        self.write_all(entity, ObjectType::Contacts, Op::Upsert, &items, &unlinked)
            .await?;
        self.queue_associations(&items, &unlinked, pending);
        self.written.clear();
        self.flush_associations(pending, ASSOCIATION_BATCH).await?;
        Ok(())
    }

    /// Queue the associations of the contacts of `chunk` that were written in this run.
    fn queue_associations(
        &mut self,
        items: &[PushItem],
        chunk: &[usize],
        pending: &mut Vec<(String, String, Vec<String>)>,
    ) {
        let queued: HashSet<String> = pending.iter().map(|p| p.0.clone()).collect();
        for &i in chunk {
            let item = &items[i];
            if item.companies.is_empty() || queued.contains(&item.local_id) {
                continue;
            }
            if let Some(h) = self.written.remove(&item.local_id) {
                pending.push((item.local_id.clone(), h, item.companies.clone()));
            }
        }
    }

    /// Send queued associations once at least `min_pairs` are waiting.
    async fn flush_associations(
        &mut self,
        pending: &mut Vec<(String, String, Vec<String>)>,
        min_pairs: usize,
    ) -> Result<()> {
        let pairs: usize = pending.iter().map(|p| p.2.len()).sum();
        if pairs == 0 || pairs < min_pairs {
            return Ok(());
        }
        // Fill calls with up to ASSOCIATION_BATCH pairs, whole contacts per call.
        let mut start = 0;
        while start < pending.len() {
            let mut end = start;
            let mut n = 0;
            while end < pending.len() && (n == 0 || n + pending[end].2.len() <= ASSOCIATION_BATCH) {
                n += pending[end].2.len();
                end += 1;
            }
            let group = &pending[start..end];
            let inputs: Vec<AssociationInput> = group
                .iter()
                .flat_map(|(_, contact, companies)| {
                    companies
                        .iter()
                        .map(move |c| AssociationInput::new(contact, c))
                })
                .collect();
            let answer = associations::associate_default(
                self.client,
                ObjectType::Contacts,
                ObjectType::Companies,
                &inputs,
            )
            .await;
            let mut failed: HashMap<String, String> = HashMap::new();
            match answer {
                Ok(resp) => {
                    for e in &resp.errors {
                        for id in e.ids() {
                            failed.insert(id.to_owned(), e.message.clone());
                        }
                        if e.ids().is_empty() {
                            tracing::warn!(error = %e.message, "HubSpot refused some associations");
                        }
                    }
                }
                Err(Error::Api(e)) if (400..500).contains(&e.status) => {
                    for (_, contact, _) in group {
                        failed.insert(contact.clone(), e.message.clone());
                    }
                }
                Err(e) => return Err(e.into()),
            }
            let tx = self.conn.unchecked_transaction()?;
            let mut done = 0u64;
            for (local, contact, companies) in group {
                let problem = failed
                    .get(contact)
                    .or_else(|| companies.iter().find_map(|c| failed.get(c)));
                if let Some(message) = problem {
                    let message = format!("associating to its companies failed: {message}");
                    links::forget_hash(&tx, Entity::Contact, local)?;
                    base::forget(&tx, Entity::Contact, local, base::COMPANIES)?;
                    runs::record_failure(
                        &tx,
                        Entity::Contact,
                        local,
                        OPERATION,
                        &message,
                        self.run_id,
                    )?;
                    self.failing.insert(record_key(Entity::Contact, local));
                    self.summary.fail("contact", local, message);
                    self.count(Entity::Contact, "failed", 1);
                } else {
                    done += companies.len() as u64;
                }
                links::clear_pending_associations(&tx, local)?;
            }
            tx.commit()?;
            self.summary.add("associations", done);
            start = end;
        }
        pending.clear();
        Ok(())
    }

    // ---- the batch writer ----

    /// Write `which` items with `op` in batches of ≤100, splitting rejected batches, committing
    /// after every call. In a dry run, read HubSpot's current values and record the plan.
    /// Returns the items whose update target no longer exists.
    async fn write_all(
        &mut self,
        entity: Entity,
        t: ObjectType,
        op: Op,
        items: &[PushItem],
        which: &[usize],
    ) -> Result<Vec<usize>> {
        if which.is_empty() {
            return Ok(Vec::new());
        }
        if self.req.dry_run {
            self.plan_entries(entity, t, op, items, which).await?;
            return Ok(Vec::new());
        }
        let mut lost = Vec::new();
        // (item indices, attempts of an ambiguous create)
        let mut stack: Vec<(Vec<usize>, u32)> = which
            .chunks(BATCH_LIMIT)
            .rev()
            .map(|c| (c.to_vec(), 0))
            .collect();
        let client = self.client;
        let mut in_flight: Vec<InFlight<'_>> = Vec::with_capacity(IN_FLIGHT);
        loop {
            // Stopping: send nothing new; the calls on their way still commit their answers.
            while in_flight.len() < IN_FLIGHT && !super::cancel::requested() {
                let Some((idxs, attempts)) = stack.pop() else {
                    break;
                };
                let inputs: Vec<ObjectInput> = idxs.iter().map(|&i| input(op, &items[i])).collect();
                in_flight.push(Box::pin(async move {
                    let answer = match op {
                        Op::Create => objects::batch_create(client, t, &inputs).await,
                        Op::Update => objects::batch_update(client, t, &inputs).await,
                        Op::Upsert => objects::batch_upsert(client, t, &inputs).await,
                    };
                    Sent {
                        idxs,
                        attempts,
                        inputs,
                        answer,
                    }
                }));
            }
            if in_flight.is_empty() {
                if !stack.is_empty() {
                    return Err(super::cancel::interrupted());
                }
                break;
            }
            let Sent {
                idxs,
                attempts,
                inputs,
                answer,
            } = next_done(&mut in_flight).await;
            let answer = match answer {
                Ok(a) => a,
                Err(e) if op == Op::Create && ambiguous(&e) && attempts + 1 < CREATE_ATTEMPTS => {
                    // HubSpot may have created some: look before creating again.
                    tracing::warn!(error = %e, "batch create outcome unknown; checking HubSpot before trying again");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    let domains: Vec<String> = idxs.iter().map(|&i| items[i].key.clone()).collect();
                    let found = self.search_domains(&domains).await?;
                    let mut part = Part::default();
                    let mut again = Vec::new();
                    for &i in &idxs {
                        match found.get(&items[i].key) {
                            Some(c) => part.written.push((i, oldest(c), true)),
                            None => again.push(i),
                        }
                    }
                    self.commit(entity, items, &part)?;
                    if !again.is_empty() {
                        stack.push((again, attempts + 1));
                    }
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            match answer {
                BatchWrite::Rejected(e) if idxs.len() > 1 => {
                    tracing::info!(size = idxs.len(), error = %e.message, "HubSpot rejected a batch; splitting it to find the bad inputs");
                    let (a, b) = idxs.split_at(idxs.len() / 2);
                    stack.push((b.to_vec(), attempts));
                    stack.push((a.to_vec(), attempts));
                }
                BatchWrite::Rejected(e) => {
                    let i = idxs[0];
                    let existing = existing_id(&e);
                    match (entity, existing) {
                        (Entity::Contact, Some(id)) => {
                            // The e-mail belongs to contact `id` (maybe as an additional
                            // e-mail): that is this contact.
                            self.resolve_existing(items, i, &id).await?;
                        }
                        _ => {
                            let part = Part {
                                refused: vec![(i, refusal(&e))],
                                ..Part::default()
                            };
                            self.commit(entity, items, &part)?;
                        }
                    }
                }
                BatchWrite::Done {
                    results, errors, ..
                } => {
                    let part = match_results(op, items, &idxs, &inputs, &results, &errors);
                    lost.extend(part.not_found.iter().copied());
                    self.commit(entity, items, &part)?;
                }
            }
        }
        Ok(lost)
    }

    /// A contact whose e-mail HubSpot already has on contact `id`: update that one by id.
    async fn resolve_existing(&mut self, items: &[PushItem], i: usize, id: &str) -> Result<()> {
        let item = &items[i];
        let mut properties = item.properties.clone();
        properties.remove("email");
        let input = ObjectInput {
            id: Some(id.to_owned()),
            properties,
            ..ObjectInput::default()
        };
        let answer = objects::batch_update(
            self.client,
            ObjectType::Contacts,
            std::slice::from_ref(&input),
        )
        .await?;
        let part = match &answer {
            BatchWrite::Done { results, .. } if results.iter().any(|r| r.id == id) => Part {
                written: vec![(i, id.to_owned(), false)],
                ..Part::default()
            },
            other => Part {
                refused: vec![(
                    i,
                    Refusal {
                        message: other.error_messages().join("; "),
                    },
                )],
                ..Part::default()
            },
        };
        self.commit(Entity::Contact, items, &part)
    }

    /// Dry run: what each item would do, with HubSpot's current values when it exists.
    async fn plan_entries(
        &mut self,
        entity: Entity,
        t: ObjectType,
        op: Op,
        items: &[PushItem],
        which: &[usize],
    ) -> Result<()> {
        let mut current: HashMap<usize, SimplePublicObject> = HashMap::new();
        if op != Op::Create {
            let prop_names: Vec<String> = {
                let mut s: Vec<String> = which
                    .iter()
                    .flat_map(|&i| items[i].properties.keys().cloned())
                    .collect::<HashSet<_>>()
                    .into_iter()
                    .collect();
                s.push("hs_additional_emails".into());
                s.sort();
                s
            };
            for chunk in which.chunks(BATCH_LIMIT) {
                let (ids, id_property): (Vec<String>, Option<&str>) = match op {
                    Op::Upsert => (
                        chunk.iter().map(|&i| items[i].key.clone()).collect(),
                        Some("email"),
                    ),
                    _ => (
                        chunk
                            .iter()
                            .map(|&i| items[i].hubspot_id.clone().unwrap_or_default())
                            .collect(),
                        None,
                    ),
                };
                let resp =
                    objects::batch_read(self.client, t, &ids, &prop_names, id_property).await?;
                for r in resp.results {
                    let hit = chunk.iter().copied().find(|&i| match op {
                        Op::Upsert => has_email(&r, &items[i].key),
                        _ => items[i].hubspot_id.as_deref() == Some(r.id.as_str()),
                    });
                    if let Some(i) = hit {
                        current.insert(i, r);
                    }
                }
            }
        }
        for &i in which {
            let item = &items[i];
            let (action, hubspot_id, changes) = match current.get(&i) {
                Some(r) => (
                    "update",
                    Some(r.id.clone()),
                    plan::diff(
                        &if op == Op::Update {
                            item.update_properties()
                        } else {
                            item.properties.clone()
                        },
                        &r.properties,
                    ),
                ),
                None => (
                    "create",
                    None,
                    plan::diff(&item.properties, &BTreeMap::new()),
                ),
            };
            self.count(entity, &format!("to_{action}"), 1);
            self.summary.plan.push(json!({
                "entity": entity.as_str(),
                "id": item.local_id,
                "action": action,
                "hubspot_id": hubspot_id,
                "changes": changes,
                "companies": item.companies,
            }));
        }
        self.progress.advance(which.len() as u64);
        Ok(())
    }
}

/// A batch call and what HubSpot answered.
struct Sent {
    idxs: Vec<usize>,
    attempts: u32,
    inputs: Vec<ObjectInput>,
    answer: Result<BatchWrite, Error>,
}

/// A batch call on its way.
type InFlight<'c> = Pin<Box<dyn Future<Output = Sent> + Send + 'c>>;

/// The first of the calls on their way to finish, taken out of `calls` (which is not empty).
async fn next_done(calls: &mut Vec<InFlight<'_>>) -> Sent {
    std::future::poll_fn(|cx| {
        for k in 0..calls.len() {
            if let Poll::Ready(sent) = calls[k].as_mut().poll(cx) {
                drop(calls.remove(k));
                return Poll::Ready(sent);
            }
        }
        Poll::Pending
    })
    .await
}

/// The batch input for an item.
fn input(op: Op, item: &PushItem) -> ObjectInput {
    match op {
        Op::Create => ObjectInput {
            properties: item.properties.clone(),
            // Unique per input: HubSpot then reports failures per input (207).
            object_write_trace_id: Some(item.local_id.clone()),
            associations: Some(Vec::new()),
            ..ObjectInput::default()
        },
        Op::Update => ObjectInput {
            id: item.hubspot_id.clone(),
            properties: item.update_properties(),
            ..ObjectInput::default()
        },
        Op::Upsert => {
            let mut properties = item.properties.clone();
            // The key travels as the id; a found contact keeps its primary e-mail.
            properties.remove("email");
            ObjectInput {
                id: Some(item.key.clone()),
                id_property: Some("email".into()),
                properties,
                ..ObjectInput::default()
            }
        }
    }
}

fn has_email(r: &SimplePublicObject, email: &str) -> bool {
    r.prop("email")
        .is_some_and(|e| e.eq_ignore_ascii_case(email))
        || r.prop("hs_additional_emails")
            .is_some_and(|all| all.split(';').any(|e| e.trim().eq_ignore_ascii_case(email)))
}

/// Which result belongs to which input, and which inputs HubSpot refused.
fn match_results(
    op: Op,
    items: &[PushItem],
    idxs: &[usize],
    inputs: &[ObjectInput],
    results: &[SimplePublicObject],
    errors: &[crate::hubspot::models::StandardError],
) -> Part {
    let mut part = Part::default();
    let mut refused: HashSet<usize> = HashSet::new();
    for (pos, input) in inputs.iter().enumerate() {
        let hit = errors.iter().find(|e| {
            input
                .object_write_trace_id
                .as_deref()
                .is_some_and(|t| e.trace_ids().contains(&t))
                || input
                    .id
                    .as_deref()
                    .is_some_and(|id| e.ids().iter().any(|x| x.eq_ignore_ascii_case(id)))
        });
        if let Some(e) = hit {
            refused.insert(pos);
            if op == Op::Update && e.category.as_deref() == Some("OBJECT_NOT_FOUND") {
                part.not_found.push(idxs[pos]);
            } else {
                part.refused.push((
                    idxs[pos],
                    Refusal {
                        message: e.message.clone(),
                    },
                ));
            }
        }
    }
    let mut used = vec![false; results.len()];
    let mut unmatched = Vec::new();
    for (pos, &i) in idxs.iter().enumerate() {
        if refused.contains(&pos) {
            continue;
        }
        let item = &items[i];
        let found = results.iter().enumerate().position(|(k, r)| {
            !used[k]
                && match op {
                    Op::Update => item.hubspot_id.as_deref() == Some(r.id.as_str()),
                    Op::Upsert => has_email(r, &item.key),
                    Op::Create => r
                        .prop("domain")
                        .and_then(crate::model::normalize_domain)
                        .is_some_and(|d| d == item.key),
                }
        });
        match found {
            Some(k) => {
                used[k] = true;
                let created = match op {
                    Op::Create => true,
                    Op::Update => false,
                    Op::Upsert => results[k].new.unwrap_or(false),
                };
                part.written.push((i, results[k].id.clone(), created));
            }
            None => unmatched.push(i),
        }
    }
    // Results HubSpot returned in a shape we could not match: pair them in order.
    let mut rest = results
        .iter()
        .enumerate()
        .filter(|(k, _)| !used[*k])
        .map(|(_, r)| r);
    for i in unmatched {
        match rest.next() {
            Some(r) => part
                .written
                .push((i, r.id.clone(), op == Op::Create || r.new == Some(true))),
            None => part.refused.push((
                i,
                Refusal {
                    message: "HubSpot did not return this record in its answer; it is sent again by the next run".into(),
                },
            )),
        }
    }
    part
}

fn refusal(e: &ApiError) -> Refusal {
    let detail: Vec<&str> = e
        .errors
        .iter()
        .map(|d| d.message.as_str())
        .filter(|m| !m.is_empty())
        .collect();
    let message = if detail.is_empty() || e.message.contains(detail[0]) {
        e.message.clone()
    } else {
        format!("{} ({})", e.message, detail.join("; "))
    };
    Refusal { message }
}

/// `Contact already exists. Existing ID: 123` → `123`.
fn existing_id(e: &ApiError) -> Option<String> {
    if e.status != 409 {
        return None;
    }
    let at = e.message.find("Existing ID:")?;
    let digits: String = e.message[at + "Existing ID:".len()..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (!digits.is_empty()).then_some(digits)
}

/// An error after which HubSpot may or may not have done the write.
fn ambiguous(e: &Error) -> bool {
    match e {
        Error::Api(a) => a.status >= 500,
        Error::Stop(Exit::TryLater(_)) => true,
        _ => false,
    }
}

/// A company found by domain.
#[derive(Debug, Clone)]
struct Found {
    id: String,
    created: Option<String>,
}

impl From<&SimplePublicObject> for Found {
    fn from(r: &SimplePublicObject) -> Self {
        Found {
            id: r.id.clone(),
            created: r
                .prop("createdate")
                .map(str::to_owned)
                .or_else(|| r.created_at.clone()),
        }
    }
}

/// The oldest company: earliest creation time, then lowest id.
fn oldest(found: &[Found]) -> String {
    found
        .iter()
        .min_by(|a, b| {
            let ta = a.created.as_deref().and_then(parse_time);
            let tb = b.created.as_deref().and_then(parse_time);
            let ia = a.id.parse::<u64>().unwrap_or(u64::MAX);
            let ib = b.id.parse::<u64>().unwrap_or(u64::MAX);
            match (ta, tb) {
                (Some(x), Some(y)) if x != y => x.cmp(&y),
                _ => ia.cmp(&ib),
            }
        })
        .map(|f| f.id.clone())
        .unwrap_or_default()
}

fn parse_time(s: &str) -> Option<i64> {
    if let Ok(ms) = s.parse::<i64>() {
        return Some(ms);
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.timestamp_millis())
}

/// Split values into groups of at most `max` values and `chars` characters (JSON-quoted).
fn chunk_by_chars(values: &[String], max: usize, chars: usize) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut cur: Vec<String> = Vec::new();
    let mut len = 0;
    for v in values {
        let cost = v.len() + 3;
        if !cur.is_empty() && (cur.len() >= max || len + cost > chars) {
            out.push(std::mem::take(&mut cur));
            len = 0;
        }
        len += cost;
        cur.push(v.clone());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_existing_contact_id_is_read_from_a_409() {
        let e = |status: u16, message: &str| ApiError {
            status,
            message: message.into(),
            ..ApiError::default()
        };
        assert_eq!(
            existing_id(&e(409, "Contact already exists. Existing ID: 37765128953")),
            Some("37765128953".into())
        );
        assert_eq!(existing_id(&e(409, "Duplicate email in batch input")), None);
        assert_eq!(existing_id(&e(400, "Existing ID: 5")), None);
    }

    #[test]
    fn search_values_are_chunked_by_count_and_size() {
        let values: Vec<String> = (0..250).map(|i| format!("d{i:03}.example")).collect();
        let chunks = chunk_by_chars(&values, 100, 2_400);
        assert!(chunks.iter().all(|c| c.len() <= 100));
        assert!(chunks
            .iter()
            .all(|c| c.iter().map(|v| v.len() + 3).sum::<usize>() <= 2_400));
        assert_eq!(chunks.concat(), values);
    }

    #[test]
    fn the_oldest_company_wins() {
        let f = |id: &str, at: Option<&str>| Found {
            id: id.into(),
            created: at.map(Into::into),
        };
        assert_eq!(
            oldest(&[
                f("30", Some("2024-01-02T00:00:00Z")),
                f("40", Some("2023-01-02T00:00:00Z"))
            ]),
            "40"
        );
        assert_eq!(oldest(&[f("30", None), f("4", None)]), "4");
    }
}
