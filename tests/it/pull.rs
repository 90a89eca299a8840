//! Tests: `hubsync pull`, `history` and `undo` against the sandbox — what ends up in the local
//! store, which requests HubSpot saw, and what the user is told.

use hubsync_sandbox::{Sandbox, SandboxConfig};
use serde_json::{json, Value};

use crate::common::cmd;
use crate::common::{repo, Env};

const TOKEN: &str = "pat-na1-pull";

fn sandbox() -> Sandbox {
    let sb = Sandbox::start(SandboxConfig::unlimited().with_static_token(TOKEN)).expect("sandbox");
    sb.seed_file(repo().join("examples/data/hubspot-seed.json"))
        .expect("seed");
    sb
}

fn hubsync(env: &Env, sb: &Sandbox, args: &[&str]) -> std::process::Output {
    cmd(env, sb)
        .env("HUBSPOT_ACCESS_TOKEN", TOKEN)
        .env("HUBSYNC_PULL_OVERLAP", "0")
        .args(args)
        .output()
        .expect("run hubsync")
}

fn ok(out: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_str(&ok(out)).expect("JSON on stdout")
}

/// The example mapping, the property cache filled from the sandbox, and local records.
fn setup(env: &Env, sb: &Sandbox, contacts: &Value, organizations: &Value) {
    std::fs::copy(repo().join("mappings.example.yaml"), env.mappings()).expect("mapping");
    ok(&hubsync(env, sb, &["map", "refresh"]));
    for (kind, records) in [("organizations", organizations), ("contacts", contacts)] {
        let file = env.write(&format!("{kind}.json"), &records.to_string());
        ok(&hubsync(
            env,
            sb,
            &["import", kind, file.to_str().expect("path")],
        ));
    }
}

fn show(env: &Env, sb: &Sandbox, kind: &str, id: &str) -> Value {
    json_of(&hubsync(env, sb, &["--json", kind, "show", id]))
}

fn searches(sb: &Sandbox) -> usize {
    sb.count("POST", "/search")
}

#[test]
fn pull_writes_mapped_fields_matches_emails_and_reports_duplicate_names() {
    let sb = sandbox();
    let env = Env::new();
    let globex2 = sb
        .create_record(
            "companies",
            &json!({"name": "globex", "domain": "globex2.example"}),
        )
        .expect("company");
    setup(
        &env,
        &sb,
        &json!([
            {"id": "ada", "emails": ["ADA@Acme-Robotics.io"], "displayName": "Ada L", "score": 10,
             "identities": {"github": "ada-local"}, "attributes": {"location": "London"}},
            {"id": "grace", "emails": ["grace.hopper@example.org"], "displayName": "Grace"},
            {"id": "nobody", "emails": ["nobody@example.com"], "displayName": "No One"}
        ]),
        &json!([
            {"id": "o-acme", "name": "  acme   ROBOTICS ", "employees": 100},
            {"id": "o-init", "name": "Initech", "description": "local"},
            {"id": "o-init2", "name": "INITECH"},
            {"id": "o-glob", "name": "Globex", "description": "ours"}
        ]),
    );
    // Edits made in HubSpot, mapped and unmapped, including read-only-locally and `never` fields.
    sb.edit_record(
        "contacts",
        "5001",
        &json!({"gitmesh_display_name": "Ada Lovelace", "gitmesh_score": "99", "city": "Paris",
                "firstname": "Augusta", "gitmesh_github": ""}),
    )
    .expect("edit");
    sb.edit_record("contacts", "5002", &json!({"gitmesh_seniority": "Senior"}))
        .expect("edit");
    sb.edit_record(
        "companies",
        "9001",
        &json!({"gitmesh_description": "Robots", "gitmesh_member_count": "5"}),
    )
    .expect("edit");
    sb.edit_record(
        "companies",
        "9002",
        &json!({"gitmesh_description": "TPS reports"}),
    )
    .expect("edit");

    let summary = json_of(&hubsync(&env, &sb, &["--json", "pull"]));
    assert_eq!(summary["status"], "ok", "{summary:#}");

    let ada = show(&env, &sb, "contacts", "ada");
    assert_eq!(ada["displayName"], "Ada Lovelace", "{ada:#}");
    // fill-empty: HubSpot's job title fills the empty local one.
    assert_eq!(ada["attributes"]["jobTitle"], "CTO");
    // Read-only locally, `pull: never`, an empty HubSpot value: untouched.
    assert_eq!(ada["score"], 10);
    assert_eq!(ada["attributes"]["location"], "London");
    assert_eq!(ada["identities"]["github"], "ada-local");
    assert_eq!(ada["hubspot"]["id"], "5001");
    // Matched through HubSpot's additional e-mails.
    let grace = show(&env, &sb, "contacts", "grace");
    assert_eq!(grace["attributes"]["seniorityLevel"], "Senior", "{grace:#}");
    assert_eq!(grace["hubspot"]["id"], "5002");
    // Never created: HubSpot contacts without a local record stay in HubSpot only.
    let list = json_of(&hubsync(&env, &sb, &["--json", "contacts", "list"]));
    assert_eq!(list.as_array().map(Vec::len), Some(3));

    let acme = show(&env, &sb, "organizations", "o-acme");
    assert_eq!(acme["description"], "Robots", "{acme:#}");
    assert_eq!(acme["employees"], 120);
    assert_eq!(acme["memberCount"], Value::Null);
    // Two local organizations named Initech, two HubSpot companies named Globex: reported, not
    // merged, nothing touched.
    assert_eq!(
        show(&env, &sb, "organizations", "o-init")["description"],
        "local"
    );
    assert_eq!(
        show(&env, &sb, "organizations", "o-init")["hubspot"]["id"],
        Value::Null
    );
    assert_eq!(
        show(&env, &sb, "organizations", "o-glob")["description"],
        "ours"
    );
    let conflicts = summary["conflicts"].as_array().expect("conflicts");
    assert_eq!(conflicts.len(), 2, "{summary:#}");
    let init = conflicts
        .iter()
        .find(|c| c["local_ids"] == json!(["o-init", "o-init2"]))
        .expect("Initech conflict");
    assert_eq!(init["hubspot_ids"], json!(["9002"]));
    // SPEC §7: a matching conflict has `field` null, names a local id and lists every id.
    assert_eq!(init["field"], Value::Null, "{init}");
    assert_eq!(init["id"], "o-init", "{init}");
    assert_eq!(init["hubspot_id"], "9002", "{init}");
    for key in ["entity", "local", "hubspot", "base", "kept", "message"] {
        assert!(init.get(key).is_some(), "{key} missing: {init}");
    }
    let glob = conflicts
        .iter()
        .find(|c| c["local_ids"] == json!(["o-glob"]))
        .expect("Globex conflict");
    assert_eq!(glob["hubspot_ids"], json!(["9003", globex2]));
    assert_eq!(summary["counts"]["conflicts"], 2);
    assert_eq!(summary["counts"]["changed"], 3);

    let text = ok(&hubsync(&env, &sb, &["history", "--id", "ada"]));
    assert!(text.contains("Ada Lovelace"), "{text}");
    let history = json_of(&hubsync(
        &env,
        &sb,
        &["--json", "history", "--entity", "contacts"],
    ));
    let rows = history.as_array().expect("array");
    // Three two-way fields, and the pull-only lifecycle stage HubSpot owns.
    assert_eq!(rows.len(), 4, "{history:#}");
    assert!(
        rows.iter()
            .any(|r| r["field"] == "attributes.lifecycleStage" && r["new"] == "customer"),
        "{history:#}"
    );
    let name = rows
        .iter()
        .find(|r| r["field"] == "displayName")
        .expect("displayName change");
    assert_eq!(
        (
            &name["id"],
            &name["hubspot_id"],
            &name["old"],
            &name["new"],
            &name["run_id"]
        ),
        (
            &json!("ada"),
            &json!("5001"),
            &json!("Ada L"),
            &json!("Ada Lovelace"),
            &summary["run_id"]
        )
    );
}

#[test]
fn a_second_pull_reads_only_what_changed_and_undo_restores_a_run() {
    let sb = sandbox();
    let env = Env::new();
    setup(
        &env,
        &sb,
        &json!([{"id": "ada", "emails": ["ada@acme-robotics.io"], "displayName": "Ada L"}]),
        &json!([]),
    );
    sb.edit_record(
        "contacts",
        "5001",
        &json!({"gitmesh_display_name": "Ada Lovelace"}),
    )
    .expect("edit");
    let first = json_of(&hubsync(
        &env,
        &sb,
        &["--json", "pull", "--entity", "contacts"],
    ));
    assert_eq!(first["counts"]["read"], 4, "{first:#}");

    // Nothing changed: one search, filtered on the modification date, and no full page.
    sb.clear_requests();
    let second = json_of(&hubsync(
        &env,
        &sb,
        &["--json", "pull", "--entity", "contacts"],
    ));
    assert_eq!(searches(&sb), 1, "{:?}", sb.requests());
    assert!(second["counts"]["read"].as_u64() < Some(2), "{second:#}");
    assert_eq!(second["counts"].get("changed"), None);

    // A later HubSpot edit, pulled, then undone: the value of that run comes back.
    sb.edit_record(
        "contacts",
        "5001",
        &json!({"gitmesh_display_name": "Ada King", "gitmesh_seniority": "Lead"}),
    )
    .expect("edit");
    let third = json_of(&hubsync(&env, &sb, &["--json", "pull"]));
    assert_eq!(
        show(&env, &sb, "contacts", "ada")["displayName"],
        "Ada King"
    );
    let run = third["run_id"].as_i64().expect("run id").to_string();

    // Undoing the first run leaves displayName alone: the third run changed it since.
    let out = ok(&hubsync(
        &env,
        &sb,
        &["undo", "--run", &first["run_id"].to_string()],
    ));
    assert!(
        out.contains("left alone contact ada displayName: changed again by run"),
        "{out}"
    );
    assert_eq!(
        show(&env, &sb, "contacts", "ada")["displayName"],
        "Ada King"
    );

    let undo = json_of(&hubsync(&env, &sb, &["--json", "undo", "--run", &run]));
    assert_eq!(
        undo["restored"].as_array().map(Vec::len),
        Some(2),
        "{undo:#}"
    );
    let ada = show(&env, &sb, "contacts", "ada");
    assert_eq!(ada["displayName"], "Ada Lovelace");
    assert_eq!(ada["attributes"].get("seniorityLevel"), None, "{ada:#}");
    // The undo is a run of its own, with history.
    let undo_run = undo["run_id"].as_i64().expect("undo run");
    let rows = json_of(&hubsync(
        &env,
        &sb,
        &["--json", "history", "--run", &undo_run.to_string()],
    ));
    assert_eq!(rows.as_array().map(Vec::len), Some(2), "{rows:#}");
    // A second undo of the same run is refused with the reason.
    let again = hubsync(&env, &sb, &["undo", "--run", &run]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already undone"));
}

#[test]
fn a_merged_hubspot_contact_moves_the_link_to_the_survivor() {
    let sb = sandbox();
    let env = Env::new();
    setup(
        &env,
        &sb,
        &json!([{"id": "lin", "emails": ["linus@globex.example"]}]),
        &json!([]),
    );
    ok(&hubsync(&env, &sb, &["pull", "--entity", "contacts"]));
    assert_eq!(show(&env, &sb, "contacts", "lin")["hubspot"]["id"], "5003");
    // 5003 merged into 5004: the survivor's own e-mail does not match, the link moves anyway.
    sb.merge("contacts", "5004", "5003").expect("merge");
    sb.edit_record(
        "contacts",
        "5004",
        &json!({"gitmesh_display_name": "Linus T"}),
    )
    .expect("edit");
    ok(&hubsync(&env, &sb, &["pull", "--entity", "contacts"]));
    let lin = show(&env, &sb, "contacts", "lin");
    assert_eq!(lin["hubspot"]["id"], "5004", "{lin:#}");
    assert_eq!(lin["displayName"], "Linus T");
}

#[test]
fn dry_run_prints_the_changes_and_writes_nothing() {
    let sb = sandbox();
    let env = Env::new();
    setup(
        &env,
        &sb,
        &json!([{"id": "ada", "emails": ["ada@acme-robotics.io"], "displayName": "Ada L"}]),
        &json!([]),
    );
    sb.edit_record(
        "contacts",
        "5001",
        &json!({"gitmesh_display_name": "Ada Lovelace"}),
    )
    .expect("edit");
    let out = ok(&hubsync(
        &env,
        &sb,
        &["pull", "--dry-run", "--entity", "contacts"],
    ));
    assert!(
        out.contains("would update contact ada from HubSpot 5001"),
        "{out}"
    );
    assert!(
        out.contains("displayName: \"Ada L\" → \"Ada Lovelace\""),
        "{out}"
    );
    let ada = show(&env, &sb, "contacts", "ada");
    assert_eq!(
        (ada["displayName"].clone(), ada["hubspot"]["id"].clone()),
        (json!("Ada L"), Value::Null)
    );
    // No watermark either: the next real pull is still a full pass over every contact.
    let real = json_of(&hubsync(
        &env,
        &sb,
        &["--json", "pull", "--entity", "contacts"],
    ));
    assert_eq!(real["counts"]["read"], 4, "{real:#}");
    assert_eq!(real["counts"]["changed"], 1);
}

#[test]
fn more_than_ten_thousand_records_modified_together_are_all_read() {
    const N: usize = 10_050;
    let sb = Sandbox::start(SandboxConfig::unlimited().with_static_token(TOKEN)).expect("sandbox");
    sb.seed_json(&json!({"properties": {"contacts": [
        {"name": "gitmesh_display_name", "label": "Name", "type": "string", "fieldType": "text",
         "groupName": "gitmesh"}]}}))
        .expect("property");
    let env = Env::new();
    env.write(
        "mappings.yaml",
        "version: 1\ncontacts:\n  enabled: true\n  fields:\n    displayName: gitmesh_display_name\n",
    );
    ok(&hubsync(&env, &sb, &["map", "refresh"]));
    let people: String = (0..N)
        .map(|i| format!("{{\"id\":\"c{i}\",\"emails\":[\"p{i}@example.com\"]}}\n"))
        .collect();
    let file = env.write("people.ndjson", &people);
    ok(&hubsync(
        &env,
        &sb,
        &["import", "contacts", file.to_str().expect("path")],
    ));
    // The first pull of an empty portal sets the watermark; everything after is incremental.
    ok(&hubsync(&env, &sb, &["pull"]));

    let records: Vec<Value> = (0..N)
        .map(|i| {
            json!({"properties": {"email": format!("P{i}@example.com"),
                                       "gitmesh_display_name": format!("Person {i}")}})
        })
        .collect();
    sb.seed_json(&json!({ "contacts": records })).expect("seed");
    let state = sb.state();
    let stamps: Vec<&str> = state["contacts"]
        .as_array()
        .expect("contacts")
        .iter()
        .filter_map(|c| c["properties"]["lastmodifieddate"].as_str())
        .collect();
    let seconds: std::collections::BTreeSet<&str> = stamps.iter().map(|s| &s[..19]).collect();
    assert!(stamps.len() >= N && seconds.len() <= 2, "{seconds:?}");

    sb.clear_requests();
    let summary = json_of(&hubsync(&env, &sb, &["--json", "pull"]));
    assert_eq!(summary["counts"]["read"], N, "{summary:#}");
    assert_eq!(summary["counts"]["changed"], N);
    // 200 per page, and not one request more.
    assert_eq!(searches(&sb), N.div_ceil(200));
    let last = show(&env, &sb, "contacts", &format!("c{}", N - 1));
    assert_eq!(last["displayName"], format!("Person {}", N - 1));
}
