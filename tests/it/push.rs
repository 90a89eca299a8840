//! Tests: `hubsync push` against the sandbox — what HubSpot ends up holding, field by field;
//! nothing re-sent when nothing changed; bad records isolated; no duplicates after a crash;
//! dry runs that write nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use hubsync_sandbox::{Fault, FaultPlan, Sandbox, SandboxConfig};
use serde_json::{json, Value};

use crate::common::{community, hs, std_cmd, TOKEN};
use crate::common::{repo, Env};

fn sample(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(repo().join("examples/data").join(file)).expect("read");
    serde_json::from_str(&text).expect("sample JSON")
}

fn ids(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect()
}

/// `push --organization A --organization B ...` for every sample organization (and contact).
fn push_everything(env: &Env, sb: &Sandbox) -> assert_cmd::Command {
    let mut c = hs(env, sb);
    c.arg("push");
    for id in ids(&sample("organizations.json")) {
        c.args(["--organization", &id]);
    }
    for id in ids(&sample("contacts.json")) {
        c.args(["--contact", &id]);
    }
    c.arg("--json");
    c
}

fn json_out(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn records(sb: &Sandbox, kind: &str) -> Vec<Value> {
    sb.state()[kind]
        .as_array()
        .expect("records")
        .iter()
        .filter(|r| r.get("mergedInto").is_none() && r["archived"] != json!(true))
        .cloned()
        .collect()
}

fn prop<'a>(r: &'a Value, name: &str) -> Option<&'a str> {
    r["properties"][name].as_str().filter(|s| !s.is_empty())
}

fn instant(s: &str) -> DateTime<Utc> {
    if let Ok(ms) = s.parse::<i64>() {
        return DateTime::from_timestamp_millis(ms).expect("ms");
    }
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(|_| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .expect("a date")
                .and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
        })
}

/// Requests that write to HubSpot.
fn writes(sb: &Sandbox) -> Vec<String> {
    sb.requests()
        .into_iter()
        .filter(|r| {
            r.method != "GET" && !r.path.ends_with("/search") && !r.path.ends_with("/batch/read")
        })
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

fn domain_of(website: &str) -> String {
    hubsync::model::normalize_domain(website).expect("domain")
}

#[test]
fn the_sample_community_arrives_field_by_field_and_a_second_push_sends_nothing() {
    let (env, sb) = community(SandboxConfig::unlimited());
    let out = push_everything(&env, &sb).output().expect("push runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = json_out(&out);

    let local_orgs = sample("organizations.json");
    let local_contacts = sample("contacts.json");

    // Companies: exactly one per distinct domain, the seeded ones kept, initech updated in place.
    let companies = records(&sb, "companies");
    let mut by_domain: HashMap<String, Vec<&Value>> = HashMap::new();
    for c in &companies {
        by_domain
            .entry(prop(c, "domain").unwrap_or("").to_owned())
            .or_default()
            .push(c);
    }
    assert!(
        by_domain.values().all(|v| v.len() == 1),
        "a domain has two companies"
    );
    let mut first_org_of_domain: BTreeMap<String, &Value> = BTreeMap::new();
    for o in &local_orgs {
        if let Some(w) = o["website"].as_str() {
            first_org_of_domain.entry(domain_of(w)).or_insert(o);
        }
    }
    let seeded: HashSet<&str> = ["acme-robotics.io", "initech.com", "globex.example"].into();
    let expected_domains: HashSet<&str> = first_org_of_domain
        .keys()
        .map(String::as_str)
        .chain(seeded.iter().copied())
        .collect();
    assert_eq!(
        by_domain.keys().map(String::as_str).collect::<HashSet<_>>(),
        expected_domains
    );
    assert_eq!(by_domain["initech.com"][0]["id"], json!("9002"));
    for (domain, o) in &first_org_of_domain {
        let c = by_domain[domain][0];
        assert_eq!(
            prop(c, "name"),
            o["name"].as_str().map(str::trim),
            "{domain} name"
        );
        assert_eq!(
            prop(c, "gitmesh_description"),
            o["description"].as_str(),
            "{domain}"
        );
        assert_eq!(
            prop(c, "gitmesh_industry"),
            o["industry"].as_str(),
            "{domain}"
        );
        assert_eq!(prop(c, "gitmesh_github"), o["github"].as_str(), "{domain}");
        let members = prop(c, "gitmesh_member_count").map(|v| v.parse::<f64>().expect("number"));
        assert_eq!(members, o["memberCount"].as_f64(), "{domain}");
        let employees = prop(c, "numberofemployees").map(|v| v.parse::<f64>().expect("number"));
        match o["employees"].as_f64() {
            Some(n) => assert_eq!(employees, Some(n), "{domain}"),
            None if *domain == "initech.com" => assert_eq!(employees, Some(450.0)),
            None => assert_eq!(employees, None, "{domain}"),
        }
    }

    // Contacts: the seeded four plus one per local contact with an e-mail.
    let contacts = records(&sb, "contacts");
    let with_email: Vec<&Value> = local_contacts
        .iter()
        .filter(|c| c["emails"].as_array().is_some_and(|e| !e.is_empty()))
        .collect();
    assert_eq!(contacts.len(), 4 + with_email.len());
    let by_email: HashMap<String, &Value> = contacts
        .iter()
        .map(|c| (prop(c, "email").unwrap_or("").to_owned(), c))
        .collect();
    let company_of_org: HashMap<String, String> = local_orgs
        .iter()
        .filter_map(|o| {
            let d = domain_of(o["website"].as_str()?);
            Some((
                o["id"].as_str()?.to_owned(),
                by_domain[&d][0]["id"].as_str()?.to_owned(),
            ))
        })
        .collect();
    let associations: HashSet<(String, String)> = sb.state()["associations"]
        .as_array()
        .expect("associations")
        .iter()
        .map(|a| {
            (
                a["contact"].as_str().unwrap_or("").to_owned(),
                a["company"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    for l in &with_email {
        let email = l["emails"][0]
            .as_str()
            .expect("email")
            .trim()
            .to_lowercase();
        let h = by_email
            .get(&email)
            .unwrap_or_else(|| panic!("no HubSpot contact {email}"));
        let id = l["id"].as_str().expect("id");
        assert_eq!(
            prop(h, "gitmesh_display_name"),
            l["displayName"].as_str(),
            "{id}"
        );
        assert_eq!(
            prop(h, "gitmesh_github"),
            l["identities"]["github"].as_str(),
            "{id}"
        );
        assert_eq!(
            prop(h, "twitterhandle"),
            l["identities"]["twitter"].as_str(),
            "{id}"
        );
        assert_eq!(
            prop(h, "gitmesh_seniority"),
            l["attributes"]["seniorityLevel"].as_str(),
            "{id}"
        );
        assert_eq!(
            prop(h, "gitmesh_is_hiring"),
            l["attributes"]["isHiring"]
                .as_bool()
                .map(|b| if b { "true" } else { "false" }),
            "{id}"
        );
        assert_eq!(
            prop(h, "jobtitle"),
            l["attributes"]["jobTitle"].as_str(),
            "{id}"
        );
        assert_eq!(
            prop(h, "city"),
            l["attributes"]["location"].as_str(),
            "{id}"
        );
        let score = prop(h, "gitmesh_score").map(|v| v.parse::<f64>().expect("number"));
        assert_eq!(score, l["score"].as_f64(), "{id}");
        assert_eq!(
            prop(h, "gitmesh_joined_at").map(instant),
            l["joinedAt"].as_str().map(instant),
            "{id} joinedAt"
        );
        // A datetime sent to a HubSpot date is its UTC day, at midnight UTC.
        assert_eq!(
            prop(h, "gitmesh_last_active").map(instant),
            l["lastActive"]
                .as_str()
                .map(|s| instant(&instant(s).date_naive().to_string())),
            "{id} lastActive"
        );
        let tags: Vec<&str> = l["tags"]
            .as_array()
            .map(|t| t.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert_eq!(
            prop(h, "gitmesh_tags"),
            (!tags.is_empty()).then(|| tags.join(", ")).as_deref(),
            "{id}"
        );
        let hid = h["id"].as_str().expect("id").to_owned();
        for org in l["organizations"].as_array().into_iter().flatten() {
            if let Some(company) = company_of_org.get(org.as_str().unwrap_or("")) {
                assert!(
                    associations.contains(&(hid.clone(), company.clone())),
                    "{id} is not associated to company {company}"
                );
            }
        }
    }

    // The summary: contacts without e-mail and organizations without website are reported.
    let skipped: HashSet<String> = summary["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .map(|s| s["id"].as_str().unwrap_or("").to_owned())
        .collect();
    for c in &local_contacts {
        let has = c["emails"].as_array().is_some_and(|e| !e.is_empty());
        assert_eq!(skipped.contains(c["id"].as_str().unwrap_or("")), !has);
    }
    assert!(skipped.contains("org-00010") && skipped.contains("org-00002"));
    assert_eq!(
        summary["counts"]["contacts_created"],
        json!(with_email.len())
    );
    assert_eq!(summary["counts"]["organizations_updated"], json!(1));
    assert!(summary["failed"].as_array().expect("failed").is_empty());

    // Nothing changed: a second push --marked makes no write request (and no search).
    sb.clear_requests();
    let out = hs(&env, &sb)
        .args(["push", "--marked", "--json"])
        .output()
        .expect("push runs");
    assert_eq!(out.status.code(), Some(0));
    let again = json_out(&out);
    assert_eq!(sb.requests().len(), 0, "{:?}", writes(&sb));
    assert_eq!(
        again["counts"]["contacts_unchanged"],
        json!(with_email.len())
    );

    // One change: only that contact is sent.
    let mut changed = local_contacts[0].clone();
    changed["displayName"] = json!("Zoë Å. Renamed");
    env.write(
        "one.json",
        &serde_json::to_string(&[changed]).expect("json"),
    );
    env.cmd()
        .args(["import", "contacts"])
        .arg(env.path("one.json"))
        .assert()
        .success();
    sb.clear_requests();
    hs(&env, &sb).args(["push", "--marked"]).assert().success();
    // The contact by its link, and its association again (HubSpot ignores a repeat).
    let w = writes(&sb);
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w[0].ends_with("/contacts/batch/update"), "{w:?}");
    assert!(w[1].ends_with("/batch/associate/default"), "{w:?}");
    let h = sb.contact_by_email("zoe@angstrom.se").expect("contact");
    assert_eq!(prop(&h, "gitmesh_display_name"), Some("Zoë Å. Renamed"));
}

#[test]
fn one_value_hubspot_refuses_fails_that_contact_only_and_exit_3_names_it() {
    let (env, sb) = community(SandboxConfig::unlimited());
    // The cache believes `Wizard` is an option; HubSpot does not have it.
    let mut store = hubsync::store::Store::open(&env.db()).expect("store");
    let mut props: Vec<Value> =
        hubsync::store::properties::load(store.conn(), "contacts").expect("cache");
    for p in &mut props {
        if p["name"] == json!("gitmesh_seniority") {
            p["options"]
                .as_array_mut()
                .expect("options")
                .push(json!({"label": "Wizard", "value": "Wizard", "hidden": false}));
        }
    }
    hubsync::store::properties::replace(store.conn_mut(), "contacts", &props).expect("replace");
    drop(store);
    let mut bad = sample("contacts.json")[41].clone();
    bad["attributes"]["seniorityLevel"] = json!("Wizard");
    let bad_id = bad["id"].as_str().expect("id").to_owned();
    env.write("bad.json", &serde_json::to_string(&[bad]).expect("json"));
    env.cmd()
        .args(["import", "contacts"])
        .arg(env.path("bad.json"))
        .assert()
        .success();

    let mut c = hs(&env, &sb);
    c.arg("push");
    let contacts = sample("contacts.json");
    for id in ids(&contacts[..100]) {
        c.args(["--contact", &id]);
    }
    let out = c.output().expect("push runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains(&format!("failed contact {bad_id}")) && stdout.contains("Wizard"),
        "{stdout}"
    );
    // Every other contact with an e-mail is in HubSpot.
    for l in &contacts[..100] {
        let Some(email) = l["emails"].as_array().and_then(|e| e.first()) else {
            continue;
        };
        let found = sb
            .contact_by_email(email.as_str().expect("email"))
            .is_some();
        assert_eq!(found, l["id"] != json!(bad_id), "{}", l["id"]);
    }
    // The failure is kept and retried by `push --marked`.
    sb.clear_requests();
    let out = hs(&env, &sb)
        .args(["push", "--marked", "--json"])
        .output()
        .expect("push runs");
    assert_eq!(out.status.code(), Some(3));
    let summary = json_out(&out);
    assert_eq!(summary["failed"][0]["id"], json!(bad_id));
    assert_eq!(summary["failed"].as_array().map(Vec::len), Some(1));
    assert_eq!(writes(&sb).len(), 1, "only the failed contact is retried");
}

#[test]
fn a_value_that_is_not_an_option_fails_before_sending() {
    let (env, sb) = community(SandboxConfig::unlimited());
    let mut bad = sample("contacts.json")[0].clone();
    bad["attributes"]["seniorityLevel"] = json!("Overlord");
    env.write("bad.json", &serde_json::to_string(&[bad]).expect("json"));
    env.cmd()
        .args(["import", "contacts"])
        .arg(env.path("bad.json"))
        .assert()
        .success();
    let out = hs(&env, &sb)
        .args(["push", "--contact", "c-000001", "--contact", "c-000002"])
        .output()
        .expect("push runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains("c-000001") && stdout.contains("Overlord"),
        "{stdout}"
    );
    assert!(sb.contact_by_email("zoe@angstrom.se").is_none());
    assert!(sb.contact_by_email("lilei@example.cn").is_some());
}

#[test]
fn an_email_hubspot_has_as_another_contacts_additional_email_goes_to_that_contact() {
    let (env, sb) = community(SandboxConfig::unlimited());
    env.write(
        "grace.json",
        r#"[{"id": "g1", "emails": ["Grace.Hopper@example.org"], "displayName": "Grace H."}]"#,
    );
    env.cmd()
        .args(["import", "contacts"])
        .arg(env.path("grace.json"))
        .assert()
        .success();
    hs(&env, &sb)
        .args(["push", "--contact", "g1"])
        .assert()
        .success();
    let before = records(&sb, "contacts").len();
    let grace = sb.record("contacts", "5002");
    assert_eq!(prop(&grace, "gitmesh_display_name"), Some("Grace H."));
    assert_eq!(prop(&grace, "email"), Some("grace@initech.com"));
    // Linked to 5002: a change goes there by id, and no contact is added.
    env.write(
        "grace.json",
        r#"[{"id": "g1", "emails": ["Grace.Hopper@example.org"], "displayName": "Grace Hopper"}]"#,
    );
    env.cmd()
        .args(["import", "contacts"])
        .arg(env.path("grace.json"))
        .assert()
        .success();
    hs(&env, &sb).args(["push", "--marked"]).assert().success();
    assert_eq!(records(&sb, "contacts").len(), before);
    let out = env
        .cmd()
        .args(["contacts", "show", "g1", "--json"])
        .output()
        .expect("show");
    assert_eq!(json_out(&out)["hubspot"]["id"], json!("5002"));
}

#[test]
fn dry_run_writes_nothing_anywhere_and_shows_the_changes() {
    let (env, sb) = community(SandboxConfig::unlimited());
    let db_before = std::fs::read(env.db()).expect("db");
    let out = hs(&env, &sb)
        .args([
            "push",
            "--dry-run",
            "--organization",
            "org-00004",
            "--organization",
            "org-00001",
            "--contact",
            "c-000001",
        ])
        .output()
        .expect("push runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(writes(&sb).is_empty(), "{:?}", writes(&sb));
    // Initech exists in HubSpot (domain initech.com): an update with its old → new values.
    assert!(
        stdout.contains("update organization org-00004 (HubSpot 9002)"),
        "{stdout}"
    );
    assert!(stdout.contains("numberofemployees: 450 → 371"), "{stdout}");
    assert!(stdout.contains("create organization org-00001"), "{stdout}");
    assert!(stdout.contains("create contact c-000001"), "{stdout}");
    assert!(stdout.contains("gitmesh_seniority: Junior"), "{stdout}");
    // The store is untouched: no run, no link, no mark.
    assert_eq!(std::fs::read(env.db()).expect("db"), db_before);
    let counts = hubsync::store::Store::open(&env.db())
        .expect("store")
        .counts()
        .expect("counts");
    assert_eq!(
        (counts.runs, counts.marked, counts.contacts_linked),
        (0, 0, 0)
    );
}

#[test]
fn a_company_create_that_fails_ambiguously_is_checked_before_it_is_sent_again() {
    let (env, sb) = community(SandboxConfig::unlimited());
    let mut c = hs(&env, &sb);
    c.arg("push");
    for id in ids(&sample("organizations.json")) {
        c.args(["--organization", &id]);
    }
    // Request 1: domain search; 2: update initech; 3: the batch create → 504.
    sb.set_faults(FaultPlan::statuses(3, 3, 504));
    c.assert().success();
    let companies = records(&sb, "companies");
    let domains: Vec<&str> = companies.iter().filter_map(|c| prop(c, "domain")).collect();
    let unique: HashSet<&str> = domains.iter().copied().collect();
    assert_eq!(domains.len(), unique.len(), "{domains:?}");
    assert_eq!(sb.count("POST", "/batch/create"), 2);
    assert_eq!(sb.count("POST", "/search"), 2);
}

/// The create is carried out but its answer is lost (504 after the fact, or a dropped
/// connection): the push finds the companies by domain and creates nothing twice.
#[test]
fn a_company_create_whose_answer_is_lost_is_found_and_not_created_again() {
    for then in [Fault::Status { status: 504 }, Fault::Drop] {
        let (env, sb) = community(SandboxConfig::unlimited());
        let mut c = hs(&env, &sb);
        c.arg("push");
        for id in ids(&sample("organizations.json")) {
            c.args(["--organization", &id]);
        }
        // Request 1: domain search; 2: update initech; 3: the batch create, applied, answer lost.
        sb.set_faults(FaultPlan::none().then(
            3,
            3,
            Fault::Applied {
                then: Box::new(then.clone()),
            },
        ));
        c.assert().success();
        let companies = records(&sb, "companies");
        let domains: Vec<&str> = companies.iter().filter_map(|c| prop(c, "domain")).collect();
        let unique: HashSet<&str> = domains.iter().copied().collect();
        assert_eq!(domains.len(), unique.len(), "{then:?}: {domains:?}");
        assert_eq!(
            sb.count("POST", "/batch/create"),
            1,
            "{then:?}: created once"
        );
        // Every company created is linked to its organization (found again by domain).
        let linked = hs(&env, &sb)
            .args(["organizations", "list", "--json"])
            .output()
            .unwrap();
        let orgs: Vec<Value> = serde_json::from_slice(&linked.stdout).unwrap();
        let linked: HashSet<&str> = orgs
            .iter()
            .filter_map(|o| o["hubspot"]["id"].as_str())
            .collect();
        let local_domains: HashSet<String> = orgs
            .iter()
            .filter_map(|o| o["website"].as_str())
            .filter_map(hubsync::model::normalize_domain)
            .collect();
        for c in &companies {
            let id = c["id"].as_str().unwrap();
            let ours = prop(c, "domain").is_some_and(|d| local_domains.contains(d));
            assert!(
                !ours || linked.contains(id),
                "{then:?}: company {id} is linked to no organization"
            );
        }
    }
}

#[test]
fn a_push_killed_mid_run_and_run_again_leaves_no_duplicates() {
    let mut cfg = SandboxConfig::unlimited();
    cfg.latency = Duration::from_millis(150);
    let (env, sb) = community(cfg);
    // Enough contacts for many batches, so a resend of everything would show.
    let bulk: String = (0..1500)
        .map(|i| format!("{{\"id\":\"bulk-{i:04}\",\"emails\":[\"bulk{i}@bulk.example\"]}}\n"))
        .collect();
    env.write("bulk.ndjson", &bulk);
    env.cmd()
        .args(["import", "contacts"])
        .arg(env.path("bulk.ndjson"))
        .assert()
        .success();
    let mut contacts = sample("contacts.json");
    contacts.extend(
        bulk.lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()),
    );
    let orgs = sample("organizations.json");
    let mut args: Vec<String> = vec!["push".into()];
    for id in ids(&orgs) {
        args.extend(["--organization".into(), id]);
    }
    for id in ids(&contacts) {
        args.extend(["--contact".into(), id]);
    }
    let mut child = std_cmd(&env, &sb)
        .env("HUBSPOT_ACCESS_TOKEN", TOKEN)
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    // Search, update, create (organizations), then contact batches: kill during those.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while sb.count("POST", "/batch/upsert") < 6 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().expect("kill -9");
    let _ = child.wait();
    let upserts_before = sb.count("POST", "/batch/upsert");
    assert!(upserts_before >= 6, "the push did not get far enough");

    std_cmd(&env, &sb)
        .env("HUBSPOT_ACCESS_TOKEN", TOKEN)
        .args(&args)
        .status()
        .expect("rerun");
    let emails: Vec<String> = records(&sb, "contacts")
        .iter()
        .filter_map(|c| prop(c, "email").map(str::to_owned))
        .collect();
    let unique: HashSet<&String> = emails.iter().collect();
    assert_eq!(emails.len(), unique.len());
    let with_email = contacts
        .iter()
        .filter(|c| c["emails"].as_array().is_some_and(|e| !e.is_empty()))
        .count();
    assert_eq!(emails.len(), 4 + with_email);
    let domains: Vec<String> = records(&sb, "companies")
        .iter()
        .filter_map(|c| prop(c, "domain").map(str::to_owned))
        .collect();
    let unique: HashSet<&String> = domains.iter().collect();
    assert_eq!(domains.len(), unique.len());
    // 1,777 contacts with e-mail = 18 batches; at most three were on their way when the push
    // was killed, so at most three are sent twice (sending everything again would be 24 or more).
    let batches = with_email.div_ceil(100);
    assert_eq!(batches, 18);
    let total = sb.count("POST", "/batch/upsert") + sb.count("POST", "/contacts/batch/update");
    assert!(
        total <= batches + 3,
        "{total} contact batch calls for {batches} batches"
    );
    // What hubsync sent, not only what HubSpot holds (which refuses a second contact per
    // e-mail anyway): each contact upserted at most twice, and at most three batches' worth
    // of them twice.
    let sent = sb.upserts_applied();
    assert!(
        sent.values().all(|n| *n <= 2),
        "a contact written three times"
    );
    let twice = sent.values().filter(|n| **n == 2).count();
    assert!(twice <= 300, "{twice} contacts sent twice");
}

#[test]
fn a_linked_contact_keeps_its_hubspot_record_when_an_unlinked_one_shares_its_email() {
    let (env, sb) = community(SandboxConfig::unlimited());
    hs(&env, &sb)
        .args(["push", "--contact", "c-000001"])
        .assert()
        .success();
    let show = |id: &str| -> Value {
        json_out(
            &env.cmd()
                .args(["contacts", "show", id, "--json"])
                .output()
                .expect("show"),
        )
    };
    let before = show("c-000001");
    let hubspot_id = before["hubspot"]["id"].as_str().expect("linked").to_owned();
    let email = before["emails"][0].as_str().expect("e-mail").to_owned();

    // A contact imported later, with a lower id and the same primary e-mail.
    let file = env.write(
        "dup.ndjson",
        &format!("{{\"id\":\"c-000000\",\"emails\":[\"{email}\"],\"displayName\":\"Other\"}}\n"),
    );
    env.cmd()
        .args(["import", "contacts"])
        .arg(file)
        .assert()
        .success();
    let out = hs(&env, &sb)
        .args([
            "push",
            "--contact",
            "c-000000",
            "--contact",
            "c-000001",
            "--json",
        ])
        .output()
        .expect("push");
    let summary = json_out(&out);
    let skipped = summary["skipped"].to_string();
    assert!(
        skipped.contains("c-000000") && skipped.contains("c-000001"),
        "the unlinked contact is skipped in favour of the linked one: {summary}"
    );
    assert_eq!(show("c-000001")["hubspot"]["id"], json!(hubspot_id));
    assert!(show("c-000000")["hubspot"]["id"].is_null(), "{summary}");
}
