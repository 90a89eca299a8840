//! Single faults with a known right answer.

use super::*;
use hubsync_sandbox::{Fault, FaultPlan, SandboxConfig};
use serde_json::json;
use std::time::{Duration, Instant};

/// Found by the fault cycles: the list check before an automation turned a daily limit (or a
/// refused token) into a plain error, exit 1, where the next run would have resumed.
#[test]
pub(super) fn a_daily_limit_met_while_checking_an_automations_list_exits_75() {
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
pub(super) fn a_company_create_that_never_gets_an_answer_times_out_and_is_not_duplicated() {
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
pub(super) fn a_value_pulled_from_hubspot_is_not_pushed_back_over_a_newer_edit() {
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
pub(super) fn a_contact_merged_in_hubspot_is_pushed_to_the_survivor_after_the_pull() {
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
