//! The invariant checker itself: it reports what it is there to report.

use super::*;
use hubsync_sandbox::SandboxConfig;
use serde_json::{json, Value};

// ---- the checker itself -------------------------------------------------------------------------

pub(super) fn assert_reports(w: &World, found: &[String], needle: &str, planted: &str) {
    if !found.iter().any(|p| p.contains(needle)) {
        w.fail(format!(
            "the checker missed {planted}: no problem mentions `{needle}`; it reported {found:#?}"
        ));
    }
}

#[test]
pub(super) fn the_invariant_checker_reports_duplicates_missing_records_wrong_values_list_errors_and_unrecorded_changes(
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
