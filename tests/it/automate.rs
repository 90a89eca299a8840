//! Tests: automations against the sandbox — static lists filled with every match, later matches
//! added, dynamic lists refused, organization automations pushing their contacts.

use std::collections::BTreeSet;

use hubsync_sandbox::SandboxConfig;
use serde_json::Value;

use crate::common::repo;
use crate::common::{community, hs};

fn sample(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(repo().join("examples/data").join(file)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The e-mails of a list's members, as HubSpot holds them.
fn list_emails(state: &Value, name: &str) -> BTreeSet<String> {
    let list = state["lists"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == name)
        .unwrap_or_else(|| panic!("no list {name}"));
    let members: BTreeSet<String> = list["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_owned))
        .collect();
    state["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| members.contains(c["id"].as_str().unwrap()))
        .map(|c| c["properties"]["email"].as_str().unwrap().to_owned())
        .collect()
}

/// Every request the sandbox answered was a read.
fn assert_only_reads(sb: &hubsync_sandbox::Sandbox) {
    let writes: Vec<_> = sb
        .requests()
        .into_iter()
        .filter(|r| {
            r.method != "GET" && !r.path.ends_with("/search") && !r.path.ends_with("/batch/read")
        })
        .collect();
    assert!(writes.is_empty(), "writes: {writes:?}");
}

fn primary_email(c: &Value) -> Option<String> {
    c["emails"][0].as_str().map(|e| e.trim().to_lowercase())
}

#[test]
fn a_contact_automation_fills_the_static_list_and_later_runs_add_new_matches() {
    let (env, sb) = community(SandboxConfig::unlimited());
    let already = list_emails(&sb.state(), "Community champions");
    let out = hs(&env, &sb)
        .args(["automate", "add", "champions", "--entity", "contacts"])
        .args(["--filter", "tags~champion", "--list", "Community champions"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let champions: Vec<Value> = sample("contacts.json")
        .into_iter()
        .filter(|c| {
            c["tags"].as_array().is_some_and(|t| {
                t.iter()
                    .any(|t| t.as_str().is_some_and(|t| t.contains("champion")))
            })
        })
        .collect();
    let mut expected: BTreeSet<String> = champions.iter().filter_map(primary_email).collect();
    assert!(expected.len() > 10);
    expected.extend(already);
    let state = sb.state();
    assert_eq!(list_emails(&state, "Community champions"), expected);
    // Champions without an e-mail are reported, not pushed.
    let without: Vec<&str> = champions
        .iter()
        .filter(|c| primary_email(c).is_none())
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    for id in &without {
        assert!(stdout.contains(id), "{id} not reported in {stdout}");
    }

    // A second run with nothing new adds nobody and writes nothing.
    sb.clear_requests();
    hs(&env, &sb)
        .args(["automate", "run", "champions"])
        .assert()
        .success();
    assert_eq!(sb.count("PUT", "/memberships/add"), 0);
    assert_only_reads(&sb);

    // A new champion imported later is pushed and added by the next run.
    env.write(
        "new.ndjson",
        "{\"id\":\"c-new-1\",\"emails\":[\"New.Champion@Example.org\"],\"displayName\":\"New Champion\",\"tags\":[\"champion\"]}\n",
    );
    env.cmd()
        .args(["import", "contacts"])
        .arg(env.path("new.ndjson"))
        .assert()
        .success();
    hs(&env, &sb).args(["automate", "run"]).assert().success();
    let emails = list_emails(&sb.state(), "Community champions");
    assert!(emails.contains("new.champion@example.org"), "{emails:?}");
    assert_eq!(emails.len(), expected.len() + 1);

    // The automation is shown with its list; pausing keeps `run` from running it.
    let out = hs(&env, &sb).args(["automate", "list"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Community champions"));
    hs(&env, &sb)
        .args(["automate", "pause", "champions"])
        .assert()
        .success();
    let out = hs(&env, &sb)
        .args(["automate", "show", "champions", "--json"])
        .output()
        .unwrap();
    let a: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["paused"], true);
}

#[test]
fn bad_automations_are_refused_and_nothing_is_stored() {
    let (env, sb) = community(SandboxConfig::unlimited());
    let cases: &[(&[&str], &str)] = &[
        (
            &["--filter", "tags~champion", "--list", "All customers"],
            "Create a static list in HubSpot",
        ),
        (
            &["--filter", "nickname=x", "--list", "Community champions"],
            "unknown contact field `nickname`",
        ),
        (
            &["--filter", "score>=lots", "--list", "Community champions"],
            "`lots` is not a number",
        ),
        (
            &["--filter", "displayName>3", "--list", "Community champions"],
            "compares numbers and dates",
        ),
        (
            &["--filter", "tags~x", "--list", "No such list"],
            "HubSpot has no contact list `No such list`",
        ),
        (&["--filter", "tags~x"], "--list is required"),
    ];
    for (args, want) in cases {
        let out = hs(&env, &sb)
            .args(["automate", "add", "bad", "--entity", "contacts"])
            .args(*args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(want), "{args:?}: {stderr}");
    }
    let out = hs(&env, &sb)
        .args(["automate", "list", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        serde_json::json!([])
    );
    assert_eq!(sb.count("PUT", "/memberships/add"), 0);
}

#[test]
fn an_organization_automation_with_sync_contacts_fills_the_list_with_their_contacts() {
    let (env, sb) = community(SandboxConfig::unlimited());
    let already = list_emails(&sb.state(), "Community champions");
    let out = hs(&env, &sb)
        .args(["automate", "add", "big-orgs", "--entity", "organizations"])
        .args([
            "--filter",
            "employees>=4000",
            "--sync-contacts",
            "--list",
            "Community champions",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success() || out.status.code() == Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let orgs: Vec<Value> = sample("organizations.json")
        .into_iter()
        .filter(|o| o["employees"].as_f64().is_some_and(|e| e >= 4000.0))
        .collect();
    assert!(!orgs.is_empty());
    let org_ids: BTreeSet<&str> = orgs.iter().map(|o| o["id"].as_str().unwrap()).collect();
    let contacts = sample("contacts.json");
    let mut expected: BTreeSet<String> = contacts
        .iter()
        .filter(|c| {
            c["organizations"].as_array().is_some_and(|os| {
                os.iter()
                    .any(|o| org_ids.contains(o.as_str().unwrap_or("")))
            })
        })
        .filter_map(primary_email)
        .collect();
    expected.extend(already);
    let state = sb.state();
    assert_eq!(list_emails(&state, "Community champions"), expected);
    // The organizations with a website are companies now.
    let domains: BTreeSet<String> = state["companies"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["properties"]["domain"].as_str().map(str::to_owned))
        .collect();
    for o in &orgs {
        if let Some(w) = o["website"].as_str() {
            let d = hubsync::model::normalize_domain(w).unwrap();
            assert!(domains.contains(&d), "{d} missing from {domains:?}");
        }
    }
}

#[test]
fn a_dry_run_shows_who_would_be_added_and_changes_nothing() {
    let (env, sb) = community(SandboxConfig::unlimited());
    let out = hs(&env, &sb)
        .args([
            "automate",
            "add",
            "champions",
            "--entity",
            "contacts",
            "--dry-run",
        ])
        .args(["--filter", "tags~champion", "--list", "Community champions"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("add to list `Community champions`"),
        "{stdout}"
    );
    assert_only_reads(&sb);
    let out = hs(&env, &sb)
        .args(["automate", "list", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        serde_json::json!([])
    );
}
