//! `hubsync export contacts|organizations [--format ndjson|json|csv] [--output FILE]`.

use std::io::{BufWriter, Write as _};

use anyhow::{Context as _, Result};

use super::Context;
use crate::cli::{ExportArgs, ImportFormat};
use crate::export;
use crate::import::{Entity, Format};
use crate::store::Store;

pub fn run(ctx: &Context, args: &ExportArgs) -> Result<()> {
    let store = Store::open_existing(&ctx.paths.db)?;
    let kind = Entity::from(args.entity);
    let format = match args.format {
        ImportFormat::Json => Format::Json,
        ImportFormat::Ndjson => Format::Ndjson,
        ImportFormat::Csv => Format::Csv,
    };
    let Some(path) = &args.output else {
        crate::stdout_used();
        let mut out = BufWriter::new(std::io::stdout().lock());
        export::export(&store, kind, format, &mut out)?;
        out.flush()?;
        return Ok(());
    };
    // Written beside the target and renamed over it: a failed export leaves the old file.
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "export".to_owned());
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> Result<u64> {
        let file = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        let mut out = BufWriter::new(file);
        let n = export::export(&store, kind, format, &mut out)?;
        out.flush()?;
        out.get_ref().sync_all()?;
        std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(n)
    })();
    let n = match result {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    if ctx.json() {
        super::print_json(
            &serde_json::json!({"exported": n, "entity": kind.section(), "output": path.display().to_string()}),
        )?;
    } else {
        outln!("exported {n} {} to {}", kind.section(), path.display());
    }
    Ok(())
}
