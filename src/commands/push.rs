//! `hubsync push`: send contacts and organizations to HubSpot.

use anyhow::Result;

use super::{block_on, Context};
use crate::cli::PushArgs;
use crate::mapping::Mapping;
use crate::store::Store;
use crate::sync::lock::RunLock;
use crate::sync::push::{self, PushRequest};

pub fn run(ctx: &Context, args: &PushArgs) -> Result<()> {
    let mapping = Mapping::load(&ctx.paths.mappings)?;
    let store = Store::open(&ctx.paths.db)?;
    let props = crate::sync::properties::usable(
        &store,
        &mapping,
        &["contacts", "organizations"],
        "pushed",
    )?;
    let req = PushRequest {
        contacts: args.contact.clone(),
        organizations: args.organization.clone(),
        marked: args.marked,
        dry_run: args.dry_run,
        force: args.force,
        ..PushRequest::default()
    };
    // A dry run writes nothing, the lock file included.
    let _lock = if args.dry_run {
        None
    } else {
        Some(RunLock::acquire(ctx.paths.data_dir(), "push")?)
    };
    let bars = super::Bars::for_terminal(ctx);
    let progress = &bars;
    let version = mapping.file.api_version;
    let summary = block_on(async {
        let client = ctx.client(version).await?;
        push::push(&client, &store, &mapping, &props, &req, progress).await
    })?;
    super::print_summary(summary, ctx.json(), "push")
}
