//! Tests: `map show` and `map check` against a seeded property cache.

use serde_json::{json, Value};

use crate::common::{repo, Env};

fn prop(name: &str, type_: &str, field_type: &str) -> Value {
    json!({"name": name, "label": name, "type": type_, "fieldType": field_type,
           "hubspotDefined": false, "calculated": false,
           "modificationMetadata": {"readOnlyValue": false}, "options": []})
}

fn defined(mut p: Value) -> Value {
    p["hubspotDefined"] = json!(true);
    p
}

fn read_only(mut p: Value) -> Value {
    p["modificationMetadata"]["readOnlyValue"] = json!(true);
    p
}

/// The properties `mappings.example.yaml` needs, as HubSpot would describe them.
pub fn example_properties() -> (Vec<Value>, Vec<Value>) {
    let mut seniority = prop("gitmesh_seniority", "enumeration", "select");
    seniority["options"] = json!(["Junior", "Mid", "Senior", "Lead", "Executive"]
        .iter()
        .map(|v| json!({"label": v, "value": v, "hidden": false}))
        .collect::<Vec<_>>());
    let contacts = vec![
        defined(prop("email", "string", "text")),
        defined(prop("jobtitle", "string", "text")),
        defined(prop("city", "string", "text")),
        defined(prop("twitterhandle", "string", "text")),
        {
            let mut stage = defined(prop("lifecyclestage", "enumeration", "radio"));
            stage["options"] = json!(["subscriber", "lead", "customer"]
                .iter()
                .map(|v| json!({"label": v, "value": v, "hidden": false}))
                .collect::<Vec<_>>());
            stage
        },
        read_only(defined(prop("lastmodifieddate", "datetime", "date"))),
        prop("gitmesh_display_name", "string", "text"),
        prop("gitmesh_github", "string", "text"),
        seniority,
        prop("gitmesh_is_hiring", "bool", "booleancheckbox"),
        prop("gitmesh_score", "number", "number"),
        prop("gitmesh_joined_at", "datetime", "date"),
        prop("gitmesh_last_active", "date", "date"),
        prop("gitmesh_tags", "string", "textarea"),
    ];
    let companies = vec![
        defined(prop("name", "string", "text")),
        defined(prop("domain", "string", "text")),
        defined(prop("numberofemployees", "number", "number")),
        defined(prop("founded_year", "string", "text")),
        prop("gitmesh_description", "string", "textarea"),
        prop("gitmesh_industry", "string", "text"),
        prop("gitmesh_github", "string", "text"),
        prop("gitmesh_member_count", "number", "number"),
    ];
    (contacts, companies)
}

pub fn seed_cache(env: &Env, contacts: &[Value], companies: &[Value]) {
    let mut store = hubsync::store::Store::open(&env.db()).unwrap();
    hubsync::store::properties::replace(store.conn_mut(), "contacts", contacts).unwrap();
    hubsync::store::properties::replace(store.conn_mut(), "companies", companies).unwrap();
}

fn example_env() -> Env {
    let env = Env::new();
    std::fs::copy(repo().join("mappings.example.yaml"), env.mappings()).unwrap();
    let (c, o) = example_properties();
    seed_cache(&env, &c, &o);
    env
}

#[test]
fn the_example_mapping_passes_check() {
    let env = example_env();
    let out = env.cmd().args(["map", "check"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("mapping ok"), "{stdout}");
    // jobtitle, city, twitterhandle and numberofemployees are HubSpot-defined: warned about.
    assert!(stdout.contains("warning: line"), "{stdout}");
    assert!(
        stdout.contains("`jobtitle` is a HubSpot-defined property"),
        "{stdout}"
    );
}

#[test]
fn a_broken_mapping_names_every_problem_with_its_line() {
    let env = example_env();
    env.write(
        "mappings.yaml",
        "version: 1
contacts:
  enabled: true
  attributes:
    isHiring: bool
  fields:
    displayName: gitmesh_display_name
    nickname: gitmesh_github
    attributes.level: gitmesh_seniority
    score: gitmesh_display_name
    attributes.isHiring: gitmesh_score
    identities.github: email
    joinedAt: lastmodifieddate
    identities.twitter: no_such_property
organizations:
  enabled: true
  fields:
    employees: founded_year
    website: gitmesh_description
",
    );
    let out = env.cmd().args(["map", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let expect = [
        ("line 8", "unknown local field `nickname`"),
        ("line 9", "custom attribute `level` is not declared"),
        (
            "line 10",
            "`gitmesh_display_name` is already mapped from `displayName`",
        ),
        ("line 10", "type mismatch: `score` is a local number"),
        (
            "line 11",
            "type mismatch: `attributes.isHiring` is a local bool",
        ),
        ("line 12", "`email` is an identity property"),
        ("line 13", "`lastmodifieddate` is read-only in HubSpot"),
        (
            "line 14",
            "HubSpot has no contacts property `no_such_property`",
        ),
        ("line 18", "type mismatch: `employees` is a local number"),
        ("line 19", "`website` cannot be mapped"),
    ];
    for (line, msg) in expect {
        assert!(
            stdout.lines().any(|l| l.contains(line) && l.contains(msg)),
            "missing `{line}: {msg}` in:\n{stdout}"
        );
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("10 problems"), "{stderr}");
}

#[test]
fn a_malformed_file_is_reported_with_line_and_column() {
    let env = Env::new();
    env.write(
        "mappings.yaml",
        "version: 1\ncontacts:\n  enabled: true\n  fields: [oops\n",
    );
    let out = env.cmd().args(["map", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("mappings.yaml:"), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.contains(".yaml:4:") || l.contains(".yaml:5:")),
        "no line:column in {stderr}"
    );

    env.write(
        "mappings.yaml",
        "version: 1\ncontacts:\n  enabled: yes please\n",
    );
    let out = env.cmd().args(["map", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(".yaml:3:"));

    env.write(
        "mappings.yaml",
        "version: 1\ncontacts:\n  attributes:\n    level: text\n",
    );
    let out = env.cmd().args(["map", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(".yaml:4:") && stderr.contains("unknown variant `text`"),
        "{stderr}"
    );
}

#[test]
fn check_without_cached_properties_says_to_refresh() {
    let env = Env::new();
    std::fs::copy(repo().join("mappings.example.yaml"), env.mappings()).unwrap();
    let out = env.cmd().args(["map", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("run `hubsync map refresh`"));
}

#[test]
fn show_lists_every_field_marks_read_only_and_warns_on_hubspot_defined() {
    let env = example_env();
    let out = env.cmd().args(["map", "show"]).output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let row = |field: &str| {
        stdout
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(field))
            .unwrap_or_else(|| panic!("no row for {field} in\n{stdout}"))
            .to_owned()
    };
    assert!(row("score").contains('→') && row("score").contains("gitmesh_score"));
    assert!(row("displayName").contains('↔'));
    // Unmapped fields are listed too.
    assert!(row("reach").contains('→') && row("reach").contains(" - "));
    assert!(row("identities.linkedin").contains(" - "));
    assert!(row("attributes.jobTitle").contains("overwrites a HubSpot-defined property"));
    assert!(row("attributes.jobTitle").contains("fill-empty"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("HubSpot-defined property that may already be in use"),
        "{stderr}"
    );

    let out = env.cmd().args(["map", "show", "--json"]).output().unwrap();
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let score = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["field"] == "score" && r["entity"] == "contacts")
        .unwrap();
    assert_eq!(score["direction"], "→");
    assert_eq!(score["status"], "ok");
    assert_eq!(score["pull"], "never");
}

#[test]
fn refresh_fills_the_cache_from_hubspot_and_the_example_passes_check() {
    use hubsync_sandbox::{Sandbox, SandboxConfig};
    let sb = Sandbox::start(SandboxConfig::unlimited().with_static_token("pat-na1-map")).unwrap();
    sb.seed_file(repo().join("examples/data/hubspot-seed.json"))
        .unwrap();
    let env = Env::new();
    std::fs::copy(repo().join("mappings.example.yaml"), env.mappings()).unwrap();
    let out = env
        .cmd()
        .env("HUBSPOT_ACCESS_TOKEN", "pat-na1-map")
        .env("HUBSYNC_API_BASE", sb.url())
        .args(["map", "refresh"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("company properties from HubSpot"),
        "{stdout}"
    );
    assert!(stdout.contains("mapping ok"), "{stdout}");
    assert_eq!(sb.count("GET", "/contacts"), 1, "{:?}", sb.requests());
    assert_eq!(sb.count("GET", "/companies"), 1);

    // The cache now answers `map check` without HubSpot.
    drop(sb);
    let out = env.cmd().args(["map", "check"]).output().unwrap();
    assert!(out.status.success());

    // Without the seed's custom properties the same mapping names each missing one.
    let bare = Sandbox::start(SandboxConfig::unlimited().with_static_token("pat-na1-map")).unwrap();
    let out = env
        .cmd()
        .env("HUBSPOT_ACCESS_TOKEN", "pat-na1-map")
        .env("HUBSYNC_API_BASE", bare.url())
        .args(["map", "refresh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("HubSpot has no contacts property `gitmesh_score`"));
}

#[test]
fn scaffold_creates_custom_properties_and_maps_them() {
    use hubsync_sandbox::{Sandbox, SandboxConfig};
    let sb = Sandbox::start(SandboxConfig::unlimited().with_static_token("pat-na1-all")).unwrap();
    sb.add_static_token(
        "pat-na1-noschema",
        &[
            "crm.objects.contacts.read",
            "crm.objects.contacts.write",
            "crm.schemas.contacts.read",
            "crm.objects.companies.read",
            "crm.objects.companies.write",
            "crm.schemas.companies.read",
            "crm.lists.read",
            "crm.lists.write",
        ],
    );
    let env = Env::new();
    let original = "version: 1\n# people\ncontacts:\n  enabled: true\n  fields:\n    attributes.jobTitle: jobtitle  # keep\norganizations:\n  enabled: false\n";
    env.write("mappings.yaml", original);
    let hubsync = |token: &str, args: &[&str]| {
        env.cmd()
            .env("HUBSPOT_ACCESS_TOKEN", token)
            .env("HUBSYNC_API_BASE", sb.url())
            .args(args)
            .output()
            .unwrap()
    };
    assert!(hubsync("pat-na1-all", &["map", "refresh"]).status.success());

    // Without the schema write scopes: exit 4, what to do, nothing written.
    let out = hubsync("pat-na1-noschema", &["map", "scaffold", "score"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hubsync connect --with-scaffold"));
    assert_eq!(std::fs::read_to_string(env.mappings()).unwrap(), original);

    let out = hubsync(
        "pat-na1-all",
        &["map", "scaffold", "score", "identities.discord"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("mapping ok"), "{stdout}");
    let props = sb.state()["properties"]["contacts"].clone();
    let find = |name: &str| {
        props
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no property {name}"))
    };
    assert_eq!(find("hubsync_score")["type"], "number");
    assert_eq!(find("hubsync_score")["groupName"], "hubsync");
    assert_eq!(find("hubsync_identities_discord")["type"], "string");
    let text = std::fs::read_to_string(env.mappings()).unwrap();
    assert!(text.contains("    attributes.jobTitle: jobtitle  # keep\n    score: hubsync_score\n    identities.discord: hubsync_identities_discord\n"), "{text}");

    // Everything else unmapped, the second time around: existing properties are reused.
    let out = hubsync("pat-na1-all", &["map", "scaffold"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = hubsync("pat-na1-all", &["map", "scaffold", "score"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is mapped already"));
}

#[test]
fn edit_picks_properties_per_field_and_writes_the_file_back() {
    let env = example_env();
    let before = std::fs::read_to_string(env.mappings()).unwrap();
    // displayName: a bad answer, then keep the same property; identities.github: unmap; stop.
    let out = env
        .cmd()
        .args(["map", "edit", "displayName", "identities.github", "score"])
        .write_stdin("7x\n1\n-\nq\n")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("contacts.displayName (string ↔), now: gitmesh_display_name"),
        "{stdout}"
    );
    assert!(
        stdout.contains("`7x` is not one of the choices"),
        "{stdout}"
    );
    // Only compatible, writable properties not mapped elsewhere are offered for a string field.
    let display_choices = stdout.split("contacts.identities.github").next().unwrap();
    for absent in ["gitmesh_score", "lastmodifieddate", "email", "jobtitle"] {
        assert!(
            !display_choices.contains(absent),
            "{absent} offered:\n{stdout}"
        );
    }
    assert!(stdout.contains("1 change written"), "{stdout}");
    let after = std::fs::read_to_string(env.mappings()).unwrap();
    let mapping = hubsync::mapping::Mapping::parse(&after, "m").unwrap();
    let fields = &mapping.file.contacts.fields;
    assert!(!fields.iter().any(|(k, _)| k == "identities.github"));
    // Everything else, comments included, is as it was.
    assert_eq!(
        before.replace("    identities.github: gitmesh_github\n", ""),
        after
    );

    // The freed property is offered again and mapping it adds the line back.
    let out = env
        .cmd()
        .args(["map", "edit", "contacts.identities.github"])
        .write_stdin("1\n")
        .output()
        .unwrap();
    assert!(out.status.success());
    let again = std::fs::read_to_string(env.mappings()).unwrap();
    let mapping = hubsync::mapping::Mapping::parse(&again, "m").unwrap();
    let github = mapping
        .file
        .contacts
        .fields
        .iter()
        .find(|(k, _)| k == "identities.github");
    assert_eq!(github.map(|(_, s)| s.property()), Some("gitmesh_github"));
}

#[test]
fn map_init_writes_the_example_and_refuses_to_overwrite_without_force() {
    let env = Env::new();
    let path = env.path("config/hubsync/mappings.yaml");
    let example = std::fs::read_to_string(repo().join("mappings.example.yaml")).unwrap();
    let init = |extra: &[&str]| {
        env.cmd()
            .env("HUBSYNC_MAPPINGS", &path)
            .args(["map", "init"])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = init(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), example);
    std::fs::write(&path, "version: 1\n# mine\n").unwrap();
    let out = init(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "version: 1\n# mine\n"
    );
    assert!(init(&["--force"]).status.success());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), example);
    // And the file it wrote parses.
    env.cmd()
        .env("HUBSYNC_MAPPINGS", &path)
        .args(["map", "show"])
        .assert()
        .success();
}
