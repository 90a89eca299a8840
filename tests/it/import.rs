//! Tests: `hubsync import` — formats, all-or-nothing, error locations, upserts.

use serde_json::{json, Value};

use crate::common::{repo, Env};

const MAPPING: &str =
    "version: 1\ncontacts:\n  attributes:\n    seniorityLevel: string\n    isHiring: bool\n";

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Run hubsync with these arguments; returns the output (any exit code).
fn run(env: &Env, args: &[&str]) -> std::process::Output {
    env.cmd().args(args).output().expect("run hubsync")
}

fn contacts(env: &Env) -> Vec<Value> {
    let out = run(env, &["contacts", "list", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice::<Vec<Value>>(&out.stdout).expect("contacts list --json")
}

fn contact(env: &Env, id: &str) -> Value {
    let out = run(env, &["contacts", "show", id, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("contacts show --json")
}

/// Import and expect failure; returns stderr.
fn import_fails(env: &Env, args: &[&str]) -> String {
    let out = run(env, args);
    assert_eq!(out.status.code(), Some(1), "stdout: {}", stdout(&out));
    stderr(&out)
}

fn with_orgs(env: &Env) {
    env.write(
        "orgs.ndjson",
        "{\"id\":\"o1\",\"name\":\"Acme\"}\n{\"id\":\"o2\",\"name\":\"Globex\"}\n",
    );
    let out = run(
        env,
        &[
            "import",
            "organizations",
            env.path("orgs.ndjson").to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn the_sample_community_imports_and_reimports_as_updates() {
    let env = Env::new();
    env.write("mappings.yaml", MAPPING);
    let data = repo().join("examples/data");
    let out = run(
        &env,
        &[
            "import",
            "organizations",
            data.join("organizations.json").to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "imported 36 organizations (36 new, 0 updated)"
    );

    let file = data.join("contacts.json");
    let out = run(&env, &["import", "contacts", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "imported 300 contacts (300 new, 0 updated)"
    );

    let all = contacts(&env);
    assert_eq!(all.len(), 300);
    let zoe = &all[0];
    assert_eq!(zoe["displayName"], "Zoë Ångström");
    assert_eq!(zoe["emails"], json!(["zoe@angstrom.se"]));
    assert_eq!(zoe["identities"]["github"], "zoeangstrom");
    // Datetimes are stored in UTC.
    assert_eq!(zoe["joinedAt"], "2019-06-10T05:38:18Z");
    assert_eq!(
        zoe["hubspot"],
        json!({"id": null, "marked": null, "last_pushed_at": null, "last_pulled_at": null})
    );

    let out = run(
        &env,
        &["import", "contacts", file.to_str().unwrap(), "--json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        summary,
        json!({"entity": "contacts", "imported": 300, "created": 0, "updated": 300})
    );

    // The CSV and NDJSON subsets describe the same people.
    for name in ["contacts.csv", "contacts.ndjson"] {
        let out = run(
            &env,
            &["import", "contacts", data.join(name).to_str().unwrap()],
        );
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert_eq!(
            stdout(&out).trim(),
            "imported 20 contacts (0 new, 20 updated)"
        );
    }
    assert_eq!(
        contacts(&env),
        all,
        "re-importing the subsets changed nothing"
    );
}

#[test]
fn one_bad_ndjson_line_fails_the_whole_import_naming_line_and_field() {
    let env = Env::new();
    let file = env.write(
        "c.ndjson",
        "{\"id\":\"a\",\"emails\":[\"a@example.com\"]}\n\n{\"id\":\"b\"}\n{\"id\":\"c\",\"score\":\"high\"}\n",
    );
    let err = import_fails(&env, &["import", "contacts", file.to_str().unwrap()]);
    assert!(err.contains("line 4"), "{err}");
    assert!(err.contains("field `score`"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    assert!(contacts(&env).is_empty(), "a failed import wrote nothing");

    let file = env.write("bad.ndjson", "{\"id\":\"a\"}\n{\"id\": \"b\",}\n");
    let err = import_fails(&env, &["import", "contacts", file.to_str().unwrap()]);
    assert!(err.contains("line 2: invalid JSON"), "{err}");
    assert!(contacts(&env).is_empty());
}

#[test]
fn json_array_errors_name_the_record_index_and_its_id() {
    let env = Env::new();
    let file = env.write(
        "c.json",
        r#"[{"id":"a"},{"id":"b","nickname":"bee"},{"id":"c"}]"#,
    );
    let err = import_fails(&env, &["import", "contacts", file.to_str().unwrap()]);
    assert!(err.contains("record 2 (id \"b\")"), "{err}");
    assert!(
        err.contains("field `nickname`: unknown contact field"),
        "{err}"
    );
    assert!(contacts(&env).is_empty());

    let file = env.write("o.json", r#"{"id":"a"}"#);
    let err = import_fails(&env, &["import", "organizations", file.to_str().unwrap()]);
    assert!(err.contains("expected a JSON array"), "{err}");
}

#[test]
fn declared_attributes_are_type_checked_and_undeclared_ones_keep_their_json_type() {
    let env = Env::new();
    let file = env.write(
        "c.json",
        r#"[{"id":"a","attributes":{"isHiring":"yes","jobTitle":"CTO"}}]"#,
    );
    // Without a mapping file isHiring is undeclared: the string is kept as it is.
    let out = run(&env, &["import", "contacts", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(contact(&env, "a")["attributes"]["isHiring"], "yes");

    env.write("mappings.yaml", MAPPING);
    let err = import_fails(&env, &["import", "contacts", file.to_str().unwrap()]);
    assert!(err.contains("record 1 (id \"a\")"), "{err}");
    assert!(err.contains("field `attributes.isHiring`"), "{err}");
    assert!(err.contains("declared `bool`"), "{err}");

    // Built-in attributes are strings whatever the mapping file says about others.
    let file = env.write("d.json", r#"[{"id":"a","attributes":{"jobTitle":42}}]"#);
    let err = import_fails(&env, &["import", "contacts", file.to_str().unwrap()]);
    assert!(
        err.contains("field `attributes.jobTitle`: expected a string"),
        "{err}"
    );
    assert_eq!(
        contact(&env, "a")["attributes"]["isHiring"],
        "yes",
        "unchanged"
    );
}

#[test]
fn organizations_must_exist_in_the_store() {
    let env = Env::new();
    let file = env.write(
        "c.ndjson",
        "{\"id\":\"a\",\"organizations\":[\"o1\",\"o9\"]}\n",
    );
    let err = import_fails(&env, &["import", "contacts", file.to_str().unwrap()]);
    assert!(err.contains("line 1"), "{err}");
    assert!(err.contains("no organization with id \"o1\""), "{err}");

    with_orgs(&env);
    let err = import_fails(&env, &["import", "contacts", file.to_str().unwrap()]);
    assert!(err.contains("no organization with id \"o9\""), "{err}");

    let file = env.write(
        "c2.ndjson",
        "{\"id\":\"a\",\"organizations\":[\"o1\",\"o2\"]}\n",
    );
    let out = run(&env, &["import", "contacts", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(contact(&env, "a")["organizations"], json!(["o1", "o2"]));
}

#[test]
fn csv_columns_are_dotted_paths_with_typed_cells_and_header_as_line_one() {
    let env = Env::new();
    env.write("mappings.yaml", MAPPING);
    with_orgs(&env);
    let file = env.write(
        "c.csv",
        "id,emails,displayName,identities.github,attributes.isHiring,attributes.team,organizations,score,joinedAt,tags\n\
         a,A@Example.com;a2@example.com,Ada,ada,TRUE,core,o1;o2,4.5,2024-01-01T10:00:00+02:00,champion; speaker\n\
         b,,\"Núñez, José\",,,,,,,\n",
    );
    let out = run(&env, &["import", "contacts", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let a = contact(&env, "a");
    assert_eq!(a["emails"], json!(["A@Example.com", "a2@example.com"]));
    assert_eq!(a["identities"], json!({"github": "ada"}));
    assert_eq!(a["attributes"], json!({"isHiring": true, "team": "core"}));
    assert_eq!(a["organizations"], json!(["o1", "o2"]));
    assert_eq!(a["score"], json!(4.5));
    assert_eq!(a["joinedAt"], "2024-01-01T08:00:00Z");
    assert_eq!(a["tags"], json!(["champion", "speaker"]));
    let b = contact(&env, "b");
    assert_eq!(b["displayName"], "Núñez, José");
    assert_eq!(b["emails"], json!([]));

    let bad = env.write(
        "bad.csv",
        "id,score,attributes.isHiring\nx,1,true\ny,2,maybe\n",
    );
    let err = import_fails(&env, &["import", "contacts", bad.to_str().unwrap()]);
    assert!(err.contains("line 3"), "{err}");
    assert!(
        err.contains("field `attributes.isHiring`: expected true or false"),
        "{err}"
    );

    let bad = env.write("bad2.csv", "id,nickname\nx,1\n");
    let err = import_fails(&env, &["import", "contacts", bad.to_str().unwrap()]);
    assert!(err.contains("line 1: column `nickname`"), "{err}");
    assert_eq!(contacts(&env).len(), 2, "failed imports wrote nothing");
}

#[test]
fn records_are_upserted_by_id_and_absent_fields_are_kept() {
    let env = Env::new();
    let first = env.write(
        "a.ndjson",
        "{\"id\":\"a\",\"emails\":[\"a@example.com\"],\"displayName\":\"Ada\",\"score\":3,\"identities\":{\"github\":\"ada\",\"twitter\":\"ada_t\"}}\n",
    );
    let out = run(&env, &["import", "contacts", first.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let update = env.write(
        "b.ndjson",
        "{\"id\":\"a\",\"score\":5,\"identities\":{\"twitter\":null}}\n{\"id\":\"b\"}\n",
    );
    let out = run(&env, &["import", "contacts", update.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "imported 2 contacts (1 new, 1 updated)"
    );
    let a = contact(&env, "a");
    assert_eq!(a["score"], json!(5));
    assert_eq!(a["displayName"], "Ada", "absent fields are kept");
    assert_eq!(a["emails"], json!(["a@example.com"]));
    assert_eq!(
        a["identities"],
        json!({"github": "ada"}),
        "null removes one identity"
    );
}

#[test]
fn a_repeated_id_or_a_missing_id_fails_the_import() {
    let env = Env::new();
    let file = env.write("c.ndjson", "{\"id\":\"a\"}\n{\"id\":\"a\"}\n");
    let err = import_fails(&env, &["import", "contacts", file.to_str().unwrap()]);
    assert!(
        err.contains("line 2: field `id`: \"a\" appears more than once"),
        "{err}"
    );
    let file = env.write("d.ndjson", "{\"displayName\":\"x\"}\n");
    let err = import_fails(&env, &["import", "contacts", file.to_str().unwrap()]);
    assert!(err.contains("line 1: field `id`: missing"), "{err}");
}

#[test]
fn stdin_needs_a_format_and_unknown_extensions_are_refused() {
    let env = Env::new();
    let out = env
        .cmd()
        .args(["import", "organizations", "-", "--format", "ndjson"])
        .write_stdin("{\"id\":\"o1\",\"name\":\"Acme\",\"website\":\"https://www.Acme.io/x\"}\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "imported 1 organizations (1 new, 0 updated)"
    );

    let err = import_fails(&env, &["import", "contacts", "-"]);
    assert!(err.contains("reading stdin needs --format"), "{err}");
    let file = env.write("c.txt", "");
    let err = import_fails(&env, &["import", "contacts", file.to_str().unwrap()]);
    assert!(err.contains("pass --format"), "{err}");
    let err = import_fails(
        &env,
        &[
            "import",
            "contacts",
            env.path("missing.json").to_str().unwrap(),
        ],
    );
    assert!(err.contains("cannot read"), "{err}");
}
