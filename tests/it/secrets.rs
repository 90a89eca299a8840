//! Tests: connected through OAuth, a whole working session (import, map refresh, push, pull,
//! automations, sync, status, history) at the highest verbosity, with text and JSON logs,
//! never shows the access token, the refresh token or the client secret, and the store file
//! holds none of them.

use hubsync_sandbox::SandboxConfig;
use serde_json::Value;

use crate::common::{cmd, connected, credentials, sandbox, CLIENT_SECRET};
use crate::common::{repo, Env};

/// The tokens in the file token store now.
fn tokens(env: &Env) -> Vec<String> {
    let creds = credentials(env);
    ["access_token", "refresh_token"]
        .iter()
        .map(|k| creds[k].as_str().expect("token").to_owned())
        .collect()
}

fn first_id(file: &str) -> String {
    let text = std::fs::read_to_string(repo().join("examples/data").join(file)).expect("read");
    let records: Vec<Value> = serde_json::from_str(&text).expect("sample JSON");
    records[0]["id"].as_str().expect("id").to_owned()
}

#[test]
fn a_whole_session_never_shows_or_stores_a_secret() {
    let sb = sandbox(SandboxConfig::unlimited());
    sb.seed_file(repo().join("examples/data/hubspot-seed.json"))
        .expect("seed");
    let env = connected(&sb);
    std::fs::copy(repo().join("mappings.example.yaml"), env.mappings()).expect("mapping");
    let mut secrets = vec![CLIENT_SECRET.to_owned()];
    secrets.extend(tokens(&env));

    let contact = first_id("contacts.json");
    let organization = first_id("organizations.json");
    let orgs = repo().join("examples/data/organizations.json");
    let contacts = repo().join("examples/data/contacts.json");
    let orgs = orgs.to_str().expect("path");
    let contacts = contacts.to_str().expect("path");
    let session: Vec<Vec<&str>> = vec![
        vec!["import", "organizations", orgs],
        vec!["import", "contacts", contacts],
        vec!["map", "refresh"],
        vec![
            "push",
            "--contact",
            &contact,
            "--organization",
            &organization,
        ],
        vec!["push", "--marked"],
        vec!["pull"],
        vec![
            "automate",
            "add",
            "champions",
            "--entity",
            "contacts",
            "--filter",
            "tags~champion",
            "--list",
            "Community champions",
        ],
        vec!["sync"],
        vec!["status", "--json"],
        vec!["history", "--json"],
    ];

    let mut outputs = Vec::new();
    for (i, args) in session.iter().enumerate() {
        // Every other command starts with an expired access token, so tokens are refreshed
        // (and the refresh token rotated) in the middle of the session.
        if i % 2 == 0 {
            sb.expire_all_access_tokens();
        }
        let mut c = cmd(&env, &sb);
        c.args(args).arg("-vvv");
        if i % 2 == 1 {
            c.args(["--log-format", "json"]);
        }
        let out = c.output().expect("run hubsync");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "hubsync {args:?} failed:\n{stdout}\n{stderr}"
        );
        outputs.push((args.join(" "), stdout, stderr));
        secrets.extend(tokens(&env));
    }

    secrets.sort();
    secrets.dedup();
    // The client secret and at least two generations of access and refresh tokens.
    assert!(secrets.len() >= 5, "{}", secrets.len());
    assert!(
        outputs
            .iter()
            .any(|(_, _, e)| e.contains("HubSpot request")),
        "trace logs were on"
    );
    assert!(
        outputs.iter().any(|(_, _, e)| e.contains("\"level\"")),
        "JSON logs were on"
    );
    for s in &secrets {
        for (what, out, err) in &outputs {
            assert!(
                !out.contains(s.as_str()),
                "a secret leaked into the output of `{what}`:\n{out}"
            );
            assert!(
                !err.contains(s.as_str()),
                "a secret leaked into the log of `{what}`:\n{err}"
            );
        }
    }

    // The store (and any journal beside it) holds no token: those live in the token store.
    let mut store_files = 0;
    for entry in std::fs::read_dir(env.dir.path()).expect("read dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !name.starts_with("hubsync.db") {
            continue;
        }
        store_files += 1;
        let bytes = std::fs::read(&path).expect("read store");
        for s in &secrets {
            assert!(
                !contains(&bytes, s.as_bytes()),
                "a secret is stored in {}",
                path.display()
            );
        }
    }
    assert!(store_files >= 1);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
