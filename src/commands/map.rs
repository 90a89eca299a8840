//! `hubsync map`.

use anyhow::Result;

use super::Context;
use crate::cli::MapCommand;

pub fn run(_ctx: &Context, _cmd: &MapCommand) -> Result<()> {
    anyhow::bail!("`hubsync map` is not available in this build")
}
