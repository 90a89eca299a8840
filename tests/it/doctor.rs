//! Tests: `hubsync doctor` against the sandbox — all OK on a healthy setup; a missing or active
//! automation list, a mapping naming a property HubSpot doesn't have, and a held lock each
//! reported with the fix; not connected exits 4.

use hubsync_sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;

use crate::common::cmd;
use crate::common::Env;
use crate::common::{community, hs};

fn doctor(env: &Env, sb: &Sandbox) -> (Option<i32>, Value, String) {
    let out = hs(env, sb)
        .args(["doctor", "--json"])
        .output()
        .expect("run doctor");
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        out.status.code(),
        report,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {report:#}"))
}

fn list_id(sb: &Sandbox, name: &str) -> String {
    let state = sb.state();
    let list = state["lists"]
        .as_array()
        .expect("lists")
        .iter()
        .find(|l| l["name"] == name)
        .unwrap_or_else(|| panic!("no list {name}"))
        .clone();
    list["listId"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| list["listId"].to_string())
}

fn add_automation(env: &Env, sb: &Sandbox, name: &str) {
    hs(env, sb)
        .args(["automate", "add", name, "--entity", "contacts", "--no-run"])
        .args(["--filter", "tags~champion", "--list", "Community champions"])
        .assert()
        .success();
}

/// When each cached property was fetched.
fn cache_times(env: &Env) -> Vec<String> {
    let conn = rusqlite::Connection::open(env.db()).expect("open store");
    let mut st = conn
        .prepare("SELECT fetched_at FROM property_cache ORDER BY object_type, name")
        .expect("query");
    let times = st
        .query_map([], |r| r.get::<_, String>(0))
        .expect("rows")
        .collect::<Result<Vec<_>, _>>()
        .expect("rows");
    assert!(!times.is_empty());
    times
}

#[test]
fn a_healthy_setup_is_all_ok() {
    let (env, sb) = community(SandboxConfig::unlimited());
    add_automation(&env, &sb, "champions");
    let before = cache_times(&env);
    sb.clear_requests();
    let (code, report, stderr) = doctor(&env, &sb);
    assert_eq!(code, Some(0), "{report:#}\n{stderr}");
    assert_eq!(report["ok"], true);
    for name in [
        "token",
        "scopes",
        "mapping",
        "automation champions",
        "store",
        "lock",
    ] {
        assert_eq!(check(&report, name)["status"], "ok", "{name}: {report:#}");
    }
    // HubSpot's live properties were read; the cache is left as it was (`map refresh` updates).
    let fetched: Vec<String> = sb
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains("properties"))
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(fetched.len(), 2, "{fetched:?}");
    assert_eq!(cache_times(&env), before);

    let out = hs(&env, &sb).arg("doctor").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("everything looks fine"), "{text}");
    assert!(!text.contains("PROBLEM"), "{text}");
}

#[test]
fn broken_lists_a_bad_mapping_and_a_held_lock_are_reported_with_the_fix() {
    let (env, sb) = community(SandboxConfig::unlimited());
    for name in ["champions", "gone", "active"] {
        add_automation(&env, &sb, name);
    }
    let active = list_id(&sb, "All customers");
    let conn = rusqlite::Connection::open(env.db()).expect("open store");
    conn.execute(
        "UPDATE automations SET list_id = '987654', list_name = 'Deleted list' WHERE name = 'gone'",
        [],
    )
    .expect("update");
    conn.execute(
        "UPDATE automations SET list_id = ?1, list_name = 'All customers' WHERE name = 'active'",
        [&active],
    )
    .expect("update");
    drop(conn);
    let mapping = std::fs::read_to_string(env.mappings()).expect("mapping");
    assert!(mapping.contains("gitmesh_github"));
    std::fs::write(
        env.mappings(),
        mapping.replace("gitmesh_github", "gitmesh_no_such_property"),
    )
    .expect("write mapping");
    let held = hubsync::sync::lock::RunLock::acquire(env.dir.path(), "sync").expect("lock");
    // A run that has held the lock for hours looks stuck.
    let lock_file = env.dir.path().join("hubsync.lock");
    let holder = std::fs::read_to_string(&lock_file).expect("lock file");
    let (pid, _) = holder.split_once(" since ").expect("holder");
    std::fs::write(&lock_file, format!("{pid} since 2020-01-01T00:00:00Z")).expect("age the lock");

    let (code, report, stderr) = doctor(&env, &sb);
    assert_eq!(code, Some(1), "{report:#}\n{stderr}");
    assert_eq!(report["ok"], false);
    assert!(stderr.contains("need fixing"), "{stderr}");
    for name in ["token", "scopes", "automation champions", "store"] {
        assert_eq!(check(&report, name)["status"], "ok", "{name}: {report:#}");
    }

    let m = check(&report, "mapping");
    assert_eq!(m["status"], "problem");
    assert!(
        m["problems"]
            .to_string()
            .contains("gitmesh_no_such_property"),
        "{m:#}"
    );
    assert!(m["fix"].as_str().unwrap().contains("map refresh"), "{m:#}");

    let gone = check(&report, "automation gone");
    assert_eq!(gone["status"], "problem");
    assert!(
        gone["detail"]
            .as_str()
            .unwrap()
            .contains("HubSpot has no contact list `987654`"),
        "{gone:#}"
    );
    assert!(
        gone["fix"]
            .as_str()
            .unwrap()
            .contains("hubsync automate remove gone"),
        "{gone:#}"
    );

    let dynamic = check(&report, "automation active");
    assert_eq!(dynamic["status"], "problem");
    assert!(
        dynamic["detail"]
            .as_str()
            .unwrap()
            .contains("(active) list"),
        "{dynamic:#}"
    );
    assert!(
        dynamic["fix"].as_str().unwrap().contains("static"),
        "{dynamic:#}"
    );

    let lock = check(&report, "lock");
    assert_eq!(lock["status"], "problem");
    assert!(
        lock["detail"].as_str().unwrap().contains("`hubsync sync`")
            && lock["detail"].as_str().unwrap().contains("looks stuck"),
        "{lock:#}"
    );
    assert!(
        lock["fix"].as_str().unwrap().contains("stop it"),
        "{lock:#}"
    );

    // A run in progress (as cron's sync while doctor runs) is not a problem.
    std::fs::write(&lock_file, holder).expect("restore the lock file");
    let (_, report, _) = doctor(&env, &sb);
    let lock = check(&report, "lock");
    assert_eq!(lock["status"], "ok", "{lock:#}");
    assert!(
        lock["detail"].as_str().unwrap().contains("run in progress"),
        "{lock:#}"
    );
    drop(held);

    // The text report names each problem and its fix, too.
    let out = hs(&env, &sb).arg("doctor").assert().code(1);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert_eq!(text.matches("PROBLEM").count(), 3, "{text}");
    assert_eq!(text.matches("fix:").count(), 3, "{text}");
    assert!(text.contains("ok       lock: free"), "{text}");
}

#[test]
fn not_connected_exits_4_saying_connect() {
    let sb = Sandbox::start(SandboxConfig::unlimited()).expect("sandbox");
    let env = Env::new();
    let out = cmd(&env, &sb).args(["doctor", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let token = check(&report, "token");
    assert_eq!(token["status"], "problem");
    assert!(
        token["fix"].as_str().unwrap().contains("hubsync connect"),
        "{token:#}"
    );
    assert_eq!(check(&report, "scopes")["status"], "skipped");
    assert_eq!(sb.requests().len(), 0);
}

#[test]
fn a_damaged_store_is_reported_with_the_fix() {
    let sb = Sandbox::start(SandboxConfig::unlimited().with_static_token("pat-na1-doctor"))
        .expect("sandbox");
    let env = Env::new();
    std::fs::write(env.db(), "this is not a database\n".repeat(200)).expect("write");
    let out = cmd(&env, &sb)
        .env("HUBSPOT_ACCESS_TOKEN", "pat-na1-doctor")
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(check(&report, "token")["status"], "ok", "{report:#}");
    let store = check(&report, "store");
    assert_eq!(store["status"], "problem", "{report:#}");
    assert!(
        store["fix"]
            .as_str()
            .unwrap()
            .contains("restore it from a backup"),
        "{store:#}"
    );
}
