//! Scenario `faults`: the push scenario's community, then `hubsync sync` while the sandbox
//! answers bursts of 429s and random 5xx; the sync is run again (as cron would) until it
//! exits 0. Nothing may be lost or duplicated.

use anyhow::Result;

use super::push::{count_lost, measure, prepare};
use super::{Args, Bench, Report};
use hubsync_sandbox::{Fault, FaultPlan, RandomFaults};

/// Runs of `hubsync sync` before giving up.
const MAX_RUNS: usize = 6;

pub fn run(bench: &Bench, args: &Args) -> Result<Report> {
    prepare(bench, args)?;
    let faults = FaultPlan::rate_limit_burst(3)
        .then(12, 13, Fault::Status { status: 502 })
        .then(18, 20, Fault::RateLimited)
        .then(25, 25, Fault::Status { status: 503 })
        .with_random(RandomFaults {
            seed: 11,
            server_error: 0.08,
            rate_limited: 0.02,
            ..RandomFaults::default()
        });
    bench.sandbox.set_faults(faults);
    let mut report = Report::default();
    let mut runs = 0;
    while runs < MAX_RUNS {
        runs += 1;
        let r = measure(bench, args, &["sync", "--json"])?;
        report.wall_s += r.wall_s;
        report.cpu_user_s += r.cpu_user_s;
        report.cpu_system_s += r.cpu_system_s;
        report.peak_rss_mb = report.peak_rss_mb.max(r.peak_rss_mb);
        report.requests_total += r.requests_total;
        report.status_429 += r.status_429;
        for (k, v) in r.requests_by_endpoint {
            *report.requests_by_endpoint.entry(k).or_default() += v;
        }
        report.exit_code = r.exit_code;
        if r.exit_code == Some(0) {
            break;
        }
    }
    bench.sandbox.set_faults(FaultPlan::none());
    report.contacts = args.contacts;
    report.orgs = args.orgs;
    report.notes.push(format!(
        "{runs} run(s) of `hubsync sync` until exit 0; 429 bursts at requests 1-3 and 18-20, 502 at \
         12-13, 503 at 25, and on every request 8% random 5xx and 2% random 429 (seed 11); figures are summed over the runs"
    ));
    count_lost(bench, args, &mut report);
    Ok(report)
}
