//! A local HubSpot for trying hubsync without a HubSpot account.
//!
//! ```text
//! cargo run --example sandbox -- --port 8080 --seed examples/data/hubspot-seed.json
//! ```
//!
//! The first line on stdout is `listening http://127.0.0.1:PORT`.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use clap::Parser;
use hubsync_sandbox::{
    Fault, FaultPlan, RandomFaults, RateLimit, Sandbox, SandboxConfig, ALL_SCOPES,
};

/// A local HubSpot: OAuth, contacts, companies, search, lists and associations, with HubSpot's
/// limits and configurable faults.
#[derive(Parser)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one)
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Seed file: custom properties, contacts, companies, associations, lists
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Accept this private-app token with every scope (repeatable)
    #[arg(long = "static-token")]
    static_tokens: Vec<String>,
    /// OAuth client id
    #[arg(long, default_value = "sandbox-client-id")]
    client_id: String,
    /// OAuth client secret
    #[arg(long, default_value = "sandbox-client-secret")]
    client_secret: String,
    /// Registered redirect URI (repeatable; none = any http://localhost:PORT/...)
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// A scope the account does not grant (repeatable)
    #[arg(long = "withhold-scope")]
    withheld_scopes: Vec<String>,
    /// The authorize page denies access
    #[arg(long)]
    deny_authorize: bool,
    /// Access token lifetime in seconds
    #[arg(long, default_value_t = 1800)]
    token_ttl: u64,
    /// Refreshing returns the same refresh token (default: a new one; the old one stops working)
    #[arg(long)]
    no_rotate: bool,
    /// Requests per rolling 10 seconds (0 = unlimited)
    #[arg(long, default_value_t = 100)]
    rate_limit: u32,
    /// Requests per day (0 = unlimited)
    #[arg(long, default_value_t = 250_000)]
    daily_limit: u64,
    /// Search requests per second (0 = unlimited)
    #[arg(long, default_value_t = 5)]
    search_per_second: u32,
    /// Added to every API answer, in milliseconds
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Scheduled fault FIRST-LAST:WHAT, WHAT = a status (502), 429, daily, locked, hang, drop
    /// (repeatable; request numbers are 1-based API requests)
    #[arg(long = "fault")]
    faults: Vec<String>,
    /// Probability of a random 502/503/504 per request
    #[arg(long, default_value_t = 0.0)]
    random_5xx: f64,
    /// Probability of a random 429 per request
    #[arg(long, default_value_t = 0.0)]
    random_429: f64,
    /// Probability of a random hang (answered 504 after --hang-ms)
    #[arg(long, default_value_t = 0.0)]
    random_timeout: f64,
    /// How long a hang lasts, in milliseconds
    #[arg(long, default_value_t = 60_000)]
    hang_ms: u64,
    /// Seed of the random faults
    #[arg(long, default_value_t = 1)]
    fault_seed: u64,
}

fn parse_fault(spec: &str, hang: Duration) -> Result<(u64, u64, Fault)> {
    let (range, what) = spec
        .split_once(':')
        .with_context(|| format!("fault \"{spec}\": expected FIRST-LAST:WHAT, e.g. 5-8:502"))?;
    let (first, last) = range.split_once('-').unwrap_or((range, range));
    let first: u64 = first
        .parse()
        .with_context(|| format!("fault \"{spec}\": bad FIRST"))?;
    let last: u64 = last
        .parse()
        .with_context(|| format!("fault \"{spec}\": bad LAST"))?;
    let fault = match what {
        "429" => Fault::RateLimited,
        "daily" => Fault::DailyLimited,
        "locked" | "423" => Fault::Locked,
        "hang" | "timeout" => Fault::Hang { duration: hang },
        "drop" => Fault::Drop,
        s => match s.parse::<u16>() {
            Ok(status) if (400..600).contains(&status) => Fault::Status { status },
            _ => bail!("fault \"{spec}\": unknown kind {what}"),
        },
    };
    Ok((first, last, fault))
}

fn main() -> Result<()> {
    let a = Args::parse();
    let hang = Duration::from_millis(a.hang_ms);
    let mut faults = FaultPlan::none();
    for spec in &a.faults {
        let (first, last, fault) = parse_fault(spec, hang)?;
        faults = faults.then(first, last, fault);
    }
    if a.random_5xx + a.random_429 + a.random_timeout > 0.0 {
        faults = faults.with_random(RandomFaults {
            seed: a.fault_seed,
            server_error: a.random_5xx,
            rate_limited: a.random_429,
            timeout: a.random_timeout,
            hang,
        });
    }
    let nonzero = |n: u64| (n > 0).then_some(n);
    let cfg = SandboxConfig {
        port: a.port,
        client_id: a.client_id,
        client_secret: a.client_secret,
        redirect_uris: a.redirect_uris,
        withheld_scopes: a.withheld_scopes,
        deny_authorize: a.deny_authorize,
        access_token_ttl: Duration::from_secs(a.token_ttl),
        rotate_refresh_tokens: !a.no_rotate,
        static_tokens: a
            .static_tokens
            .iter()
            .map(|t| {
                (
                    t.clone(),
                    ALL_SCOPES.iter().map(|s| (*s).to_string()).collect(),
                )
            })
            .collect(),
        rate_limit: (a.rate_limit > 0).then(|| RateLimit::per_ten_seconds(a.rate_limit)),
        daily_limit: nonzero(a.daily_limit),
        search_per_second: (a.search_per_second > 0).then_some(a.search_per_second),
        latency: Duration::from_millis(a.latency_ms),
        faults,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(cfg)?;
    if let Some(seed) = &a.seed {
        sandbox.seed_file(seed)?;
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening {}", sandbox.url())?;
    out.flush()?;
    drop(out);
    eprintln!(
        "authorize at {url}/oauth/authorize, API base {url}, state at {url}/__sandbox/state; Ctrl-C stops",
        url = sandbox.url()
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(tokio::signal::ctrl_c())?;
    Ok(())
}
