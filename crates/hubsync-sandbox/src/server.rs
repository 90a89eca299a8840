//! The router: both path styles, the gate every API call passes (faults, auth, limits, the
//! request log) and the `/__sandbox/...` controls.

use crate::extract::Input;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{self, Requirement};
use super::config::{Fault, FaultPlan, RateLimit, ALL_SCOPES};
use super::errors::{parse, ApiError, ApiResult};
use super::limits::{self, RateHeaders};
use super::lists;
use super::objects::{self, parse_id};
use super::state::ObjectType;
use super::{associations, properties, search, LoggedRequest, Shared};

/// Every route the sandbox serves.
pub fn router(shared: Arc<Shared>) -> Router {
    let mut api = Router::new();
    for base in ["/crm/v3/objects", "/crm/objects/2026-03"] {
        api = api
            .route(
                &format!("{base}/{{object}}"),
                get(objects::list).post(objects::create),
            )
            .route(
                &format!("{base}/{{object}}/{{id}}"),
                get(objects::get)
                    .patch(objects::patch)
                    .delete(objects::delete),
            )
            .route(&format!("{base}/{{object}}/search"), post(search::search))
            .route(
                &format!("{base}/{{object}}/batch/read"),
                post(objects::batch_read),
            )
            .route(
                &format!("{base}/{{object}}/batch/create"),
                post(objects::batch_create),
            )
            .route(
                &format!("{base}/{{object}}/batch/update"),
                post(objects::batch_update),
            )
            .route(
                &format!("{base}/{{object}}/batch/upsert"),
                post(objects::batch_upsert),
            )
            .route(
                &format!("{base}/{{object}}/batch/archive"),
                post(objects::batch_archive),
            );
    }
    for base in ["/crm/v4/objects", "/crm/objects/2026-03"] {
        api = api
            .route(
                &format!("{base}/{{from}}/{{id}}/associations/default/{{to}}/{{to_id}}"),
                put(associations::associate_default),
            )
            .route(
                &format!("{base}/{{from}}/{{id}}/associations/{{to}}"),
                get(associations::read_one),
            );
    }
    for base in ["/crm/v4/associations", "/crm/associations/2026-03"] {
        api = api
            .route(
                &format!("{base}/{{from}}/{{to}}/batch/associate/default"),
                post(associations::batch_associate_default),
            )
            .route(
                &format!("{base}/{{from}}/{{to}}/batch/read"),
                post(associations::batch_read),
            );
    }
    for base in ["/crm/v3/properties", "/crm/properties/2026-03"] {
        api = api
            .route(
                &format!("{base}/{{object}}"),
                get(properties::api::list).post(properties::api::create),
            )
            .route(
                &format!("{base}/{{object}}/groups"),
                get(properties::api::list_groups).post(properties::api::create_group),
            )
            .route(
                &format!("{base}/{{object}}/{{name}}"),
                get(properties::api::get),
            );
    }
    api = api
        .route("/crm/v3/lists/search", post(lists::search_v3))
        .route("/crm/lists/2026-03/search", post(lists::search_dated));
    for base in ["/crm/v3/lists", "/crm/lists/2026-03"] {
        api = api
            .route(base, post(lists::create))
            .route(&format!("{base}/{{id}}"), get(lists::get))
            .route(
                &format!("{base}/object-type-id/{{object_type_id}}/name/{{name}}"),
                get(lists::get_by_name),
            )
            .route(
                &format!("{base}/{{id}}/memberships"),
                get(lists::memberships),
            )
            .route(&format!("{base}/{{id}}/memberships/add"), put(lists::add))
            .route(
                &format!("{base}/{{id}}/memberships/remove"),
                put(lists::remove),
            )
            .route(
                &format!("{base}/{{id}}/memberships/add-and-remove"),
                put(lists::add_and_remove),
            );
    }
    let api = api
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(shared.clone(), api_gate));

    let mut oauth = Router::new()
        .route("/oauth/authorize", get(auth::authorize))
        .route("/oauth/{hub}/authorize", get(auth::authorize));
    for v in ["v1", "v3", "2026-03"] {
        oauth = oauth
            .route(&format!("/oauth/{v}/token"), post(auth::token))
            .route(
                &format!("/oauth/{v}/token/introspect"),
                post(auth::introspect),
            )
            .route(&format!("/oauth/{v}/token/revoke"), post(auth::revoke_v3))
            .route(
                &format!("/oauth/{v}/access-tokens/{{token}}"),
                get(auth::access_token_info),
            )
            .route(
                &format!("/oauth/{v}/refresh-tokens/{{token}}"),
                get(auth::refresh_token_info).delete(auth::delete_refresh_token),
            );
    }
    let oauth = oauth.layer(middleware::from_fn_with_state(shared.clone(), log_only));

    let control = Router::new()
        .route("/__sandbox/state", get(c_state))
        .route(
            "/__sandbox/requests",
            get(c_requests).delete(c_clear_requests),
        )
        .route("/__sandbox/faults", post(c_faults))
        .route("/__sandbox/rate-limit", post(c_rate_limit))
        .route("/__sandbox/daily-limit", post(c_daily_limit))
        .route("/__sandbox/expire-access-tokens", post(c_expire))
        .route("/__sandbox/revoke-refresh-tokens", post(c_revoke))
        .route("/__sandbox/static-tokens", post(c_static_token))
        .route("/__sandbox/seed", post(c_seed))
        .route("/__sandbox/records/{object}/{id}", post(c_edit))
        .route("/__sandbox/records/{object}/{id}", delete(c_archive))
        .route("/__sandbox/merge/{object}", post(c_merge))
        .route("/__sandbox/lists", post(c_create_list));

    let inner = Router::new()
        .merge(api)
        .merge(oauth)
        .merge(control)
        .with_state(shared);
    // HubSpot routes a path with a trailing slash (`POST /crm/v3/lists/`, as the official SDK
    // sends it) like the path without it.
    Router::new().fallback_service(tower::service_fn(move |mut req: Request| {
        let inner = inner.clone();
        async move {
            let path = req.uri().path();
            if path.len() > 1 && path.ends_with('/') {
                let trimmed = path.trim_end_matches('/');
                let rest = req
                    .uri()
                    .query()
                    .map_or_else(String::new, |q| format!("?{q}"));
                if let Ok(uri) = format!("{trimmed}{rest}").parse() {
                    *req.uri_mut() = uri;
                }
            }
            tower::ServiceExt::oneshot(inner, req).await
        }
    }))
}

async fn not_found(req: Request) -> ApiError {
    ApiError::not_found(format!("No endpoint {} {}", req.method(), req.uri().path()))
}

/// The scopes a call needs, from its method and path.
fn requirement(method: &Method, path: &str) -> Requirement {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let objects: Vec<ObjectType> = segments
        .iter()
        .filter_map(|s| ObjectType::parse(s))
        .collect();
    let read_call = *method == Method::GET
        || path.ends_with("/batch/read")
        || (path.ends_with("/search") && segments.contains(&"lists"))
        || (path.ends_with("/search") && !objects.is_empty());
    let named = |o: ObjectType, group: &str, access: &str| -> &'static str {
        let want = format!("crm.{group}.{}.{access}", o.name());
        ALL_SCOPES
            .iter()
            .find(|s| **s == want)
            .copied()
            .unwrap_or("crm.unknown")
    };
    if segments.contains(&"lists") {
        return if read_call {
            vec![vec!["crm.lists.read"]]
        } else {
            vec![vec!["crm.lists.read", "crm.lists.write"]]
        };
    }
    if segments.contains(&"properties") {
        let Some(&o) = objects.first() else {
            return vec![];
        };
        return if *method == Method::GET {
            vec![
                vec![named(o, "objects", "read")],
                vec![named(o, "schemas", "read")],
            ]
        } else {
            vec![vec![named(o, "schemas", "write")]]
        };
    }
    let access = if read_call { "read" } else { "write" };
    let mut all: Vec<&'static str> = Vec::new();
    for o in objects {
        let s = named(o, "objects", access);
        if !all.contains(&s) {
            all.push(s);
        }
    }
    if all.is_empty() {
        vec![]
    } else {
        vec![all]
    }
}

fn log(shared: &Shared, method: &Method, path: &str, query: Option<&str>, status: StatusCode) {
    let mut s = shared.lock();
    s.log.push(LoggedRequest {
        method: method.to_string(),
        path: path.to_string(),
        query: query.map(str::to_string),
        status: status.as_u16(),
        at: Utc::now(),
    });
}

async fn log_only(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let fault = if method == Method::POST && path.ends_with("/token") {
        shared.lock().limits.token_faults.pop_front()
    } else {
        None
    };
    let resp = match fault {
        Some(Fault::Applied { then }) => lose_answer(next.run(req).await, *then).await,
        Some(f) => fault_response(f).await,
        None => next.run(req).await,
    };
    log(&shared, &method, &path, query.as_deref(), resp.status());
    resp
}

/// A body that fails at once: the client gets the status line and headers, then a broken
/// connection.
pub(crate) struct BrokenBody;

impl axum::body::HttpBody for BrokenBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected fault: connection dropped",
        ))))
    }
}

fn fault_response(
    fault: Fault,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>> {
    Box::pin(fault_answer(fault))
}

async fn fault_answer(fault: Fault) -> Response {
    match fault {
        Fault::Status { status } => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            ApiError::new(
                code,
                "SERVICE_UNAVAILABLE",
                format!("injected fault: HubSpot answered {status}"),
            )
            .into_response()
        }
        Fault::RateLimited => limits::ten_secondly().into_response(),
        Fault::DailyLimited => limits::daily().into_response(),
        Fault::Locked => ApiError::new(
            StatusCode::LOCKED,
            "LOCKED",
            "Too many concurrent upserts; wait at least 2 seconds and retry.",
        )
        .into_response(),
        Fault::Hang { duration } => {
            tokio::time::sleep(duration).await;
            ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "GATEWAY_TIMEOUT",
                "injected fault: the request timed out",
            )
            .into_response()
        }
        Fault::Drop => {
            let mut r = Response::new(Body::new(BrokenBody));
            *r.status_mut() = StatusCode::OK;
            r
        }
        Fault::Applied { then } => fault_response(*then).await,
        Fault::Answer { status, headers } => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            let mut r = ApiError::new(
                code,
                "SERVICE_UNAVAILABLE",
                format!("injected fault: HubSpot answered {status}"),
            )
            .into_response();
            for (k, v) in headers {
                if let (Ok(k), Ok(v)) = (
                    HeaderName::from_bytes(k.as_bytes()),
                    HeaderValue::from_str(&v),
                ) {
                    r.headers_mut().insert(k, v);
                }
            }
            r
        }
    }
}

fn add_headers(resp: &mut Response, headers: &RateHeaders, private_app: bool) {
    for (k, v) in headers.pairs(private_app) {
        if let Ok(v) = HeaderValue::from_str(&v) {
            resp.headers_mut().insert(HeaderName::from_static(k), v);
        }
    }
}

/// Every `/crm/...` call: latency, faults, bearer token and scopes, limits, then the handler.
async fn api_gate(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let resp = gate_inner(&shared, req, next, &method, &path).await;
    log(&shared, &method, &path, query.as_deref(), resp.status());
    resp
}

async fn gate_inner(
    shared: &Shared,
    req: Request,
    next: Next,
    method: &Method,
    path: &str,
) -> Response {
    let (latency, fault) = {
        let mut s = shared.lock();
        (s.cfg.latency, s.limits.next_fault())
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let (fault, after) = match fault {
        Some(Fault::Applied { then }) => (None, Some(*then)),
        f => (f, None),
    };
    if let Some(f) = fault {
        return fault_response(f).await;
    }
    let is_search = path.ends_with("/search") && path.contains("/objects/");
    let need = requirement(method, path);
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let admitted = {
        let mut s = shared.lock();
        match auth::check_bearer(&s, authorization.as_deref(), &need) {
            Err(e) => return e.into_response(),
            Ok(caller) => (caller.private_app, s.limits.admit(is_search)),
        }
    };
    let (private_app, (headers, refused)) = admitted;
    let mut r = match refused {
        Some(e) => e.into_response(),
        None => next.run(req).await,
    };
    add_headers(&mut r, &headers, private_app);
    match after {
        Some(f) => lose_answer(r, f).await,
        None => r,
    }
}

/// `Fault::Applied`: a request the handler carried out gets `then` instead of its answer; one
/// it refused (nothing applied) keeps its refusal.
async fn lose_answer(r: Response, then: Fault) -> Response {
    if r.status().is_success() {
        fault_response(then).await
    } else {
        r
    }
}

// ---- controls -------------------------------------------------------------------------------

async fn c_state(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(shared.lock().dump())
}

async fn c_requests(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let s = shared.lock();
    Json(serde_json::to_value(&s.log).unwrap_or(Value::Null))
}

async fn c_clear_requests(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.lock().log.clear();
    StatusCode::NO_CONTENT
}

async fn c_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> ApiResult<StatusCode> {
    let plan: FaultPlan = parse(&body)?;
    shared.lock().limits.set_faults(plan);
    Ok(StatusCode::NO_CONTENT)
}

async fn c_rate_limit(State(shared): State<Arc<Shared>>, body: Bytes) -> ApiResult<StatusCode> {
    let rate: Option<RateLimit> = parse(&body)?;
    shared.lock().limits.set_rate_limit(rate);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub(crate) struct DailyLimit {
    limit: Option<u64>,
}

async fn c_daily_limit(State(shared): State<Arc<Shared>>, body: Bytes) -> ApiResult<StatusCode> {
    let d: DailyLimit = parse(&body)?;
    shared.lock().limits.set_daily_limit(d.limit);
    Ok(StatusCode::NO_CONTENT)
}

async fn c_expire(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.lock().expire_access_tokens();
    StatusCode::NO_CONTENT
}

async fn c_revoke(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.lock().revoke_refresh_tokens();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
pub(crate) struct StaticToken {
    token: String,
    #[serde(default)]
    scopes: Option<Vec<String>>,
}

async fn c_static_token(State(shared): State<Arc<Shared>>, body: Bytes) -> ApiResult<StatusCode> {
    let t: StaticToken = parse(&body)?;
    let scopes = t
        .scopes
        .unwrap_or_else(|| ALL_SCOPES.iter().map(|s| (*s).to_string()).collect());
    shared.lock().tokens.statics.insert(t.token, scopes);
    Ok(StatusCode::NO_CONTENT)
}

async fn c_seed(State(shared): State<Arc<Shared>>, body: Bytes) -> ApiResult<StatusCode> {
    let v: Value = parse(&body)?;
    super::seed::apply(&mut shared.lock(), &v)
        .map_err(|e| ApiError::validation(format!("{e:#}")))?;
    Ok(StatusCode::NO_CONTENT)
}

fn control_object(object: &str) -> ApiResult<ObjectType> {
    objects::object_type(object)
}

async fn c_edit(
    State(shared): State<Arc<Shared>>,
    Path((object, id)): Path<(String, String)>,
    Input(props): Input<serde_json::Map<String, Value>>,
) -> ApiResult<Json<Value>> {
    let o = control_object(&object)?;
    let id = parse_id(&id).ok_or_else(|| ApiError::not_found(format!("no record {id}")))?;
    let mut s = shared.lock();
    s.edit_as_user(o, id, &props)
        .map_err(|e| ApiError::validation(format!("{e:#}")))?;
    Ok(Json(s.dump_record(o, id)))
}

async fn c_archive(
    State(shared): State<Arc<Shared>>,
    Path((object, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let o = control_object(&object)?;
    let id = parse_id(&id).ok_or_else(|| ApiError::not_found(format!("no record {id}")))?;
    if shared.lock().archive_record(o, id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no live record {id}")))
    }
}

#[derive(Deserialize)]
pub(crate) struct Merge {
    primary: String,
    secondary: String,
}

async fn c_merge(
    State(shared): State<Arc<Shared>>,
    Path(object): Path<String>,
    Input(m): Input<Merge>,
) -> ApiResult<StatusCode> {
    let o = control_object(&object)?;
    let (Some(p), Some(sec)) = (parse_id(&m.primary), parse_id(&m.secondary)) else {
        return Err(ApiError::validation(
            "primary and secondary must be record ids",
        ));
    };
    if shared.lock().merge_records(o, p, sec) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(
            "both records must exist, be live and differ",
        ))
    }
}

async fn c_create_list(State(shared): State<Arc<Shared>>, body: Bytes) -> ApiResult<Json<Value>> {
    let req: lists::CreateBody = parse(&body)?;
    let mut s = shared.lock();
    let id = lists::create_list(&mut s, req)?;
    Ok(Json(json!({"listId": id.to_string()})))
}
