//! The one door for HTTP: base URL, auth, user agent, timeouts, limiter, retry, token refresh,
//! and HubSpot's error bodies turned into [`Error`]s.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, AUTHORIZATION, RETRY_AFTER, USER_AGENT};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::Mutex;

use super::auth::store::{Credentials, TokenStore};
use super::error::{ApiError, Error};
use super::limiter::Limiter;
use super::models::{decode, TokenResponse};
use super::paths::ApiPaths;
use super::retry::{self, Decision, Outcome, RetryPolicy};
use super::secret::{redact, Secret};
use super::ApiVersion;

/// Refresh an access token that has less than this left.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// Which limiter a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The 10-second burst limit.
    Standard,
    /// The search limit (5/s), exempt from the burst limit.
    Search,
    /// OAuth endpoints.
    None,
}

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    Empty,
    /// Serialized JSON.
    Json(Vec<u8>),
    /// `application/x-www-form-urlencoded` (OAuth). Values may be secrets.
    Form(Vec<(&'static str, FormValue)>),
}

/// A form value, secret or not.
#[derive(Debug, Clone)]
pub enum FormValue {
    Plain(String),
    Secret(Secret),
}

impl FormValue {
    fn expose(&self) -> &str {
        match self {
            FormValue::Plain(s) => s,
            FormValue::Secret(s) => s.expose(),
        }
    }
}

/// One HubSpot call.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Body,
    pub limit: Limit,
    /// What is being fetched, for decode errors: `contacts page`, `list`, ….
    pub what: &'static str,
    /// Retry after a timeout, a broken connection or a 5xx, when HubSpot may already have done
    /// the work. True for reads and idempotent writes; batch creates turn it off so a retry can
    /// never create a record twice (the caller checks what exists before trying again).
    pub retry_ambiguous: bool,
}

impl Request {
    #[must_use]
    pub fn new(method: Method, path: String, what: &'static str) -> Self {
        Self {
            method,
            path,
            query: Vec::new(),
            body: Body::Empty,
            limit: Limit::Standard,
            what,
            retry_ambiguous: true,
        }
    }

    /// Don't retry when the outcome is unknown (timeout, broken connection, 5xx): for writes
    /// that are not idempotent, such as batch create.
    #[must_use]
    pub fn no_ambiguous_retry(mut self) -> Self {
        self.retry_ambiguous = false;
        self
    }

    #[must_use]
    pub fn query(mut self, key: &str, value: impl Into<String>) -> Self {
        self.query.push((key.to_owned(), value.into()));
        self
    }

    /// A JSON body. Serializing our own request types can't fail; if it did, the body is `null`
    /// and HubSpot says what's wrong.
    #[must_use]
    pub fn json(mut self, body: &impl Serialize) -> Self {
        self.body = Body::Json(serde_json::to_vec(body).unwrap_or_else(|_| b"null".to_vec()));
        self
    }

    #[must_use]
    pub fn limit(mut self, limit: Limit) -> Self {
        self.limit = limit;
        self
    }
}

/// A successful answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    /// Decode the body, naming the JSON path of a mismatch.
    pub fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T, Error> {
        decode(what, &self.body)
    }
}

/// How the client authenticates.
#[derive(Debug)]
pub enum Auth {
    /// OAuth endpoints only.
    None,
    /// `HUBSPOT_ACCESS_TOKEN` (a private-app or service key token): never refreshed.
    Static(Secret),
    /// Stored OAuth credentials, refreshed before they expire and saved back to their store.
    OAuth {
        creds: Credentials,
        store: Arc<dyn TokenStore>,
    },
}

#[derive(Debug)]
enum AuthState {
    None,
    Static(Secret),
    OAuth(Mutex<OAuthSession>),
}

#[derive(Debug)]
struct OAuthSession {
    creds: Credentials,
    store: Arc<dyn TokenStore>,
}

/// The HubSpot client. Cheap to share by reference; the limiters are per process.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    paths: ApiPaths,
    auth: AuthState,
    limiter: Limiter,
    search_limiter: Limiter,
    retry: RetryPolicy,
    /// Time this client has spent waiting to retry (milliseconds), against [`WAIT_BUDGET`].
    waited_ms: std::sync::atomic::AtomicU64,
}

/// The most a run waits, in all, for HubSpot to become available again; past it the run ends
/// with exit 75 (the next one resumes) instead of holding the lock for hours.
pub const WAIT_BUDGET: Duration = Duration::from_secs(15 * 60);

/// Why an API base can't be used: malformed, or plain HTTP to a host that is not this machine
/// (the token would travel in clear).
pub fn check_base(base: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(base.trim()).map_err(|e| {
        format!("`{base}` is not a URL ({e}); it must look like https://api.hubapi.com")
    })?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err(format!(
            "`{base}` is plain http to a host other than this machine; the token would travel in clear: use https://"
        )),
        other => Err(format!(
            "`{base}`: the scheme must be https:// (http:// only for a loopback address), not `{other}`"
        )),
    }
}

impl Client {
    /// A client for `api_base` (e.g. `https://api.hubapi.com`) and a path style.
    pub fn new(api_base: &str, version: ApiVersion, auth: Auth) -> Result<Self, Error> {
        check_base(api_base).map_err(Error::BadBase)?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("hubsync/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Transport {
                base: api_base.to_owned(),
                message: e.without_url().to_string(),
            })?;
        let auth = match auth {
            Auth::None => AuthState::None,
            Auth::Static(t) => AuthState::Static(t),
            Auth::OAuth { creds, store } => {
                AuthState::OAuth(Mutex::new(OAuthSession { creds, store }))
            }
        };
        Ok(Self {
            http,
            base: api_base.trim_end_matches('/').to_owned(),
            paths: ApiPaths::new(version),
            auth,
            limiter: Limiter::ten_secondly(),
            search_limiter: Limiter::search(),
            retry: RetryPolicy::default(),
            waited_ms: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Count a wait against the run's budget: `false` once the budget is spent.
    fn may_wait(&self, d: Duration) -> bool {
        use std::sync::atomic::Ordering;
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let before = self.waited_ms.fetch_add(ms, Ordering::Relaxed);
        before.saturating_add(ms) <= u64::try_from(WAIT_BUDGET.as_millis()).unwrap_or(u64::MAX)
    }

    fn out_of_patience(&self) -> Error {
        Error::try_later(format!(
            "HubSpot at {} kept answering \"wait\" or failing for over {} minutes in this run; the next run resumes",
            self.base,
            WAIT_BUDGET.as_secs() / 60
        ))
    }

    /// Replace the retry policy (tests and benchmarks).
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The path builder for this client's API version.
    #[must_use]
    pub fn paths(&self) -> ApiPaths {
        self.paths
    }

    #[must_use]
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Send an authenticated request: a fresh token, the limiter, retries, one refresh on 401.
    pub async fn send(&self, req: &Request) -> Result<Response, Error> {
        let token = self.access_token(None).await?;
        match self.execute(req, token.as_ref()).await {
            Err(Error::Api(e)) if e.status == 401 => {
                if matches!(self.auth, AuthState::OAuth(_)) {
                    tracing::info!("HubSpot answered 401; refreshing the access token once");
                    let token = self.access_token(token.as_ref()).await?;
                    match self.execute(req, token.as_ref()).await {
                        Err(Error::Api(e)) if e.status == 401 => Err(self.unauthorized(&e)),
                        other => other,
                    }
                } else {
                    Err(self.unauthorized(&e))
                }
            }
            other => other,
        }
    }

    /// Send and decode the answer as `T`.
    pub async fn send_json<T: DeserializeOwned>(&self, req: &Request) -> Result<T, Error> {
        self.send(req).await?.json(req.what)
    }

    fn unauthorized(&self, e: &ApiError) -> Error {
        match self.auth {
            AuthState::Static(_) => Error::auth(format!(
                "HubSpot refused HUBSPOT_ACCESS_TOKEN ({}); check the token, or unset it and run `hubsync connect`",
                e.message
            )),
            _ => Error::auth(format!(
                "HubSpot refused the access token ({}); run `hubsync connect` to connect again",
                e.message
            )),
        }
    }

    /// The bearer token to use. `stale` is a token HubSpot just refused: refresh unless another
    /// task already did.
    async fn access_token(&self, stale: Option<&Secret>) -> Result<Option<Secret>, Error> {
        match &self.auth {
            AuthState::None => Ok(None),
            AuthState::Static(t) => Ok(Some(t.clone())),
            AuthState::OAuth(session) => {
                let mut s = session.lock().await;
                let left = s.creds.expires_at - unix_now();
                let refused = stale.is_some_and(|t| *t == s.creds.access_token);
                let margin = i64::try_from(REFRESH_MARGIN.as_secs()).unwrap_or(300);
                if left > margin && !refused {
                    return Ok(Some(s.creds.access_token.clone()));
                }
                tracing::info!(seconds_left = left, "refreshing the HubSpot access token");
                let fresh = match self.refresh(&s.creds).await {
                    Ok(f) => f,
                    Err(e) if e.stops() => {
                        // Another hubsync process may have refreshed (and rotated) the tokens
                        // since this one read them: take the stored ones when they are newer.
                        let store = Arc::clone(&s.store);
                        let stored = tokio::task::spawn_blocking(move || store.load())
                            .await
                            .ok()
                            .and_then(Result::ok)
                            .flatten();
                        match stored {
                            Some(other) if other.refresh_token != s.creds.refresh_token => {
                                tracing::info!(
                                    "another hubsync process refreshed the tokens; using them"
                                );
                                s.creds = other;
                                let left = s.creds.expires_at - unix_now();
                                if left > margin {
                                    return Ok(Some(s.creds.access_token.clone()));
                                }
                                self.refresh(&s.creds).await?
                            }
                            _ => return Err(e),
                        }
                    }
                    Err(e) => return Err(e),
                };
                let mut creds = s.creds.clone();
                creds.access_token = fresh.access_token;
                // Always keep the refresh token HubSpot returns: it may have rotated.
                if let Some(r) = fresh.refresh_token.filter(|r| !r.is_empty()) {
                    creds.refresh_token = r;
                }
                creds.expires_at = unix_now() + i64::try_from(fresh.expires_in).unwrap_or(1800);
                if let Some(h) = fresh.hub_id {
                    creds.hub_id = Some(h);
                }
                // The old refresh token may be dead already: keep the new one in memory
                // whatever happens, and try hard to store it.
                s.creds = creds.clone();
                let mut last_error = None;
                for wait_ms in [0u64, 200, 1_000, 3_000] {
                    if wait_ms > 0 {
                        tokio::time::sleep(Duration::from_millis(wait_ms)).await;
                    }
                    let store = Arc::clone(&s.store);
                    let to_save = creds.clone();
                    match tokio::task::spawn_blocking(move || store.save(&to_save)).await {
                        Ok(Ok(())) => {
                            last_error = None;
                            break;
                        }
                        Ok(Err(e)) => last_error = Some(e.to_string()),
                        Err(e) => last_error = Some(e.to_string()),
                    }
                }
                if let Some(e) = last_error {
                    // This run goes on with the tokens in memory; the next one may need
                    // `hubsync connect` if HubSpot rotated the refresh token.
                    tracing::error!(
                        error = %e,
                        "HubSpot issued new tokens but they could not be stored; this run goes on, the next may need `hubsync connect`"
                    );
                }
                Ok(Some(s.creds.access_token.clone()))
            }
        }
    }

    async fn refresh(&self, creds: &Credentials) -> Result<TokenResponse, Error> {
        let req = Request {
            method: Method::POST,
            path: self.paths.oauth_token(),
            query: Vec::new(),
            body: Body::Form(vec![
                ("grant_type", FormValue::Plain("refresh_token".into())),
                ("client_id", FormValue::Plain(creds.client_id.clone())),
                (
                    "client_secret",
                    FormValue::Secret(creds.client_secret.clone()),
                ),
                (
                    "refresh_token",
                    FormValue::Secret(creds.refresh_token.clone()),
                ),
            ]),
            limit: Limit::None,
            what: "token refresh",
            retry_ambiguous: true,
        };
        match self.execute(&req, None).await {
            Ok(r) => r.json("token refresh"),
            Err(Error::Api(e)) if (400..500).contains(&e.status) => Err(Error::auth(format!(
                "HubSpot refused the stored refresh token ({}): it was revoked or the app \
                 was uninstalled; run `hubsync connect` to connect again",
                if e.message.is_empty() {
                    "invalid grant"
                } else {
                    e.message.as_str()
                }
            ))),
            Err(e) => Err(e),
        }
    }

    /// Send without the 401 handling: limiter, retries, error mapping. `bearer` is set as the
    /// `Authorization` header when given.
    pub async fn execute(&self, req: &Request, bearer: Option<&Secret>) -> Result<Response, Error> {
        let log_path = loggable_path(&req.path);
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            match req.limit {
                Limit::Standard => self.limiter.acquire().await,
                Limit::Search => self.search_limiter.acquire().await,
                Limit::None => {}
            }
            let started = Instant::now();
            let result = self.build(req, bearer).send().await;
            let outcome_err = match result {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    match read_capped(resp).await {
                        Ok(body) => {
                            tracing::debug!(
                                method = %req.method,
                                path = %log_path,
                                status,
                                attempt,
                                elapsed_ms = started.elapsed().as_millis(),
                                "HubSpot request"
                            );
                            if req.limit == Limit::Standard {
                                self.limiter.observe(&headers).await;
                            }
                            if (200..300).contains(&status) {
                                return Ok(Response {
                                    status,
                                    headers,
                                    body,
                                });
                            }
                            let mut api = ApiError::from_body(
                                status,
                                &body,
                                headers
                                    .get("x-hubspot-correlation-id")
                                    .and_then(|v| v.to_str().ok()),
                            );
                            api.message = self.scrub(&api.message, bearer, req);
                            let retry_after = retry::parse_retry_after(
                                headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()),
                            );
                            let outcome = Outcome::Status {
                                status,
                                retry_after,
                                policy: api.policy_name.as_deref(),
                                message: &api.message,
                            };
                            let decision = if !req.retry_ambiguous && status >= 500 {
                                Decision::Stop
                            } else {
                                self.retry.decide(&outcome, attempt, jitter())
                            };
                            // A 429 that doesn't say how long: wait only until our own oldest
                            // request leaves the window, not a whole window. The limiter holds
                            // that pause, and the retry's `acquire` waits it out (less, when a
                            // later answer's headers show budget left).
                            let mut limiter_waits = false;
                            let decision = match decision {
                                Decision::Wait(d) if status == 429 && retry_after.is_none() => {
                                    let ours = match req.limit {
                                        Limit::Standard => Some(self.limiter.refused().await),
                                        Limit::Search => Some(self.search_limiter.refused().await),
                                        Limit::None => None,
                                    };
                                    limiter_waits = ours.is_some();
                                    Decision::Wait(ours.map_or(d, |o| o.min(d)))
                                }
                                other => other,
                            };
                            match decision {
                                Decision::Wait(d) if !self.may_wait(d) => {
                                    return Err(self.out_of_patience());
                                }
                                Decision::Wait(d) => {
                                    tracing::warn!(
                                        status,
                                        path = %log_path,
                                        attempt,
                                        wait_ms = d.as_millis(),
                                        "HubSpot asked to slow down or is unavailable; retrying"
                                    );
                                    if !limiter_waits {
                                        tokio::time::sleep(d).await;
                                    }
                                    continue;
                                }
                                Decision::Stop => return Err(final_error(api, attempt)),
                            }
                        }
                        Err(BodyError::TooLarge) => {
                            return Err(Error::Decode {
                                what: "answer".into(),
                                path: log_path.clone(),
                                message: format!(
                                    "the answer is larger than {} MiB; hubsync does not read it",
                                    MAX_BODY >> 20
                                ),
                            })
                        }
                        Err(BodyError::Read(e)) => e,
                    }
                }
                Err(e) => e,
            };
            let e = outcome_err.without_url();
            if e.is_builder() {
                return Err(Error::Transport {
                    base: self.base.clone(),
                    message: e.to_string(),
                });
            }
            if unresolvable(&e) {
                // A host that does not exist won't exist on the next run either.
                return Err(Error::Transport {
                    base: self.base.clone(),
                    message: format!(
                        "the host `{}` does not resolve (no such host); check --api-base (or HUBSYNC_API_BASE)",
                        self.host()
                    ),
                });
            }
            let outcome = if e.is_timeout() {
                Outcome::Timeout
            } else {
                Outcome::Connect
            };
            let decision = if req.retry_ambiguous {
                self.retry.decide(&outcome, attempt, jitter())
            } else {
                Decision::Stop
            };
            match decision {
                Decision::Wait(d) if !self.may_wait(d) => return Err(self.out_of_patience()),
                Decision::Wait(d) => {
                    tracing::warn!(path = %log_path, attempt, wait_ms = d.as_millis(), error = %e, "HubSpot request failed; retrying");
                    tokio::time::sleep(d).await;
                }
                Decision::Stop => {
                    return Err(Error::try_later(format!(
                        "HubSpot at {} could not be reached after {attempt} attempts ({e}); \
                         check the network, the next run resumes",
                        self.base
                    )))
                }
            }
        }
    }

    fn host(&self) -> String {
        url::Url::parse(&self.base)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| self.base.clone())
    }

    fn build(&self, req: &Request, bearer: Option<&Secret>) -> reqwest::RequestBuilder {
        let url = format!("{}{}", self.base, req.path);
        let mut rb = self
            .http
            .request(req.method.clone(), url)
            .header(USER_AGENT, concat!("hubsync/", env!("CARGO_PKG_VERSION")));
        if !req.query.is_empty() {
            rb = rb.query(&req.query);
        }
        if let Some(t) = bearer {
            let mut v = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", t.expose()))
                .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static("Bearer invalid"));
            v.set_sensitive(true);
            rb = rb.header(AUTHORIZATION, v);
        }
        match &req.body {
            Body::Empty => rb,
            Body::Json(v) => rb
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(v.clone()),
            Body::Form(fields) => {
                let pairs: Vec<(&str, &str)> =
                    fields.iter().map(|(k, v)| (*k, v.expose())).collect();
                rb.form(&pairs)
            }
        }
    }

    /// Remove any secret of this request from a message HubSpot sent back.
    fn scrub(&self, text: &str, bearer: Option<&Secret>, req: &Request) -> String {
        let mut secrets: Vec<&Secret> = bearer.into_iter().collect();
        if let Body::Form(fields) = &req.body {
            secrets.extend(fields.iter().filter_map(|(_, v)| match v {
                FormValue::Secret(s) => Some(s),
                FormValue::Plain(_) => None,
            }));
        }
        let mut out = redact(text, &secrets);
        // Tokens also travel in a few OAuth paths.
        if let Some(tail) = secret_path_tail(&req.path) {
            if tail.len() >= 6 {
                out = out.replace(tail, "***");
            }
        }
        out
    }
}

/// The error for a non-success answer that is not retried (any more).
fn final_error(api: ApiError, attempts: u32) -> Error {
    let policy = api.policy_name.clone();
    match api.status {
        429 if retry::is_daily(policy.as_deref(), &api.message) => Error::try_later(format!(
            "HubSpot's daily API limit is reached ({}); the next run after the limit resets \
             (midnight in the account's time zone) continues where this one stopped",
            api.message
        )),
        429 => Error::try_later(format!(
            "HubSpot kept answering 429 ({}) after {attempts} attempts; try again later, the \
             next run resumes",
            api.message
        )),
        423 | 477 | 502 | 503 | 504 | 521 | 523 | 524 => Error::try_later(format!(
            "HubSpot is unavailable ({api}) after {attempts} attempts; try again later, the next \
             run resumes"
        )),
        403 if api.category.as_deref() == Some("MISSING_SCOPES") => {
            let scopes = api.missing_scopes();
            Error::auth(if scopes.is_empty() {
                format!("HubSpot refused the call: {}; run `hubsync connect` and grant every scope it asks for", api.message)
            } else {
                format!(
                    "the HubSpot connection is missing the scopes {}; run `hubsync connect` and grant them",
                    scopes.join(", ")
                )
            })
        }
        _ => Error::Api(Box::new(api)),
    }
}

/// The request path as logged: tokens in OAuth paths replaced with `***`.
fn loggable_path(path: &str) -> String {
    match secret_path_tail(path) {
        Some(tail) => format!("{}***", &path[..path.len() - tail.len()]),
        None => path.to_owned(),
    }
}

fn secret_path_tail(path: &str) -> Option<&str> {
    ["/oauth/v1/access-tokens/", "/oauth/v1/refresh-tokens/"]
        .iter()
        .find_map(|p| path.strip_prefix(p))
}

/// Seconds since the Unix epoch.
#[must_use]
pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn jitter() -> f64 {
    let mut b = [0u8; 4];
    if getrandom::getrandom(&mut b).is_err() {
        return 0.5;
    }
    f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX)
}

/// The largest answer read (HubSpot's pages are a few MiB at most); a larger one is refused
/// rather than read into memory.
const MAX_BODY: usize = 32 << 20;

enum BodyError {
    TooLarge,
    Read(reqwest::Error),
}

/// The answer's body, at most [`MAX_BODY`] bytes.
async fn read_capped(mut resp: reqwest::Response) -> Result<Vec<u8>, BodyError> {
    if resp
        .content_length()
        .is_some_and(|n| usize::try_from(n).map_or(true, |n| n > MAX_BODY))
    {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Read)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Whether a request failed because its host name does not exist (a definite answer, not a
/// resolver that is down or slow: those are retried).
fn unresolvable(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        let text = err.to_string().to_ascii_lowercase();
        let definite = text.contains("name or service not known")
            || text.contains("nodename nor servname")
            || text.contains("no address associated")
            || text.contains("no such host");
        if definite {
            return true;
        }
        source = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_paths_are_not_logged() {
        assert_eq!(
            loggable_path("/oauth/v1/access-tokens/abc.def"),
            "/oauth/v1/access-tokens/***"
        );
        assert_eq!(loggable_path("/crm/v3/lists/1"), "/crm/v3/lists/1");
    }

    #[test]
    fn daily_limit_is_try_later() {
        let api = ApiError::from_body(
            429,
            br#"{"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT","policyName":"DAILY"}"#,
            None,
        );
        let e = final_error(api, 1);
        assert!(matches!(e, Error::TryLater(_)), "{e:?}");
    }

    #[test]
    fn missing_scopes_is_auth_and_names_them() {
        let api = ApiError::from_body(
            403,
            br#"{"category":"MISSING_SCOPES","message":"no","errors":[{"message":"x","context":{"requiredGranularScopes":["crm.lists.write"]}}]}"#,
            None,
        );
        let e = final_error(api, 1);
        assert!(matches!(e, Error::Auth(_)));
        assert!(e.to_string().contains("crm.lists.write"));
    }
}
