//! Tests: `hubsync sync`, the cron job — one run for pull, push of marked records and every
//! automation; `--if-due`; the lock; the daily limit and the run after it.

use std::collections::{BTreeMap, BTreeSet};

use hubsync_sandbox::SandboxConfig;
use serde_json::Value;

use crate::common::repo;
use crate::common::{community, hs};

fn add_champions(
    env: &crate::common::Env,
    sb: &hubsync_sandbox::Sandbox,
    extra: &[&str],
) -> std::process::Output {
    hs(env, sb)
        .args(["automate", "add", "champions", "--entity", "contacts"])
        .args(["--filter", "tags~champion", "--list", "Community champions"])
        .args(extra)
        .output()
        .unwrap()
}

/// No two HubSpot contacts share an e-mail and no two companies a domain.
fn assert_no_duplicates(state: &Value) {
    let mut emails = BTreeMap::new();
    for c in state["contacts"].as_array().unwrap() {
        if let Some(e) = c["properties"]["email"].as_str() {
            *emails.entry(e.to_lowercase()).or_insert(0) += 1;
        }
    }
    let dup: Vec<_> = emails.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dup.is_empty(), "duplicate contacts: {dup:?}");
    let mut domains = BTreeMap::new();
    for c in state["companies"].as_array().unwrap() {
        if let Some(d) = c["properties"]["domain"].as_str() {
            *domains.entry(d.to_owned()).or_insert(0) += 1;
        }
    }
    let dup: Vec<_> = domains.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dup.is_empty(), "duplicate companies: {dup:?}");
}

fn list_size(state: &Value, name: &str) -> usize {
    state["lists"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == name)
        .map_or(0, |l| l["members"].as_array().map_or(0, Vec::len))
}

#[test]
fn sync_pulls_pushes_marked_and_runs_automations_in_one_run() {
    let (env, sb) = community(SandboxConfig::unlimited());
    assert!(add_champions(&env, &sb, &["--no-run"]).status.success());
    let out = hs(&env, &sb).args(["sync", "--json"]).output().unwrap();
    assert!(
        out.status.success() || out.status.code() == Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(s["run_id"].as_i64().unwrap() > 0);
    assert!(s["counts"]["list_additions"].as_u64().unwrap() > 10, "{s}");
    let members = list_size(&sb.state(), "Community champions");

    // The run log holds one sync with its pull, push and automation parts beneath it.
    let status: Value = serde_json::from_slice(
        &hs(&env, &sb)
            .args(["status", "--json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(status["runs"][0]["kind"], "sync");

    // A contact imported later that matches is pushed and added by the next sync.
    env.write(
        "new.ndjson",
        "{\"id\":\"c-new-1\",\"emails\":[\"late.champion@example.org\"],\"tags\":[\"champion\"]}\n",
    );
    env.cmd()
        .args(["import", "contacts"])
        .arg(env.path("new.ndjson"))
        .assert()
        .success();
    let out = hs(&env, &sb).args(["sync"]).output().unwrap();
    assert!(out.status.success() || out.status.code() == Some(3));
    assert_eq!(list_size(&sb.state(), "Community champions"), members + 1);
    assert!(sb.contact_by_email("late.champion@example.org").is_some());
    assert_no_duplicates(&sb.state());

    // Nothing changed: every marked contact is counted once, although the automation selects
    // the champions that `push --marked` has just planned.
    let out = hs(&env, &sb).args(["sync", "--json"]).output().unwrap();
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    let list: Value = serde_json::from_slice(
        &env.cmd()
            .args(["contacts", "list", "--json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let contacts = list.as_array().unwrap();
    let marked = contacts
        .iter()
        .filter(|c| c["hubspot"]["marked"].is_string() && c["hubspot"]["id"].is_string())
        .count() as u64;
    assert!(marked > 10, "{list}");
    assert_eq!(
        s["counts"]["contacts_unchanged"].as_u64(),
        Some(marked),
        "{s}"
    );
}

#[test]
fn if_due_does_nothing_until_the_refresh_period_has_passed() {
    let (env, sb) = community(SandboxConfig::unlimited());
    let out = hs(&env, &sb).args(["sync", "--if-due"]).output().unwrap();
    assert!(out.status.success() || out.status.code() == Some(3));
    sb.clear_requests();
    let out = hs(&env, &sb).args(["sync", "--if-due"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("next due at"));
    assert!(sb.requests().is_empty(), "{:?}", sb.requests());
    // Without --if-due it runs.
    hs(&env, &sb).args(["sync"]).assert().code(vec![0, 3]);
    assert!(!sb.requests().is_empty());
}

#[test]
fn a_second_run_while_one_holds_the_lock_exits_75_and_writes_nothing() {
    let (env, sb) = community(SandboxConfig::unlimited());
    let held = hubsync::sync::lock::RunLock::acquire(env.dir.path(), "sync").unwrap();
    let out = hs(&env, &sb).args(["sync"]).output().unwrap();
    assert_eq!(out.status.code(), Some(75));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("pid {}", std::process::id())),
        "{stderr}"
    );
    assert!(sb.requests().is_empty());
    drop(held);
    hs(&env, &sb).args(["sync"]).assert().code(vec![0, 3]);
}

#[test]
fn the_daily_limit_mid_sync_exits_75_and_the_next_run_finishes_without_duplicates() {
    let (env, sb) = community(SandboxConfig::unlimited());
    assert!(add_champions(&env, &sb, &["--no-run"]).status.success());
    // Pull's two searches, the list check and the contact upsert go through; the list
    // addition hits the daily limit.
    sb.set_daily_limit(Some(4));
    let out = hs(&env, &sb).args(["sync"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(75),
        "{}{}\n{:?}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        sb.requests()
    );
    assert!(String::from_utf8_lossy(&out.stderr)
        .to_lowercase()
        .contains("daily"));
    let before = list_size(&sb.state(), "Community champions");
    sb.set_daily_limit(None);
    let out = hs(&env, &sb).args(["sync", "--json"]).output().unwrap();
    assert!(
        out.status.success() || out.status.code() == Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let state = sb.state();
    assert_no_duplicates(&state);
    let expected: BTreeSet<String> = serde_json::from_str::<Vec<Value>>(
        &std::fs::read_to_string(crate::common::repo().join("examples/data/contacts.json"))
            .unwrap(),
    )
    .unwrap()
    .iter()
    .filter(|c| {
        c["tags"].as_array().is_some_and(|t| {
            t.iter()
                .any(|t| t.as_str().is_some_and(|t| t.contains("champion")))
        })
    })
    .filter_map(|c| c["emails"][0].as_str().map(|e| e.trim().to_lowercase()))
    .collect();
    for e in &expected {
        assert!(sb.contact_by_email(e).is_some(), "{e} not in HubSpot");
    }
    assert!(list_size(&state, "Community champions") >= expected.len());
    assert!(
        before < expected.len(),
        "the first run should have stopped before the list addition"
    );
}

#[test]
fn a_record_hubspot_refuses_is_sent_once_per_sync_even_when_an_automation_selects_it() {
    let (env, sb) = community(SandboxConfig::unlimited());
    // The cache believes `Wizard` is a seniority; HubSpot refuses it.
    let mut store = hubsync::store::Store::open(&env.db()).expect("store");
    let mut props: Vec<Value> =
        hubsync::store::properties::load(store.conn(), "contacts").expect("cache");
    for p in &mut props {
        if p["name"] == "gitmesh_seniority" {
            p["options"]
                .as_array_mut()
                .expect("options")
                .push(serde_json::json!({"label": "Wizard", "value": "Wizard", "hidden": false}));
        }
    }
    hubsync::store::properties::replace(store.conn_mut(), "contacts", &props).expect("replace");
    drop(store);
    let text = std::fs::read_to_string(repo().join("examples/data/contacts.json")).unwrap();
    let sample: Vec<Value> = serde_json::from_str(&text).unwrap();
    let mut bad = sample[41].clone();
    bad["attributes"]["seniorityLevel"] = serde_json::json!("Wizard");
    bad["tags"] = serde_json::json!(["champion"]);
    let bad_id = bad["id"].as_str().unwrap().to_owned();
    env.write("bad.json", &serde_json::to_string(&[bad]).unwrap());
    env.cmd()
        .args(["import", "contacts"])
        .arg(env.path("bad.json"))
        .assert()
        .success();
    // A first push fails it, so the sync's `push --marked` tries it again.
    let out = hs(&env, &sb)
        .args(["push", "--contact", &bad_id])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(add_champions(&env, &sb, &["--no-run"]).status.success());

    sb.clear_requests();
    let out = hs(&env, &sb).args(["sync", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    let failed = s["failed"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == bad_id.as_str())
        .count();
    assert_eq!(failed, 1, "{s}");
    assert_eq!(s["status"], "partial", "{s}");
    // Every batch holding it is refused whole: one refused upsert means it was sent once.
    let refused = sb
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/batch/upsert") && r.status >= 400)
        .count();
    assert_eq!(
        refused, 1,
        "the refused contact was in {refused} batches of one sync"
    );
    // The automation's other champions were pushed and listed.
    assert!(s["counts"]["list_additions"].as_u64().unwrap() > 10, "{s}");
}

#[test]
fn sync_text_reads_as_a_sentence_per_phase_with_their_run_numbers() {
    let (env, sb) = community(SandboxConfig::unlimited());
    assert!(add_champions(&env, &sb, &["--no-run"]).status.success());
    let out = hs(&env, &sb).arg("sync").output().unwrap();
    assert!(out.status.success() || out.status.code() == Some(3));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("sync (run "), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.trim_start().starts_with("pull (run ")),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.trim_start().starts_with("push (run ")),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.trim_start().starts_with("automations:")
                && l.contains("contacts added to lists")),
        "{text}"
    );
    assert!(text.contains("records read from HubSpot"), "{text}");
    // Words, not counter keys.
    assert!(
        !text.contains("contacts_created") && !text.contains("list_additions"),
        "{text}"
    );
}

#[test]
fn colour_only_on_request_and_never_in_machine_output() {
    const ESC: char = '\u{1b}';
    let (env, sb) = community(SandboxConfig::unlimited());
    // A pipe: no colour.
    let plain = hs(&env, &sb).arg("sync").output().unwrap();
    assert!(plain.status.success(), "{plain:?}");
    let text = String::from_utf8_lossy(&plain.stdout).into_owned();
    assert!(text.starts_with("sync (run "), "{text}");
    assert!(!text.contains(ESC), "{text:?}");
    // CLICOLOR_FORCE asks for it on a pipe; the words are the same once the escapes are gone.
    let forced = hs(&env, &sb)
        .arg("sync")
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap();
    let coloured = String::from_utf8_lossy(&forced.stdout).into_owned();
    assert!(
        coloured.starts_with("\u{1b}[1msync\u{1b}[0m"),
        "{coloured:?}"
    );
    let stripped: String = {
        let mut out = String::new();
        let mut chars = coloured.chars();
        while let Some(c) = chars.next() {
            if c == ESC {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    };
    assert!(stripped.starts_with("sync (run "), "{stripped}");
    assert!(stripped.contains("pull (run "), "{stripped}");
    // NO_COLOR wins over CLICOLOR_FORCE; `--color always` wins over both.
    let no_color = hs(&env, &sb)
        .arg("sync")
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&no_color.stdout).contains(ESC));
    let always = hs(&env, &sb)
        .args(["sync", "--color", "always"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&always.stdout).contains(ESC));
    // Machine output never carries escapes, whatever was asked.
    let json = hs(&env, &sb)
        .args(["sync", "--json", "--color", "always"])
        .output()
        .unwrap();
    let doc = String::from_utf8_lossy(&json.stdout).into_owned();
    assert!(!doc.contains(ESC), "{doc:?}");
    serde_json::from_str::<serde_json::Value>(&doc).expect("one JSON document");
    // Errors: `error:` is red when colour is asked for, plain otherwise.
    let err = hs(&env, &sb)
        .args(["contacts", "show", "nobody"])
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&err.stderr).into_owned();
    assert!(stderr.contains("\u{1b}[1m\u{1b}[31merror:"), "{stderr:?}");
    let err = hs(&env, &sb)
        .args(["contacts", "show", "nobody"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&err.stderr).into_owned();
    assert!(stderr.starts_with("error: "), "{stderr:?}");
}

/// Every command that answers (all but `connect`, `map edit` and `completions`, which talk to a
/// person or a shell) prints one pretty JSON document under `--json`, and nothing else.
#[test]
fn every_command_answers_json_with_one_document() {
    let (env, sb) = community(SandboxConfig::unlimited());
    let other_mapping = env.path("other.yaml");
    let export = env.path("out.ndjson");
    let commands: Vec<Vec<String>> = [
        "status",
        "doctor",
        "map show",
        "map check",
        "map refresh",
        "contacts list",
        "contacts show c-000001",
        "organizations list",
        "organizations show org-00001",
        "lists",
        "automate add champions --entity contacts --filter tags~champion --list Community_champions --no-run",
        "automate list",
        "automate show champions",
        "automate pause champions",
        "automate resume champions",
        "automate run champions --dry-run",
        "automate run champions",
        "push --dry-run --marked",
        "push --marked",
        "pull",
        "sync",
        "history",
        "undo --run 999",
        "automate remove champions",
        "sync --if-due",
    ]
    .iter()
    .map(|c| c.split(' ').map(|a| a.replace('_', " ")).collect())
    .chain([
        vec![
            "import".into(),
            "contacts".into(),
            repo()
                .join("examples/data/contacts.json")
                .display()
                .to_string(),
        ],
        vec![
            "export".into(),
            "contacts".into(),
            "--output".into(),
            export.display().to_string(),
        ],
        vec![
            "map".into(),
            "init".into(),
            "--mappings".into(),
            other_mapping.display().to_string(),
        ],
        vec!["disconnect".into()],
    ])
    .collect();
    for args in &commands {
        let out = hs(&env, &sb).args(args).arg("--json").output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "`{}` --json is not one JSON document ({e}): {stdout:?} {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert!(doc.is_object() || doc.is_array(), "{args:?}: {doc}");
        // One style: pretty-printed, like SPEC §7's documents.
        let empty = doc.as_object().is_some_and(|o| o.is_empty())
            || doc.as_array().is_some_and(|a| a.is_empty());
        assert!(
            empty || stdout.contains("\n  "),
            "{args:?} is not pretty-printed: {stdout}"
        );
        // An error is a document too, with the exit code the process returned.
        if !out.status.success() && doc.get("status").is_none() {
            assert_eq!(
                doc["error"]["exit_code"].as_i64(),
                out.status.code().map(i64::from),
                "{args:?}: {doc}"
            );
        }
    }
}

#[test]
fn sync_dry_run_prints_its_plan_and_changes_nothing() {
    let (env, sb) = community(SandboxConfig::unlimited());
    assert!(add_champions(&env, &sb, &["--no-run"]).status.success());
    let before = sb.requests().len();
    let out = hs(&env, &sb).args(["sync", "--dry-run"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // The plan first, one line per record, then the summary.
    assert!(
        text.lines().any(|l| l.starts_with("create contact c-")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("add to list `Community champions`: contact c-")),
        "{text}"
    );
    assert!(text.contains("sync --dry-run"), "{text}");
    let writes = sb.requests()[before..]
        .iter()
        .filter(|r| {
            r.method != "GET" && !r.path.contains("/search") && !r.path.contains("/batch/read")
        })
        .count();
    assert_eq!(writes, 0, "a dry run wrote to HubSpot");
}
