//! `hubsync sync`: the cron job — pull, `push --marked`, then every active automation, as one
//! run with one summary and the exit code of SPEC §3 (the cycle is `sync::cycle`).

use anyhow::Result;

use super::{block_on, Context};
use crate::cli::SyncArgs;
use crate::mapping::Mapping;
use crate::store::Store;
use crate::sync::cycle;
use crate::sync::lock::RunLock;

pub fn run(ctx: &Context, args: &SyncArgs) -> Result<()> {
    let mapping = Mapping::load(&ctx.paths.mappings)?;
    let mut store = Store::open(&ctx.paths.db)?;
    if args.if_due {
        if let Some(next) = cycle::next_due(&store, &mapping)? {
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
    let props = crate::sync::properties::usable(
        &store,
        &mapping,
        &["contacts", "organizations"],
        "synced",
    )?;
    let _lock = if args.dry_run {
        None
    } else {
        Some(RunLock::acquire(ctx.paths.data_dir(), "sync")?)
    };
    let mut summary = crate::sync::run::start(store.conn(), "sync", None, args.dry_run)?;
    let bars = super::Bars::for_terminal(ctx);
    let result = block_on(async {
        let client = ctx.client(mapping.file.api_version).await?;
        let run = cycle::run(
            &client,
            &mut store,
            &mapping,
            &props,
            args.dry_run,
            &bars,
            &mut summary,
        );
        run.await
    });
    crate::sync::run::finish(store.conn(), &mut summary, &result)?;
    result?;
    super::print_summary(summary, ctx.json(), "sync")
}
