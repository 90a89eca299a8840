//! OAuth 2 (authorize, token, token info, introspect, revoke) and bearer-token checks.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::config::ALL_SCOPES;
use super::errors::ApiError;
use super::state::{AccessToken, AuthCode, Inner, RefreshToken};
use super::Shared;

type Params = HashMap<String, String>;

const USER_ID: u64 = 7_654_321;
const APP_ID: u64 = 1_234_567;

/// An OAuth error in HubSpot's form (RFC 6749 fields plus the legacy `status`/`message`).
fn oauth_error(error: &str, status: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({
            "error": error,
            "error_description": message,
            "status": status,
            "message": message,
        })),
    )
        .into_response()
}

fn bad_refresh() -> Response {
    oauth_error(
        "invalid_grant",
        "BAD_REFRESH_TOKEN",
        "refresh token is invalid, expired or revoked",
    )
}

/// Percent-encodes a query value.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn redirect_with(uri: &str, pairs: &[(&str, &str)]) -> Response {
    let mut location = uri.to_string();
    let mut sep = if uri.contains('?') { '&' } else { '?' };
    for (k, v) in pairs {
        location.push(sep);
        location.push_str(k);
        location.push('=');
        location.push_str(&encode(v));
        sep = '&';
    }
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

fn error_page(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("Authorization failed: {message}\n"),
    )
        .into_response()
}

/// The host of an `http(s)://host[:port]/...` URI, without the port.
fn uri_host(uri: &str) -> Option<&str> {
    let rest = uri
        .strip_prefix("http://")
        .or_else(|| uri.strip_prefix("https://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.starts_with('[') {
        return Some(authority.split(']').next().unwrap_or(authority));
    }
    Some(authority.split(':').next().unwrap_or(authority))
}

fn redirect_problem(cfg_uris: &[String], uri: &str) -> Option<String> {
    let Some(host) = uri_host(uri) else {
        return Some(format!("redirect_uri \"{uri}\" is not an http(s) URL"));
    };
    if host.starts_with('[') || host.parse::<std::net::Ipv4Addr>().is_ok() {
        return Some(format!(
            "redirect_uri \"{uri}\" uses an IP address; use a host name such as localhost"
        ));
    }
    if cfg_uris.is_empty() {
        if host != "localhost" {
            return Some(format!(
                "redirect_uri \"{uri}\" does not match the app's redirect URLs (http://localhost:PORT/...)"
            ));
        }
    } else if !cfg_uris.iter().any(|u| u == uri) {
        return Some(format!(
            "redirect_uri \"{uri}\" does not match any of the app's redirect URLs"
        ));
    }
    None
}

fn split_scopes(s: Option<&String>) -> Vec<String> {
    s.map(|s| {
        s.split([' ', '+', ','])
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

/// `GET /oauth/authorize`: approves at once (or denies when configured) and redirects.
pub async fn authorize(State(shared): State<Arc<Shared>>, Query(q): Query<Params>) -> Response {
    let mut s = shared.lock();
    let client_id = q.get("client_id").map(String::as_str).unwrap_or("");
    if client_id != s.cfg.client_id {
        return error_page(&format!("unknown client_id \"{client_id}\""));
    }
    let Some(redirect_uri) = q.get("redirect_uri").cloned() else {
        return error_page("redirect_uri is required");
    };
    if let Some(problem) = redirect_problem(&s.cfg.redirect_uris, &redirect_uri) {
        return error_page(&problem);
    }
    let state = q.get("state").cloned();
    let with_state = |mut pairs: Vec<(&'static str, String)>| {
        if let Some(st) = &state {
            pairs.push(("state", st.clone()));
        }
        pairs
    };
    let send = |pairs: Vec<(&'static str, String)>| {
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        redirect_with(&redirect_uri, &refs)
    };
    if s.cfg.deny_authorize {
        return send(with_state(vec![
            ("error", "access_denied".into()),
            (
                "error_description",
                "The user denied access to the app".into(),
            ),
        ]));
    }
    let asked = split_scopes(q.get("scope"));
    let optional = split_scopes(q.get("optional_scope"));
    let missing: Vec<&String> = s
        .cfg
        .app_scopes
        .iter()
        .filter(|a| !asked.contains(a))
        .collect();
    let unknown: Vec<&String> = asked
        .iter()
        .filter(|a| !s.cfg.app_scopes.contains(a))
        .collect();
    if !missing.is_empty() || !unknown.is_empty() {
        let mut msg = String::new();
        if !missing.is_empty() {
            msg.push_str(&format!(
                "The scope parameter is missing scopes the app requires: {}. ",
                join(&missing)
            ));
        }
        if !unknown.is_empty() {
            msg.push_str(&format!(
                "The scope parameter asks for scopes the app does not require: {}. ",
                join(&unknown)
            ));
        }
        return send(with_state(vec![
            ("error", "invalid_scope".into()),
            ("error_description", msg.trim_end().to_string()),
        ]));
    }
    let withheld = s.cfg.withheld_scopes.clone();
    let mut granted: Vec<String> = asked
        .into_iter()
        .chain(
            optional
                .into_iter()
                .filter(|o| ALL_SCOPES.contains(&o.as_str())),
        )
        .filter(|x| !withheld.contains(x))
        .collect();
    granted.dedup();
    let code = format!("sbx-code-{}", s.random_token(32));
    let expires = Utc::now()
        + chrono::Duration::from_std(s.cfg.auth_code_ttl).unwrap_or(chrono::Duration::minutes(1));
    s.tokens.codes.insert(
        code.clone(),
        AuthCode {
            redirect_uri: redirect_uri.clone(),
            scopes: granted,
            expires,
        },
    );
    drop(s);
    send(with_state(vec![("code", code)]))
}

fn join(v: &[&String]) -> String {
    v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
}

/// `Some(error answer)` when the client id or secret is wrong.
fn check_client(s: &Inner, p: &Params) -> Option<Response> {
    if p.get("client_id") != Some(&s.cfg.client_id) {
        return Some(oauth_error(
            "invalid_client",
            "BAD_CLIENT_ID",
            "missing or unknown client id",
        ));
    }
    if p.get("client_secret") != Some(&s.cfg.client_secret) {
        return Some(oauth_error(
            "invalid_client",
            "BAD_CLIENT_SECRET",
            "missing or invalid client secret",
        ));
    }
    None
}

fn issue(s: &mut Inner, scopes: Vec<String>, refresh: String) -> Value {
    let access = format!("sbx-at-{}", s.random_token(48));
    let ttl = s.cfg.access_token_ttl;
    let expires =
        Utc::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::minutes(30));
    s.tokens.access.insert(
        access.clone(),
        AccessToken {
            scopes: scopes.clone(),
            expires,
            refresh: Some(refresh.clone()),
            user_id: USER_ID,
        },
    );
    json!({
        "token_type": "bearer",
        "token_use": "access_token",
        "access_token": access,
        "refresh_token": refresh,
        "expires_in": ttl.as_secs(),
        "hub_id": s.cfg.portal_id,
        "user_id": USER_ID,
        "scopes": scopes,
    })
}

fn new_refresh_token(s: &mut Inner) -> String {
    format!(
        "na1-{}-{}-{}-{}-{}",
        s.random_token(4).to_lowercase(),
        s.random_token(4).to_lowercase(),
        s.random_token(4).to_lowercase(),
        s.random_token(4).to_lowercase(),
        s.random_token(12).to_lowercase()
    )
}

/// `POST /oauth/v1/token`, `/oauth/v3/token`, `/oauth/2026-03/token`.
pub async fn token(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<Params>,
    Form(form): Form<Params>,
) -> Response {
    // v1 also takes client_secret and refresh_token in the query string; the body wins.
    let mut p = query;
    p.extend(form);
    let mut s = shared.lock();
    if let Some(r) = check_client(&s, &p) {
        return r;
    }
    match p.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let Some(code) = p.get("code") else {
                return oauth_error(
                    "invalid_grant",
                    "BAD_AUTH_CODE",
                    "missing or invalid auth code",
                );
            };
            // Single use: the code is gone whatever happens next.
            let Some(c) = s.tokens.codes.remove(code) else {
                return oauth_error(
                    "invalid_grant",
                    "BAD_AUTH_CODE",
                    "missing or invalid auth code",
                );
            };
            if c.expires < Utc::now() {
                return oauth_error("invalid_grant", "BAD_AUTH_CODE", "auth code expired");
            }
            if p.get("redirect_uri") != Some(&c.redirect_uri) {
                return oauth_error(
                    "invalid_grant",
                    "BAD_REDIRECT_URI",
                    "redirect_uri does not match the one used to authorize",
                );
            }
            let refresh = new_refresh_token(&mut s);
            s.tokens.refresh.insert(
                refresh.clone(),
                RefreshToken {
                    scopes: c.scopes.clone(),
                    user_id: USER_ID,
                },
            );
            Json(issue(&mut s, c.scopes, refresh)).into_response()
        }
        Some("refresh_token") => {
            let Some(old) = p.get("refresh_token").cloned() else {
                return bad_refresh();
            };
            let Some(rt) = s.tokens.refresh.get(&old).cloned() else {
                return bad_refresh();
            };
            let refresh = if s.cfg.rotate_refresh_tokens {
                s.tokens.refresh.remove(&old);
                let new = new_refresh_token(&mut s);
                s.tokens.refresh.insert(new.clone(), rt.clone());
                // Access tokens already issued stay valid until they expire.
                for a in s.tokens.access.values_mut() {
                    if a.refresh.as_deref() == Some(old.as_str()) {
                        a.refresh = Some(new.clone());
                    }
                }
                new
            } else {
                old
            };
            Json(issue(&mut s, rt.scopes, refresh)).into_response()
        }
        Some(other) => oauth_error(
            "unsupported_grant_type",
            "BAD_GRANT_TYPE",
            &format!("grant_type \"{other}\" is not supported"),
        ),
        None => oauth_error("invalid_request", "BAD_GRANT_TYPE", "missing grant_type"),
    }
}

fn hub_domain(s: &Inner) -> String {
    format!("sandbox-{}.hubspot.com", s.cfg.portal_id)
}

fn expires_in(at: DateTime<Utc>) -> i64 {
    (at - Utc::now()).num_seconds().max(0)
}

fn token_not_found() -> Response {
    ApiError::not_found("The token is invalid, expired or revoked").into_response()
}

/// `GET /oauth/v1/access-tokens/{token}`.
pub async fn access_token_info(
    State(shared): State<Arc<Shared>>,
    Path(token): Path<String>,
) -> Response {
    let s = shared.lock();
    match s.tokens.access.get(&token) {
        Some(a) if a.expires > Utc::now() => Json(json!({
            "token": token,
            "user": "sandbox-user@example.com",
            "hub_domain": hub_domain(&s),
            "scopes": a.scopes,
            "signed_access_token": {
                "expiresAt": a.expires.timestamp_millis(),
                "scopes": a.scopes.join(" "),
                "hubId": s.cfg.portal_id,
                "userId": a.user_id,
                "appId": APP_ID,
            },
            "hub_id": s.cfg.portal_id,
            "app_id": APP_ID,
            "expires_in": expires_in(a.expires),
            "user_id": a.user_id,
            "token_type": "access",
        }))
        .into_response(),
        _ => token_not_found(),
    }
}

/// `GET /oauth/v1/refresh-tokens/{token}`.
pub async fn refresh_token_info(
    State(shared): State<Arc<Shared>>,
    Path(token): Path<String>,
) -> Response {
    let s = shared.lock();
    match s.tokens.refresh.get(&token) {
        Some(r) => Json(json!({
            "token": token,
            "user": "sandbox-user@example.com",
            "hub_domain": hub_domain(&s),
            "scopes": r.scopes,
            "hub_id": s.cfg.portal_id,
            "client_id": s.cfg.client_id,
            "user_id": r.user_id,
            "token_type": "refresh",
        }))
        .into_response(),
        None => token_not_found(),
    }
}

/// Revokes a refresh token and every access token issued from it.
fn revoke(s: &mut Inner, token: &str) -> bool {
    if s.tokens.refresh.remove(token).is_none() {
        return false;
    }
    s.tokens
        .access
        .retain(|_, a| a.refresh.as_deref() != Some(token));
    true
}

/// `DELETE /oauth/v1/refresh-tokens/{token}`.
pub async fn delete_refresh_token(
    State(shared): State<Arc<Shared>>,
    Path(token): Path<String>,
) -> Response {
    let mut s = shared.lock();
    if revoke(&mut s, &token) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        token_not_found()
    }
}

/// `POST /oauth/v3/token/revoke` (form: `token`, `client_id`, `client_secret`).
pub async fn revoke_v3(State(shared): State<Arc<Shared>>, Form(p): Form<Params>) -> Response {
    let mut s = shared.lock();
    if let Some(r) = check_client(&s, &p) {
        return r;
    }
    let Some(token) = p.get("token") else {
        return oauth_error("invalid_request", "BAD_REFRESH_TOKEN", "missing token");
    };
    if !revoke(&mut s, token) {
        s.tokens.access.remove(token);
    }
    StatusCode::OK.into_response()
}

/// `POST /oauth/v3/token/introspect`.
pub async fn introspect(State(shared): State<Arc<Shared>>, Form(p): Form<Params>) -> Response {
    let s = shared.lock();
    if let Some(r) = check_client(&s, &p) {
        return r;
    }
    let token = p.get("token").cloned().unwrap_or_default();
    let base = |scopes: &[String], expires: i64, token_use: &str| {
        json!({
            "active": true,
            "token": token,
            "hub_id": s.cfg.portal_id,
            "user_id": USER_ID,
            "client_id": s.cfg.client_id,
            "app_id": APP_ID,
            "user": "sandbox-user@example.com",
            "hub_domain": hub_domain(&s),
            "scopes": scopes,
            "expires_in": expires,
            "token_use": token_use,
            "token_type": "Bearer",
            "is_private_distribution": false,
        })
    };
    if let Some(a) = s.tokens.access.get(&token) {
        if a.expires > Utc::now() {
            return Json(base(&a.scopes, expires_in(a.expires), "access_token")).into_response();
        }
    }
    if let Some(r) = s.tokens.refresh.get(&token) {
        return Json(base(&r.scopes, 0, "refresh_token")).into_response();
    }
    Json(json!({"active": false})).into_response()
}

/// Which scopes a call needs: any one of the alternatives, each needing all its scopes.
pub type Requirement = Vec<Vec<&'static str>>;

/// Who is calling.
pub struct Caller {
    /// A private-app token: the answers carry the daily rate-limit headers.
    pub private_app: bool,
}

/// Checks `Authorization: Bearer …`: known, not expired, with the scopes `need` asks.
pub fn check_bearer(
    s: &Inner,
    authorization: Option<&str>,
    need: &Requirement,
) -> Result<Caller, ApiError> {
    let Some(token) = authorization.and_then(|h| {
        h.strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("bearer "))
    }) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        ));
    };
    let token = token.trim();
    let (scopes, private_app) = if let Some(scopes) = s.tokens.statics.get(token) {
        (scopes, true)
    } else if let Some(a) = s.tokens.access.get(token) {
        let now = Utc::now();
        if a.expires <= now {
            let ago = (now - a.expires).num_seconds();
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "EXPIRED_AUTHENTICATION",
                format!("The OAuth token used to make this call expired {ago} second(s) ago."),
            )
            .with(
                "context",
                json!({"expire time": [a.expires.format("%a %b %d %H:%M:%S UTC %Y").to_string()]}),
            ));
        }
        (&a.scopes, false)
    } else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. The access token used to make this call is invalid or revoked.",
        ));
    };
    if need.is_empty()
        || need
            .iter()
            .any(|alt| alt.iter().all(|x| scopes.iter().any(|g| g == x)))
    {
        return Ok(Caller { private_app });
    }
    let required: Vec<&str> = need[0].clone();
    let missing: Vec<&str> = required
        .iter()
        .filter(|x| !scopes.iter().any(|g| g == *x))
        .copied()
        .collect();
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "MISSING_SCOPES",
        "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
    )
    .with(
        "errors",
        json!([{
            "message": format!("One or more of the following scopes are required: {}", missing.join(", ")),
            "context": {"requiredGranularScopes": required},
        }]),
    ))
}
