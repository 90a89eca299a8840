//! Tests: `hubsync connect` and `disconnect` — the OAuth round trip through the sandbox's
//! authorize page, state checking, scopes, static tokens, the token stores.

use hubsync_sandbox::SandboxConfig;

use crate::common::Env;
use crate::common::{browse, cmd, connected, credentials, sandbox, Connecting, CLIENT_SECRET};

#[test]
fn oauth_round_trip_connects_and_stores_tokens_in_a_0600_file() {
    let sb = sandbox(SandboxConfig::unlimited());
    let env = Env::new();
    let c = Connecting::start(&env, &sb, &[]);
    let url = url::Url::parse(&c.url).expect("authorize URL");
    let q: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let get = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    assert_eq!(
        get("redirect_uri"),
        Some(format!("http://localhost:{}/callback", c.port))
    );
    let scope = get("scope").expect("scope");
    for s in hubsync::hubspot::auth::REQUIRED_SCOPES {
        assert!(scope.split(' ').any(|x| x == s), "{s} asked");
    }
    assert!(get("optional_scope").is_none());

    let (status, page) = browse(&c.url);
    assert_eq!(status, 200, "{page}");
    let (code, out, err) = c.finish();
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("connected to HubSpot portal 24681357"),
        "{out}"
    );
    assert!(!out.contains(CLIENT_SECRET) && !err.contains(CLIENT_SECRET));

    let file = env.path("credentials.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file)
            .expect("credentials.json")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let creds = credentials(&env);
    assert_eq!(creds["hub_id"], 24_681_357);
    assert_eq!(creds["client_secret"], CLIENT_SECRET);
    assert_eq!(sb.count("POST", "/token"), 1);

    // The connection is usable.
    cmd(&env, &sb).arg("lists").assert().success();
}

#[test]
fn callback_with_a_wrong_state_is_refused() {
    let sb = sandbox(SandboxConfig::unlimited());
    let env = Env::new();
    let c = Connecting::start(&env, &sb, &["--json"]);
    let forged = format!(
        "http://localhost:{}/callback?code=stolen-code&state=not-{}",
        c.port,
        c.state()
    );
    let (status, page) = browse(&forged);
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("state"), "{page}");
    assert_eq!(
        sb.count("POST", "/token"),
        0,
        "the forged code was not exchanged"
    );
    assert!(!env.path("credentials.json").exists());

    // The genuine redirect still completes.
    let (status, _) = browse(&c.url);
    assert_eq!(status, 200);
    let (code, out, err) = c.finish();
    assert_eq!(code, 0, "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("--json output");
    assert_eq!(v["status"], "connected");
    assert_eq!(v["portal_id"], 24_681_357);
}

#[test]
fn a_token_missing_lists_write_exits_4_naming_it() {
    let sb = sandbox(SandboxConfig {
        withheld_scopes: vec!["crm.lists.write".into()],
        ..SandboxConfig::unlimited()
    });
    let env = Env::new();
    let c = Connecting::start(&env, &sb, &[]);
    browse(&c.url);
    let (code, out, err) = c.finish();
    assert_eq!(code, 4, "{out}\n{err}");
    assert!(err.contains("crm.lists.write"), "{err}");
    assert!(
        !env.path("credentials.json").exists(),
        "an incomplete connection is not kept"
    );
    assert_eq!(
        sb.count("DELETE", ""),
        1,
        "and its refresh token is revoked"
    );
}

#[test]
fn a_static_token_missing_a_scope_exits_4_naming_it_on_first_use() {
    let sb = sandbox(SandboxConfig::unlimited());
    sb.add_static_token(
        "pat-na1-no-lists",
        &["crm.objects.contacts.read", "crm.objects.companies.read"],
    );
    let env = Env::new();
    cmd(&env, &sb)
        .env("HUBSPOT_ACCESS_TOKEN", "pat-na1-no-lists")
        .arg("connect")
        .assert()
        .success();
    let out = cmd(&env, &sb)
        .env("HUBSPOT_ACCESS_TOKEN", "pat-na1-no-lists")
        .args(["lists", "--refresh"])
        .assert()
        .code(4);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("crm.lists.read"), "{err}");
    assert_eq!(sb.count("POST", "/lists/2026-03/search"), 1, "not retried");
}

#[test]
fn denied_authorization_exits_4() {
    let sb = sandbox(SandboxConfig {
        deny_authorize: true,
        ..SandboxConfig::unlimited()
    });
    let env = Env::new();
    let c = Connecting::start(&env, &sb, &[]);
    browse(&c.url);
    let (code, _, err) = c.finish();
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("access_denied") && err.contains("hubsync connect"),
        "{err}"
    );
}

#[test]
fn with_scaffold_asks_the_schema_write_scopes_as_optional() {
    let sb = sandbox(SandboxConfig::unlimited());
    let env = Env::new();
    let c = Connecting::start(&env, &sb, &["--with-scaffold"]);
    let url = url::Url::parse(&c.url).expect("url");
    let optional = url
        .query_pairs()
        .find(|(k, _)| k == "optional_scope")
        .map(|(_, v)| v.into_owned());
    assert_eq!(
        optional.as_deref(),
        Some("crm.schemas.contacts.write crm.schemas.companies.write")
    );
    browse(&c.url);
    let (code, out, err) = c.finish();
    assert_eq!(code, 0, "{out}\n{err}");
    let scopes = credentials(&env)["scopes"].to_string();
    assert!(scopes.contains("crm.schemas.contacts.write"), "{scopes}");
}

#[test]
fn static_token_is_verified_with_one_call() {
    let sb = sandbox(SandboxConfig::unlimited().with_static_token("pat-na1-good"));
    let env = Env::new();
    let out = cmd(&env, &sb)
        .env("HUBSPOT_ACCESS_TOKEN", "pat-na1-good")
        .arg("connect")
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(text.contains("connected"), "{text}");
    assert!(!text.contains("pat-na1-good"));
    assert_eq!(sb.requests().len(), 1, "{:?}", sb.requests());

    let out = cmd(&env, &sb)
        .env("HUBSPOT_ACCESS_TOKEN", "pat-na1-wrong")
        .arg("connect")
        .assert()
        .code(4);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("HUBSPOT_ACCESS_TOKEN"), "{err}");
    assert!(!err.contains("pat-na1-wrong"), "{err}");
}

#[test]
fn disconnect_revokes_and_deletes() {
    let sb = sandbox(SandboxConfig::unlimited());
    let env = connected(&sb);
    let refresh = credentials(&env)["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    cmd(&env, &sb).arg("disconnect").assert().success();
    assert!(!env.path("credentials.json").exists());
    assert_eq!(sb.count("DELETE", &refresh), 1, "{:?}", sb.requests());
    let out = cmd(&env, &sb).arg("lists").assert().code(4);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("hubsync connect"), "{err}");
}

#[test]
fn unreachable_keyring_says_so_in_one_line_and_names_the_file_store() {
    let sb = sandbox(SandboxConfig::unlimited());
    let env = Env::new();
    let out = cmd(&env, &sb)
        .env("HUBSYNC_TOKEN_STORE", "keyring")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .arg("lists")
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("--token-store file"), "{err}");
    assert!(
        !err.to_lowercase().contains("dbus") && !err.contains("D-Bus"),
        "{err}"
    );
}
