//! Tests: hubsync when everything around it misbehaves.
//!
//! - Full `sync` cycles against a HubSpot that answers with seeded random 5xx, slow 504s,
//!   dropped connections, 429 bursts, expired access tokens and a `DAILY` limit lifted a cycle
//!   or two later, run again (as cron would) until one exits 0.
//! - `push` and `pull` killed with SIGKILL at seeded request numbers, then run again.
//!
//! Afterwards: every pushable record is in HubSpot exactly once with its values, every
//! automation's list holds exactly its members, every local change has its history entry, and
//! the store is intact. Every failure message starts with `seed N`; run one seed again with
//! `HUBSYNC_FAULT_SEEDS=N cargo test --test it hardening::` (several: `N,M`).

use std::collections::BTreeMap;
use std::process::{Output, Stdio};

use hubsync_sandbox::{Sandbox, SandboxConfig};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{json, Value};

use crate::common::{cmd, connected, std_cmd};
use crate::common::{repo, Env};

/// The seeds to run: `HUBSYNC_FAULT_SEEDS` (comma-separated) or `default`.
pub(super) fn seeds(default: &[u64]) -> Vec<u64> {
    match std::env::var("HUBSYNC_FAULT_SEEDS") {
        Ok(s) if !s.trim().is_empty() => s
            .split(',')
            .map(|p| {
                p.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("HUBSYNC_FAULT_SEEDS: `{p}` is not a number"))
            })
            .collect(),
        _ => default.to_vec(),
    }
}

/// Runs `f` for every seed, each on its own thread (they wait on the network, not the CPU).
pub(super) fn for_each_seed(seeds: &[u64], f: impl Fn(u64) + Sync) {
    std::thread::scope(|s| {
        let handles: Vec<_> = seeds
            .iter()
            .map(|&seed| {
                let f = &f;
                (seed, s.spawn(move || f(seed)))
            })
            .collect();
        let failed: Vec<u64> = handles
            .into_iter()
            .filter_map(|(seed, h)| h.join().is_err().then_some(seed))
            .collect();
        assert!(
            failed.is_empty(),
            "failed seeds: {failed:?} (their messages are above; rerun one with HUBSYNC_FAULT_SEEDS=N)"
        );
    });
}

// ---- the world: a sandbox HubSpot and a connected store -------------------------------------

pub(super) const CHAMPIONS: &str = "Hardening champions";
pub(super) const ENTERPRISE: &str = "Hardening enterprise";
/// The organization automation's threshold (`employees>=`).
pub(super) const BIG: f64 = 4000.0;

pub(super) struct World {
    pub(super) seed: u64,
    pub(super) env: Env,
    pub(super) sb: Sandbox,
}

impl World {
    /// A sandbox seeded with `examples/data/hubspot-seed.json`, connected through OAuth (so
    /// access tokens can expire), the sample community plus `generated` contacts imported, and
    /// the property cache filled.
    fn new(seed: u64, cfg: SandboxConfig, generated: usize) -> World {
        let sb = Sandbox::start(cfg).expect("sandbox starts");
        sb.seed_file(repo().join("examples/data/hubspot-seed.json"))
            .expect("seed");
        let env = connected(&sb);
        let w = World { seed, env, sb };
        std::fs::copy(repo().join("mappings.example.yaml"), w.env.mappings()).expect("mapping");
        w.import(
            "organizations",
            &repo().join("examples/data/organizations.json"),
        );
        w.import("contacts", &repo().join("examples/data/contacts.json"));
        if generated > 0 {
            let text: String = generate_contacts(seed, generated)
                .iter()
                .map(|c| format!("{c}\n"))
                .collect();
            let file = w.env.write("generated.ndjson", &text);
            w.import("contacts", &file);
        }
        w.ok(&["map", "refresh"]);
        w.sb.clear_requests();
        w
    }

    fn fail(&self, msg: impl std::fmt::Display) -> ! {
        panic!("seed {}: {msg}", self.seed)
    }

    fn run(&self, args: &[&str]) -> Output {
        cmd(&self.env, &self.sb)
            .args(args)
            .output()
            .unwrap_or_else(|e| self.fail(format!("hubsync {args:?} did not start: {e}")))
    }

    /// Runs and expects exit 0.
    fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        if out.status.code() != Some(0) {
            self.fail(format!(
                "hubsync {args:?} exited {:?}\n{}",
                out.status.code(),
                text(&out)
            ));
        }
        out
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.ok(&all);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            self.fail(format!(
                "hubsync {args:?}: stdout is not JSON ({e})\n{}",
                text(&out)
            ))
        })
    }

    fn import(&self, what: &str, file: &std::path::Path) {
        let file = file.to_str().expect("utf-8 path");
        self.ok(&["import", what, file]);
    }

    /// The same command as a child process we can kill.
    fn spawn(&self, args: &[String]) -> std::process::Child {
        std_cmd(&self.env, &self.sb)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| self.fail(format!("cannot start hubsync: {e}")))
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            contacts: by_id(&self.json(&["contacts", "list"])),
            organizations: by_id(&self.json(&["organizations", "list"])),
            history: array(&self.json(&["history"])),
        }
    }
}

pub(super) fn text(out: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub(super) fn array(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

pub(super) fn by_id(v: &Value) -> BTreeMap<String, Value> {
    array(v)
        .into_iter()
        .map(|r| (r["id"].as_str().unwrap_or_default().to_owned(), r))
        .collect()
}

/// Contacts with e-mails unique to this seed, a third of them champions, some in the sample
/// organizations (the big ones included), a few without e-mail, some e-mails in odd case.
pub(super) fn generate_contacts(seed: u64, n: usize) -> Vec<Value> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let orgs = [
        "org-00004",
        "org-00007",
        "org-00012",
        "org-00015",
        "org-00019",
        "org-00027",
        "org-00028",
        "org-00030",
    ];
    let seniority = ["Junior", "Mid", "Senior", "Lead", "Executive"];
    (0..n)
        .map(|i| {
            let mut c = json!({
                "id": format!("g-{i:04}"),
                "displayName": format!("Généré {i}"),
                "identities": {"github": format!("gen-{seed}-{i}")},
                "attributes": {},
                "score": rng.gen_range(0..100),
                "tags": if rng.gen_bool(0.33) { json!(["generated", "Champion"]) } else { json!(["generated"]) },
            });
            if i % 25 != 7 {
                let email = format!("gen{i}@s{seed}.example");
                let email = if i % 9 == 0 {
                    format!("  {}  ", email.to_uppercase())
                } else {
                    email
                };
                c["emails"] = json!([email]);
            }
            if rng.gen_bool(0.7) {
                c["attributes"]["seniorityLevel"] = json!(seniority[rng.gen_range(0..5)]);
            }
            if rng.gen_bool(0.5) {
                c["attributes"]["isHiring"] = json!(rng.gen_bool(0.5));
            }
            if rng.gen_bool(0.5) {
                c["organizations"] = json!([orgs[rng.gen_range(0..orgs.len())]]);
            }
            c
        })
        .collect()
}

mod checker;
mod edge_cases;
mod faults;
mod invariants;
mod kill;

use faults::*;
use invariants::*;
