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
use std::task::Poll;
use std::time::Duration;

use anyhow::{Context as _, Result};
use rusqlite::Connection;

mod send_contacts;
mod send_organizations;
mod writer;

use super::plan::{self, PlanOptions, PushItem, PushOp};
use super::summary::Summary;
use crate::error::Exit;
use crate::hubspot::models::{AssociationInput, ObjectInput, SimplePublicObject};
use crate::hubspot::objects::{self, BatchWrite, BATCH_LIMIT};
use crate::hubspot::{associations, search, ApiError, Client, Error, ObjectType};
use crate::mapping::check::Properties;
use crate::mapping::Mapping;
use crate::store::{base, contacts, links, organizations, runs, selection, Entity, Mark, Store};

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
    /// Records an earlier push of the same run reported (`store::selection::reported`): when
    /// they are unchanged, skipped or fail to format again, they are not counted or listed a
    /// second time.
    pub reported: bool,
    /// Start the run's reported set with this push's selection (for the later steps of a
    /// `sync`).
    pub remember_selected: bool,
    /// Also every record the automation being run matched (`store::automations::matches`).
    pub automation_matches: bool,
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
            reported: false,
            remember_selected: false,
            automation_matches: false,
        }
    }
}

pub use super::progress::{NoProgress, Progress};

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
    let mut summary = crate::sync::run::start(conn, "push", req.parent, req.dry_run)?;
    let run_id = summary.run_id;
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
    crate::sync::run::finish(conn, &mut summary, &result)?;
    result.map(|()| summary)
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
use crate::hubspot::objects::Write as Op;

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

/// `contact:ID` / `organization:ID`: how a record is named in the set of failing records.
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
    /// Load the links and bases of a page of `entity` records and plan it with `f`.
    fn plan_page<R>(
        &self,
        entity: Entity,
        ids: &[String],
        f: impl FnOnce(plan::Page<'_>) -> R,
    ) -> Result<R> {
        let links = links::some(self.conn, entity, ids)?;
        let bases = base::some(self.conn, entity, ids)?;
        Ok(f(plan::Page {
            links: &links,
            bases: &bases,
            section: self.mapping.section(entity == Entity::Contact),
            props: self.props.of(entity),
            opts: PlanOptions {
                force: self.req.force,
            },
        }))
    }

    async fn run(&mut self) -> Result<()> {
        for entity in [Entity::Organization, Entity::Contact] {
            for id in runs::failed_ids(self.conn, entity, OPERATION)? {
                self.failing.insert(record_key(entity, &id));
            }
        }
        selection::reset(self.conn)?;
        if self.req.remember_selected {
            selection::reset_reported(self.conn)?;
        }
        let orgs = self.select(Entity::Organization, &self.req.organizations)?;
        let contacts = self.select(Entity::Contact, &self.req.contacts)?;
        if self.req.remember_selected {
            selection::report_all(self.conn)?;
        }
        if orgs > 0 {
            self.organizations(orgs).await?;
        }
        if contacts > 0 || (!self.req.dry_run && self.req.marked) {
            self.contacts(contacts).await?;
        }
        Ok(())
    }

    /// Select the records to push: those named, plus (with `--marked`) marked and previously
    /// failed ones, plus an automation's matches, numbered in sending order in `store::selection`. Returns how many.
    fn select(&self, entity: Entity, named: &[String]) -> Result<u64> {
        let section = self.mapping.section(entity == Entity::Contact);
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
                entity.section()
            ))
            .into());
        }
        if !section.enabled {
            return Ok(0);
        }
        selection::add(self.conn, entity, named.iter().map(String::as_str))?;
        if self.req.marked {
            selection::add_marked_and_failed(self.conn, entity, OPERATION)?;
        }
        if self.req.automation_matches {
            selection::add_automation_matches(self.conn, entity)?;
        }
        // Linked records first: their updates reach HubSpot before any upsert by e-mail, as a
        // linked contact may be giving up the e-mail an unlinked one is upserted by. Between
        // contacts sharing a primary e-mail, the linked one is therefore the one sent.
        selection::number(self.conn, entity)
    }

    /// The selection of `entity`, a page at a time, in sending order; `None` after the last
    /// page, or an error once Ctrl-C asked to stop.
    fn next_page(&self, entity: Entity, after: &mut i64) -> Result<Option<Vec<String>>> {
        crate::sync::cancel::check()?;
        let (ids, last) = selection::page(self.conn, entity, *after, PAGE)?;
        *after = last;
        Ok((!ids.is_empty()).then_some(ids))
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
            let again = self.req.reported && selection::reported(self.conn, entity, op.local_id())?;
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
            base::replace(
                &tx,
                entity,
                &item.local_id,
                &item.agreed(!partial, *created && !partial),
            )?;
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
}
