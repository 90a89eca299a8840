//! Scenario `pull`: N local contacts linked to N HubSpot contacts, all N edited in HubSpot, then
//! one incremental `hubsync pull`. The floor is the search limit: N / 200 search pages at 5
//! requests per second.
//!
//! Scenario `full-pull`: the same N local and N HubSpot contacts, never pulled, then
//! `hubsync pull --full`, which links every one. The floor is both budgets at once: search
//! pages of 200 at 5 per second plus list pages of 100 at the burst limit.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::Stdio;
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use serde_json::{json, Value};

use super::usage::wait_with_usage;
use super::{Args, Bench, Report};

/// Records per search page and search requests per second (API.md §5).
const PAGE: usize = 200;
const SEARCH_PER_SECOND: f64 = 5.0;

/// N local contacts and the same N in HubSpot (e-mails differ in case only), not linked.
fn prepare(bench: &Bench, n: usize) -> Result<()> {
    let sb = &bench.sandbox;
    sb.seed_json(&json!({"properties": {"contacts": [
        {"name": "gitmesh_display_name", "label": "Display name", "type": "string",
         "fieldType": "text", "groupName": "gitmesh"}]}}))?;
    std::fs::write(
        bench.mappings(),
        "version: 1\ncontacts:\n  enabled: true\n  fields:\n    displayName: gitmesh_display_name\n",
    )?;
    bench.run_ok(&["map", "refresh"])?;
    let mut people = String::new();
    for i in 0..n {
        let _ = writeln!(
            people,
            "{{\"id\":\"c{i}\",\"emails\":[\"person{i}@example.com\"],\"displayName\":\"Local {i}\"}}"
        );
    }
    let file = bench.dir.path().join("people.ndjson");
    std::fs::write(&file, people)?;
    bench.run_ok(&["import", "contacts", &file.to_string_lossy()])?;
    // Seeded in slices, so the seed document stays small at a million.
    for start in (0..n).step_by(50_000) {
        let records: Vec<Value> = (start..n.min(start + 50_000))
            .map(|i| json!({"properties": {"email": format!("Person{i}@Example.com")}}))
            .collect();
        sb.seed_json(&json!({ "contacts": records }))?;
    }
    Ok(())
}

pub fn run(bench: &Bench, args: &Args) -> Result<Report> {
    let n = args.contacts;
    let sb = &bench.sandbox;
    prepare(bench, n)?;
    // The first pull links every contact (a full pass) and sets the watermark.
    bench.run_ok(&["pull"])?;

    // Every contact edited in HubSpot.
    let state = sb.state();
    let ids: Vec<String> = state["contacts"]
        .as_array()
        .context("sandbox state has no contacts")?
        .iter()
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        sb.edit_record(
            "contacts",
            id,
            &json!({"gitmesh_display_name": format!("Edited {i}")}),
        )?;
    }
    let floor_requests = n.div_ceil(PAGE);
    #[allow(clippy::cast_precision_loss)]
    let floor_s = floor_requests as f64 / SEARCH_PER_SECOND;
    measure(
        bench,
        n,
        &["--json", "pull"],
        floor_requests,
        floor_s,
        "changed",
    )
}

/// `full-pull`: the first pull of N contacts, through the list and the search at once.
pub fn run_full(bench: &Bench, args: &Args) -> Result<Report> {
    let n = args.contacts;
    prepare(bench, n)?;
    // Records per second through both budgets: search pages plus list pages.
    #[allow(clippy::cast_precision_loss)]
    let per_second =
        SEARCH_PER_SECOND * PAGE as f64 + bench.per_second().unwrap_or(f64::INFINITY) * 100.0;
    #[allow(clippy::cast_precision_loss)]
    let floor_s = n as f64 / per_second;
    let searches = n.div_ceil(2 * PAGE);
    measure(
        bench,
        n,
        &["--json", "pull", "--full"],
        searches + n.saturating_sub(searches * PAGE).div_ceil(100),
        floor_s,
        "matched",
    )
}

/// Run one pull and report it; `counted` names the summary counter that must reach N.
fn measure(
    bench: &Bench,
    n: usize,
    argv: &[&str],
    floor_requests: usize,
    floor_s: f64,
    counted: &str,
) -> Result<Report> {
    let sb = &bench.sandbox;
    // The preparation's own searches leave the sandbox's one-second search window first, so
    // the run measured starts with the budget a cron run would find.
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    sb.clear_requests();
    let started = Instant::now();
    let started_at = chrono::Utc::now();
    let child = bench
        .hubsync(argv)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running hubsync pull")?;
    let run = wait_with_usage(child)?;
    let wall = started.elapsed();
    if run.code != Some(0) {
        bail!("hubsync pull failed ({:?}): {}", run.code, run.stderr);
    }
    let summary: Value = serde_json::from_str(&run.stdout).context("pull --json output")?;
    let changed = summary["counts"][counted].as_u64().unwrap_or(0);
    let read = summary["counts"]["read"].as_u64().unwrap_or(0);

    let log = sb.requests();
    let mut by_endpoint: BTreeMap<String, usize> = BTreeMap::new();
    for r in &log {
        *by_endpoint
            .entry(format!("{} {}", r.method, r.path))
            .or_default() += 1;
    }
    let n_u64 = u64::try_from(n).unwrap_or(u64::MAX);
    #[allow(clippy::cast_precision_loss)]
    let since =
        |at: chrono::DateTime<chrono::Utc>| (at - started_at).num_milliseconds() as f64 / 1e3;
    Ok(Report {
        first_request_s: log.first().map_or(0.0, |r| since(r.at)),
        last_request_s: log.last().map_or(0.0, |r| since(r.at)),
        contacts: n,
        requests_total: log.len(),
        requests_by_endpoint: by_endpoint,
        status_429: log.iter().filter(|r| r.status == 429).count(),
        wall_s: wall.as_secs_f64(),
        floor_requests,
        floor_s,
        wall_over_floor: if floor_s > 0.0 {
            wall.as_secs_f64() / floor_s
        } else {
            0.0
        },
        exit_code: run.code,
        lost: usize::try_from(n_u64.saturating_sub(changed)).unwrap_or(0),
        duplicated: 0,
        peak_rss_mb: run.rss_mb,
        cpu_user_s: run.user_s,
        cpu_system_s: run.system_s,
        notes: vec![format!(
            "{read} HubSpot contacts read, {changed} local contacts {counted}"
        )],
        ..Report::default()
    })
}
