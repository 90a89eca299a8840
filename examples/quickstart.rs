//! hubsync's whole job in one command, against a local HubSpot (the sandbox):
//!
//! ```sh
//! cargo run --release --example quickstart
//! ```
//!
//! It starts the sandbox, connects through the real OAuth flow (the sandbox approves at once),
//! imports `examples/data`, fetches HubSpot's properties and checks `mappings.example.yaml`,
//! adds an automation that pushes the community's champions into a static list, runs the cron
//! job, edits a few records on the HubSpot side, pulls them back, and prints `status`.
//! Every step is the real `hubsync` command, run in this process, with its real output.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use clap::Parser as _;
use hubsync::cli::Cli;
use hubsync_sandbox::{Sandbox, SandboxConfig};
use serde_json::json;

const CLIENT_ID: &str = "sandbox-client-id";
const CLIENT_SECRET: &str = "sandbox-client-secret";
const BROWSER_MODE: &str = "HUBSYNC_QUICKSTART_BROWSER";

fn main() -> ExitCode {
    // `hubsync connect` opens the authorize page with `$BROWSER`: this same program, acting as a
    // browser that follows the sandbox's redirect back to hubsync's loopback listener.
    if std::env::var_os(BROWSER_MODE).is_some() {
        return match std::env::args().nth(1).map(|url| browse(&url)) {
            Some(Ok(())) => ExitCode::SUCCESS,
            _ => ExitCode::FAILURE,
        };
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quickstart failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Follow the authorize URL and its redirects, as a browser would.
fn browse(url: &str) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let resp = reqwest::get(url).await?;
        if !resp.status().is_success() {
            bail!("the authorize page answered {}", resp.status());
        }
        Ok(())
    })
}

struct Quickstart {
    dir: tempfile::TempDir,
    sandbox: Sandbox,
}

impl Quickstart {
    fn db(&self) -> PathBuf {
        self.dir.path().join("hubsync.db")
    }

    fn mappings(&self) -> PathBuf {
        self.dir.path().join("mappings.yaml")
    }

    /// Run one hubsync command in this process, showing it as a user would type it.
    fn hubsync(&self, args: &[&str], allowed: &[u8]) -> Result<()> {
        println!(
            "\n$ hubsync {}",
            args.iter()
                .map(|a| shell_word(a))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let db = self.db();
        let mappings = self.mappings();
        let url = self.sandbox.url();
        let mut argv: Vec<String> = vec!["hubsync".into()];
        argv.extend(args.iter().map(|a| (*a).to_owned()));
        argv.extend([
            "--db".into(),
            db.display().to_string(),
            "--mappings".into(),
            mappings.display().to_string(),
            "--api-base".into(),
            url.clone(),
            "--auth-base".into(),
            url,
            "--token-store".into(),
            "file".into(),
        ]);
        let cli = Cli::try_parse_from(&argv)?;
        match hubsync::commands::run(cli) {
            Ok(()) => Ok(()),
            Err(e) => {
                let code = hubsync::error::exit_code(&e);
                eprintln!("error: {e:#}");
                if allowed.contains(&code) {
                    Ok(())
                } else {
                    bail!("`hubsync {}` exited {code}", args.join(" "))
                }
            }
        }
    }
}

fn shell_word(a: &str) -> String {
    if a.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./=:@".contains(c))
    {
        a.to_owned()
    } else {
        format!("'{a}'")
    }
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run() -> Result<()> {
    // Only this run's settings: no ambient token or paths.
    for var in [
        "HUBSPOT_ACCESS_TOKEN",
        "HUBSYNC_DB",
        "HUBSYNC_MAPPINGS",
        "HUBSYNC_API_BASE",
        "HUBSYNC_AUTH_BASE",
        "HUBSYNC_TOKEN_STORE",
        "HUBSYNC_CLIENT_ID",
        "HUBSYNC_CLIENT_SECRET",
    ] {
        std::env::remove_var(var);
    }
    std::env::set_var("BROWSER", std::env::current_exe()?);
    std::env::set_var(BROWSER_MODE, "1");
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .with_writer(std::io::stderr)
        .without_time()
        .init();

    let sandbox = Sandbox::start(SandboxConfig::default()).context("starting the sandbox")?;
    sandbox
        .seed_file(repo().join("examples/data/hubspot-seed.json"))
        .context("seeding the sandbox")?;
    let qs = Quickstart {
        dir: tempfile::tempdir()?,
        sandbox,
    };
    println!(
        "A local HubSpot is listening at {} (100 requests per 10 seconds, like a Starter account).",
        qs.sandbox.url()
    );
    println!(
        "hubsync's files for this run are in {}.",
        qs.dir.path().display()
    );
    std::fs::copy(repo().join("mappings.example.yaml"), qs.mappings())?;

    let port = free_port()?;
    let port = port.to_string();
    qs.hubsync(
        &[
            "connect",
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            CLIENT_SECRET,
            "--port",
            &port,
        ],
        &[],
    )?;
    let data = repo().join("examples/data");
    let orgs = data.join("organizations.json").display().to_string();
    let contacts = data.join("contacts.json").display().to_string();
    qs.hubsync(&["import", "organizations", &orgs], &[])?;
    qs.hubsync(&["import", "contacts", &contacts], &[])?;
    qs.hubsync(&["map", "refresh"], &[])?;
    qs.hubsync(&["lists"], &[])?;
    qs.hubsync(
        &[
            "automate",
            "add",
            "champions",
            "--entity",
            "contacts",
            "--match",
            "all",
            "--filter",
            "tags~champion",
            "--filter",
            "emails is set",
            "--list",
            "Community champions",
        ],
        &[3],
    )?;
    qs.hubsync(&["sync"], &[3])?;

    // Someone edits a few contacts in HubSpot.
    let state = qs.sandbox.state();
    let edited: Vec<(String, String)> = state["contacts"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|c| c["properties"]["gitmesh_github"].is_string())
        .take(3)
        .filter_map(|c| {
            Some((
                c["id"].as_str()?.to_owned(),
                c["properties"]["email"].as_str()?.to_owned(),
            ))
        })
        .collect();
    println!(
        "\nMeanwhile, in HubSpot, someone edits {} contacts:",
        edited.len()
    );
    for (i, (id, email)) in edited.iter().enumerate() {
        let title = [
            "Head of Developer Relations",
            "VP Engineering",
            "Community Lead",
        ][i % 3];
        qs.sandbox.edit_record(
            "contacts",
            id,
            &json!({"jobtitle": title, "gitmesh_display_name": format!("Edited in HubSpot #{}", i + 1)}),
        )?;
        println!(
            "  {email}: jobtitle = {title}, gitmesh_display_name = Edited in HubSpot #{}",
            i + 1
        );
    }
    qs.hubsync(&["pull"], &[3])?;
    qs.hubsync(&["history"], &[])?;
    qs.hubsync(&["status"], &[])?;
    let hs = qs.sandbox.state();
    println!(
        "\nHubSpot now holds {} contacts and {} companies; done.",
        hs["contacts"].as_array().map_or(0, Vec::len),
        hs["companies"].as_array().map_or(0, Vec::len)
    );
    Ok(())
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port())
}
