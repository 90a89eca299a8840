//! `hubsync status`.

use anyhow::Result;

use super::Context;

pub fn run(ctx: &Context) -> Result<()> {
    let _ = ctx;
    Ok(())
}
