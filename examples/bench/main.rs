//! Benchmarks of real hubsync runs against the in-process sandbox HubSpot.
//!
//! ```text
//! cargo build --release && cargo run --release --example bench -- \
//!     --scenario push --contacts 20000 --orgs 200 --rate 100/10s --latency 20ms [--json]
//! ```
//!
//! Scenarios: push, pull, full-pull, resync, faults, import (see the README for the scale set).
//!
//! Each scenario (a sibling module) prepares a store, runs the release `hubsync` binary as a
//! child process (so memory and CPU are its own), and reports requests by endpoint, wall time
//! against the floor HubSpot's batch sizes and rate limit allow, 429s, and records lost or
//! duplicated.

mod faults;
mod import;
mod pull;
mod push;
mod resync;
mod usage;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use clap::Parser;
use hubsync_sandbox::{RateLimit, Sandbox, SandboxConfig};
use serde::Serialize;

pub const TOKEN: &str = "pat-na1-bench";

#[derive(Debug, Parser)]
#[command(about = "Measure hubsync against the sandbox HubSpot")]
pub struct Args {
    /// What to measure
    #[arg(long, default_value = "push")]
    pub scenario: String,
    /// Local contacts to generate
    #[arg(long, default_value_t = 1000)]
    pub contacts: usize,
    /// Local organizations to generate (contacts belong to them round-robin)
    #[arg(long, default_value_t = 0)]
    pub orgs: usize,
    /// The sandbox's burst limit, e.g. `100/10s`; `none` for unlimited
    #[arg(long, default_value = "100/10s")]
    pub rate: String,
    /// Added to every sandbox answer, e.g. `20ms`
    #[arg(long, default_value = "20ms")]
    pub latency: String,
    /// The hubsync binary [default: target/release/hubsync]
    #[arg(long)]
    pub bin: Option<PathBuf>,
    /// One JSON document on stdout
    #[arg(long)]
    pub json: bool,
}

/// What a scenario measured.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub scenario: String,
    pub contacts: usize,
    pub orgs: usize,
    pub rate: String,
    pub latency_ms: u64,
    pub requests_total: usize,
    pub requests_by_endpoint: BTreeMap<String, usize>,
    pub status_429: usize,
    pub wall_s: f64,
    /// Fewest rate-limited requests HubSpot's batch sizes allow.
    pub floor_requests: usize,
    /// `floor_requests` at the allowed rate.
    pub floor_s: f64,
    pub wall_over_floor: f64,
    /// Seconds from the start of the run to its first and last request reaching the sandbox.
    pub first_request_s: f64,
    pub last_request_s: f64,
    /// Requests that change HubSpot (the `resync` scenario).
    pub writes: usize,
    pub exit_code: Option<i32>,
    pub lost: usize,
    pub duplicated: usize,
    pub peak_rss_mb: f64,
    pub cpu_user_s: f64,
    pub cpu_system_s: f64,
    pub notes: Vec<String>,
}

/// A prepared environment: temp dir with store and mapping file, and the sandbox.
pub struct Bench {
    pub dir: tempfile::TempDir,
    pub sandbox: Sandbox,
    pub bin: PathBuf,
    pub rate: Option<RateLimit>,
}

impl Bench {
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("hubsync.db")
    }

    pub fn mappings(&self) -> PathBuf {
        self.dir.path().join("mappings.yaml")
    }

    /// `hubsync ARGS` as a child, with the store, mapping, token and sandbox set.
    pub fn hubsync(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.env_clear()
            .env("HOME", self.dir.path())
            .env("HUBSYNC_DB", self.db())
            .env("HUBSYNC_MAPPINGS", self.mappings())
            .env("HUBSYNC_API_BASE", self.sandbox.url())
            .env("HUBSPOT_ACCESS_TOKEN", TOKEN)
            .env("HUBSYNC_TOKEN_STORE", "file")
            .args(args);
        c
    }

    /// Run to completion; fail with its stderr when it fails.
    pub fn run_ok(&self, args: &[&str]) -> Result<()> {
        let out = self.hubsync(args).output().context("running hubsync")?;
        if !out.status.success() {
            bail!(
                "hubsync {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    /// Requests allowed per second by the burst limit.
    pub fn per_second(&self) -> Option<f64> {
        self.rate
            .as_ref()
            .map(|r| f64::from(r.max) / r.interval.as_secs_f64())
    }
}

fn parse_duration(s: &str) -> Result<Duration> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().with_context(|| format!("bad duration `{s}`"))?;
    Ok(match unit {
        "ms" => Duration::from_millis(n),
        "s" | "" => Duration::from_secs(n),
        _ => bail!("bad duration unit in `{s}` (ms or s)"),
    })
}

fn parse_rate(s: &str) -> Result<Option<RateLimit>> {
    if s == "none" {
        return Ok(None);
    }
    let (max, per) = s
        .split_once('/')
        .with_context(|| format!("bad rate `{s}`, e.g. 100/10s"))?;
    Ok(Some(RateLimit {
        max: max.parse().with_context(|| format!("bad rate `{s}`"))?,
        interval: parse_duration(per)?,
    }))
}

fn main() -> Result<()> {
    let args = Args::parse();
    let rate = parse_rate(&args.rate)?;
    let latency = parse_duration(&args.latency)?;
    let bin = args
        .bin
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/hubsync"));
    if !bin.exists() {
        bail!(
            "{} does not exist; run `cargo build --release` first or pass --bin",
            bin.display()
        );
    }
    let cfg = SandboxConfig {
        rate_limit: rate,
        daily_limit: None,
        latency,
        ..SandboxConfig::default()
    }
    .with_static_token(TOKEN);
    let sandbox = Sandbox::start(cfg)?;
    let bench = Bench {
        dir: tempfile::tempdir()?,
        sandbox,
        bin,
        rate,
    };
    let mut report = match args.scenario.as_str() {
        "push" => push::run(&bench, &args)?,
        "pull" => pull::run(&bench, &args)?,
        "full-pull" => pull::run_full(&bench, &args)?,
        "resync" => resync::run(&bench, &args)?,
        "faults" => faults::run(&bench, &args)?,
        "import" => import::run(&bench, &args)?,
        other => bail!(
            "unknown scenario `{other}` (known: push, pull, full-pull, resync, faults, import)"
        ),
    };
    report.scenario.clone_from(&args.scenario);
    report.rate.clone_from(&args.rate);
    report.latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    if report.exit_code != Some(0) || report.lost > 0 || report.duplicated > 0 {
        bail!(
            "the run did not complete cleanly: exit {:?}, {} lost, {} duplicated",
            report.exit_code,
            report.lost,
            report.duplicated
        );
    }
    if report.scenario == "resync" && report.writes > 0 {
        bail!(
            "a sync with nothing changed sent {} write requests",
            report.writes
        );
    }
    Ok(())
}

fn print_text(r: &Report) {
    println!(
        "scenario {}: {} contacts, {} organizations, rate {}, latency {} ms",
        r.scenario, r.contacts, r.orgs, r.rate, r.latency_ms
    );
    println!("requests: {} total", r.requests_total);
    for (k, v) in &r.requests_by_endpoint {
        println!("  {v:>6}  {k}");
    }
    println!("429s received: {}", r.status_429);
    println!(
        "wall: {:.1} s; floor: {} requests / {:.1} s; wall/floor {:.2}",
        r.wall_s, r.floor_requests, r.floor_s, r.wall_over_floor
    );
    if r.last_request_s > 0.0 {
        println!(
            "first request at {:.1} s, last at {:.1} s",
            r.first_request_s, r.last_request_s
        );
    }
    if r.scenario == "resync" {
        println!("write requests: {}", r.writes);
    }
    println!(
        "exit {:?}; lost {}, duplicated {}",
        r.exit_code, r.lost, r.duplicated
    );
    println!(
        "hubsync peak RSS {:.1} MB, CPU {:.2} s user + {:.2} s system",
        r.peak_rss_mb, r.cpu_user_s, r.cpu_system_s
    );
    for n in &r.notes {
        println!("note: {n}");
    }
}
