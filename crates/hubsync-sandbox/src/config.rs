//! How a sandbox instance behaves: the OAuth app, tokens, limits and faults.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The scopes hubsync asks for (SPEC §1.1) plus `oauth`.
pub const DEFAULT_APP_SCOPES: [&str; 9] = [
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.schemas.contacts.read",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.schemas.companies.read",
    "crm.lists.read",
    "crm.lists.write",
    "oauth",
];

/// Every scope the sandbox knows: what a `--static-token` gets.
pub const ALL_SCOPES: [&str; 11] = [
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.schemas.contacts.read",
    "crm.schemas.contacts.write",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.schemas.companies.read",
    "crm.schemas.companies.write",
    "crm.lists.read",
    "crm.lists.write",
    "oauth",
];

/// The rolling burst limit: `max` requests per `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    pub max: u32,
    #[serde(with = "millis", rename = "interval_ms")]
    pub interval: Duration,
}

impl RateLimit {
    /// `max` requests per rolling ten seconds (HubSpot's `TEN_SECONDLY_ROLLING` policy).
    #[must_use]
    pub fn per_ten_seconds(max: u32) -> Self {
        Self {
            max,
            interval: Duration::from_secs(10),
        }
    }
}

/// What a faulty request gets instead of its normal answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Fault {
    /// An HTTP error status (502, 503, 504, 500, ...) with a HubSpot-style error body.
    Status { status: u16 },
    /// 429 with the `TEN_SECONDLY_ROLLING` body, as if the burst limit were hit.
    RateLimited,
    /// 429 with the `DAILY` body.
    DailyLimited,
    /// 423 Locked (HubSpot's answer to high-volume upserts).
    Locked,
    /// Wait this long, then answer 504: a client with a shorter timeout sees a timeout.
    Hang {
        #[serde(with = "millis", rename = "ms")]
        duration: Duration,
    },
    /// Send the status line and headers, then drop the connection before the body.
    Drop,
    /// The request is carried out (a write is written), then answered with `then` instead of
    /// its result: a write whose answer was lost (504 after the fact, a dropped connection, a
    /// hang the client gives up on).
    Applied { then: Box<Fault> },
    /// An error status with a HubSpot-style body and these headers, as a misbehaving server or
    /// proxy might send (`Retry-After: 1e300`, a day-long 423, absurd rate-limit headers).
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
    },
}

/// Requests `first ..= first + count - 1` (1-based, counted from when the plan was set, over API
/// requests only) get `fault`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledFault {
    pub first: u64,
    pub count: u64,
    pub fault: Fault,
}

/// Faults picked at random for each API request, reproducible from `seed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct RandomFaults {
    pub seed: u64,
    /// Probability of a 502/503/504.
    pub server_error: f64,
    /// Probability of a 429 `TEN_SECONDLY_ROLLING`.
    pub rate_limited: f64,
    /// Probability of a hang (see `hang`) answered with 504.
    pub timeout: f64,
    /// How long a random timeout hangs.
    #[serde(with = "millis", rename = "hang_ms")]
    pub hang: Duration,
}

/// Scheduled and random faults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct FaultPlan {
    pub scheduled: Vec<ScheduledFault>,
    pub random: Option<RandomFaults>,
}

impl FaultPlan {
    /// No faults.
    #[must_use]
    pub fn none() -> Self {
        Self::default()
    }

    /// Requests `first..=last` (1-based, from now) answer `status`.
    #[must_use]
    pub fn statuses(first: u64, last: u64, status: u16) -> Self {
        Self::default().then(first, last, Fault::Status { status })
    }

    /// The next `n` requests get 429 `TEN_SECONDLY_ROLLING`.
    #[must_use]
    pub fn rate_limit_burst(n: u64) -> Self {
        Self::default().then(1, n, Fault::RateLimited)
    }

    /// Adds: requests `first..=last` get `fault`.
    #[must_use]
    pub fn then(mut self, first: u64, last: u64, fault: Fault) -> Self {
        self.scheduled.push(ScheduledFault {
            first,
            count: (last + 1).saturating_sub(first),
            fault,
        });
        self
    }

    /// Adds random faults.
    #[must_use]
    pub fn with_random(mut self, random: RandomFaults) -> Self {
        self.random = Some(random);
        self
    }
}

/// Everything configurable about one sandbox instance.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    pub client_id: String,
    pub client_secret: String,
    /// Registered redirect URIs (exact match). Empty: any `http://localhost[:PORT]/...`.
    /// IP-address hosts are always refused.
    pub redirect_uris: Vec<String>,
    /// The app's required scopes: `authorize` refuses a `scope` parameter missing any of them.
    pub app_scopes: Vec<String>,
    /// Scopes the account does not grant even when asked (tokens come back without them).
    pub withheld_scopes: Vec<String>,
    /// `authorize` redirects with `error=access_denied`.
    pub deny_authorize: bool,
    pub access_token_ttl: Duration,
    /// How long an authorization code can be exchanged.
    pub auth_code_ttl: Duration,
    /// A refresh returns a new refresh token and the old one stops working.
    pub rotate_refresh_tokens: bool,
    /// Private-app tokens (`pat-...`) and their scopes. They never expire.
    pub static_tokens: Vec<(String, Vec<String>)>,
    pub portal_id: u64,
    /// Burst limit; `None` = unlimited.
    pub rate_limit: Option<RateLimit>,
    /// Requests per day (UTC); `None` = unlimited.
    pub daily_limit: Option<u64>,
    /// Search requests per second; `None` = unlimited.
    pub search_per_second: Option<u32>,
    /// Added before every API answer.
    pub latency: Duration,
    pub faults: FaultPlan,
    /// Seeds token and id randomness.
    pub seed: u64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            port: 0,
            client_id: "sandbox-client-id".into(),
            client_secret: "sandbox-client-secret".into(),
            redirect_uris: Vec::new(),
            app_scopes: DEFAULT_APP_SCOPES
                .iter()
                .map(|s| (*s).to_string())
                .collect(),
            withheld_scopes: Vec::new(),
            deny_authorize: false,
            access_token_ttl: Duration::from_secs(1800),
            auth_code_ttl: Duration::from_secs(60),
            rotate_refresh_tokens: true,
            static_tokens: Vec::new(),
            portal_id: 24_681_357,
            rate_limit: Some(RateLimit::per_ten_seconds(100)),
            daily_limit: Some(250_000),
            search_per_second: Some(5),
            latency: Duration::ZERO,
            faults: FaultPlan::default(),
            seed: 7,
        }
    }
}

impl SandboxConfig {
    /// No burst, daily or search limits: for tests that are not about limits.
    #[must_use]
    pub fn unlimited() -> Self {
        Self {
            rate_limit: None,
            daily_limit: None,
            search_per_second: None,
            ..Self::default()
        }
    }

    /// Adds a static token with every scope.
    #[must_use]
    pub fn with_static_token(mut self, token: &str) -> Self {
        self.static_tokens.push((
            token.to_string(),
            ALL_SCOPES.iter().map(|s| (*s).to_string()).collect(),
        ));
        self
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}
