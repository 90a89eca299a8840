//! `hubsync undo --run N`: restore the local values a pull run changed.

use anyhow::Result;

use super::Context;
use crate::cli::UndoArgs;
use crate::store::Store;
use crate::sync::lock::RunLock;

pub fn run(ctx: &Context, args: &UndoArgs) -> Result<()> {
    let mut store = Store::open_existing(&ctx.paths.db)?;
    let _lock = RunLock::acquire(ctx.paths.data_dir(), "undo")?;
    let report = crate::sync::undo::undo(&mut store, args.run)?;
    if ctx.json() {
        let left: Vec<_> = report
            .left
            .iter()
            .map(|(e, why)| {
                let mut v = serde_json::to_value(e).unwrap_or_default();
                v["reason"] = serde_json::Value::String(why.clone());
                v
            })
            .collect();
        super::print_json(&serde_json::json!({
            "run_id": report.run_id,
            "undone_run": report.undone_run,
            "restored": report.restored,
            "left": left,
        }))?;
        return Ok(());
    }
    outln!(
        "undo (run {}): restored {} value{} changed by pull run {}",
        report.run_id,
        report.restored.len(),
        if report.restored.len() == 1 { "" } else { "s" },
        report.undone_run
    );
    for e in &report.restored {
        outln!("  restored {} {} {}", e.entity, e.id, e.field);
    }
    for (e, why) in &report.left {
        outln!("  left alone {} {} {}: {why}", e.entity, e.id, e.field);
    }
    Ok(())
}
