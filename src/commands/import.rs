//! `hubsync import contacts|organizations FILE [--format json|ndjson|csv]`.

use std::io::{BufRead, BufReader};
use std::path::Path;

use anyhow::{Context as _, Result};

use super::Context;
use crate::cli::{ImportArgs, ImportFormat};
use crate::import::{self, Entity, Format};
use crate::mapping::Mapping;
use crate::store::Store;
use crate::sync::lock::RunLock;

pub fn run(ctx: &Context, args: &ImportArgs) -> Result<()> {
    let stdin = args.file == Path::new("-");
    let format = match (args.format, stdin) {
        (Some(f), _) => match f {
            ImportFormat::Json => Format::Json,
            ImportFormat::Ndjson => Format::Ndjson,
            ImportFormat::Csv => Format::Csv,
        },
        (None, true) => anyhow::bail!("reading stdin needs --format json, ndjson or csv"),
        (None, false) => Format::from_path(&args.file).with_context(|| {
            format!(
                "cannot tell the format of {} from its extension (.json, .ndjson, .jsonl, .csv); pass --format json, ndjson or csv",
                args.file.display()
            )
        })?,
    };
    let kind = Entity::from(args.entity);
    // Declared attribute types come from the mapping file; import works without one.
    let mapping = Mapping::load_optional(&ctx.paths.mappings)?;
    let attributes = mapping
        .map(|m| m.file.contacts.attributes)
        .unwrap_or_default();

    let mut input: Box<dyn BufRead> = if stdin {
        Box::new(BufReader::with_capacity(1 << 18, std::io::stdin().lock()))
    } else {
        let file = std::fs::File::open(&args.file)
            .with_context(|| format!("cannot read {}", args.file.display()))?;
        Box::new(BufReader::with_capacity(1 << 18, file))
    };
    // A run holding the lock would otherwise plan against records this import is changing.
    let _lock = RunLock::acquire(ctx.paths.data_dir(), "import")?;
    let mut store = Store::open(&ctx.paths.db)?;
    let summary = import::import(&mut store, kind, format, &mut input, &attributes)?;
    tracing::info!(
        entity = summary.entity,
        imported = summary.imported,
        "import finished"
    );

    if ctx.json() {
        super::print_json(&summary)?;
    } else {
        outln!("{summary}");
    }
    Ok(())
}
