//! Tests: the three-way rule (SPEC §6) through the real binary against the sandbox — a local
//! edit is never taken back by HubSpot's older copy, a HubSpot edit is never overwritten by the
//! old local value, an edit on both sides is a reported conflict resolved by the field's policy,
//! and the sync after that writes nothing.

use std::time::Duration;

use hubsync_sandbox::{Sandbox, SandboxConfig};
use serde_json::{json, Value};

use crate::common::{community, hs};
use crate::common::{repo, Env};

fn run(env: &Env, sb: &Sandbox, args: &[&str]) -> std::process::Output {
    let out = hs(env, sb).args(args).output().expect("hubsync runs");
    assert!(
        out.status.success(),
        "hubsync {args:?} exited {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(env: &Env, sb: &Sandbox, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = run(env, sb, &all);
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// A local edit, as a user makes it: an import of one record.
fn edit_locally(env: &Env, sb: &Sandbox, what: &str, record: &Value) {
    let file = env.write("edit.ndjson", &format!("{record}\n"));
    run(
        env,
        sb,
        &["import", what, file.to_str().expect("utf-8 path")],
    );
}

fn show(env: &Env, sb: &Sandbox, what: &str, id: &str) -> Value {
    json(env, sb, &[what, "show", id])
}

fn hubspot_id(env: &Env, sb: &Sandbox, what: &str, id: &str) -> String {
    show(env, sb, what, id)["hubspot"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{id} is linked"))
        .to_owned()
}

fn remote(sb: &Sandbox, object: &str, id: &str, property: &str) -> Option<String> {
    sb.record(object, id)["properties"][property]
        .as_str()
        .map(str::to_owned)
}

/// HubSpot writes in the requests logged since `from`.
fn writes_since(sb: &Sandbox, from: usize) -> Vec<String> {
    sb.requests()[from..]
        .iter()
        .filter(|r| {
            r.method != "GET"
                && !r.path.ends_with("/search")
                && !r.path.ends_with("/batch/read")
                && !r.path.contains("/oauth/")
        })
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// The contact's display name is `value` here and in HubSpot.
fn assert_display_name_both_sides(env: &Env, sb: &Sandbox, id: &str, hid: &str, value: &str) {
    assert_eq!(
        show(env, sb, "contacts", id)["displayName"],
        value,
        "{id} here"
    );
    assert_eq!(
        remote(sb, "contacts", hid, "gitmesh_display_name").as_deref(),
        Some(value),
        "{id} in HubSpot"
    );
}

fn history_len(env: &Env, sb: &Sandbox) -> usize {
    json(env, sb, &["history"]).as_array().map_or(0, Vec::len)
}

/// After everything settled: one more sync sends no write to HubSpot and changes nothing
/// locally.
fn assert_next_sync_writes_nothing(env: &Env, sb: &Sandbox) {
    let history = history_len(env, sb);
    let from = sb.requests().len();
    let s = json(env, sb, &["sync"]);
    assert_eq!(writes_since(sb, from), Vec::<String>::new(), "{s}");
    assert_eq!(history_len(env, sb), history, "{s}");
    assert!(s["conflicts"].as_array().is_some_and(Vec::is_empty), "{s}");
}

#[test]
fn a_local_edit_after_a_push_survives_the_next_sync_and_reaches_hubspot() {
    let (env, sb) = community(SandboxConfig::unlimited());
    run(
        &env,
        &sb,
        &["push", "--contact", "c-000001", "--contact", "c-000003"],
    );
    let zoe = hubspot_id(&env, &sb, "contacts", "c-000001");
    let jose = hubspot_id(&env, &sb, "contacts", "c-000003");

    // The user fixes a name locally; someone edits another contact in HubSpot.
    edit_locally(
        &env,
        &sb,
        "contacts",
        &json!({"id": "c-000001", "displayName": "Edited Locally"}),
    );
    sb.edit_record(
        "contacts",
        &jose,
        &json!({"gitmesh_display_name": "Edited in HubSpot"}),
    )
    .expect("edit");

    let s = json(&env, &sb, &["sync"]);
    assert!(s["conflicts"].as_array().is_some_and(Vec::is_empty), "{s}");
    assert_display_name_both_sides(&env, &sb, "c-000001", &zoe, "Edited Locally");
    // The HubSpot edit flowed in and was not overwritten with the old local value.
    assert_display_name_both_sides(&env, &sb, "c-000003", &jose, "Edited in HubSpot");
    assert_next_sync_writes_nothing(&env, &sb);
}

#[test]
fn a_hubspot_record_touched_only_in_an_unmapped_property_keeps_the_local_edit() {
    let (env, sb) = community(SandboxConfig::unlimited());
    run(&env, &sb, &["push", "--contact", "c-000001"]);
    let zoe = hubspot_id(&env, &sb, "contacts", "c-000001");
    // A first sync settles (the pull reads the pushed record back).
    run(&env, &sb, &["sync"]);
    edit_locally(
        &env,
        &sb,
        "contacts",
        &json!({"id": "c-000001", "displayName": "Zoë Local"}),
    );
    // Hours later someone touches the record in HubSpot, in a property hubsync doesn't map:
    // the pull reads it again, with the old display name.
    sb.edit_record("contacts", &zoe, &json!({"firstname": "Zed"}))
        .expect("edit");
    run(&env, &sb, &["sync"]);
    assert_display_name_both_sides(&env, &sb, "c-000001", &zoe, "Zoë Local");
    assert_eq!(
        remote(&sb, "contacts", &zoe, "firstname").as_deref(),
        Some("Zed")
    );
    assert_next_sync_writes_nothing(&env, &sb);
}

#[test]
fn organizations_keep_their_local_edits_too() {
    let (env, sb) = community(SandboxConfig::unlimited());
    run(&env, &sb, &["push", "--organization", "org-00005"]);
    let company = hubspot_id(&env, &sb, "organizations", "org-00005");
    edit_locally(
        &env,
        &sb,
        "organizations",
        &json!({"id": "org-00005", "description": "Described locally"}),
    );
    run(&env, &sb, &["sync"]);
    assert_eq!(
        show(&env, &sb, "organizations", "org-00005")["description"],
        "Described locally"
    );
    assert_eq!(
        remote(&sb, "companies", &company, "gitmesh_description").as_deref(),
        Some("Described locally")
    );
    assert_next_sync_writes_nothing(&env, &sb);
}

#[test]
fn an_edit_on_both_sides_is_reported_and_both_sides_agree_afterwards() {
    let (env, sb) = community(SandboxConfig::unlimited());
    run(&env, &sb, &["push", "--contact", "c-000001"]);
    let zoe = hubspot_id(&env, &sb, "contacts", "c-000001");
    let pushed = remote(&sb, "contacts", &zoe, "gitmesh_display_name");
    edit_locally(
        &env,
        &sb,
        "contacts",
        &json!({"id": "c-000001", "displayName": "Local Side"}),
    );
    sb.edit_record(
        "contacts",
        &zoe,
        &json!({"gitmesh_display_name": "HubSpot Side"}),
    )
    .expect("edit");

    let out = run(&env, &sb, &["sync"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("conflict") && text.contains("c-000001") && text.contains("displayName"),
        "the run's text names the conflict: {text}"
    );
    // Both sides hold HubSpot's value (the default policy).
    assert_display_name_both_sides(&env, &sb, "c-000001", &zoe, "HubSpot Side");
    // The history keeps the conflict with the three values.
    let history = json(&env, &sb, &["history", "--id", "c-000001"]);
    let entry = history
        .as_array()
        .and_then(|a| a.iter().find(|e| e["conflict"].is_object()))
        .unwrap_or_else(|| panic!("a conflict in the history: {history}"));
    assert_eq!(entry["field"], "displayName");
    assert_eq!(entry["conflict"]["local"], "Local Side");
    assert_eq!(entry["conflict"]["hubspot"], "HubSpot Side");
    assert_eq!(entry["conflict"]["base"], json!(pushed));
    assert_eq!(entry["conflict"]["kept"], "hubspot");
    // And `status` shows it.
    let status = json(&env, &sb, &["status"]);
    assert_eq!(status["conflicts"][0]["id"], "c-000001", "{status}");
    assert_next_sync_writes_nothing(&env, &sb);
}

#[test]
fn the_conflict_policy_decides_local_and_newest() {
    let (env, sb) = community(SandboxConfig::unlimited());
    // displayName: the local value wins a conflict. identities.twitter is `conflict: newest`
    // in the example mapping.
    let mapping = std::fs::read_to_string(repo().join("mappings.example.yaml"))
        .expect("example mapping")
        .replace(
            "    displayName: gitmesh_display_name\n",
            "    displayName:\n      property: gitmesh_display_name\n      conflict: local\n",
        );
    std::fs::write(env.mappings(), mapping).expect("mapping");
    run(&env, &sb, &["map", "check"]);
    run(
        &env,
        &sb,
        &["push", "--contact", "c-000001", "--contact", "c-000003"],
    );
    let zoe = hubspot_id(&env, &sb, "contacts", "c-000001");
    let jose = hubspot_id(&env, &sb, "contacts", "c-000003");

    // c-000001: displayName on both sides (local wins); twitter edited in HubSpot first, then
    // locally (the local edit is newer and wins).
    sb.edit_record(
        "contacts",
        &zoe,
        &json!({"gitmesh_display_name": "HubSpot Zoë", "twitterhandle": "zoe_hubspot"}),
    )
    .expect("edit");
    // c-000003: twitter edited locally first, then in HubSpot (HubSpot's edit is newer).
    edit_locally(
        &env,
        &sb,
        "contacts",
        &json!({"id": "c-000003", "identities": {"twitter": "jose_local"}}),
    );
    std::thread::sleep(Duration::from_millis(50));
    edit_locally(
        &env,
        &sb,
        "contacts",
        &json!({"id": "c-000001", "displayName": "Local Zoë", "identities": {"twitter": "zoe_local"}}),
    );
    std::thread::sleep(Duration::from_millis(50));
    sb.edit_record("contacts", &jose, &json!({"twitterhandle": "jose_hubspot"}))
        .expect("edit");

    let from = sb.requests().len();
    let s = json(&env, &sb, &["sync"]);
    let kept = |id: &str, field: &str| {
        s["conflicts"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["id"] == id && c["field"] == field))
            .map(|c| c["kept"].clone())
            .unwrap_or_else(|| panic!("a conflict on {id} {field}: {s}"))
    };
    assert_eq!(kept("c-000001", "displayName"), "local");
    assert_eq!(kept("c-000001", "identities.twitter"), "local");
    assert_eq!(kept("c-000003", "identities.twitter"), "hubspot");
    // `newest` read HubSpot's timestamps for the conflicting records only.
    assert!(
        sb.requests()[from..]
            .iter()
            .any(|r| r.path.ends_with("/batch/read")),
        "propertiesWithHistory read"
    );

    let c1 = show(&env, &sb, "contacts", "c-000001");
    assert_eq!(c1["displayName"], "Local Zoë");
    assert_eq!(c1["identities"]["twitter"], "zoe_local");
    assert_eq!(
        remote(&sb, "contacts", &zoe, "gitmesh_display_name").as_deref(),
        Some("Local Zoë")
    );
    assert_eq!(
        remote(&sb, "contacts", &zoe, "twitterhandle").as_deref(),
        Some("zoe_local")
    );
    let c3 = show(&env, &sb, "contacts", "c-000003");
    assert_eq!(c3["identities"]["twitter"], "jose_hubspot");
    assert_eq!(
        remote(&sb, "contacts", &jose, "twitterhandle").as_deref(),
        Some("jose_hubspot")
    );
    assert_next_sync_writes_nothing(&env, &sb);
}

#[test]
fn an_undone_pull_stays_undone_and_its_values_are_pushed() {
    let (env, sb) = community(SandboxConfig::unlimited());
    run(&env, &sb, &["push", "--contact", "c-000001"]);
    let zoe = hubspot_id(&env, &sb, "contacts", "c-000001");
    let original = show(&env, &sb, "contacts", "c-000001")["displayName"].clone();
    sb.edit_record(
        "contacts",
        &zoe,
        &json!({"gitmesh_display_name": "Unwanted"}),
    )
    .expect("edit");
    let s = json(&env, &sb, &["sync"]);
    assert_eq!(
        show(&env, &sb, "contacts", "c-000001")["displayName"],
        "Unwanted"
    );
    // `undo` takes the sync run's number and undoes its pull.
    let sync_run = s["run_id"].as_i64().expect("run id").to_string();
    run(&env, &sb, &["undo", "--run", &sync_run]);
    assert_eq!(
        show(&env, &sb, "contacts", "c-000001")["displayName"],
        original
    );
    // The next sync keeps the restored value and sends it; HubSpot's value is not pulled again.
    run(&env, &sb, &["sync"]);
    assert_eq!(
        show(&env, &sb, "contacts", "c-000001")["displayName"],
        original
    );
    assert_eq!(
        remote(&sb, "contacts", &zoe, "gitmesh_display_name").map(Value::String),
        Some(original)
    );
    assert_next_sync_writes_nothing(&env, &sb);
}

#[test]
fn a_pull_only_field_follows_hubspot_and_is_never_sent() {
    let (env, sb) = community(SandboxConfig::unlimited());
    run(&env, &sb, &["push", "--contact", "c-000001"]);
    let ada = "c-000001";
    let zoe = hubspot_id(&env, &sb, "contacts", ada);
    sb.edit_record("contacts", &zoe, &json!({"lifecyclestage": "customer"}))
        .expect("edit");
    run(&env, &sb, &["pull"]);
    let c = show(&env, &sb, "contacts", ada);
    assert_eq!(c["attributes"]["lifecycleStage"], "customer", "{c}");
    let hid = c["hubspot"]["id"].as_str().expect("linked").to_owned();
    edit_locally(
        &env,
        &sb,
        "contacts",
        &json!({"id": ada, "attributes": {"lifecycleStage": "lead"}}),
    );
    run(&env, &sb, &["push", "--contact", ada]);
    assert_eq!(
        remote(&sb, "contacts", &hid, "lifecyclestage").as_deref(),
        Some("customer")
    );
    run(&env, &sb, &["pull", "--full"]);
    assert_eq!(
        show(&env, &sb, "contacts", ada)["attributes"]["lifecycleStage"],
        "customer"
    );
}

#[test]
fn import_refuses_with_75_while_a_sync_holds_the_lock_and_its_edit_is_pushed_after() {
    let mut cfg = SandboxConfig::unlimited();
    cfg.latency = Duration::from_millis(300);
    let (env, sb) = community(cfg);
    run(&env, &sb, &["push", "--contact", "c-000001"]);
    let zoe = hubspot_id(&env, &sb, "contacts", "c-000001");
    let mut sync = crate::common::std_cmd(&env, &sb);
    sync.env("HUBSPOT_ACCESS_TOKEN", "pat-na1-push")
        .arg("sync")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = sync.spawn().expect("sync starts");
    // Wait until the sync holds the lock (it names itself in the lock file).
    let lock = env.db().with_file_name("hubsync.lock");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&lock).is_ok_and(|t| t.contains("sync")) {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut err = String::new();
            let _ =
                std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err);
            panic!("the sync ended before the import ({status}): {err}");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the sync never took the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let file = env.write(
        "edit.ndjson",
        &format!(
            "{}\n",
            json!({"id": "c-000001", "displayName": "Edited During Sync"})
        ),
    );
    let out = hs(&env, &sb)
        .args(["import", "contacts"])
        .arg(&file)
        .output()
        .expect("import runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let refused = out.status.code() == Some(75);
    let status = child.wait().expect("sync ends");
    assert!(status.success(), "the sync succeeds");
    assert!(
        refused,
        "import during a sync exits 75 (exit {:?}): {stderr}",
        out.status.code()
    );
    assert!(
        stderr.contains("sync"),
        "the message names the holder: {stderr}"
    );
    // Run again once the sync is over: the edit is kept and the next sync pushes it.
    run(
        &env,
        &sb,
        &["import", "contacts", file.to_str().expect("utf-8")],
    );
    run(&env, &sb, &["sync"]);
    assert_display_name_both_sides(&env, &sb, "c-000001", &zoe, "Edited During Sync");
}

#[test]
fn a_store_from_before_the_base_gets_one_derived_from_what_it_pushed() {
    let (env, sb) = community(SandboxConfig::unlimited());
    run(&env, &sb, &["push", "--contact", "c-000001"]);
    let zoe = hubspot_id(&env, &sb, "contacts", "c-000001");
    // A store written before the base existed: links and content hashes, no base.
    let conn = rusqlite::Connection::open(env.db()).expect("store");
    conn.execute("DELETE FROM sync_base", [])
        .expect("forget the base");
    drop(conn);
    sb.edit_record(
        "contacts",
        &zoe,
        &json!({"gitmesh_display_name": "Renamed in HubSpot"}),
    )
    .expect("edit");
    let from = sb.requests().len();
    run(&env, &sb, &["sync"]);
    // The local values still matched the hash of the last push: they became the base, so
    // HubSpot's edit is the only move and flows in, and nothing is sent back (without a base
    // the whole record would be sent again).
    assert_eq!(writes_since(&sb, from), Vec::<String>::new());
    assert_display_name_both_sides(&env, &sb, "c-000001", &zoe, "Renamed in HubSpot");
    let conn = rusqlite::Connection::open(env.db()).expect("store");
    let bases: i64 = conn
        .query_row(
            "SELECT count(*) FROM sync_base WHERE local_id = 'c-000001'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(bases, 1);
    drop(conn);
    assert_next_sync_writes_nothing(&env, &sb);
}

#[test]
fn a_second_sync_while_one_runs_exits_75_naming_it_and_sends_nothing() {
    let mut cfg = SandboxConfig::unlimited();
    cfg.latency = Duration::from_millis(300);
    let (env, sb) = community(cfg);
    run(&env, &sb, &["push", "--contact", "c-000001"]);
    let mut first = crate::common::std_cmd(&env, &sb);
    first
        .env("HUBSPOT_ACCESS_TOKEN", "pat-na1-push")
        .arg("sync")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = first.spawn().expect("sync starts");
    let lock = env.db().with_file_name("hubsync.lock");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&lock).is_ok_and(|t| t.contains("sync")) {
        assert!(
            std::time::Instant::now() < deadline,
            "the sync never took the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = sb.requests().len();
    let second = hs(&env, &sb).arg("sync").output().expect("runs");
    let err = String::from_utf8_lossy(&second.stderr).into_owned();
    let during: Vec<String> = sb.requests()[before..]
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert!(child.wait().expect("first ends").success());
    assert_eq!(second.status.code(), Some(75), "{err}");
    assert!(err.contains("hubsync sync") && err.contains("pid"), "{err}");
    // The second run sent nothing (what the sandbox answered meanwhile is the first run's).
    let pid = child.id().to_string();
    assert!(err.contains(&pid), "names the holder's pid {pid}: {err}");
    assert!(during.len() < 20, "{during:?}");
}
