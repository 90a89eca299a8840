//! Tests: the edges, through the real binary — a closed pipe, values at HubSpot's size limit,
//! a server that sends absurd waits, a mistyped API base, a machine that was never connected,
//! the store's permissions, and configuration mistakes named with their fix.

use std::time::{Duration, Instant};

use hubsync_sandbox::{Fault, FaultPlan, Sandbox, SandboxConfig};

use crate::common::{cmd, connected, std_cmd};
use crate::common::{community, hs};
use crate::common::{repo, Env};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let (env, sb) = community(SandboxConfig::unlimited());
    for args in [
        &["map", "show"][..],
        &["status"],
        &["history"],
        &["contacts", "list"],
        &["automate", "list"],
        &["lists"],
        &["export", "contacts"],
        &["export", "contacts", "--format", "csv"],
    ] {
        // The reader is gone before hubsync writes a byte (as `| head` after its lines).
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let out = std_cmd(&env, &sb)
            .env("HUBSPOT_ACCESS_TOKEN", "pat-na1-push")
            .args(args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .expect("hubsync runs");
        let err = stderr(&out);
        assert!(
            matches!(out.status.code(), Some(0 | 141)),
            "hubsync {args:?} into a closed pipe exited {:?}: {err}",
            out.status.code()
        );
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn values_at_hubspots_limit_are_imported_and_listed_and_longer_ones_refused() {
    let env = Env::new();
    let longest = "x".repeat(65_536);
    let file = env.write(
        "long.ndjson",
        &format!("{{\"id\":\"c1\",\"emails\":[\"a@x.io\"],\"displayName\":\"{longest}\"}}\n"),
    );
    env.cmd()
        .args(["import", "contacts"])
        .arg(&file)
        .assert()
        .success();
    let out = env.cmd().args(["contacts", "list"]).output().expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().all(|l| l.chars().count() < 300),
        "cells are cut"
    );
    assert!(text.contains('…'), "{text}");

    let file = env.write(
        "longer.ndjson",
        &format!("{{\"id\":\"c2\",\"displayName\":\"{longest}y\"}}\n"),
    );
    let out = env
        .cmd()
        .args(["import", "contacts"])
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("line 1") && err.contains("displayName") && err.contains("65536"),
        "{err}"
    );
}

/// A sandbox whose first API answer is `status` with `headers`.
fn answering(status: u16, headers: &[(&str, &str)]) -> (Env, Sandbox) {
    let (env, sb) = community(SandboxConfig::unlimited());
    sb.set_faults(
        FaultPlan::none().then(
            1,
            1,
            Fault::Answer {
                status,
                headers: headers
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            },
        ),
    );
    (env, sb)
}

#[test]
fn absurd_retry_after_values_neither_crash_nor_hold_the_run() {
    for (status, wait) in [
        (503, "1e300"),
        (423, "86400"),
        (429, "99999999999999999999"),
    ] {
        let (env, sb) = answering(status, &[("Retry-After", wait)]);
        let started = Instant::now();
        let out = hs(&env, &sb)
            .args(["lists", "--refresh"])
            .timeout(Duration::from_secs(120))
            .output()
            .expect("runs");
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{status} {wait}: {err}");
        assert_eq!(out.status.code(), Some(75), "{status} {wait}: {err}");
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{status} Retry-After {wait} held the run for {:?}",
            started.elapsed()
        );
    }
    // A reasonable one is honoured and the run goes on.
    let (env, sb) = answering(423, &[("Retry-After", "1")]);
    hs(&env, &sb)
        .args(["lists", "--refresh"])
        .assert()
        .success();
}

#[test]
fn a_mistyped_api_base_is_a_configuration_error_naming_it() {
    let env = Env::new();
    for (base, needle) in [
        ("https://api.hubapi.invalid", "api.hubapi.invalid"),
        ("htp://api.hubapi.com", "https://"),
        ("http://10.1.2.3", "in clear"),
        ("not a url", "not a URL"),
    ] {
        let started = Instant::now();
        let out = env
            .cmd()
            .env("HUBSPOT_ACCESS_TOKEN", "pat-na1-x")
            .args(["--api-base", base, "lists", "--refresh"])
            .timeout(Duration::from_secs(60))
            .output()
            .expect("runs");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{base}: {err}");
        assert!(
            err.contains(needle) && err.contains("--api-base"),
            "{base}: {err}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{base}: no retries"
        );
    }
}

#[test]
fn a_connection_remembers_its_token_store_and_a_machine_never_connected_says_so() {
    let sb = Sandbox::start(SandboxConfig::unlimited()).expect("sandbox");
    // Never connected, no keyring reachable here (or no entry in it): exit 4, `connect`.
    let env = Env::new();
    let out = cmd(&env, &sb)
        .env_remove("HUBSYNC_TOKEN_STORE")
        .arg("lists")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("hubsync connect"), "{}", stderr(&out));

    // Connected with the file store: later commands find it without the flag.
    let env = connected(&sb);
    let out = cmd(&env, &sb)
        .env_remove("HUBSYNC_TOKEN_STORE")
        .arg("lists")
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    // The tokens were issued for this API base: never sent to another one.
    let other = Sandbox::start(SandboxConfig::unlimited()).expect("sandbox");
    let out = cmd(&env, &sb)
        .env("HUBSYNC_API_BASE", other.url())
        .arg("lists")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("stored connection was made for"),
        "{}",
        stderr(&out)
    );
    assert!(
        other.requests().is_empty(),
        "no request reached the other base"
    );
}

#[cfg(unix)]
#[test]
fn the_store_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt as _;
    let env = Env::new();
    let db = env.path("private/data/hubsync.db");
    env.cmd()
        .env("HUBSYNC_DB", &db)
        .args(["import", "organizations"])
        .arg(repo().join("examples/data/organizations.json"))
        .assert()
        .success();
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
    assert_eq!(mode(&env.path("private/data")), 0o700);
    assert_eq!(mode(&env.path("private")), 0o700);
    assert_eq!(mode(&db), 0o600);
    for suffix in ["-wal", "-shm"] {
        let p = env.path(&format!("private/data/hubsync.db{suffix}"));
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{suffix}");
        }
    }
}

#[test]
fn a_read_only_command_does_not_create_a_store_where_a_mistyped_db_points() {
    let env = Env::new();
    let db = env.path("typo/hubsync.db");
    for args in [
        &["contacts", "list"][..],
        &["history"],
        &["automate", "list"],
    ] {
        let out = env
            .cmd()
            .env("HUBSYNC_DB", &db)
            .args(args)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&out).contains("no hubsync store"),
            "{}",
            stderr(&out)
        );
    }
    assert!(!env.path("typo").exists());
}

#[test]
fn mapping_file_mistakes_are_named_with_their_line_and_fix() {
    let env = Env::new();
    let example = std::fs::read_to_string(repo().join("mappings.example.yaml")).expect("example");
    let check = |text: &str| {
        std::fs::write(env.mappings(), text).expect("write");
        let out = env.cmd().args(["map", "check"]).output().expect("runs");
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        stderr(&out)
    };
    let line = example
        .lines()
        .position(|l| l.trim() == "pull: fill-empty")
        .expect("a fill-empty line")
        + 1;
    let err = check(&example.replace("pull: fill-empty", "pull: fillempty"));
    assert!(
        err.contains("fillempty")
            && err.contains("fill-empty")
            && err.contains(&format!(":{line}:")),
        "{err}"
    );
    let err = check("version: 1\ncontacts:\n\tenabled: true\n");
    assert!(err.contains("spaces, not tabs"), "{err}");
    let err = check("# nothing yet\n");
    assert!(err.contains("empty"), "{err}");
    let line = example
        .lines()
        .position(|l| l.starts_with("refresh_period:"))
        .expect("refresh_period")
        + 1;
    let err = check(&example.replace("refresh_period: 8h", "refresh_period: 100000000d"));
    assert!(
        err.contains(&format!(":{line}")) && err.contains("too long"),
        "{err}"
    );
}

#[test]
fn a_csv_separated_by_semicolons_gets_a_hint() {
    let env = Env::new();
    let file = env.write("semi.csv", "id;emails;displayName\nc1;a@x.io;Ada\n");
    let out = env
        .cmd()
        .args(["import", "contacts"])
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("separated by `;`"),
        "{}",
        stderr(&out)
    );
}

/// `push` of 1,000 new contacts (ten batches), as a child process, against a slow sandbox.
fn slow_push(env: &Env, sb: &Sandbox) -> std::process::Child {
    let lines: String = (0..1000)
        .map(|i| format!("{{\"id\":\"g{i:04}\",\"emails\":[\"g{i:04}@example.org\"],\"displayName\":\"G {i}\"}}\n"))
        .collect();
    let file = env.write("many.ndjson", &lines);
    env.cmd()
        .args(["import", "contacts"])
        .arg(&file)
        .assert()
        .success();
    let mut c = std_cmd(env, sb);
    c.env("HUBSPOT_ACCESS_TOKEN", "pat-na1-push").arg("push");
    for i in 0..1000 {
        c.args(["--contact", &format!("g{i:04}")]);
    }
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("push starts")
}

fn status_json(env: &Env, sb: &Sandbox) -> serde_json::Value {
    let out = hs(env, sb)
        .args(["status", "--json"])
        .output()
        .expect("status");
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn wait_for_requests(sb: &Sandbox, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while sb.requests().len() < n {
        assert!(Instant::now() < deadline, "the push never got going");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn emails_in_hubspot(sb: &Sandbox) -> Vec<String> {
    let state = sb.state();
    let mut emails: Vec<String> = state["contacts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["archived"] != serde_json::json!(true))
        .filter_map(|c| c["properties"]["email"].as_str().map(str::to_lowercase))
        .collect();
    emails.sort();
    emails
}

#[cfg(unix)]
#[test]
fn ctrl_c_saves_what_is_in_flight_closes_the_run_and_exits_130() {
    let mut cfg = SandboxConfig::unlimited();
    cfg.latency = Duration::from_millis(400);
    let (env, sb) = community(cfg);
    let child = slow_push(&env, &sb);
    // The first contact batches are on their way.
    wait_for_requests(&sb, 1);
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let started = Instant::now();
    let out = child.wait_with_output().expect("push ends");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(started.elapsed() < Duration::from_secs(15), "bounded");
    assert!(err.contains("run the same command again"), "{err}");
    let status = status_json(&env, &sb);
    assert_eq!(status["runs"][0]["status"], "interrupted", "{status}");
    // It stopped sending: not every batch went.
    let sent = emails_in_hubspot(&sb)
        .iter()
        .filter(|e| e.ends_with("@example.org") && e.starts_with('g'))
        .count();
    assert!(sent < 1000, "the push stopped early ({sent} sent)");
    // The same command again: everything arrives, once.
    let again = slow_push(&env, &sb).wait_with_output().expect("push ends");
    assert!(again.status.success(), "{}", stderr(&again));
    let emails = emails_in_hubspot(&sb);
    assert_eq!(
        emails
            .iter()
            .filter(|e| e.ends_with("@example.org") && e.starts_with('g'))
            .count(),
        1000
    );
    let mut unique = emails.clone();
    unique.dedup();
    assert_eq!(emails, unique, "no contact twice");
}

#[cfg(unix)]
#[test]
fn a_run_killed_outright_is_flagged_by_status_and_doctor_and_closed_by_the_next_run() {
    let mut cfg = SandboxConfig::unlimited();
    cfg.latency = Duration::from_millis(400);
    let (env, sb) = community(cfg);
    let mut child = slow_push(&env, &sb);
    wait_for_requests(&sb, 2);
    child.kill().expect("kill -9");
    let _ = child.wait();
    let status = status_json(&env, &sb);
    assert_eq!(status["runs"][0]["status"], "running");
    assert_eq!(status["stale_runs"][0], status["runs"][0]["id"], "{status}");
    let text =
        String::from_utf8_lossy(&hs(&env, &sb).arg("status").output().expect("status").stdout)
            .into_owned();
    assert!(text.contains("its process ended"), "{text}");
    let doctor = hs(&env, &sb).arg("doctor").output().expect("doctor");
    assert!(
        String::from_utf8_lossy(&doctor.stdout).contains("no hubsync process is running it"),
        "{}",
        String::from_utf8_lossy(&doctor.stdout)
    );
    hs(&env, &sb).args(["push", "--marked"]).assert().success();
    let status = status_json(&env, &sb);
    let runs = status["runs"].as_array().expect("runs");
    assert!(runs.iter().all(|r| r["status"] != "running"), "{status}");
    assert!(
        runs.iter().any(|r| r["status"] == "interrupted"),
        "{status}"
    );
}

#[test]
fn a_filter_on_an_attribute_nobody_has_is_refused_with_a_suggestion() {
    let (env, sb) = community(SandboxConfig::unlimited());
    let out = hs(&env, &sb)
        .args(["automate", "add", "seniors", "--entity", "contacts"])
        .args([
            "--filter",
            "attributes.seniorty=Senior",
            "--list",
            "Community champions",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("attributes.seniorty")
            && err.contains("did you mean `attributes.seniorityLevel`"),
        "{err}"
    );
    // Nothing was stored.
    let list = hs(&env, &sb)
        .args(["automate", "list"])
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&list.stdout).contains("no automations"));
}

/// A run that needs a refresh, with `faults` on the next token requests: it ends with a working
/// connection or a clear exit 4 naming `hubsync connect`, never anything else.
fn refresh_under(faults: Vec<Fault>) -> (Env, Sandbox, std::process::Output) {
    let sb = Sandbox::start(SandboxConfig::unlimited()).expect("sandbox");
    let env = connected(&sb);
    sb.expire_all_access_tokens();
    sb.fail_next_token_requests(faults);
    let out = cmd(&env, &sb)
        .args(["lists", "--refresh"])
        .timeout(Duration::from_secs(120))
        .output()
        .expect("runs");
    (env, sb, out)
}

fn working_or_clear_4(out: &std::process::Output) {
    let err = stderr(out);
    match out.status.code() {
        Some(0) => {}
        Some(4) => assert!(err.contains("hubsync connect"), "{err}"),
        other => panic!("exit {other:?}: {err}"),
    }
}

#[test]
fn a_refresh_whose_answer_is_lost_ends_connected_or_with_a_clear_4() {
    // Lost before HubSpot did anything: the retry refreshes.
    let (env, sb, out) = refresh_under(vec![Fault::Status { status: 504 }]);
    assert!(out.status.success(), "{}", stderr(&out));
    cmd(&env, &sb).arg("lists").assert().success();
    // Lost after HubSpot rotated the refresh token: the old one is dead.
    let (env, sb, out) = refresh_under(vec![Fault::Applied {
        then: Box::new(Fault::Status { status: 504 }),
    }]);
    working_or_clear_4(&out);
    let again = cmd(&env, &sb).arg("lists").output().expect("runs");
    working_or_clear_4(&again);
    // And a dropped connection after the rotation.
    let (_env, _sb, out) = refresh_under(vec![Fault::Applied {
        then: Box::new(Fault::Drop),
    }]);
    working_or_clear_4(&out);
}

#[cfg(unix)]
#[test]
fn a_process_killed_during_a_refresh_leaves_a_working_connection_or_a_clear_4() {
    let sb = Sandbox::start(SandboxConfig::unlimited()).expect("sandbox");
    let env = connected(&sb);
    sb.expire_all_access_tokens();
    // HubSpot rotates the tokens, then the answer hangs; the process is killed meanwhile.
    sb.fail_next_token_requests(vec![Fault::Applied {
        then: Box::new(Fault::Hang {
            duration: Duration::from_secs(5),
        }),
    }]);
    let mut child = std_cmd(&env, &sb)
        .args(["lists", "--refresh"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starts");
    std::thread::sleep(Duration::from_millis(1_500));
    child.kill().expect("kill -9");
    let _ = child.wait();
    let out = cmd(&env, &sb).arg("lists").output().expect("runs");
    working_or_clear_4(&out);
    // `connect` always recovers it.
    let env2 = connected(&sb);
    cmd(&env2, &sb).arg("lists").assert().success();
}

#[test]
fn under_json_an_error_is_a_json_document_on_stdout() {
    let env = Env::new();
    for (args, code) in [
        (&["--json", "contacts", "list"][..], 1),
        (&["--json", "contacts", "lst"][..], 2),
        (&["--json", "lists"][..], 4),
    ] {
        let out = env
            .cmd()
            .env_remove("HUBSYNC_TOKEN_STORE")
            .env("HUBSYNC_TOKEN_STORE", "file")
            .args(args)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(code), "{args:?}");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: stdout is not JSON ({e})"));
        assert_eq!(doc["error"]["exit_code"], code, "{doc}");
        assert!(doc["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
        if code == 4 {
            assert!(doc["error"]["hint"]
                .as_str()
                .is_some_and(|h| h.contains("connect")));
        }
    }
}
