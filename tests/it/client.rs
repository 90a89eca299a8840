//! Tests: the HubSpot client against the sandbox — OAuth tokens kept fresh, limits and faults
//! survived with the request counts the retry policy predicts, secrets never printed.

use std::time::{Duration, Instant};

use hubsync_sandbox::{FaultPlan, Sandbox, SandboxConfig};

use crate::common::{browse, cmd, connected, credentials, sandbox, Connecting, Env, CLIENT_SECRET};

fn lists_search_count(sb: &Sandbox) -> usize {
    sb.count("POST", "/lists/search") + sb.count("POST", "/lists/2026-03/search")
}

fn token_posts(sb: &Sandbox) -> usize {
    sb.count("POST", "/token")
}

#[test]
fn lists_shows_static_lists_as_usable() {
    let sb = sandbox(SandboxConfig::unlimited());
    let env = connected(&sb);
    let out = cmd(&env, &sb).arg("lists").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let champions = text
        .lines()
        .find(|l| l.contains("Champions"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        champions.contains("MANUAL") && champions.contains("yes"),
        "{text}"
    );
    let dynamic = text
        .lines()
        .find(|l| l.contains("Active last 30 days"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        dynamic.contains("DYNAMIC") && dynamic.contains(" no "),
        "{text}"
    );

    let out = cmd(&env, &sb).args(["lists", "--json"]).assert().success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).expect("json");
    let usable: Vec<&str> = v
        .as_array()
        .expect("array")
        .iter()
        .filter(|l| l["usable"] == true)
        .filter_map(|l| l["name"].as_str())
        .collect();
    assert_eq!(usable, vec!["Champions"]);
}

#[test]
fn lists_are_cached_until_refresh() {
    let sb = sandbox(SandboxConfig::unlimited());
    let env = connected(&sb);
    cmd(&env, &sb).arg("lists").assert().success();
    assert_eq!(lists_search_count(&sb), 1);
    sb.create_list("Newsletter", "MANUAL", &[]).expect("list");

    let out = cmd(&env, &sb).arg("lists").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert_eq!(lists_search_count(&sb), 1, "served from the cache");
    assert!(!text.contains("Newsletter"), "{text}");

    let out = cmd(&env, &sb)
        .args(["lists", "--refresh"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert_eq!(lists_search_count(&sb), 2);
    assert!(text.contains("Newsletter"), "{text}");
}

#[test]
fn access_token_expiring_mid_command_is_refreshed_and_rotation_is_stored() {
    let sb = sandbox(SandboxConfig::unlimited());
    let env = connected(&sb);
    let first_refresh = credentials(&env)["refresh_token"].clone();
    let before = token_posts(&sb);

    // HubSpot expires the token while hubsync still believes it valid: 401, one refresh, retry.
    sb.expire_all_access_tokens();
    cmd(&env, &sb)
        .args(["lists", "--refresh"])
        .assert()
        .success();
    assert_eq!(token_posts(&sb), before + 1, "exactly one refresh");
    let rotated = credentials(&env)["refresh_token"].clone();
    assert_ne!(
        rotated, first_refresh,
        "the rotated refresh token is stored"
    );

    // The rotated token works: the old one no longer would.
    sb.expire_all_access_tokens();
    cmd(&env, &sb)
        .args(["lists", "--refresh"])
        .assert()
        .success();
    assert_eq!(token_posts(&sb), before + 2);
}

#[test]
fn token_about_to_expire_is_refreshed_before_the_call() {
    let sb = sandbox(SandboxConfig {
        access_token_ttl: Duration::from_secs(120),
        ..SandboxConfig::unlimited()
    });
    let env = connected(&sb);
    sb.clear_requests();
    cmd(&env, &sb).arg("lists").assert().success();
    assert_eq!(token_posts(&sb), 1, "refreshed once, up front");
    let unauthorized = sb.requests().iter().filter(|r| r.status == 401).count();
    assert_eq!(unauthorized, 0, "no request was sent with the old token");
}

#[test]
fn revoked_refresh_token_exits_4_saying_connect() {
    let sb = sandbox(SandboxConfig::unlimited());
    let env = connected(&sb);
    sb.revoke_refresh_tokens();
    let out = cmd(&env, &sb).arg("lists").assert().code(4);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("hubsync connect"), "{err}");
}

#[test]
fn not_connected_exits_4_saying_connect() {
    let sb = sandbox(SandboxConfig::unlimited());
    let env = Env::new();
    let out = cmd(&env, &sb).arg("lists").assert().code(4);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("hubsync connect"), "{err}");
    assert_eq!(sb.requests().len(), 0);
}

#[test]
fn run_of_502s_is_survived_with_one_request_per_attempt() {
    let sb = sandbox(SandboxConfig::unlimited().with_static_token("pat-na1-static"));
    let env = Env::new();
    sb.set_faults(FaultPlan::statuses(1, 3, 502));
    let started = Instant::now();
    cmd(&env, &sb)
        .env("HUBSPOT_ACCESS_TOKEN", "pat-na1-static")
        .arg("lists")
        .assert()
        .success();
    // Three 502s, then the answer: 4 requests, after backoffs of 0.5 + 1 + 2 s.
    assert_eq!(lists_search_count(&sb), 4);
    let statuses: Vec<u16> = sb.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![502, 502, 502, 200]);
    assert!(started.elapsed() >= Duration::from_millis(3_500));
}

#[test]
fn a_dropped_connection_is_retried() {
    let sb = sandbox(SandboxConfig::unlimited().with_static_token("pat-na1-static"));
    let env = Env::new();
    sb.set_faults(FaultPlan::default().then(1, 2, hubsync_sandbox::Fault::Drop));
    cmd(&env, &sb)
        .env("HUBSPOT_ACCESS_TOKEN", "pat-na1-static")
        .arg("lists")
        .assert()
        .success();
    assert_eq!(lists_search_count(&sb), 3);
}

#[test]
fn unavailable_hubspot_exits_75_after_the_retries() {
    let sb = sandbox(SandboxConfig::unlimited().with_static_token("pat-na1-static"));
    let env = Env::new();
    sb.set_faults(FaultPlan::statuses(1, 100, 503));
    let out = cmd(&env, &sb)
        .env("HUBSPOT_ACCESS_TOKEN", "pat-na1-static")
        .arg("lists")
        .assert()
        .code(75);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("unavailable") && err.contains("503"), "{err}");
    // The first attempt and five retries (0.5 + 1 + 2 + 4 + 8 s of backoff).
    assert_eq!(lists_search_count(&sb), 6);
}

#[test]
fn rate_limit_burst_is_survived_after_the_ten_second_window() {
    let sb = sandbox(SandboxConfig::unlimited().with_static_token("pat-na1-static"));
    let env = Env::new();
    sb.set_faults(FaultPlan::rate_limit_burst(1));
    let started = Instant::now();
    cmd(&env, &sb)
        .env("HUBSPOT_ACCESS_TOKEN", "pat-na1-static")
        .arg("lists")
        .assert()
        .success();
    let statuses: Vec<u16> = sb.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 200]);
    assert!(
        started.elapsed() >= Duration::from_secs(10),
        "waited the rolling window"
    );
}

#[test]
fn daily_limit_exits_75_without_retrying() {
    let sb = sandbox(SandboxConfig::unlimited().with_static_token("pat-na1-static"));
    let env = Env::new();
    sb.set_faults(FaultPlan::default().then(1, 5, hubsync_sandbox::Fault::DailyLimited));
    let out = cmd(&env, &sb)
        .env("HUBSPOT_ACCESS_TOKEN", "pat-na1-static")
        .arg("lists")
        .assert()
        .code(75);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("daily"), "{err}");
    assert_eq!(sb.requests().len(), 1);
}

fn static_client(sb: &Sandbox) -> hubsync::hubspot::Client {
    hubsync::hubspot::Client::new(
        &sb.url(),
        hubsync::hubspot::ApiVersion::default(),
        hubsync::hubspot::Auth::Static(hubsync::hubspot::Secret::new("pat-na1-static")),
    )
    .expect("client")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn the_client_keeps_under_the_burst_limit_hubspot_announces() {
    // HubSpot allows 10 requests per second here and says so in its rate-limit headers.
    let sb = sandbox(SandboxConfig {
        rate_limit: Some(hubsync_sandbox::RateLimit {
            max: 10,
            interval: Duration::from_secs(1),
        }),
        ..SandboxConfig::unlimited().with_static_token("pat-na1-static")
    });
    let started = Instant::now();
    runtime().block_on(async {
        let client = static_client(&sb);
        for _ in 0..25 {
            hubsync::hubspot::lists::all(&client).await.expect("lists");
        }
    });
    let statuses: Vec<u16> = sb.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses.len(), 25, "no retries were needed");
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    // 25 requests at under 10 per second take at least two full windows.
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn searches_keep_under_five_per_second() {
    let sb = sandbox(SandboxConfig {
        search_per_second: Some(5),
        ..SandboxConfig::unlimited().with_static_token("pat-na1-static")
    });
    let started = Instant::now();
    runtime().block_on(async {
        let client = static_client(&sb);
        let body = hubsync::hubspot::models::SearchRequest {
            limit: 10,
            ..Default::default()
        };
        for _ in 0..12 {
            hubsync::hubspot::search::search(
                &client,
                hubsync::hubspot::ObjectType::Contacts,
                &body,
            )
            .await
            .expect("search");
        }
    });
    let statuses: Vec<u16> = sb.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses.len(), 12);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert!(started.elapsed() >= Duration::from_secs(2));
}

#[test]
fn secrets_appear_in_no_output_at_any_verbosity() {
    let sb = sandbox(SandboxConfig::unlimited());
    let env = Env::new();
    let c = Connecting::start(&env, &sb, &["-vvv", "--json"]);
    browse(&c.url);
    let (code, out, err) = c.finish();
    assert_eq!(code, 0, "{out}\n{err}");
    let creds = credentials(&env);
    let mut secrets = vec![CLIENT_SECRET.to_owned()];
    for k in ["access_token", "refresh_token"] {
        secrets.push(creds[k].as_str().expect("token").to_owned());
    }
    let mut outputs = vec![out, err];
    sb.expire_all_access_tokens();
    for args in [
        vec!["lists", "--refresh", "-vvv"],
        vec![
            "lists",
            "--refresh",
            "--json",
            "-vvv",
            "--log-format",
            "json",
        ],
    ] {
        let o = cmd(&env, &sb).args(&args).assert().success();
        outputs.push(String::from_utf8_lossy(&o.get_output().stdout).to_string());
        outputs.push(String::from_utf8_lossy(&o.get_output().stderr).to_string());
    }
    // The tokens of the refresh during the first `lists`.
    let creds = credentials(&env);
    for k in ["access_token", "refresh_token"] {
        secrets.push(creds[k].as_str().expect("token").to_owned());
    }
    let o = cmd(&env, &sb)
        .args(["disconnect", "-vvv", "--json"])
        .assert()
        .success();
    outputs.push(String::from_utf8_lossy(&o.get_output().stdout).to_string());
    outputs.push(String::from_utf8_lossy(&o.get_output().stderr).to_string());
    assert!(
        outputs.iter().any(|o| o.contains("HubSpot request")),
        "trace logs were on"
    );
    assert_eq!(secrets.len(), 5);
    for s in &secrets {
        for o in &outputs {
            assert!(!o.contains(s.as_str()), "a secret leaked into:\n{o}");
        }
    }
}

/// Two hubsync processes holding the same tokens, both finding them expired: the first
/// refreshes (HubSpot rotates the refresh token), the second's refresh is refused, and it takes
/// the tokens the first stored instead of giving up with exit 4.
#[test]
fn a_refresh_raced_by_another_process_takes_the_tokens_it_stored() {
    use hubsync::hubspot::auth::store::{FileStore, TokenStore};
    use hubsync::hubspot::{Auth, Client};
    use std::sync::Arc;

    let sb = sandbox(SandboxConfig::unlimited());
    let env = connected(&sb);
    let store = Arc::new(FileStore::new(env.path("credentials.json")));
    let creds = store.load().unwrap().expect("stored credentials");
    let client = |c: &hubsync::hubspot::auth::Credentials| {
        Client::new(
            &sb.url(),
            hubsync::hubspot::ApiVersion::default(),
            Auth::OAuth {
                creds: c.clone(),
                store: store.clone(),
            },
        )
        .unwrap()
    };
    let (first, second) = (client(&creds), client(&creds));
    sb.expire_all_access_tokens();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        hubsync::hubspot::lists::all(&first)
            .await
            .expect("the first refreshes");
        let stored = store.load().unwrap().unwrap();
        assert!(stored.refresh_token != creds.refresh_token, "rotated");
        hubsync::hubspot::lists::all(&second)
            .await
            .expect("the second takes the stored tokens");
    });
}

/// A token store that reads but cannot write (a full disk, a keyring that went away).
#[derive(Debug)]
struct ReadOnlyStore(hubsync::hubspot::auth::store::FileStore);

impl hubsync::hubspot::auth::TokenStore for ReadOnlyStore {
    fn kind(&self) -> hubsync::hubspot::auth::StoreKind {
        hubsync::hubspot::auth::StoreKind::File
    }
    fn location(&self) -> String {
        "a read-only store".into()
    }
    fn load(&self) -> Result<Option<hubsync::hubspot::auth::Credentials>, hubsync::hubspot::Error> {
        self.0.load()
    }
    fn save(&self, _: &hubsync::hubspot::auth::Credentials) -> Result<(), hubsync::hubspot::Error> {
        Err(hubsync::hubspot::Error::Store(
            "no space left on device".into(),
        ))
    }
    fn delete(&self) -> Result<bool, hubsync::hubspot::Error> {
        Ok(false)
    }
}

/// HubSpot rotates the refresh token but the new one can't be saved: this run goes on with the
/// tokens in memory; the next one, holding the dead refresh token, ends with a clear exit 4.
#[test]
fn a_rotated_token_that_cannot_be_saved_keeps_the_run_going_and_the_next_says_connect() {
    use hubsync::hubspot::auth::store::FileStore;
    use hubsync::hubspot::{Auth, Client};
    use std::sync::Arc;

    let sb = sandbox(SandboxConfig::unlimited());
    let env = connected(&sb);
    let file = FileStore::new(env.path("credentials.json"));
    let creds = hubsync::hubspot::auth::TokenStore::load(&file)
        .unwrap()
        .expect("stored");
    let store = Arc::new(ReadOnlyStore(FileStore::new(env.path("credentials.json"))));
    let client = Client::new(
        &sb.url(),
        hubsync::hubspot::ApiVersion::default(),
        Auth::OAuth {
            creds,
            store: store.clone(),
        },
    )
    .unwrap();
    sb.expire_all_access_tokens();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        hubsync::hubspot::lists::all(&client)
            .await
            .expect("this run goes on");
        hubsync::hubspot::lists::all(&client)
            .await
            .expect("and keeps its fresh token");
    });
    // The next run reads the old (now dead) refresh token: exit 4 naming `hubsync connect`.
    let out = cmd(&env, &sb).arg("lists").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("hubsync connect"), "{err}");
}
