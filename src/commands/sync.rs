//! `hubsync sync`: the cron job — pull, `push --marked`, then every active automation, as one
//! run with one summary and the exit code of SPEC §3.

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::{block_on, Context};
use crate::cli::SyncArgs;
use crate::mapping::{Entity, Mapping};
use crate::store::{automations, runs, Mark, Store};
use crate::sync::lock::RunLock;
use crate::sync::{automations as engine, pull, push};

/// Statuses of a sync that count as done for `--if-due`.
const DONE: &[&str] = &["ok", "partial"];

pub fn run(ctx: &Context, args: &SyncArgs) -> Result<()> {
    let mapping = Mapping::load(&ctx.paths.mappings)?;
    let mut store = Store::open(&ctx.paths.db)?;
    if args.if_due {
        if let Some(next) = next_due(&store, &mapping)? {
            let msg = format!(
                "not due: the last sync was less than {} ago; next due at {}",
                mapping.file.refresh_period,
                next.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            );
            if ctx.json() {
                super::print_json(
                    &serde_json::json!({"status": "not-due", "next_due_at": next, "message": msg}),
                )?;
            } else {
                outln!("{msg}");
            }
            return Ok(());
        }
    }
    let props =
        super::map::usable_properties(&store, &mapping, &["contacts", "organizations"], "synced")?;
    let _lock = if args.dry_run {
        None
    } else {
        Some(RunLock::acquire(ctx.paths.data_dir(), "sync")?)
    };
    let mut summary = crate::sync::run::start(store.conn(), "sync", None, args.dry_run)?;
    let run_id = summary.run_id;
    let active: Vec<_> = automations::all(store.conn())?
        .into_iter()
        .filter(|a| !a.paused)
        .collect();
    let entities: Vec<Entity> = [Entity::Contact, Entity::Organization]
        .into_iter()
        .filter(|e| mapping.section(*e == Entity::Contact).enabled)
        .collect();
    let bars = super::Bars::for_terminal(ctx);
    let progress = &bars;
    let result = block_on(async {
        let client = ctx.client(mapping.file.api_version).await?;
        let pulled = pull::run(
            &mut store,
            &client,
            &mapping,
            &props,
            &pull::Options {
                entities,
                full: false,
                dry_run: args.dry_run,
                overlap: pull::DEFAULT_OVERLAP,
                parent: (!args.dry_run).then_some(run_id),
            },
            progress,
        )
        .await?;
        summary.merge_phase("pull", pulled);
        let req = push::PushRequest {
            marked: true,
            remember_selected: true,
            dry_run: args.dry_run,
            mark: Mark::Manual,
            parent: (!args.dry_run).then_some(run_id),
            ..push::PushRequest::default()
        };
        let mut pushed = push::push(&client, &store, &mapping, &props, &req, progress).await?;
        let selected = std::sync::Arc::new(std::mem::take(&mut pushed.selected));
        summary.merge_phase("push", pushed);
        let cx = engine::Engine {
            client: &client,
            store: &store,
            mapping: &mapping,
            props: &props,
            progress,
            pushed: Some(&selected),
        };
        // The automations count straight into the sync's summary: their phase is the rest.
        let before = summary.counts.clone();
        let ran = engine::run_all(&cx, &active, args.dry_run, &mut summary).await;
        let mut added = std::collections::BTreeMap::new();
        for (k, v) in &summary.counts {
            let d = v.saturating_sub(before.get(k).copied().unwrap_or(0));
            if d > 0 {
                added.insert(k.clone(), d);
            }
        }
        if !active.is_empty() {
            summary.phases.push(crate::sync::summary::Phase {
                name: "automations".into(),
                run_id: 0,
                counts: added,
            });
        }
        ran?;
        Ok(())
    });
    crate::sync::run::finish(store.conn(), &mut summary, &result)?;
    result?;
    super::print_summary(summary, ctx.json(), "sync")
}

/// When the next sync is due, if that is in the future.
fn next_due(store: &Store, mapping: &Mapping) -> Result<Option<DateTime<Utc>>> {
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
