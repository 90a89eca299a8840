//! placeholder
pub fn run(_ctx: &super::Context, _a: &impl std::fmt::Debug) -> anyhow::Result<()> {
    Ok(())
}
