//! Tests: `hubsync status` (no HubSpot request is made).

use serde_json::Value;

use crate::common::{repo, Env};

#[test]
fn status_reports_connection_store_mapping_runs_and_failures() {
    let env = Env::new();
    let out = env.cmd().arg("status").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("not connected"), "{text}");
    assert!(text.contains("0 contacts"), "{text}");
    assert!(text.contains("Runs:        none yet"), "{text}");

    env.cmd()
        .args(["import", "organizations"])
        .arg(repo().join("examples/data/organizations.json"))
        .assert()
        .success();
    env.cmd()
        .args(["import", "contacts"])
        .arg(repo().join("examples/data/contacts.json"))
        .assert()
        .success();
    std::fs::copy(repo().join("mappings.example.yaml"), env.mappings()).unwrap();
    {
        let store = hubsync::store::Store::open(&env.db()).unwrap();
        let run = hubsync::store::runs::start(store.conn(), "push", None).unwrap();
        hubsync::store::runs::record_failure(
            store.conn(),
            hubsync::store::Entity::Contact,
            "c-000001",
            "push",
            "`Wizard` is not an option of gitmesh_seniority",
            run,
        )
        .unwrap();
        let counts = [
            ("contacts_created".to_owned(), 2),
            ("contacts_failed".to_owned(), 1),
        ]
        .into();
        hubsync::store::runs::finish(store.conn(), run, "partial", &counts, None).unwrap();
    }

    let out = env
        .cmd()
        .env("HUBSPOT_ACCESS_TOKEN", "pat-na1-secret-status-token")
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("pat-na1-secret-status-token"));
    let s: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(s["connection"]["connected"], true);
    assert_eq!(s["connection"]["token_store"], "env");
    assert_eq!(s["store"]["contacts"], 300);
    assert_eq!(s["store"]["organizations"], 36);
    // No properties cached yet: the mapping cannot be checked.
    assert_eq!(s["mapping"]["valid"], false);
    assert_eq!(s["runs"][0]["kind"], "push");
    assert_eq!(s["runs"][0]["status"], "partial");
    assert_eq!(s["pending_failures"], 1);
    assert!(s["automations"].as_array().unwrap().is_empty());

    let out = env.cmd().arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1 pending"), "{text}");
    assert!(text.contains("c-000001"), "{text}");
    assert!(text.contains("run `hubsync map check`"), "{text}");
    // The last runs' counters read as words, as the runs printed them.
    assert!(
        text.contains("2 contacts created, 1 contact failed"),
        "{text}"
    );
}
