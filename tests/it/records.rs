//! Tests: `hubsync contacts|organizations list|show`, and opening stores of other schema versions.

use hubsync::store::{links, Entity, Mark, Store, SCHEMA_VERSION};
use serde_json::{json, Value};

use crate::common::{repo, Env};

fn run(env: &Env, args: &[&str]) -> std::process::Output {
    env.cmd().args(args).output().expect("run hubsync")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Two organizations and three contacts, one of them linked to HubSpot and marked.
fn community(env: &Env) {
    let orgs = env.write(
        "orgs.json",
        r#"[{"id":"o1","name":"Acme Labs","website":"https://www.AcmeLabs.io/about"},
            {"id":"o2","name":"ACME labs"}]"#,
    );
    let people = env.write(
        "people.json",
        r#"[{"id":"c1","displayName":"Zoë Ångström","emails":["Zoe@Example.com","z@work.example"],"organizations":["o1","o2"]},
            {"id":"c2","displayName":"李雷","organizations":["o1"]},
            {"id":"c3"}]"#,
    );
    for (kind, file) in [("organizations", &orgs), ("contacts", &people)] {
        let out = run(env, &["import", kind, file.to_str().unwrap()]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let store = Store::open(&env.db()).unwrap();
    links::record_push(
        store.conn(),
        Entity::Contact,
        "c1",
        "901",
        "hash",
        &Mark::Automation("devs".into()),
    )
    .unwrap();
}

#[test]
fn contacts_list_shows_a_table_with_the_sync_state() {
    let env = Env::new();
    community(&env);
    let out = run(&env, &["contacts", "list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    let header: Vec<&str> = lines[0]
        .split("  ")
        .filter(|s| !s.is_empty())
        .map(str::trim)
        .collect();
    assert_eq!(
        header,
        [
            "ID",
            "NAME",
            "E-MAIL",
            "ORGS",
            "HUBSPOT ID",
            "MARKED",
            "LAST PUSHED"
        ]
    );
    let c1: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        &c1[..6],
        ["c1", "Zoë", "Ångström", "Zoe@Example.com", "2", "901"]
    );
    assert_eq!(c1[6], "automation:devs");
    assert!(c1[7].ends_with('Z'), "last pushed is a UTC time: {}", c1[7]);
    let c3: Vec<&str> = lines[3].split_whitespace().collect();
    assert_eq!(c3, ["c3", "-", "-", "0", "-", "-", "never"]);
    // Columns line up on screen even with wide (CJK) characters in names.
    let starts: Vec<usize> = lines[..3].iter().map(|l| column_start(l, 2)).collect();
    assert_eq!(starts, [starts[0]; 3], "{lines:#?}");
}

/// The display column where cell `n` (0-based) of a table line starts; cells are separated by
/// two or more spaces, CJK ideographs are two columns wide.
fn column_start(line: &str, n: usize) -> usize {
    let (mut width, mut cell, mut spaces) = (0, 0, 0);
    for c in line.chars() {
        if c == ' ' {
            spaces += 1;
        } else {
            if spaces >= 2 {
                cell += 1;
                if cell == n {
                    return width;
                }
            }
            spaces = 0;
        }
        width += if ('\u{4E00}'..='\u{9FFF}').contains(&c) {
            2
        } else {
            1
        };
    }
    panic!("no cell {n} in {line:?}")
}

#[test]
fn contacts_show_and_list_json_carry_the_record_and_its_hubspot_link() {
    let env = Env::new();
    community(&env);
    let out = run(&env, &["contacts", "show", "c1", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let c1: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(c1["id"], "c1");
    assert_eq!(c1["emails"], json!(["Zoe@Example.com", "z@work.example"]));
    assert_eq!(c1["organizations"], json!(["o1", "o2"]));
    assert_eq!(c1["hubspot"]["id"], "901");
    assert_eq!(c1["hubspot"]["marked"], "automation:devs");
    assert!(c1["hubspot"]["last_pushed_at"].is_string());
    assert_eq!(c1["hubspot"]["last_pulled_at"], Value::Null);

    let out = run(&env, &["--json", "contacts", "list"]);
    let all: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0], c1, "list gives the same documents as show");

    let out = run(&env, &["contacts", "show", "c2"]);
    assert!(out.status.success());
    let shown = text(&out.stdout);
    assert!(shown.contains("displayName:"), "{shown}");
    assert!(shown.contains("李雷"), "{shown}");
}

#[test]
fn showing_an_unknown_id_says_where_to_find_the_ids() {
    let env = Env::new();
    community(&env);
    let out = run(&env, &["contacts", "show", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr)
            .contains("no contact with id nope; `hubsync contacts list` shows the ids"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&env, &["organizations", "show", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("`hubsync organizations list` shows the ids"));
}

#[test]
fn organizations_list_and_show() {
    let env = Env::new();
    community(&env);
    let out = run(&env, &["organizations", "list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3);
    let o1: Vec<&str> = lines[1].split_whitespace().collect();
    // The domain is the website normalised the way HubSpot's `domain` is sent.
    assert_eq!(
        o1,
        ["o1", "Acme", "Labs", "acmelabs.io", "2", "-", "-", "never"]
    );
    let o2: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(o2, ["o2", "ACME", "labs", "-", "1", "-", "-", "never"]);

    let out = run(&env, &["organizations", "show", "o1", "--json"]);
    let o1: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(o1["website"], "https://www.AcmeLabs.io/about");
    assert_eq!(o1["hubspot"]["id"], Value::Null);
}

#[test]
fn an_empty_store_says_how_to_fill_it() {
    let env = Env::new();
    // No store yet: the read-only commands say so (and create nothing).
    let out = run(&env, &["contacts", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("hubsync import"));
    drop(Store::open(&env.db()).unwrap());
    let out = run(&env, &["contacts", "list"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("hubsync import contacts FILE"));
    let out = run(&env, &["organizations", "list", "--json"]);
    assert_eq!(text(&out.stdout).trim(), "[]");
}

#[test]
fn a_store_from_a_newer_hubsync_is_refused() {
    let env = Env::new();
    {
        let store = Store::open(&env.db()).unwrap();
        store
            .conn()
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    let out = run(&env, &["contacts", "list"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "this store was written by a newer hubsync (schema {}, this one knows {SCHEMA_VERSION}); upgrade hubsync",
            SCHEMA_VERSION + 1
        )),
        "{err}"
    );
}

#[test]
fn an_unversioned_store_is_migrated_and_a_non_database_is_refused() {
    let env = Env::new();
    // An empty file is an SQLite database at schema 0.
    std::fs::write(env.db(), b"").unwrap();
    let out = run(&env, &["contacts", "list", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        Store::open(&env.db()).unwrap().schema_version().unwrap(),
        SCHEMA_VERSION
    );

    let other = Env::new();
    std::fs::write(other.db(), "name,email\nada,ada@example.com\n".repeat(200)).unwrap();
    let out = run(&other, &["contacts", "list"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("not a hubsync store"), "{err}");
    assert!(err.contains(other.db().to_str().unwrap()), "{err}");
}

#[test]
fn the_store_and_its_directory_are_created_on_first_use() {
    let env = Env::new();
    let db = env.path("deep/er/hubsync.db");
    let out = env
        .cmd()
        .env("HUBSYNC_DB", &db)
        .args(["import", "organizations", "-", "--format", "ndjson"])
        .write_stdin("{\"id\": \"o1\", \"name\": \"Acme\"}\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(db.exists());
}

#[test]
fn an_export_imports_back_unchanged_in_every_format() {
    let env = crate::common::sample_env();
    for (format, ext) in [("ndjson", "ndjson"), ("json", "json"), ("csv", "csv")] {
        let mut files = Vec::new();
        for what in ["organizations", "contacts"] {
            let path = env.path(&format!("{what}.{ext}"));
            env.cmd()
                .args(["export", what, "--format", format, "--output"])
                .arg(&path)
                .assert()
                .success();
            files.push((what, path));
        }
        // Into another store, and out again: the same bytes.
        let other = Env::new();
        std::fs::copy(repo().join("mappings.example.yaml"), other.mappings()).unwrap();
        for (what, path) in &files {
            other
                .cmd()
                .args(["import", what])
                .arg(path)
                .assert()
                .success();
        }
        for (what, path) in &files {
            let again = other
                .cmd()
                .args(["export", what, "--format", format])
                .output()
                .unwrap();
            assert!(again.status.success());
            assert_eq!(
                String::from_utf8_lossy(&again.stdout),
                std::fs::read_to_string(path).unwrap(),
                "{what} as {format} changed on the way through"
            );
        }
        // And the records themselves are the same.
        for what in ["contacts", "organizations"] {
            let list = |e: &Env| -> Value {
                let out = e.cmd().args([what, "list", "--json"]).output().unwrap();
                serde_json::from_slice(&out.stdout).unwrap()
            };
            assert_eq!(list(&env), list(&other), "{what} as {format}");
        }
    }
    // NDJSON to stdout by default, one record per line.
    let out = env.cmd().args(["export", "contacts"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(text.lines().count(), 300);
    assert!(text.lines().all(|l| l.starts_with("{\"id\":")));
}
