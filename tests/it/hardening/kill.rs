//! `push` and `pull` killed with SIGKILL at seeded request numbers, then run again.

use super::*;
use hubsync_sandbox::SandboxConfig;
use rand::rngs::StdRng;
use serde_json::json;
use std::time::{Duration, Instant};

// ---- 2. kill -9 in the middle of push and pull ------------------------------------------------

/// Starts `hubsync ARGS`, kills it (SIGKILL) once `ready()` says so, and returns how many
/// sandbox requests it had made. Fails if it finished before.
pub(super) fn kill_when(w: &World, args: &[String], what: &str, ready: impl Fn() -> bool) -> usize {
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
pub(super) fn kill_at_request(w: &World, args: &[String], what: &str, n: usize) -> usize {
    let base = w.sb.requests().len();
    kill_when(w, args, what, || w.sb.requests().len() >= base + n)
}

pub(super) fn history_rows(w: &World) -> i64 {
    rusqlite::Connection::open(w.env.db())
        .and_then(|c| c.query_row("SELECT count(*) FROM history", [], |r| r.get(0)))
        .unwrap_or(0)
}

pub(super) fn crash_push_and_pull(seed: u64) {
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
pub(super) fn push_and_pull_killed_at_seeded_points_and_run_again_lose_and_duplicate_nothing() {
    for_each_seed(&seeds(&[11, 12, 13]), crash_push_and_pull);
}
