//! Scenario `push`: N generated contacts (and M organizations) marked, then one
//! `hubsync push --marked`; what HubSpot holds afterwards is compared with the store.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::process::Stdio;
use std::time::Instant;

use anyhow::{Context as _, Result};
use serde_json::{json, Value};

use super::usage::wait_with_usage;
use super::{Args, Bench, Report};
use hubsync::store::{links, Entity, Mark, Store};

pub fn write_ndjson(path: &std::path::Path, items: impl Iterator<Item = Value>) -> Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    for v in items {
        serde_json::to_writer(&mut f, &v)?;
        f.write_all(b"\n")?;
    }
    f.flush()?;
    Ok(())
}

pub fn org(i: usize) -> Value {
    json!({
        "id": format!("org-{i:06}"),
        "name": format!("Bench Org {i}"),
        "website": format!("https://www.bench-org-{i}.example/about"),
        "description": format!("Organization number {i}"),
        "employees": 10 + i % 500,
        "memberCount": i % 70,
    })
}

pub fn contact(i: usize, orgs: usize) -> Value {
    let seniority = ["Junior", "Mid", "Senior", "Lead"][i % 4];
    let mut c = json!({
        "id": format!("c-{i:07}"),
        "emails": [format!("Member.{i}@Bench.example")],
        "displayName": format!("Member {i}"),
        "identities": {"github": format!("member{i}")},
        "attributes": {"seniorityLevel": seniority, "isHiring": i.is_multiple_of(3)},
        "score": i % 10,
        "joinedAt": format!("2020-{:02}-{:02}T10:00:00Z", 1 + i % 12, 1 + i % 28),
        "lastActive": format!("2025-{:02}-{:02}T23:30:00-05:00", 1 + i % 12, 1 + i % 28),
        "tags": ["bench"],
    });
    if orgs > 0 {
        c["organizations"] = json!([format!("org-{:06}", i % orgs)]);
    }
    c
}

/// `/crm/objects/2026-03/contacts/batch/upsert` → `POST contacts/batch/upsert`.
fn endpoint(method: &str, path: &str) -> String {
    let tail: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .skip_while(|s| *s == "crm" || *s == "objects" || *s == "associations")
        .filter(|s| !s.starts_with("20") && !s.starts_with('v'))
        .collect();
    format!("{method} {}", tail.join("/"))
}

pub fn run(bench: &Bench, args: &Args) -> Result<Report> {
    prepare(bench, args)?;
    let mut report = measure(bench, args, &["push", "--marked", "--json"])?;
    let batches = |n: usize, size: usize| n.div_ceil(size);
    let pairs = if args.orgs > 0 { args.contacts } else { 0 };
    report.floor_requests =
        batches(args.contacts, 100) + batches(args.orgs, 100) + batches(pairs, 2000);
    if let Some(per_s) = bench.per_second() {
        #[allow(clippy::cast_precision_loss)]
        let floor = report.floor_requests as f64 / per_s;
        report.floor_s = floor;
        report.wall_over_floor = if floor > 0.0 {
            report.wall_s / floor
        } else {
            0.0
        };
    }
    report.notes.push(
        "floor = ceil(contacts/100) upserts + ceil(orgs/100) creates + ceil(associations/2000); \
         searches are exempt from the burst limit"
            .into(),
    );

    count_lost(bench, args, &mut report);
    Ok(report)
}

/// The generated community in the store, every record marked, the sandbox's request log empty.
pub fn prepare(bench: &Bench, args: &Args) -> Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(root.join("mappings.example.yaml"), bench.mappings())?;
    let seed: Value = serde_json::from_str(&std::fs::read_to_string(
        root.join("examples/data/hubspot-seed.json"),
    )?)?;
    bench
        .sandbox
        .seed_json(&json!({"properties": seed["properties"]}))?;

    let dir = bench.dir.path();
    write_ndjson(&dir.join("orgs.ndjson"), (0..args.orgs).map(org))?;
    write_ndjson(
        &dir.join("contacts.ndjson"),
        (0..args.contacts).map(|i| contact(i, args.orgs)),
    )?;
    let orgs_file = dir.join("orgs.ndjson");
    let contacts_file = dir.join("contacts.ndjson");
    bench.run_ok(&[
        "import",
        "organizations",
        orgs_file.to_str().context("path")?,
    ])?;
    bench.run_ok(&[
        "import",
        "contacts",
        contacts_file.to_str().context("path")?,
    ])?;
    bench.run_ok(&["map", "refresh"])?;
    {
        let mut store = Store::open(&bench.db())?;
        let tx = store.conn_mut().transaction()?;
        for i in 0..args.orgs {
            links::mark(
                &tx,
                Entity::Organization,
                &format!("org-{i:06}"),
                &Mark::Manual,
            )?;
        }
        for i in 0..args.contacts {
            links::mark(&tx, Entity::Contact, &format!("c-{i:07}"), &Mark::Manual)?;
        }
        tx.commit()?;
    }
    bench.sandbox.clear_requests();
    Ok(())
}

/// Run `hubsync CMD` once as a child; its wall time, memory, CPU and the requests it made.
pub fn measure(bench: &Bench, args: &Args, cmd: &[&str]) -> Result<Report> {
    bench.sandbox.clear_requests();
    let started = Instant::now();
    let started_at = chrono::Utc::now();
    let child = bench
        .hubsync(cmd)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting hubsync {}", cmd.join(" ")))?;
    let run = wait_with_usage(child)?;
    if run.code != Some(0) {
        eprintln!("hubsync {}: {}", cmd.join(" "), run.stderr.trim());
    }
    let (exit_code, rss_mb, user_s, sys_s) = (run.code, run.rss_mb, run.user_s, run.system_s);
    let wall = started.elapsed();
    let mut report = Report {
        contacts: args.contacts,
        orgs: args.orgs,
        exit_code,
        peak_rss_mb: rss_mb,
        cpu_user_s: user_s,
        cpu_system_s: sys_s,
        wall_s: wall.as_secs_f64(),
        ..Report::default()
    };
    add_requests(bench, &mut report);
    let requests = bench.sandbox.requests();
    #[allow(clippy::cast_precision_loss)]
    let since =
        |at: chrono::DateTime<chrono::Utc>| (at - started_at).num_milliseconds() as f64 / 1e3;
    report.first_request_s = requests.first().map_or(0.0, |r| since(r.at));
    report.last_request_s = requests.last().map_or(0.0, |r| since(r.at));
    Ok(report)
}

/// Add the sandbox's logged requests (by endpoint, 429s) to the report.
pub fn add_requests(bench: &Bench, report: &mut Report) {
    let requests = bench.sandbox.requests();
    report.requests_total += requests.len();
    for r in &requests {
        *report
            .requests_by_endpoint
            .entry(endpoint(&r.method, &r.path))
            .or_default() += 1;
        if r.status == 429 {
            report.status_429 += 1;
        }
    }
}

/// Compare what HubSpot holds with what was generated: records missing or there twice.
pub fn count_lost(bench: &Bench, args: &Args, report: &mut Report) {
    let state = bench.sandbox.state();
    let mut emails: HashMap<String, usize> = HashMap::new();
    for c in state["contacts"].as_array().into_iter().flatten() {
        if let Some(e) = c["properties"]["email"].as_str() {
            *emails.entry(e.to_lowercase()).or_default() += 1;
        }
    }
    let mut domains: BTreeMap<String, usize> = BTreeMap::new();
    for c in state["companies"].as_array().into_iter().flatten() {
        if let Some(d) = c["properties"]["domain"].as_str() {
            *domains.entry(d.to_lowercase()).or_default() += 1;
        }
    }
    for i in 0..args.contacts {
        match emails.get(&format!("member.{i}@bench.example")) {
            None => report.lost += 1,
            Some(n) if *n > 1 => report.duplicated += n - 1,
            Some(_) => {}
        }
    }
    for i in 0..args.orgs {
        match domains.get(&format!("bench-org-{i}.example")) {
            None => report.lost += 1,
            Some(n) if *n > 1 => report.duplicated += n - 1,
            Some(_) => {}
        }
    }
}
