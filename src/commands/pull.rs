//! `hubsync pull`: data-in for the entities enabled in the mapping file.

use std::time::Duration;

use anyhow::Result;

use super::{block_on, Context};
use crate::cli::{EntityKind, PullArgs};
use crate::mapping::{Entity, Mapping};
use crate::store::Store;
use crate::sync::lock::RunLock;
use crate::sync::pull::{self, Options};

pub fn run(ctx: &Context, args: &PullArgs) -> Result<()> {
    let mapping = Mapping::load(&ctx.paths.mappings)?;
    let entities = entities(&mapping, args.entity)?;
    let _lock = if args.dry_run {
        None
    } else {
        Some(RunLock::acquire(ctx.paths.data_dir(), "pull")?)
    };
    let mut store = Store::open(&ctx.paths.db)?;
    let sections: Vec<&str> = entities.iter().map(|e| e.section()).collect();
    let props = crate::sync::properties::usable(&store, &mapping, &sections, "pulled")?;
    let opts = Options {
        entities,
        full: args.full,
        dry_run: args.dry_run,
        overlap: Duration::from_secs(args.overlap),
        parent: None,
    };
    let version = mapping.file.api_version;
    let summary = block_on(async {
        let client = ctx.client(version).await?;
        let bars = super::Bars::for_terminal(ctx);
        let progress = &bars;
        pull::run(&mut store, &client, &mapping, &props, &opts, progress).await
    })?;
    super::print_summary(summary, ctx.json(), "pull")
}

/// The entities to pull: the one asked for (it must be enabled), or every enabled one.
fn entities(mapping: &Mapping, asked: Option<EntityKind>) -> Result<Vec<Entity>> {
    let enabled = |e: Entity| mapping.section(e == Entity::Contact).enabled;
    let all = [Entity::Contact, Entity::Organization];
    let out: Vec<Entity> = match asked {
        Some(kind) => {
            let e = Entity::from(kind);
            if !enabled(e) {
                anyhow::bail!(
                    "{} are not enabled in the mapping file; set `{}: enabled: true` in {}",
                    e.section(),
                    e.section(),
                    "the mapping file"
                );
            }
            vec![e]
        }
        None => all.into_iter().filter(|e| enabled(*e)).collect(),
    };
    if out.is_empty() {
        anyhow::bail!(
            "neither contacts nor organizations are enabled in the mapping file; set `enabled: true` in a section"
        );
    }
    Ok(out)
}
