//! `hubsync status`.

use anyhow::Result;

use super::Context;

pub fn run(_ctx: &Context) -> Result<()> {
    anyhow::bail!("`hubsync status` is not available in this build")
}
