//! `hubsync completions`.

use anyhow::Result;

use crate::cli::CompletionsArgs;

pub fn run(_args: &CompletionsArgs) -> Result<()> {
    anyhow::bail!("`hubsync completions` is not available in this build")
}
