//! The cron job's cycle (`hubsync sync`): pull, push of the marked records, then every active
//! automation, as one run whose phases are sub-runs.

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::progress::Progress;
use super::summary::{Phase, Summary};
use super::{automations as engine, pull, push};
use crate::hubspot::Client;
use crate::mapping::check::Properties;
use crate::mapping::{Entity, Mapping};
use crate::store::{automations, runs, Mark, Store};

/// Statuses of a sync that count as done for `--if-due`.
const DONE: &[&str] = &["ok", "partial"];

/// One sync: pull the enabled entities, push what is marked, run the active automations
/// (records the push already sent are not planned again). Counts go into `summary`, with a
/// phase per part; the first error stops the cycle.
pub async fn run(
    client: &Client,
    store: &mut Store,
    mapping: &Mapping,
    props: &Properties,
    dry_run: bool,
    progress: &dyn Progress,
    summary: &mut Summary,
) -> Result<()> {
    let parent = (!dry_run).then_some(summary.run_id);
    let active: Vec<_> = automations::all(store.conn())?
        .into_iter()
        .filter(|a| !a.paused)
        .collect();
    let entities: Vec<Entity> = Entity::ALL
        .into_iter()
        .filter(|e| mapping.section(*e == Entity::Contact).enabled)
        .collect();
    let opts = pull::Options {
        entities,
        full: false,
        dry_run,
        overlap: pull::DEFAULT_OVERLAP,
        parent,
    };
    let pulled = pull::run(store, client, mapping, props, &opts, progress).await?;
    summary.merge_phase("pull", pulled);
    let req = push::PushRequest {
        marked: true,
        remember_selected: true,
        dry_run,
        mark: Mark::Manual,
        parent,
        ..push::PushRequest::default()
    };
    let pushed = push::push(client, store, mapping, props, &req, progress).await?;
    summary.merge_phase("push", pushed);
    let cx = engine::Engine {
        client,
        store,
        mapping,
        props,
        progress,
        pushed: true,
    };
    // The automations count straight into the sync's summary: their phase is the rest.
    let before = summary.counts.clone();
    let ran = engine::run_all(&cx, &active, dry_run, summary).await;
    let added: BTreeMap<String, u64> = summary
        .counts
        .iter()
        .filter_map(|(k, v)| {
            let d = v.saturating_sub(before.get(k).copied().unwrap_or(0));
            (d > 0).then(|| (k.clone(), d))
        })
        .collect();
    if !active.is_empty() {
        summary.phases.push(Phase {
            name: "automations".into(),
            run_id: 0,
            counts: added,
        });
    }
    ran
}

/// When the next sync is due (`--if-due`), if that is in the future: the last finished sync's
/// start plus the mapping's `refresh_period`.
pub fn next_due(store: &Store, mapping: &Mapping) -> Result<Option<DateTime<Utc>>> {
    let Some(last) = runs::last_finished(store.conn(), "sync", DONE)? else {
        return Ok(None);
    };
    let Ok(started) = DateTime::parse_from_rfc3339(&last.started_at) else {
        return Ok(None);
    };
    let period = chrono::Duration::from_std(mapping.refresh_period())?;
    // Checked: a period too long to add is never due.
    let Some(next) = started.with_timezone(&Utc).checked_add_signed(period) else {
        return Ok(Some(DateTime::<Utc>::MAX_UTC));
    };
    Ok((next > Utc::now()).then_some(next))
}
