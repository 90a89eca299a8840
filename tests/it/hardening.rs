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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hubsync_sandbox::{Fault, FaultPlan, RandomFaults, Sandbox, SandboxConfig};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{json, Value};

use crate::client::{cmd, connected, std_cmd};
use crate::common::{repo, Env};

/// The seeds to run: `HUBSYNC_FAULT_SEEDS` (comma-separated) or `default`.
fn seeds(default: &[u64]) -> Vec<u64> {
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
fn for_each_seed(seeds: &[u64], f: impl Fn(u64) + Sync) {
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

const CHAMPIONS: &str = "Hardening champions";
const ENTERPRISE: &str = "Hardening enterprise";
/// The organization automation's threshold (`employees>=`).
const BIG: f64 = 4000.0;

struct World {
    seed: u64,
    env: Env,
    sb: Sandbox,
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

fn text(out: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn array(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

fn by_id(v: &Value) -> BTreeMap<String, Value> {
    array(v)
        .into_iter()
        .map(|r| (r["id"].as_str().unwrap_or_default().to_owned(), r))
        .collect()
}

/// Contacts with e-mails unique to this seed, a third of them champions, some in the sample
/// organizations (the big ones included), a few without e-mail, some e-mails in odd case.
fn generate_contacts(seed: u64, n: usize) -> Vec<Value> {
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

// ---- the invariants ---------------------------------------------------------------------------

/// The local records, and the history, at one moment.
#[derive(Clone)]
struct Snapshot {
    contacts: BTreeMap<String, Value>,
    organizations: BTreeMap<String, Value>,
    history: Vec<Value>,
}

/// What must be in HubSpot.
#[derive(Default)]
struct Expect {
    /// Local contacts pushed by hand (`push --contact`), so marked.
    contacts: BTreeSet<String>,
    /// Local organizations pushed by hand.
    organizations: BTreeSet<String>,
    /// The automations of the fault test (`champions`, `enterprise`) exist.
    automations: bool,
}

fn primary_email(c: &Value) -> Option<String> {
    c["emails"]
        .as_array()?
        .first()?
        .as_str()
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty())
}

fn is_champion(c: &Value) -> bool {
    c["tags"].as_array().is_some_and(|t| {
        t.iter().any(|t| {
            t.as_str()
                .is_some_and(|t| t.to_lowercase().contains("champion"))
        })
    })
}

/// Organizations the `enterprise` automation selects (`employees>=BIG`).
fn big_orgs(now: &Snapshot) -> BTreeSet<String> {
    now.organizations
        .iter()
        .filter(|(_, o)| o["employees"].as_f64().is_some_and(|n| n >= BIG))
        .map(|(id, _)| id.clone())
        .collect()
}

fn in_any(c: &Value, orgs: &BTreeSet<String>) -> bool {
    c["organizations"].as_array().is_some_and(|os| {
        os.iter()
            .any(|o| o.as_str().is_some_and(|o| orgs.contains(o)))
    })
}

/// Which local contacts each automation's list must hold, by list name.
fn list_members(now: &Snapshot, expect: &Expect) -> Vec<(&'static str, BTreeSet<String>)> {
    if !expect.automations {
        return Vec::new();
    }
    let big = big_orgs(now);
    let with_email = |pred: &dyn Fn(&Value) -> bool| -> BTreeSet<String> {
        now.contacts
            .iter()
            .filter(|(_, c)| primary_email(c).is_some() && pred(c))
            .map(|(id, _)| id.clone())
            .collect()
    };
    vec![
        (CHAMPIONS, with_email(&is_champion)),
        (ENTERPRISE, with_email(&|c| in_any(c, &big))),
    ]
}

/// Every local record that must be in HubSpot: pushed by hand or selected by an automation,
/// with an e-mail (contacts) or a website (organizations).
fn pushable(now: &Snapshot, expect: &Expect) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut contacts: BTreeSet<String> = expect.contacts.clone();
    let mut orgs: BTreeSet<String> = expect.organizations.clone();
    for (_, members) in list_members(now, expect) {
        contacts.extend(members);
    }
    if expect.automations {
        orgs.extend(big_orgs(now));
    }
    contacts.retain(|id| now.contacts.get(id).and_then(primary_email).is_some());
    // Organizations sharing a domain: the first is pushed as that company, the others are
    // skipped (and say so).
    let mut first_of_domain: BTreeMap<String, String> = BTreeMap::new();
    for id in &orgs {
        let domain = now
            .organizations
            .get(id)
            .and_then(|o| o["website"].as_str())
            .and_then(hubsync::model::normalize_domain);
        if let Some(d) = domain {
            first_of_domain.entry(d).or_insert_with(|| id.clone());
        }
    }
    let orgs = first_of_domain.into_values().collect();
    (contacts, orgs)
}

/// The live (not archived, not merged) records of one kind in the sandbox's state.
fn live<'a>(state: &'a Value, kind: &str) -> Vec<&'a Value> {
    state[kind]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|r| r.get("mergedInto").is_none() && r["archived"] != json!(true))
                .collect()
        })
        .unwrap_or_default()
}

fn prop<'a>(r: &'a Value, name: &str) -> Option<&'a str> {
    r["properties"][name].as_str().filter(|s| !s.is_empty())
}

/// Every e-mail (primary and additional, lowercase) → the live contacts holding it.
fn contacts_by_email(state: &Value) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in live(state, "contacts") {
        let id = c["id"].as_str().unwrap_or_default().to_owned();
        let mut emails: BTreeSet<String> = BTreeSet::new();
        if let Some(e) = prop(c, "email") {
            emails.insert(e.trim().to_lowercase());
        }
        if let Some(more) = prop(c, "hs_additional_emails") {
            emails.extend(
                more.split(';')
                    .map(|e| e.trim().to_lowercase())
                    .filter(|e| !e.is_empty()),
            );
        }
        for e in emails {
            out.entry(e).or_default().push(id.clone());
        }
    }
    out
}

fn companies_by_domain(state: &Value) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in live(state, "companies") {
        if let Some(d) = prop(c, "domain") {
            out.entry(d.trim().to_lowercase())
                .or_default()
                .push(c["id"].as_str().unwrap_or_default().to_owned());
        }
    }
    out
}

/// No two live HubSpot contacts share an e-mail, no two companies a domain.
fn duplicates(state: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for (email, ids) in contacts_by_email(state) {
        if ids.len() > 1 {
            out.push(format!(
                "HubSpot has {} contacts with e-mail {email}: {ids:?}",
                ids.len()
            ));
        }
    }
    for (domain, ids) in companies_by_domain(state) {
        if ids.len() > 1 {
            out.push(format!(
                "HubSpot has {} companies with domain {domain}: {ids:?}",
                ids.len()
            ));
        }
    }
    out
}

/// A local value as text, the way the mapping sends it: `None` when empty.
fn sent(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()).filter(|s| !s.trim().is_empty()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().filter_map(sent).collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }
        Value::Object(_) => Some(v.to_string()),
    }
}

fn same_value(local: &str, hubspot: &str, numeric: bool) -> bool {
    if numeric {
        match (local.parse::<f64>(), hubspot.parse::<f64>()) {
            (Ok(a), Ok(b)) => (a - b).abs() < 1e-9,
            _ => false,
        }
    } else {
        local.trim() == hubspot.trim()
    }
}

/// A field path (`identities.github`) in a record as `contacts list --json` shows it.
fn at<'a>(record: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(record, |v, k| &v[k])
}

/// Local field → HubSpot property, and whether it is a number (`mappings.example.yaml`).
const CONTACT_FIELDS: [(&str, &str, bool); 7] = [
    ("displayName", "gitmesh_display_name", false),
    ("identities.github", "gitmesh_github", false),
    ("identities.twitter", "twitterhandle", false),
    ("attributes.seniorityLevel", "gitmesh_seniority", false),
    ("attributes.isHiring", "gitmesh_is_hiring", false),
    ("score", "gitmesh_score", true),
    ("tags", "gitmesh_tags", false),
];
const ORG_FIELDS: [(&str, &str, bool); 5] = [
    ("description", "gitmesh_description", false),
    ("industry", "gitmesh_industry", false),
    ("employees", "numberofemployees", true),
    ("github", "gitmesh_github", false),
    ("memberCount", "gitmesh_member_count", true),
];

fn compare_fields(
    what: &str,
    local: &Value,
    hubspot: &Value,
    fields: &[(&str, &str, bool)],
    out: &mut Vec<String>,
) {
    for (field, property, numeric) in fields {
        // An empty local value is not sent, so HubSpot may keep what it had.
        let Some(l) = sent(at(local, field)) else {
            continue;
        };
        match prop(hubspot, property) {
            Some(h) if same_value(&l, h, *numeric) => {}
            h => out.push(format!(
                "{what}: local {field} = {l:?} but HubSpot {property} = {h:?}"
            )),
        }
    }
}

/// Every pushable record is in HubSpot exactly once, linked, marked, with its mapped values;
/// every contact is associated to the companies of its synced organizations.
fn missing_or_wrong(state: &Value, now: &Snapshot, expect: &Expect) -> Vec<String> {
    let mut out = Vec::new();
    let (contacts, orgs) = pushable(now, expect);
    let by_email = contacts_by_email(state);
    let by_domain = companies_by_domain(state);
    let records: HashMap<(&str, &str), &Value> = ["contacts", "companies"]
        .into_iter()
        .flat_map(|k| {
            live(state, k)
                .into_iter()
                .map(move |r| ((k, r["id"].as_str().unwrap_or_default()), r))
        })
        .collect();
    let associations: BTreeSet<(String, String)> = array(&state["associations"])
        .iter()
        .map(|a| {
            (
                a["contact"].as_str().unwrap_or_default().to_owned(),
                a["company"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();

    // Organizations sharing a domain share one company; only one of them can own its values.
    let mut domain_count: HashMap<String, usize> = HashMap::new();
    for o in now.organizations.values() {
        if let Some(d) = o["website"]
            .as_str()
            .and_then(hubsync::model::normalize_domain)
        {
            *domain_count.entry(d).or_default() += 1;
        }
    }
    let mut company_of: HashMap<String, String> = HashMap::new();
    for id in &orgs {
        let o = &now.organizations[id];
        let domain = o["website"]
            .as_str()
            .and_then(hubsync::model::normalize_domain)
            .unwrap_or_default();
        let found = by_domain.get(&domain).cloned().unwrap_or_default();
        let [hid] = found.as_slice() else {
            out.push(format!(
                "organization {id}: HubSpot has {} companies with domain {domain}",
                found.len()
            ));
            continue;
        };
        company_of.insert(id.clone(), hid.clone());
        if o["hubspot"]["id"].as_str() != Some(hid) {
            out.push(format!(
                "organization {id}: linked to {} but its company in HubSpot is {hid}",
                o["hubspot"]["id"]
            ));
        }
        if o["hubspot"]["marked"].is_null() {
            out.push(format!("organization {id}: pushed but not marked"));
        }
        if domain_count.get(&domain) == Some(&1) {
            let c = records[&("companies", hid.as_str())];
            let what = format!("organization {id} (company {hid})");
            let name = o["name"].as_str().map(str::trim);
            if prop(c, "name").map(str::trim) != name {
                out.push(format!(
                    "{what}: local name {name:?} but HubSpot name {:?}",
                    prop(c, "name")
                ));
            }
            compare_fields(&what, o, c, &ORG_FIELDS, &mut out);
        }
    }

    for id in &contacts {
        let c = &now.contacts[id];
        let email = primary_email(c).unwrap_or_default();
        let found = by_email.get(&email).cloned().unwrap_or_default();
        let [hid] = found.as_slice() else {
            out.push(format!(
                "contact {id}: HubSpot has {} contacts with e-mail {email}",
                found.len()
            ));
            continue;
        };
        if c["hubspot"]["id"].as_str() != Some(hid) {
            out.push(format!(
                "contact {id}: linked to {} but its HubSpot contact is {hid}",
                c["hubspot"]["id"]
            ));
        }
        if c["hubspot"]["marked"].is_null() {
            out.push(format!("contact {id}: pushed but not marked"));
        }
        let h = records[&("contacts", hid.as_str())];
        compare_fields(
            &format!("contact {id} ({hid})"),
            c,
            h,
            &CONTACT_FIELDS,
            &mut out,
        );
        for org in c["organizations"].as_array().into_iter().flatten() {
            let Some(company) = org.as_str().and_then(|o| company_of.get(o)) else {
                continue;
            };
            if !associations.contains(&(hid.clone(), company.clone())) {
                out.push(format!(
                    "contact {id} ({hid}) is not associated to company {company} of {org}"
                ));
            }
        }
    }
    out
}

/// Each automation's list holds exactly the HubSpot contacts of the local records it selects.
fn list_problems(state: &Value, now: &Snapshot, expect: &Expect) -> Vec<String> {
    let mut out = Vec::new();
    let by_email = contacts_by_email(state);
    for (name, locals) in list_members(now, expect) {
        let expected: BTreeSet<String> = locals
            .iter()
            .filter_map(|id| primary_email(&now.contacts[id]))
            .filter_map(|e| by_email.get(&e).and_then(|ids| ids.first()).cloned())
            .collect();
        let Some(list) = array(&state["lists"])
            .into_iter()
            .find(|l| l["name"] == json!(name))
        else {
            out.push(format!("HubSpot has no list {name}"));
            continue;
        };
        let actual: BTreeSet<String> = array(&list["members"])
            .iter()
            .filter_map(|m| m.as_str().map(str::to_owned))
            .collect();
        let missing: Vec<_> = expected.difference(&actual).collect();
        let extra: Vec<_> = actual.difference(&expected).collect();
        if !missing.is_empty() {
            out.push(format!("list {name} misses {missing:?}"));
        }
        if !extra.is_empty() {
            out.push(format!(
                "list {name} holds contacts it should not: {extra:?}"
            ));
        }
    }
    out
}

/// A value as history and `list --json` show it, with "empty" as `None`.
fn norm(v: Option<&Value>) -> Option<Value> {
    match v? {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::Array(a) if a.is_empty() => None,
        Value::Object(o) if o.is_empty() => None,
        Value::Number(n) => n.as_f64().map(|f| json!(f)),
        other => Some(other.clone()),
    }
}

/// The fields of a record as `path → value` (`identities.github`), without its HubSpot link.
fn fields(record: Option<&Value>) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let Some(Value::Object(map)) = record else {
        return out;
    };
    for (k, v) in map {
        match (k.as_str(), v) {
            ("hubspot", _) => {}
            ("identities" | "attributes", Value::Object(inner)) => {
                for (ik, iv) in inner {
                    out.insert(format!("{k}.{ik}"), iv.clone());
                }
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

/// Every local field that differs between `before` and `now` is explained by the history
/// entries recorded since `before`, in order: the first one's `old` is the value before, each
/// `new` is the next one's `old`, and the last `new` is the value now. Records are never
/// created or deleted by a run.
fn unexplained(before: &Snapshot, now: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    if now.history.len() < before.history.len()
        || now.history[..before.history.len()] != before.history[..]
    {
        out.push("history entries recorded before were changed or removed".to_owned());
        return out;
    }
    let mut entries: BTreeMap<(String, String), BTreeMap<String, Vec<&Value>>> = BTreeMap::new();
    for e in &now.history[before.history.len()..] {
        entries
            .entry((
                e["entity"].as_str().unwrap_or_default().to_owned(),
                e["id"].as_str().unwrap_or_default().to_owned(),
            ))
            .or_default()
            .entry(e["field"].as_str().unwrap_or_default().to_owned())
            .or_default()
            .push(e);
    }
    for (entity, was, is) in [
        ("contact", &before.contacts, &now.contacts),
        ("organization", &before.organizations, &now.organizations),
    ] {
        let ids: BTreeSet<&String> = was.keys().chain(is.keys()).collect();
        for id in ids {
            if was.contains_key(id) != is.contains_key(id) {
                out.push(format!(
                    "{entity} {id} was {}",
                    if is.contains_key(id) {
                        "added"
                    } else {
                        "removed"
                    }
                ));
                continue;
            }
            let (a, b) = (fields(was.get(id)), fields(is.get(id)));
            let recorded = entries
                .remove(&(entity.to_owned(), id.clone()))
                .unwrap_or_default();
            let names: BTreeSet<&String> =
                a.keys().chain(b.keys()).chain(recorded.keys()).collect();
            for f in names {
                let (old, new) = (norm(a.get(f)), norm(b.get(f)));
                let chain = recorded.get(f).map(Vec::as_slice).unwrap_or_default();
                let Some((first, last)) = chain.first().zip(chain.last()) else {
                    if old != new {
                        out.push(format!(
                            "{entity} {id}: {f} changed {old:?} → {new:?} with no history entry"
                        ));
                    }
                    continue;
                };
                let linked = chain
                    .windows(2)
                    .all(|w| norm(w[0].get("new")) == norm(w[1].get("old")));
                if norm(first.get("old")) != old || norm(last.get("new")) != new || !linked {
                    out.push(format!(
                        "{entity} {id}: {f} went {old:?} → {new:?} but history says {:?}",
                        chain
                            .iter()
                            .map(|e| format!("{} → {}", e["old"], e["new"]))
                            .collect::<Vec<_>>()
                    ));
                }
            }
        }
    }
    for ((entity, id), _) in entries {
        out.push(format!(
            "history names {entity} {id}, which is not in the store"
        ));
    }
    out
}

/// Every invariant, against the live sandbox and store.
fn problems(w: &World, before: &Snapshot, expect: &Expect) -> Vec<String> {
    let now = w.snapshot();
    let state = w.sb.state();
    let mut out = duplicates(&state);
    out.extend(missing_or_wrong(&state, &now, expect));
    out.extend(list_problems(&state, &now, expect));
    out.extend(unexplained(before, &now));
    out
}

fn assert_invariants(w: &World, before: &Snapshot, expect: &Expect, context: &str) {
    let found = problems(w, before, expect);
    if !found.is_empty() {
        let shown: Vec<&String> = found.iter().take(25).collect();
        w.fail(format!(
            "{context}: {} invariant violations (first {}):\n  {}",
            found.len(),
            shown.len(),
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n  ")
        ));
    }
}

/// Once a run has finished, the next `sync` (nothing changed on either side) writes nothing.
fn assert_nothing_left_to_send(w: &World, context: &str) {
    let base = w.sb.requests().len();
    w.ok(&["sync"]);
    let writes: Vec<String> = w.sb.requests()[base..]
        .iter()
        .filter(|r| {
            r.method != "GET" && !r.path.ends_with("/search") && !r.path.ends_with("/batch/read")
        })
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    if !writes.is_empty() {
        w.fail(format!(
            "{context}: a sync with nothing changed still wrote to HubSpot: {writes:?}"
        ));
    }
}

/// The store opens, passes `PRAGMA integrity_check`, and `hubsync status` exits 0.
fn assert_store_intact(w: &World) {
    let conn = rusqlite::Connection::open(w.env.db())
        .unwrap_or_else(|e| w.fail(format!("the store does not open: {e}")));
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap_or_else(|e| w.fail(format!("integrity_check failed to run: {e}")));
    if check != "ok" {
        w.fail(format!("PRAGMA integrity_check: {check}"));
    }
    drop(conn);
    w.ok(&["status"]);
}

// ---- 1. seeded faults over full sync cycles ---------------------------------------------------

/// Cycles run with scheduled faults (daily limit, 429 bursts, drops, token expiry); later
/// cycles keep only random 5xx and slow 504s.
const FAULTY_CYCLES: usize = 3;
const MAX_CYCLES: usize = 8;

/// What one cycle faces.
#[derive(Debug, Default)]
struct CyclePlan {
    faults: FaultPlan,
    expire_before: bool,
    /// Expire every access token once the sandbox has answered this many requests of the run.
    expire_at: Option<usize>,
    /// `Some(Some(n))`: a daily limit of `n` requests starts; `Some(None)`: the day rolls over.
    daily: Option<Option<u64>>,
}

fn plans(seed: u64) -> Vec<CyclePlan> {
    let mut rng = StdRng::seed_from_u64(seed);
    let daily_from = rng.gen_range(0..2);
    let daily_until = daily_from + rng.gen_range(1..=2);
    // A 429 pauses the whole client for a 10-second window: one burst per seed.
    let burst_cycle = rng.gen_range(0..FAULTY_CYCLES);
    (0..MAX_CYCLES)
        .map(|cycle| {
            let mut faults = FaultPlan::none().with_random(RandomFaults {
                seed: seed.wrapping_mul(31).wrapping_add(cycle as u64),
                server_error: 0.08,
                rate_limited: 0.0,
                timeout: 0.04,
                hang: Duration::from_millis(rng.gen_range(100..600)),
            });
            let mut plan = CyclePlan::default();
            if cycle < FAULTY_CYCLES {
                let n = rng.gen_range(2..16);
                faults = faults.then(n, n, Fault::Drop);
                // A write carried out whose answer is lost.
                let n = rng.gen_range(2..16);
                faults = faults.then(
                    n,
                    n,
                    Fault::Applied {
                        then: Box::new(if rng.gen_bool(0.5) {
                            Fault::Status { status: 504 }
                        } else {
                            Fault::Drop
                        }),
                    },
                );
                if cycle == burst_cycle {
                    let n = rng.gen_range(2..12);
                    faults = faults.then(n, n + rng.gen_range(0..2), Fault::RateLimited);
                }
                if rng.gen_bool(0.3) {
                    let n = rng.gen_range(3..16);
                    faults = faults.then(n, n, Fault::DailyLimited);
                }
                // One expiry per run, before it or in its middle: an access token lives 30
                // minutes, so the one refreshed after a 401 cannot expire in the same run (the
                // client refreshes once per 401 and then takes a refusal as a revoked
                // connection, exit 4).
                match rng.gen_range(0..3) {
                    0 => plan.expire_before = true,
                    1 => plan.expire_at = Some(rng.gen_range(2..16)),
                    _ => {}
                }
            }
            if cycle == daily_from {
                // A sync of this community makes 10 to 25 requests.
                plan.daily = Some(Some(rng.gen_range(2..15)));
            } else if cycle == daily_until {
                plan.daily = Some(None);
            }
            plan.faults = faults;
            plan
        })
        .collect()
}

/// The last value given to a two-way contact field on either side: (local id, field) → value.
type LastEdits = BTreeMap<(String, String), String>;

const SENIORITY: [&str; 5] = ["Junior", "Mid", "Senior", "Lead", "Executive"];

/// The local field a HubSpot property edited by the fault test maps to.
fn field_of(property: &str) -> &'static str {
    match property {
        "gitmesh_display_name" => "displayName",
        "gitmesh_seniority" => "attributes.seniorityLevel",
        _ => "identities.github",
    }
}

/// HubSpot users edit contacts and companies hubsync pushed: mapped fields only.
fn edit_in_hubspot(
    w: &World,
    rng: &mut StdRng,
    now: &Snapshot,
    round: u32,
    edits: &mut LastEdits,
) -> Vec<(String, String)> {
    let seniority = SENIORITY;
    let mut edited = Vec::new();
    let linked: Vec<(&String, &str)> = now
        .contacts
        .iter()
        .filter_map(|(id, c)| Some((id, c["hubspot"]["id"].as_str()?)))
        .collect();
    for _ in 0..25 {
        let (id, hid) = linked[rng.gen_range(0..linked.len())];
        let props = if rng.gen_bool(0.5) {
            json!({"gitmesh_display_name": format!("Edited {round} {id}")})
        } else {
            json!({
                "gitmesh_seniority": seniority[rng.gen_range(0..5)],
                "gitmesh_github": format!("edited-{round}-{id}"),
            })
        };
        w.sb.edit_record("contacts", hid, &props)
            .unwrap_or_else(|e| w.fail(format!("edit contact {hid}: {e}")));
        for (property, value) in props.as_object().into_iter().flatten() {
            let field = field_of(property).to_owned();
            let value = value.as_str().unwrap_or_default().to_owned();
            edits.insert((id.clone(), field.clone()), value);
            edited.push((id.clone(), field));
        }
    }
    let companies: Vec<&str> = now
        .organizations
        .values()
        .filter_map(|o| o["hubspot"]["id"].as_str())
        .collect();
    for _ in 0..5 {
        let hid = companies[rng.gen_range(0..companies.len())];
        w.sb.edit_record(
            "companies",
            hid,
            &json!({"gitmesh_description": format!("Edited in HubSpot, round {round}")}),
        )
        .unwrap_or_else(|e| w.fail(format!("edit company {hid}: {e}")));
    }
    edited
}

/// Users edit marked contacts locally too (an import), on random fields of random records,
/// and sometimes the very field HubSpot's users just edited.
fn edit_locally(
    w: &World,
    rng: &mut StdRng,
    expect: &Expect,
    round: u32,
    hubspot_edited: &[(String, String)],
    edits: &mut LastEdits,
) {
    let marked: Vec<&String> = expect.contacts.iter().collect();
    let mut targets: Vec<(String, String)> = Vec::new();
    for _ in 0..20 {
        let field = [
            "displayName",
            "identities.github",
            "attributes.seniorityLevel",
        ][rng.gen_range(0..3)];
        targets.push((
            marked[rng.gen_range(0..marked.len())].clone(),
            field.to_owned(),
        ));
    }
    // Both sides, the same field.
    for _ in 0..8 {
        let (id, field) = &hubspot_edited[rng.gen_range(0..hubspot_edited.len())];
        if expect.contacts.contains(id) {
            targets.push((id.clone(), field.clone()));
        }
    }
    let now = w.snapshot();
    let mut records: BTreeMap<String, Value> = BTreeMap::new();
    for (id, field) in targets {
        let value = match field.as_str() {
            "attributes.seniorityLevel" => {
                // An edit changes the value (the same value again is no edit at all).
                let current = at(&now.contacts[&id], &field).as_str().unwrap_or_default();
                let options: Vec<&str> = SENIORITY.into_iter().filter(|s| *s != current).collect();
                options[rng.gen_range(0..options.len())].to_owned()
            }
            "displayName" => format!("Local {round} {id}"),
            _ => format!("local-{round}-{id}"),
        };
        let r = records
            .entry(id.clone())
            .or_insert_with(|| json!({"id": id}));
        match field.split_once('.') {
            Some((group, key)) => {
                r[group][key] = json!(value);
            }
            None => r[field.as_str()] = json!(value),
        }
        edits.insert((id, field), value);
    }
    let lines: String = records.values().map(|r| format!("{r}\n")).collect();
    let file = w.env.write(&format!("local-edits-{round}.ndjson"), &lines);
    w.import("contacts", &file);
}

/// After edits on both sides: every edited field holds the same value locally and in HubSpot,
/// and that value is the last edit made on either side, or a conflict on that field is in the
/// history (edited on both sides since they last agreed; HubSpot's value won).
fn lost_edits(w: &World, now: &Snapshot, edits: &LastEdits) -> Vec<String> {
    let mut out = Vec::new();
    let conflicts: BTreeSet<(String, String)> = now
        .history
        .iter()
        .filter(|e| e["conflict"].is_object())
        .map(|e| {
            (
                e["id"].as_str().unwrap_or_default().to_owned(),
                e["field"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    for ((id, field), last) in edits {
        let Some(c) = now.contacts.get(id) else {
            out.push(format!("contact {id} is gone"));
            continue;
        };
        let local = at(c, field).as_str().unwrap_or_default().to_owned();
        let property = match field.as_str() {
            "displayName" => "gitmesh_display_name",
            "attributes.seniorityLevel" => "gitmesh_seniority",
            _ => "gitmesh_github",
        };
        if let Some(hid) = c["hubspot"]["id"].as_str() {
            let record = w.sb.record("contacts", hid);
            let remote = prop(&record, property).unwrap_or_default();
            if remote != local {
                out.push(format!(
                    "contact {id} {field}: {local:?} here but {remote:?} in HubSpot"
                ));
            }
        }
        if local != *last && !conflicts.contains(&(id.clone(), field.clone())) {
            let log: Vec<String> = now
                .history
                .iter()
                .filter(|e| e["id"] == json!(id) && e["field"] == json!(field))
                .map(|e| format!("run {}: {} → {}", e["run_id"], e["old"], e["new"]))
                .collect();
            out.push(format!(
                "contact {id} {field}: the last edit {last:?} was lost (now {local:?}) and no conflict was reported; history: {log:?}"
            ));
        }
    }
    out
}

/// The community, pushed in part, with local and HubSpot-side changes waiting and two
/// automations not run yet.
fn fault_world(seed: u64) -> (World, Expect) {
    let cfg = SandboxConfig {
        latency: Duration::from_millis(2),
        daily_limit: None,
        ..SandboxConfig::default()
    };
    let w = World::new(seed, cfg, 400);
    let mut rng = StdRng::seed_from_u64(seed ^ 0xfa17);
    w.sb.create_list(CHAMPIONS, "MANUAL", &[]).expect("list");
    w.sb.create_list(ENTERPRISE, "SNAPSHOT", &[]).expect("list");

    // Push half the organizations and a random part of the sample contacts by hand; the
    // `enterprise` automation creates the other big ones under faults.
    let start = w.snapshot();
    let mut expect = Expect {
        automations: true,
        ..Expect::default()
    };
    let mut args: Vec<String> = vec!["push".into()];
    for id in start.organizations.keys() {
        if rng.gen_bool(0.5) {
            args.extend(["--organization".into(), id.clone()]);
            expect.organizations.insert(id.clone());
        }
    }
    for id in start.contacts.keys().filter(|id| id.starts_with("c-")) {
        if rng.gen_bool(0.4) {
            args.extend(["--contact".into(), id.clone()]);
            expect.contacts.insert(id.clone());
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    w.ok(&args);

    // Local changes to marked records: `sync` must push them.
    let pushed = w.snapshot();
    let renamed: Vec<&String> = pushed
        .contacts
        .keys()
        .filter(|id| expect.contacts.contains(*id))
        .filter(|_| rng.gen_bool(0.3))
        .collect();
    let changed: Vec<Value> = renamed
        .into_iter()
        .map(|id| {
            let score = rng.gen_range(100..200);
            json!({"id": id, "displayName": format!("Renamed {id}"), "score": score})
        })
        .collect();
    let lines: String = changed.iter().map(|c| format!("{c}\n")).collect();
    let file = w.env.write("changed.ndjson", &lines);
    w.import("contacts", &file);
    let orgs: Vec<Value> = pushed
        .organizations
        .keys()
        .filter(|_| rng.gen_bool(0.2))
        .map(|id| json!({"id": id, "description": format!("Changed locally {id}")}))
        .collect();
    let lines: String = orgs.iter().map(|o| format!("{o}\n")).collect();
    let file = w.env.write("orgs.ndjson", &lines);
    w.import("organizations", &file);

    // HubSpot-side edits: the pull has work (some on records changed locally too).
    edit_in_hubspot(&w, &mut rng, &pushed, 1, &mut LastEdits::new());

    add_automations(&w, true);
    (w, expect)
}

/// `champions`: contacts tagged champion, into the static list `CHAMPIONS`; run at once unless
/// `no_run`.
fn add_champions(w: &World, no_run: bool) {
    let mut args = vec![
        "automate",
        "add",
        "champions",
        "--entity",
        "contacts",
        "--filter",
        "tags~champion",
        "--list",
        CHAMPIONS,
    ];
    if no_run {
        args.push("--no-run");
    }
    w.ok(&args);
}

/// `champions` and `enterprise` (organizations with `employees>=BIG`, with their contacts);
/// run at once unless `no_run`.
fn add_automations(w: &World, no_run: bool) {
    add_champions(w, no_run);
    let big = format!("employees>={BIG}");
    let mut args = vec![
        "automate",
        "add",
        "enterprise",
        "--entity",
        "organizations",
        "--filter",
        &big,
        "--sync-contacts",
        "--list",
        ENTERPRISE,
    ];
    if no_run {
        args.push("--no-run");
    }
    w.ok(&args);
}

/// Runs `hubsync sync`, expiring every access token once the sandbox has answered
/// `expire_at` requests of it.
fn sync_once(w: &World, expire_at: Option<usize>) -> Output {
    let base = w.sb.requests().len();
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        if let Some(at) = expire_at {
            let done = &done;
            s.spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    if w.sb.requests().len() >= base + at {
                        w.sb.expire_all_access_tokens();
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            });
        }
        let out = w.run(&["sync"]);
        done.store(true, Ordering::Relaxed);
        out
    })
}

fn fault_cycles(seed: u64) {
    let started = Instant::now();
    let (w, expect) = fault_world(seed);
    let mut before = w.snapshot();
    let mut edits = LastEdits::new();
    eprintln!(
        "seed {seed}: set up in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let mut rng = StdRng::seed_from_u64(seed ^ 0xed17);
    let mut codes = Vec::new();
    let mut daily_on = false;
    for (cycle, plan) in plans(seed).into_iter().enumerate() {
        if cycle == 1 {
            // Users keep editing between cron runs, on both sides.
            let hubspot = edit_in_hubspot(&w, &mut rng, &w.snapshot(), 2, &mut edits);
            // Every local change so far is explained by the history; then the local edits
            // start a new baseline.
            let found = unexplained(&before, &w.snapshot());
            if !found.is_empty() {
                w.fail(format!("after cycle 0: {found:?}"));
            }
            edit_locally(&w, &mut rng, &expect, 2, &hubspot, &mut edits);
            before = w.snapshot();
        }
        match plan.daily {
            Some(Some(n)) => {
                w.sb.set_daily_limit(Some(n));
                daily_on = true;
            }
            Some(None) => {
                w.sb.set_daily_limit(None);
                daily_on = false;
            }
            None => {}
        }
        if plan.expire_before {
            w.sb.expire_all_access_tokens();
        }
        w.sb.set_faults(plan.faults.clone());
        let sent = w.sb.requests().len();
        let out = sync_once(&w, plan.expire_at);
        let code = out.status.code();
        codes.push(code);
        eprintln!(
            "seed {seed}: cycle {cycle} exited {code:?} after {} requests; {plan:?}",
            w.sb.requests().len() - sent
        );
        // 0 done, 3 some records failed (retried next run), 75 try later. Nothing else: the
        // faults are all transient, so exit 1 (or 4, or a crash) would be a bug.
        if !matches!(code, Some(0 | 3 | 75)) {
            w.fail(format!(
                "cycle {cycle} ({plan:?}) exited {code:?}; exit codes so far {codes:?}\n{}",
                text(&out)
            ));
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("panicked") {
            w.fail(format!("cycle {cycle} panicked\n{}", text(&out)));
        }
        if cycle + 1 >= FAULTY_CYCLES && code == Some(0) && !daily_on {
            break;
        }
        if cycle + 1 == MAX_CYCLES {
            w.fail(format!(
                "sync did not finish with exit 0 in {MAX_CYCLES} cycles: {codes:?}\n{}",
                text(&out)
            ));
        }
    }
    w.sb.set_faults(FaultPlan::none());
    // The cycles met faults (the request log holds every answer, hung ones included).
    let mut answers: BTreeMap<u16, usize> = BTreeMap::new();
    for r in w.sb.requests() {
        *answers.entry(r.status).or_default() += 1;
    }
    let faulty: usize = answers.range(401..).map(|(_, n)| n).sum();
    if faulty == 0 {
        w.fail(format!("the cycles met no fault at all: {answers:?}"));
    }
    // The scheduled 429s (burst or daily) and the server errors did happen.
    for status in [429, 504] {
        if !answers.contains_key(&status) {
            w.fail(format!(
                "no {status} was answered in the cycles: {answers:?}"
            ));
        }
    }
    let context = format!("after sync cycles {codes:?}");
    assert_invariants(&w, &before, &expect, &context);
    let lost = lost_edits(&w, &w.snapshot(), &edits);
    if !lost.is_empty() {
        w.fail(format!("{context}: edits lost:\n  {}", lost.join("\n  ")));
    }
    assert_nothing_left_to_send(&w, &context);
    eprintln!(
        "seed {seed}: sync exit codes {codes:?}, answers by status {answers:?}, {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn sync_cycles_under_seeded_faults_converge_with_nothing_lost_duplicated_or_unrecorded() {
    for_each_seed(&seeds(&[1, 7, 10]), fault_cycles);
}

// ---- 2. kill -9 in the middle of push and pull ------------------------------------------------

/// Starts `hubsync ARGS`, kills it (SIGKILL) once `ready()` says so, and returns how many
/// sandbox requests it had made. Fails if it finished before.
fn kill_when(w: &World, args: &[String], what: &str, ready: impl Fn() -> bool) -> usize {
    let base = w.sb.requests().len();
    let mut child = w.spawn(args);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            w.fail(format!(
                "{what}: `hubsync {}` finished ({status}) before the kill point; the kill \
                 points assume a run of many requests and, for pull, commits in several \
                 transactions",
                args[0]
            ));
        }
        if ready() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            w.fail(format!("{what}: the kill point was never reached"));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().expect("kill -9");
    let _ = child.wait();
    w.sb.requests().len() - base
}

/// Kills `hubsync ARGS` once the sandbox has answered `n` more requests.
fn kill_at_request(w: &World, args: &[String], what: &str, n: usize) -> usize {
    let base = w.sb.requests().len();
    kill_when(w, args, what, || w.sb.requests().len() >= base + n)
}

fn history_rows(w: &World) -> i64 {
    rusqlite::Connection::open(w.env.db())
        .and_then(|c| c.query_row("SELECT count(*) FROM history", [], |r| r.get(0)))
        .unwrap_or(0)
}

fn crash_push_and_pull(seed: u64) {
    let started = Instant::now();
    let cfg = SandboxConfig {
        latency: Duration::from_millis(40),
        daily_limit: None,
        ..SandboxConfig::default()
    };
    // 1,200 generated contacts and the sample: 15 batches of upserts.
    let w = World::new(seed, cfg, 1200);
    let mut rng = StdRng::seed_from_u64(seed ^ 0xc4a5);
    let before = w.snapshot();
    let expect = Expect {
        contacts: before.contacts.keys().cloned().collect(),
        organizations: before.organizations.keys().cloned().collect(),
        automations: false,
    };
    let mut push: Vec<String> = vec!["push".into()];
    for id in before.organizations.keys() {
        push.extend(["--organization".into(), id.clone()]);
    }
    for id in before.contacts.keys() {
        push.extend(["--contact".into(), id.clone()]);
    }

    // Killed twice, at seeded request numbers, then run to the end.
    let first = rng.gen_range(3..=14);
    let second = rng.gen_range(1..=8);
    let made = [
        kill_at_request(&w, &push, "push, first kill", first),
        kill_at_request(&w, &push, "push, second kill", second),
    ];
    let out = w.run(&push.iter().map(String::as_str).collect::<Vec<_>>());
    if out.status.code() != Some(0) {
        w.fail(format!(
            "push after kills at requests {made:?} exited {:?}\n{}",
            out.status.code(),
            text(&out)
        ));
    }
    assert_invariants(
        &w,
        &before,
        &expect,
        &format!("push killed at requests {made:?}"),
    );
    assert_store_intact(&w);

    // HubSpot users edit every pushed contact and company; `pull` is killed while reading,
    // then again once it has committed part of the changes, then run to the end.
    let pushed = w.snapshot();
    let seniority = ["Junior", "Mid", "Senior", "Lead", "Executive"];
    for (id, c) in &pushed.contacts {
        let Some(hid) = c["hubspot"]["id"].as_str() else {
            continue;
        };
        let mut props = json!({"gitmesh_display_name": format!("Pulled {seed} {id}")});
        if rng.gen_bool(0.3) {
            props["gitmesh_seniority"] = json!(seniority[rng.gen_range(0..5)]);
        }
        w.sb.edit_record("contacts", hid, &props)
            .unwrap_or_else(|e| w.fail(format!("edit contact {hid}: {e}")));
    }
    for (id, o) in &pushed.organizations {
        if let Some(hid) = o["hubspot"]["id"].as_str() {
            let props = json!({"gitmesh_description": format!("Pulled {seed} {id}")});
            w.sb.edit_record("companies", hid, &props)
                .unwrap_or_else(|e| w.fail(format!("edit company {hid}: {e}")));
        }
    }
    let pull: Vec<String> = vec!["pull".into()];
    // The first pull reads 1,400 contacts in pages of up to 200 searches.
    let reading = rng.gen_range(1..=6);
    let read_made = kill_at_request(&w, &pull, "pull, kill while reading", reading);
    let rows = history_rows(&w);
    kill_when(&w, &pull, "pull, kill while committing", || {
        history_rows(&w) > rows
    });
    let partly = history_rows(&w) - rows;
    let out = w.run(&["pull"]);
    if out.status.code() != Some(0) {
        w.fail(format!(
            "pull after kills exited {:?}\n{}",
            out.status.code(),
            text(&out)
        ));
    }
    let context =
        format!("pull killed at request {read_made}, then with {partly} history entries committed");
    assert_invariants(&w, &pushed, &expect, &context);
    let now = w.snapshot();
    for (id, c) in &now.contacts {
        if c["hubspot"]["id"].is_string()
            && c["displayName"] != json!(format!("Pulled {seed} {id}"))
        {
            w.fail(format!(
                "{context}: contact {id} did not get its HubSpot edit: {}",
                c["displayName"]
            ));
        }
    }
    assert_store_intact(&w);

    // Two automations fill their lists from `sync`, killed among its list additions.
    w.sb.create_list(CHAMPIONS, "MANUAL", &[]).expect("list");
    w.sb.create_list(ENTERPRISE, "SNAPSHOT", &[]).expect("list");
    add_automations(&w, true);
    let pulled = w.snapshot();
    let sync: Vec<String> = vec!["sync".into()];
    let at = rng.gen_range(8..=18);
    let sync_made = kill_at_request(&w, &sync, "sync, kill among list additions", at);
    w.ok(&["sync"]);
    let expect = Expect {
        automations: true,
        ..expect
    };
    let context_sync = format!("sync killed at request {sync_made}");
    assert_invariants(&w, &pulled, &expect, &context_sync);
    assert_nothing_left_to_send(&w, &context_sync);
    assert_store_intact(&w);
    eprintln!(
        "seed {seed}: push killed at requests {made:?}, {context}, sync killed at request \
         {sync_made}; {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn push_and_pull_killed_at_seeded_points_and_run_again_lose_and_duplicate_nothing() {
    for_each_seed(&seeds(&[11, 12, 13]), crash_push_and_pull);
}

// ---- the checker itself -------------------------------------------------------------------------

fn assert_reports(w: &World, found: &[String], needle: &str, planted: &str) {
    if !found.iter().any(|p| p.contains(needle)) {
        w.fail(format!(
            "the checker missed {planted}: no problem mentions `{needle}`; it reported {found:#?}"
        ));
    }
}

#[test]
fn the_invariant_checker_reports_duplicates_missing_records_wrong_values_list_errors_and_unrecorded_changes(
) {
    let w = World::new(99, SandboxConfig::unlimited(), 40);
    w.sb.create_list(CHAMPIONS, "MANUAL", &[]).expect("list");
    w.sb.create_list(ENTERPRISE, "SNAPSHOT", &[]).expect("list");
    let start = w.snapshot();
    let hand: Vec<String> = start.contacts.keys().take(30).cloned().collect();
    let mut args: Vec<&str> = vec!["push", "--organization", "org-00004"];
    for id in &hand {
        args.extend(["--contact", id]);
    }
    w.ok(&args);
    add_automations(&w, false);
    let expect = Expect {
        contacts: hand.iter().cloned().collect(),
        organizations: ["org-00004".to_owned()].into(),
        automations: true,
    };
    let before = w.snapshot();
    let found = problems(&w, &before, &expect);
    if !found.is_empty() {
        w.fail(format!("a clean push reports problems: {found:#?}"));
    }

    // A duplicate contact, a company twice, a list with one member too many and one too few.
    let now = w.snapshot();
    let (c, o) = pushable(&now, &expect);
    let (victim, company) = (
        c.iter().next().expect("a contact"),
        o.iter().next().expect("an org"),
    );
    let hid = now.contacts[victim]["hubspot"]["id"]
        .as_str()
        .expect("linked")
        .to_owned();
    let chid = now.organizations[company]["hubspot"]["id"]
        .as_str()
        .expect("linked")
        .to_owned();
    let mut state = w.sb.state();
    let copy = |kind: &str, id: &str, state: &mut Value| {
        let mut r = array(&state[kind])
            .into_iter()
            .find(|r| r["id"] == json!(id))
            .expect("record");
        r["id"] = json!("424242");
        state[kind].as_array_mut().expect("records").push(r);
    };
    copy("contacts", &hid, &mut state);
    copy("companies", &chid, &mut state);
    let found = duplicates(&state);
    assert_reports(&w, &found, "2 contacts with e-mail", "a duplicated contact");
    assert_reports(
        &w,
        &found,
        "2 companies with domain",
        "a duplicated company",
    );
    let found = missing_or_wrong(&state, &now, &expect);
    assert_reports(
        &w,
        &found,
        &format!("contact {victim}: HubSpot has 2"),
        "a duplicated contact",
    );
    let champions = list_members(&now, &expect)[0].1.clone();
    let member = champions.iter().next().expect("a champion");
    let member_hid = now.contacts[member]["hubspot"]["id"]
        .as_str()
        .expect("linked")
        .to_owned();
    let mut state = w.sb.state();
    for l in state["lists"].as_array_mut().expect("lists") {
        if l["name"] == json!(CHAMPIONS) {
            let members = l["members"].as_array_mut().expect("members");
            members.retain(|m| *m != json!(member_hid));
            members.push(json!("5003"));
        }
    }
    let found = list_problems(&state, &now, &expect);
    assert_reports(
        &w,
        &found,
        &format!("misses [\"{member_hid}\"]"),
        "a missing member",
    );
    assert_reports(&w, &found, "should not: [\"5003\"]", "an extra member");

    // In HubSpot for real: a value changed behind hubsync's back, a contact deleted.
    let other = c.iter().nth(1).expect("a second contact");
    let other_hid = now.contacts[other]["hubspot"]["id"]
        .as_str()
        .expect("linked")
        .to_owned();
    w.sb.edit_record(
        "contacts",
        &other_hid,
        &json!({"gitmesh_display_name": "Tampered"}),
    )
    .expect("edit");
    w.sb.archive("contacts", &hid).expect("archive");
    // In the store for real: a field changed without a history entry.
    let third = c.iter().nth(2).expect("a third contact");
    let file = w.env.write(
        "sneaky.ndjson",
        &format!(
            "{}\n",
            json!({"id": third, "identities": {"github": "changed-quietly"}})
        ),
    );
    w.import("contacts", &file);
    let found = problems(&w, &before, &expect);
    assert_reports(
        &w,
        &found,
        &format!("contact {victim}: HubSpot has 0"),
        "a deleted contact",
    );
    assert_reports(
        &w,
        &found,
        "HubSpot gitmesh_display_name = Some(\"Tampered\")",
        "a changed value",
    );
    assert_reports(
        &w,
        &found,
        &format!("contact {third}: identities.github changed"),
        "a local change without history",
    );
}

/// Found by the fault cycles: the list check before an automation turned a daily limit (or a
/// refused token) into a plain error, exit 1, where the next run would have resumed.
#[test]
fn a_daily_limit_met_while_checking_an_automations_list_exits_75() {
    let w = World::new(21, SandboxConfig::unlimited(), 0);
    w.sb.create_list(CHAMPIONS, "MANUAL", &[]).expect("list");
    add_champions(&w, true);
    // `automate run` first checks the list: that request meets the daily limit.
    w.sb.set_faults(FaultPlan::none().then(1, 1, Fault::DailyLimited));
    let out = w.run(&["automate", "run"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{}", text(&out));
    assert!(
        stderr.contains("automation `champions`") && stderr.contains("daily"),
        "{stderr}"
    );
    // The next run finishes.
    w.ok(&["automate", "run"]);
}

/// The client gives up on a request after 60 seconds (not configurable), so this test waits
/// that long once: a company create that never gets an answer times out, is checked by domain
/// before it is sent again, and the push finishes without a second company.
#[test]
fn a_company_create_that_never_gets_an_answer_times_out_and_is_not_duplicated() {
    let w = World::new(41, SandboxConfig::unlimited(), 0);
    let orgs = w.snapshot().organizations;
    let mut args: Vec<&str> = vec!["push"];
    for id in orgs.keys() {
        args.extend(["--organization", id]);
    }
    // Request 1: the domain search; 2: the update of the company HubSpot has; 3: the create.
    w.sb.set_faults(FaultPlan::none().then(
        3,
        3,
        Fault::Hang {
            duration: Duration::from_secs(90),
        },
    ));
    let started = Instant::now();
    let out = w.run(&args);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        took < Duration::from_secs(85),
        "the push waited {took:?}, as long as the hung request: the client has no timeout"
    );
    let state = w.sb.state();
    let dup = duplicates(&state);
    assert!(dup.is_empty(), "{dup:?}");
    // The hung create is logged only when the sandbox answers it; before the second create,
    // the domains were searched again.
    let log: Vec<String> =
        w.sb.requests()
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r.method,
                    r.path.rsplit("2026-03/").next().unwrap_or("")
                )
            })
            .collect();
    assert_eq!(
        log,
        [
            "POST companies/search",
            "POST companies/batch/update",
            "POST companies/search",
            "POST companies/batch/create"
        ],
        "{log:?}"
    );
    let expect = Expect {
        organizations: orgs.keys().cloned().collect(),
        ..Expect::default()
    };
    let found = missing_or_wrong(&state, &w.snapshot(), &expect);
    assert!(found.is_empty(), "{found:#?}");
}

/// A value `pull` brings in must not be pushed straight back to HubSpot: that would double the
/// writes after every pull, and overwrite an edit made in HubSpot between the pull's read and
/// the push (inside one `sync`, seconds to minutes at scale).
#[test]
fn a_value_pulled_from_hubspot_is_not_pushed_back_over_a_newer_edit() {
    let w = World::new(31, SandboxConfig::unlimited(), 0);
    w.ok(&["push", "--contact", "c-000001"]);
    let c = w.json(&["contacts", "show", "c-000001"]);
    let hid = c["hubspot"]["id"].as_str().expect("linked").to_owned();
    w.sb.edit_record(
        "contacts",
        &hid,
        &json!({"gitmesh_display_name": "First edit"}),
    )
    .expect("edit");
    w.ok(&["pull"]);
    let c = w.json(&["contacts", "show", "c-000001"]);
    assert_eq!(c["displayName"], json!("First edit"));
    // A user edits the contact again before hubsync's push.
    w.sb.edit_record(
        "contacts",
        &hid,
        &json!({"gitmesh_display_name": "Second edit"}),
    )
    .expect("edit");
    let base = w.sb.requests().len();
    w.ok(&["push", "--marked"]);
    let h = w.sb.record("contacts", &hid);
    assert_eq!(
        prop(&h, "gitmesh_display_name"),
        Some("Second edit"),
        "the push sent the pulled value back: {:?}",
        &w.sb.requests()[base..]
    );
}

/// After HubSpot merges a pushed contact into another record, the pull moves the link to the
/// survivor; the survivor may hold other values in fields the pull never brings in (`score` is
/// pushed only), so the next push must still send the record there.
#[test]
fn a_contact_merged_in_hubspot_is_pushed_to_the_survivor_after_the_pull() {
    let w = World::new(32, SandboxConfig::unlimited(), 0);
    w.ok(&["push", "--contact", "c-000001"]);
    let c = w.json(&["contacts", "show", "c-000001"]);
    let old = c["hubspot"]["id"].as_str().expect("linked").to_owned();
    let survivor =
        w.sb.create_record(
            "contacts",
            &json!({"email": "zoe.other@example.org", "gitmesh_score": "9",
                    "gitmesh_display_name": "Zoë (merged)"}),
        )
        .expect("create");
    w.sb.merge("contacts", &survivor, &old).expect("merge");
    w.ok(&["pull"]);
    let c = w.json(&["contacts", "show", "c-000001"]);
    assert_eq!(c["hubspot"]["id"], json!(survivor), "{c}");
    assert_eq!(c["displayName"], json!("Zoë (merged)"));
    w.ok(&["push", "--marked"]);
    let h = w.sb.record("contacts", &survivor);
    assert_eq!(
        prop(&h, "gitmesh_score"),
        Some("2"),
        "the survivor keeps HubSpot's score instead of the local one: {h}"
    );
}
