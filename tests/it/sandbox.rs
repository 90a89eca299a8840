//! Tests: the sandbox HubSpot over real HTTP.

use std::time::Duration;

use hubsync_sandbox::{Fault, FaultPlan, RateLimit, Sandbox, SandboxConfig};
use serde_json::{json, Value};

const TOKEN: &str = "pat-na1-11111111-2222-3333-4444-555555555555";

/// A small synchronous HTTP client for the tests.
struct Api {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Api {
    fn new(sb: &Sandbox) -> Self {
        Self {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(20))
                .build()
                .expect("client"),
            base: sb.url(),
            token: Some(TOKEN.to_string()),
        }
    }

    fn with_token(mut self, token: Option<&str>) -> Self {
        self.token = token.map(str::to_string);
        self
    }

    fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Answer {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.rt.block_on(async {
            let r = req.send().await.expect("request");
            let status = r.status().as_u16();
            let headers = r.headers().clone();
            let text = r.text().await.unwrap_or_default();
            Answer {
                status,
                headers,
                body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
            }
        })
    }

    fn get(&self, path: &str) -> Answer {
        self.send(reqwest::Method::GET, path, None)
    }

    fn post(&self, path: &str, body: Value) -> Answer {
        self.send(reqwest::Method::POST, path, Some(body))
    }

    fn put(&self, path: &str, body: Value) -> Answer {
        self.send(reqwest::Method::PUT, path, Some(body))
    }

    fn form(&self, path: &str, pairs: &[(&str, &str)]) -> Answer {
        self.rt.block_on(async {
            let r = self
                .http
                .post(format!("{}{path}", self.base))
                .form(pairs)
                .send()
                .await
                .expect("request");
            let status = r.status().as_u16();
            let headers = r.headers().clone();
            let body = r.json().await.unwrap_or(Value::Null);
            Answer {
                status,
                headers,
                body,
            }
        })
    }
}

fn seeded(cfg: SandboxConfig) -> Sandbox {
    let sb = Sandbox::start(cfg.with_static_token(TOKEN)).expect("sandbox starts");
    sb.seed_file(common_seed()).expect("seed");
    sb
}

fn common_seed() -> std::path::PathBuf {
    crate::common::repo().join("examples/data/hubspot-seed.json")
}

fn contacts_named(sb: &Sandbox, email: &str) -> usize {
    sb.state()["contacts"]
        .as_array()
        .expect("contacts")
        .iter()
        .filter(|c| c["properties"]["email"] == email && c["archived"] == false)
        .count()
}

#[test]
fn batch_with_one_bad_enumeration_value_writes_nothing() {
    let sb = seeded(SandboxConfig::unlimited());
    let api = Api::new(&sb);
    let before = sb.state()["contacts"].as_array().expect("contacts").len();
    let r = api.post(
        "/crm/v3/objects/contacts/batch/create",
        json!({"inputs": [
            {"associations": [], "properties": {"email": "a@new.example", "gitmesh_seniority": "Senior"}},
            {"associations": [], "properties": {"email": "b@new.example", "gitmesh_seniority": "senior"}},
            {"associations": [], "properties": {"email": "c@new.example"}}
        ]}),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["category"], "VALIDATION_ERROR");
    let msg = r.body["message"].as_str().expect("message");
    assert!(
        msg.contains("INVALID_OPTION") && msg.contains("gitmesh_seniority"),
        "{msg}"
    );
    assert_eq!(
        sb.state()["contacts"].as_array().expect("contacts").len(),
        before
    );

    // The same batch with valid values is written in full.
    let r = api.post(
        "/crm/objects/2026-03/contacts/batch/create",
        json!({"inputs": [
            {"associations": [], "properties": {"email": "a@new.example", "gitmesh_seniority": "Senior",
                            "gitmesh_is_hiring": "true", "gitmesh_score": "17.0",
                            "gitmesh_last_active": "2025-03-01",
                            "gitmesh_joined_at": "1700000000000"}},
            {"associations": [], "properties": {"email": "b@new.example"}}
        ]}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "COMPLETE");
    let p = &r.body["results"][0]["properties"];
    assert_eq!(p["gitmesh_score"], "17");
    assert_eq!(p["gitmesh_joined_at"], "2023-11-14T22:13:20.000Z");
    assert_eq!(contacts_named(&sb, "b@new.example"), 1);
}

#[test]
fn writes_refuse_unknown_read_only_and_badly_typed_values() {
    let sb = seeded(SandboxConfig::unlimited());
    let api = Api::new(&sb);
    for (props, code) in [
        (
            json!({"email": "x@y.example", "no_such_property": "1"}),
            "PROPERTY_DOESNT_EXIST",
        ),
        (
            json!({"email": "x@y.example", "hs_additional_emails": "z@y.example"}),
            "READ_ONLY_VALUE",
        ),
        (
            json!({"email": "x@y.example", "gitmesh_score": "many"}),
            "INVALID_NUMBER",
        ),
        (
            json!({"email": "x@y.example", "gitmesh_is_hiring": "yes"}),
            "INVALID_BOOLEAN",
        ),
        (
            json!({"email": "x@y.example", "gitmesh_last_active": "1700000000000"}),
            "INVALID_DATE",
        ),
        (
            json!({"email": "x@y.example", "gitmesh_score": 17}),
            "INVALID_TYPE",
        ),
        (json!({"email": "not-an-email"}), "INVALID_EMAIL"),
    ] {
        let r = api.post("/crm/v3/objects/contacts", json!({ "properties": props }));
        assert_eq!(r.status, 400, "{props}: {}", r.body);
        assert_eq!(r.body["errors"][0]["code"], code, "{props}: {}", r.body);
    }
    assert_eq!(contacts_named(&sb, "x@y.example"), 0);
}

#[test]
fn email_is_unique_including_additional_emails() {
    let sb = seeded(SandboxConfig::unlimited());
    let api = Api::new(&sb);
    // 5002 holds grace.hopper@example.org as an additional e-mail.
    let r = api.post(
        "/crm/v3/objects/contacts/batch/create",
        json!({"inputs": [{"associations": [], "properties": {"email": "new@x.example"}},
                          {"associations": [], "properties": {"email": "Grace.Hopper@example.org"}}]}),
    );
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.body["category"], "CONFLICT");
    assert_eq!(
        r.body["message"],
        "Contact already exists. Existing ID: 5002"
    );
    assert_eq!(contacts_named(&sb, "new@x.example"), 0, "nothing written");

    let r = api.post(
        "/crm/v3/objects/contacts/batch/create",
        json!({"inputs": [{"associations": [], "properties": {"email": "dup@x.example"}},
                          {"associations": [], "properties": {"email": "DUP@x.example"}}]}),
    );
    assert_eq!(r.status, 409, "{}", r.body);

    // Upsert by e-mail updates the owner of an additional e-mail and creates the rest.
    let r = api.post(
        "/crm/v3/objects/contacts/batch/upsert",
        json!({"inputs": [
            {"id": "grace.hopper@example.org", "idProperty": "email", "properties": {"jobtitle": "Admiral"}},
            {"id": "new@x.example", "idProperty": "email", "properties": {"firstname": "New"}}
        ]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["results"][0]["id"], "5002");
    assert_eq!(r.body["results"][0]["new"], false);
    assert_eq!(r.body["results"][1]["new"], true);
    assert_eq!(r.body["results"][1]["properties"]["email"], "new@x.example");
    assert_eq!(
        sb.record("contacts", "5002")["properties"]["jobtitle"],
        "Admiral"
    );

    // Companies can't be upserted by domain.
    let r = api.post(
        "/crm/v3/objects/companies/batch/upsert",
        json!({"inputs": [{"id": "acme-robotics.io", "idProperty": "domain", "properties": {}}]}),
    );
    assert_eq!(r.status, 400);
    assert!(r.body["message"]
        .as_str()
        .expect("msg")
        .contains("non-unique 0-2 property domain"));
}

#[test]
fn batch_partial_results_where_hubspot_gives_them() {
    let sb = seeded(SandboxConfig::unlimited());
    let api = Api::new(&sb);
    let r = api.post(
        "/crm/v3/objects/contacts/batch/read",
        json!({"inputs": [{"id": "5001"}, {"id": "424242"}], "properties": ["email"], "propertiesWithHistory": []}),
    );
    assert_eq!(r.status, 207, "{}", r.body);
    assert_eq!(r.body["results"].as_array().expect("results").len(), 1);
    assert_eq!(r.body["errors"][0]["category"], "OBJECT_NOT_FOUND");
    assert_eq!(r.body["errors"][0]["context"]["ids"], json!(["424242"]));

    let r = api.post(
        "/crm/v3/objects/contacts/batch/read",
        json!({"inputs": [{"id": "LINUS@globex.example"}], "idProperty": "email", "properties": ["firstname"], "propertiesWithHistory": []}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["results"][0]["properties"]["firstname"], "Linus");

    let r = api.post(
        "/crm/v3/objects/contacts/batch/update",
        json!({"inputs": [{"id": "5001", "properties": {"city": "London"}},
                          {"id": "424242", "properties": {"city": "Paris"}}]}),
    );
    assert_eq!(r.status, 207, "{}", r.body);
    assert_eq!(
        sb.record("contacts", "5001")["properties"]["city"],
        "London"
    );

    // With an objectWriteTraceId on every input, batch create writes the good ones.
    let r = api.post(
        "/crm/v3/objects/contacts/batch/create",
        json!({"inputs": [
            {"objectWriteTraceId": "t1", "associations": [], "properties": {"email": "ok@trace.example"}},
            {"objectWriteTraceId": "t2", "associations": [], "properties": {"email": "bad@trace.example", "gitmesh_seniority": "Boss"}}
        ]}),
    );
    assert_eq!(r.status, 207, "{}", r.body);
    assert_eq!(
        r.body["errors"][0]["context"]["objectWriteTraceId"],
        json!(["t2"])
    );
    assert_eq!(contacts_named(&sb, "ok@trace.example"), 1);
    assert_eq!(contacts_named(&sb, "bad@trace.example"), 0);

    let inputs: Vec<Value> = (0..101)
        .map(|i| json!({"associations": [], "properties": {"email": format!("n{i}@x.example")}}))
        .collect();
    let r = api.post(
        "/crm/v3/objects/contacts/batch/create",
        json!({ "inputs": inputs }),
    );
    assert_eq!(r.status, 400);
}

#[test]
fn list_pages_with_after_and_hides_archived_and_merged() {
    let sb = seeded(SandboxConfig::unlimited());
    let api = Api::new(&sb);
    sb.archive("contacts", "5003").expect("archive");
    let mut seen = Vec::new();
    let mut path = "/crm/v3/objects/contacts?limit=2".to_string();
    loop {
        let r = api.get(&path);
        assert_eq!(r.status, 200, "{}", r.body);
        for c in r.body["results"].as_array().expect("results") {
            seen.push(c["id"].as_str().expect("id").to_string());
        }
        match r.body["paging"]["next"]["after"].as_str() {
            Some(after) => path = format!("/crm/v3/objects/contacts?limit=2&after={after}"),
            None => break,
        }
    }
    assert_eq!(seen, ["5001", "5002", "5004"]);
    assert_eq!(api.get("/crm/v3/objects/contacts?limit=101").status, 400);

    // Merging 5004 into 5001: 5004 leads to 5001, which lists it as merged.
    let before = sb.record("contacts", "5001")["properties"]["lastmodifieddate"].clone();
    std::thread::sleep(Duration::from_millis(5));
    sb.merge("contacts", "5001", "5004").expect("merge");
    let r = api
        .get("/crm/v3/objects/contacts/5004?properties=hs_merged_object_ids,hs_additional_emails");
    assert_eq!(r.status, 200);
    assert_eq!(r.body["id"], "5001");
    assert_eq!(r.body["properties"]["hs_merged_object_ids"], "5004");
    assert_eq!(
        r.body["properties"]["hs_additional_emails"],
        "margaret@example.org"
    );
    assert_ne!(r.body["properties"]["lastmodifieddate"], before);
    assert_eq!(api.get("/crm/v3/objects/contacts/5003").status, 404);
}

#[test]
fn user_edits_bump_lastmodifieddate_and_search_finds_them() {
    let sb = seeded(SandboxConfig::unlimited());
    let api = Api::new(&sb);
    std::thread::sleep(Duration::from_millis(5));
    let cut = chrono::Utc::now().timestamp_millis();
    std::thread::sleep(Duration::from_millis(5));
    sb.edit_record("contacts", "5002", &json!({"jobtitle": "Rear Admiral"}))
        .expect("edit");
    let r = api.post(
        "/crm/v3/objects/contacts/search",
        json!({"filterGroups": [{"filters": [
                {"propertyName": "lastmodifieddate", "operator": "GTE", "value": cut.to_string()}]}],
               "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
               "properties": ["jobtitle"]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["total"], 1);
    assert_eq!(
        r.body["results"][0]["properties"]["jobtitle"],
        "Rear Admiral"
    );
    assert!(
        r.headers.get("x-hubspot-ratelimit-max").is_none(),
        "search has no rate headers"
    );
}

#[test]
fn search_operators_and_limits() {
    let sb = seeded(SandboxConfig::unlimited());
    let api = Api::new(&sb);
    let search = |body: Value| api.post("/crm/v3/objects/contacts/search", body);
    let ids = |r: &Answer| -> Vec<String> {
        r.body["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|c| c["id"].as_str().expect("id").to_string())
            .collect()
    };
    let f = |p: &str, op: &str, v: Value| json!({"filterGroups": [{"filters": [{"propertyName": p, "operator": op, "value": v}]}]});
    assert_eq!(ids(&search(f("firstname", "EQ", json!("ADA")))), ["5001"]);
    assert_eq!(
        ids(&search(f("lifecyclestage", "EQ", json!("CUSTOMER")))).len(),
        0,
        "enumerations are case-sensitive"
    );
    assert_eq!(
        ids(&search(f("lifecyclestage", "EQ", json!("customer")))),
        ["5001"]
    );
    assert_eq!(
        ids(&search(f("lastname", "HAS_PROPERTY", Value::Null))).len(),
        3
    );
    assert_eq!(
        ids(&search(f(
            "email",
            "CONTAINS_TOKEN",
            json!("*@initech.com")
        ))),
        ["5002"]
    );
    let r = search(
        json!({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "IN", "values": ["ada@acme-robotics.io", "LINUS@globex.example"]}]}]}),
    );
    assert_eq!(ids(&r), ["5001"], "IN needs lowercase values");
    // Two groups are ORed.
    let r = search(json!({"filterGroups": [
        {"filters": [{"propertyName": "firstname", "operator": "EQ", "value": "Ada"}]},
        {"filters": [{"propertyName": "firstname", "operator": "EQ", "value": "Linus"}]}],
        "sorts": ["-createdate"]}));
    assert_eq!(ids(&r).len(), 2);
    let r = search(
        json!({"filterGroups": [{"filters": [{"propertyName": "associations.company", "operator": "EQ", "value": "9002"}]}]}),
    );
    assert_eq!(ids(&r), ["5002"]);
    // Limits: groups, filters, sorts, page size, body size.
    let filter = json!({"propertyName": "firstname", "operator": "HAS_PROPERTY"});
    let group = |n: usize| json!({"filters": vec![filter.clone(); n]});
    assert_eq!(
        search(json!({"filterGroups": vec![group(1); 6]})).status,
        400
    );
    assert_eq!(search(json!({"filterGroups": [group(7)]})).status, 400);
    assert_eq!(
        search(json!({"filterGroups": vec![group(4); 5]})).status,
        400,
        "19+ filters"
    );
    assert_eq!(
        search(json!({"filterGroups": vec![group(6); 3]})).status,
        200,
        "18 filters"
    );
    assert_eq!(
        search(json!({"sorts": ["createdate", "email"]})).status,
        400
    );
    assert_eq!(search(json!({"limit": 201})).status, 400);
    assert_eq!(search(json!({"query": "x".repeat(3001)})).status, 400);
    assert_eq!(search(f("no_such_property", "EQ", json!("1"))).status, 400);
    // Archived records are never returned.
    sb.archive("contacts", "5001").expect("archive");
    assert_eq!(ids(&search(f("firstname", "EQ", json!("Ada")))).len(), 0);
}

#[test]
fn the_10001st_search_result_is_refused() {
    let sb = Sandbox::start(SandboxConfig::unlimited().with_static_token(TOKEN)).expect("start");
    let contacts: Vec<Value> = (0..10_050)
        .map(|i| json!({"properties": {"email": format!("c{i}@bulk.example")}}))
        .collect();
    sb.seed_json(&json!({ "contacts": contacts }))
        .expect("seed");
    let api = Api::new(&sb);
    let page = |after: usize, limit: usize| {
        api.post(
            "/crm/v3/objects/contacts/search",
            json!({"limit": limit, "after": after.to_string(), "properties": ["email"]}),
        )
    };
    let r = page(9_800, 200);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["total"], 10_050);
    assert_eq!(r.body["results"].as_array().expect("results").len(), 200);
    assert_eq!(
        r.body["results"][199]["properties"]["email"],
        "c9999@bulk.example"
    );
    assert_eq!(r.body["paging"]["next"]["after"], "10000");
    let r = page(10_000, 1);
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["category"], "VALIDATION_ERROR");
    assert_eq!(page(9_999, 2).status, 400, "a page reaching result 10,001");
    assert_eq!(page(9_999, 1).status, 200);
}

#[test]
fn the_101st_request_in_ten_seconds_gets_429() {
    let sb = seeded(SandboxConfig::default());
    let api = Api::new(&sb);
    let started = std::time::Instant::now();
    for i in 1..=100u32 {
        let r = api.get("/crm/v3/objects/contacts?limit=1");
        assert_eq!(r.status, 200, "request {i}");
        assert_eq!(r.header("x-hubspot-ratelimit-max"), Some("100"));
        assert_eq!(
            r.header("x-hubspot-ratelimit-remaining"),
            Some((100 - i).to_string().as_str())
        );
        assert_eq!(
            r.header("x-hubspot-ratelimit-interval-milliseconds"),
            Some("10000")
        );
    }
    if started.elapsed() > Duration::from_secs(9) {
        // A machine this slow lets the window roll before the 101st request: nothing to see.
        eprintln!(
            "skipped the 429 check: 100 requests took {:?}",
            started.elapsed()
        );
        return;
    }
    let r = api.get("/crm/v3/objects/contacts?limit=1");
    assert_eq!(r.status, 429);
    assert_eq!(r.body["policyName"], "TEN_SECONDLY_ROLLING");
    assert_eq!(r.body["errorType"], "RATE_LIMIT");
    assert_eq!(r.body["status"], "error");
    assert_eq!(
        r.body["message"],
        "You have reached your ten_secondly_rolling limit."
    );
    assert!(r.body["correlationId"].is_string());
    assert_eq!(r.header("x-hubspot-ratelimit-remaining"), Some("0"));
    assert!(
        r.header("retry-after").is_none(),
        "HubSpot documents no Retry-After on 429"
    );
    // Search is exempt from the burst window but has its own per-second limit.
    let search = || api.post("/crm/v3/objects/contacts/search", json!({}));
    for _ in 0..5 {
        assert_eq!(search().status, 200);
    }
    let r = search();
    assert_eq!(r.status, 429);
    assert_eq!(r.body["message"], "You have reached your secondly limit.");
    let log = sb.requests();
    assert_eq!(log.iter().filter(|r| r.status == 429).count(), 2);
}

#[test]
fn daily_limit_answers_429_daily() {
    let sb = seeded(SandboxConfig::unlimited());
    sb.set_daily_limit(Some(3));
    let api = Api::new(&sb);
    for _ in 0..3 {
        assert_eq!(api.get("/crm/v3/objects/companies").status, 200);
    }
    let r = api.get("/crm/v3/objects/companies");
    assert_eq!(r.status, 429);
    assert_eq!(r.body["policyName"], "DAILY");
    assert_eq!(r.body["message"], "You have reached your daily limit.");
    assert_eq!(r.header("x-hubspot-ratelimit-daily-remaining"), Some("0"));
}

/// Drives `/oauth/authorize` and exchanges the code; returns the token response.
fn oauth_login(api: &Api, scope: &str) -> Value {
    let redirect = "http://localhost:8977/callback";
    let url = format!(
        "/oauth/authorize?client_id=sandbox-client-id&redirect_uri={}&scope={}&state=xyz%201",
        redirect.replace(':', "%3A").replace('/', "%2F"),
        scope.replace(' ', "%20")
    );
    let r = api.get(&url);
    assert_eq!(r.status, 302, "{}", r.body);
    let location = r.header("location").expect("location").to_string();
    assert!(
        location.starts_with("http://localhost:8977/callback?code="),
        "{location}"
    );
    assert!(location.ends_with("&state=xyz%201"), "{location}");
    let code = location
        .split("code=")
        .nth(1)
        .and_then(|s| s.split('&').next())
        .expect("code")
        .to_string();
    let pairs = [
        ("grant_type", "authorization_code"),
        ("client_id", "sandbox-client-id"),
        ("client_secret", "sandbox-client-secret"),
        ("redirect_uri", redirect),
        ("code", code.as_str()),
    ];
    let r = api.form("/oauth/v1/token", &pairs);
    assert_eq!(r.status, 200, "{}", r.body);
    // Codes are single-use.
    let again = api.form("/oauth/v1/token", &pairs);
    assert_eq!(again.status, 400);
    assert_eq!(again.body["status"], "BAD_AUTH_CODE");
    r.body
}

const SCOPES: &str = "crm.objects.contacts.read crm.objects.contacts.write crm.schemas.contacts.read crm.objects.companies.read crm.objects.companies.write crm.schemas.companies.read crm.lists.read crm.lists.write oauth";

#[test]
fn oauth_round_trip_refresh_rotation_and_expiry() {
    let sb = Sandbox::start(SandboxConfig {
        // Long enough for the first call even on a loaded machine.
        access_token_ttl: Duration::from_secs(3),
        ..SandboxConfig::unlimited()
    })
    .expect("start");
    let api = Api::new(&sb).with_token(None);
    let tokens = oauth_login(&api, SCOPES);
    assert_eq!(tokens["token_type"], "bearer");
    assert_eq!(tokens["expires_in"], 3);
    assert!(tokens["refresh_token"]
        .as_str()
        .expect("rt")
        .starts_with("na1-"));
    let access = tokens["access_token"].as_str().expect("at").to_string();
    let authed = Api::new(&sb).with_token(Some(&access));
    assert_eq!(authed.get("/crm/v3/objects/contacts").status, 200);
    let info = api.get(&format!("/oauth/v1/access-tokens/{access}"));
    assert_eq!(info.body["hub_id"], 24_681_357);
    assert_eq!(info.body["scopes"].as_array().expect("scopes").len(), 9);

    std::thread::sleep(Duration::from_millis(3_100));
    let r = authed.get("/crm/v3/objects/contacts");
    assert_eq!(r.status, 401);
    assert_eq!(r.body["category"], "EXPIRED_AUTHENTICATION");
    assert!(r.body["message"].as_str().expect("msg").contains("expired"));

    let old_refresh = tokens["refresh_token"].as_str().expect("rt").to_string();
    let refresh = |rt: &str| {
        api.form(
            "/oauth/v3/token",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "sandbox-client-id"),
                ("client_secret", "sandbox-client-secret"),
                ("refresh_token", rt),
            ],
        )
    };
    let r = refresh(&old_refresh);
    assert_eq!(r.status, 200, "{}", r.body);
    let new_refresh = r.body["refresh_token"].as_str().expect("rt").to_string();
    assert_ne!(new_refresh, old_refresh, "refresh tokens rotate");
    let r = refresh(&old_refresh);
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"], "invalid_grant");
    assert_eq!(r.body["status"], "BAD_REFRESH_TOKEN");
    assert_eq!(
        r.body["message"],
        "refresh token is invalid, expired or revoked"
    );

    // Revoked refresh tokens stop working, and so do their access tokens.
    let r = refresh(&new_refresh);
    let access = r.body["access_token"].as_str().expect("at").to_string();
    let rt = r.body["refresh_token"].as_str().expect("rt").to_string();
    sb.revoke_refresh_tokens();
    assert_eq!(refresh(&rt).status, 400);
    let r = Api::new(&sb)
        .with_token(Some(&access))
        .get("/crm/v3/objects/contacts");
    assert_eq!(r.status, 401);
    assert_eq!(r.body["category"], "INVALID_AUTHENTICATION");
}

#[test]
fn authorize_validates_client_redirect_and_scopes() {
    let sb = Sandbox::start(SandboxConfig {
        withheld_scopes: vec!["crm.lists.write".into()],
        ..SandboxConfig::unlimited()
    })
    .expect("start");
    let api = Api::new(&sb).with_token(None);
    let url = |client: &str, redirect: &str, scope: &str| {
        format!(
            "/oauth/authorize?client_id={client}&redirect_uri={redirect}&scope={}&state=s",
            scope.replace(' ', "%20")
        )
    };
    let good = "http%3A%2F%2Flocalhost%3A8977%2Fcallback";
    assert_eq!(api.get(&url("other", good, SCOPES)).status, 400);
    assert_eq!(
        api.get(&url(
            "sandbox-client-id",
            "http%3A%2F%2F127.0.0.1%3A8977%2Fcallback",
            SCOPES
        ))
        .status,
        400
    );
    let r = api.get(&url(
        "sandbox-client-id",
        good,
        "crm.objects.contacts.read oauth",
    ));
    assert_eq!(r.status, 302);
    let location = r.header("location").expect("location");
    assert!(
        location.contains("error=invalid_scope") && location.contains("state=s"),
        "{location}"
    );

    // A withheld scope is missing from the token, and calls that need it get 403.
    let tokens = oauth_login(&api, SCOPES);
    let scopes = tokens["scopes"].as_array().expect("scopes");
    assert!(!scopes.contains(&json!("crm.lists.write")));
    let authed = Api::new(&sb).with_token(tokens["access_token"].as_str());
    let r = authed.post(
        "/crm/v3/lists",
        json!({"name": "X", "objectTypeId": "0-1", "processingType": "MANUAL"}),
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.body["category"], "MISSING_SCOPES");
    assert_eq!(
        r.body["errors"][0]["context"]["requiredGranularScopes"],
        json!(["crm.lists.read", "crm.lists.write"])
    );
    assert_eq!(
        authed
            .post(
                "/crm/v3/lists/search",
                json!({"additionalProperties": [], "offset": 0})
            )
            .status,
        200
    );

    let denied = Sandbox::start(SandboxConfig {
        deny_authorize: true,
        ..SandboxConfig::unlimited()
    })
    .expect("start");
    let r = Api::new(&denied)
        .with_token(None)
        .get(&url("sandbox-client-id", good, SCOPES));
    assert!(r
        .header("location")
        .expect("location")
        .contains("error=access_denied"));
}

#[test]
fn missing_or_unknown_tokens_get_401() {
    let sb = seeded(SandboxConfig::unlimited());
    let r = Api::new(&sb)
        .with_token(None)
        .get("/crm/v3/objects/contacts");
    assert_eq!(r.status, 401);
    assert_eq!(r.body["category"], "INVALID_AUTHENTICATION");
    let r = Api::new(&sb)
        .with_token(Some("pat-na1-unknown"))
        .get("/crm/v3/objects/contacts");
    assert_eq!(r.status, 401);
    sb.add_static_token("pat-na1-readonly", &["crm.objects.contacts.read"]);
    let ro = Api::new(&sb).with_token(Some("pat-na1-readonly"));
    assert_eq!(ro.get("/crm/v3/objects/contacts").status, 200);
    assert_eq!(
        ro.post(
            "/crm/v3/objects/contacts",
            json!({"associations": [], "properties": {"email": "q@q.example"}})
        )
        .status,
        403
    );
}

#[test]
fn properties_are_realistic_and_can_be_created() {
    let sb = seeded(SandboxConfig::unlimited());
    let api = Api::new(&sb);
    let r = api.get("/crm/properties/2026-03/contacts");
    assert_eq!(r.status, 200);
    let props = r.body["results"].as_array().expect("results");
    let find = |name: &str| {
        props
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .expect(name)
    };
    assert_eq!(
        find("hs_additional_emails")["modificationMetadata"]["readOnlyValue"],
        true
    );
    assert_eq!(find("lastmodifieddate")["type"], "datetime");
    assert_eq!(find("num_associated_deals")["calculated"], true);
    assert_eq!(find("lifecyclestage")["type"], "enumeration");
    assert_eq!(find("email")["hubspotDefined"], true);
    let seniority = find("gitmesh_seniority");
    assert_eq!(seniority["options"][2]["value"], "Senior");
    assert_eq!(seniority["hubspotDefined"], false);
    let r = api.get("/crm/v3/properties/companies/industry");
    assert!(!r.body["options"].as_array().expect("options").is_empty());

    let body = json!({"name": "hubsync_bio", "label": "Bio", "type": "string", "fieldType": "textarea", "groupName": "community"});
    // The group must exist first.
    let r = api.post("/crm/v3/properties/contacts", body.clone());
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body["message"]
        .as_str()
        .unwrap()
        .contains("Property group community does not exist"));
    let group = json!({"name": "community", "label": "Community"});
    assert_eq!(
        api.post("/crm/v3/properties/contacts/groups", group.clone())
            .status,
        201
    );
    assert_eq!(
        api.post("/crm/v3/properties/contacts/groups", group).status,
        409
    );
    let r = api.get("/crm/v3/properties/contacts/groups");
    assert!(r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["name"] == "community"));
    let r = api.post("/crm/v3/properties/contacts", body.clone());
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(api.post("/crm/v3/properties/contacts", body).status, 409);
    let bad = json!({"name": "x_flag", "label": "X", "type": "bool", "fieldType": "text", "groupName": "community"});
    assert_eq!(api.post("/crm/v3/properties/contacts", bad).status, 400);
    // Creating properties needs the schemas write scope.
    sb.add_static_token(
        "pat-na1-plain",
        &["crm.objects.contacts.read", "crm.schemas.contacts.read"],
    );
    let plain = Api::new(&sb).with_token(Some("pat-na1-plain"));
    assert_eq!(plain.get("/crm/v3/properties/contacts").status, 200);
    let body = json!({"name": "other", "label": "O", "type": "string", "fieldType": "text", "groupName": "hubsync"});
    assert_eq!(plain.post("/crm/v3/properties/contacts", body).status, 403);
}

#[test]
fn a_dynamic_list_refuses_members() {
    let sb = seeded(SandboxConfig::unlimited());
    let api = Api::new(&sb);
    let r = api.get("/crm/v3/lists/object-type-id/0-1/name/all%20CUSTOMERS");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["list"]["processingType"], "DYNAMIC");
    let id = r.body["list"]["listId"].as_str().expect("id").to_string();
    let r = api.put(
        &format!("/crm/v3/lists/{id}/memberships/add"),
        json!(["5003"]),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body["message"].as_str().expect("msg").contains("DYNAMIC"));
    let members = sb.state()["lists"]
        .as_array()
        .expect("lists")
        .iter()
        .find(|l| l["listId"] == id.as_str())
        .map(|l| l["members"].clone())
        .expect("list");
    assert_eq!(members, json!(["5001"]));
}

#[test]
fn manual_lists_take_members() {
    let sb = seeded(SandboxConfig::unlimited());
    let api = Api::new(&sb);
    let r = api.post(
        "/crm/lists/2026-03/search",
        json!({"query": "champions", "listIds": [], "processingTypes": [],
               "additionalProperties": [], "offset": 0}),
    );
    assert_eq!(r.body["total"], 1);
    let id = r.body["lists"][0]["listId"]
        .as_str()
        .expect("id")
        .to_string();
    let r = api.put(
        &format!("/crm/v3/lists/{id}/memberships/add"),
        json!(["5002", "5001", "999999"]),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["recordsIdsAdded"], json!(["5002"]));
    assert_eq!(r.body["recordIdsMissing"], json!(["5001", "999999"]));
    let r = api.put(
        &format!("/crm/v3/lists/{id}/memberships/remove"),
        json!(["5001"]),
    );
    assert_eq!(r.body["recordIdsRemoved"], json!(["5001"]));
    let r = api.get(&format!("/crm/v3/lists/{id}/memberships"));
    assert_eq!(r.body["results"][0]["recordId"], "5002");
    assert_eq!(r.body["total"], 1);
    let r = api.post(
        "/crm/v3/lists",
        json!({"name": "Fresh", "objectTypeId": "0-1", "processingType": "MANUAL"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api.post(
        "/crm/v3/lists",
        json!({"name": "fresh", "objectTypeId": "0-1", "processingType": "MANUAL"}),
    );
    assert_eq!(r.status, 409, "list names are unique");
    assert_eq!(api.get("/crm/v3/lists/424242").status, 404);
}

#[test]
fn associations_default_batch_and_reads() {
    let sb = seeded(SandboxConfig::unlimited());
    let api = Api::new(&sb);
    let r = api.post(
        "/crm/v4/associations/contacts/companies/batch/associate/default",
        json!({"inputs": [{"from": {"id": "5004"}, "to": {"id": "9001"}}]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["results"][0]["associationSpec"]["associationTypeId"],
        279
    );
    let r = api.get("/crm/v4/objects/companies/9001/associations/contacts");
    let ids: Vec<i64> = r.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|x| x["toObjectId"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids, [5001, 5004]);
    let r = api.post(
        "/crm/associations/2026-03/contacts/companies/batch/associate/default",
        json!({"inputs": [{"from": {"id": "5004"}, "to": {"id": "404"}}]}),
    );
    assert_eq!(r.status, 207);
    let assoc = sb.state()["associations"].clone();
    assert!(assoc
        .as_array()
        .expect("assoc")
        .iter()
        .any(|a| a["contact"] == "5004" && a["company"] == "9001"));
}

#[test]
fn scheduled_faults_then_recovery_and_request_log() {
    let sb = seeded(SandboxConfig::unlimited());
    let api = Api::new(&sb);
    sb.set_faults(FaultPlan::statuses(2, 3, 502).then(4, 4, Fault::RateLimited));
    let statuses: Vec<u16> = (0..5)
        .map(|_| api.get("/crm/v3/objects/contacts").status)
        .collect();
    assert_eq!(statuses, [200, 502, 502, 429, 200]);
    let log = sb.requests();
    assert_eq!(log.len(), 5);
    assert!(log
        .iter()
        .all(|r| r.method == "GET" && r.path == "/crm/v3/objects/contacts"));
    assert_eq!(sb.count("GET", "/objects/contacts"), 5);
    sb.clear_requests();
    assert!(sb.requests().is_empty());

    // A hang longer than the client's timeout looks like a timeout.
    sb.set_faults(FaultPlan::none().then(
        1,
        1,
        Fault::Hang {
            duration: Duration::from_secs(3),
        },
    ));
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client");
    let err = api.rt.block_on(async {
        quick
            .get(format!("{}/crm/v3/objects/contacts", sb.url()))
            .bearer_auth(TOKEN)
            .send()
            .await
    });
    assert!(err.expect_err("times out").is_timeout());
    // A dropped connection fails the body read.
    sb.set_faults(FaultPlan::none().then(1, 1, Fault::Drop));
    let res = api.rt.block_on(async {
        match quick
            .get(format!("{}/crm/v3/objects/contacts", sb.url()))
            .bearer_auth(TOKEN)
            .send()
            .await
        {
            Ok(r) => r.text().await.map(|_| ()),
            Err(e) => Err(e),
        }
    });
    assert!(res.is_err());
    sb.set_faults(FaultPlan::none());
    assert_eq!(api.get("/crm/v3/objects/contacts").status, 200);
}

#[test]
fn http_controls_for_other_processes() {
    let sb = seeded(SandboxConfig::unlimited());
    let api = Api::new(&sb).with_token(None);
    let r = api.post("/__sandbox/faults", json!({"scheduled": [{"first": 1, "count": 1, "fault": {"kind": "status", "status": 503}}]}));
    assert_eq!(r.status, 204, "{}", r.body);
    let authed = Api::new(&sb);
    assert_eq!(authed.get("/crm/v3/objects/companies").status, 503);
    assert_eq!(authed.get("/crm/v3/objects/companies").status, 200);
    let log = api.get("/__sandbox/requests");
    assert_eq!(
        log.body.as_array().expect("log").len(),
        2,
        "controls are not logged"
    );
    let state = api.get("/__sandbox/state");
    assert_eq!(
        state.body["companies"].as_array().expect("companies").len(),
        3
    );
    let r = api.post(
        "/__sandbox/rate-limit",
        json!({"max": 1, "interval_ms": 10000}),
    );
    assert_eq!(r.status, 204);
    assert_eq!(authed.get("/crm/v3/objects/companies").status, 200);
    assert_eq!(authed.get("/crm/v3/objects/companies").status, 429);
    sb.set_rate_limit(Some(RateLimit::per_ten_seconds(100)));
    let r = api.post(
        "/__sandbox/records/contacts/5001",
        json!({"jobtitle": "CEO"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        sb.record("contacts", "5001")["properties"]["jobtitle"],
        "CEO"
    );
}

#[test]
fn spec_required_fields_are_required_and_a_trailing_slash_routes_like_hubspot() {
    let sb = seeded(SandboxConfig::unlimited());
    let api = Api::new(&sb);
    let r = api.post(
        "/crm/v3/objects/contacts/batch/read",
        json!({"inputs": [{"id": "5001"}], "properties": ["email"]}),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body["message"]
        .as_str()
        .is_some_and(|m| m.contains("propertiesWithHistory")));
    let r = api.post(
        "/crm/v3/objects/companies/batch/create",
        json!({"inputs": [{"properties": {"name": "X", "domain": "x.example"}}]}),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body["message"]
        .as_str()
        .is_some_and(|m| m.contains("associations")));
    let r = api.post("/crm/lists/2026-03/search", json!({"offset": 0}));
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body["message"]
        .as_str()
        .is_some_and(|m| m.contains("listIds")));
    // The official SDK's `POST /crm/v3/lists/` (trailing slash) creates a list.
    let r = api.post(
        "/crm/v3/lists/",
        json!({"name": "Slash", "objectTypeId": "0-1", "processingType": "MANUAL"}),
    );
    assert!(r.status == 200 || r.status == 201, "{}", r.body);
}

/// Keyset pages (`hs_object_id > last`, in id order) answer what a scan would: the same records,
/// `total` counting only what is past the bound, with other filters applied; GTE includes the
/// bound; a query with two id bounds is answered too.
#[test]
fn keyset_pages_answer_like_a_scan() {
    let sb = Sandbox::start(SandboxConfig::unlimited().with_static_token(TOKEN)).expect("start");
    let contacts: Vec<Value> = (0..600)
        .map(|i| {
            json!({"properties": {
                "email": format!("k{i}@keyset.example"),
                "firstname": if i % 3 == 0 { "Ada" } else { "Bob" },
            }})
        })
        .collect();
    sb.seed_json(&json!({ "contacts": contacts }))
        .expect("seed");
    let api = Api::new(&sb);
    let search = |filters: Value, sorts: Value| {
        let r = api.post(
            "/crm/v3/objects/contacts/search",
            json!({"filterGroups": [{"filters": filters}], "sorts": sorts, "limit": 200,
                   "properties": ["firstname"]}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    };
    let ids = |page: &Value| -> Vec<u64> {
        page["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| r["id"].as_str().expect("id").parse().expect("numeric id"))
            .collect()
    };
    let all = {
        let mut out = Vec::new();
        let mut last = 0u64;
        loop {
            let page = search(
                json!([{"propertyName": "hs_object_id", "operator": "GT", "value": last.to_string()}]),
                json!([{"propertyName": "hs_object_id", "direction": "ASCENDING"}]),
            );
            let got = ids(&page);
            assert_eq!(page["total"].as_u64(), Some(600 - out.len() as u64));
            let Some(&tail) = got.last() else { break };
            out.extend(got);
            last = tail;
        }
        out
    };
    assert_eq!(all.len(), 600);
    assert!(all.windows(2).all(|w| w[0] < w[1]), "in id order");
    // Another filter with the bound: only the Adas past it.
    let mid = all[299];
    let adas = search(
        json!([
            {"propertyName": "firstname", "operator": "EQ", "value": "Ada"},
            {"propertyName": "hs_object_id", "operator": "GT", "value": mid.to_string()},
        ]),
        json!([]),
    );
    let firstnames: Vec<&str> = adas["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["properties"]["firstname"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(adas["total"], 100, "{adas}");
    assert!(firstnames.iter().all(|n| *n == "Ada"));
    assert!(ids(&adas).iter().all(|&i| i > mid));
    // GTE includes the bound.
    let from = search(
        json!([{"propertyName": "hs_object_id", "operator": "GTE", "value": mid.to_string()}]),
        json!([]),
    );
    assert_eq!(ids(&from)[0], mid);
    assert_eq!(from["total"], 301);
    // Two bounds (no keyset shortcut): a scan answers.
    let between = search(
        json!([
            {"propertyName": "hs_object_id", "operator": "GT", "value": all[99].to_string()},
            {"propertyName": "hs_object_id", "operator": "LTE", "value": all[109].to_string()},
        ]),
        json!([]),
    );
    assert_eq!(ids(&between), all[100..110].to_vec());
    // Descending keyset pages (`hs_object_id < last`) read the same ids backwards.
    let mut down = Vec::new();
    let mut below: Option<u64> = None;
    loop {
        let filters = below.map_or(
            json!([]),
            |b| json!([{"propertyName": "hs_object_id", "operator": "LT", "value": b.to_string()}]),
        );
        let page = search(
            filters,
            json!([{"propertyName": "hs_object_id", "direction": "DESCENDING"}]),
        );
        assert_eq!(page["total"].as_u64(), Some(600 - down.len() as u64));
        let got = ids(&page);
        let Some(&tail) = got.last() else { break };
        down.extend(got);
        below = Some(tail);
    }
    let mut backwards = all.clone();
    backwards.reverse();
    assert_eq!(down, backwards);
    let to = search(
        json!([{"propertyName": "hs_object_id", "operator": "LTE", "value": mid.to_string()}]),
        json!([{"propertyName": "hs_object_id", "direction": "DESCENDING"}]),
    );
    assert_eq!(ids(&to)[0], mid);
    assert_eq!(to["total"], 300);
    // E-mail lookups (answered from the e-mail index) match what a scan would: lowercase IN
    // values only, EQ in any case, never an archived contact.
    let email = |i: usize| format!("k{i}@keyset.example");
    let by_email = search(
        json!([{"propertyName": "email", "operator": "IN",
                "values": [email(3), email(5), "K7@KEYSET.EXAMPLE", "nobody@keyset.example"]}]),
        json!([]),
    );
    assert_eq!(ids(&by_email), vec![all[3], all[5]], "{by_email}");
    let eq = search(
        json!([{"propertyName": "email", "operator": "EQ", "value": "K9@Keyset.Example"},
               {"propertyName": "firstname", "operator": "EQ", "value": "Ada"}]),
        json!([]),
    );
    assert_eq!(ids(&eq), vec![all[9]], "{eq}");
    let r = api.send(
        reqwest::Method::DELETE,
        &format!("/crm/v3/objects/contacts/{}", all[3]),
        None,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let after_archive = search(
        json!([{"propertyName": "email", "operator": "IN", "values": [email(3), email(5)]}]),
        json!([]),
    );
    assert_eq!(ids(&after_archive), vec![all[5]]);
}
