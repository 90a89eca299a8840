//! Scenario `resync`: the push scenario's community pushed once, then `hubsync sync` (pull,
//! push of marked records, automations) with nothing changed locally or in HubSpot. It must
//! send no write at all.

use anyhow::{bail, Result};

use super::push::{count_lost, measure, prepare};
use super::{Args, Bench, Report};

/// Requests that change HubSpot: every POST, PATCH, PUT or DELETE except searches and batch
/// reads.
pub fn is_write(endpoint: &str) -> bool {
    let read = endpoint.starts_with("GET ")
        || endpoint.ends_with("/search")
        || endpoint.ends_with("/batch/read");
    !read
}

pub fn run(bench: &Bench, args: &Args) -> Result<Report> {
    prepare(bench, args)?;
    let first = measure(bench, args, &["push", "--marked", "--json"])?;
    if first.exit_code != Some(0) {
        bail!("the first push failed (exit {:?})", first.exit_code);
    }
    let mut report = measure(bench, args, &["sync", "--json"])?;
    report.writes = report
        .requests_by_endpoint
        .iter()
        .filter(|(endpoint, _)| is_write(endpoint))
        .map(|(_, n)| n)
        .sum();
    report.notes.push(format!(
        "the first push took {:.1} s and {} requests; figures above are the second run, `hubsync sync`",
        first.wall_s, first.requests_total
    ));
    count_lost(bench, args, &mut report);
    Ok(report)
}
